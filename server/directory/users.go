package directory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"yunke/server/auth"
	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// ---- districts

func (h *Handler) handleListDistricts(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.DistrictList)
	if err != nil {
		return err
	}
	ds, err := h.store.ListDistricts(r.Context())
	if err != nil {
		return err
	}
	scope := authz.ScopeOf(&p.User, authz.DistrictList)
	ds = slices.DeleteFunc(ds, func(d storage.District) bool { return !scope.Covers(d.ID, 0) })
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.District]{Items: httpapi.NonNil(ds)})
	return nil
}

type districtBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (h *Handler) handleCreateDistrict(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.DistrictCreate, httpapi.Place{}); err != nil {
		return err
	}
	var b districtBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckCode(f, "code", &b.Code, 32)
	httpapi.CheckText(f, "name", &b.Name, 1, 64)
	if err := f.Err(); err != nil {
		return err
	}
	d, err := h.store.CreateDistrict(r.Context(), httpapi.Actor(r), b.Code, b.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, d)
	return nil
}

// ---- schools

// getSchool loads a school by its path id.
func (h *Handler) getSchool(r *http.Request) (storage.School, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.School{}, err
	}
	return h.store.GetSchool(r.Context(), storage.SchoolID(id))
}

func (h *Handler) handleListSchools(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.SchoolList)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	q := r.URL.Query()
	filter := storage.SchoolFilter{Query: httpapi.QuerySearch(r, f), Kind: storage.SchoolKind(q.Get("kind")), Active: httpapi.QueryBool(r, "active", f)}
	if filter.Kind != "" && !filter.Kind.Valid() {
		f.Add("kind", "unknown kind")
	}
	filter.Limit, filter.Offset = httpapi.ListPage(r, f)
	if err := f.Err(); err != nil {
		return err
	}
	if filter.DistrictID, filter.IDs, err = httpapi.ScopeFilter(r.Context(), h.store, authz.ScopeOf(&p.User, authz.SchoolList)); err != nil {
		return err
	}
	items, total, err := h.store.ListSchools(r.Context(), filter)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.List[storage.School]{Items: httpapi.NonNil(items), Total: total})
	return nil
}

type createSchoolBody struct {
	Code       string             `json:"code"`
	Name       string             `json:"name"`
	Kind       storage.SchoolKind `json:"kind"`
	DistrictID storage.DistrictID `json:"district_id"`
}

func checkSchool(f httpapi.Fields, in *storage.SchoolInput) {
	httpapi.CheckCode(f, "code", &in.Code, 32)
	httpapi.CheckText(f, "name", &in.Name, 1, 64)
	if !in.Kind.Valid() {
		f.Add("kind", "must be one of primary, junior_secondary, senior_secondary, complete_secondary, nine_year, kindergarten")
	}
}

func (h *Handler) handleCreateSchool(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.SchoolCreate)
	if err != nil {
		return err
	}
	var b createSchoolBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.SchoolInput{DistrictID: b.DistrictID, Code: b.Code, Name: b.Name, Kind: b.Kind, Active: true}
	if in.DistrictID == 0 {
		in.DistrictID = p.User.DistrictID
	}
	if in.DistrictID == 0 {
		if ds, err := h.store.ListDistricts(r.Context()); err != nil {
			return err
		} else if len(ds) == 1 {
			in.DistrictID = ds[0].ID // the installation's only district
		}
	}
	f := httpapi.Fields{}
	checkSchool(f, &in)
	if in.DistrictID == 0 {
		f.Add("district_id", "required: there is more than one district")
	} else if in.DistrictID < 0 {
		f.Add("district_id", "no such district")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.SchoolCreate, httpapi.Place{District: in.DistrictID}); err != nil {
		return err
	}
	if _, err := h.store.GetDistrict(r.Context(), in.DistrictID); errors.Is(err, storage.ErrNotFound) {
		return (httpapi.Fields{"district_id": "no such district"}).Err()
	} else if err != nil {
		return err
	}
	sc, err := h.store.CreateSchool(r.Context(), httpapi.Actor(r), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, sc)
	return nil
}

func (h *Handler) handleGetSchool(w http.ResponseWriter, r *http.Request) error {
	sc, err := h.getSchool(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.SchoolRead, httpapi.SchoolPlace(sc)); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, sc)
	return nil
}

type patchSchoolBody struct {
	Code    *string             `json:"code"`
	Name    *string             `json:"name"`
	Kind    *storage.SchoolKind `json:"kind"`
	Active  *bool               `json:"active"`
	Version *int64              `json:"version"`
}

