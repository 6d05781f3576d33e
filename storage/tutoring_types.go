package storage

import "time"

// Tutoring identifiers.
type (
	TutoringRequestID int64
	TutoringSessionID int64
)

// RequestStatus is where a tutoring request stands.
type RequestStatus string

const (
	RequestWaiting   RequestStatus = "waiting"   // in the queue
	RequestOffered   RequestStatus = "offered"   // offered to a teacher, awaiting an answer
	RequestMatched   RequestStatus = "matched"   // accepted: a session exists
	RequestCancelled RequestStatus = "cancelled" // withdrawn by the student
)

// OfferOutcome is how an offer to a teacher ended.
type OfferOutcome string

const (
	OfferPending  OfferOutcome = "pending"
	OfferAccepted OfferOutcome = "accepted"
	OfferDeclined OfferOutcome = "declined"
	OfferLapsed   OfferOutcome = "lapsed"  // the countdown ran out
	OfferRevoked  OfferOutcome = "revoked" // the student cancelled or the teacher went offline
)

// TutoringRequestInput is a student's ask for one-to-one help.
type TutoringRequestInput struct {
	StudentID        UserID
	SubjectID        SubjectID
	Grade            int
	KnowledgePointID KnowledgePointID // optional
	Text             string
	// Image is an optional picture of the problem (PNG/JPEG/WebP, bounded by the API).
	Image     []byte
	ImageType string
}

// TutoringRequest is one ask for help, from creation to match or cancel.
type TutoringRequest struct {
	ID               TutoringRequestID `json:"id"`
	StudentID        UserID            `json:"student_id"`
	StudentName      string            `json:"student_name"`
	SchoolID         SchoolID          `json:"school_id"`
	SubjectID        SubjectID         `json:"subject_id"`
	SubjectCode      string            `json:"subject_code"`
	Grade            int               `json:"grade"`
	KnowledgePointID KnowledgePointID  `json:"knowledge_point_id,omitempty"`
	Text             string            `json:"text"`
	HasImage         bool              `json:"has_image"`
	Status           RequestStatus     `json:"status"`
	SessionID        TutoringSessionID `json:"session_id,omitempty"`
	// QuestionID is the Q&A question escalated into this request (0 if none).
	QuestionID QuestionID `json:"question_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// TutoringSession is the private room a matched pair meets in.
type TutoringSession struct {
	ID          TutoringSessionID `json:"id"`
	RequestID   TutoringRequestID `json:"request_id"`
	StudentID   UserID            `json:"student_id"`
	StudentName string            `json:"student_name"`
	TeacherID   UserID            `json:"teacher_id"`
	TeacherName string            `json:"teacher_name"`
	SchoolID    SchoolID          `json:"school_id"` // the student's school
	SubjectID   SubjectID         `json:"subject_id"`
	Grade       int               `json:"grade"`
	Room        string            `json:"room"`
	// QuestionID is the Q&A question the request came from (0 if none).
	QuestionID QuestionID `json:"question_id,omitempty"`
	// NodeURL is the node that hosts the room; both browsers connect there.
	NodeURL   string    `json:"node_url"`
	CreatedAt time.Time `json:"created_at"` // accepted
	// StartedAt is when both were first in the room; zero until then.
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// DurationS counts from start to end.
	DurationS int             `json:"duration_s"`
	EndReason string          `json:"end_reason,omitempty"` // left, max_length, no_show, shutdown
	Rating    *TutoringRating `json:"rating,omitempty"`
	Note      *TeacherNote    `json:"teacher_note,omitempty"`
}

// Live reports whether the session has not ended.
func (s *TutoringSession) Live() bool { return s.EndedAt.IsZero() }

// TutoringRating is the student's verdict on a session.
type TutoringRating struct {
	Score     int       `json:"score"` // 1–5
	Comment   string    `json:"comment,omitempty"`
	Solved    bool      `json:"solved"`
	RatedAt   time.Time `json:"rated_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TeacherNote is the teacher's record of a session.
type TeacherNote struct {
	Note            string             `json:"note,omitempty"`
	KnowledgePoints []KnowledgePointID `json:"knowledge_point_ids"`
	UpdatedAt       time.Time          `json:"updated_at"`
}

// SessionFilter selects sessions for a history page.
type SessionFilter struct {
	StudentID UserID
	TeacherID UserID
	Limit     int
	Offset    int
}

// SatisfactionGroup is what satisfaction figures are grouped by.
type SatisfactionGroup string

const (
	ByTeacher SatisfactionGroup = "teacher"
	BySchool  SatisfactionGroup = "school"
	BySubject SatisfactionGroup = "subject"
	ByMonth   SatisfactionGroup = "month"
)

// SatisfactionQuery selects rated sessions by month range and scope.
type SatisfactionQuery struct {
	FromMonth, ToMonth int // yyyymm, inclusive
	DistrictID         DistrictID
	SchoolIDs          []SchoolID
	GroupBy            SatisfactionGroup
}

// Satisfaction is one group's figures: the share of ratings ≥ 4, the mean
// and the distribution of scores 1–5.
type Satisfaction struct {
	Key          string  `json:"key"` // teacher id, school id, subject id or yyyymm
	Ratings      int     `json:"ratings"`
	Satisfied    int     `json:"satisfied"` // ratings ≥ 4
	Share        float64 `json:"share"`     // Satisfied / Ratings
	Mean         float64 `json:"mean"`
	Distribution [5]int  `json:"distribution"` // count of 1, 2, 3, 4, 5
	Solved       int     `json:"solved"`
}
