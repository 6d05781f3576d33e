package storage

import "time"

// ResearchGroupID identifies a research group (教研组).
type ResearchGroupID int64

// ResearchActivityID identifies a research activity of a group.
type ResearchActivityID int64

// ResearchCommentID identifies one comment of an activity's discussion.
type ResearchCommentID int64

// Limits of teaching research, checked by the store.
const (
	MaxResearchName       = 100  // a group's name or an activity's topic, in characters
	MaxResearchText       = 2000 // an activity's description or a comment, in characters
	MaxResearchMembers    = 200
	MaxResearchRecordings = 6   // recordings studied by one activity
	MaxResearchGroupText  = 500 // a group's description, in characters
)

// ResearchGroup is a school's subject group (SchoolID set) or a district
// group (SchoolID 0); its members are teachers and experts.
type ResearchGroup struct {
	ID          ResearchGroupID  `json:"id"`
	DistrictID  DistrictID       `json:"district_id"`
	SchoolID    SchoolID         `json:"school_id"` // 0: a district group
	SchoolName  string           `json:"school_name"`
	SubjectID   SubjectID        `json:"subject_id"` // 0: every subject
	Name        string           `json:"name"`
	Description string           `json:"description"`
	CreatedBy   UserID           `json:"created_by"`
	CreatedAt   time.Time        `json:"created_at"`
	Members     []ResearchMember `json:"members"`
}

// ResearchMember is one member of a group.
type ResearchMember struct {
	UserID   UserID   `json:"user_id"`
	Name     string   `json:"name"`
	SchoolID SchoolID `json:"school_id"`
	Roles    []Role   `json:"roles"`
}

// ResearchGroupInput creates a group.
type ResearchGroupInput struct {
	DistrictID  DistrictID
	SchoolID    SchoolID
	SubjectID   SubjectID
	Name        string
	Description string
	Members     []UserID
}

// ResearchGroupEdit changes a group's name, description and subject.
type ResearchGroupEdit struct {
	Name        string
	Description string
	SubjectID   SubjectID
}

// ResearchGroupFilter lists the groups a user has a part in: those they are
// a member of, and those lying in the place they manage.
type ResearchGroupFilter struct {
	MemberID UserID
	// ManageAll, ManageDistrict and ManageSchools: groups in these places
	// too (ManageSchools: those schools' subject groups only).
	ManageAll      bool
	ManageDistrict DistrictID
	ManageSchools  []SchoolID
}

// ResearchActivity is a research activity (网络教研): a topic studied by a
// group on a few recordings, and its discussion.
type ResearchActivity struct {
	ID           ResearchActivityID `json:"id"`
	GroupID      ResearchGroupID    `json:"group_id"`
	Topic        string             `json:"topic"`
	Description  string             `json:"description"`
	CreatedBy    UserID             `json:"created_by"`
	CreatorName  string             `json:"created_by_name"`
	CreatedAt    time.Time          `json:"created_at"`
	RecordingIDs []RecordingID      `json:"recording_ids"`
	Comments     int                `json:"comments"` // not deleted
}

// ResearchActivityInput creates an activity.
type ResearchActivityInput struct {
	GroupID      ResearchGroupID
	Topic        string
	Description  string
	RecordingIDs []RecordingID
}

// ResearchComment is one comment of an activity's discussion, pinned to a
// moment (or a stretch) of one of its recordings when RecordingID is set.
// A deleted comment keeps its place without its text.
type ResearchComment struct {
	ID          ResearchCommentID  `json:"id"`
	ActivityID  ResearchActivityID `json:"activity_id"`
	AuthorID    UserID             `json:"author_id"`
	AuthorName  string             `json:"author_name"`
	Text        string             `json:"text"`
	RecordingID RecordingID        `json:"recording_id,omitempty"`
	StartMS     int64              `json:"start_ms"`
	EndMS       int64              `json:"end_ms,omitempty"`
	CreatedAt   time.Time          `json:"created_at"`
	Deleted     bool               `json:"deleted"`
	DeletedBy   UserID             `json:"deleted_by,omitempty"`
}
