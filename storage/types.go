package storage

import (
	"errors"
	"time"
)

// Typed identifiers. Every row id is a positive int64; 0 means "none".
type (
	DistrictID       int64
	SchoolID         int64
	UserID           int64
	SubjectID        int64
	KnowledgePointID int64
	ActivityID       int64
)

// Sentinel errors. Every error a Store returns about the caller's input or
// the data wraps one of these, so the API maps them to a status in one place.
var (
	// ErrNotFound: no such row (or it is outside what the query may see).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the row changed since the caller read it (version mismatch).
	ErrConflict = errors.New("changed by someone else")
	// ErrDuplicate: a unique key (school code, username, staff or student
	// number) is already taken. The error is a *DuplicateError naming the field.
	ErrDuplicate = errors.New("already exists")
	// ErrInvalid: the input breaks a rule the store enforces (unknown school,
	// unknown subject, bad kind). The error is a *FieldError when one field is to blame.
	ErrInvalid = errors.New("invalid")
	// ErrSchemaTooNew: the database was migrated by a newer Yunke.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
)

// DuplicateError says which unique field collided.
type DuplicateError struct {
	Field string // e.g. "code", "username", "staff_no", "student_no"
	Value string
}

func (e *DuplicateError) Error() string { return e.Field + " " + e.Value + " already exists" }
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// FieldError blames one input field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Role is one thing a user may do in Yunke; a user has one or more.
type Role string

const (
	RoleStudent       Role = "student"
	RoleTeacher       Role = "teacher"
	RoleExpert        Role = "expert"         // review expert / researcher (研训员, 专家)
	RoleSchoolAdmin   Role = "school_admin"   // administers one school
	RoleDistrictAdmin Role = "district_admin" // administers one district
	RoleSystemAdmin   Role = "system_admin"   // administers the installation
)

// AllRoles lists every role, in a stable order.
var AllRoles = []Role{RoleStudent, RoleTeacher, RoleExpert, RoleSchoolAdmin, RoleDistrictAdmin, RoleSystemAdmin}

// Valid reports whether r is one of AllRoles.
func (r Role) Valid() bool {
	for _, x := range AllRoles {
		if r == x {
			return true
		}
	}
	return false
}

// SchoolKind is the stage a school teaches.
type SchoolKind string

const (
	KindPrimary           SchoolKind = "primary"            // 小学
	KindJuniorSecondary   SchoolKind = "junior_secondary"   // 初中
	KindSeniorSecondary   SchoolKind = "senior_secondary"   // 高中
	KindCompleteSecondary SchoolKind = "complete_secondary" // 完全中学
	KindNineYear          SchoolKind = "nine_year"          // 九年一贯制
	KindKindergarten      SchoolKind = "kindergarten"       // 幼儿园
)

// AllSchoolKinds lists every kind, in a stable order.
var AllSchoolKinds = []SchoolKind{KindPrimary, KindJuniorSecondary, KindSeniorSecondary, KindCompleteSecondary, KindNineYear, KindKindergarten}

