package microlessons

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/microlessons/probe"
	"yunke/storage"
	"yunke/storage/blob"
)

// Routes are the micro-lesson API routes: the tus endpoint, then the
// micro-lessons.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	up, read, review, publish := authz.MicrolessonUpload, authz.MicrolessonRead, authz.MicrolessonReview, authz.MicrolessonPublish
	return []httpapi.Route{
		{Method: "POST", Path: uploadsPath, Actions: a(up), Handle: s.handleCreateUpload},
		{Method: "HEAD", Path: uploadsPath + "/{id}", Actions: a(up), Handle: s.handleUploadOffset},
		{Method: "PATCH", Path: uploadsPath + "/{id}", Actions: a(up), Handle: s.handleUploadChunk},
		{Method: "DELETE", Path: uploadsPath + "/{id}", Actions: a(up), Handle: s.handleCancelUpload},
		{Method: "GET", Path: uploadsPath, Actions: a(up), Handle: s.handleListUploads},
		{Method: "POST", Path: "/microlessons", Actions: a(up), Handle: s.handleCreate},
		{Method: "GET", Path: "/microlessons", Actions: a(read), Handle: s.handleList},
		{Method: "GET", Path: "/microlessons/{id}", Actions: a(read), Handle: s.handleGet},
		{Method: "PATCH", Path: "/microlessons/{id}", Actions: a(up), Handle: s.handleUpdate},
		{Method: "POST", Path: "/microlessons/{id}/resubmit", Actions: a(up), Handle: s.handleResubmit},
		{Method: "POST", Path: "/microlessons/{id}/review", Actions: a(review), Handle: s.handleReview},
		{Method: "POST", Path: "/microlessons/{id}/publish", Actions: a(publish), Handle: s.handlePublish},
		{Method: "POST", Path: "/microlessons/{id}/return", Actions: a(review, publish), Handle: s.handleReturn},
		{Method: "POST", Path: "/microlessons/{id}/assign", Actions: a(publish), Handle: s.handleAssign},
		{Method: "GET", Path: "/microlessons/reviewers/{id}", Actions: a(publish), Handle: s.handleReviewers},
		{Method: "POST", Path: "/microlessons/{id}/approve", Actions: a(review, publish), Handle: s.handleApprove},
		{Method: "POST", Path: "/microlessons/{id}/tag", Actions: a(review, publish), Handle: s.handleTag},
		{Method: "DELETE", Path: "/microlessons/{id}", Actions: a(up, publish), Handle: s.handleDelete},
		// Not /microlessons/{id}/video: it would overlap HEAD /microlessons/uploads/{id}.
		{Method: "GET", Path: "/microlessons/videos/{id}", Actions: a(read), Handle: s.handleVideo},
	}
}

// ---- uploads in progress

// uploadView is an upload in progress as the web client lists it.
type uploadView struct {
	storage.MicrolessonUpload
	// Offset is how many bytes have arrived; Complete when all have.
	Offset   int64 `json:"offset"`
	Complete bool  `json:"complete"`
}

