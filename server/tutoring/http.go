package tutoring

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/imagecheck"
	"yunke/server/token"
	"yunke/storage"
)

// wsURL turns a node's http(s) base URL into the ws(s) URL of its signaling.
func wsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u.String()
}

// Routes are the tutoring API routes.
func (h *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	return []httpapi.Route{
		{Method: "POST", Path: "/tutoring/requests", Actions: a(authz.TutoringAsk), Handle: h.handleAsk},
		{Method: "GET", Path: "/tutoring/requests/current", Actions: a(authz.TutoringAsk), Handle: h.handleCurrentRequest},
		{Method: "POST", Path: "/tutoring/requests/{id}/cancel", Actions: a(authz.TutoringAsk), Handle: h.handleCancelRequest},
		{Method: "GET", Path: "/tutoring/requests/{id}/image", Actions: a(authz.TutoringAsk, authz.TutoringTeach), Handle: h.handleRequestImage},
		{Method: "GET", Path: "/tutoring/sessions", Actions: a(authz.TutoringHistory), Handle: h.handleSessionHistory},
		{Method: "GET", Path: "/tutoring/sessions/{id}", Actions: a(authz.TutoringHistory, authz.TutoringReview), Handle: h.handleGetSession},
		{Method: "POST", Path: "/tutoring/sessions/{id}/token", Actions: a(authz.TutoringHistory), Handle: h.handleSessionToken},
		{Method: "POST", Path: "/tutoring/sessions/{id}/end", Actions: a(authz.TutoringHistory), Handle: h.handleEndSession},
		{Method: "PUT", Path: "/tutoring/sessions/{id}/rating", Actions: a(authz.TutoringAsk), Handle: h.handleRateSession},
		{Method: "PUT", Path: "/tutoring/sessions/{id}/note", Actions: a(authz.TutoringTeach), Handle: h.handleNoteSession},
		{Method: "GET", Path: "/tutoring/satisfaction", Actions: a(authz.TutoringReview), Handle: h.handleSatisfaction},
		{Method: "GET", Path: "/tutoring/audit", Actions: a(authz.TutoringReview), Handle: h.handleAudit},
	}
}

// ---- requests

// askBody is a JSON request for help (multipart forms carry the same fields and an image).
type askBody struct {
	SubjectID        storage.SubjectID        `json:"subject_id"`
	Grade            int                      `json:"grade"`
	KnowledgePointID storage.KnowledgePointID `json:"knowledge_point_id"`
	Text             string                   `json:"text"`
}

// maxAskUpload bounds a request with a picture.
const maxAskUpload = storage.MaxRequestImage + 64<<10

func (h *Service) handleAsk(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	in := storage.TutoringRequestInput{StudentID: p.User.ID}
	f := httpapi.Fields{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxAskUpload)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
					Message: fmt.Sprintf("the picture must be at most %d MiB", storage.MaxRequestImage>>20)}
			}
			return httpapi.BadRequest("could not read the form: %v", err)
		}
		defer r.MultipartForm.RemoveAll()
		num := func(name string) int64 {
			v := strings.TrimSpace(r.FormValue(name))
			if v == "" {
				return 0
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.Add(name, "must be a number")
			}
			return n
		}
		in.SubjectID = storage.SubjectID(num("subject_id"))
		in.Grade = int(num("grade"))
		in.KnowledgePointID = storage.KnowledgePointID(num("knowledge_point_id"))
		in.Text = r.FormValue("text")
		if file, _, err := r.FormFile("image"); err == nil {
			data, err := io.ReadAll(io.LimitReader(file, storage.MaxRequestImage+1))
			file.Close()
			if err != nil {
				return httpapi.BadRequest("could not read the picture: %v", err)
			}
			if len(data) > storage.MaxRequestImage {
				return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
					Message: fmt.Sprintf("the picture must be at most %d MiB", storage.MaxRequestImage>>20)}
			}
			if len(data) > 0 {
				in.Image, in.ImageType = data, http.DetectContentType(data)
				if in.ImageType == "image/jpeg" {
					// A phone's photo carries where it was taken: drop it.
					var ok bool
					if in.Image, ok = imagecheck.StripJPEGMetadata(data); !ok {
						return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid",
							Message: "the picture is not a readable JPEG", Fields: map[string]string{"image": "not a readable JPEG"}}
					}
				}
			}
		}
	} else {
		var b askBody
		if err := httpapi.DecodeJSON(w, r, &b); err != nil {
			return err
		}
		in.SubjectID, in.Grade, in.KnowledgePointID, in.Text = b.SubjectID, b.Grade, b.KnowledgePointID, b.Text
	}
	if in.SubjectID <= 0 {
		f.Add("subject_id", "required")
	}
	if in.Grade < 1 || in.Grade > 12 {
		f.Add("grade", "must be 1–12")
	}
	if err := f.Err(); err != nil {
		return err
	}
	req, err := h.Ask(r.Context(), httpapi.Actor(r), in)
	if err != nil {
		return err
	}
	// Asking may have made an offer at once: answer with the state now.
	if now, err := h.p.Store.GetTutoringRequest(r.Context(), req.ID); err == nil {
		req = now
	}
	httpapi.WriteJSON(w, http.StatusCreated, h.View(r.Context(), req))
	return nil
}

