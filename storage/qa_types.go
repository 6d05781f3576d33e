package storage

import "time"

// Q&A identifiers.
type (
	QuestionID int64
	AnswerID   int64
	CommentID  int64
)

// QuestionStatus is where a question stands.
type QuestionStatus string

const (
	QuestionOpen      QuestionStatus = "open"      // no answer yet
	QuestionAnswered  QuestionStatus = "answered"  // at least one answer
	QuestionAdopted   QuestionStatus = "adopted"   // the asker adopted an answer
	QuestionEscalated QuestionStatus = "escalated" // turned into a tutoring request
	QuestionDeleted   QuestionStatus = "deleted"   // withdrawn by the asker
)

// Limits of the Q&A centre.
const (
	MaxQAText   = 5000    // characters of a question or an answer
	MaxQAImages = 4       // pictures per question or answer (the API may lower it)
	MaxQAImage  = 4 << 20 // bytes per picture
	MaxQAPoints = 5       // knowledge points per question
	MaxComment  = 500     // characters of a comment
)

// QAImage is one picture, its type already sniffed and its metadata stripped.
type QAImage struct {
	Type string
	Data []byte
}

// QuestionInput is a student's question.
type QuestionInput struct {
	AuthorID        UserID
	SubjectID       SubjectID
	Grade           int
	KnowledgePoints []KnowledgePointID
	Text            string // Markdown source
	Images          []QAImage
}

// Question is one question and its state.
type Question struct {
	ID                QuestionID         `json:"id"`
	AuthorID          UserID             `json:"author_id"`
	AuthorName        string             `json:"author_name"`
	DistrictID        DistrictID         `json:"district_id"`
	SchoolID          SchoolID           `json:"school_id"`
	SubjectID         SubjectID          `json:"subject_id"`
	SubjectCode       string             `json:"subject_code"`
	Grade             int                `json:"grade"`
	KnowledgePoints   []KnowledgePointID `json:"knowledge_points"`
	Text              string             `json:"text"`
	ImageCount        int                `json:"image_count"`
	Status            QuestionStatus     `json:"status"`
	AnswerCount       int                `json:"answer_count"`
	AdoptedAnswerID   AnswerID           `json:"adopted_answer_id,omitempty"`
	AdoptedAt         time.Time          `json:"-"`
	ClaimedBy         UserID             `json:"claimed_by,omitempty"`
	ClaimExpiresAt    time.Time          `json:"claim_expires_at,omitzero"`
	TutoringRequestID TutoringRequestID  `json:"tutoring_request_id,omitempty"`
	// TutorID is the teacher of the tutoring session an escalated question became (0 until matched).
	TutorID       UserID    `json:"tutor_id,omitempty"`
	FirstAnswerAt time.Time `json:"first_answer_at,omitzero"`
	HiddenReason  string    `json:"hidden_reason,omitempty"` // hidden by a moderator
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// QuestionFilter selects questions of one district, newest first.
type QuestionFilter struct {
	DistrictID DistrictID
	// WithShared adds the questions of other districts that share theirs
	// (never hidden ones, whatever WithHidden says).
	WithShared bool
	AuthorID   UserID         // 0: anyone
	AnsweredBy UserID         // 0: anyone; else only questions this user answered
	SubjectID  SubjectID      // 0: any
	Grade      int            // 0: any
	Unanswered bool           // only open questions
	WithHidden bool           // include questions a moderator hid
	Status     QuestionStatus // "": any but deleted
	// Search finds questions whose text, or one of whose answers, contains
	// it (a substring match, so Chinese needs no word segmentation).
	Search         string
	KnowledgePoint KnowledgePointID // 0: any
	// Similar ranks adopted questions first, then answered ones, then the
	// rest (newest first within each): what a student typing a question
	// should see before asking it again.
	Similar  bool
	BeforeID QuestionID
	Limit    int
}

// Answer is one answer to a question.
type Answer struct {
	ID           AnswerID   `json:"id"`
	QuestionID   QuestionID `json:"question_id"`
	AuthorID     UserID     `json:"author_id"`
	AuthorName   string     `json:"author_name"`
	Text         string     `json:"text"`
	ImageCount   int        `json:"image_count"`
	Votes        int        `json:"votes"`
	Adopted      bool       `json:"adopted"`
	HiddenReason string     `json:"hidden_reason,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Comment is a follow-up on a question or on one of its answers.
type Comment struct {
	ID         CommentID  `json:"id"`
	QuestionID QuestionID `json:"question_id"`
	AnswerID   AnswerID   `json:"answer_id,omitempty"`
	AuthorID   UserID     `json:"author_id"`
	AuthorName string     `json:"author_name"`
	Text       string     `json:"text"`
	CreatedAt  time.Time  `json:"created_at"`
}

// QARating is the asker's rating of the adopted answer.
type QARating struct {
	QuestionID QuestionID `json:"question_id"`
	AnswerID   AnswerID   `json:"answer_id"`
	TeacherID  UserID     `json:"teacher_id"`
	Score      int        `json:"score"`
	RatedAt    time.Time  `json:"rated_at"`
}

// QASettings are a district's Q&A settings.
type QASettings struct {
	DistrictID DistrictID `json:"district_id"`
	// StudentsAnswer: students of the district may answer its questions.
	StudentsAnswer bool `json:"students_answer"`
	// SharesQuestions: students and teachers of other districts read the
	// district's questions (they never answer, comment on or vote there).
	SharesQuestions bool `json:"shares_questions"`
	// Chosen is false while the district keeps the installation's default.
	Chosen    bool      `json:"chosen"`
	UpdatedBy UserID    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}
