package review

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Routes are the lesson review API routes. The route's actions are the
// role check; every handler then checks the scope of the target, scheme,
// rubric or assignment it touches.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	library := a(authz.ReviewScore, authz.ReviewRead, authz.ReviewManage)
	read := a(authz.ReviewRead, authz.ReviewManage)
	manage := a(authz.ReviewManage)
	return []httpapi.Route{
		{Method: "GET", Path: "/review/rubrics", Actions: library, Handle: s.handleRubrics},
		{Method: "POST", Path: "/review/rubrics", Actions: manage, Handle: s.handleCreateRubric},
		{Method: "POST", Path: "/review/rubrics/import", Actions: manage, Handle: s.handleImportRubric},
		{Method: "GET", Path: "/review/rubrics/{id}", Actions: library, Handle: s.handleRubric},
		{Method: "PUT", Path: "/review/rubrics/{id}", Actions: manage, Handle: s.handleUpdateRubric},
		{Method: "GET", Path: "/review/rubrics/{id}/export", Actions: library, Handle: s.handleExportRubric},
		{Method: "POST", Path: "/review/rubrics/{id}/copy", Actions: manage, Handle: s.handleCopyRubric},
		{Method: "GET", Path: "/review/schemes", Actions: library, Handle: s.handleSchemes},
		{Method: "POST", Path: "/review/schemes", Actions: manage, Handle: s.handleCreateScheme},
		{Method: "GET", Path: "/review/schemes/{id}", Actions: library, Handle: s.handleScheme},
		{Method: "GET", Path: "/review/schemes/{id}/reliability", Actions: read, Handle: s.handleReliability},
		{Method: "POST", Path: "/review/assignments", Actions: manage, Handle: s.handleAssign},
		{Method: "POST", Path: "/review/assignments/auto", Actions: manage, Handle: s.handleAutoAssign},
		{Method: "GET", Path: "/review/assignments", Actions: read, Handle: s.handleAssignments},
		{Method: "DELETE", Path: "/review/assignments/{id}", Actions: manage, Handle: s.handleUnassign},
		{Method: "GET", Path: "/review/assignments/{id}/review", Actions: a(authz.ReviewScore), Handle: s.handleDraft},
		{Method: "PUT", Path: "/review/assignments/{id}/review", Actions: a(authz.ReviewScore), Handle: s.handleSaveDraft},
		{Method: "POST", Path: "/review/assignments/{id}/submit", Actions: a(authz.ReviewScore), Handle: s.handleSubmit},
		{Method: "GET", Path: "/review/queue", Actions: a(authz.ReviewScore), Handle: s.handleQueue},
		{Method: "GET", Path: "/review/reviews/{id}", Actions: a(authz.ReviewRead, authz.ReviewManage, authz.ReviewOwn), Handle: s.handleReview},
		{Method: "POST", Path: "/review/reviews/{id}/reopen", Actions: manage, Handle: s.handleReopen},
		{Method: "PUT", Path: "/review/reviews/{id}/rating", Actions: a(authz.ReviewOwn), Handle: s.handleRate},
		{Method: "GET", Path: "/review/targets/{target}", Actions: a(authz.ReviewScore, authz.ReviewRead, authz.ReviewManage, authz.ReviewOwn), Handle: s.handleTarget},
		{Method: "PUT", Path: "/review/targets/{target}/reflection", Actions: a(authz.ReviewOwn), Handle: s.handleReflect},
		{Method: "GET", Path: "/review/mine", Actions: a(authz.ReviewOwn), Handle: s.handleMine},
		{Method: "GET", Path: "/review/feedback", Actions: a(authz.ReviewOwn), Handle: s.handleFeedback},
		{Method: "POST", Path: "/review/feedback/seen", Actions: a(authz.ReviewOwn), Handle: s.handleFeedbackSeen},
		{Method: "POST", Path: "/review/calibrations", Actions: manage, Handle: s.handleCreateCalibration},
		{Method: "GET", Path: "/review/calibrations", Actions: a(authz.ReviewRead, authz.ReviewManage, authz.ReviewScore), Handle: s.handleCalibrations},
		{Method: "GET", Path: "/review/calibrations/mine", Actions: a(authz.ReviewScore), Handle: s.handleMyCalibrations},
		{Method: "GET", Path: "/review/calibrations/{id}", Actions: read, Handle: s.handleCalibration},
		{Method: "POST", Path: "/review/calibrations/{id}/assignments", Actions: manage, Handle: s.handleAssignCalibration},
	}
}

// maxBody bounds a JSON body (an imported XLSX rubric, base64, is the largest).
const maxBody = 2 << 20

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return httpapi.DecodeJSON(w, r, v)
}

func me(r *http.Request) *storage.User { return &httpapi.PrincipalFrom(r.Context()).User }

func can(r *http.Request, a authz.Action) bool { return authz.Allows(me(r).Roles, a) }

func place(t Target) httpapi.Place { return httpapi.Place{District: t.DistrictID, School: t.SchoolID} }

// inDistrict reports whether something kept at district d (0: installation-wide) is visible to u.
func inDistrict(u *storage.User, d storage.DistrictID) bool {
	return d == 0 || d == u.DistrictID || authz.ScopeOf(u, authz.ReviewManage).All || authz.ScopeOf(u, authz.ReviewRead).All
}

// manages reports whether the caller may change what is kept at district d
// (0: installation-wide, system admins only).
func manages(r *http.Request, d storage.DistrictID) bool {
	sc := authz.ScopeOf(me(r), authz.ReviewManage)
	return sc.All || (d != 0 && sc.District == d)
}

// --- rubrics ---

type rubricBody struct {
	DistrictID storage.DistrictID `json:"district_id"`
	Code       string             `json:"code"`
	Name       string             `json:"name"`
	Purpose    string             `json:"purpose"`
	Body       storage.RubricBody `json:"body"`
}

