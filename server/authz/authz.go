// Package authz decides who may do what in Yunke: the actions, the table of
// which role may take which action, and where (in which district and
// schools) a user may take it. It is the one place these rules live; the
// API asks it before every operation, and docs/authorization.md shows the
// same table (a test keeps them equal).
package authz

import (
	"slices"

	"yunke/storage"
)

// Action is one operation a user may be allowed to take.
type Action string

// The actions. Signing in and out, reading oneself and changing one's own
// password are open to every signed-in user and are not actions.
const (
	DistrictList   Action = "district.list"
	DistrictCreate Action = "district.create"

	SchoolList   Action = "school.list"
	SchoolRead   Action = "school.read"
	SchoolCreate Action = "school.create"
	SchoolUpdate Action = "school.update"

	UserList          Action = "user.list"
	UserRead          Action = "user.read"
	UserCreate        Action = "user.create"
	UserUpdate        Action = "user.update"
	UserResetPassword Action = "user.reset_password"

	SubjectList   Action = "subject.list"
	SubjectCreate Action = "subject.create"
	SubjectUpdate Action = "subject.update"

	KnowledgeList   Action = "knowledge.list"
	KnowledgeImport Action = "knowledge.import"

	TargetRead  Action = "target.read"
	TargetWrite Action = "target.write"

	ImportTemplate Action = "import.template"
	ImportRun      Action = "import.run"

	RoomJoin    Action = "room.join"    // join a class of one's own school, seen, with one's class role
	RoomObserve Action = "room.observe" // watch a class in scope, hidden

	ClassroomTakePart Action = "classroom.take_part" // in a class one is in: raise a hand, read the chat, answer polls
	ClassroomModerate Action = "classroom.moderate"  // run the controls of a class one teaches (or assists) in it
	ClassroomOversee  Action = "classroom.oversee"   // run the controls of any class in scope, and read its chat

	ActivityRead Action = "activity.read"

	TutoringAsk     Action = "tutoring.ask"     // ask for one-to-one help, rate one's sessions
	TutoringTeach   Action = "tutoring.teach"   // take students: presence, offers, notes
	TutoringHistory Action = "tutoring.history" // one's own sessions
	TutoringReview  Action = "tutoring.review"  // sessions and satisfaction in scope

	QAAsk       Action = "qa.ask"       // ask questions of one's district, adopt, rate, escalate one's own
	QAAnswer    Action = "qa.answer"    // claim, answer and up-vote questions of one's district
	QAModerate  Action = "qa.moderate"  // read and hide questions and answers asked in scope
	QAReview    Action = "qa.review"    // Q&A satisfaction in scope
	QAConfigure Action = "qa.configure" // a district's Q&A settings (whether students answer)

	ClassAttend   Action = "class.attend"   // one's timetable of classes; join the classes of one's audience, rate them
	ClassTeach    Action = "class.teach"    // the classes one teaches or assists: timetable, join, end, record
	ClassSchedule Action = "class.schedule" // schedule, edit, cancel and import classes in scope; end them
	ClassReview   Action = "class.review"   // timetable, record and satisfaction of classes in scope; watch them hidden

	MicrolessonUpload  Action = "microlesson.upload"  // upload one's own micro-lessons, edit, file again and delete them
	MicrolessonRead    Action = "microlesson.read"    // browse and watch the published micro-lessons of one's district
	MicrolessonReview  Action = "microlesson.review"  // see micro-lessons awaiting review in scope, take one up
	MicrolessonPublish Action = "microlesson.publish" // publish, return or delete micro-lessons in scope

	RecordingOwn    Action = "recording.own"    // watch and download one's own recordings
	RecordingRead   Action = "recording.read"   // the catalogue of recordings in scope: watch, download
	RecordingManage Action = "recording.manage" // start and stop the recording of a class in scope (a teacher: of their school)
	RecordingDelete Action = "recording.delete" // delete recordings in scope
	RecordingCode   Action = "recording.code"   // re-code single samples of a recording's S-T analysis in scope
	JobList         Action = "job.list"         // see the background jobs in scope: their state, attempts and errors

	ReviewScore  Action = "review.score"  // one's review queue: score the recordings and micro-lessons assigned to one, in scope
	ReviewOwn    Action = "review.own"    // the reviews of one's own recordings: their status, feedback, one's reflection
	ReviewRead   Action = "review.read"   // reviews, results and reliability of recordings in scope
	ReviewManage Action = "review.manage" // rubrics, schemes, assignments, calibration and reopening reviews in scope

	ResearchTakePart  Action = "research.take_part" // in the research groups one is a member of: activities, recordings, discussion
	ResearchManage    Action = "research.manage"    // research groups in scope: create them, choose their members, moderate their discussions
	SelectionManage   Action = "selection.manage"   // selection rounds of one's district: create, follow, shortlist, select, publish
	SelectionNominate Action = "selection.nominate" // nominate recordings of one's school to the district's open rounds
	LibraryRead       Action = "library.read"       // browse and watch the shared library of one's district
	ConsentManage     Action = "consent.manage"     // record a school's consent to share its lessons in full

	ReportRead       Action = "report.read"       // statistics, targets and imbalance of the schools in scope; their exports and kept reports
	ReportRegenerate Action = "report.regenerate" // generate a kept report in scope again
)

