package research

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Routes are the teaching research API routes. The route's actions are the
// role check; every handler then checks the caller's part in the group the
// route touches.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	part := a(authz.ResearchTakePart, authz.ResearchManage)
	manage := a(authz.ResearchManage)
	return []httpapi.Route{
		{Method: "GET", Path: "/research/groups", Actions: part, Handle: s.handleGroups},
		{Method: "POST", Path: "/research/groups", Actions: manage, Handle: s.handleCreateGroup},
		{Method: "GET", Path: "/research/groups/{id}", Actions: part, Handle: s.handleGroup},
		{Method: "PATCH", Path: "/research/groups/{id}", Actions: manage, Handle: s.handleEditGroup},
		{Method: "DELETE", Path: "/research/groups/{id}", Actions: manage, Handle: s.handleDeleteGroup},
		{Method: "PUT", Path: "/research/groups/{id}/members", Actions: manage, Handle: s.handleMembers},
		{Method: "POST", Path: "/research/groups/{id}/activities", Actions: part, Handle: s.handleCreateActivity},
		{Method: "GET", Path: "/research/activities/{id}", Actions: part, Handle: s.handleActivity},
		{Method: "POST", Path: "/research/activities/{id}/recordings", Actions: part, Handle: s.handleAddRecording},
		{Method: "GET", Path: "/research/activities/{id}/comments", Actions: part, Handle: s.handleComments},
		{Method: "POST", Path: "/research/activities/{id}/comments", Actions: part, Handle: s.handleComment},
		{Method: "DELETE", Path: "/research/comments/{id}", Actions: part, Handle: s.handleDeleteComment},
	}
}

func me(r *http.Request) *storage.User { return &httpapi.PrincipalFrom(r.Context()).User }

// group loads the group of path id with the caller's part in it; a group
// the caller has no part in is ErrNotFound.
func (s *Service) group(r *http.Request, id storage.ResearchGroupID) (storage.ResearchGroup, string, error) {
	g, err := s.p.Store.GetResearchGroup(r.Context(), id)
	if err != nil {
		return g, "", err
	}
	role, err := s.role(r.Context(), me(r), g)
	if err != nil {
		return g, "", err
	}
	if role == "" {
		return g, "", httpapi.ErrNotFound
	}
	return g, role, nil
}

// activity loads the activity of path id, its group and the caller's part.
func (s *Service) activity(r *http.Request) (storage.ResearchActivity, storage.ResearchGroup, string, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.ResearchActivity{}, storage.ResearchGroup{}, "", err
	}
	act, err := s.p.Store.GetResearchActivity(r.Context(), storage.ResearchActivityID(id))
	if err != nil {
		return act, storage.ResearchGroup{}, "", err
	}
	g, role, err := s.group(r, act.GroupID)
	return act, g, role, err
}

// --- groups

type groupView struct {
	storage.ResearchGroup
	Role string `json:"role"` // admin or member: what the caller is in it
}

func (s *Service) handleGroups(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	sc := authz.ScopeOf(u, authz.ResearchManage)
	gs, err := s.p.Store.ListResearchGroups(r.Context(), storage.ResearchGroupFilter{MemberID: u.ID, ManageAll: sc.All,
		ManageDistrict: sc.District, ManageSchools: sc.Schools})
	if err != nil {
		return err
	}
	out := []groupView{}
	for _, g := range gs {
		role := "member"
		if manages(u, g) {
			role = "admin"
		} else if !eligible(u, g) {
			continue // a member who has left the group's place
		}
		g.Members = nil
		out = append(out, groupView{g, role})
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[groupView]{Items: out})
	return nil
}