func (s *Service) handleRubrics(w http.ResponseWriter, r *http.Request) error {
	d := me(r).DistrictID
	if q := r.URL.Query().Get("district_id"); q != "" {
		f := httpapi.Fields{}
		d = storage.DistrictID(httpapi.QueryID(r, "district_id", f))
		if err := f.Err(); err != nil {
			return err
		}
		if !inDistrict(me(r), d) {
			return httpapi.ErrForbidden
		}
	}
	rs, err := s.p.Store.ListRubrics(r.Context(), d)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Rubric]{Items: rs})
	return nil
}

// newRubricDistrict is where a new rubric goes: a district admin's district;
// a system admin's choice (0: installation-wide).
func newRubricDistrict(r *http.Request, asked storage.DistrictID) (storage.DistrictID, error) {
	sc := authz.ScopeOf(me(r), authz.ReviewManage)
	if sc.All {
		return asked, nil
	}
	if asked != 0 && asked != sc.District {
		return 0, httpapi.ErrForbidden
	}
	return sc.District, nil
}

func (s *Service) createRubric(w http.ResponseWriter, r *http.Request, b rubricBody) error {
	d, err := newRubricDistrict(r, b.DistrictID)
	if err != nil {
		return err
	}
	rb, err := s.p.Store.CreateRubric(r.Context(), httpapi.Actor(r), storage.RubricInput{DistrictID: d, Code: b.Code, Name: b.Name,
		Purpose: b.Purpose, Body: b.Body})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, rb)
	return nil
}

func (s *Service) handleCreateRubric(w http.ResponseWriter, r *http.Request) error {
	var b rubricBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	return s.createRubric(w, r, b)
}

func (s *Service) handleImportRubric(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		rubricBody
		Format string `json:"format"` // json (the body as exported) or xlsx
		File   []byte `json:"file"`   // base64 in JSON: the XLSX workbook
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	switch b.Format {
	case "", "json":
	case "xlsx":
		body, err := ReadXLSX(b.File)
		if err != nil {
			return err
		}
		b.Body = body
	default:
		return httpapi.Invalid("format", "json or xlsx")
	}
	return s.createRubric(w, r, b.rubricBody)
}

// rubric loads a rubric the caller may see (query version: an older one).
func (s *Service) rubric(r *http.Request) (storage.Rubric, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Rubric{}, err
	}
	f := httpapi.Fields{}
	v := httpapi.QueryID(r, "version", f)
	if err := f.Err(); err != nil {
		return storage.Rubric{}, err
	}
	rb, err := s.p.Store.GetRubric(r.Context(), storage.RubricID(id), int(v))
	if err != nil {
		return rb, err
	}
	if !inDistrict(me(r), rb.DistrictID) {
		return rb, httpapi.ErrForbidden
	}
	return rb, nil
}

func (s *Service) handleRubric(w http.ResponseWriter, r *http.Request) error {
	rb, err := s.rubric(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rb)
	return nil
}