// Actions lists every action, in the order of the documentation.
var Actions = []Action{
	DistrictList, DistrictCreate,
	SchoolList, SchoolRead, SchoolCreate, SchoolUpdate,
	UserList, UserRead, UserCreate, UserUpdate, UserResetPassword,
	SubjectList, SubjectCreate, SubjectUpdate,
	KnowledgeList, KnowledgeImport,
	TargetRead, TargetWrite,
	ImportTemplate, ImportRun,
	RoomJoin, RoomObserve,
	ClassroomTakePart, ClassroomModerate, ClassroomOversee,
	ActivityRead,
	TutoringAsk, TutoringTeach, TutoringHistory, TutoringReview,
	QAAsk, QAAnswer, QAModerate, QAReview, QAConfigure,
	ClassAttend, ClassTeach, ClassSchedule, ClassReview,
	MicrolessonUpload, MicrolessonRead, MicrolessonReview, MicrolessonPublish,
	RecordingOwn, RecordingRead, RecordingManage, RecordingDelete, RecordingCode,
	JobList,
	ReviewScore, ReviewOwn, ReviewRead, ReviewManage,
	ResearchTakePart, ResearchManage,
	SelectionManage, SelectionNominate, LibraryRead, ConsentManage,
	ReportRead, ReportRegenerate,
}

// policy is the role × action table. Where a role may act is decided by
// scopeOfRole; what users an administrator may manage by CanManageUser.
var policy = map[storage.Role][]Action{
	storage.RoleStudent: {SubjectList, KnowledgeList, RoomJoin, ClassroomTakePart, TutoringAsk, TutoringHistory, QAAsk, ClassAttend, MicrolessonRead, LibraryRead},
	storage.RoleTeacher: {SubjectList, KnowledgeList, RoomJoin, ClassroomTakePart, ClassroomModerate, TutoringTeach, TutoringHistory, QAAnswer, ClassTeach, MicrolessonUpload, MicrolessonRead,
		RecordingOwn, RecordingManage, ReviewOwn, ResearchTakePart, LibraryRead},
	storage.RoleExpert: {
		SchoolList, SchoolRead, SubjectList, KnowledgeList, TargetRead, RoomObserve, ActivityRead, TutoringReview, QAReview, ClassReview,
		MicrolessonRead, MicrolessonReview, RecordingRead, RecordingCode, ReviewScore, ResearchTakePart, LibraryRead, ReportRead,
	},
	storage.RoleSchoolAdmin: {
		SchoolList, SchoolRead,
		UserList, UserRead, UserCreate, UserUpdate, UserResetPassword,
		SubjectList, KnowledgeList, TargetRead, ImportTemplate, ImportRun, RoomObserve, ClassroomOversee, ActivityRead, TutoringReview, QAModerate, QAReview,
		ClassSchedule, ClassReview,
		MicrolessonRead, MicrolessonReview, MicrolessonPublish, RecordingRead, RecordingManage, RecordingDelete,
		ReviewRead, ResearchManage, SelectionNominate, LibraryRead, ConsentManage, ReportRead, ReportRegenerate,
	},
	storage.RoleDistrictAdmin: {
		DistrictList,
		SchoolList, SchoolRead, SchoolCreate, SchoolUpdate,
		UserList, UserRead, UserCreate, UserUpdate, UserResetPassword,
		SubjectList, KnowledgeList, TargetRead, TargetWrite, ImportTemplate, ImportRun, RoomObserve, ClassroomOversee, ActivityRead, TutoringReview, QAModerate, QAReview, QAConfigure,
		ClassSchedule, ClassReview,
		MicrolessonRead, MicrolessonReview, MicrolessonPublish, RecordingRead, RecordingManage, RecordingDelete,
		JobList, ReviewRead, ReviewManage, ResearchManage, SelectionManage, LibraryRead, ReportRead, ReportRegenerate,
	},
	storage.RoleSystemAdmin: {
		DistrictList, DistrictCreate,
		SchoolList, SchoolRead, SchoolCreate, SchoolUpdate,
		UserList, UserRead, UserCreate, UserUpdate, UserResetPassword,
		SubjectList, SubjectCreate, SubjectUpdate, KnowledgeList, KnowledgeImport,
		TargetRead, TargetWrite, ImportTemplate, ImportRun, RoomObserve, ClassroomOversee, ActivityRead, TutoringReview, QAModerate, QAReview, QAConfigure,
		ClassSchedule, ClassReview,
		MicrolessonRead, MicrolessonReview, MicrolessonPublish, RecordingRead, RecordingManage, RecordingDelete,
		JobList, ReviewRead, ReviewManage, ResearchManage, SelectionManage, LibraryRead, ConsentManage, ReportRead, ReportRegenerate,
	},
}

