package storage

import "time"

// Class identifiers.
type (
	ClassID      int64
	AttendanceID int64
)

// ClassAudience is who a class is for.
type ClassAudience string

const (
	// AudienceClasses: the students of the school in the class's grade
	// whose school class (User.Class) is one of the class's Groups.
	AudienceClasses ClassAudience = "classes"
	// AudienceGrade: the students of the school in the class's grade.
	AudienceGrade ClassAudience = "grade"
	// AudienceSchool: every student of the school.
	AudienceSchool ClassAudience = "school"
	// AudienceDistrict: every student of the district (a premium class
	// open district-wide); the class belongs to no school.
	AudienceDistrict ClassAudience = "district"
)

// Valid reports whether a is one of the audiences.
func (a ClassAudience) Valid() bool {
	switch a {
	case AudienceClasses, AudienceGrade, AudienceSchool, AudienceDistrict:
		return true
	}
	return false
}

// ClassStatus is where a class stands.
type ClassStatus string

const (
	ClassScheduled ClassStatus = "scheduled"
	ClassLive      ClassStatus = "live"
	ClassEnded     ClassStatus = "ended"
	ClassCancelled ClassStatus = "cancelled"
)

// ClassRole is what a person is in a class's room.
type ClassRole string

const (
	ClassRoleTeacher   ClassRole = "teacher"
	ClassRoleAssistant ClassRole = "assistant"
	ClassRoleStudent   ClassRole = "student"
	ClassRoleObserver  ClassRole = "observer" // hidden: experts and administrators
)

// Limits of a class.
const (
	MaxClassTitle      = 100 // characters
	MaxClassAssistants = 10
	MaxClassGroups     = 50
	MaxClassPoints     = 20
	MaxClassGroupName  = 32 // characters, as User.Class
	MaxClassMinutes    = 240
)

// ClassInput creates or replaces a class's editable fields.
type ClassInput struct {
	DistrictID      DistrictID
	SchoolID        SchoolID // 0 for a district-wide class
	Title           string
	SubjectID       SubjectID
	Grade           int
	KnowledgePoints []KnowledgePointID
	TeacherID       UserID
	Assistants      []UserID
	Audience        ClassAudience
	Groups          []string // school classes, for AudienceClasses
	StartsAt        time.Time
	PlannedMinutes  int
	Premium         bool
	Recording       bool
}

// Class is one scheduled class, from the timetable to its record.
type Class struct {
	ID              ClassID            `json:"id"`
	DistrictID      DistrictID         `json:"district_id"`
	SchoolID        SchoolID           `json:"school_id"` // 0: a district-wide class
	Title           string             `json:"title"`
	SubjectID       SubjectID          `json:"subject_id"`
	Grade           int                `json:"grade"`
	KnowledgePoints []KnowledgePointID `json:"knowledge_point_ids"`
	TeacherID       UserID             `json:"teacher_id"`
	TeacherName     string             `json:"teacher_name"`
	Assistants      []UserID           `json:"assistant_ids"`
	Audience        ClassAudience      `json:"audience"`
	Groups          []string           `json:"groups"`
	StartsAt        time.Time          `json:"starts_at"`
	PlannedMinutes  int                `json:"planned_minutes"`
	Premium         bool               `json:"premium"`
	Recording       bool               `json:"recording"`
	Status          ClassStatus        `json:"status"`
	StartedAt       time.Time          `json:"started_at,omitzero"`
	EndedAt         time.Time          `json:"ended_at,omitzero"`
	EndReason       string             `json:"end_reason,omitempty"`
	SeriesID        ClassID            `json:"series_id,omitempty"`
	NodeURL         string             `json:"-"`
	Version         int64              `json:"version"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
}

// PlannedEnd is the start plus the planned length.
func (c *Class) PlannedEnd() time.Time {
	return c.StartsAt.Add(time.Duration(c.PlannedMinutes) * time.Minute)
}

// RoleOf is what the user is in the class by assignment: teacher,
// assistant, or "" for anyone else.
func (c *Class) RoleOf(u UserID) ClassRole {
	if u == c.TeacherID {
		return ClassRoleTeacher
	}
	for _, a := range c.Assistants {
		if a == u {
			return ClassRoleAssistant
		}
	}
	return ""
}

// InAudience reports whether the student u is in the class's audience.
func (c *Class) InAudience(u *User) bool {
	if !u.Has(RoleStudent) || u.DistrictID != c.DistrictID {
		return false
	}
	switch c.Audience {
	case AudienceDistrict:
		return true
	case AudienceSchool:
		return u.SchoolID == c.SchoolID
	case AudienceGrade:
		return u.SchoolID == c.SchoolID && u.Grade == c.Grade
	case AudienceClasses:
		if u.SchoolID != c.SchoolID || u.Grade != c.Grade {
			return false
		}
		for _, g := range c.Groups {
			if g == u.Class {
				return true
			}
		}
	}
	return false
}

// ClassFilter selects classes for a timetable. Zero fields do not filter;
// the scope fields (DistrictID, SchoolIDs, Member, Student) are ANDed.
type ClassFilter struct {
	From, To time.Time // starts_at in [From, To)
	// DistrictID: classes of the district (its schools' and its own).
	DistrictID DistrictID
	// SchoolIDs: classes of these schools (with IncludeDistrict, also the
	// district-wide classes of DistrictID).
	SchoolIDs       []SchoolID
	IncludeDistrict bool
	// Member: classes the user teaches or assists.
	Member UserID
	// Student: classes whose audience includes this student.
	Student *User
	// Statuses: nil means every status.
	Statuses []ClassStatus
	// SeriesID: the classes of one weekly series.
	SeriesID ClassID
	Limit    int // default 50, at most 500
	Offset   int
}

// PresenceEvent is one join or departure heard in a class's room.
type PresenceEvent struct {
	ClassID ClassID
	UserID  UserID
	Role    ClassRole
	Join    bool // false: the person left
	At      time.Time
}

// AttendanceRow is one stay of one person in a class's room.
type AttendanceRow struct {
	ID       AttendanceID `json:"id"`
	ClassID  ClassID      `json:"class_id"`
	UserID   UserID       `json:"user_id"`
	Name     string       `json:"name"`
	Role     ClassRole    `json:"role"`
	JoinedAt time.Time    `json:"joined_at"`
	LeftAt   time.Time    `json:"left_at,omitzero"` // zero: still there
	SeenAt   time.Time    `json:"seen_at"`
}

// ClassRating is one student's verdict on a class.
type ClassRating struct {
	ClassID   ClassID   `json:"class_id"`
	StudentID UserID    `json:"student_id"`
	Score     int       `json:"score"` // 1–5
	Comment   string    `json:"comment,omitempty"`
	RatedAt   time.Time `json:"rated_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ByPremium groups class satisfaction by the premium flag ("0" or "1").
const ByPremium SatisfactionGroup = "premium"
