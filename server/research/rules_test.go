package research

import (
	"testing"

	"yunke/storage"
)

// TestWhoBelongs: who may be a member of, and who administers, a school's
// group and a district group; which recordings lie in a group's place and
// who may add them.
func TestWhoBelongs(t *testing.T) {
	const d, other = storage.DistrictID(1), storage.DistrictID(2)
	const a, b = storage.SchoolID(10), storage.SchoolID(11)
	school := storage.ResearchGroup{ID: 1, DistrictID: d, SchoolID: a}
	district := storage.ResearchGroup{ID: 2, DistrictID: d}
	user := func(id storage.UserID, dist storage.DistrictID, sc storage.SchoolID, scope storage.ExpertScope, roles ...storage.Role) *storage.User {
		return &storage.User{ID: id, DistrictID: dist, SchoolID: sc, Roles: roles, Active: true, ExpertScope: scope}
	}
	none := storage.ExpertScope{}
	teacherA := user(1, d, a, none, storage.RoleTeacher)
	teacherB := user(2, d, b, none, storage.RoleTeacher)
	teacherElsewhere := user(3, other, 20, none, storage.RoleTeacher)
	expertDistrict := user(4, d, 0, storage.ExpertScope{District: true}, storage.RoleExpert)
	expertB := user(5, d, 0, storage.ExpertScope{Schools: []storage.SchoolID{b}}, storage.RoleExpert)
	student := user(6, d, a, none, storage.RoleStudent)
	inactive := user(7, d, a, none, storage.RoleTeacher)
	inactive.Active = false
	adminA := user(8, d, a, none, storage.RoleSchoolAdmin)
	adminD := user(9, d, 0, none, storage.RoleDistrictAdmin)
	adminOther := user(10, other, 0, none, storage.RoleDistrictAdmin)

	for _, c := range []struct {
		name                 string
		u                    *storage.User
		memberSchool, memDis bool
		manSchool, manDis    bool
	}{
		{"teacher of the school", teacherA, true, true, false, false},
		{"teacher of another school", teacherB, false, true, false, false},
		{"teacher of another district", teacherElsewhere, false, false, false, false},
		{"district expert", expertDistrict, true, true, false, false},
		{"expert of another school", expertB, false, true, false, false},
		{"student", student, false, false, false, false},
		{"inactive teacher", inactive, false, false, false, false},
		{"school admin", adminA, false, false, true, false},
		{"district admin", adminD, false, false, true, true},
		{"another district's admin", adminOther, false, false, false, false},
	} {
		if got := eligible(c.u, school); got != c.memberSchool {
			t.Errorf("%s may join the school's group: %v", c.name, got)
		}
		if got := eligible(c.u, district); got != c.memDis {
			t.Errorf("%s may join the district group: %v", c.name, got)
		}
		if got := manages(c.u, school); got != c.manSchool {
			t.Errorf("%s administers the school's group: %v", c.name, got)
		}
		if got := manages(c.u, district); got != c.manDis {
			t.Errorf("%s administers the district group: %v", c.name, got)
		}
	}

	recA := storage.Recording{ID: 1, TeacherID: teacherA.ID, DistrictID: d, SchoolID: a, Status: storage.RecordingReady}
	recB := storage.Recording{ID: 2, TeacherID: teacherB.ID, DistrictID: d, SchoolID: b, Status: storage.RecordingReady}
	deleted := recA
	deleted.Status = storage.RecordingDeleted
	if !inPlace(recA, school) || inPlace(recB, school) || !inPlace(recB, district) || inPlace(deleted, school) {
		t.Error("inPlace: a school's group studies its school's lessons, a district group its district's, none deleted")
	}
	if !mayAdd(teacherA, recA, school) || mayAdd(teacherA, recB, district) || !mayAdd(teacherB, recB, district) {
		t.Error("mayAdd: a teacher adds their own lessons only")
	}
	if !mayAdd(expertB, recB, district) || mayAdd(expertB, recA, district) || !mayAdd(adminD, recB, district) || mayAdd(adminA, recB, district) {
		t.Error("mayAdd: experts and admins add the lessons in their recording scope")
	}
}