func (h *Handler) handleUpdateSchool(w http.ResponseWriter, r *http.Request) error {
	sc, err := h.getSchool(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.SchoolUpdate, httpapi.SchoolPlace(sc)); err != nil {
		return err
	}
	var b patchSchoolBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.SchoolInput{DistrictID: sc.DistrictID, Code: sc.Code, Name: sc.Name, Kind: sc.Kind, Active: sc.Active}
	httpapi.SetIf(&in.Code, b.Code)
	httpapi.SetIf(&in.Name, b.Name)
	httpapi.SetIf(&in.Kind, b.Kind)
	httpapi.SetIf(&in.Active, b.Active)
	f := httpapi.Fields{}
	checkSchool(f, &in)
	if b.Version == nil {
		f.Add("version", "required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	out, err := h.store.UpdateSchool(r.Context(), httpapi.Actor(r), sc.ID, in, *b.Version)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ---- users

func (h *Handler) handleListUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.UserList)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	q := r.URL.Query()
	filter := storage.UserFilter{Query: httpapi.QuerySearch(r, f), Role: storage.Role(q.Get("role")), Active: httpapi.QueryBool(r, "active", f)}
	if filter.Role != "" && !filter.Role.Valid() {
		f.Add("role", "unknown role")
	}
	filter.Limit, filter.Offset = httpapi.ListPage(r, f)
	school, err := httpapi.ExplicitSchool(r, h.store, authz.UserList, "school_id", f)
	if err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	if school != 0 {
		filter.SchoolIDs = []storage.SchoolID{school}
	} else if filter.DistrictID, filter.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), h.store, authz.ScopeOf(&p.User, authz.UserList)); err != nil {
		return err
	}
	items, total, err := h.store.ListUsers(r.Context(), filter)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.List[storage.User]{Items: httpapi.NonNil(items), Total: total})
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
func (h *Handler) checkUser(ctx context.Context, f httpapi.Fields, in *storage.UserInput, defaultDistrict storage.DistrictID) error {
	in.Username = strings.TrimSpace(in.Username)
	if in.Username == "" {
		f.Add("username", "required")
	} else if len(in.Username) > 64 || strings.IndexFunc(in.Username, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c))
	}) >= 0 {
		f.Add("username", "1 to 64 letters, digits, '.', '_', '-' or '@'")
	}
	httpapi.CheckText(f, "name", &in.Name, 1, 64)
	if len(in.Roles) == 0 {
		f.Add("roles", "at least one role")
	}
	for i, r := range in.Roles {
		if !r.Valid() {
			f.Add("roles", fmt.Sprintf("unknown role %q", r))
		} else if slices.Contains(in.Roles[:i], r) {
			f.Add("roles", fmt.Sprintf("role %q given twice", r))
		}
	}
	has := func(r storage.Role) bool { return slices.Contains(in.Roles, r) }
	httpapi.CheckText(f, "student_no", &in.StudentNo, 0, 32)
	httpapi.CheckText(f, "staff_no", &in.StaffNo, 0, 32)
	httpapi.CheckText(f, "class", &in.Class, 0, 32)
	if in.Grade < 0 || in.Grade > 12 {
		f.Add("grade", "must be 1 to 12 (0: unset)")
	}
	for _, g := range in.Grades {
		if g < 1 || g > 12 {
			f.Add("grades", "every grade must be 1 to 12")
		}
	}
	for _, id := range in.Subjects {
		if id <= 0 {
			f.Add("subject_ids", "unknown subject")
		}
	}
	if has(storage.RoleStudent) && in.StudentNo == "" {
		f.Add("student_no", "required for a student")
	}
	if in.SchoolID < 0 {
		f.Add("school_id", "no such school")
		return nil
	}
	if in.SchoolID != 0 {
		sc, err := h.store.GetSchool(ctx, in.SchoolID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			f.Add("school_id", "no such school")
		case err != nil:
			return err
		case in.DistrictID != 0 && in.DistrictID != sc.DistrictID:
			f.Add("district_id", "the school is in another district")
		default:
			in.DistrictID = sc.DistrictID
		}
	} else if has(storage.RoleStudent) || has(storage.RoleTeacher) || has(storage.RoleSchoolAdmin) {
		f.Add("school_id", "required for students, teachers and school admins")
	}
	onlySystem := len(in.Roles) > 0 && !slices.ContainsFunc(in.Roles, func(r storage.Role) bool { return r != storage.RoleSystemAdmin })
	if in.DistrictID == 0 && !onlySystem {
		in.DistrictID = defaultDistrict
	}
	if in.DistrictID == 0 && !onlySystem {
		f.Add("district_id", "required")
	}
	if in.DistrictID != 0 && in.SchoolID == 0 {
		if _, err := h.store.GetDistrict(ctx, in.DistrictID); errors.Is(err, storage.ErrNotFound) {
			f.Add("district_id", "no such district")
		} else if err != nil {
			return err
		}
	}
	if !has(storage.RoleExpert) {
		in.ExpertScope = storage.ExpertScope{}
	}
	for _, id := range in.ExpertScope.Schools {
		sc, err := h.store.GetSchool(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound) || err == nil && sc.DistrictID != in.DistrictID:
			f.Add("expert_scope", "every school must exist and be in the user's district")
		case err != nil:
			return err
		}
	}
	return nil
}