func (s *Service) handleUpdateRubric(w http.ResponseWriter, r *http.Request) error {
	rb, err := s.rubric(r)
	if err != nil {
		return err
	}
	if !manages(r, rb.DistrictID) {
		return httpapi.ErrForbidden
	}
	var b rubricBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	out, err := s.p.Store.UpdateRubric(r.Context(), httpapi.Actor(r), rb.ID, storage.RubricInput{Name: b.Name, Purpose: b.Purpose, Body: b.Body})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) handleExportRubric(w http.ResponseWriter, r *http.Request) error {
	rb, err := s.rubric(r)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		w.Header().Set("Content-Disposition", `attachment; filename="rubric-`+rb.Code+`-v`+strconv.Itoa(rb.Version)+`.json"`)
		httpapi.WriteJSON(w, http.StatusOK, rubricBody{Code: rb.Code, Name: rb.Name, Purpose: rb.Purpose, Body: rb.Body})
	case "xlsx":
		data, err := WriteXLSX(rb)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="rubric-`+rb.Code+`-v`+strconv.Itoa(rb.Version)+`.xlsx"`)
		_, _ = w.Write(data)
	default:
		return httpapi.Invalid("format", "json or xlsx")
	}
	return nil
}

// handleCopyRubric copies a rubric version (a shipped default, say) into
// the caller's district, where its administrators may edit it.
func (s *Service) handleCopyRubric(w http.ResponseWriter, r *http.Request) error {
	rb, err := s.rubric(r)
	if err != nil {
		return err
	}
	var b rubricBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	b.Body, b.Purpose = rb.Body, rb.Purpose
	if b.Code == "" {
		b.Code = rb.Code
	}
	if b.Name == "" {
		b.Name = rb.Name
	}
	if b.DistrictID == 0 {
		b.DistrictID = me(r).DistrictID
	}
	if b.DistrictID == rb.DistrictID && b.Code == rb.Code {
		return httpapi.Invalid("code", "a copy in the same place needs another code")
	}
	return s.createRubric(w, r, b)
}

// --- schemes ---

func (s *Service) handleSchemes(w http.ResponseWriter, r *http.Request) error {
	scs, err := s.p.Store.ListSchemes(r.Context(), me(r).DistrictID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Scheme]{Items: scs})
	return nil
}

func (s *Service) handleCreateScheme(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		DistrictID    storage.DistrictID `json:"district_id"`
		Name          string             `json:"name"`
		Purpose       string             `json:"purpose"`
		SubjectID     storage.SubjectID  `json:"subject_id"`
		SchoolKind    string             `json:"school_kind"`
		RubricID      storage.RubricID   `json:"rubric_id"`
		RubricVersion int                `json:"rubric_version"` // 0: the current one
		Blind         bool               `json:"blind"`
		Threshold     *float64           `json:"threshold"` // default 0.6
		// Criteria: the chosen codes with their weights (weight 0: the
		// rubric's); none: every criterion with the rubric's weights.
		Criteria []struct {
			Code   string  `json:"code"`
			Weight float64 `json:"weight"`
		} `json:"criteria"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	switch b.Purpose {
	case "":
		b.Purpose = storage.PurposeGeneral
	case storage.PurposeGeneral, storage.PurposeSubject, storage.PurposeSchoolKind, storage.PurposeTrainee, storage.PurposeCompetition:
	default:
		f.Add("purpose", "general, subject, school_kind, trainee or competition")
	}
	if b.RubricID <= 0 {
		f.Add("rubric_id", "required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	d, err := newRubricDistrict(r, b.DistrictID)
	if err != nil {
		return err
	}
	rb, err := s.p.Store.GetRubric(r.Context(), b.RubricID, b.RubricVersion)
	if isNotFound(err) {
		return httpapi.Invalid("rubric_id", "no such rubric or version")
	}
	if err != nil {
		return err
	}
	if rb.DistrictID != 0 && rb.DistrictID != d {
		return httpapi.Invalid("rubric_id", "a rubric of another district")
	}
	all := rb.Body.Criteria()
	var chosen []storage.SchemeCriterion
	if len(b.Criteria) == 0 {
		chosen = all
	}
	for _, c := range b.Criteria {
		i := slices.IndexFunc(all, func(x storage.SchemeCriterion) bool { return x.Code == c.Code })
		if i < 0 {
			return httpapi.Invalid("criteria", "no criterion "+c.Code+" in the rubric")
		}
		if slices.ContainsFunc(chosen, func(x storage.SchemeCriterion) bool { return x.Code == c.Code }) {
			return httpapi.Invalid("criteria", "criterion "+c.Code+" chosen twice")
		}
		x := all[i]
		if c.Weight < 0 || c.Weight > 1000 {
			return httpapi.Invalid("criteria", "a weight is between 0 and 1000")
		}
		if c.Weight > 0 {
			x.Weight = c.Weight
		}
		chosen = append(chosen, x)
	}
	th := 0.6
	if b.Threshold != nil {
		th = *b.Threshold
	}
	sc, err := s.p.Store.CreateScheme(r.Context(), httpapi.Actor(r), storage.Scheme{DistrictID: d, Name: b.Name, Purpose: b.Purpose,
		SubjectID: b.SubjectID, SchoolKind: b.SchoolKind, RubricID: rb.ID, RubricVersion: rb.Version, Blind: b.Blind, Threshold: th, Criteria: chosen})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, sc)
	return nil
}

// scheme loads a scheme visible to the caller.
func (s *Service) scheme(r *http.Request, id storage.SchemeID) (storage.Scheme, error) {
	sc, err := s.p.Store.GetScheme(r.Context(), id)
	if err != nil {
		return sc, err
	}
	if !inDistrict(me(r), sc.DistrictID) {
		return sc, httpapi.ErrForbidden
	}
	return sc, nil
}

func (s *Service) handleScheme(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	sc, err := s.scheme(r, storage.SchemeID(id))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, sc)
	return nil
}

// readFilter narrows f to where the caller may read reviews: the union
// of their review.read and review.manage scopes.
func (s *Service) readFilter(r *http.Request, f *storage.AssignmentFilter) error {
	u := me(r)
	rd, mg := authz.ScopeOf(u, authz.ReviewRead), authz.ScopeOf(u, authz.ReviewManage)
	sc := authz.Scope{All: rd.All || mg.All, District: cmpOr(rd.District, mg.District), Schools: append(slices.Clone(rd.Schools), mg.Schools...)}
	switch {
	case sc.All:
		return nil
	case sc.Empty():
		f.SchoolIDs = []storage.SchoolID{}
		return nil
	}
	d, schools, err := httpapi.ScopeFilter(r.Context(), s.p.Store, sc)
	f.DistrictID, f.SchoolIDs = d, schools
	return err
}

func (s *Service) handleReliability(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	sc, err := s.scheme(r, storage.SchemeID(id))
	if err != nil {
		return err
	}
	round := r.URL.Query().Get("round")
	f := storage.AssignmentFilter{SchemeID: sc.ID, Round: &round, Status: storage.AssignmentSubmitted}
	if err := s.readFilter(r, &f); err != nil {
		return err
	}
	zero := storage.CalibrationID(0)
	f.CalibrationID = &zero
	rvs, err := s.p.Store.ListReviews(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.reliability(sc, round, rvs))
	return nil
}

// --- assignments ---

type assignBody struct {
	SchemeID  storage.SchemeID `json:"scheme_id"`
	Target    string           `json:"target"`
	Round     string           `json:"round"`
	ExpertIDs []storage.UserID `json:"expert_ids"`
	DueAt     time.Time        `json:"due_at"`
	// Auto assignment: how many experts, and the rules.
	Count             int  `json:"count"`
	MatchSubject      bool `json:"match_subject"`
	ExcludeColleagues bool `json:"exclude_colleagues"`
	// CalibratedOnly keeps the experts who passed a calibration clip of the scheme.
	CalibratedOnly bool `json:"calibrated_only"`
}

// assignable checks an assignment request: the scheme and the target in
// the caller's managing scope.
func (s *Service) assignable(r *http.Request, b assignBody) (storage.Scheme, Target, error) {
	f := httpapi.Fields{}
	if b.SchemeID <= 0 {
		f.Add("scheme_id", "required")
	}
	if _, _, ok := storage.ParseTarget(b.Target); !ok {
		f.Add("target", "must be recording:<id> or microlesson:<id>")
	}
	if err := f.Err(); err != nil {
		return storage.Scheme{}, Target{}, err
	}
	sc, err := s.scheme(r, b.SchemeID)
	if isNotFound(err) {
		return sc, Target{}, httpapi.Invalid("scheme_id", "no such scheme")
	}
	if err != nil {
		return sc, Target{}, err
	}
	t, err := s.target(r.Context(), b.Target)
	if isNotFound(err) {
		return sc, t, httpapi.Invalid("target", "no such recording or micro-lesson")
	}
	if err != nil {
		return sc, t, err
	}
	if _, err := httpapi.Authorize(r, authz.ReviewManage, place(t)); err != nil {
		return sc, t, err
	}
	if sc.DistrictID != 0 && sc.DistrictID != t.DistrictID {
		return sc, t, httpapi.Invalid("scheme_id", "a scheme of another district")
	}
	return sc, t, nil
}