// handleListUploads lists the caller's uploads in progress and the limits.
func (s *Service) handleListUploads(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	ups, err := s.p.Store.ListMicrolessonUploads(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	items := []uploadView{}
	now := s.p.Now()
	for _, u := range ups {
		if !now.Before(u.ExpiresAt) {
			continue
		}
		off, err := s.offset(r.Context(), u.ID)
		if err != nil {
			continue // its files are being created or removed
		}
		items = append(items, uploadView{MicrolessonUpload: u, Offset: off, Complete: off == u.SizeBytes})
	}
	httpapi.WriteJSON(w, http.StatusOK, struct {
		Items  []uploadView `json:"items"`
		Limits Limits       `json:"limits"`
	}{items, s.Limits()})
	return nil
}

// ---- micro-lessons

// lessonBody is a teacher's description of a micro-lesson.
type lessonBody struct {
	UploadID          string                     `json:"upload_id"`
	Title             string                     `json:"title"`
	Description       string                     `json:"description"`
	SubjectID         storage.SubjectID          `json:"subject_id"`
	Grade             int                        `json:"grade"`
	KnowledgePointIDs []storage.KnowledgePointID `json:"knowledge_point_ids"`
}

func (b *lessonBody) check(f httpapi.Fields) storage.MicrolessonInput {
	httpapi.CheckText(f, "title", &b.Title, 1, storage.MaxMicrolessonTitle)
	httpapi.CheckText(f, "description", &b.Description, 0, storage.MaxMicrolessonDescription)
	if b.SubjectID <= 0 {
		f.Add("subject_id", "required")
	}
	if b.Grade < 1 || b.Grade > 12 {
		f.Add("grade", "must be 1–12")
	}
	if len(b.KnowledgePointIDs) > storage.MaxMicrolessonPoints {
		f.Add("knowledge_point_ids", fmt.Sprintf("at most %d knowledge points", storage.MaxMicrolessonPoints))
	}
	return storage.MicrolessonInput{SubjectID: b.SubjectID, Grade: b.Grade, Title: b.Title, Description: b.Description,
		KnowledgePoints: b.KnowledgePointIDs}
}

// putTimeout bounds moving a finished upload into the media store.
const putTimeout = 30 * time.Minute

// handleCreate files the caller's finished upload as a micro-lesson: the
// description is checked, then the file from its content; a file that is
// not an acceptable video is refused (422) and its upload removed; a good
// one is moved into the media store and the micro-lesson submitted.
func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	var b lessonBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	in := b.check(f)
	if b.UploadID == "" {
		f.Add("upload_id", "required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	u, err := s.ownUpload(ctx, p.User.ID, b.UploadID)
	if err != nil {
		return err
	}
	if err := s.p.Store.CheckMicrolessonInput(ctx, in); err != nil {
		return err
	}
	off, err := s.offset(ctx, u.ID)
	if err != nil {
		return err
	}
	if off != u.SizeBytes {
		return &httpapi.Error{Status: http.StatusConflict, Code: "upload_incomplete",
			Message: fmt.Sprintf("the upload has %d of its %d bytes: finish it first", off, u.SizeBytes)}
	}

	file, err := os.Open(s.binPath(u.ID))
	if err != nil {
		return fmt.Errorf("microlessons: open upload %s: %w", u.ID, err)
	}
	defer file.Close()
	info, err := probe.Probe(file, u.SizeBytes)
	var pe *probe.Error
	switch {
	case errors.As(err, &pe):
		return s.refuse(ctx, u.ID, probeError(pe))
	case err != nil:
		return err
	}
	if why := s.accept(info); why != nil {
		return s.refuse(ctx, u.ID, why)
	}

	// The move may take minutes for a large file to an object store.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(putTimeout))
	key := fmt.Sprintf("%svideos/%d/%s-%s.%s", s.p.KeyPrefix, p.User.ID, u.ID, newUploadID()[:8], info.Container)
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("microlessons: %w", err)
	}
	if err := s.p.Media.Put(ctx, key, file, u.SizeBytes, contentType(info.Container)); err != nil {
		return fmt.Errorf("microlessons: store video of upload %s: %w", u.ID, err)
	}
	v, _ := info.Video()
	a, _ := info.Audio()
	media := storage.MicrolessonMedia{FileKey: key, SizeBytes: u.SizeBytes, Container: info.Container, VideoCodec: v.Codec,
		AudioCodec: a.Codec, Width: v.Width, Height: v.Height, DurationMS: info.Duration.Milliseconds()}
	m, err := s.p.Store.CreateMicrolesson(ctx, httpapi.Actor(r), u.ID, in, media, s.p.Now())
	if err != nil {
		// Not filed (bad input, or filed by a request just before):
		// this request's copy goes; the upload stays if it is still there.
		s.removeVideo(ctx, key, p.User.DistrictID)
		if errors.Is(err, storage.ErrNotFound) {
			return errNoUpload
		}
		return err
	}
	s.removeFiles(u.ID)
	s.log.Info("micro-lesson submitted", "microlesson", m.ID, "teacher", p.User.ID, "container", m.Container,
		"duration_ms", m.DurationMS, "bytes", m.SizeBytes)
	httpapi.WriteJSON(w, http.StatusCreated, m)
	return nil
}

// refuse removes an upload whose file is no acceptable video, and says why.
func (s *Service) refuse(ctx context.Context, id string, why *httpapi.Error) error {
	if err := s.discard(context.WithoutCancel(ctx), id); err != nil {
		s.log.Warn("discard refused upload", "upload", id, "err", err)
	}
	e := *why
	e.Message += ". The upload was removed: export the video again and upload the new file"
	return &e
}

// lessonFor loads the micro-lesson of the path, if the caller may see it:
// its teacher always; a published one everyone of its district (a system
// admin everywhere); one in another status the reviewers of its school.
// Deleted ones are not found.
func (s *Service) lessonFor(r *http.Request) (storage.Microlesson, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Microlesson{}, err
	}
	m, err := s.p.Store.GetMicrolesson(r.Context(), storage.MicrolessonID(id))
	if err != nil {
		return m, err
	}
	if m.Status == storage.MicrolessonDeleted {
		return m, httpapi.ErrNotFound
	}
	if !s.canSee(httpapi.PrincipalFrom(r.Context()), &m) {
		return m, httpapi.ErrForbidden
	}
	return m, nil
}

