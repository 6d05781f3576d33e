package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/authz"
	"yunke/server/token"
	"yunke/signaling"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/signaling/tutoring"
	"yunke/storage"
)

// tutoringStore is what the tutoring API needs beyond the service's own store.
type tutoringStore interface {
	tutoring.Store
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	TutoringRequestImage(ctx context.Context, id storage.TutoringRequestID) ([]byte, string, error)
	HasTutoringOffer(ctx context.Context, id storage.TutoringRequestID, teacher storage.UserID) (bool, error)
	ListTutoringSessions(ctx context.Context, f storage.SessionFilter) ([]storage.TutoringSession, int, error)
	RateTutoringSession(ctx context.Context, a storage.Actor, id storage.TutoringSessionID, r storage.TutoringRating, editWindow time.Duration) (storage.TutoringSession, error)
	NoteTutoringSession(ctx context.Context, a storage.Actor, id storage.TutoringSessionID, note string, points []storage.KnowledgePointID) (storage.TutoringSession, error)
	TutoringSatisfaction(ctx context.Context, q storage.SatisfactionQuery) ([]storage.Satisfaction, error)
}

var _ tutoringStore = (*storage.Store)(nil)

// tutoringParts are the pieces of one-to-one tutoring a Server runs:
// in process without Redis, shared through Redis with it.
type tutoringParts struct {
	rdb     *redis.Client
	hub     *events.Hub
	bus     events.Bus
	closeFn func()
	service *tutoring.Service
}

// setupTutoring decides memory or Redis once, here, and builds the
// matcher, the event bus and the tutoring service.
func (s *Server) setupTutoring(ctx context.Context) error {
	tc := s.cfg.Tutoring
	presence := time.Duration(tc.PresenceSeconds) * time.Second
	mcfg := matching.Config{
		PresenceTTL: presence,
		OfferTTL:    time.Duration(tc.OfferSeconds) * time.Second,
		MaxLapses:   tc.MaxLapses,
	}
	t := &tutoringParts{hub: events.NewHub(events.HubParams{Logger: s.log.With("component", "events"), ReadTimeout: presence, MaxPerUser: s.cfg.Limits.SocketsPerUser})}
	var m matching.Matcher
	if addr := s.cfg.Redis.Address; addr != "" {
		t.rdb = redis.NewClient(&redis.Options{Addr: addr, Username: s.cfg.Redis.Username, Password: s.cfg.Redis.Password, DB: s.cfg.Redis.DB})
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := t.rdb.Ping(pctx).Err(); err != nil {
			_ = t.rdb.Close()
			return fmt.Errorf("redis at %s: %w", addr, err)
		}
		prefix := s.cfg.Redis.KeyPrefix
		m = matching.NewRedis(matching.RedisParams{Client: t.rdb, Prefix: "{" + prefix + ":match}:", Config: mcfg})
		bus, err := events.NewRedisBus(pctx, events.RedisBusParams{Client: t.rdb, Channel: prefix + ":events", Hub: t.hub, Logger: s.log.With("component", "events")})
		if err != nil {
			_ = t.rdb.Close()
			return err
		}
		t.bus = bus
		t.closeFn = func() { bus.Close(); _ = t.rdb.Close() }
	} else {
		m = matching.NewMemory(mcfg)
		t.bus = events.Local{Hub: t.hub}
		t.closeFn = func() {}
	}
	t.service = tutoring.New(tutoring.Params{
		Store:     s.store,
		Matcher:   m,
		Bus:       t.bus,
		Rooms:     roomCloser{s},
		NodeURL:   s.PublicURL(),
		Logger:    s.log.With("component", "tutoring"),
		OfferTTL:  mcfg.OfferTTL,
		Grace:     time.Duration(tc.GraceSeconds) * time.Second,
		MaxLength: time.Duration(tc.MaxMinutes) * time.Minute,
		Capacity:  tc.Capacity,
		Tick:      s.tutoringTick,
	})
	s.tutor = t
	return nil
}

// roomCloser closes a session's room on this node's signaling service.
type roomCloser struct{ s *Server }

func (c roomCloser) CloseRoom(name signaling.RoomName) bool { return c.s.sig.CloseRoom(name) }

// PublicURL is the base URL browsers reach this node at.
func (s *Server) PublicURL() string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	return s.URL()
}

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

// ---- the event socket

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	return s.tutor.hub.Serve(w, r, events.UserID(p.user.ID), s.tutor.service)
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