// eligible reports why expert e may not review t (empty: they may).
func eligible(e storage.User, t Target) string {
	switch {
	case !e.Active || !e.Has(storage.RoleExpert):
		return "not an active expert"
	case e.ID == t.TeacherID:
		return "the teacher of the lesson"
	case !authz.ScopeOf(&e, authz.ReviewScore).Covers(t.DistrictID, t.SchoolID):
		return "outside the expert's scope"
	}
	return ""
}

func (s *Service) handleAssign(w http.ResponseWriter, r *http.Request) error {
	var b assignBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	sc, t, err := s.assignable(r, b)
	if err != nil {
		return err
	}
	if len(b.ExpertIDs) == 0 || len(b.ExpertIDs) > 20 {
		return httpapi.Invalid("expert_ids", "one to 20 experts")
	}
	var ins []storage.AssignmentInput
	for _, id := range b.ExpertIDs {
		e, err := s.p.Store.GetUser(r.Context(), id)
		if isNotFound(err) {
			return httpapi.Invalid("expert_ids", "no such user "+strconv.FormatInt(int64(id), 10))
		}
		if err != nil {
			return err
		}
		if why := eligible(e, t); why != "" {
			return httpapi.Invalid("expert_ids", e.Name+": "+why)
		}
		ins = append(ins, s.input(sc, t, b, id, 0))
	}
	out, err := s.p.Store.CreateAssignments(r.Context(), httpapi.Actor(r), ins)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, httpapi.Items[storage.Assignment]{Items: out})
	return nil
}

func (s *Service) input(sc storage.Scheme, t Target, b assignBody, expert storage.UserID, cal storage.CalibrationID) storage.AssignmentInput {
	return storage.AssignmentInput{SchemeID: sc.ID, Target: t.Target, Round: b.Round, ExpertID: expert, TeacherID: t.TeacherID,
		DistrictID: t.DistrictID, SchoolID: t.SchoolID, SubjectID: t.SubjectID, CalibrationID: cal, DueAt: b.DueAt}
}

// handleAutoAssign picks experts by rule: active experts of the target's
// district whose scope covers it, teaching its subject when asked, never
// its teacher's colleagues (same school) when asked, the least loaded
// (fewest open assignments) first.
func (s *Service) handleAutoAssign(w http.ResponseWriter, r *http.Request) error {
	var b assignBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	sc, t, err := s.assignable(r, b)
	if err != nil {
		return err
	}
	if b.Count <= 0 || b.Count > 20 {
		return httpapi.Invalid("count", "one to 20 experts")
	}
	active := true
	var cands []storage.User
	for off := 0; ; off += 500 {
		page, total, err := s.p.Store.ListUsers(r.Context(), storage.UserFilter{DistrictID: t.DistrictID, Role: storage.RoleExpert, Active: &active, Limit: 500, Offset: off})
		if err != nil {
			return err
		}
		cands = append(cands, page...)
		if len(page) == 0 || off+len(page) >= total {
			break
		}
	}
	var teacherSchool storage.SchoolID
	if b.ExcludeColleagues {
		teacher, err := s.p.Store.GetUser(r.Context(), t.TeacherID)
		if err != nil && !isNotFound(err) {
			return err
		}
		teacherSchool = cmpOr(teacher.SchoolID, t.SchoolID)
	}
	type cand struct {
		u    storage.User
		load int
	}
	var pick []cand
	for _, e := range cands {
		if eligible(e, t) != "" {
			continue
		}
		if b.MatchSubject && t.SubjectID != 0 && !slices.Contains(e.Subjects, t.SubjectID) {
			continue
		}
		if b.ExcludeColleagues && e.SchoolID != 0 && e.SchoolID == teacherSchool {
			continue
		}
		if b.CalibratedOnly {
			ok, err := s.calibrated(r, e.ID, sc.ID)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		open, err := s.p.Store.ListAssignments(r.Context(), storage.AssignmentFilter{ExpertID: e.ID})
		if err != nil {
			return err
		}
		load := 0
		already := false
		for _, x := range open {
			if x.Status != storage.AssignmentSubmitted {
				load++
			}
			if x.SchemeID == sc.ID && x.Target == t.Target && x.Round == b.Round {
				already = true
			}
		}
		if !already {
			pick = append(pick, cand{e, load})
		}
	}
	slices.SortStableFunc(pick, func(a, b cand) int {
		if a.load != b.load {
			return a.load - b.load
		}
		return int(a.u.ID - b.u.ID)
	})
	if len(pick) < b.Count {
		return httpapi.Invalid("count", "only "+strconv.Itoa(len(pick))+" experts meet the rules")
	}
	var ins []storage.AssignmentInput
	for _, c := range pick[:b.Count] {
		ins = append(ins, s.input(sc, t, b, c.u.ID, 0))
	}
	out, err := s.p.Store.CreateAssignments(r.Context(), httpapi.Actor(r), ins)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, httpapi.Items[storage.Assignment]{Items: out})
	return nil
}