// Valid reports whether k is one of AllSchoolKinds.
func (k SchoolKind) Valid() bool {
	for _, x := range AllSchoolKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Actor is who makes a change; it goes into the activity log row written
// in the same transaction. The zero Actor is the system itself.
type Actor struct {
	UserID UserID
	IP     string
}

// District is the top of the tree.
type District struct {
	ID        DistrictID `json:"id"`
	Code      string     `json:"code"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
}

// School belongs to a district.
type School struct {
	ID         SchoolID   `json:"id"`
	DistrictID DistrictID `json:"district_id"`
	Code       string     `json:"code"` // unique within the installation
	Name       string     `json:"name"`
	Kind       SchoolKind `json:"kind"`
	Active     bool       `json:"active"`
	Version    int64      `json:"version"` // optimistic concurrency: bumped by every update
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// SchoolInput creates or replaces a school's editable fields.
type SchoolInput struct {
	DistrictID DistrictID
	Code       string
	Name       string
	Kind       SchoolKind
	Active     bool
}

// ExpertScope is where a review expert may look: the whole district, or
// only the listed schools.
type ExpertScope struct {
	District bool       `json:"district"`
	Schools  []SchoolID `json:"school_ids"`
}

// User is a person who signs in. The fields after Roles apply to the roles
// that use them (student: grade, class, student number; teacher: subjects,
// grades, trainee flag, staff number; expert: subjects, scope).
type User struct {
	ID                 UserID      `json:"id"`
	Username           string      `json:"username"` // unique, case-insensitive
	Name               string      `json:"name"`
	DistrictID         DistrictID  `json:"district_id"` // 0 only for system admins
	SchoolID           SchoolID    `json:"school_id"`   // 0 for district-level staff
	Roles              []Role      `json:"roles"`
	Active             bool        `json:"active"`
	MustChangePassword bool        `json:"must_change_password"`
	StudentNo          string      `json:"student_no,omitempty"` // unique when set
	StaffNo            string      `json:"staff_no,omitempty"`   // unique when set
	Grade              int         `json:"grade,omitempty"`      // 1–12 (primary 1–6, junior 7–9, senior 10–12); 0 unset
	Class              string      `json:"class,omitempty"`      // e.g. "3班"
	Subjects           []SubjectID `json:"subject_ids"`
	Grades             []int       `json:"grades"`
	Trainee            bool        `json:"trainee"` // 见习教师
	ExpertScope        ExpertScope `json:"expert_scope"`
	Version            int64       `json:"version"`
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
}

// Has reports whether u has role r.
func (u *User) Has(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// UserInput creates or replaces a user's editable fields (not the password).
type UserInput struct {
	Username    string
	Name        string
	DistrictID  DistrictID
	SchoolID    SchoolID
	Roles       []Role
	Active      bool
	StudentNo   string
	StaffNo     string
	Grade       int
	Class       string
	Subjects    []SubjectID
	Grades      []int
	Trainee     bool
	ExpertScope ExpertScope
}

// Credentials are what sign-in needs to check a password.
type Credentials struct {
	User         User
	PasswordHash string
}

// SchoolFilter narrows ListSchools. Zero fields do not filter.
type SchoolFilter struct {
	DistrictID DistrictID
	IDs        []SchoolID // only these (scope of a school admin or expert); nil: no limit
	Query      string     // substring of code or name, case-insensitive
	Kind       SchoolKind
	Active     *bool
	Limit      int // default 50, at most 500
	Offset     int
}

// UserFilter narrows ListUsers. Zero fields do not filter.
type UserFilter struct {
	DistrictID DistrictID
	SchoolIDs  []SchoolID // only users of these schools; nil: no limit
	Role       Role
	Query      string // substring of username, name, staff or student number
	Active     *bool
	Limit      int
	Offset     int
}

// Session is a signed-in browser. The store keeps only a hash of the token
// the cookie carries.
type Session struct {
	TokenHash  string // hex SHA-256 of the cookie value
	UserID     UserID
	CSRF       string // the token cookie-authenticated writes must echo
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// Subject is taught in schools (语文, 数学 …).
type Subject struct {
	ID     SubjectID `json:"id"`
	Code   string    `json:"code"` // e.g. "math"
	Name   string    `json:"name"` // 数学
	NameEn string    `json:"name_en"`
	Sort   int       `json:"sort"`
	Active bool      `json:"active"`
}

// KnowledgePoint is one node of a subject's knowledge tree for a grade.
type KnowledgePoint struct {
	ID        KnowledgePointID `json:"id"`
	SubjectID SubjectID        `json:"subject_id"`
	Grade     int              `json:"grade"`
	ParentID  KnowledgePointID `json:"parent_id"` // 0 for a root
	Code      string           `json:"code"`      // unique within subject
	Name      string           `json:"name"`
	Sort      int              `json:"sort"`
}

// KnowledgePointRow is one imported node; parents are named by code and may
// come later in the batch than their children.
type KnowledgePointRow struct {
	SubjectCode string
	Grade       int
	Code        string
	ParentCode  string
	Name        string
	Sort        int
}

// Target is a school's yearly goal; statistics measure attainment against it.
type Target struct {
	SchoolID              SchoolID `json:"school_id"`
	Year                  int      `json:"year"`
	LessonsRecorded       int      `json:"lessons_recorded"`
	TeachersParticipating int      `json:"teachers_participating"`
	TraineeCoveragePct    int      `json:"trainee_coverage_pct"` // 0–100
	LessonsReviewed       int      `json:"lessons_reviewed"`
	Version               int64    `json:"version"`
}

// Activity is one append-only log entry: who did what, when, where. It is
// written in the same transaction as the change it describes.
type Activity struct {
	ID         ActivityID `json:"id"`
	At         time.Time  `json:"at"`
	ActorID    UserID     `json:"actor_id"` // 0: the system
	Action     string     `json:"action"`   // dotted verb, e.g. "school.create", "tutoring.session_end"
	DistrictID DistrictID `json:"district_id"`
	SchoolID   SchoolID   `json:"school_id"`
	SubjectID  SubjectID  `json:"subject_id"`
	Subject    string     `json:"subject,omitempty"` // entity acted on, e.g. "user:42"
	RoomID     string     `json:"room_id,omitempty"`
	SessionID  string     `json:"session_id,omitempty"`
	Value      int64      `json:"value"`            // a number such as a duration in seconds
	Detail     string     `json:"detail,omitempty"` // small JSON object, never secrets
}

// ActivityQuery selects monthly aggregates. Months are yyyymm integers in
// the district's time zone (Asia/Shanghai).
type ActivityQuery struct {
	FromMonth  int // inclusive
	ToMonth    int // inclusive
	DistrictID DistrictID
	SchoolIDs  []SchoolID // nil: all
	Actions    []string   // nil: all
}

// ActivityBucket is one (month, school, subject, action) aggregate.
type ActivityBucket struct {
	Month     int       `json:"month"`
	SchoolID  SchoolID  `json:"school_id"`
	SubjectID SubjectID `json:"subject_id"`
	Action    string    `json:"action"`
	Count     int64     `json:"count"`
	Total     int64     `json:"total"` // sum of Value
}

// ImportBatch is one validated spreadsheet. Rows are keyed by school code,
// staff number and student number: importing the same batch twice changes
// nothing the second time.
type ImportBatch struct {
	DistrictID DistrictID
	Schools    []SchoolRow
	Teachers   []TeacherRow
	Students   []StudentRow
	// InitialPasswordHash is set on users the batch creates (who must then
	// change it); existing users keep theirs.
	InitialPasswordHash string
	// DryRun checks and counts everything an import would do, then rolls
	// it back: the database is left as it was.
	DryRun bool
	// Authorize, when set, is asked inside the import's transaction about
	// every teacher and student row: may the caller create in (old is nil),
	// or change old into in? A refusal makes the row an error. Nil allows
	// everything (the command line).
	Authorize func(old *User, in UserInput) bool
}

// SchoolRow is one imported school.
type SchoolRow struct {
	Code string
	Name string
	Kind SchoolKind
}

// TeacherRow is one imported teacher; the username is the staff number.
type TeacherRow struct {
	SchoolCode   string
	StaffNo      string
	Name         string
	SubjectCodes []string
	Grades       []int
	Trainee      bool
}

// StudentRow is one imported student; the username is the student number.
type StudentRow struct {
	SchoolCode string
	StudentNo  string
	Name       string
	Grade      int
	Class      string
}

// ImportResult counts what an import did, per kind.
type ImportResult struct {
	Schools  ImportCounts `json:"schools"`
	Teachers ImportCounts `json:"teachers"`
	Students ImportCounts `json:"students"`
}

// ImportCounts are rows created, updated and left as they were; Moved
// counts users an import moved from another school (not also Updated).
type ImportCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Moved     int `json:"moved"`
	Unchanged int `json:"unchanged"`
}
