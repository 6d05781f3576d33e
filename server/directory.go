package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"yunke/server/auth"
	"yunke/server/authz"
	"yunke/storage"
)

type listAnswer[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

type itemsAnswer[T any] struct {
	Items []T `json:"items"`
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ---- districts

func (s *Server) handleListDistricts(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.DistrictList)
	if err != nil {
		return err
	}
	ds, err := s.directory.ListDistricts(r.Context())
	if err != nil {
		return err
	}
	scope := authz.ScopeOf(&p.user, authz.DistrictList)
	ds = slices.DeleteFunc(ds, func(d storage.District) bool { return !scope.Covers(d.ID, 0) })
	writeJSON(w, http.StatusOK, itemsAnswer[storage.District]{Items: nonNil(ds)})
	return nil
}

type districtBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) handleCreateDistrict(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.DistrictCreate, place{}); err != nil {
		return err
	}
	var b districtBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	f := fieldErrors{}
	checkCode(f, "code", &b.Code, 32)
	checkText(f, "name", &b.Name, 1, 64)
	if err := f.err(); err != nil {
		return err
	}
	d, err := s.directory.CreateDistrict(r.Context(), actor(r), b.Code, b.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// ---- schools

// getSchool loads a school by its path id.
func (s *Server) getSchool(r *http.Request) (storage.School, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return storage.School{}, err
	}
	return s.directory.GetSchool(r.Context(), storage.SchoolID(id))
}

// scopeFilter turns a scope into store filters: a district, and/or a list
// of schools. A scope with both (an expert's schools plus a district) is
// expanded into the district's schools.
func (s *Server) scopeFilter(ctx context.Context, sc authz.Scope) (storage.DistrictID, []storage.SchoolID, error) {
	switch {
	case sc.All:
		return 0, nil, nil
	case len(sc.Schools) == 0:
		return sc.District, nil, nil
	case sc.District == 0:
		return 0, sc.Schools, nil
	}
	ids, err := s.districtSchoolIDs(ctx, sc.District)
	if err != nil {
		return 0, nil, err
	}
	for _, id := range sc.Schools {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return 0, ids, nil
}

// districtSchoolIDs lists the ids of every school of a district.
func (s *Server) districtSchoolIDs(ctx context.Context, d storage.DistrictID) ([]storage.SchoolID, error) {
	ids := []storage.SchoolID{}
	for off := 0; ; off += 500 {
		page, total, err := s.directory.ListSchools(ctx, storage.SchoolFilter{DistrictID: d, Limit: 500, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, sc := range page {
			ids = append(ids, sc.ID)
		}
		if len(page) == 0 || off+len(page) >= total {
			return ids, nil
		}
	}
}

// explicitSchool checks that the caller may take action a in the school
// named by the query parameter name, if any; 0 when none was named.
func (s *Server) explicitSchool(r *http.Request, a authz.Action, name string, f fieldErrors) (storage.SchoolID, error) {
	id := storage.SchoolID(queryID(r, name, f))
	if id == 0 {
		return 0, nil
	}
	sc, err := s.directory.GetSchool(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		f.add(name, "no such school")
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if _, err := s.authorize(r, a, schoolPlace(sc)); err != nil {
		return 0, err
	}
	return id, nil
}

func (s *Server) handleListSchools(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.SchoolList)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	q := r.URL.Query()
	filter := storage.SchoolFilter{Query: querySearch(r, f), Kind: storage.SchoolKind(q.Get("kind")), Active: queryBool(r, "active", f)}
	if filter.Kind != "" && !filter.Kind.Valid() {
		f.add("kind", "unknown kind")
	}
	filter.Limit, filter.Offset = listPage(r, f)
	if err := f.err(); err != nil {
		return err
	}
	if filter.DistrictID, filter.IDs, err = s.scopeFilter(r.Context(), authz.ScopeOf(&p.user, authz.SchoolList)); err != nil {
		return err
	}
	items, total, err := s.directory.ListSchools(r.Context(), filter)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listAnswer[storage.School]{Items: nonNil(items), Total: total})
	return nil
}

type createSchoolBody struct {
	Code       string             `json:"code"`
	Name       string             `json:"name"`
	Kind       storage.SchoolKind `json:"kind"`
	DistrictID storage.DistrictID `json:"district_id"`
}

func checkSchool(f fieldErrors, in *storage.SchoolInput) {
	checkCode(f, "code", &in.Code, 32)
	checkText(f, "name", &in.Name, 1, 64)
	if !in.Kind.Valid() {
		f.add("kind", "must be one of primary, junior_secondary, senior_secondary, complete_secondary, nine_year, kindergarten")
	}
}

func (s *Server) handleCreateSchool(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.SchoolCreate)
	if err != nil {
		return err
	}
	var b createSchoolBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.SchoolInput{DistrictID: b.DistrictID, Code: b.Code, Name: b.Name, Kind: b.Kind, Active: true}
	if in.DistrictID == 0 {
		in.DistrictID = p.user.DistrictID
	}
	if in.DistrictID == 0 {
		if ds, err := s.directory.ListDistricts(r.Context()); err != nil {
			return err
		} else if len(ds) == 1 {
			in.DistrictID = ds[0].ID // the installation's only district
		}
	}
	f := fieldErrors{}
	checkSchool(f, &in)
	if in.DistrictID == 0 {
		f.add("district_id", "required: there is more than one district")
	} else if in.DistrictID < 0 {
		f.add("district_id", "no such district")
	}
	if err := f.err(); err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.SchoolCreate, place{district: in.DistrictID}); err != nil {
		return err
	}
	if _, err := s.directory.GetDistrict(r.Context(), in.DistrictID); errors.Is(err, storage.ErrNotFound) {
		return (fieldErrors{"district_id": "no such district"}).err()
	} else if err != nil {
		return err
	}
	sc, err := s.directory.CreateSchool(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sc)
	return nil
}