// calibrated reports whether an expert passed a calibration clip of a scheme.
func (s *Service) calibrated(r *http.Request, expert storage.UserID, scheme storage.SchemeID) (bool, error) {
	res, err := s.p.Store.CalibrationResults(r.Context(), 0, expert)
	if err != nil {
		return false, err
	}
	for _, x := range res {
		if !x.Passed {
			continue
		}
		c, err := s.p.Store.GetCalibration(r.Context(), x.CalibrationID)
		if err != nil {
			return false, err
		}
		if c.SchemeID == scheme {
			return true, nil
		}
	}
	return false, nil
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

func (s *Service) handleAssignments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	fs := httpapi.Fields{}
	f := storage.AssignmentFilter{Target: q.Get("target"), Status: q.Get("status"),
		SchemeID: storage.SchemeID(httpapi.QueryID(r, "scheme_id", fs)), ExpertID: storage.UserID(httpapi.QueryID(r, "expert_id", fs))}
	if q.Has("round") {
		round := q.Get("round")
		f.Round = &round
	}
	if err := fs.Err(); err != nil {
		return err
	}
	if err := s.readFilter(r, &f); err != nil {
		return err
	}
	as, err := s.p.Store.ListAssignments(r.Context(), f)
	if err != nil {
		return err
	}
	now := s.p.Now()
	out := make([]queueItem, 0, len(as))
	for _, x := range as {
		out = append(out, queueItem{Assignment: x, Overdue: overdue(x, now)})
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[queueItem]{Items: out})
	return nil
}

// assignment loads the assignment named by the path's {id}; the caller
// checks who may touch it.
func (s *Service) assignment(r *http.Request) (storage.Assignment, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Assignment{}, err
	}
	return s.p.Store.GetAssignment(r.Context(), storage.AssignmentID(id))
}

// handleUnassign withdraws an assignment not started yet.
func (s *Service) handleUnassign(w http.ResponseWriter, r *http.Request) error {
	x, err := s.assignment(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.ReviewManage, httpapi.Place{District: x.DistrictID, School: x.SchoolID}); err != nil {
		return err
	}
	if err := s.p.Store.DeleteAssignment(r.Context(), httpapi.Actor(r), x.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queueItem is an assignment with whether it is overdue, and what it is.
type queueItem struct {
	storage.Assignment
	Overdue    bool   `json:"overdue"`
	Title      string `json:"title,omitempty"`
	SchemeName string `json:"scheme_name,omitempty"`
}

func overdue(x storage.Assignment, now time.Time) bool {
	return x.Status != storage.AssignmentSubmitted && !x.DueAt.IsZero() && now.After(x.DueAt)
}

func (s *Service) handleQueue(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	f := storage.AssignmentFilter{ExpertID: u.ID, Status: r.URL.Query().Get("status")}
	as, err := s.p.Store.ListAssignments(r.Context(), f)
	if err != nil {
		return err
	}
	now := s.p.Now()
	out := make([]queueItem, 0, len(as))
	schemes := map[storage.SchemeID]string{}
	for _, x := range as {
		// Only what lies in the expert's scope today is in the queue.
		if !authz.ScopeOf(u, authz.ReviewScore).Covers(x.DistrictID, x.SchoolID) {
			continue
		}
		it := queueItem{Assignment: x, Overdue: overdue(x, now)}
		if t, err := s.target(r.Context(), x.Target); err == nil {
			it.Title = t.Title
		}
		if _, ok := schemes[x.SchemeID]; !ok {
			if sc, err := s.p.Store.GetScheme(r.Context(), x.SchemeID); err == nil {
				schemes[x.SchemeID] = sc.Name
			}
		}
		it.SchemeName = schemes[x.SchemeID]
		out = append(out, it)
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[queueItem]{Items: out})
	return nil
}

// --- the expert's review ---

// mine loads an assignment of the calling expert whose target lies in
// their scope, with its scheme and target.
func (s *Service) mine(r *http.Request) (storage.Assignment, storage.Scheme, Target, error) {
	x, err := s.assignment(r)
	if err != nil {
		return x, storage.Scheme{}, Target{}, err
	}
	u := me(r)
	if x.ExpertID != u.ID || !authz.ScopeOf(u, authz.ReviewScore).Covers(x.DistrictID, x.SchoolID) {
		return x, storage.Scheme{}, Target{}, httpapi.ErrForbidden
	}
	sc, err := s.p.Store.GetScheme(r.Context(), x.SchemeID)
	if err != nil {
		return x, sc, Target{}, err
	}
	t, err := s.target(r.Context(), x.Target)
	return x, sc, t, err
}

// draftView is what the player page needs: the review, its scheme (the
// criteria as they were) and its target, with the teacher's reflection.
type draftView struct {
	Review     storage.Review     `json:"review"`
	Scheme     storage.Scheme     `json:"scheme"`
	Target     Target             `json:"target"`
	Reflection storage.Reflection `json:"reflection"`
	Overdue    bool               `json:"overdue"`
	Total      *float64           `json:"current_total"` // of the scores so far
}

func (s *Service) draftView(r *http.Request, rv storage.Review, sc storage.Scheme, t Target) (draftView, error) {
	ref, err := s.p.Store.GetReflection(r.Context(), t.Target)
	v := draftView{Review: rv, Scheme: sc, Target: t, Reflection: ref, Overdue: overdue(rv.Assignment, s.p.Now())}
	if len(rv.Body.Scores) > 0 {
		if tot, ok := WeightedTotal(sc, rv.Body.Scores); ok {
			v.Total = &tot
		}
	}
	return v, err
}

// limitDraft takes a place in the expert's window of draft saves, or
// answers 429 with Retry-After.
func (s *Service) limitDraft(ctx context.Context, expert storage.UserID) error {
	if s.p.Limiter == nil {
		return nil
	}
	ok, retry, err := s.p.Limiter.Allow(ctx, fmt.Sprintf("review:draft:%d", expert), s.p.DraftSaves, s.p.DraftWindow)
	if err != nil {
		return err
	}
	if !ok {
		return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: max(retry, time.Second),
			Message: fmt.Sprintf("at most %d draft saves in %s: try again later", s.p.DraftSaves, s.p.DraftWindow)}
	}
	return nil
}

// writeDraft answers with the draft view of rv.
func (s *Service) writeDraft(w http.ResponseWriter, r *http.Request, rv storage.Review, sc storage.Scheme, t Target) error {
	v, err := s.draftView(r, rv, sc, t)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) handleDraft(w http.ResponseWriter, r *http.Request) error {
	x, sc, t, err := s.mine(r)
	if err != nil {
		return err
	}
	rv, err := s.p.Store.GetReview(r.Context(), x.ID)
	if err != nil {
		return err
	}
	return s.writeDraft(w, r, rv, sc, t)
}

func (s *Service) handleSaveDraft(w http.ResponseWriter, r *http.Request) error {
	x, sc, t, err := s.mine(r)
	if err != nil {
		return err
	}
	if err := s.limitDraft(r.Context(), x.ExpertID); err != nil {
		return err
	}
	var b storage.ReviewBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := checkBody(sc, t, &b); err != nil {
		return err
	}
	rv, err := s.p.Store.SaveReviewDraft(r.Context(), x.ID, b)
	if err != nil {
		return err
	}
	return s.writeDraft(w, r, rv, sc, t)
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request) error {
	x, sc, t, err := s.mine(r)
	if err != nil {
		return err
	}
	// The body is optional: without one, the saved draft is submitted.
	var b storage.ReviewBody
	if r.ContentLength != 0 {
		if err := decode(w, r, &b); err != nil {
			return err
		}
	}
	if b.Scores == nil && b.Notes == nil && b.Strengths == "" && b.Improve == "" {
		rv, err := s.p.Store.GetReview(r.Context(), x.ID)
		if err != nil {
			return err
		}
		b = rv.Body
	}
	rv, res, err := s.Submit(r.Context(), httpapi.Actor(r), x, sc, t, b)
	if err != nil {
		return err
	}
	v, err := s.draftView(r, rv, sc, t)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"review": v.Review, "scheme": v.Scheme, "target": v.Target,
		"reflection": v.Reflection, "calibration": res})
	return nil
}