type groupBody struct {
	DistrictID  storage.DistrictID `json:"district_id"` // a system admin's district group
	SchoolID    storage.SchoolID   `json:"school_id"`   // 0: a district group
	SubjectID   storage.SubjectID  `json:"subject_id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	MemberIDs   []storage.UserID   `json:"member_ids"`
}

// checkSubject checks that id is 0 (every subject) or a subject.
func (s *Service) checkSubject(ctx context.Context, id storage.SubjectID) error {
	if id == 0 {
		return nil
	}
	subjects, err := s.p.Store.ListSubjects(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(subjects, func(x storage.Subject) bool { return x.ID == id }) {
		return httpapi.Invalid("subject_id", "no such subject")
	}
	return nil
}

// checkMembers checks that every id is a user who may be a member of g.
func (s *Service) checkMembers(ctx context.Context, g storage.ResearchGroup, ids []storage.UserID) error {
	if len(ids) > storage.MaxResearchMembers {
		return httpapi.Invalid("member_ids", "too many members")
	}
	for _, id := range ids {
		u, err := s.p.Store.GetUser(ctx, id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !eligible(&u, g)) {
			return httpapi.Invalid("member_ids", "every member must be an active teacher or expert of the group's school or district")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) handleCreateGroup(w http.ResponseWriter, r *http.Request) error {
	var b groupBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "name", &b.Name, 1, storage.MaxResearchName)
	httpapi.CheckText(f, "description", &b.Description, 0, storage.MaxResearchGroupText)
	if err := f.Err(); err != nil {
		return err
	}
	u := me(r)
	g := storage.ResearchGroup{DistrictID: u.DistrictID, SchoolID: b.SchoolID, SubjectID: b.SubjectID, Name: b.Name}
	if b.SchoolID != 0 {
		sc, err := s.p.Store.GetSchool(r.Context(), b.SchoolID)
		if errors.Is(err, storage.ErrNotFound) {
			return httpapi.Invalid("school_id", "no such school")
		}
		if err != nil {
			return err
		}
		g.DistrictID = sc.DistrictID
	} else if b.DistrictID != 0 {
		g.DistrictID = b.DistrictID
	}
	if g.DistrictID == 0 {
		return httpapi.Invalid("district_id", "required")
	}
	if !manages(u, g) {
		return httpapi.ErrForbidden
	}
	if err := s.checkSubject(r.Context(), b.SubjectID); err != nil {
		return err
	}
	if err := s.checkMembers(r.Context(), g, b.MemberIDs); err != nil {
		return err
	}
	out, err := s.p.Store.CreateResearchGroup(r.Context(), httpapi.Actor(r), storage.ResearchGroupInput{DistrictID: g.DistrictID,
		SchoolID: g.SchoolID, SubjectID: g.SubjectID, Name: g.Name, Description: b.Description, Members: b.MemberIDs})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, groupView{out, "admin"})
	return nil
}

type groupDetail struct {
	groupView
	Activities []storage.ResearchActivity `json:"activities"`
}

func (s *Service) handleGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	g, role, err := s.group(r, storage.ResearchGroupID(id))
	if err != nil {
		return err
	}
	for i, m := range g.Members {
		if u, err := s.p.Store.GetUser(r.Context(), m.UserID); err == nil {
			g.Members[i].Roles = u.Roles
		}
	}
	acts, err := s.p.Store.ListResearchActivities(r.Context(), g.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, groupDetail{groupView{g, role}, acts})
	return nil
}

// managedGroup loads the group of the path for its administrators: 404
// to whoever has no part in it, 403 to its members.
func (s *Service) managedGroup(r *http.Request) (storage.ResearchGroup, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.ResearchGroup{}, err
	}
	g, role, err := s.group(r, storage.ResearchGroupID(id))
	if err != nil {
		return g, err
	}
	if role != "admin" {
		return g, httpapi.ErrForbidden
	}
	return g, nil
}

func (s *Service) handleEditGroup(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Name        string            `json:"name"`
		Description string            `json:"description"`
		SubjectID   storage.SubjectID `json:"subject_id"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	g, err := s.managedGroup(r)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "name", &b.Name, 1, storage.MaxResearchName)
	httpapi.CheckText(f, "description", &b.Description, 0, storage.MaxResearchGroupText)
	if err := f.Err(); err != nil {
		return err
	}
	if err := s.checkSubject(r.Context(), b.SubjectID); err != nil {
		return err
	}
	out, err := s.p.Store.UpdateResearchGroup(r.Context(), httpapi.Actor(r), g.ID,
		storage.ResearchGroupEdit{Name: b.Name, Description: b.Description, SubjectID: b.SubjectID})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, groupView{out, "admin"})
	return nil
}