func (h *Handler) handleCreateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.UserCreate)
	if err != nil {
		return err
	}
	var b userBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.UserInput{
		Username: b.Username, Name: b.Name, DistrictID: b.DistrictID, SchoolID: b.SchoolID, Roles: b.Roles, Active: true,
		StudentNo: b.StudentNo, StaffNo: b.StaffNo, Grade: b.Grade, Class: b.Class,
		Subjects: httpapi.NonNil(b.SubjectIDs), Grades: httpapi.NonNil(b.Grades), Trainee: b.Trainee,
	}
	if b.ExpertScope != nil {
		in.ExpertScope = *b.ExpertScope
	}
	f := httpapi.Fields{}
	if msg := auth.CheckPassword(b.Password, b.Username); msg != "" {
		f.Add("password", msg)
	}
	if err := h.checkUser(r.Context(), f, &in, p.User.DistrictID); err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.UserCreate, httpapi.Account{District: in.DistrictID, School: in.SchoolID, Roles: in.Roles}); err != nil {
		return err
	}
	hash, err := h.hashPassword(r.Context(), b.Password)
	if err != nil {
		return err
	}
	u, err := h.store.CreateUser(r.Context(), httpapi.Actor(r), in, hash, true)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, u)
	return nil
}

// getUser loads the user of the path id.
func (h *Handler) getUser(r *http.Request) (storage.User, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.User{}, err
	}
	return h.store.GetUser(r.Context(), storage.UserID(id))
}

func (h *Handler) handleGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.getUser(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.UserRead, httpapi.AccountOf(u)); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h *Handler) handleUpdateUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.getUser(r)
	if err != nil {
		return err
	}
	p, err := httpapi.Authorize(r, authz.UserUpdate, httpapi.AccountOf(u))
	if err != nil {
		return err
	}
	var b patchUserBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	in := storage.UserInput{
		Username: u.Username, Name: u.Name, DistrictID: u.DistrictID, SchoolID: u.SchoolID, Roles: u.Roles, Active: u.Active,
		StudentNo: u.StudentNo, StaffNo: u.StaffNo, Grade: u.Grade, Class: u.Class,
		Subjects: u.Subjects, Grades: u.Grades, Trainee: u.Trainee, ExpertScope: u.ExpertScope,
	}
	httpapi.SetIf(&in.Username, b.Username)
	httpapi.SetIf(&in.Name, b.Name)
	httpapi.SetIf(&in.Roles, b.Roles)
	httpapi.SetIf(&in.StudentNo, b.StudentNo)
	httpapi.SetIf(&in.StaffNo, b.StaffNo)
	httpapi.SetIf(&in.Grade, b.Grade)
	httpapi.SetIf(&in.Class, b.Class)
	httpapi.SetIf(&in.Subjects, b.SubjectIDs)
	httpapi.SetIf(&in.Grades, b.Grades)
	httpapi.SetIf(&in.Trainee, b.Trainee)
	httpapi.SetIf(&in.ExpertScope, b.ExpertScope)
	httpapi.SetIf(&in.Active, b.Active)
	if b.SchoolID != nil {
		in.SchoolID = *b.SchoolID
		if b.DistrictID == nil {
			in.DistrictID = 0 // follows the new school
		}
	}
	httpapi.SetIf(&in.DistrictID, b.DistrictID)
	in.Subjects, in.Grades = httpapi.NonNil(in.Subjects), httpapi.NonNil(in.Grades)
	f := httpapi.Fields{}
	if err := h.checkUser(r.Context(), f, &in, u.DistrictID); err != nil {
		return err
	}
	if b.Version == nil {
		f.Add("version", "required")
	}
	if u.ID == p.User.ID {
		// An administrator cannot lock themselves out.
		if !in.Active {
			f.Add("active", "you cannot deactivate yourself")
		}
		if !slices.Equal(in.Roles, u.Roles) {
			f.Add("roles", "you cannot change your own roles")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.UserUpdate, httpapi.Account{District: in.DistrictID, School: in.SchoolID, Roles: in.Roles}); err != nil {
		return err
	}
	out, err := h.store.UpdateUser(r.Context(), httpapi.Actor(r), u.ID, in, *b.Version)
	if err != nil {
		return err
	}
	if !out.Active {
		if err := h.store.DeleteUserSessions(r.Context(), out.ID, ""); err != nil {
			h.log.Warn("end sessions of a deactivated user", "user", out.ID, "err", err)
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

type resetPasswordBody struct {
	NewPassword string `json:"new_password"`
}

// handleResetPassword sets another user's password: they must change it at
// their next sign-in, and every session of theirs ends.
func (h *Handler) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	u, err := h.getUser(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.UserResetPassword, httpapi.AccountOf(u)); err != nil {
		return err
	}
	var b resetPasswordBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if msg := auth.CheckPassword(b.NewPassword, u.Username); msg != "" {
		return (httpapi.Fields{"new_password": msg}).Err()
	}
	hash, err := h.hashPassword(r.Context(), b.NewPassword)
	if err != nil {
		return err
	}
	if err := h.store.SetPassword(r.Context(), httpapi.Actor(r), u.ID, hash, true); err != nil {
		return err
	}
	if err := h.store.DeleteUserSessions(r.Context(), u.ID, ""); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