// --- reading reviews ---

// oversees reports whether u reads or manages the reviews of a place:
// the scope every admin and reader route checks beside the teacher's own.
func oversees(u *storage.User, district storage.DistrictID, school storage.SchoolID) bool {
	return authz.ScopeOf(u, authz.ReviewRead).Covers(district, school) || authz.ScopeOf(u, authz.ReviewManage).Covers(district, school)
}

// anonymous is a review as the teacher of its target sees it: without the expert.
func anonymous(rv storage.Review) storage.Review {
	rv.ExpertID, rv.ExpertName, rv.AssignedBy = 0, "", 0
	return rv
}

func (s *Service) handleReview(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	rv, err := s.p.Store.GetReview(r.Context(), storage.AssignmentID(id))
	if err != nil {
		return err
	}
	u := me(r)
	switch {
	case oversees(u, rv.DistrictID, rv.SchoolID):
	case can(r, authz.ReviewOwn) && rv.TeacherID == u.ID && rv.CalibrationID == 0:
		if rv.Status != storage.AssignmentSubmitted {
			return httpapi.ErrNotFound
		}
		rv = anonymous(rv)
	default:
		return httpapi.ErrForbidden
	}
	httpapi.WriteJSON(w, http.StatusOK, rv)
	return nil
}

func (s *Service) handleReopen(w http.ResponseWriter, r *http.Request) error {
	x, err := s.assignment(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.ReviewManage, httpapi.Place{District: x.DistrictID, School: x.SchoolID}); err != nil {
		return err
	}
	var b struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	rv, err := s.p.Store.ReopenReview(r.Context(), httpapi.Actor(r), x.ID, b.Reason)
	if err != nil {
		return err
	}
	s.p.Logger.Info("review reopened", "assignment", x.ID, "by", me(r).ID)
	httpapi.WriteJSON(w, http.StatusOK, rv)
	return nil
}

