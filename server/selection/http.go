package selection

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Routes are the selection, library and consent routes. The route's
// actions are the role check; every handler then checks the scope of the
// round, lesson, recording or school it touches.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	manage, nominate, library := authz.SelectionManage, authz.SelectionNominate, authz.LibraryRead
	return []httpapi.Route{
		{Method: "GET", Path: "/selection/rounds", Actions: a(manage, nominate), Handle: s.handleRounds},
		{Method: "POST", Path: "/selection/rounds", Actions: a(manage), Handle: s.handleCreateRound},
		{Method: "GET", Path: "/selection/rounds/{id}", Actions: a(manage, nominate), Handle: s.handleRound},
		{Method: "POST", Path: "/selection/rounds/{id}/entries", Actions: a(nominate), Handle: s.handleNominate},
		{Method: "DELETE", Path: "/selection/rounds/{id}/entries/{entry_id}", Actions: a(nominate, manage), Handle: s.handleWithdraw},
		{Method: "PUT", Path: "/selection/rounds/{id}/selection", Actions: a(manage), Handle: s.handleSelect},
		{Method: "POST", Path: "/selection/rounds/{id}/publish", Actions: a(manage), Handle: s.handlePublish},
		{Method: "GET", Path: "/library", Actions: a(library), Handle: s.handleLibrary},
		{Method: "GET", Path: "/library/{id}", Actions: a(library), Handle: s.handleLesson},
		{Method: "GET", Path: "/library/{id}/tracks/{track_id}/media", Actions: a(library), Handle: s.handleMedia},
		{Method: "POST", Path: "/library/{id}/plays", Actions: a(library), Handle: s.handlePlay},
		{Method: "POST", Path: "/library/{id}/withdraw", Actions: a(manage), Handle: s.handleWithdrawLesson},
		{Method: "POST", Path: "/library/{id}/republish", Actions: a(manage), Handle: s.handleRepublish},
		{Method: "GET", Path: "/schools/{id}/consent", Actions: a(authz.ConsentManage, manage), Handle: s.handleConsent},
		{Method: "PUT", Path: "/schools/{id}/consent", Actions: a(authz.ConsentManage), Handle: s.handleSetConsent},
	}
}

func me(r *http.Request) *storage.User { return &httpapi.PrincipalFrom(r.Context()).User }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// Round phases, from its status and deadlines.
const (
	PhaseNominating = "nominating"
	PhaseReviewing  = "reviewing"
	PhaseSelecting  = "selecting"
	PhasePublished  = "published"
)

func phase(r storage.SelectionRound, now time.Time) string {
	switch {
	case r.Status == storage.RoundPublished:
		return PhasePublished
	case now.Before(r.NominateBy):
		return PhaseNominating
	case now.Before(r.ReviewBy):
		return PhaseReviewing
	}
	return PhaseSelecting
}

type expertRef struct {
	ID   storage.UserID `json:"id"`
	Name string         `json:"name"`
}

type roundView struct {
	storage.SelectionRound
	Phase      string      `json:"phase"`
	SchemeName string      `json:"scheme_name"`
	Experts    []expertRef `json:"experts"`
	// Entries are the shortlist for the district; a school administrator
	// sees their own school's entries only.
	Entries []Ranked `json:"entries,omitempty"`
	// SchoolEntries is how many entries the caller's school has nominated
	// (school administrators).
	SchoolEntries *int `json:"school_entries,omitempty"`
}

// manages reports whether the caller runs rounds of district d.
func manages(u *storage.User, d storage.DistrictID) bool {
	return authz.ScopeOf(u, authz.SelectionManage).Covers(d, 0)
}

// nominates reports whether the caller nominates to rounds of district d.
func nominates(u *storage.User, d storage.DistrictID) bool {
	return !authz.ScopeOf(u, authz.SelectionNominate).Empty() && u.DistrictID != 0 && u.DistrictID == d
}