func (s *Server) handleAsk(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	in := storage.TutoringRequestInput{StudentID: p.user.ID}
	f := fieldErrors{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxAskUpload)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
					Message: fmt.Sprintf("the picture must be at most %d MiB", storage.MaxRequestImage>>20)}
			}
			return badRequest("could not read the form: %v", err)
		}
		defer r.MultipartForm.RemoveAll()
		num := func(name string) int64 {
			v := strings.TrimSpace(r.FormValue(name))
			if v == "" {
				return 0
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.add(name, "must be a number")
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
				return badRequest("could not read the picture: %v", err)
			}
			if len(data) > storage.MaxRequestImage {
				return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
					Message: fmt.Sprintf("the picture must be at most %d MiB", storage.MaxRequestImage>>20)}
			}
			if len(data) > 0 {
				in.Image, in.ImageType = data, http.DetectContentType(data)
			}
		}
	} else {
		var b askBody
		if err := decodeJSON(w, r, &b); err != nil {
			return err
		}
		in.SubjectID, in.Grade, in.KnowledgePointID, in.Text = b.SubjectID, b.Grade, b.KnowledgePointID, b.Text
	}
	if in.SubjectID <= 0 {
		f.add("subject_id", "required")
	}
	if in.Grade < 1 || in.Grade > 12 {
		f.add("grade", "must be 1–12")
	}
	if err := f.err(); err != nil {
		return err
	}
	req, err := s.tutor.service.Ask(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	// Asking may have made an offer at once: answer with the state now.
	if now, err := s.tutoring.GetTutoringRequest(r.Context(), req.ID); err == nil {
		req = now
	}
	writeJSON(w, http.StatusCreated, s.tutor.service.View(r.Context(), req))
	return nil
}

func (s *Server) handleCurrentRequest(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	req, err := s.tutoring.ActiveTutoringRequest(r.Context(), p.user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.tutor.service.View(r.Context(), req))
	return nil
}

func (s *Server) handleCancelRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.tutor.service.Cancel(r.Context(), actor(r), storage.TutoringRequestID(id)); err != nil {
		return err
	}
	req, err := s.tutoring.GetTutoringRequest(r.Context(), storage.TutoringRequestID(id))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.tutor.service.View(r.Context(), req))
	return nil
}

// handleRequestImage serves a request's picture to its student and to the
// teachers it was offered to.
func (s *Server) handleRequestImage(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rid := storage.TutoringRequestID(id)
	req, err := s.tutoring.GetTutoringRequest(r.Context(), rid)
	if err != nil {
		return err
	}
	if req.StudentID != p.user.ID {
		offered, err := s.tutoring.HasTutoringOffer(r.Context(), rid, p.user.ID)
		if err != nil {
			return err
		}
		if !offered {
			return errForbidden
		}
	}
	data, typ, err := s.tutoring.TutoringRequestImage(r.Context(), rid)
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
func (s *Server) sessionFor(r *http.Request, participantOnly bool) (storage.TutoringSession, error) {
	p := principalFrom(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return storage.TutoringSession{}, err
	}
	sess, err := s.tutoring.GetTutoringSession(r.Context(), storage.TutoringSessionID(id))
	if err != nil {
		return sess, err
	}
	if sess.StudentID == p.user.ID || sess.TeacherID == p.user.ID {
		return sess, nil
	}
	if participantOnly {
		return sess, errForbidden
	}
	sc, err := s.tutoring.GetSchool(r.Context(), sess.SchoolID)
	if err != nil {
		return sess, err
	}
	if _, err := s.authorize(r, authz.TutoringReview, schoolPlace(sc)); err != nil {
		return sess, err
	}
	return sess, nil
}

func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.sessionFor(r, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
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

func (s *Server) handleSessionToken(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	sess, err := s.sessionFor(r, true)
	if err != nil {
		return err
	}
	if !sess.EndedAt.IsZero() {
		return &apiError{Status: http.StatusConflict, Code: "ended", Message: "this session has ended"}
	}
	key, secret := s.devKey()
	identity := string(tutoring.Identity(p.user.ID))
	// Short-lived: joining needs it once; the room sends a fresh one to
	// participants every few minutes, which reconnects use.
	tok, err := token.Mint(key, secret, token.Params{Room: sess.Room, Identity: identity, Name: p.user.Name, Role: token.RolePeer,
		ValidFor: token.JoinValidFor})
	if err != nil {
		return fmt.Errorf("mint session token: %w", err)
	}
	base := sess.NodeURL
	if base == "" {
		base = s.PublicURL()
	}
	writeJSON(w, http.StatusOK, sessionJoin{URL: wsURL(base), Token: tok, Identity: identity, Room: sess.Room, Role: string(token.RolePeer), Session: sess})
	return nil
}

func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.sessionFor(r, true)
	if err != nil {
		return err
	}
	ended, err := s.tutor.service.End(r.Context(), actor(r), sess.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ended)
	return nil
}

type ratingBody struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
	Solved  bool   `json:"solved"`
}

