package storage

import (
	"strconv"
	"strings"
	"time"
)

// RubricID identifies a rubric of the library; its versions share it.
type RubricID int64

// SchemeID identifies an evaluation scheme.
type SchemeID int64

// AssignmentID identifies one expert's assignment to review one target; the
// review it leads to is stored under the same id.
type AssignmentID int64

// CalibrationID identifies a calibration clip scored by the district as the master.
type CalibrationID int64

// Scale kinds of a criterion.
const (
	ScaleLevels  = "levels"  // described levels, scored by choosing one
	ScaleNumeric = "numeric" // a number between Min and Max
)

// Limits of the review domain, checked by the store.
const (
	MaxRubricCriteria = 100
	MaxReviewNotes    = 500
	MaxReviewText     = 4000 // a note, a comment part or a reflection, in characters
	MaxReviewName     = 200
	MaxRubricLevels   = 10
)

// RubricLevel is one described level of a criterion.
type RubricLevel struct {
	Value      int    `json:"value"` // 1..n, ordered
	Label      string `json:"label"`
	Descriptor string `json:"descriptor,omitempty"`
}

// RubricScale is how a criterion is scored: a level or a number.
type RubricScale struct {
	Kind   string        `json:"kind"` // levels, numeric
	Levels []RubricLevel `json:"levels,omitempty"`
	Min    float64       `json:"min,omitempty"`
	Max    float64       `json:"max,omitempty"`
	Step   float64       `json:"step,omitempty"`
}