func (s *Service) canSee(p *httpapi.Principal, m *storage.Microlesson) bool {
	u := &p.User
	switch {
	case m.TeacherID == u.ID:
		return true
	case authz.ScopeOf(u, authz.MicrolessonReview).Covers(m.DistrictID, m.SchoolID):
		return true
	case m.Status != storage.MicrolessonPublished:
		return false
	case authz.ScopeOf(u, authz.MicrolessonRead).All:
		return true
	}
	return authz.Allows(u.Roles, authz.MicrolessonRead) && u.Active && u.DistrictID != 0 && u.DistrictID == m.DistrictID
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	m, err := s.lessonFor(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// handleList lists micro-lessons. By default the published ones of the
// caller's district; ?mine=true the caller's own (a teacher's, in every
// status); ?status=submitted|in_review|returned those of the caller's
// review scope. Filters: teacher_id, school_id, subject_id, grade,
// knowledge_point_id (and the points below it), q (in the title).
func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	f := httpapi.Fields{}
	q := r.URL.Query()
	filter := storage.MicrolessonFilter{
		TeacherID:        storage.UserID(httpapi.QueryID(r, "teacher_id", f)),
		SubjectID:        storage.SubjectID(httpapi.QueryID(r, "subject_id", f)),
		KnowledgePointID: storage.KnowledgePointID(httpapi.QueryID(r, "knowledge_point_id", f)),
		Query:            httpapi.QuerySearch(r, f),
	}
	filter.Limit, filter.Offset = httpapi.ListPage(r, f)
	if v := httpapi.QueryID(r, "grade", f); v > 12 {
		f.Add("grade", "must be 1–12")
	} else {
		filter.Grade = int(v)
	}
	school := storage.SchoolID(httpapi.QueryID(r, "school_id", f))
	mine := httpapi.QueryBool(r, "mine", f)
	assigned := httpapi.QueryBool(r, "assigned", f)
	status := storage.MicrolessonStatus(q.Get("status"))
	switch {
	case status == "":
	case status == storage.MicrolessonDeleted || !status.Valid():
		f.Add("status", "must be submitted, in_review, approved, published or returned")
	default:
		filter.Statuses = []storage.MicrolessonStatus{status}
	}
	if err := f.Err(); err != nil {
		return err
	}
	switch {
	case assigned != nil && *assigned:
		// The reviewer's own queue: assigned to them, in review or approved
		// and waiting for its knowledge points (or the status asked for).
		if _, err := httpapi.Authorize(r, authz.MicrolessonReview); err != nil {
			return err
		}
		filter.ReviewerID, filter.SchoolID = p.User.ID, school
		if status == "" {
			filter.Statuses = []storage.MicrolessonStatus{storage.MicrolessonInReview, storage.MicrolessonApproved}
		}
		sc := authz.ScopeOf(&p.User, authz.MicrolessonReview)
		var err error
		if filter.DistrictID, filter.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), s.p.Store, sc); err != nil {
			return err
		}
	case mine != nil && *mine:
		if _, err := httpapi.Authorize(r, authz.MicrolessonUpload); err != nil {
			return err
		}
		filter.TeacherID, filter.SchoolID = p.User.ID, school
	case status == "" || status == storage.MicrolessonPublished:
		filter.Statuses = []storage.MicrolessonStatus{storage.MicrolessonPublished}
		filter.SchoolID = school
		if !authz.ScopeOf(&p.User, authz.MicrolessonRead).All {
			filter.DistrictID = p.User.DistrictID
		}
	default: // awaiting review, or returned: the reviewer's scope
		school, err := httpapi.ExplicitSchool(r, s.p.Store, authz.MicrolessonReview, "school_id", f)
		if err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		if school != 0 {
			filter.SchoolID = school
		} else {
			sc := authz.ScopeOf(&p.User, authz.MicrolessonReview)
			if sc.Empty() {
				return httpapi.ErrForbidden
			}
			if filter.DistrictID, filter.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), s.p.Store, sc); err != nil {
				return err
			}
		}
	}
	items, total, err := s.p.Store.ListMicrolessons(r.Context(), filter)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.List[storage.Microlesson]{Items: httpapi.NonNil(items), Total: total})
	return nil
}