// round loads the round of the path; a caller who neither runs nor
// nominates to rounds of its district gets 403.
func (s *Service) round(r *http.Request) (storage.SelectionRound, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.SelectionRound{}, err
	}
	rd, err := s.p.Store.GetSelectionRound(r.Context(), storage.SelectionRoundID(id))
	if err != nil {
		return rd, err
	}
	if u := me(r); !manages(u, rd.DistrictID) && !nominates(u, rd.DistrictID) {
		return rd, httpapi.ErrForbidden
	}
	return rd, nil
}

func (s *Service) view(r *http.Request, rd storage.SelectionRound, withEntries bool) (roundView, error) {
	ctx := r.Context()
	u := me(r)
	v := roundView{SelectionRound: rd, Phase: phase(rd, s.p.Now()), Experts: []expertRef{}}
	if sc, err := s.p.Store.GetScheme(ctx, rd.SchemeID); err == nil {
		v.SchemeName = sc.Name
	}
	// The list leaves the experts' names out (expert_ids has them).
	for _, id := range rd.Experts {
		if !withEntries {
			break
		}
		name := ""
		if x, err := s.p.Store.GetUser(ctx, id); err == nil {
			name = x.Name
		}
		v.Experts = append(v.Experts, expertRef{id, name})
	}
	if !withEntries && manages(u, rd.DistrictID) {
		return v, nil
	}
	entries, err := s.p.Store.ListSelectionEntries(ctx, rd.ID)
	if err != nil {
		return v, err
	}
	if !manages(u, rd.DistrictID) {
		entries = slices.DeleteFunc(entries, func(e storage.SelectionEntry) bool { return e.SchoolID != u.SchoolID || u.SchoolID == 0 })
		n := len(entries)
		v.SchoolEntries = &n
		if !withEntries {
			return v, nil
		}
	}
	rr := rd.ReviewRound()
	xs, err := s.p.Store.ListAssignments(ctx, storage.AssignmentFilter{Round: &rr, SchemeID: rd.SchemeID, DistrictID: rd.DistrictID})
	if err != nil {
		return v, err
	}
	v.Entries = Shortlist(entries, xs, s.p.Now())
	return v, nil
}

func (s *Service) handleRounds(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	d := u.DistrictID
	sc := authz.ScopeOf(u, authz.SelectionManage)
	if sc.All {
		f := httpapi.Fields{}
		d = storage.DistrictID(httpapi.QueryID(r, "district_id", f))
		if err := f.Err(); err != nil {
			return err
		}
	} else if sc.District != 0 {
		d = sc.District
	}
	if d == 0 && !sc.All {
		httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[roundView]{Items: []roundView{}})
		return nil
	}
	rs, err := s.p.Store.ListSelectionRounds(r.Context(), d)
	if err != nil {
		return err
	}
	out := make([]roundView, 0, len(rs))
	for _, rd := range rs {
		v, err := s.view(r, rd, false)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[roundView]{Items: out})
	return nil
}

type roundBody struct {
	DistrictID storage.DistrictID `json:"district_id"`
	Name       string             `json:"name"`
	SubjectID  storage.SubjectID  `json:"subject_id"`
	Grade      int                `json:"grade"`
	SchemeID   storage.SchemeID   `json:"scheme_id"`
	ExpertIDs  []storage.UserID   `json:"expert_ids"`
	PerSchool  int                `json:"per_school"`
	NominateBy time.Time          `json:"nominate_by"`
	ReviewBy   time.Time          `json:"review_by"`
}

