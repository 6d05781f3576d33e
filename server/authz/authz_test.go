package authz_test

import (
	"testing"

	"yunke/server/authz"
	"yunke/storage"
)

func user(roles ...storage.Role) *storage.User {
	return &storage.User{ID: 1, Active: true, DistrictID: 1, SchoolID: 10, Roles: roles}
}

func TestScopeOf(t *testing.T) {
	sys := user(storage.RoleSystemAdmin)
	sys.DistrictID, sys.SchoolID = 0, 0
	dist := user(storage.RoleDistrictAdmin)
	dist.SchoolID = 0
	school := user(storage.RoleSchoolAdmin)
	expertList := user(storage.RoleExpert)
	expertList.SchoolID = 0
	expertList.ExpertScope = storage.ExpertScope{Schools: []storage.SchoolID{11, 12}}
	expertDist := user(storage.RoleExpert)
	expertDist.ExpertScope = storage.ExpertScope{District: true}
	inactive := user(storage.RoleSystemAdmin)
	inactive.Active = false

	type place struct {
		d  storage.DistrictID
		s  storage.SchoolID
		ok bool
	}
	for _, c := range []struct {
		name   string
		u      *storage.User
		a      authz.Action
		places []place
	}{
		{"system admin", sys, authz.SchoolRead, []place{{1, 10, true}, {2, 20, true}, {2, 0, true}}},
		{"district admin", dist, authz.SchoolRead, []place{{1, 10, true}, {1, 0, true}, {2, 20, false}}},
		{"school admin", school, authz.UserRead, []place{{1, 10, true}, {1, 11, false}, {1, 0, false}}},
		{"school admin, not allowed", school, authz.TargetWrite, []place{{1, 10, false}}},
		{"expert with schools", expertList, authz.SchoolRead, []place{{1, 11, true}, {1, 12, true}, {1, 10, false}, {1, 0, false}}},
		{"expert with district", expertDist, authz.ActivityRead, []place{{1, 13, true}, {2, 20, false}}},
		{"expert reviews in their schools", expertList, authz.ReviewScore, []place{{1, 11, true}, {1, 10, false}, {2, 11, true}, {1, 0, false}}},
		{"district expert reviews in the district", expertDist, authz.ReviewScore, []place{{1, 13, true}, {2, 20, false}}},
		{"school admin reads reviews of the school", school, authz.ReviewRead, []place{{1, 10, true}, {1, 11, false}}},
		{"school admin manages no review", school, authz.ReviewManage, []place{{1, 10, false}}},
		{"inactive", inactive, authz.SchoolRead, []place{{1, 10, false}}},
	} {
		s := authz.ScopeOf(c.u, c.a)
		for _, p := range c.places {
			if got := s.Covers(p.d, p.s); got != p.ok {
				t.Errorf("%s: %s covers (district %d, school %d) = %v, want %v", c.name, c.a, p.d, p.s, got, p.ok)
			}
		}
	}
}

func TestCanManageUser(t *testing.T) {
	sys := user(storage.RoleSystemAdmin)
	dist := user(storage.RoleDistrictAdmin)
	school := user(storage.RoleSchoolAdmin)
	teacher := user(storage.RoleTeacher)
	own := func(roles ...storage.Role) authz.Subject { return authz.Subject{District: 1, School: 10, Roles: roles} }
	other := func(roles ...storage.Role) authz.Subject { return authz.Subject{District: 1, School: 11, Roles: roles} }
	for _, c := range []struct {
		name  string
		actor *storage.User
		t     authz.Subject
		ok    bool
	}{
		{"sys: system admin", sys, authz.Subject{Roles: []storage.Role{storage.RoleSystemAdmin}}, true},
		{"district: teacher elsewhere in district", dist, other(storage.RoleTeacher), true},
		{"district: district admin", dist, authz.Subject{District: 1, Roles: []storage.Role{storage.RoleDistrictAdmin}}, true},
		{"district: system admin", dist, authz.Subject{District: 1, Roles: []storage.Role{storage.RoleSystemAdmin}}, false},
		{"district: other district", dist, authz.Subject{District: 2, School: 20, Roles: []storage.Role{storage.RoleStudent}}, false},
		{"school: own student", school, own(storage.RoleStudent), true},
		{"school: own teacher", school, own(storage.RoleTeacher), true},
		{"school: own school admin", school, own(storage.RoleSchoolAdmin), false},
		{"school: own expert+teacher", school, own(storage.RoleTeacher, storage.RoleExpert), false},
		{"school: other school's student", school, other(storage.RoleStudent), false},
		{"teacher: own student", teacher, own(storage.RoleStudent), false},
	} {
		if got := authz.CanManageUser(c.actor, authz.UserCreate, c.t); got != c.ok {
			t.Errorf("%s: CanManageUser = %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestHome(t *testing.T) {
	for want, roles := range map[string][]storage.Role{
		"admin":   {storage.RoleTeacher, storage.RoleSchoolAdmin},
		"expert":  {storage.RoleTeacher, storage.RoleExpert},
		"teacher": {storage.RoleStudent, storage.RoleTeacher},
		"student": {storage.RoleStudent},
	} {
		if got := authz.Home(roles); got != want {
			t.Errorf("Home(%v) = %q, want %q", roles, got, want)
		}
	}
}