func (s *Server) handleGetSchool(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.getSchool(r)
	if err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.SchoolRead, schoolPlace(sc)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

type patchSchoolBody struct {
	Code    *string             `json:"code"`
	Name    *string             `json:"name"`
	Kind    *storage.SchoolKind `json:"kind"`
	Active  *bool               `json:"active"`
	Version *int64              `json:"version"`
}

func (s *Server) handleUpdateSchool(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.getSchool(r)
	if err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.SchoolUpdate, schoolPlace(sc)); err != nil {
		return err
	}
	var b patchSchoolBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.SchoolInput{DistrictID: sc.DistrictID, Code: sc.Code, Name: sc.Name, Kind: sc.Kind, Active: sc.Active}
	setIf(&in.Code, b.Code)
	setIf(&in.Name, b.Name)
	setIf(&in.Kind, b.Kind)
	setIf(&in.Active, b.Active)
	f := fieldErrors{}
	checkSchool(f, &in)
	if b.Version == nil {
		f.add("version", "required")
	}
	if err := f.err(); err != nil {
		return err
	}
	out, err := s.directory.UpdateSchool(r.Context(), actor(r), sc.ID, in, *b.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ---- users

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.UserList)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	q := r.URL.Query()
	filter := storage.UserFilter{Query: querySearch(r, f), Role: storage.Role(q.Get("role")), Active: queryBool(r, "active", f)}
	if filter.Role != "" && !filter.Role.Valid() {
		f.add("role", "unknown role")
	}
	filter.Limit, filter.Offset = listPage(r, f)
	school, err := s.explicitSchool(r, authz.UserList, "school_id", f)
	if err != nil {
		return err
	}
	if err := f.err(); err != nil {
		return err
	}
	if school != 0 {
		filter.SchoolIDs = []storage.SchoolID{school}
	} else if filter.DistrictID, filter.SchoolIDs, err = s.scopeFilter(r.Context(), authz.ScopeOf(&p.user, authz.UserList)); err != nil {
		return err
	}
	items, total, err := s.directory.ListUsers(r.Context(), filter)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listAnswer[storage.User]{Items: nonNil(items), Total: total})
	return nil
}

// userBody is the create form of a user; patchUserBody the update form.
type userBody struct {
	Username    string               `json:"username"`
	Name        string               `json:"name"`
	Password    string               `json:"password"`
	Roles       []storage.Role       `json:"roles"`
	SchoolID    storage.SchoolID     `json:"school_id"`
	DistrictID  storage.DistrictID   `json:"district_id"`
	StudentNo   string               `json:"student_no"`
	StaffNo     string               `json:"staff_no"`
	Grade       int                  `json:"grade"`
	Class       string               `json:"class"`
	SubjectIDs  []storage.SubjectID  `json:"subject_ids"`
	Grades      []int                `json:"grades"`
	Trainee     bool                 `json:"trainee"`
	ExpertScope *storage.ExpertScope `json:"expert_scope"`
}