// Policy returns a copy of the table: for each role, the actions it allows.
func Policy() map[storage.Role][]Action {
	out := make(map[storage.Role][]Action, len(policy))
	for r, as := range policy {
		out[r] = slices.Clone(as)
	}
	return out
}

// RoleAllows reports whether role r may take action a somewhere.
func RoleAllows(r storage.Role, a Action) bool {
	return slices.Contains(policy[r], a)
}

// Allows reports whether a user with roles may take action a somewhere.
func Allows(roles []storage.Role, a Action) bool {
	for _, r := range roles {
		if RoleAllows(r, a) {
			return true
		}
	}
	return false
}

// Scope is where a user may take an action: everywhere, in every school of
// one district, and/or in listed schools. The zero Scope is nowhere.
type Scope struct {
	All      bool
	District storage.DistrictID
	Schools  []storage.SchoolID
}

// Empty reports whether s covers nothing.
func (s Scope) Empty() bool { return !s.All && s.District == 0 && len(s.Schools) == 0 }

// Covers reports whether s contains the place (district, school). A place
// with no school (district-level staff, the district itself) is covered
// only by All or by its district.
func (s Scope) Covers(district storage.DistrictID, school storage.SchoolID) bool {
	switch {
	case s.All:
		return true
	case s.District != 0 && district == s.District:
		return true
	case school != 0 && slices.Contains(s.Schools, school):
		return true
	}
	return false
}

func (s *Scope) add(o Scope) {
	s.All = s.All || o.All
	if o.District != 0 {
		s.District = o.District // a user belongs to one district
	}
	for _, id := range o.Schools {
		if !slices.Contains(s.Schools, id) {
			s.Schools = append(s.Schools, id)
		}
	}
}

// ScopeOf is where u may take action a: the union over u's roles that
// allow it. An inactive user may do nothing.
func ScopeOf(u *storage.User, a Action) Scope {
	var s Scope
	if !u.Active {
		return s
	}
	for _, r := range u.Roles {
		if RoleAllows(r, a) {
			s.add(scopeOfRole(u, r))
		}
	}
	return s
}

// scopeOfRole: system admins everywhere; district admins their district;
// experts their ExpertScope; everybody else their own school.
func scopeOfRole(u *storage.User, r storage.Role) Scope {
	switch r {
	case storage.RoleSystemAdmin:
		return Scope{All: true}
	case storage.RoleDistrictAdmin:
		return Scope{District: u.DistrictID}
	case storage.RoleExpert:
		if u.ExpertScope.District {
			return Scope{District: u.DistrictID}
		}
		return Scope{Schools: slices.Clone(u.ExpertScope.Schools)}
	default:
		if u.SchoolID == 0 {
			return Scope{}
		}
		return Scope{Schools: []storage.SchoolID{u.SchoolID}}
	}
}

// Subject is a user account as seen by the rules for managing accounts:
// where it is and what roles it has.
type Subject struct {
	District storage.DistrictID
	School   storage.SchoolID
	Roles    []storage.Role
}

// CanManageUser reports whether actor may take action a (user.create,
// user.update, user.reset_password) on an account that is (or will be) t:
//   - a system admin manages every account;
//   - a district admin manages the accounts of the district, except system admins;
//   - a school admin manages students and teachers of the school only.
//
// For an update the caller asks twice: for the account as it is and as it will be.
func CanManageUser(actor *storage.User, a Action, t Subject) bool {
	if !actor.Active {
		return false
	}
	for _, r := range actor.Roles {
		if !RoleAllows(r, a) {
			continue
		}
		switch r {
		case storage.RoleSystemAdmin:
			return true
		case storage.RoleDistrictAdmin:
			if actor.DistrictID != 0 && t.District == actor.DistrictID && !slices.Contains(t.Roles, storage.RoleSystemAdmin) {
				return true
			}
		case storage.RoleSchoolAdmin:
			if actor.SchoolID != 0 && t.School == actor.SchoolID && onlyRoles(t.Roles, storage.RoleStudent, storage.RoleTeacher) {
				return true
			}
		}
	}
	return false
}

func onlyRoles(have []storage.Role, allowed ...storage.Role) bool {
	for _, r := range have {
		if !slices.Contains(allowed, r) {
			return false
		}
	}
	return true
}

// Home is the user's highest role, which picks the first page the web
// client shows: "admin", "expert", "teacher" or "student".
func Home(roles []storage.Role) string {
	switch {
	case slices.Contains(roles, storage.RoleSystemAdmin), slices.Contains(roles, storage.RoleDistrictAdmin), slices.Contains(roles, storage.RoleSchoolAdmin):
		return "admin"
	case slices.Contains(roles, storage.RoleExpert):
		return "expert"
	case slices.Contains(roles, storage.RoleTeacher):
		return "teacher"
	}
	return "student"
}