// updateBody changes a micro-lesson's description; absent fields keep
// their value.
type updateBody struct {
	Title             *string                     `json:"title"`
	Description       *string                     `json:"description"`
	SubjectID         *storage.SubjectID          `json:"subject_id"`
	Grade             *int                        `json:"grade"`
	KnowledgePointIDs *[]storage.KnowledgePointID `json:"knowledge_point_ids"`
	Version           int64                       `json:"version"`
}

// editable are the statuses in which a teacher may change their micro-lesson.
var editable = []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonReturned}

// ownLesson loads the caller's own micro-lesson (403 for another's).
func (s *Service) ownLesson(r *http.Request) (storage.Microlesson, error) {
	m, err := s.lessonFor(r)
	if err != nil {
		return m, err
	}
	if m.TeacherID != httpapi.PrincipalFrom(r.Context()).User.ID {
		return m, &httpapi.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "only its teacher may change a micro-lesson"}
	}
	return m, nil
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	m, err := s.ownLesson(r)
	if err != nil {
		return err
	}
	var b updateBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	body := lessonBody{Title: m.Title, Description: m.Description, SubjectID: m.SubjectID, Grade: m.Grade}
	for _, k := range m.KnowledgePoints {
		body.KnowledgePointIDs = append(body.KnowledgePointIDs, k.ID)
	}
	httpapi.SetIf(&body.Title, b.Title)
	httpapi.SetIf(&body.Description, b.Description)
	httpapi.SetIf(&body.SubjectID, b.SubjectID)
	httpapi.SetIf(&body.Grade, b.Grade)
	httpapi.SetIf(&body.KnowledgePointIDs, b.KnowledgePointIDs)
	f := httpapi.Fields{}
	in := body.check(f)
	if b.Version <= 0 {
		f.Add("version", "required: the version you read")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if !slices.Contains(editable, m.Status) {
		return notNow(m, "changed")
	}
	m, err = s.p.Store.UpdateMicrolesson(r.Context(), httpapi.Actor(r), m.ID, in, b.Version, editable, s.p.Now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// notNow is a step the micro-lesson's status does not allow.
func notNow(m storage.Microlesson, what string) error {
	return &httpapi.Error{Status: http.StatusConflict, Code: "wrong_status",
		Message: fmt.Sprintf("this micro-lesson is %s: it cannot be %s now", strings.ReplaceAll(string(m.Status), "_", " "), what)}
}

// move changes a micro-lesson's status when it is one of from.
func (s *Service) move(w http.ResponseWriter, r *http.Request, m storage.Microlesson, from []storage.MicrolessonStatus,
	to storage.MicrolessonStatus, reason, what string) error {
	if !slices.Contains(from, m.Status) {
		return notNow(m, what)
	}
	m, err := s.p.Store.SetMicrolessonStatus(r.Context(), httpapi.Actor(r), m.ID, from, to, reason, s.p.Now())
	if errors.Is(err, storage.ErrClosed) {
		return &httpapi.Error{Status: http.StatusConflict, Code: "wrong_status", Message: "this micro-lesson changed meanwhile: reload it"}
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// handleResubmit files a returned micro-lesson again.
func (s *Service) handleResubmit(w http.ResponseWriter, r *http.Request) error {
	m, err := s.ownLesson(r)
	if err != nil {
		return err
	}
	return s.move(w, r, m, []storage.MicrolessonStatus{storage.MicrolessonReturned}, storage.MicrolessonSubmitted, "", "filed again")
}

// reviewable loads a micro-lesson the caller may take action a on: in
// their scope, and not their own.
func (s *Service) reviewable(r *http.Request, a authz.Action) (storage.Microlesson, error) {
	m, err := s.lessonFor(r)
	if err != nil {
		return m, err
	}
	p, err := httpapi.Authorize(r, a, httpapi.Place{District: m.DistrictID, School: m.SchoolID})
	if err != nil {
		return m, err
	}
	if m.TeacherID == p.User.ID {
		return m, &httpapi.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "nobody reviews their own micro-lesson"}
	}
	return m, nil
}

// handleReview takes a submitted micro-lesson into review.
func (s *Service) handleReview(w http.ResponseWriter, r *http.Request) error {
	m, err := s.reviewable(r, authz.MicrolessonReview)
	if err != nil {
		return err
	}
	return s.move(w, r, m, []storage.MicrolessonStatus{storage.MicrolessonSubmitted}, storage.MicrolessonInReview, "", "taken into review")
}

func (s *Service) handlePublish(w http.ResponseWriter, r *http.Request) error {
	m, err := s.reviewable(r, authz.MicrolessonPublish)
	if err != nil {
		return err
	}
	return s.move(w, r, m, []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonInReview, storage.MicrolessonApproved},
		storage.MicrolessonPublished, "", "published")
}

type returnBody struct {
	Reason string `json:"reason"`
}

func (s *Service) handleReturn(w http.ResponseWriter, r *http.Request) error {
	m, admin, err := s.reviewerOf(r)
	if err != nil {
		return err
	}
	var b returnBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "reason", &b.Reason, 1, storage.MaxReturnReason)
	if err := f.Err(); err != nil {
		return err
	}
	c := storage.MicrolessonChange{To: storage.MicrolessonReturned, Reason: b.Reason,
		From: []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonInReview, storage.MicrolessonApproved}}
	if !admin {
		c.From, c.ExpectReviewer = []storage.MicrolessonStatus{storage.MicrolessonInReview, storage.MicrolessonApproved}, m.ReviewerID
	}
	return s.change(w, r, m, c, "returned")
}

