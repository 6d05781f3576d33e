package storage

import (
	"fmt"
	"strconv"
	"time"
)

// SelectionRoundID identifies a quality-lesson selection round (优质课评选).
type SelectionRoundID int64

// SelectionEntryID identifies a recording nominated to a round.
type SelectionEntryID int64

// LibraryLessonID identifies a lesson of the shared library (精品课).
type LibraryLessonID int64

// Round statuses.
const (
	RoundOpen      = "open"      // nominating, reviewing and selecting
	RoundPublished = "published" // its selected entries are in the library
)

// Limits of a selection round.
const (
	MaxRoundExperts   = 50
	MaxRoundPerSchool = 50
	MaxConsentNote    = 1000
	MaxWithdrawReason = 500
)

// SelectionRound is a district's quality-lesson selection: where it looks
// (the district, optionally one subject and grade), the scheme its experts
// score with, how many entries each school may nominate, and its deadlines.
type SelectionRound struct {
	ID          SelectionRoundID `json:"id"`
	DistrictID  DistrictID       `json:"district_id"`
	Name        string           `json:"name"`
	SubjectID   SubjectID        `json:"subject_id"`
	Grade       int              `json:"grade"`
	SchemeID    SchemeID         `json:"scheme_id"`
	Experts     []UserID         `json:"expert_ids"`
	PerSchool   int              `json:"per_school"`
	NominateBy  time.Time        `json:"nominate_by"`
	ReviewBy    time.Time        `json:"review_by"`
	Status      string           `json:"status"`
	Version     int64            `json:"version"`
	CreatedBy   UserID           `json:"created_by"`
	CreatedAt   time.Time        `json:"created_at"`
	PublishedAt time.Time        `json:"published_at,omitzero"`
}

// ReviewRound is the round its review assignments are tagged with.
func (r SelectionRound) ReviewRound() string { return SelectionReviewRound(r.ID) }

// SelectionReviewRound is the review round of selection round id: "selection-<id>".
func SelectionReviewRound(id SelectionRoundID) string {
	return "selection-" + strconv.FormatInt(int64(id), 10)
}

// SelectionEntry is a recording a school nominated to a round.
type SelectionEntry struct {
	ID          SelectionEntryID `json:"id"`
	RoundID     SelectionRoundID `json:"round_id"`
	RecordingID RecordingID      `json:"recording_id"`
	Title       string           `json:"title"`
	SchoolID    SchoolID         `json:"school_id"`
	SchoolName  string           `json:"school_name"`
	TeacherID   UserID           `json:"teacher_id"`
	TeacherName string           `json:"teacher_name"`
	SubjectID   SubjectID        `json:"subject_id"`
	Grade       int              `json:"grade"`
	Selected    bool             `json:"selected"`
	NominatedBy UserID           `json:"nominated_by"`
	CreatedAt   time.Time        `json:"created_at"`
}

// LibraryLesson is a selected lesson published to the district's shared library.
type LibraryLesson struct {
	ID                LibraryLessonID    `json:"id"`
	RecordingID       RecordingID        `json:"recording_id"`
	RoundID           SelectionRoundID   `json:"round_id"`
	DistrictID        DistrictID         `json:"district_id"`
	SchoolID          SchoolID           `json:"school_id"`
	SchoolName        string             `json:"school_name"`
	TeacherID         UserID             `json:"teacher_id"`
	TeacherName       string             `json:"teacher_name"`
	SubjectID         SubjectID          `json:"subject_id"`
	SubjectName       string             `json:"subject_name"`
	Grade             int                `json:"grade"`
	Title             string             `json:"title"`
	Score             float64            `json:"score"`
	Reviews           int                `json:"reviews"`
	Plays             int64              `json:"plays"`
	DurationMS        int64              `json:"duration_ms"`
	KnowledgePointIDs []KnowledgePointID `json:"knowledge_point_ids"`
	PublishedBy       UserID             `json:"published_by"`
	PublishedAt       time.Time          `json:"published_at"`
	// Withdrawn lessons have left the library; the last withdrawal is kept
	// until the lesson is published again.
	Withdrawn      bool      `json:"withdrawn"`
	WithdrawnBy    UserID    `json:"withdrawn_by,omitempty"`
	WithdrawnAt    time.Time `json:"withdrawn_at,omitzero"`
	WithdrawReason string    `json:"withdraw_reason,omitempty"`
}

// LibraryFilter selects library lessons; zero fields select everything.
type LibraryFilter struct {
	DistrictID       DistrictID
	SubjectID        SubjectID
	Grade            int
	KnowledgePointID KnowledgePointID // the point and every point below it
	Query            string           // a substring of the title
	// Withdrawn lists the withdrawn lessons instead of the published ones.
	Withdrawn     bool
	Limit, Offset int
}

// SchoolConsent is a school's recorded consent to show its lessons in full
// (students' video and voices included) beyond the school.
type SchoolConsent struct {
	SchoolID   SchoolID  `json:"school_id"`
	Granted    bool      `json:"granted"`
	Note       string    `json:"note"`
	RecordedBy UserID    `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}

// QuotaError is a school nominating more entries than a round allows.
type QuotaError struct{ Limit int }

func (e *QuotaError) Error() string {
	return fmt.Sprintf("a school may nominate at most %d entries to this round", e.Limit)
}

// HTTPStatus is 409: the school's entries are used up.
func (e *QuotaError) HTTPStatus() int { return 409 }

// Code names the error for clients.
func (e *QuotaError) Code() string { return "quota" }