func (s *Service) handleCreateRound(w http.ResponseWriter, r *http.Request) error {
	var b roundBody
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	ctx := r.Context()
	u := me(r)
	sc := authz.ScopeOf(u, authz.SelectionManage)
	if !sc.All {
		if b.DistrictID != 0 && b.DistrictID != sc.District {
			return httpapi.ErrForbidden
		}
		b.DistrictID = sc.District
	}
	f := httpapi.Fields{}
	if b.DistrictID == 0 {
		f.Add("district_id", "is required")
	}
	if b.Grade < 0 || b.Grade > 12 {
		f.Add("grade", "1–12, or 0 for any grade")
	}
	if len(b.ExpertIDs) == 0 || len(b.ExpertIDs) > storage.MaxRoundExperts {
		f.Add("expert_ids", "choose 1 to 50 experts")
	}
	if b.NominateBy.IsZero() || !b.NominateBy.After(s.p.Now()) {
		f.Add("nominate_by", "a time in the future")
	}
	if b.ReviewBy.Before(b.NominateBy) {
		f.Add("review_by", "not before the nomination deadline")
	}
	if err := f.Err(); err != nil {
		return err
	}
	scheme, err := s.p.Store.GetScheme(ctx, b.SchemeID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && scheme.DistrictID != 0 && scheme.DistrictID != b.DistrictID) {
		return httpapi.Invalid("scheme_id", "no such scheme in this district")
	}
	if err != nil {
		return err
	}
	seen := map[storage.UserID]bool{}
	for _, id := range b.ExpertIDs {
		if seen[id] {
			return httpapi.Invalid("expert_ids", "an expert is listed twice")
		}
		seen[id] = true
		x, err := s.p.Store.GetUser(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return httpapi.Invalid("expert_ids", "no such expert: "+itoa(int64(id)))
		}
		if err != nil {
			return err
		}
		// The round's experts review every school's entries: only active
		// experts whose scope is the whole district.
		if !x.Active || !x.Has(storage.RoleExpert) || x.DistrictID != b.DistrictID || !x.ExpertScope.District {
			return httpapi.Invalid("expert_ids", x.Name+" is not an active expert of the whole district")
		}
	}
	rd, err := s.p.Store.CreateSelectionRound(ctx, httpapi.Actor(r), storage.SelectionRound{DistrictID: b.DistrictID, Name: b.Name,
		SubjectID: b.SubjectID, Grade: b.Grade, SchemeID: b.SchemeID, Experts: b.ExpertIDs, PerSchool: b.PerSchool,
		NominateBy: b.NominateBy, ReviewBy: b.ReviewBy})
	if err != nil {
		return err
	}
	s.p.Logger.Info("selection round created", "round", rd.ID, "district", rd.DistrictID)
	v, err := s.view(r, rd, true)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Service) handleRound(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.round(r)
	if err != nil {
		return err
	}
	v, err := s.view(r, rd, true)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

var errNominationClosed = &httpapi.Error{Status: http.StatusConflict, Code: "closed", Message: "nominations to this round have closed"}

type nominateBody struct {
	RecordingID storage.RecordingID `json:"recording_id"`
}

func (s *Service) handleNominate(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.round(r)
	if err != nil {
		return err
	}
	u := me(r)
	if !nominates(u, rd.DistrictID) {
		return httpapi.ErrForbidden
	}
	var b nominateBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.RecordingID <= 0 {
		return httpapi.Invalid("recording_id", "is required")
	}
	ctx := r.Context()
	rec, err := s.p.Store.GetRecording(ctx, b.RecordingID)
	if err != nil {
		return err
	}
	if rec.Status == storage.RecordingDeleted {
		return httpapi.ErrNotFound
	}
	// Only a recording of the caller's own school, in the round's district.
	if !authz.ScopeOf(u, authz.SelectionNominate).Covers(rec.DistrictID, rec.SchoolID) || rec.SchoolID == 0 || rec.DistrictID != rd.DistrictID {
		return httpapi.ErrForbidden
	}
	switch {
	case rec.Kind != storage.RecordingClass:
		return httpapi.Invalid("recording_id", "only class recordings can be nominated")
	case rec.Status != storage.RecordingReady:
		return httpapi.Invalid("recording_id", "the recording is not finished")
	case rd.SubjectID != 0 && rec.SubjectID != rd.SubjectID:
		return httpapi.Invalid("recording_id", "not a lesson of the round's subject")
	case rd.Grade != 0 && rec.Grade != rd.Grade:
		return httpapi.Invalid("recording_id", "not a lesson of the round's grade")
	}
	if rd.Status != storage.RoundOpen || !s.p.Now().Before(rd.NominateBy) {
		return errNominationClosed
	}
	var assign []storage.AssignmentInput
	for _, e := range rd.Experts {
		if e == rec.TeacherID {
			continue // never one's own lesson
		}
		assign = append(assign, storage.AssignmentInput{SchemeID: rd.SchemeID, Target: target(rec.ID), Round: rd.ReviewRound(),
			ExpertID: e, TeacherID: rec.TeacherID, DistrictID: rec.DistrictID, SchoolID: rec.SchoolID, SubjectID: rec.SubjectID, DueAt: rd.ReviewBy})
	}
	e, err := s.p.Store.Nominate(ctx, httpapi.Actor(r), rd, rec, assign)
	if errors.Is(err, storage.ErrClosed) {
		return errNominationClosed
	}
	if err != nil {
		return err
	}
	s.p.Logger.Info("recording nominated", "round", rd.ID, "recording", rec.ID, "school", rec.SchoolID)
	httpapi.WriteJSON(w, http.StatusCreated, e)
	return nil
}

// handleWithdraw takes a nomination back: its school's admin before the
// nomination deadline, the district while the round is open; never once
// one of its experts has started reviewing it.
func (s *Service) handleWithdraw(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.round(r)
	if err != nil {
		return err
	}
	eid, err := httpapi.PathID(r, "entry_id")
	if err != nil {
		return err
	}
	entries, err := s.p.Store.ListSelectionEntries(r.Context(), rd.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(e storage.SelectionEntry) bool { return int64(e.ID) == eid })
	if i < 0 {
		return httpapi.ErrNotFound
	}
	u := me(r)
	if !manages(u, rd.DistrictID) {
		if !authz.ScopeOf(u, authz.SelectionNominate).Covers(rd.DistrictID, entries[i].SchoolID) {
			return httpapi.ErrForbidden
		}
		if !s.p.Now().Before(rd.NominateBy) {
			return errNominationClosed
		}
	}
	err = s.p.Store.WithdrawEntry(r.Context(), httpapi.Actor(r), rd, entries[i].ID)
	if errors.Is(err, storage.ErrClosed) {
		return &httpapi.Error{Status: http.StatusConflict, Code: "closed", Message: "this entry is under review or the round is published"}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type selectBody struct {
	EntryIDs []storage.SelectionEntryID `json:"entry_ids"`
}

var errPublished = &httpapi.Error{Status: http.StatusConflict, Code: "closed", Message: "this round is published and can no longer be changed"}

// managed loads the round of the path for its district's administrators.
func (s *Service) managed(r *http.Request) (storage.SelectionRound, error) {
	rd, err := s.round(r)
	if err != nil {
		return rd, err
	}
	if !manages(me(r), rd.DistrictID) {
		return rd, httpapi.ErrForbidden
	}
	return rd, nil
}

func (s *Service) handleSelect(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.managed(r)
	if err != nil {
		return err
	}
	var b selectBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if len(b.EntryIDs) > 500 {
		return httpapi.Invalid("entry_ids", "at most 500")
	}
	if rd.Status != storage.RoundOpen {
		return errPublished
	}
	v, err := s.view(r, rd, true)
	if err != nil {
		return err
	}
	for _, id := range b.EntryIDs {
		i := slices.IndexFunc(v.Entries, func(e Ranked) bool { return e.ID == id })
		if i < 0 {
			return httpapi.Invalid("entry_ids", "no entry "+itoa(int64(id))+" in this round")
		}
		if v.Entries[i].Reviews == 0 {
			return httpapi.Invalid("entry_ids", "entry "+itoa(int64(id))+" has no submitted review yet")
		}
	}
	if err := s.p.Store.SetSelection(r.Context(), httpapi.Actor(r), rd, b.EntryIDs); err != nil {
		if errors.Is(err, storage.ErrClosed) {
			return errPublished
		}
		return err
	}
	if v, err = s.view(r, rd, true); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) handlePublish(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.managed(r)
	if err != nil {
		return err
	}
	if rd.Status != storage.RoundOpen {
		return errPublished
	}
	v, err := s.view(r, rd, true)
	if err != nil {
		return err
	}
	var lessons []storage.LibraryLesson
	for _, e := range v.Entries {
		if !e.Selected {
			continue
		}
		rec, err := s.p.Store.GetRecording(r.Context(), e.RecordingID)
		if err != nil {
			return err
		}
		if rec.Status == storage.RecordingDeleted {
			continue
		}
		lessons = append(lessons, storage.LibraryLesson{RecordingID: rec.ID, DistrictID: rd.DistrictID, SchoolID: rec.SchoolID,
			TeacherID: rec.TeacherID, SubjectID: rec.SubjectID, Grade: rec.Grade, Title: rec.Title, Score: e.Mean, Reviews: e.Reviews})
	}
	if len(lessons) == 0 {
		return httpapi.Invalid("entry_ids", "select at least one entry before publishing")
	}
	ids, err := s.p.Store.PublishRound(r.Context(), httpapi.Actor(r), rd, lessons)
	if errors.Is(err, storage.ErrClosed) {
		return errPublished
	}
	if err != nil {
		return err
	}
	s.p.Logger.Info("selection round published", "round", rd.ID, "lessons", len(ids))
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"lesson_ids": httpapi.NonNil(ids)})
	return nil
}

// ---- the library

// Versions of a library lesson.
const (
	VersionTeacherOnly = storage.VersionTeacherOnly
	VersionFull        = storage.VersionFull
)

// lessonView is a library lesson as one viewer may see it.
type lessonView struct {
	storage.LibraryLesson
	// Version is what this viewer gets: the teacher-only version, or the
	// full one where the school consented or the viewer may read the
	// recording itself.
	Version       string `json:"version"`
	FullAvailable bool   `json:"full_available"`
}

type trackView struct {
	storage.RecordingTrack
	URL string `json:"url"`
}

type lessonDetail struct {
	lessonView
	StartedAt    time.Time                      `json:"started_at"`
	Participants []storage.RecordingParticipant `json:"participants"`
	Tracks       []trackView                    `json:"tracks"`
}

// visible reports whether u sees lessons of district d: everybody of the
// district, and whoever's scope covers every district.
func visible(u *storage.User, d storage.DistrictID) bool {
	return authz.ScopeOf(u, authz.LibraryRead).All || (u.DistrictID != 0 && u.DistrictID == d)
}

// fullFor reports whether u may watch l in full: its school consented, or
// u may read the recording itself (its teacher, experts and administrators
// in scope) — the library never shows more than the recording routes would.
func fullFor(u *storage.User, l storage.LibraryLesson, consent bool) bool {
	if consent {
		return true
	}
	if l.TeacherID == u.ID && !authz.ScopeOf(u, authz.RecordingOwn).Empty() {
		return true
	}
	return authz.ScopeOf(u, authz.RecordingRead).Covers(l.DistrictID, l.SchoolID)
}

type consentCache struct {
	s *Service
	m map[storage.SchoolID]bool
}

func (c *consentCache) granted(r *http.Request, school storage.SchoolID) (bool, error) {
	if v, ok := c.m[school]; ok {
		return v, nil
	}
	sc, err := c.s.p.Store.GetSchoolConsent(r.Context(), school)
	if err != nil {
		return false, err
	}
	c.m[school] = sc.Granted
	return sc.Granted, nil
}

func (s *Service) lessonView(r *http.Request, l storage.LibraryLesson, cc *consentCache) (lessonView, error) {
	consent, err := cc.granted(r, l.SchoolID)
	if err != nil {
		return lessonView{}, err
	}
	v := lessonView{LibraryLesson: l, Version: VersionTeacherOnly, FullAvailable: fullFor(me(r), l, consent)}
	if v.FullAvailable {
		v.Version = VersionFull
	}
	return v, nil
}

func (s *Service) handleLibrary(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	q := r.URL.Query()
	f := httpapi.Fields{}
	filter := storage.LibraryFilter{DistrictID: u.DistrictID}
	if authz.ScopeOf(u, authz.LibraryRead).All {
		filter.DistrictID = storage.DistrictID(httpapi.QueryID(r, "district_id", f))
	} else if u.DistrictID == 0 {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": []lessonView{}, "total": 0})
		return nil
	}
	filter.SubjectID = storage.SubjectID(httpapi.QueryID(r, "subject_id", f))
	filter.KnowledgePointID = storage.KnowledgePointID(httpapi.QueryID(r, "knowledge_point_id", f))
	if v := q.Get("grade"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 12 {
			f.Add("grade", "must be 1–12")
		}
		filter.Grade = n
	}
	filter.Query = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(filter.Query) > 100 {
		f.Add("q", "at most 100 characters")
	}
	filter.Limit, filter.Offset = httpapi.ListPage(r, f)
	switch q.Get("withdrawn") {
	case "", "false":
	case "true":
		filter.Withdrawn = true
	default:
		f.Add("withdrawn", "true or false")
	}
	if err := f.Err(); err != nil {
		return err
	}
	// The withdrawn lessons are the district administrators' to see.
	if filter.Withdrawn && !manages(u, filter.DistrictID) {
		return httpapi.ErrForbidden
	}
	ls, total, err := s.p.Store.ListLibrary(r.Context(), filter)
	if err != nil {
		return err
	}
	cc := &consentCache{s: s, m: map[storage.SchoolID]bool{}}
	out := make([]lessonView, 0, len(ls))
	for _, l := range ls {
		v, err := s.lessonView(r, l, cc)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": out, "total": total})
	return nil
}

// lesson loads the lesson of the path with its recording; a lesson of
// another district, a withdrawn one, or one of a deleted recording is 404.
func (s *Service) lesson(r *http.Request) (lessonView, storage.Recording, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return lessonView{}, storage.Recording{}, err
	}
	l, err := s.p.Store.GetLibraryLesson(r.Context(), storage.LibraryLessonID(id))
	if err != nil {
		return lessonView{}, storage.Recording{}, err
	}
	if !visible(me(r), l.DistrictID) || l.Withdrawn {
		return lessonView{}, storage.Recording{}, httpapi.ErrNotFound
	}
	rec, err := s.p.Store.GetRecording(r.Context(), l.RecordingID)
	if err != nil {
		return lessonView{}, storage.Recording{}, err
	}
	if rec.Status == storage.RecordingDeleted {
		return lessonView{}, storage.Recording{}, httpapi.ErrNotFound
	}
	v, err := s.lessonView(r, l, &consentCache{s: s, m: map[storage.SchoolID]bool{}})
	return v, rec, err
}

var errTeacherOnly = &httpapi.Error{Status: http.StatusForbidden, Code: "teacher_only",
	Message: "this lesson is shared in its teacher-only version; the full version needs the school's consent"}

func (s *Service) handleLesson(w http.ResponseWriter, r *http.Request) error {
	v, rec, err := s.lesson(r)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("version") {
	case "":
	case VersionFull:
		if !v.FullAvailable {
			return errTeacherOnly
		}
	case VersionTeacherOnly:
		v.Version = VersionTeacherOnly
	default:
		return httpapi.Invalid("version", "teacher_only or full")
	}
	d := lessonDetail{lessonView: v, StartedAt: rec.StartedAt, Tracks: []trackView{}}
	tracks, people := rec.Tracks, httpapi.NonNil(rec.Participants)
	if v.Version == VersionTeacherOnly {
		tracks, people = rec.TeacherTracks(), rec.TeacherParticipants()
	}
	d.Participants = people
	base := httpapi.Prefix + "/library/" + itoa(int64(v.ID)) + "/tracks/"
	for _, t := range tracks {
		if t.Status == storage.TrackFailed {
			continue
		}
		d.Tracks = append(d.Tracks, trackView{t, base + itoa(int64(t.ID)) + "/media"})
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) handleMedia(w http.ResponseWriter, r *http.Request) error {
	v, rec, err := s.lesson(r)
	if err != nil {
		return err
	}
	tid, err := httpapi.PathID(r, "track_id")
	if err != nil {
		return err
	}
	allowed := rec.Tracks
	if !v.FullAvailable {
		allowed = rec.TeacherTracks()
	}
	i := slices.IndexFunc(allowed, func(t storage.RecordingTrack) bool { return int64(t.ID) == tid })
	if i < 0 {
		return httpapi.ErrNotFound // a student's track is not part of this viewer's version
	}
	return s.p.Media.ServeTrack(w, r, rec, allowed[i])
}

func (s *Service) handlePlay(w http.ResponseWriter, r *http.Request) error {
	v, _, err := s.lesson(r)
	if err != nil {
		return err
	}
	counted, plays, err := s.p.Store.CountPlay(r.Context(), httpapi.Actor(r), v.LibraryLesson, me(r).ID, s.p.Now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"counted": counted, "plays": plays})
	return nil
}

// managedLesson loads the lesson of the path, withdrawn or not, for the
// administrators of its district; to anyone else it is 404.
func (s *Service) managedLesson(r *http.Request) (storage.LibraryLesson, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.LibraryLesson{}, err
	}
	l, err := s.p.Store.GetLibraryLesson(r.Context(), storage.LibraryLessonID(id))
	if err != nil {
		return l, err
	}
	if !manages(me(r), l.DistrictID) {
		return l, httpapi.ErrNotFound
	}
	return l, nil
}