// RubricCriterion is one thing a lesson is scored on.
type RubricCriterion struct {
	Code        string      `json:"code"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Weight      float64     `json:"weight"`
	Scale       RubricScale `json:"scale"`
}

// RubricDomain groups criteria (教学目标, 教学过程 …).
type RubricDomain struct {
	Name     string            `json:"name"`
	Criteria []RubricCriterion `json:"criteria"`
}

// RubricBody is the content of one rubric version.
type RubricBody struct {
	Domains []RubricDomain `json:"domains"`
}

// Criteria lists the body's criteria in order, each with its domain.
func (b RubricBody) Criteria() []SchemeCriterion {
	var out []SchemeCriterion
	for _, d := range b.Domains {
		for _, c := range d.Criteria {
			out = append(out, SchemeCriterion{Domain: d.Name, RubricCriterion: c})
		}
	}
	return out
}

// Rubric is one version of a rubric of the library.
type Rubric struct {
	ID         RubricID   `json:"id"`
	DistrictID DistrictID `json:"district_id"` // 0: installation-wide
	Code       string     `json:"code"`
	Name       string     `json:"name"`
	Purpose    string     `json:"purpose"`
	Version    int        `json:"version"` // of this body
	Current    int        `json:"current_version"`
	Builtin    bool       `json:"builtin"`
	Body       RubricBody `json:"body"`
	CreatedBy  UserID     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// RubricInput creates a rubric or a new version of one.
type RubricInput struct {
	DistrictID DistrictID
	Code       string
	Name       string
	Purpose    string
	Builtin    bool
	Body       RubricBody
}

// SchemeCriterion is a criterion as a scheme uses it: its domain, and its
// weight in the scheme.
type SchemeCriterion struct {
	Domain string `json:"domain"`
	RubricCriterion
}

// Scheme purposes.
const (
	PurposeGeneral     = "general"
	PurposeSubject     = "subject"
	PurposeSchoolKind  = "school_kind"
	PurposeTrainee     = "trainee"
	PurposeCompetition = "competition"
)

// Scheme is an evaluation scheme: a chosen subset of one rubric version's
// criteria with their weights, for a purpose. It keeps the criteria as they
// were when it was built.
type Scheme struct {
	ID            SchemeID          `json:"id"`
	DistrictID    DistrictID        `json:"district_id"`
	Name          string            `json:"name"`
	Purpose       string            `json:"purpose"`
	SubjectID     SubjectID         `json:"subject_id"`
	SchoolKind    string            `json:"school_kind"`
	RubricID      RubricID          `json:"rubric_id"`
	RubricVersion int               `json:"rubric_version"`
	Blind         bool              `json:"blind"`
	Threshold     float64           `json:"threshold"` // normalized score under which a criterion is to improve
	Criteria      []SchemeCriterion `json:"criteria"`
	CreatedBy     UserID            `json:"created_by"`
	CreatedAt     time.Time         `json:"created_at"`
}

// Criterion finds a criterion of the scheme by code.
func (s Scheme) Criterion(code string) (SchemeCriterion, bool) {
	for _, c := range s.Criteria {
		if c.Code == code {
			return c, true
		}
	}
	return SchemeCriterion{}, false
}

// Target kinds a review points at.
const (
	TargetRecording   = "recording"
	TargetMicrolesson = "microlesson"
)

// ParseTarget reads "recording:<id>" or "microlesson:<id>".
func ParseTarget(s string) (kind string, id int64, ok bool) {
	kind, rest, found := strings.Cut(s, ":")
	if !found || (kind != TargetRecording && kind != TargetMicrolesson) {
		return "", 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	return kind, id, true
}

// Assignment statuses (also a review's).
const (
	AssignmentAssigned  = "assigned"
	AssignmentDraft     = "draft"
	AssignmentSubmitted = "submitted"
)

// AssignmentInput assigns one target to one expert.
type AssignmentInput struct {
	SchemeID      SchemeID
	Target        string
	Round         string
	ExpertID      UserID
	TeacherID     UserID
	DistrictID    DistrictID
	SchoolID      SchoolID
	SubjectID     SubjectID
	CalibrationID CalibrationID
	DueAt         time.Time
}

// Assignment is a target given to an expert, with where its review stands.
type Assignment struct {
	ID            AssignmentID  `json:"id"`
	SchemeID      SchemeID      `json:"scheme_id"`
	Target        string        `json:"target"`
	Round         string        `json:"round"`
	ExpertID      UserID        `json:"expert_id"`
	ExpertName    string        `json:"expert_name"`
	TeacherID     UserID        `json:"teacher_id"`
	DistrictID    DistrictID    `json:"district_id"`
	SchoolID      SchoolID      `json:"school_id"`
	SubjectID     SubjectID     `json:"subject_id"`
	CalibrationID CalibrationID `json:"calibration_id"`
	DueAt         time.Time     `json:"due_at,omitzero"`
	Status        string        `json:"status"`
	Total         float64       `json:"total"`
	SubmittedAt   time.Time     `json:"submitted_at,omitzero"`
	AssignedBy    UserID        `json:"assigned_by"`
	CreatedAt     time.Time     `json:"created_at"`
}

// AssignmentFilter selects assignments; zero fields select everything.
type AssignmentFilter struct {
	ExpertID      UserID
	TeacherID     UserID
	SchemeID      SchemeID
	Target        string
	Round         *string
	Status        string
	DistrictID    DistrictID
	SchoolIDs     []SchoolID // nil: no limit
	CalibrationID *CalibrationID
	Limit         int
}

// ReviewScore is one criterion's score: the chosen level's value, or the number.
type ReviewScore struct {
	Criterion string  `json:"criterion"`
	Value     float64 `json:"value"`
}

// ReviewNote is a note pinned to a moment (or a stretch) of the target.
type ReviewNote struct {
	StartMS   int64  `json:"start_ms"`
	EndMS     int64  `json:"end_ms,omitempty"`
	TrackID   int64  `json:"track_id,omitempty"`
	Criterion string `json:"criterion,omitempty"`
	Text      string `json:"text"`
}

// ReviewBody is what an expert writes: scores, notes and the final comment.
type ReviewBody struct {
	Scores    []ReviewScore `json:"scores"`
	Notes     []ReviewNote  `json:"notes"`
	Strengths string        `json:"strengths"`
	Improve   string        `json:"improve"`
}

// Review is an assignment's review, draft or submitted.
type Review struct {
	Assignment
	Body           ReviewBody `json:"body"`
	Version        int64      `json:"version"`
	ReopenedReason string     `json:"reopened_reason,omitempty"`
	// TeacherRating is how useful the lesson's teacher found it (1–5; 0: not rated).
	TeacherRating int       `json:"teacher_rating"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Calibration is a clip the district scored as the master.
type Calibration struct {
	ID         CalibrationID `json:"id"`
	SchemeID   SchemeID      `json:"scheme_id"`
	DistrictID DistrictID    `json:"district_id"`
	Target     string        `json:"target"`
	Round      string        `json:"round"`
	Master     []ReviewScore `json:"master"`
	CreatedBy  UserID        `json:"created_by"`
	CreatedAt  time.Time     `json:"created_at"`
}

// CalibrationResult is one expert's agreement with a calibration's master.
type CalibrationResult struct {
	CalibrationID CalibrationID `json:"calibration_id"`
	ExpertID      UserID        `json:"expert_id"`
	ExpertName    string        `json:"expert_name"`
	Agreement     float64       `json:"agreement"` // percent
	Passed        bool          `json:"passed"`
	At            time.Time     `json:"at"`
}

// Reflection is a teacher's reflection on their own recording.
type Reflection struct {
	Target    string    `json:"target"`
	TeacherID UserID    `json:"teacher_id"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}