// handleRate: the teacher of the lesson rates how useful a submitted review was.
func (s *Service) handleRate(w http.ResponseWriter, r *http.Request) error {
	x, err := s.assignment(r)
	if err != nil {
		return err
	}
	if x.TeacherID != me(r).ID || x.CalibrationID != 0 {
		return httpapi.ErrForbidden
	}
	var b struct {
		Score int `json:"score"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	rv, err := s.p.Store.RateReview(r.Context(), httpapi.Actor(r), x.ID, b.Score)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, anonymous(rv))
	return nil
}

// targetView is a target with what the caller may see of its reviews.
type targetView struct {
	Target     Target             `json:"target"`
	Reflection storage.Reflection `json:"reflection"`
	Reviews    []storage.Review   `json:"reviews"`
	Aggregates []Aggregate        `json:"aggregates"`
	// Hidden counts reviews of a blind scheme not shown yet.
	Hidden int `json:"hidden"`
}

// targetParam reads and resolves the {target} path parameter.
func (s *Service) targetParam(r *http.Request) (Target, error) {
	raw := r.PathValue("target")
	if _, _, ok := storage.ParseTarget(raw); !ok {
		return Target{}, httpapi.ErrNotFound
	}
	return s.target(r.Context(), raw)
}

func (s *Service) handleTarget(w http.ResponseWriter, r *http.Request) error {
	t, err := s.targetParam(r)
	if err != nil {
		return err
	}
	u := me(r)
	all, err := s.p.Store.ListReviews(r.Context(), storage.AssignmentFilter{Target: t.Target})
	if err != nil {
		return err
	}
	v := targetView{Target: t, Reviews: []storage.Review{}, Aggregates: []Aggregate{}}
	var shown []storage.Review
	switch {
	case oversees(u, t.DistrictID, t.SchoolID):
		shown = all
	case can(r, authz.ReviewOwn) && t.TeacherID == u.ID:
		for _, rv := range all {
			if rv.Status == storage.AssignmentSubmitted && rv.CalibrationID == 0 {
				shown = append(shown, anonymous(rv))
			}
		}
	case can(r, authz.ReviewScore):
		if _, err := httpapi.Authorize(r, authz.ReviewScore, place(t)); err != nil {
			return err
		}
		as, err := s.p.Store.ListAssignments(r.Context(), storage.AssignmentFilter{Target: t.Target, ExpertID: u.ID})
		if err != nil {
			return err
		}
		if len(as) == 0 {
			return httpapi.ErrForbidden // only experts assigned the target read its reviews
		}
		shown, v.Hidden, err = s.visibleToExpert(r, u.ID, all)
		if err != nil {
			return err
		}
	default:
		return httpapi.ErrForbidden
	}
	if v.Reflection, err = s.p.Store.GetReflection(r.Context(), t.Target); err != nil {
		return err
	}
	bySchema := map[storage.SchemeID][]storage.Review{}
	var order []storage.SchemeID
	for _, rv := range shown {
		if rv.CalibrationID != 0 {
			continue
		}
		if _, ok := bySchema[rv.SchemeID]; !ok {
			order = append(order, rv.SchemeID)
		}
		bySchema[rv.SchemeID] = append(bySchema[rv.SchemeID], rv)
	}
	for _, id := range order {
		sc, err := s.p.Store.GetScheme(r.Context(), id)
		if err != nil {
			return err
		}
		v.Aggregates = append(v.Aggregates, aggregate(sc, bySchema[id]))
	}
	v.Reviews = append(v.Reviews, shown...)
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// visibleToExpert: an expert sees their own reviews; others' of a scheme
// that is not blind; of a blind scheme only once every review of the same
// scheme and round of the target is submitted (theirs included).
// Calibration reviews are never shown to other experts.
func (s *Service) visibleToExpert(r *http.Request, expert storage.UserID, all []storage.Review) ([]storage.Review, int, error) {
	var out []storage.Review
	hidden := 0
	blind := map[storage.SchemeID]bool{}
	for _, rv := range all {
		if _, ok := blind[rv.SchemeID]; !ok {
			sc, err := s.p.Store.GetScheme(r.Context(), rv.SchemeID)
			if err != nil {
				return nil, 0, err
			}
			blind[rv.SchemeID] = sc.Blind
		}
	}
	// every assignment (not just started ones) decides "all submitted"
	settled := func(scheme storage.SchemeID, round string) (bool, error) {
		as, err := s.p.Store.ListAssignments(r.Context(), storage.AssignmentFilter{Target: all[0].Target, SchemeID: scheme, Round: &round})
		if err != nil {
			return false, err
		}
		mine := false
		for _, x := range as {
			if x.Status != storage.AssignmentSubmitted {
				return false, nil
			}
			mine = mine || x.ExpertID == expert
		}
		return mine, nil
	}
	for _, rv := range all {
		switch {
		case rv.ExpertID == expert:
			out = append(out, rv)
		case rv.CalibrationID != 0 || rv.Status != storage.AssignmentSubmitted:
		case !blind[rv.SchemeID]:
			out = append(out, rv)
		default:
			ok, err := settled(rv.SchemeID, rv.Round)
			if err != nil {
				return nil, 0, err
			}
			if ok {
				out = append(out, rv)
			} else {
				hidden++
			}
		}
	}
	return out, hidden, nil
}

func (s *Service) handleReflect(w http.ResponseWriter, r *http.Request) error {
	t, err := s.targetParam(r)
	if err != nil {
		return err
	}
	if t.TeacherID != me(r).ID {
		return httpapi.ErrForbidden
	}
	var b struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	ref, err := s.p.Store.SetReflection(r.Context(), httpapi.Actor(r), storage.Reflection{Target: t.Target, TeacherID: t.TeacherID, Text: b.Text},
		t.DistrictID, t.SchoolID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ref)
	return nil
}

// statusItem is the status of one review of the teacher's own lesson.
type statusItem struct {
	ID          storage.AssignmentID `json:"id"`
	Target      string               `json:"target"`
	Title       string               `json:"title"`
	SchemeID    storage.SchemeID     `json:"scheme_id"`
	Round       string               `json:"round"`
	Status      string               `json:"status"`
	DueAt       time.Time            `json:"due_at,omitzero"`
	Overdue     bool                 `json:"overdue"`
	SubmittedAt time.Time            `json:"submitted_at,omitzero"`
}

func (s *Service) handleMine(w http.ResponseWriter, r *http.Request) error {
	as, err := s.p.Store.ListAssignments(r.Context(), storage.AssignmentFilter{TeacherID: me(r).ID})
	if err != nil {
		return err
	}
	now := s.p.Now()
	titles := map[string]string{}
	out := []statusItem{}
	for _, x := range as {
		if x.CalibrationID != 0 {
			continue
		}
		if _, ok := titles[x.Target]; !ok {
			if t, err := s.target(r.Context(), x.Target); err == nil {
				titles[x.Target] = t.Title
			}
		}
		out = append(out, statusItem{ID: x.ID, Target: x.Target, Title: titles[x.Target], SchemeID: x.SchemeID, Round: x.Round,
			Status: x.Status, DueAt: x.DueAt, Overdue: overdue(x, now), SubmittedAt: x.SubmittedAt})
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[statusItem]{Items: out})
	return nil
}

// --- calibration ---

func (s *Service) handleCreateCalibration(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		SchemeID storage.SchemeID      `json:"scheme_id"`
		Target   string                `json:"target"`
		Round    string                `json:"round"`
		Master   []storage.ReviewScore `json:"master"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	sc, t, err := s.assignable(r, assignBody{SchemeID: b.SchemeID, Target: b.Target})
	if err != nil {
		return err
	}
	body := storage.ReviewBody{Scores: b.Master}
	if err := checkBody(sc, t, &body); err != nil {
		return err
	}
	if !complete(sc, body) {
		return httpapi.Invalid("master", "score every criterion of the scheme")
	}
	c, err := s.p.Store.CreateCalibration(r.Context(), httpapi.Actor(r), storage.Calibration{SchemeID: sc.ID, DistrictID: t.DistrictID,
		Target: t.Target, Round: b.Round, Master: b.Master})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, c)
	return nil
}

