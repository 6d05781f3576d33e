package storage

import (
	"errors"
	"strconv"
	"time"
)

// MicrolessonID identifies a micro-lesson.
type MicrolessonID int64

// MicrolessonStatus is where a micro-lesson stands.
type MicrolessonStatus string

const (
	MicrolessonSubmitted MicrolessonStatus = "submitted" // uploaded, waiting for review
	MicrolessonInReview  MicrolessonStatus = "in_review" // assigned to a reviewer, or taken up by one
	MicrolessonApproved  MicrolessonStatus = "approved"  // approved by its reviewer, waiting for its knowledge points
	MicrolessonPublished MicrolessonStatus = "published" // visible to everyone of the district
	MicrolessonReturned  MicrolessonStatus = "returned"  // sent back to the teacher with a reason
	MicrolessonDeleted   MicrolessonStatus = "deleted"   // removed; its file is gone, its row stays
)

// Valid reports whether s is a known status.
func (s MicrolessonStatus) Valid() bool {
	switch s {
	case MicrolessonSubmitted, MicrolessonInReview, MicrolessonApproved, MicrolessonPublished, MicrolessonReturned, MicrolessonDeleted:
		return true
	}
	return false
}

// Limits of a micro-lesson's text.
const (
	MaxMicrolessonTitle       = 100  // characters
	MaxMicrolessonDescription = 2000 // characters
	MaxMicrolessonPoints      = 20   // knowledge points
	MaxReturnReason           = 1000 // characters
)

// ErrTooMany is a user who already holds as many of something as they may.
var ErrTooMany = errors.New("too many")

// ErrFull is a shared allowance used up (the staging space of uploads).
var ErrFull = errors.New("full")

// MicrolessonUpload is an upload in progress: whose it is and how large.
type MicrolessonUpload struct {
	ID        string    `json:"id"`
	UserID    UserID    `json:"user_id"`
	SizeBytes int64     `json:"size_bytes"`
	Filename  string    `json:"filename,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MicrolessonInput is what a teacher says about a micro-lesson.
type MicrolessonInput struct {
	SubjectID       SubjectID
	Grade           int
	Title           string
	Description     string
	KnowledgePoints []KnowledgePointID
}

// MicrolessonMedia is what the video file is, as read from its content.
type MicrolessonMedia struct {
	FileKey    string
	SizeBytes  int64
	Container  string
	VideoCodec string
	AudioCodec string
	Width      int
	Height     int
	DurationMS int64
}

// KnowledgePointRef is a knowledge point as a micro-lesson shows it.
type KnowledgePointRef struct {
	ID   KnowledgePointID `json:"id"`
	Code string           `json:"code"`
	Name string           `json:"name"`
}

// Microlesson is a short video lesson a teacher uploaded.
type Microlesson struct {
	ID              MicrolessonID       `json:"id"`
	TeacherID       UserID              `json:"teacher_id"`
	TeacherName     string              `json:"teacher_name"`
	DistrictID      DistrictID          `json:"district_id"`
	SchoolID        SchoolID            `json:"school_id"`
	SchoolName      string              `json:"school_name"`
	SubjectID       SubjectID           `json:"subject_id"`
	SubjectCode     string              `json:"subject_code"`
	SubjectName     string              `json:"subject_name"`
	Grade           int                 `json:"grade"`
	Title           string              `json:"title"`
	Description     string              `json:"description"`
	KnowledgePoints []KnowledgePointRef `json:"knowledge_points"`

	FileKey    string `json:"-"`
	SizeBytes  int64  `json:"size_bytes"`
	Container  string `json:"container"`
	VideoCodec string `json:"video_codec"`
	AudioCodec string `json:"audio_codec"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	DurationMS int64  `json:"duration_ms"`

	Status       MicrolessonStatus `json:"status"`
	ReturnReason string            `json:"return_reason,omitempty"`
	// ReviewerID is the expert it is assigned to (0: none yet).
	ReviewerID   UserID `json:"reviewer_id"`
	ReviewerName string `json:"reviewer_name"`
	// StatusBy made the last change of status (0: the system), at StatusAt.
	StatusBy    UserID    `json:"status_by"`
	StatusAt    time.Time `json:"status_at"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// microlessonSubject names a micro-lesson in activity rows, and as media a
// review points at: "microlesson:<id>" (a moment inside it is a number of
// milliseconds from its start, within DurationMS).
func microlessonSubject(id MicrolessonID) string {
	return "microlesson:" + strconv.FormatInt(int64(id), 10)
}

// MicrolessonFilter selects micro-lessons. Zero fields select everything;
// a nil Statuses means every status but deleted.
type MicrolessonFilter struct {
	Statuses []MicrolessonStatus
	// DistrictID bounds the list to a district; SchoolIDs, when not nil,
	// to those schools (empty: none).
	DistrictID DistrictID
	SchoolIDs  []SchoolID

	TeacherID UserID
	// ReviewerID: only those assigned to this reviewer.
	ReviewerID UserID
	SchoolID   SchoolID
	SubjectID  SubjectID
	Grade      int
	// KnowledgePointID matches the point and every point below it in the tree.
	KnowledgePointID KnowledgePointID
	Query            string // a substring of the title
	Limit            int
	Offset           int
}

// MicrolessonChange is one step of a micro-lesson's review: from one of
// From to To, recorded as activity Action.
type MicrolessonChange struct {
	From   []MicrolessonStatus
	To     MicrolessonStatus
	Action string // the activity; "" for the one of To (see SetMicrolessonStatus)
	Reason string // with a return
	// Reviewer, when not 0, becomes the micro-lesson's reviewer.
	Reviewer UserID
	// ExpectReviewer, when not 0, must be its reviewer (ErrConflict otherwise).
	ExpectReviewer UserID
	// Points, when not nil, replace its knowledge points.
	Points []KnowledgePointID
}
