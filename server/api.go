package server

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"strconv"
	"time"

	"yunke/server/account"
	"yunke/server/activity"
	"yunke/server/authz"
	"yunke/server/classes"
	"yunke/server/classroom"
	"yunke/server/directory"
	"yunke/server/httpapi"
	"yunke/server/microlessons"
	"yunke/server/qa"
	"yunke/server/recording"
	"yunke/server/reports"
	"yunke/server/research"
	"yunke/server/review"
	"yunke/server/rooms"
	"yunke/server/selection"
	"yunke/server/token"
	"yunke/signaling/events"
	"yunke/signaling/matching"
)

// setupDomains builds every domain of the API and the gate in front of
// them. Tutoring is built before (setupTutoring), with the matcher and the
// event bus it shares with signaling.
func (s *Server) setupDomains() (err error) {
	var rdb = s.tutor.rdb // nil without Redis
	s.account = account.New(account.Params{Store: s.store, Hasher: s.hasher, Auth: s.cfg.Auth, Redis: rdb,
		RedisPrefix: s.cfg.Redis.KeyPrefix, DeviceKey: account.DeviceKey(s.cfg.Development, s.cfg.Keys),
		Logger: s.log.With("component", "account"), Now: s.now})
	s.directory = directory.New(directory.Params{Store: s.store, Hasher: s.hasher, Logger: s.log.With("component", "directory"), Now: s.now})
	s.activity = activity.New(activity.Params{Store: s.store, Logger: s.log.With("component", "activity"), Now: s.now})
	s.classroom = classroom.New(classroom.Params{Store: s.store, Logger: s.log.With("component", "classroom"), Now: s.now})
	s.rooms = rooms.New(rooms.Params{Store: s.store, Key: token.FirstKey(s.cfg.Keys), Development: s.cfg.Development})
	s.classes = classes.New(classesParams(s))
	s.microlessons, err = microlessons.New(s.microlessonParams())
	var limiter qa.Limiter = &qa.MemoryLimiter{Now: s.now}
	if rdb != nil {
		limiter = &qa.RedisLimiter{Client: rdb, Prefix: s.cfg.Redis.KeyPrefix + ":qa-limit:"}
	}
	s.research = research.New(research.Params{Store: s.store, Limiter: limiter, Logger: s.log.With("component", "research"), Now: s.now})
	s.recording = recording.New(s.recordingParams())
	var notifier qa.Notifier
	if presence, ok := s.tutor.matcher.(matching.Notifier); ok {
		s.qaRouter = qa.NewRouter(qa.RouterParams{Presence: presence, Bus: s.tutor.bus, Question: s.store.GetQuestion,
			SchoolRounds: s.cfg.QA.SchoolRounds,
			Batch:        s.cfg.QA.NotifyBatch, Widen: time.Duration(s.cfg.QA.WidenSeconds) * time.Second,
			Logger: s.log.With("component", "qa"), Now: s.now})
		notifier = s.qaRouter
	}
	s.qa = qa.New(qa.Params{Store: s.store, Tutoring: s.tutor.service, Notifier: notifier, Limiter: limiter,
		StudentsAnswer: s.cfg.QA.StudentsAnswer, MaxImages: s.cfg.QA.MaxImages,
		EditWindow:  time.Duration(s.cfg.QA.EditMinutes) * time.Minute,
		AdoptWindow: time.Duration(s.cfg.QA.AdoptChangeHours) * time.Hour,
		ClaimFor:    time.Duration(s.cfg.QA.ClaimMinutes) * time.Minute,
		Logger:      s.log.With("component", "qa"), Now: s.now})
	var drafts review.Limiter = &qa.MemoryLimiter{Now: s.now}
	if rdb != nil {
		drafts = &qa.RedisLimiter{Client: rdb, Prefix: s.cfg.Redis.KeyPrefix + ":review-limit:"}
	}
	s.review = review.New(review.Params{Store: s.store, Logger: s.log.With("component", "review"), Now: s.now, Limiter: drafts})
	if err == nil {
		err = s.review.SeedDefaults(context.Background())
	}
	s.selection = selection.New(selection.Params{Store: s.store, Media: s.recording, Logger: s.log.With("component", "selection"), Now: s.now})
	terms, terr := reports.ParseTerms(s.cfg.Reports.TermStarts)
	if err == nil {
		err = terr
	}
	s.reports = reports.New(reports.Params{Store: s.store, Kept: s.store, Jobs: s.jobs, Limiter: limiter, Terms: terms, Now: s.now,
		Logger: s.log.With("component", "reports")})
	s.gate = &httpapi.Gate{Auth: s.account, Log: s.log.With("component", "api")}
	return err
}

// apiRoutes is every route under /api/v1: the server's own, then each
// domain's.
func (s *Server) apiRoutes() []httpapi.Route {
	routes := []httpapi.Route{
		{Method: "GET", Path: "/server", Public: true, Handle: s.handleServerInfo},
		{Method: "GET", Path: "/openapi.json", Public: true, Handle: s.handleOpenAPI},
		{Method: "GET", Path: "/ws", Handle: s.handleEvents},
	}
	for _, d := range []interface{ Routes() []httpapi.Route }{s.account, s.directory, s.activity, s.rooms, s.classroom, s.tutor.service, s.classes, s.microlessons, s.recording, s.qa, s.review, s.research, s.selection, s.reports, s.jobs} {
		routes = append(routes, d.Routes()...)
	}
	return routes
}

// RouteInfo describes one API route for tests and documentation.
type RouteInfo struct {
	Method, Path string
	Public       bool
	// Actions: the caller needs at least one (none: any signed-in user).
	Actions []authz.Action
}

// APIRoutes lists the routes under /api/v1, with their full paths.
func (s *Server) APIRoutes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.apiRoutes() {
		out = append(out, RouteInfo{Method: rt.Method, Path: httpapi.Prefix + rt.Path, Public: rt.Public, Actions: rt.Actions})
	}
	return out
}

func (s *Server) handleServerInfo(w http.ResponseWriter, _ *http.Request) error {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"version":     s.version,
		"protocol":    CompatVersion,
		"development": s.cfg.Development,
	})
	return nil
}

// openAPI is the machine-readable API description, written by hand next to
// docs/api.md; a test checks that it names exactly the routes registered.
//
//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	_, _ = w.Write(openAPI)
	return nil
}

// errTooManySockets answers an event socket over limits.sockets_per_user.
var errTooManySockets = &httpapi.Error{Status: http.StatusTooManyRequests, Code: "too_many_sockets",
	Message: "too many connections open: close other tabs or windows of this site"}

// handleEvents serves the signed-in user's event socket (/api/v1/ws).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	err := s.tutor.hub.Serve(w, r, events.UserID(p.User.ID), s.tutor.service)
	if errors.Is(err, events.ErrTooManySockets) {
		return errTooManySockets
	}
	return err
}