func (s *Server) handleRateSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.sessionFor(r, true)
	if err != nil {
		return err
	}
	var b ratingBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	f := fieldErrors{}
	if b.Score < 1 || b.Score > 5 {
		f.add("score", "must be 1–5")
	}
	checkText(f, "comment", &b.Comment, 0, storage.MaxRatingText)
	if err := f.err(); err != nil {
		return err
	}
	window := time.Duration(s.cfg.Tutoring.RatingEditMinutes) * time.Minute
	rated, err := s.tutoring.RateTutoringSession(r.Context(), actor(r), sess.ID, storage.TutoringRating{Score: b.Score, Comment: b.Comment, Solved: b.Solved}, window)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rated)
	return nil
}

type noteBody struct {
	Note            string                     `json:"note"`
	KnowledgePoints []storage.KnowledgePointID `json:"knowledge_point_ids"`
}

func (s *Server) handleNoteSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.sessionFor(r, true)
	if err != nil {
		return err
	}
	var b noteBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	f := fieldErrors{}
	checkText(f, "note", &b.Note, 0, storage.MaxNoteText)
	if err := f.err(); err != nil {
		return err
	}
	noted, err := s.tutoring.NoteTutoringSession(r.Context(), actor(r), sess.ID, b.Note, b.KnowledgePoints)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noted)
	return nil
}

// handleSessionHistory lists the caller's own sessions: as a student, or
// with ?as=teacher as a teacher (the default follows the caller's roles).
func (s *Server) handleSessionHistory(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	f := fieldErrors{}
	limit, offset := listPage(r, f)
	as := r.URL.Query().Get("as")
	if as == "" {
		as = "student"
		if p.user.Has(storage.RoleTeacher) {
			as = "teacher"
		}
	}
	filter := storage.SessionFilter{Limit: limit, Offset: offset}
	switch {
	case as == "teacher" && p.user.Has(storage.RoleTeacher):
		filter.TeacherID = p.user.ID
	case as == "student" && p.user.Has(storage.RoleStudent):
		filter.StudentID = p.user.ID
	default:
		f.add("as", "must be a role of yours: student or teacher")
	}
	if err := f.err(); err != nil {
		return err
	}
	items, total, err := s.tutoring.ListTutoringSessions(r.Context(), filter)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listAnswer[storage.TutoringSession]{Items: nonNil(items), Total: total})
	return nil
}

// handleSatisfaction reports satisfaction with tutoring in the caller's scope.
func (s *Server) handleSatisfaction(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.TutoringReview)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	q := r.URL.Query()
	now := s.now().In(shanghai)
	sq := storage.SatisfactionQuery{FromMonth: now.Year()*100 + 1, ToMonth: now.Year()*100 + int(now.Month()),
		GroupBy: storage.SatisfactionGroup(q.Get("group"))}
	if sq.GroupBy == "" {
		sq.GroupBy = storage.ByMonth
	}
	switch sq.GroupBy {
	case storage.ByMonth, storage.ByTeacher, storage.BySchool, storage.BySubject:
	default:
		f.add("group", "must be month, teacher, school or subject")
	}
	if v := q.Get("from"); v != "" {
		if sq.FromMonth, _ = parseMonth(v); sq.FromMonth == 0 {
			f.add("from", "must be YYYY-MM")
		}
	}
	if v := q.Get("to"); v != "" {
		if sq.ToMonth, _ = parseMonth(v); sq.ToMonth == 0 {
			f.add("to", "must be YYYY-MM")
		}
	}
	school, err := s.explicitSchool(r, authz.TutoringReview, "school_id", f)
	if err != nil {
		return err
	}
	if err := f.err(); err != nil {
		return err
	}
	if school != 0 {
		sq.SchoolIDs = []storage.SchoolID{school}
	} else if sq.DistrictID, sq.SchoolIDs, err = s.scopeFilter(r.Context(), authz.ScopeOf(&p.user, authz.TutoringReview)); err != nil {
		return err
	}
	items, err := s.tutoring.TutoringSatisfaction(r.Context(), sq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemsAnswer[storage.Satisfaction]{Items: nonNil(items)})
	return nil
}

// tutoringAPIError maps the tutoring service's client errors.
func tutoringAPIError(err error) (*apiError, bool) {
	var te *tutoring.Error
	switch {
	case errors.As(err, &te):
		status := http.StatusConflict
		switch te.Code() {
		case "forbidden":
			status = http.StatusForbidden
		case "invalid", "bad_request":
			status = http.StatusBadRequest
		case "unavailable":
			status = http.StatusServiceUnavailable
		}
		return &apiError{Status: status, Code: te.Code(), Message: te.Error()}, true
	case errors.Is(err, storage.ErrClosed):
		return &apiError{Status: http.StatusConflict, Code: "closed", Message: "this can no longer be changed"}, true
	}
	return nil, false
}