// calibration loads a calibration clip whose target the caller may read.
func (s *Service) calibration(r *http.Request) (storage.Calibration, Target, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Calibration{}, Target{}, err
	}
	c, err := s.p.Store.GetCalibration(r.Context(), storage.CalibrationID(id))
	if err != nil {
		return c, Target{}, err
	}
	t, err := s.target(r.Context(), c.Target)
	if err != nil {
		return c, t, err
	}
	u := me(r)
	if !oversees(u, t.DistrictID, t.SchoolID) {
		return c, t, httpapi.ErrForbidden
	}
	return c, t, nil
}

func (s *Service) handleCalibration(w http.ResponseWriter, r *http.Request) error {
	c, _, err := s.calibration(r)
	if err != nil {
		return err
	}
	res, err := s.p.Store.CalibrationResults(r.Context(), c.ID, 0)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"calibration": c, "results": res, "pass_agreement": s.p.PassAgreement})
	return nil
}

func (s *Service) handleAssignCalibration(w http.ResponseWriter, r *http.Request) error {
	c, t, err := s.calibration(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.ReviewManage, place(t)); err != nil {
		return err
	}
	var b assignBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if len(b.ExpertIDs) == 0 || len(b.ExpertIDs) > 50 {
		return httpapi.Invalid("expert_ids", "one to 50 experts")
	}
	sc, err := s.p.Store.GetScheme(r.Context(), c.SchemeID)
	if err != nil {
		return err
	}
	b.Round = "calibration-" + strconv.FormatInt(int64(c.ID), 10)
	var ins []storage.AssignmentInput
	for _, id := range b.ExpertIDs {
		e, err := s.p.Store.GetUser(r.Context(), id)
		if err != nil {
			if isNotFound(err) {
				return httpapi.Invalid("expert_ids", "no such user")
			}
			return err
		}
		if why := eligible(e, t); why != "" {
			return httpapi.Invalid("expert_ids", e.Name+": "+why)
		}
		ins = append(ins, s.input(sc, t, b, id, c.ID))
	}
	out, err := s.p.Store.CreateAssignments(r.Context(), httpapi.Actor(r), ins)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, httpapi.Items[storage.Assignment]{Items: out})
	return nil
}

func (s *Service) handleMyCalibrations(w http.ResponseWriter, r *http.Request) error {
	res, err := s.p.Store.CalibrationResults(r.Context(), 0, me(r).ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": res, "pass_agreement": s.p.PassAgreement})
	return nil
}

// calibrationItem is a calibration clip with its target and the agreements
// kept for it.
type calibrationItem struct {
	Calibration storage.Calibration         `json:"calibration"`
	Target      Target                      `json:"target"`
	Results     []storage.CalibrationResult `json:"results"`
}

// handleCalibrations lists calibration clips, newest first, with each
// expert's agreement with the master. Administrators and readers see the
// clips whose recording is in their scope with every expert's result; an
// expert sees the clips assigned to them (whose recording is still in
// their scope) with their own result only.
func (s *Service) handleCalibrations(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	over := !authz.ScopeOf(u, authz.ReviewRead).Empty() || !authz.ScopeOf(u, authz.ReviewManage).Empty()
	var cals []storage.Calibration
	var err error
	expert := storage.UserID(0)
	if over {
		district := u.DistrictID
		if authz.ScopeOf(u, authz.ReviewRead).All || authz.ScopeOf(u, authz.ReviewManage).All {
			district = 0
		}
		cals, err = s.p.Store.ListCalibrations(r.Context(), district, nil, 100)
	} else {
		expert = u.ID
		var as []storage.Assignment
		if as, err = s.p.Store.ListAssignments(r.Context(), storage.AssignmentFilter{ExpertID: u.ID, Limit: 500}); err != nil {
			return err
		}
		// The clips assigned to the expert: scored (their results kept) or not yet.
		var done []storage.CalibrationResult
		if done, err = s.p.Store.CalibrationResults(r.Context(), 0, u.ID); err != nil {
			return err
		}
		ids := []storage.CalibrationID{}
		for _, x := range as {
			if x.CalibrationID != 0 && !slices.Contains(ids, x.CalibrationID) {
				ids = append(ids, x.CalibrationID)
			}
		}
		for _, d := range done {
			if !slices.Contains(ids, d.CalibrationID) {
				ids = append(ids, d.CalibrationID)
			}
		}
		if len(ids) > 0 {
			cals, err = s.p.Store.ListCalibrations(r.Context(), 0, ids, 100)
		}
	}
	if err != nil {
		return err
	}
	out := []calibrationItem{}
	for _, c := range cals {
		t, err := s.target(r.Context(), c.Target)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err != nil || over && !oversees(u, t.DistrictID, t.SchoolID) ||
			!over && !authz.ScopeOf(u, authz.ReviewScore).Covers(t.DistrictID, t.SchoolID) {
			continue // a clip whose recording is gone or outside the caller's scope
		}
		res, err := s.p.Store.CalibrationResults(r.Context(), c.ID, expert)
		if err != nil {
			return err
		}
		out = append(out, calibrationItem{Calibration: c, Target: t, Results: res})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": out, "pass_agreement": s.p.PassAgreement})
	return nil
}