func (h *Service) handleCurrentRequest(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	req, err := h.p.Store.ActiveTutoringRequest(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, h.View(r.Context(), req))
	return nil
}

func (h *Service) handleCancelRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.Cancel(r.Context(), httpapi.Actor(r), storage.TutoringRequestID(id)); err != nil {
		return err
	}
	req, err := h.p.Store.GetTutoringRequest(r.Context(), storage.TutoringRequestID(id))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, h.View(r.Context(), req))
	return nil
}

// handleRequestImage serves a request's picture to its student and to the
// teachers it was offered to.
func (h *Service) handleRequestImage(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	rid := storage.TutoringRequestID(id)
	req, err := h.p.Store.GetTutoringRequest(r.Context(), rid)
	if err != nil {
		return err
	}
	if req.StudentID != p.User.ID {
		offered, err := h.p.Store.HasTutoringOffer(r.Context(), rid, p.User.ID)
		if err != nil {
			return err
		}
		if !offered {
			return httpapi.ErrForbidden
		}
	}
	data, typ, err := h.p.Store.TutoringRequestImage(r.Context(), rid)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
	return nil
}

// ---- sessions

// sessionFor loads a session the caller takes part in, or (for reviewers)
// one in their scope.
func (h *Service) sessionFor(r *http.Request, participantOnly bool) (storage.TutoringSession, error) {
	p := httpapi.PrincipalFrom(r.Context())
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.TutoringSession{}, err
	}
	sess, err := h.p.Store.GetTutoringSession(r.Context(), storage.TutoringSessionID(id))
	if err != nil {
		return sess, err
	}
	if sess.StudentID == p.User.ID || sess.TeacherID == p.User.ID {
		return sess, nil
	}
	if participantOnly {
		return sess, httpapi.ErrForbidden
	}
	sc, err := h.p.Store.GetSchool(r.Context(), sess.SchoolID)
	if err != nil {
		return sess, err
	}
	if _, err := httpapi.Authorize(r, authz.TutoringReview, httpapi.SchoolPlace(sc)); err != nil {
		return sess, err
	}
	return sess, nil
}

func (h *Service) handleGetSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.sessionFor(r, false)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, sess)
	return nil
}

// sessionJoin is what a participant needs to enter a session's room: the
// hosting node's URL and a token.
type sessionJoin struct {
	URL      string                  `json:"url"`
	Token    string                  `json:"token"`
	Identity string                  `json:"identity"`
	Room     string                  `json:"room"`
	Role     string                  `json:"role"`
	Session  storage.TutoringSession `json:"session"`
}

func (h *Service) handleSessionToken(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	sess, err := h.sessionFor(r, true)
	if err != nil {
		return err
	}
	if !sess.EndedAt.IsZero() {
		return &httpapi.Error{Status: http.StatusConflict, Code: "ended", Message: "this session has ended"}
	}
	identity := string(Identity(p.User.ID))
	// Short-lived: joining needs it once; the room sends a fresh one to
	// participants every few minutes, which reconnects use.
	tok, err := h.p.Key.Mint(token.Params{Room: sess.Room, Identity: identity, Name: p.User.Name, Role: token.RolePeer,
		ValidFor: token.JoinValidFor})
	if err != nil {
		return fmt.Errorf("mint session token: %w", err)
	}
	base := sess.NodeURL
	if base == "" {
		base = h.p.NodeURL
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionJoin{URL: wsURL(base), Token: tok, Identity: identity, Room: sess.Room, Role: string(token.RolePeer), Session: sess})
	return nil
}