func (s *Service) handleDeleteGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.managedGroup(r)
	if err != nil {
		return err
	}
	if err := s.p.Store.DeleteResearchGroup(r.Context(), httpapi.Actor(r), g.ID); err != nil {
		return err
	}
	s.p.Logger.Info("research group deleted", "group", g.ID, "by", me(r).ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	var b struct {
		MemberIDs []storage.UserID `json:"member_ids"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	g, role, err := s.group(r, storage.ResearchGroupID(id))
	if err != nil {
		return err
	}
	if role != "admin" {
		return httpapi.ErrForbidden
	}
	if err := s.checkMembers(r.Context(), g, b.MemberIDs); err != nil {
		return err
	}
	out, err := s.p.Store.SetResearchMembers(r.Context(), httpapi.Actor(r), g.ID, b.MemberIDs)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, groupView{out, role})
	return nil
}

// --- activities

// recordingView is a recording an activity studies, with its review results.
type recordingView struct {
	ID         storage.RecordingID     `json:"id"`
	Title      string                  `json:"title"`
	Teacher    string                  `json:"teacher_name"`
	School     string                  `json:"school_name"`
	Subject    string                  `json:"subject_name"`
	Grade      int                     `json:"grade"`
	StartedAt  time.Time               `json:"started_at"`
	DurationMS int64                   `json:"duration_ms"`
	Status     storage.RecordingStatus `json:"status"`
	Results    []Result                `json:"results"`
	// Unavailable: deleted, or moved out of the group's place since.
	Unavailable bool `json:"unavailable"`
}

type activityView struct {
	storage.ResearchActivity
	Group      groupView       `json:"group"`
	Recordings []recordingView `json:"recordings"`
}

type activityBody struct {
	Topic        string                `json:"topic"`
	Description  string                `json:"description"`
	RecordingIDs []storage.RecordingID `json:"recording_ids"`
}

// addable checks that the caller may add recording id to an activity of g.
func (s *Service) addable(r *http.Request, g storage.ResearchGroup, id storage.RecordingID, field string) error {
	rec, err := s.p.Store.GetRecording(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !mayAdd(me(r), rec, g)) {
		return httpapi.Invalid(field, "add recordings you may watch yourself, of the group's school or district")
	}
	return err
}

func (s *Service) handleCreateActivity(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	var b activityBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	g, _, err := s.group(r, storage.ResearchGroupID(id))
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "topic", &b.Topic, 1, storage.MaxResearchName)
	httpapi.CheckText(f, "description", &b.Description, 0, storage.MaxResearchText)
	if len(b.RecordingIDs) > storage.MaxResearchRecordings {
		f.Add("recording_ids", "too many recordings")
	}
	if err := f.Err(); err != nil {
		return err
	}
	for _, rid := range b.RecordingIDs {
		if err := s.addable(r, g, rid, "recording_ids"); err != nil {
			return err
		}
	}
	act, err := s.p.Store.CreateResearchActivity(r.Context(), httpapi.Actor(r), storage.ResearchActivityInput{GroupID: g.ID,
		Topic: b.Topic, Description: b.Description, RecordingIDs: b.RecordingIDs})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, act)
	return nil
}

func (s *Service) handleActivity(w http.ResponseWriter, r *http.Request) error {
	act, g, role, err := s.activity(r)
	if err != nil {
		return err
	}
	g.Members = nil
	v := activityView{ResearchActivity: act, Group: groupView{g, role}, Recordings: []recordingView{}}
	for _, id := range act.RecordingIDs {
		rec, err := s.p.Store.GetRecording(r.Context(), id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err != nil || !inPlace(rec, g) {
			v.Recordings = append(v.Recordings, recordingView{ID: id, Unavailable: true, Results: []Result{}})
			continue
		}
		res, err := s.results(r.Context(), id)
		if err != nil {
			return err
		}
		v.Recordings = append(v.Recordings, recordingView{ID: id, Title: rec.Title, Teacher: rec.TeacherName, School: rec.SchoolName,
			Subject: rec.SubjectName, Grade: rec.Grade, StartedAt: rec.StartedAt, DurationMS: rec.DurationMS, Status: rec.Status, Results: res})
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) handleAddRecording(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		RecordingID storage.RecordingID `json:"recording_id"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	act, g, _, err := s.activity(r)
	if err != nil {
		return err
	}
	if err := s.addable(r, g, b.RecordingID, "recording_id"); err != nil {
		return err
	}
	out, err := s.p.Store.AddResearchRecording(r.Context(), httpapi.Actor(r), act.ID, b.RecordingID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// --- discussion

type commentView struct {
	storage.ResearchComment
	CanDelete bool `json:"can_delete"`
}

func (s *Service) handleComments(w http.ResponseWriter, r *http.Request) error {
	act, _, role, err := s.activity(r)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	rec := storage.RecordingID(httpapi.QueryID(r, "recording_id", f))
	if err := f.Err(); err != nil {
		return err
	}
	cs, err := s.p.Store.ListResearchComments(r.Context(), act.ID, rec)
	if err != nil {
		return err
	}
	out := make([]commentView, 0, len(cs))
	for _, c := range cs {
		out = append(out, commentView{c, !c.Deleted && (role == "admin" || c.AuthorID == me(r).ID)})
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[commentView]{Items: out})
	return nil
}

func (s *Service) handleComment(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Text        string              `json:"text"`
		RecordingID storage.RecordingID `json:"recording_id"`
		StartMS     int64               `json:"start_ms"`
		EndMS       int64               `json:"end_ms"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	act, g, _, err := s.activity(r)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "text", &b.Text, 1, storage.MaxResearchText)
	if b.RecordingID != 0 {
		rec, err := s.p.Store.GetRecording(r.Context(), b.RecordingID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			f.Add("recording_id", "not a recording of this activity")
		case err != nil:
			return err
		case !inPlace(rec, g):
			f.Add("recording_id", "not a recording of this activity")
		case b.StartMS < 0 || (rec.DurationMS > 0 && b.StartMS > rec.DurationMS):
			f.Add("start_ms", "must lie within the recording")
		case b.EndMS != 0 && (b.EndMS <= b.StartMS || (rec.DurationMS > 0 && b.EndMS > rec.DurationMS)):
			f.Add("end_ms", "must lie after the start, within the recording")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	if err := s.limit(r.Context(), me(r).ID); err != nil {
		return err
	}
	c, err := s.p.Store.AddResearchComment(r.Context(), httpapi.Actor(r), storage.ResearchComment{ActivityID: act.ID, AuthorID: me(r).ID,
		Text: b.Text, RecordingID: b.RecordingID, StartMS: b.StartMS, EndMS: b.EndMS})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, commentView{c, true})
	return nil
}

func (s *Service) handleDeleteComment(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.p.Store.GetResearchComment(r.Context(), storage.ResearchCommentID(id))
	if err != nil {
		return err
	}
	act, err := s.p.Store.GetResearchActivity(r.Context(), c.ActivityID)
	if err != nil {
		return err
	}
	_, role, err := s.group(r, act.GroupID)
	if err != nil {
		return err
	}
	if c.Deleted {
		return httpapi.ErrNotFound
	}
	if role != "admin" && c.AuthorID != me(r).ID {
		return httpapi.ErrForbidden
	}
	if err := s.p.Store.DeleteResearchComment(r.Context(), httpapi.Actor(r), c.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