type patchUserBody struct {
	Username    *string              `json:"username"`
	Name        *string              `json:"name"`
	Roles       *[]storage.Role      `json:"roles"`
	SchoolID    *storage.SchoolID    `json:"school_id"`
	DistrictID  *storage.DistrictID  `json:"district_id"`
	StudentNo   *string              `json:"student_no"`
	StaffNo     *string              `json:"staff_no"`
	Grade       *int                 `json:"grade"`
	Class       *string              `json:"class"`
	SubjectIDs  *[]storage.SubjectID `json:"subject_ids"`
	Grades      *[]int               `json:"grades"`
	Trainee     *bool                `json:"trainee"`
	ExpertScope *storage.ExpertScope `json:"expert_scope"`
	Active      *bool                `json:"active"`
	Version     *int64               `json:"version"`
}

// checkUser validates and completes a user's fields: the district follows
// the school, and the expert scope's schools must be in it.
func (s *Server) checkUser(ctx context.Context, f fieldErrors, in *storage.UserInput, defaultDistrict storage.DistrictID) error {
	in.Username = strings.TrimSpace(in.Username)
	if in.Username == "" {
		f.add("username", "required")
	} else if len(in.Username) > 64 || strings.IndexFunc(in.Username, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c))
	}) >= 0 {
		f.add("username", "1 to 64 letters, digits, '.', '_', '-' or '@'")
	}
	checkText(f, "name", &in.Name, 1, 64)
	if len(in.Roles) == 0 {
		f.add("roles", "at least one role")
	}
	for i, r := range in.Roles {
		if !r.Valid() {
			f.add("roles", fmt.Sprintf("unknown role %q", r))
		} else if slices.Contains(in.Roles[:i], r) {
			f.add("roles", fmt.Sprintf("role %q given twice", r))
		}
	}
	has := func(r storage.Role) bool { return slices.Contains(in.Roles, r) }
	checkText(f, "student_no", &in.StudentNo, 0, 32)
	checkText(f, "staff_no", &in.StaffNo, 0, 32)
	checkText(f, "class", &in.Class, 0, 32)
	if in.Grade < 0 || in.Grade > 12 {
		f.add("grade", "must be 1 to 12 (0: unset)")
	}
	for _, g := range in.Grades {
		if g < 1 || g > 12 {
			f.add("grades", "every grade must be 1 to 12")
		}
	}
	for _, id := range in.Subjects {
		if id <= 0 {
			f.add("subject_ids", "unknown subject")
		}
	}
	if has(storage.RoleStudent) && in.StudentNo == "" {
		f.add("student_no", "required for a student")
	}
	if in.SchoolID < 0 {
		f.add("school_id", "no such school")
		return nil
	}
	if in.SchoolID != 0 {
		sc, err := s.directory.GetSchool(ctx, in.SchoolID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			f.add("school_id", "no such school")
		case err != nil:
			return err
		case in.DistrictID != 0 && in.DistrictID != sc.DistrictID:
			f.add("district_id", "the school is in another district")
		default:
			in.DistrictID = sc.DistrictID
		}
	} else if has(storage.RoleStudent) || has(storage.RoleTeacher) || has(storage.RoleSchoolAdmin) {
		f.add("school_id", "required for students, teachers and school admins")
	}
	onlySystem := len(in.Roles) > 0 && !slices.ContainsFunc(in.Roles, func(r storage.Role) bool { return r != storage.RoleSystemAdmin })
	if in.DistrictID == 0 && !onlySystem {
		in.DistrictID = defaultDistrict
	}
	if in.DistrictID == 0 && !onlySystem {
		f.add("district_id", "required")
	}
	if in.DistrictID != 0 && in.SchoolID == 0 {
		if _, err := s.directory.GetDistrict(ctx, in.DistrictID); errors.Is(err, storage.ErrNotFound) {
			f.add("district_id", "no such district")
		} else if err != nil {
			return err
		}
	}
	if !has(storage.RoleExpert) {
		in.ExpertScope = storage.ExpertScope{}
	}
	for _, id := range in.ExpertScope.Schools {
		sc, err := s.directory.GetSchool(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound) || err == nil && sc.DistrictID != in.DistrictID:
			f.add("expert_scope", "every school must exist and be in the user's district")
		case err != nil:
			return err
		}
	}
	return nil
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.UserCreate)
	if err != nil {
		return err
	}
	var b userBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.UserInput{
		Username: b.Username, Name: b.Name, DistrictID: b.DistrictID, SchoolID: b.SchoolID, Roles: b.Roles, Active: true,
		StudentNo: b.StudentNo, StaffNo: b.StaffNo, Grade: b.Grade, Class: b.Class,
		Subjects: nonNil(b.SubjectIDs), Grades: nonNil(b.Grades), Trainee: b.Trainee,
	}
	if b.ExpertScope != nil {
		in.ExpertScope = *b.ExpertScope
	}
	f := fieldErrors{}
	if msg := auth.CheckPassword(b.Password, b.Username); msg != "" {
		f.add("password", msg)
	}
	if err := s.checkUser(r.Context(), f, &in, p.user.DistrictID); err != nil {
		return err
	}
	if err := f.err(); err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.UserCreate, account{District: in.DistrictID, School: in.SchoolID, Roles: in.Roles}); err != nil {
		return err
	}
	hash, err := s.hashPassword(w, r, b.Password)
	if err != nil {
		return err
	}
	u, err := s.directory.CreateUser(r.Context(), actor(r), in, hash, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// getUser loads the user of the path id.
func (s *Server) getUser(r *http.Request) (storage.User, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return storage.User{}, err
	}
	return s.directory.GetUser(r.Context(), storage.UserID(id))
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.getUser(r)
	if err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.UserRead, accountOf(u)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.getUser(r)
	if err != nil {
		return err
	}
	p, err := s.authorize(r, authz.UserUpdate, accountOf(u))
	if err != nil {
		return err
	}
	var b patchUserBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.UserInput{
		Username: u.Username, Name: u.Name, DistrictID: u.DistrictID, SchoolID: u.SchoolID, Roles: u.Roles, Active: u.Active,
		StudentNo: u.StudentNo, StaffNo: u.StaffNo, Grade: u.Grade, Class: u.Class,
		Subjects: u.Subjects, Grades: u.Grades, Trainee: u.Trainee, ExpertScope: u.ExpertScope,
	}
	setIf(&in.Username, b.Username)
	setIf(&in.Name, b.Name)
	setIf(&in.Roles, b.Roles)
	setIf(&in.StudentNo, b.StudentNo)
	setIf(&in.StaffNo, b.StaffNo)
	setIf(&in.Grade, b.Grade)
	setIf(&in.Class, b.Class)
	setIf(&in.Subjects, b.SubjectIDs)
	setIf(&in.Grades, b.Grades)
	setIf(&in.Trainee, b.Trainee)
	setIf(&in.ExpertScope, b.ExpertScope)
	setIf(&in.Active, b.Active)
	if b.SchoolID != nil {
		in.SchoolID = *b.SchoolID
		if b.DistrictID == nil {
			in.DistrictID = 0 // follows the new school
		}
	}
	setIf(&in.DistrictID, b.DistrictID)
	in.Subjects, in.Grades = nonNil(in.Subjects), nonNil(in.Grades)
	f := fieldErrors{}
	if err := s.checkUser(r.Context(), f, &in, u.DistrictID); err != nil {
		return err
	}
	if b.Version == nil {
		f.add("version", "required")
	}
	if u.ID == p.user.ID {
		// An administrator cannot lock themselves out.
		if !in.Active {
			f.add("active", "you cannot deactivate yourself")
		}
		if !slices.Equal(in.Roles, u.Roles) {
			f.add("roles", "you cannot change your own roles")
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.UserUpdate, account{District: in.DistrictID, School: in.SchoolID, Roles: in.Roles}); err != nil {
		return err
	}
	out, err := s.directory.UpdateUser(r.Context(), actor(r), u.ID, in, *b.Version)
	if err != nil {
		return err
	}
	if !out.Active {
		if err := s.directory.DeleteUserSessions(r.Context(), out.ID, ""); err != nil {
			s.log.Warn("end sessions of a deactivated user", "user", out.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type resetPasswordBody struct {
	NewPassword string `json:"new_password"`
}

// handleResetPassword sets another user's password: they must change it at
// their next sign-in, and every session of theirs ends.
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	u, err := s.getUser(r)
	if err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.UserResetPassword, accountOf(u)); err != nil {
		return err
	}
	var b resetPasswordBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	if msg := auth.CheckPassword(b.NewPassword, u.Username); msg != "" {
		return (fieldErrors{"new_password": msg}).err()
	}
	hash, err := s.hashPassword(w, r, b.NewPassword)
	if err != nil {
		return err
	}
	if err := s.directory.SetPassword(r.Context(), actor(r), u.ID, hash, true); err != nil {
		return err
	}
	if err := s.directory.DeleteUserSessions(r.Context(), u.ID, ""); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