// errNotReviewer: an expert acting on a micro-lesson assigned to another.
var errNotReviewer = &httpapi.Error{Status: http.StatusForbidden, Code: "not_reviewer",
	Message: "this micro-lesson is assigned to another reviewer"}

// reviewerOf loads a micro-lesson the caller reviews: an administrator who
// may publish it (admin true), or the expert it is assigned to.
func (s *Service) reviewerOf(r *http.Request) (storage.Microlesson, bool, error) {
	m, err := s.lessonFor(r)
	if err != nil {
		return m, false, err
	}
	if m2, err := s.reviewable(r, authz.MicrolessonPublish); err == nil {
		return m2, true, nil
	}
	m, err = s.reviewable(r, authz.MicrolessonReview)
	if err != nil {
		return m, false, err
	}
	if m.ReviewerID != httpapi.PrincipalFrom(r.Context()).User.ID {
		return m, false, errNotReviewer
	}
	return m, false, nil
}

// change takes a step of the review when the micro-lesson's status allows.
func (s *Service) change(w http.ResponseWriter, r *http.Request, m storage.Microlesson, c storage.MicrolessonChange, what string) error {
	if !slices.Contains(c.From, m.Status) {
		return notNow(m, what)
	}
	m, err := s.p.Store.ChangeMicrolesson(r.Context(), httpapi.Actor(r), m.ID, c, s.p.Now())
	switch {
	case errors.Is(err, storage.ErrClosed), errors.Is(err, storage.ErrConflict):
		return &httpapi.Error{Status: http.StatusConflict, Code: "wrong_status", Message: "this micro-lesson changed meanwhile: reload it"}
	case err != nil:
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

type assignBody struct {
	ReviewerID storage.UserID `json:"reviewer_id"`
}

// reviewerRef is an expert a micro-lesson may be assigned to.
type reviewerRef struct {
	ID   storage.UserID `json:"id"`
	Name string         `json:"name"`
	// Assigned: how many micro-lessons the expert has in review or approved now.
	Assigned int `json:"assigned"`
}

// mayReview: an active expert whose review scope covers m, not its teacher.
func mayReview(u *storage.User, m *storage.Microlesson) bool {
	return u.Has(storage.RoleExpert) && u.ID != m.TeacherID && authz.ScopeOf(u, authz.MicrolessonReview).Covers(m.DistrictID, m.SchoolID)
}

// handleReviewers lists the experts an administrator may assign the
// micro-lesson to (those of its district whose scope covers it), with how
// many each has in hand.
func (s *Service) handleReviewers(w http.ResponseWriter, r *http.Request) error {
	m, err := s.reviewable(r, authz.MicrolessonPublish)
	if err != nil {
		return err
	}
	active := true
	experts, _, err := s.p.Store.ListUsers(r.Context(), storage.UserFilter{DistrictID: m.DistrictID, Role: storage.RoleExpert,
		Active: &active, Limit: 500})
	if err != nil {
		return err
	}
	out := []reviewerRef{}
	for i := range experts {
		u := &experts[i]
		if !mayReview(u, &m) {
			continue
		}
		_, n, err := s.p.Store.ListMicrolessons(r.Context(), storage.MicrolessonFilter{ReviewerID: u.ID, Limit: 1,
			Statuses: []storage.MicrolessonStatus{storage.MicrolessonInReview, storage.MicrolessonApproved}})
		if err != nil {
			return err
		}
		out = append(out, reviewerRef{ID: u.ID, Name: u.Name, Assigned: n})
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[reviewerRef]{Items: out})
	return nil
}

// handleAssign: an administrator assigns a submitted micro-lesson (or
// reassigns one in review) to an expert whose scope covers it and who is
// not its teacher.
func (s *Service) handleAssign(w http.ResponseWriter, r *http.Request) error {
	m, err := s.reviewable(r, authz.MicrolessonPublish)
	if err != nil {
		return err
	}
	var b assignBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.ReviewerID <= 0 {
		return httpapi.Invalid("reviewer_id", "required")
	}
	u, err := s.p.Store.GetUser(r.Context(), b.ReviewerID)
	if errors.Is(err, storage.ErrNotFound) {
		return httpapi.Invalid("reviewer_id", "no such user")
	}
	if err != nil {
		return err
	}
	if !mayReview(&u, &m) {
		return httpapi.Invalid("reviewer_id", "an expert whose scope covers this micro-lesson, not its teacher")
	}
	return s.change(w, r, m, storage.MicrolessonChange{To: storage.MicrolessonInReview, Action: "microlesson.assign", Reviewer: u.ID,
		From: []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonInReview}}, "assigned")
}

// handleApprove: the reviewer (or an administrator) approves a micro-lesson
// in review; it waits for its knowledge points.
func (s *Service) handleApprove(w http.ResponseWriter, r *http.Request) error {
	m, admin, err := s.reviewerOf(r)
	if err != nil {
		return err
	}
	c := storage.MicrolessonChange{To: storage.MicrolessonApproved, From: []storage.MicrolessonStatus{storage.MicrolessonInReview}}
	if !admin {
		c.ExpectReviewer = m.ReviewerID
	}
	return s.change(w, r, m, c, "approved")
}

type tagBody struct {
	KnowledgePointIDs []storage.KnowledgePointID `json:"knowledge_point_ids"`
}

// handleTag: the reviewer (or an administrator) tags an approved
// micro-lesson with its knowledge points (at least one, of its subject),
// which publishes it.
func (s *Service) handleTag(w http.ResponseWriter, r *http.Request) error {
	m, admin, err := s.reviewerOf(r)
	if err != nil {
		return err
	}
	var b tagBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	switch n := len(b.KnowledgePointIDs); {
	case n == 0:
		return httpapi.Invalid("knowledge_point_ids", "at least one knowledge point")
	case n > storage.MaxMicrolessonPoints:
		return httpapi.Invalid("knowledge_point_ids", fmt.Sprintf("at most %d knowledge points", storage.MaxMicrolessonPoints))
	}
	c := storage.MicrolessonChange{To: storage.MicrolessonPublished, From: []storage.MicrolessonStatus{storage.MicrolessonApproved},
		Points: b.KnowledgePointIDs}
	if !admin {
		c.ExpectReviewer = m.ReviewerID
	}
	return s.change(w, r, m, c, "tagged")
}

// handleDelete removes a micro-lesson and its video: its teacher's while
// submitted or returned, any in an admin's scope.
func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	m, err := s.lessonFor(r)
	if err != nil {
		return err
	}
	p := httpapi.PrincipalFrom(r.Context())
	from := []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonInReview, storage.MicrolessonApproved,
		storage.MicrolessonPublished, storage.MicrolessonReturned}
	if _, err := httpapi.Authorize(r, authz.MicrolessonPublish, httpapi.Place{District: m.DistrictID, School: m.SchoolID}); err != nil {
		if m.TeacherID != p.User.ID {
			return err
		}
		from = editable
	}
	if !slices.Contains(from, m.Status) {
		return &httpapi.Error{Status: http.StatusConflict, Code: "wrong_status",
			Message: "a micro-lesson in review or published can only be deleted by an administrator"}
	}
	if _, err := s.p.Store.SetMicrolessonStatus(r.Context(), httpapi.Actor(r), m.ID, from, storage.MicrolessonDeleted, "", s.p.Now()); err != nil {
		return err
	}
	s.removeVideo(r.Context(), m.FileKey, m.DistrictID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signedURLFor is how long a signed URL to an object store's video lasts.
const signedURLFor = 10 * time.Minute

// handleVideo serves a micro-lesson's video to whoever may see the
// micro-lesson, with HTTP Range requests (seeking without downloading
// everything); ?download=1 asks the browser to save it. From an object
// store it redirects to a short-lived signed URL instead.
func (s *Service) handleVideo(w http.ResponseWriter, r *http.Request) error {
	m, err := s.lessonFor(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	disposition := "inline"
	if r.URL.Query().Get("download") == "1" {
		disposition = "attachment"
	}
	name := fmt.Sprintf("microlesson-%d.%s", m.ID, m.Container)
	disposition = fmt.Sprintf("%s; filename=%q; filename*=UTF-8''%s", disposition, name, extValue(m.Title+"."+m.Container))
	// An object store serves the bytes itself, from a short-lived signed
	// URL; a download's URL makes its answer say "attachment" too.
	var signed string
	if ds, ok := s.p.Media.(blob.DownloadSigner); ok && r.URL.Query().Get("download") == "1" {
		signed, err = ds.SignedDownloadURL(r.Context(), m.FileKey, signedURLFor, disposition)
	} else {
		signed, err = s.p.Media.SignedURL(r.Context(), m.FileKey, signedURLFor)
	}
	if err != nil {
		return err
	}
	if signed != "" {
		http.Redirect(w, r, signed, http.StatusFound)
		return nil
	}
	obj, err := s.p.Media.Open(r.Context(), m.FileKey)
	if err != nil {
		return fmt.Errorf("microlessons: open video of %d: %w", m.ID, err)
	}
	defer obj.Close()
	w.Header().Set("Content-Disposition", disposition)
	w.Header().Set("Content-Type", contentType(m.Container))
	http.ServeContent(w, r, name, obj.Info().ModTime, obj)
	return nil
}

// extValue encodes s for a header parameter's extended value (RFC 8187):
// UTF-8, every byte but the unreserved ones percent-encoded.
func extValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