func (s *Service) handleWithdrawLesson(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Reason string `json:"reason"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	l, err := s.managedLesson(r)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "reason", &b.Reason, 1, storage.MaxWithdrawReason)
	if err := f.Err(); err != nil {
		return err
	}
	out, err := s.p.Store.WithdrawLesson(r.Context(), httpapi.Actor(r), l.ID, b.Reason)
	if errors.Is(err, storage.ErrClosed) {
		return &httpapi.Error{Status: http.StatusConflict, Code: "closed", Message: "this lesson is withdrawn already"}
	}
	if err != nil {
		return err
	}
	s.p.Logger.Info("library lesson withdrawn", "lesson", l.ID, "by", me(r).ID)
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) handleRepublish(w http.ResponseWriter, r *http.Request) error {
	l, err := s.managedLesson(r)
	if err != nil {
		return err
	}
	out, err := s.p.Store.RepublishLesson(r.Context(), httpapi.Actor(r), l.ID)
	if errors.Is(err, storage.ErrClosed) {
		return &httpapi.Error{Status: http.StatusConflict, Code: "closed", Message: "this lesson is in the library"}
	}
	if err != nil {
		return err
	}
	s.p.Logger.Info("library lesson published again", "lesson", l.ID, "by", me(r).ID)
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ---- consent

func (s *Service) school(r *http.Request) (storage.School, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.School{}, err
	}
	return s.p.Store.GetSchool(r.Context(), storage.SchoolID(id))
}

func (s *Service) handleConsent(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.school(r)
	if err != nil {
		return err
	}
	u := me(r)
	place := httpapi.SchoolPlace(sc)
	if !authz.ScopeOf(u, authz.ConsentManage).Covers(place.District, place.School) &&
		!authz.ScopeOf(u, authz.SelectionManage).Covers(place.District, place.School) {
		return httpapi.ErrForbidden
	}
	c, err := s.p.Store.GetSchoolConsent(r.Context(), sc.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, c)
	return nil
}

type consentBody struct {
	Granted *bool  `json:"granted"`
	Note    string `json:"note"`
}

func (s *Service) handleSetConsent(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.school(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.ConsentManage, httpapi.SchoolPlace(sc)); err != nil {
		return err
	}
	var b consentBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	if b.Granted == nil {
		f.Add("granted", "is required")
	}
	b.Note = strings.TrimSpace(b.Note)
	if b.Granted != nil && *b.Granted && b.Note == "" {
		f.Add("note", "say what the consent rests on (the parents' forms, the date)")
	}
	if utf8.RuneCountInString(b.Note) > storage.MaxConsentNote {
		f.Add("note", "at most 1000 characters")
	}
	if err := f.Err(); err != nil {
		return err
	}
	c, err := s.p.Store.SetSchoolConsent(r.Context(), httpapi.Actor(r), sc.DistrictID, storage.SchoolConsent{SchoolID: sc.ID, Granted: *b.Granted, Note: b.Note})
	if err != nil {
		return err
	}
	s.p.Logger.Info("school consent recorded", "school", sc.ID, "granted", c.Granted)
	httpapi.WriteJSON(w, http.StatusOK, c)
	return nil
}