func (h *Service) handleEndSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.sessionFor(r, true)
	if err != nil {
		return err
	}
	ended, err := h.End(r.Context(), httpapi.Actor(r), sess.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ended)
	return nil
}

type ratingBody struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
	Solved  bool   `json:"solved"`
}

func (h *Service) handleRateSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.sessionFor(r, true)
	if err != nil {
		return err
	}
	var b ratingBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	rated, err := h.Rate(r.Context(), httpapi.Actor(r), sess.ID, storage.TutoringRating{Score: b.Score, Comment: b.Comment, Solved: b.Solved})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rated)
	return nil
}

type noteBody struct {
	Note            string                     `json:"note"`
	KnowledgePoints []storage.KnowledgePointID `json:"knowledge_point_ids"`
}

func (h *Service) handleNoteSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.sessionFor(r, true)
	if err != nil {
		return err
	}
	var b noteBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	noted, err := h.Note(r.Context(), httpapi.Actor(r), sess.ID, b.Note, b.KnowledgePoints)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, noted)
	return nil
}

// handleSessionHistory lists the caller's own sessions: as a student, or
// with ?as=teacher as a teacher (the default follows the caller's roles).
func (h *Service) handleSessionHistory(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	f := httpapi.Fields{}
	limit, offset := httpapi.ListPage(r, f)
	as := r.URL.Query().Get("as")
	if as == "" {
		as = "student"
		if p.User.Has(storage.RoleTeacher) {
			as = "teacher"
		}
	}
	filter := storage.SessionFilter{Limit: limit, Offset: offset}
	switch {
	case as == "teacher" && p.User.Has(storage.RoleTeacher):
		filter.TeacherID = p.User.ID
	case as == "student" && p.User.Has(storage.RoleStudent):
		filter.StudentID = p.User.ID
	default:
		f.Add("as", "must be a role of yours: student or teacher")
	}
	if err := f.Err(); err != nil {
		return err
	}
	items, total, err := h.p.Store.ListTutoringSessions(r.Context(), filter)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.List[storage.TutoringSession]{Items: httpapi.NonNil(items), Total: total})
	return nil
}

// handleSatisfaction reports satisfaction with tutoring in the caller's scope.
func (h *Service) handleSatisfaction(w http.ResponseWriter, r *http.Request) error {
	sq, err := httpapi.SatisfactionQuery(r, h.p.Store, authz.TutoringReview, h.p.Clock.Now(), storage.ByMonth, storage.ByTeacher, storage.BySchool, storage.BySubject)
	if err != nil {
		return err
	}
	items, err := h.p.Store.TutoringSatisfaction(r.Context(), sq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Satisfaction]{Items: httpapi.NonNil(items)})
	return nil
}

// handleAudit lists the sessions in the caller's review scope (the
// student's school), newest first, with their ratings, the teachers' notes
// and, where recorded, the recording. Filters: school_id, teacher_id,
// rated (true/false), max_score (1–5), from and to (YYYY-MM-DD).
func (h *Service) handleAudit(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	q := r.URL.Query()
	f := httpapi.Fields{}
	filter := storage.TutoringAuditFilter{TeacherID: storage.UserID(httpapi.QueryID(r, "teacher_id", f)),
		Rated: httpapi.QueryBool(r, "rated", f)}
	filter.Limit, filter.Offset = httpapi.ListPage(r, f)
	if v := q.Get("max_score"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			f.Add("max_score", "must be 1–5")
		}
		filter.MaxScore = n
	}
	day := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01-02", v, storage.Zone)
		if err != nil {
			f.Add(name, "a date, YYYY-MM-DD")
		}
		return t
	}
	filter.From = day("from")
	if to := day("to"); !to.IsZero() {
		filter.To = to.AddDate(0, 0, 1)
	}
	school, err := httpapi.ExplicitSchool(r, h.p.Store, authz.TutoringReview, "school_id", f)
	if err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	if school != 0 {
		filter.SchoolID = school
	} else if filter.DistrictID, filter.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), h.p.Store,
		authz.ScopeOf(&p.User, authz.TutoringReview)); err != nil {
		return err
	}
	items, total, err := h.p.Store.AuditTutoringSessions(r.Context(), filter)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.List[storage.TutoringAudit]{Items: httpapi.NonNil(items), Total: total})
	return nil
}
