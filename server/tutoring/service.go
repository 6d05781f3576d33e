// Package tutoring runs one-to-one tutoring: teachers' presence, students'
// requests, offers with a countdown, and the private session a matched pair
// meets in — timed from the SFU's joins and departures, and recorded in
// durable storage together with its activity.
//
// Matching itself is the matching package's (in process or on Redis);
// events reach browsers through the events package's bus. This package
// ties them to storage: every change of a request, an offer or a session is
// written to the store first, so a restarted node or Redis loses nothing
// that cannot be rebuilt from it.
package tutoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"yunke/server/httpapi"
	"yunke/server/token"
	"yunke/signaling"
	"yunke/signaling/events"
	"yunke/signaling/ids"
	"yunke/signaling/matching"
	"yunke/storage"
)

// Store is what tutoring needs of durable storage.
type Store interface {
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	AuditTutoringSessions(ctx context.Context, f storage.TutoringAuditFilter) ([]storage.TutoringAudit, int, error)
	ListSubjects(ctx context.Context) ([]storage.Subject, error)

	CreateTutoringRequest(ctx context.Context, a storage.Actor, in storage.TutoringRequestInput) (storage.TutoringRequest, error)
	GetTutoringRequest(ctx context.Context, id storage.TutoringRequestID) (storage.TutoringRequest, error)
	// ActiveTutoringRequest is the student's waiting or offered request (ErrNotFound if none).
	ActiveTutoringRequest(ctx context.Context, student storage.UserID) (storage.TutoringRequest, error)
	// OpenTutoringRequests lists every waiting or offered request, oldest first.
	OpenTutoringRequests(ctx context.Context) ([]storage.TutoringRequest, error)
	// RecordTutoringOffer marks the request offered to the teacher until expires
	// (an earlier pending offer of the request is closed as revoked), unless
	// the teacher already runs capacity sessions (storage.ErrBusy).
	RecordTutoringOffer(ctx context.Context, id storage.TutoringRequestID, teacher storage.UserID, capacity int, at, expires time.Time) error
	// CloseTutoringOffer ends the pending offer with an outcome other than
	// accepted; the request waits again.
	CloseTutoringOffer(ctx context.Context, id storage.TutoringRequestID, teacher storage.UserID, outcome storage.OfferOutcome, at time.Time) error
	// PendingTutoringOffer is the teacher's open offer, if any (ErrNotFound if none).
	PendingTutoringOffer(ctx context.Context, teacher storage.UserID) (storage.TutoringRequest, time.Time, error)
	CancelTutoringRequest(ctx context.Context, a storage.Actor, id storage.TutoringRequestID, at time.Time) error
	// AcceptTutoringOffer closes the offer as accepted and creates the
	// session, unless the teacher already runs capacity sessions
	// (storage.ErrBusy): the record never holds more.
	AcceptTutoringOffer(ctx context.Context, id storage.TutoringRequestID, teacher storage.UserID, nodeURL string, capacity int, at time.Time) (storage.TutoringSession, error)
	StartTutoringSession(ctx context.Context, id storage.TutoringSessionID, at time.Time) (storage.TutoringSession, error)
	// EndTutoringSession records the end once; ended is false when the
	// session had ended already.
	EndTutoringSession(ctx context.Context, id storage.TutoringSessionID, at time.Time, reason string) (sess storage.TutoringSession, ended bool, err error)
	GetTutoringSession(ctx context.Context, id storage.TutoringSessionID) (storage.TutoringSession, error)
	// LiveTutoringSessions lists the sessions that have not ended.
	LiveTutoringSessions(ctx context.Context) ([]storage.TutoringSession, error)
	// ActiveTutoringSession is the user's session that has not ended (ErrNotFound if none).
	ActiveTutoringSession(ctx context.Context, user storage.UserID) (storage.TutoringSession, error)

	// What the routes read and write besides.
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
	TutoringRequestImage(ctx context.Context, id storage.TutoringRequestID) ([]byte, string, error)
	HasTutoringOffer(ctx context.Context, id storage.TutoringRequestID, teacher storage.UserID) (bool, error)
	ListTutoringSessions(ctx context.Context, f storage.SessionFilter) ([]storage.TutoringSession, int, error)
	SaveTutoringRating(ctx context.Context, a storage.Actor, id storage.TutoringSessionID, r storage.TutoringRating, at time.Time) (storage.TutoringSession, error)
	SaveTutoringNote(ctx context.Context, a storage.Actor, id storage.TutoringSessionID, note string, points []storage.KnowledgePointID, at time.Time) (storage.TutoringSession, error)
	TutoringSatisfaction(ctx context.Context, q storage.SatisfactionQuery) ([]storage.Satisfaction, error)
}

var _ Store = (*storage.Store)(nil)

// Rooms closes a session's room when it ends.
type Rooms interface {
	CloseRoom(name ids.RoomName) bool
}

// Clock is the time a Service runs on; tests move a fake one by hand.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; false if it has.
	Stop() bool
}

// SystemClock is the real time.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Params configure a Service. Zero durations take the defaults.
type Params struct {
	Store   Store
	Matcher matching.Matcher
	Bus     events.Bus
	Rooms   Rooms
	// NodeURL is this node's public base URL; sessions accepted here are
	// hosted here, and both browsers connect to it.
	NodeURL string
	Logger  *slog.Logger
	// Clock is the service's time (default: the system's).
	Clock Clock

	// OfferTTL must equal the matcher's (default 20 s).
	OfferTTL time.Duration
	// Grace is how long a participant may be gone before the session ends (default 30 s).
	Grace time.Duration
	// MaxLength ends a session that runs this long (default 60 min).
	MaxLength time.Duration
	// NoShow ends an accepted session nobody started within it (default 3 min).
	NoShow time.Duration
	// Tick is how often lapsed offers are collected and queue positions
	// refreshed (default 1 s).
	Tick time.Duration
	// Capacity is how many sessions a teacher takes at once (default 1).
	Capacity int
	// SyncEvery is how often the matcher's running sessions are checked
	// against the durable record (default 30 s).
	SyncEvery time.Duration
	// RatingWindow is how long after the first rating a student may change
	// it (default 30 min).
	RatingWindow time.Duration
	// Key signs the room tokens of sessions.
	Key token.Key
}

// acceptMargin is how long an accept may take between the matcher and the
// store: a session the matcher recorded less than this before the durable
// record was read is kept even if the record does not show it yet.
const acceptMargin = time.Minute

// positionEvery is how often waiting students are told their place.
const positionEvery = 2 * time.Second

// Service is one node's tutoring service.
type Service struct {
	p   Params
	log *slog.Logger

	mu        sync.Mutex
	teachers  map[storage.UserID]*teacherState // teachers with a socket on this node
	students  map[storage.UserID]bool          // students with a socket on this node
	sessions  map[storage.TutoringSessionID]*liveSession
	waitEWMA  map[matching.Key]time.Duration // time between offers, per queue
	lastOffer map[matching.Key]time.Time
	closed    bool
	wg        sync.WaitGroup
}

type teacherState struct {
	available bool
	subjects  []string
	grades    []int
	keys      []matching.Key
	scopes    []string // district and school, for Q&A routing
	// implicit: no presence message yet; online in the queues of the
	// account's subjects and grades (told of Q&A questions), not available
	// for tutoring, and reported with no choices of its own.
	implicit bool
}

// liveSession tracks a session hosted on this node.
type liveSession struct {
	rec     storage.TutoringSession
	present map[ids.Identity]bool
	timer   Timer // grace, no-show or max length, whichever is next
}

// New returns a Service; call Run to start its housekeeping.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Clock == nil {
		p.Clock = SystemClock{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.OfferTTL, 20*time.Second)
	def(&p.Grace, 30*time.Second)
	def(&p.MaxLength, 60*time.Minute)
	def(&p.NoShow, 3*time.Minute)
	def(&p.Tick, time.Second)
	def(&p.SyncEvery, 30*time.Second)
	def(&p.RatingWindow, 30*time.Minute)
	if p.Capacity <= 0 {
		p.Capacity = 1
	}
	return &Service{
		p: p, log: p.Logger,
		teachers:  map[storage.UserID]*teacherState{},
		students:  map[storage.UserID]bool{},
		sessions:  map[storage.TutoringSessionID]*liveSession{},
		waitEWMA:  map[matching.Key]time.Duration{},
		lastOffer: map[matching.Key]time.Time{},
	}
}

// Identity is a user's identity in rooms (and in access tokens).
func Identity(u storage.UserID) ids.Identity {
	return ids.Identity("u" + strconv.FormatInt(int64(u), 10))
}

// RoomName is the private room of a session.
func RoomName(id storage.TutoringSessionID) ids.RoomName {
	return ids.RoomName("tutor-" + strconv.FormatInt(int64(id), 10))
}

func sessionOfRoom(room ids.RoomName) (storage.TutoringSessionID, bool) {
	s, ok := strings.CutPrefix(string(room), "tutor-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return storage.TutoringSessionID(n), err == nil && n > 0
}

// Error is an error a client should see, with a code.
type Error struct {
	code, msg string
	cause     error // for the log; never shown to the client
}

func (e *Error) Error() string { return e.msg }

// Unwrap is the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Code implements events.CodedError and httpapi.Coded.
func (e *Error) Code() string { return e.code }

// HTTPStatus implements httpapi.Coded.
func (e *Error) HTTPStatus() int {
	switch e.code {
	case "forbidden":
		return http.StatusForbidden
	case "invalid", "bad_request":
		return http.StatusBadRequest
	case "unavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusConflict
}

func clientErr(code, format string, args ...any) error {
	return &Error{code: code, msg: fmt.Sprintf(format, args...)}
}

// Errors the API maps to statuses.
var (
	ErrForbidden     = &Error{code: "forbidden", msg: "not allowed for your role"}
	ErrAlreadyActive = &Error{code: "already_waiting", msg: "you already have an open request; cancel it first"}
	ErrOfferGone     = &Error{code: "offer_gone", msg: "this offer is no longer open"}
	ErrInSession     = &Error{code: "in_session", msg: "you are in a tutoring session already"}
	ErrTeacherBusy   = &Error{code: "in_session", msg: "you are in a tutoring session already: end it before taking another student"}
)

// unavailable is a matcher failure (Redis down, say) as the client sees it.
func unavailable(err error) error {
	return &Error{code: "unavailable", msg: "tutoring is briefly unavailable; please try again in a moment", cause: err}
}

// keyOf is the queue of a request.
func keyOf(subjectCode string, grade int) (matching.Key, bool) {
	b, ok := matching.BandOf(grade)
	return matching.Key{Subject: subjectCode, Band: b}, ok
}

func reqID(id storage.TutoringRequestID) matching.RequestID {
	return matching.RequestID(strconv.FormatInt(int64(id), 10))
}

func parseReqID(id matching.RequestID) storage.TutoringRequestID {
	n, _ := strconv.ParseInt(string(id), 10, 64)
	return storage.TutoringRequestID(n)
}

func teacherID(u storage.UserID) matching.TeacherID {
	return matching.TeacherID(strconv.FormatInt(int64(u), 10))
}

func parseUser(s string) storage.UserID {
	n, _ := strconv.ParseInt(s, 10, 64)
	return storage.UserID(n)
}

func (s *Service) publish(ctx context.Context, to storage.UserID, ev events.Event) {
	if err := s.p.Bus.Publish(ctx, events.UserID(to), ev); err != nil {
		s.log.Warn("publish event", "type", ev.Type, "err", err)
	}
}

// Restore refills a fresh matcher from the store (see restore); a node
// calls it before it starts serving.
func (s *Service) Restore(ctx context.Context) error { return s.restore(ctx) }

// Run does the housekeeping until ctx ends: restores state when the
// matcher is fresh, collects lapsed offers, refreshes queue positions.
func (s *Service) Run(ctx context.Context) error {
	if err := s.restore(ctx); err != nil {
		s.log.Warn("restore tutoring state", "err", err)
	}
	t := time.NewTicker(s.p.Tick)
	defer t.Stop()
	var lastPositions, lastSync time.Time
	for {
		select {
		case <-ctx.Done():
			s.stop()
			return nil
		case <-t.C:
			if err := s.restore(ctx); err != nil {
				s.log.Warn("restore tutoring state", "err", err)
			}
			s.expire(ctx)
			if now := time.Now(); now.Sub(lastSync) >= s.p.SyncEvery {
				lastSync = now
				if err := s.sync(ctx); err != nil {
					s.log.Warn("check running sessions", "err", err)
				}
			}
			// Queue places move slowly; every couple of seconds is plenty.
			if now := time.Now(); now.Sub(lastPositions) >= positionEvery {
				lastPositions = now
				s.sweep(ctx)
				s.pushPositions(ctx)
			}
		}
	}
}

func (s *Service) stop() {
	s.mu.Lock()
	s.closed = true
	for _, ls := range s.sessions {
		if ls.timer != nil {
			ls.timer.Stop()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// restore refills a fresh matcher from the store: the places running
// sessions take first, then waiting requests at their original places;
// only then is the matcher made ready, so that no match can run while a
// teacher in a session looks free. It also re-arms the timers of the
// sessions this node hosts.
func (s *Service) restore(ctx context.Context) error {
	claim, fresh, err := s.p.Matcher.Fresh(ctx)
	if err != nil || !fresh {
		return err
	}
	live, err := s.sync0(ctx)
	if err != nil {
		return err
	}
	reqs, err := s.p.Store.OpenTutoringRequests(ctx)
	if err != nil {
		return err
	}
	keys := map[matching.Key]bool{}
	for _, r := range reqs {
		k, ok := keyOf(r.SubjectCode, r.Grade)
		if !ok {
			continue
		}
		if err := s.p.Matcher.Enqueue(ctx, matching.Request{ID: reqID(r.ID), Student: matching.StudentID(strconv.FormatInt(int64(r.StudentID), 10)), Key: k, Grade: r.Grade, EnqueuedAt: r.CreatedAt}); err != nil {
			return err
		}
		keys[k] = true
	}
	if err := s.p.Matcher.Ready(ctx, claim); err != nil {
		return err
	}
	s.log.Info("tutoring state restored", "requests", len(reqs), "sessions", len(live))
	for k := range keys {
		s.match(ctx, k)
	}
	return nil
}

// sync checks the matcher's running sessions against the durable record:
// a session whose end was never told to the matcher (a node died between
// the two) frees its teacher, and one the matcher lost takes its place
// again. Sessions this node hosts that ended elsewhere stop being timed
// here and their rooms close.
func (s *Service) sync(ctx context.Context) error {
	_, err := s.sync0(ctx)
	return err
}

func (s *Service) sync0(ctx context.Context) ([]storage.TutoringSession, error) {
	asOf := s.p.Clock.Now().Add(-acceptMargin)
	live, err := s.p.Store.LiveTutoringSessions(ctx)
	if err != nil {
		return nil, err
	}
	running := map[matching.TeacherID][]matching.RequestID{}
	hosted := map[storage.TutoringSessionID]bool{}
	for _, sess := range live {
		t := teacherID(sess.TeacherID)
		running[t] = append(running[t], reqID(sess.RequestID))
		if sess.NodeURL == s.p.NodeURL {
			hosted[sess.ID] = true
			s.track(sess)
		}
	}
	if err := s.p.Matcher.Sync(ctx, running, asOf); err != nil {
		return nil, err
	}
	// Sessions timed here that the record says have ended (through another
	// node): stop timing them and close their rooms.
	s.mu.Lock()
	var gone []storage.TutoringSessionID
	for id := range s.sessions {
		if !hosted[id] {
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		sess, err := s.p.Store.GetTutoringSession(ctx, id)
		if err != nil || sess.EndedAt.IsZero() {
			continue
		}
		s.untrack(sess)
	}
	return live, nil
}

// ---- teachers -------------------------------------------------------------

// presenceMsg is a teacher's {"type":"presence"} message.
type presenceMsg struct {
	Available bool     `json:"available"`
	Subjects  []string `json:"subjects"`
	Grades    []int    `json:"grades"`
}

type presenceEvent struct {
	Online    bool     `json:"online"`
	Available bool     `json:"available"`
	Subjects  []string `json:"subjects"`
	Grades    []int    `json:"grades"`
	Reason    string   `json:"reason,omitempty"`
}

func (ts *teacherState) event(reason string) events.Event {
	if ts.implicit {
		return events.Event{Type: "presence", Data: presenceEvent{Online: true, Subjects: []string{}, Grades: []int{}, Reason: reason}}
	}
	return events.Event{Type: "presence", Data: presenceEvent{Online: true, Available: ts.available,
		Subjects: nonNil(ts.subjects), Grades: nonNilInts(ts.grades), Reason: reason}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInts(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

func (s *Service) setPresence(ctx context.Context, u storage.User, m presenceMsg) error {
	if !u.Has(storage.RoleTeacher) {
		return ErrForbidden
	}
	subjects, err := s.p.Store.ListSubjects(ctx)
	if err != nil {
		return err
	}
	byCode := map[string]storage.Subject{}
	byID := map[storage.SubjectID]string{}
	for _, sub := range subjects {
		if sub.Active {
			byCode[sub.Code] = sub
			byID[sub.ID] = sub.Code
		}
	}
	codes := m.Subjects
	if len(codes) == 0 {
		for _, id := range u.Subjects {
			if c, ok := byID[id]; ok {
				codes = append(codes, c)
			}
		}
	}
	grades := m.Grades
	if len(grades) == 0 {
		grades = u.Grades
	}
	if m.Available && (len(codes) == 0 || len(grades) == 0) {
		return clientErr("invalid", "choose at least one subject and one grade to take students")
	}
	keyGrades := grades
	if len(keyGrades) == 0 && !m.Available {
		keyGrades = []int{1, 7, 10} // no grades set: every band, for Q&A routing
	}
	var keys []matching.Key
	seen := map[matching.Key]bool{}
	for _, c := range codes {
		sub, ok := byCode[c]
		if !ok {
			return clientErr("invalid", "unknown subject %q", c)
		}
		if len(u.Subjects) > 0 && !containsID(u.Subjects, sub.ID) {
			return clientErr("invalid", "%s is not one of your subjects", sub.Name)
		}
		for _, g := range keyGrades {
			k, ok := keyOf(c, g)
			if !ok {
				return clientErr("invalid", "grade %d is not 1–12", g)
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	ts := &teacherState{available: m.Available, subjects: codes, grades: grades, keys: keys, scopes: Scopes(u)}
	s.mu.Lock()
	s.teachers[u.ID] = ts
	s.mu.Unlock()
	if !m.Available {
		revoked, err := s.p.Matcher.Offline(ctx, teacherID(u.ID))
		if err != nil {
			return unavailable(err)
		}
		s.revoked(ctx, revoked, "revoked")
	}
	if err := s.heartbeat(ctx, u.ID, ts); err != nil {
		return unavailable(err)
	}
	s.publish(ctx, u.ID, ts.event(""))
	if m.Available {
		for _, k := range keys {
			s.match(ctx, k)
		}
	}
	return nil
}

// Scopes are the presence scopes of a teacher: their district and school,
// which Q&A routing asks for.
func Scopes(u storage.User) []string {
	var out []string
	if u.DistrictID != 0 {
		out = append(out, matching.DistrictScope(int64(u.DistrictID)))
	}
	if u.SchoolID != 0 {
		out = append(out, matching.SchoolScope(int64(u.SchoolID)))
	}
	return out
}

// accountState is a teacher's presence before any presence message: the
// queues of the account's subjects and grades (every grade when none is
// set), online but not available for tutoring.
func (s *Service) accountState(ctx context.Context, u storage.User) (*teacherState, error) {
	ts := &teacherState{implicit: true, grades: slices.Clone(u.Grades), scopes: Scopes(u)}
	if len(u.Subjects) == 0 {
		return ts, nil
	}
	subjects, err := s.p.Store.ListSubjects(ctx)
	if err != nil {
		return nil, err
	}
	grades := u.Grades
	if len(grades) == 0 {
		grades = []int{1, 7, 10} // one grade of each band
	}
	seen := map[matching.Key]bool{}
	for _, sub := range subjects {
		if !sub.Active || !containsID(u.Subjects, sub.ID) {
			continue
		}
		for _, g := range grades {
			if k, ok := keyOf(sub.Code, g); ok && !seen[k] {
				seen[k] = true
				ts.keys = append(ts.keys, k)
			}
		}
	}
	return ts, nil
}

func containsID(ids []storage.SubjectID, id storage.SubjectID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (s *Service) heartbeat(ctx context.Context, u storage.UserID, ts *teacherState) error {
	return s.p.Matcher.Heartbeat(ctx, matching.Teacher{ID: teacherID(u), Keys: ts.keys, Grades: ts.grades, Capacity: s.p.Capacity,
		Available: ts.available, Scopes: ts.scopes}, s.p.Clock.Now())
}

// revoked tells the teachers and students of offers taken back.
func (s *Service) revoked(ctx context.Context, offers []matching.Offer, reason string) {
	now := s.p.Clock.Now()
	for _, o := range offers {
		id := parseReqID(o.Request)
		t := parseUser(string(o.Teacher))
		if err := s.p.Store.CloseTutoringOffer(ctx, id, t, storage.OfferRevoked, now); err != nil {
			s.log.Warn("record revoked offer", "request", id, "err", err)
		}
		s.publish(ctx, t, events.Event{Type: "offer_closed", Data: offerClosed{RequestID: id, Reason: reason}})
		s.pushRequest(ctx, id)
		s.match(ctx, o.Key)
	}
}

type offerClosed struct {
	RequestID storage.TutoringRequestID `json:"request_id"`
	Reason    string                    `json:"reason"` // accepted, declined, expired, cancelled, revoked
	Disabled  bool                      `json:"disabled,omitempty"`
}

type offerEvent struct {
	Request     storage.TutoringRequest `json:"request"`
	ExpiresAt   time.Time               `json:"expires_at"`
	SecondsLeft int                     `json:"seconds_left"`
}

// ---- matching -------------------------------------------------------------

// match makes every match queue k allows now.
func (s *Service) match(ctx context.Context, k matching.Key) {
	for {
		o, ok, err := s.p.Matcher.Next(ctx, k, s.p.Clock.Now())
		if err != nil {
			s.log.Warn("match", "queue", k.String(), "err", err)
			return
		}
		if !ok {
			return
		}
		if !s.offered(ctx, o) {
			return
		}
	}
}

// offered records and announces an offer the matcher made. It answers
// false when matching this queue should stop for now.
func (s *Service) offered(ctx context.Context, o matching.Offer) bool {
	id := parseReqID(o.Request)
	t := parseUser(string(o.Teacher))
	now := s.p.Clock.Now()
	s.mu.Lock()
	if last, ok := s.lastOffer[o.Key]; ok {
		gap := now.Sub(last)
		if prev, ok := s.waitEWMA[o.Key]; ok {
			gap = (prev*4 + gap) / 5
		}
		s.waitEWMA[o.Key] = gap
	}
	s.lastOffer[o.Key] = now
	s.mu.Unlock()
	if err := s.p.Store.RecordTutoringOffer(ctx, id, t, s.p.Capacity, now, o.ExpiresAt); err != nil {
		if errors.Is(err, storage.ErrBusy) {
			// The matcher lost track of a session of the teacher's (a Redis
			// restart during an accept): take the offer back, unseen, put the
			// request back at its place and tell the matcher of the session.
			if _, err := s.p.Matcher.Cancel(ctx, o.Request); err != nil {
				s.log.Warn("take back offer to a busy teacher", "request", id, "err", err)
				return false
			}
			back := matching.Request{ID: o.Request, Student: o.Student, Key: o.Key, EnqueuedAt: o.EnqueuedAt}
			if req, err := s.p.Store.GetTutoringRequest(ctx, id); err == nil {
				back.Grade = req.Grade
			}
			if err := s.p.Matcher.Enqueue(ctx, back); err != nil {
				s.log.Warn("requeue request", "request", id, "err", err)
			}
			if err := s.sync(ctx); err != nil {
				// Without the matcher knowing of the session, the same match
				// would be made again at once: stop here.
				s.log.Warn("check running sessions", "err", err)
				return false
			}
			return true
		}
		if errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrNotFound) {
			// The matcher held a request the record says is no longer open
			// (restored while it was being accepted or cancelled): drop it,
			// which frees the teacher for the next one.
			if _, err := s.p.Matcher.Cancel(ctx, o.Request); err != nil {
				s.log.Warn("drop stale request", "request", id, "err", err)
			}
			return true
		}
		// The offer stands in the matcher; it lapses and the request is
		// offered again, so nothing is lost.
		s.log.Warn("record offer", "request", id, "err", err)
		return true
	}
	req, err := s.p.Store.GetTutoringRequest(ctx, id)
	if err != nil {
		s.log.Warn("load offered request", "request", id, "err", err)
		return true
	}
	s.publish(ctx, t, events.Event{Type: "offer", Data: offerEvent{Request: req, ExpiresAt: o.ExpiresAt,
		SecondsLeft: int(o.ExpiresAt.Sub(now).Round(time.Second) / time.Second)}})
	s.pushRequest(ctx, id)
	return true
}

// expire collects lapsed offers.
func (s *Service) expire(ctx context.Context) {
	lapsed, err := s.p.Matcher.Expire(ctx, s.p.Clock.Now())
	if err != nil {
		s.log.Warn("expire offers", "err", err)
		return
	}
	now := s.p.Clock.Now()
	for _, o := range lapsed {
		id := parseReqID(o.Request)
		t := parseUser(string(o.Teacher))
		if err := s.p.Store.CloseTutoringOffer(ctx, id, t, storage.OfferLapsed, now); err != nil {
			s.log.Warn("record lapsed offer", "request", id, "err", err)
		}
		s.publish(ctx, t, events.Event{Type: "offer_closed", Data: offerClosed{RequestID: id, Reason: "expired", Disabled: o.Disabled}})
		if o.Disabled {
			s.mu.Lock()
			ts := s.teachers[t]
			if ts != nil {
				ts.available = false
			}
			s.mu.Unlock()
			if ts != nil {
				s.publish(ctx, t, ts.event("lapsed"))
			} else {
				s.publish(ctx, t, events.Event{Type: "presence", Data: presenceEvent{Online: true, Reason: "lapsed", Subjects: []string{}, Grades: []int{}}})
			}
		}
		s.pushRequest(ctx, id)
		s.match(ctx, o.Key)
	}
}

// ---- students -------------------------------------------------------------

// RequestView is a student's view of their request: where it stands and,
// while it waits, its place in the queue and an estimated wait.
type RequestView struct {
	Request        storage.TutoringRequest `json:"request"`
	Position       int                     `json:"position"`
	QueueLength    int                     `json:"queue_length"`
	EstimatedWaitS int                     `json:"estimated_wait_s"`
}

// pushRequest sends the request's state to its student.
func (s *Service) pushRequest(ctx context.Context, id storage.TutoringRequestID) {
	req, err := s.p.Store.GetTutoringRequest(ctx, id)
	if err != nil {
		s.log.Warn("load request", "request", id, "err", err)
		return
	}
	s.publish(ctx, req.StudentID, events.Event{Type: "request", Data: s.View(ctx, req)})
}

// View is req as its student sees it, with its place in the queue.
func (s *Service) View(ctx context.Context, req storage.TutoringRequest) RequestView {
	ev := RequestView{Request: req}
	if req.Status != storage.RequestWaiting && req.Status != storage.RequestOffered {
		return ev
	}
	pos, n, err := s.p.Matcher.Position(ctx, reqID(req.ID))
	if err != nil {
		return ev
	}
	ev.Position, ev.QueueLength = pos, n
	k, _ := keyOf(req.SubjectCode, req.Grade)
	s.mu.Lock()
	per, ok := s.waitEWMA[k]
	s.mu.Unlock()
	if !ok {
		per = 30 * time.Second
	}
	// Whole seconds, rounded up: a student who waits is never told 0 s
	// (offers that follow declines can come milliseconds apart).
	ev.EstimatedWaitS = max(1, int(math.Ceil((time.Duration(max(pos, 1)) * per).Seconds())))
	return ev
}

// sweep matches the queues of the available teachers connected here. Every
// change that frees a teacher or adds a request matches at once; the sweep
// catches what no event announces, such as a teacher who reappears in an
// emptied Redis with a heartbeat while students wait.
func (s *Service) sweep(ctx context.Context) {
	keys := map[matching.Key]bool{}
	s.mu.Lock()
	for _, ts := range s.teachers {
		if ts.available {
			for _, k := range ts.keys {
				keys[k] = true
			}
		}
	}
	s.mu.Unlock()
	for k := range keys {
		s.match(ctx, k)
	}
}

// pushPositions refreshes the queue place of the waiting students connected here.
func (s *Service) pushPositions(ctx context.Context) {
	s.mu.Lock()
	students := make([]storage.UserID, 0, len(s.students))
	for u := range s.students {
		students = append(students, u)
	}
	s.mu.Unlock()
	for _, u := range students {
		req, err := s.p.Store.ActiveTutoringRequest(ctx, u)
		if err != nil {
			continue
		}
		s.publish(ctx, u, events.Event{Type: "request", Data: s.View(ctx, req)})
	}
}

// Ask files a student's request and queues it.
func (s *Service) Ask(ctx context.Context, a storage.Actor, in storage.TutoringRequestInput) (storage.TutoringRequest, error) {
	u, err := s.p.Store.GetUser(ctx, a.UserID)
	if err != nil {
		return storage.TutoringRequest{}, err
	}
	if !u.Has(storage.RoleStudent) {
		return storage.TutoringRequest{}, ErrForbidden
	}
	if _, err := s.p.Store.ActiveTutoringRequest(ctx, u.ID); err == nil {
		return storage.TutoringRequest{}, ErrAlreadyActive
	}
	if _, err := s.p.Store.ActiveTutoringSession(ctx, u.ID); err == nil {
		return storage.TutoringRequest{}, ErrInSession
	}
	in.StudentID = u.ID
	req, err := s.p.Store.CreateTutoringRequest(ctx, a, in)
	if err != nil {
		return storage.TutoringRequest{}, err
	}
	k, ok := keyOf(req.SubjectCode, req.Grade)
	if !ok {
		return req, fmt.Errorf("tutoring: request %d has grade %d", req.ID, req.Grade)
	}
	if err := s.p.Matcher.Enqueue(ctx, matching.Request{ID: reqID(req.ID), Student: matching.StudentID(strconv.FormatInt(int64(u.ID), 10)), Key: k, Grade: req.Grade, EnqueuedAt: req.CreatedAt}); err != nil {
		// Stored, so restored into the queue when the matcher is back.
		s.log.Warn("enqueue request", "request", req.ID, "err", err)
	}
	s.publish(ctx, u.ID, events.Event{Type: "request", Data: s.View(ctx, req)})
	s.match(ctx, k)
	return req, nil
}

// Cancel withdraws the student's request.
func (s *Service) Cancel(ctx context.Context, a storage.Actor, id storage.TutoringRequestID) error {
	req, err := s.p.Store.GetTutoringRequest(ctx, id)
	if err != nil {
		return err
	}
	if req.StudentID != a.UserID {
		return ErrForbidden
	}
	if req.Status != storage.RequestWaiting && req.Status != storage.RequestOffered {
		return clientErr("not_open", "this request is %s", req.Status)
	}
	revoked, err := s.p.Matcher.Cancel(ctx, reqID(id))
	if err != nil && !errors.Is(err, matching.ErrNotFound) {
		return unavailable(err)
	}
	now := s.p.Clock.Now()
	if err := s.p.Store.CancelTutoringRequest(ctx, a, id, now); err != nil {
		return err
	}
	if revoked != nil {
		t := parseUser(string(revoked.Teacher))
		s.publish(ctx, t, events.Event{Type: "offer_closed", Data: offerClosed{RequestID: id, Reason: "cancelled"}})
		s.match(ctx, revoked.Key) // that teacher is free again
		for _, k := range s.teacherKeys(t) {
			s.match(ctx, k)
		}
	}
	s.pushRequest(ctx, id)
	return nil
}

func (s *Service) teacherKeys(t storage.UserID) []matching.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ts := s.teachers[t]; ts != nil {
		return append([]matching.Key(nil), ts.keys...)
	}
	return nil
}

// ---- offers answered ------------------------------------------------------

type requestRef struct {
	RequestID storage.TutoringRequestID `json:"request_id"`
}

// sessionEvent is either side's view of a session.
type sessionEvent struct {
	Session storage.TutoringSession `json:"session"`
	Status  string                  `json:"status"` // ready, live, ended
}

func statusOf(sess storage.TutoringSession) string {
	switch {
	case !sess.EndedAt.IsZero():
		return "ended"
	case !sess.StartedAt.IsZero():
		return "live"
	}
	return "ready"
}

func (s *Service) pushSession(ctx context.Context, sess storage.TutoringSession) {
	ev := events.Event{Type: "session", Data: sessionEvent{Session: sess, Status: statusOf(sess)}}
	s.publish(ctx, sess.StudentID, ev)
	s.publish(ctx, sess.TeacherID, ev)
}

func (s *Service) accept(ctx context.Context, u storage.User, id storage.TutoringRequestID) error {
	now := s.p.Clock.Now()
	o, err := s.p.Matcher.Accept(ctx, reqID(id), teacherID(u.ID), now)
	if errors.Is(err, matching.ErrNoOffer) {
		return ErrOfferGone
	}
	if err != nil {
		return unavailable(err)
	}
	sess, err := s.p.Store.AcceptTutoringOffer(ctx, id, u.ID, s.p.NodeURL, s.p.Capacity, now)
	if err != nil {
		// The pair is out of the matcher but not recorded: put the request
		// back where it was and free the teacher's place.
		back := matching.Request{ID: o.Request, Student: o.Student, Key: o.Key, EnqueuedAt: o.EnqueuedAt}
		if req, gerr := s.p.Store.GetTutoringRequest(ctx, id); gerr == nil {
			back.Grade = req.Grade
		}
		_ = s.p.Matcher.Finish(ctx, o.Teacher, o.Request, now)
		if errors.Is(err, storage.ErrBusy) {
			// The record says the teacher is in a session the matcher did
			// not know of: the offer is void and the matcher learns of it.
			if cerr := s.p.Store.CloseTutoringOffer(ctx, id, u.ID, storage.OfferRevoked, now); cerr != nil {
				s.log.Warn("record revoked offer", "request", id, "err", cerr)
			}
			_ = s.p.Matcher.Enqueue(ctx, back)
			if serr := s.sync(ctx); serr != nil {
				s.log.Warn("check running sessions", "err", serr)
			}
			s.publish(ctx, u.ID, events.Event{Type: "offer_closed", Data: offerClosed{RequestID: id, Reason: "revoked"}})
			s.pushRequest(ctx, id)
			s.match(ctx, o.Key)
			return ErrTeacherBusy
		}
		_ = s.p.Matcher.Enqueue(ctx, back)
		return err
	}
	// Recorded: tell the matcher again, in case it lost its state between
	// its accept and this (a Redis restart). Occupy is idempotent.
	if err := s.p.Matcher.Occupy(ctx, o.Teacher, []matching.RequestID{o.Request}, now); err != nil {
		s.log.Warn("record running session", "session", sess.ID, "err", err)
	}
	s.track(sess)
	s.publish(ctx, u.ID, events.Event{Type: "offer_closed", Data: offerClosed{RequestID: id, Reason: "accepted"}})
	s.pushRequest(ctx, id)
	s.pushSession(ctx, sess)
	return nil
}

func (s *Service) decline(ctx context.Context, u storage.User, id storage.TutoringRequestID) error {
	o, err := s.p.Matcher.Decline(ctx, reqID(id), teacherID(u.ID))
	if errors.Is(err, matching.ErrNoOffer) {
		return ErrOfferGone
	}
	if err != nil {
		return unavailable(err)
	}
	if err := s.p.Store.CloseTutoringOffer(ctx, id, u.ID, storage.OfferDeclined, s.p.Clock.Now()); err != nil {
		s.log.Warn("record declined offer", "request", id, "err", err)
	}
	s.publish(ctx, u.ID, events.Event{Type: "offer_closed", Data: offerClosed{RequestID: id, Reason: "declined"}})
	s.pushRequest(ctx, id)
	s.match(ctx, o.Key)
	for _, k := range s.teacherKeys(u.ID) {
		s.match(ctx, k)
	}
	return nil
}

// ---- sessions -------------------------------------------------------------

// track starts timing a session hosted on this node.
func (s *Service) track(sess storage.TutoringSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.sessions[sess.ID] != nil || !sess.EndedAt.IsZero() {
		return
	}
	ls := &liveSession{rec: sess, present: map[ids.Identity]bool{}}
	s.sessions[sess.ID] = ls
	now := s.p.Clock.Now()
	if sess.StartedAt.IsZero() {
		s.armLocked(ls, sess.CreatedAt.Add(s.p.NoShow).Sub(now), "no_show")
	} else {
		// Restored after a restart: nobody is known to be present yet.
		s.armLocked(ls, s.p.Grace, "left")
	}
}

// armLocked (re)sets the session's one timer.
func (s *Service) armLocked(ls *liveSession, d time.Duration, reason string) {
	if ls.timer != nil {
		ls.timer.Stop()
	}
	id := ls.rec.ID
	ls.timer = s.p.Clock.AfterFunc(max(d, 0), func() {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.wg.Add(1) // under mu, so stop's Wait sees it
		s.mu.Unlock()
		defer s.wg.Done()
		s.end(context.Background(), id, reason)
	})
}

var _ signaling.Observer = (*Service)(nil)

// ParticipantJoined implements signaling.Observer: a session starts when
// both are in its room.
func (s *Service) ParticipantJoined(_ context.Context, ev signaling.ParticipantEvent) {
	room, who := ev.Room, ev.Identity
	id, ok := sessionOfRoom(room)
	if !ok {
		return
	}
	s.mu.Lock()
	ls := s.sessions[id]
	if ls == nil || s.closed {
		s.mu.Unlock()
		return
	}
	if who != Identity(ls.rec.StudentID) && who != Identity(ls.rec.TeacherID) {
		s.mu.Unlock()
		return
	}
	ls.present[who] = true
	both := ls.present[Identity(ls.rec.StudentID)] && ls.present[Identity(ls.rec.TeacherID)]
	starting := both && ls.rec.StartedAt.IsZero()
	if both {
		// Everyone is here: only the maximum length can end it now.
		start := ls.rec.StartedAt
		if start.IsZero() {
			start = s.p.Clock.Now()
		}
		s.armLocked(ls, start.Add(s.p.MaxLength).Sub(s.p.Clock.Now()), "max_length")
	}
	if starting {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if !starting {
		return
	}
	go func() {
		defer s.wg.Done()
		ctx := context.Background()
		sess, err := s.p.Store.StartTutoringSession(ctx, id, s.p.Clock.Now())
		if err != nil {
			s.log.Warn("record session start", "session", id, "err", err)
			return
		}
		s.mu.Lock()
		if ls := s.sessions[id]; ls != nil {
			ls.rec = sess
		}
		s.mu.Unlock()
		s.pushSession(ctx, sess)
	}()
}

// ParticipantLeft implements signaling.Observer: a session ends when one of
// the pair has been gone for the grace period.
func (s *Service) ParticipantLeft(_ context.Context, ev signaling.ParticipantEvent) {
	room, who := ev.Room, ev.Identity
	id, ok := sessionOfRoom(room)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.sessions[id]
	if ls == nil || s.closed || !ls.present[who] {
		return
	}
	delete(ls.present, who)
	if ls.rec.StartedAt.IsZero() {
		return // the no-show timer runs on
	}
	s.armLocked(ls, s.p.Grace, "left")
}

// TrackPublished implements signaling.Observer; tutoring does not look at tracks.
func (s *Service) TrackPublished(context.Context, signaling.TrackEvent) {}

// TrackUnpublished implements signaling.Observer.
func (s *Service) TrackUnpublished(context.Context, signaling.TrackEvent) {}

// End ends a session at a participant's request.
func (s *Service) End(ctx context.Context, a storage.Actor, id storage.TutoringSessionID) (storage.TutoringSession, error) {
	sess, err := s.p.Store.GetTutoringSession(ctx, id)
	if err != nil {
		return sess, err
	}
	var reason string
	switch a.UserID {
	case sess.StudentID:
		reason = "ended_by_student"
	case sess.TeacherID:
		reason = "ended_by_teacher"
	default:
		return sess, ErrForbidden
	}
	if !sess.EndedAt.IsZero() {
		return sess, nil
	}
	return s.endRecorded(ctx, sess, reason)
}

// end is a timer firing on this node. The session may have ended
// already, through another node: then ending it again changes nothing.
func (s *Service) end(ctx context.Context, id storage.TutoringSessionID, reason string) {
	s.mu.Lock()
	ls := s.sessions[id]
	closed := s.closed
	s.mu.Unlock()
	if ls == nil || closed {
		return
	}
	sess, err := s.p.Store.GetTutoringSession(ctx, id)
	if err != nil {
		s.log.Warn("load session to end", "session", id, "err", err)
		return
	}
	if _, err := s.endRecorded(ctx, sess, reason); err != nil {
		s.log.Warn("end session", "session", id, "err", err)
	}
}

// endRecorded ends a session in the record, once: only the call that ends
// it frees the teacher's place, tells both participants and offers the
// teacher the next student. Whichever call it is, this node stops timing
// the session and closes its room if it hosts it.
func (s *Service) endRecorded(ctx context.Context, sess storage.TutoringSession, reason string) (storage.TutoringSession, error) {
	ended, first, err := s.p.Store.EndTutoringSession(ctx, sess.ID, s.p.Clock.Now(), reason)
	if err != nil {
		return sess, err
	}
	s.untrack(ended)
	if !first {
		return ended, nil
	}
	if err := s.p.Matcher.Finish(ctx, teacherID(sess.TeacherID), reqID(sess.RequestID), s.p.Clock.Now()); err != nil {
		// The periodic check against the record frees the place later.
		s.log.Warn("free teacher", "teacher", sess.TeacherID, "err", err)
	}
	s.pushSession(ctx, ended)
	for _, k := range s.teacherKeys(sess.TeacherID) {
		s.match(ctx, k)
	}
	return ended, nil
}

// untrack stops timing an ended session and closes its room if this node
// hosts it.
func (s *Service) untrack(sess storage.TutoringSession) {
	s.mu.Lock()
	if ls := s.sessions[sess.ID]; ls != nil {
		if ls.timer != nil {
			ls.timer.Stop()
		}
		delete(s.sessions, sess.ID)
	}
	s.mu.Unlock()
	if s.p.Rooms != nil && sess.NodeURL == s.p.NodeURL {
		s.p.Rooms.CloseRoom(RoomName(sess.ID))
	}
}

// ---- ratings and notes ---------------------------------------------------

// Rate records the student's rating of their ended session: a score of
// 1–5, a comment and whether the problem was solved. The student may
// change it within RatingWindow of the first rating. These rules are
// tutoring's own; the store keeps what it is given.
func (s *Service) Rate(ctx context.Context, a storage.Actor, id storage.TutoringSessionID, r storage.TutoringRating) (storage.TutoringSession, error) {
	sess, err := s.p.Store.GetTutoringSession(ctx, id)
	if err != nil {
		return sess, err
	}
	now := s.p.Clock.Now()
	switch {
	case sess.StudentID != a.UserID:
		return sess, httpapi.Invalid("session", "only the student of a session rates it")
	case sess.EndedAt.IsZero():
		return sess, fmt.Errorf("session %d has not ended: %w", id, storage.ErrClosed)
	case sess.Rating != nil && now.Sub(sess.Rating.RatedAt) > s.p.RatingWindow:
		return sess, fmt.Errorf("the rating of session %d can no longer be changed: %w", id, storage.ErrClosed)
	}
	f := httpapi.Fields{}
	if r.Score < 1 || r.Score > 5 {
		f.Add("score", "must be 1–5")
	}
	httpapi.CheckText(f, "comment", &r.Comment, 0, storage.MaxRatingText)
	if err := f.Err(); err != nil {
		return sess, err
	}
	return s.p.Store.SaveTutoringRating(ctx, a, id, r, now)
}

// maxNotePoints bounds the knowledge points a note is tagged with.
const maxNotePoints = 20

// Note records the teacher's note of their session and the knowledge
// points it was about.
func (s *Service) Note(ctx context.Context, a storage.Actor, id storage.TutoringSessionID, note string, points []storage.KnowledgePointID) (storage.TutoringSession, error) {
	sess, err := s.p.Store.GetTutoringSession(ctx, id)
	if err != nil {
		return sess, err
	}
	if sess.TeacherID != a.UserID {
		return sess, httpapi.Invalid("session", "only the teacher of a session notes it")
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "note", &note, 0, storage.MaxNoteText)
	if len(points) > maxNotePoints {
		f.Add("knowledge_point_ids", fmt.Sprintf("at most %d", maxNotePoints))
	}
	if err := f.Err(); err != nil {
		return sess, err
	}
	return s.p.Store.SaveTutoringNote(ctx, a, id, note, points, s.p.Clock.Now())
}

// ---- sockets --------------------------------------------------------------

var _ events.Handler = (*Service)(nil)

type helloEvent struct {
	UserID storage.UserID `json:"user_id"`
	Roles  []storage.Role `json:"roles"`
}

// Connected implements events.Handler: the user's whole current state.
func (s *Service) Connected(ctx context.Context, user events.UserID) []events.Event {
	u, err := s.p.Store.GetUser(ctx, storage.UserID(user))
	if err != nil {
		return []events.Event{{Type: "error", Data: map[string]string{"code": "internal", "message": "could not load your account"}}}
	}
	out := []events.Event{{Type: "hello", Data: helloEvent{UserID: u.ID, Roles: u.Roles}}}
	if u.Has(storage.RoleTeacher) {
		// A teacher with a socket is online for Q&A routing from the first
		// moment, in the queues of their account, before (and without) any
		// presence message; a presence message replaces that.
		fresh, err := s.accountState(ctx, u)
		if err != nil {
			s.log.Warn("teacher's queues", "teacher", u.ID, "err", err)
			fresh = &teacherState{implicit: true}
		}
		s.mu.Lock()
		ts := s.teachers[u.ID]
		if ts == nil {
			ts = fresh
			s.teachers[u.ID] = ts
		}
		ev := ts.event("")
		s.mu.Unlock()
		if ts == fresh && len(ts.keys) > 0 {
			if err := s.heartbeat(ctx, u.ID, ts); err != nil {
				s.log.Warn("teacher online", "teacher", u.ID, "err", err)
			}
		}
		out = append(out, ev)
		if req, exp, err := s.p.Store.PendingTutoringOffer(ctx, u.ID); err == nil && exp.After(s.p.Clock.Now()) {
			out = append(out, events.Event{Type: "offer", Data: offerEvent{Request: req, ExpiresAt: exp,
				SecondsLeft: int(exp.Sub(s.p.Clock.Now()).Round(time.Second) / time.Second)}})
		}
	}
	if u.Has(storage.RoleStudent) {
		s.mu.Lock()
		s.students[u.ID] = true
		s.mu.Unlock()
		if req, err := s.p.Store.ActiveTutoringRequest(ctx, u.ID); err == nil {
			out = append(out, events.Event{Type: "request", Data: s.View(ctx, req)})
		}
	}
	if sess, err := s.p.Store.ActiveTutoringSession(ctx, u.ID); err == nil {
		out = append(out, events.Event{Type: "session", Data: sessionEvent{Session: sess, Status: statusOf(sess)}})
	}
	return out
}

// Received implements events.Handler.
func (s *Service) Received(ctx context.Context, user events.UserID, m events.Message) error {
	uid := storage.UserID(user)
	switch m.Type {
	case "heartbeat":
		s.mu.Lock()
		ts := s.teachers[uid]
		s.mu.Unlock()
		if ts != nil && len(ts.keys) > 0 {
			if err := s.heartbeat(ctx, uid, ts); err != nil {
				return unavailable(err)
			}
		}
		s.resync(ctx, uid, ts != nil)
		return nil
	case "presence":
		var pm presenceMsg
		if err := m.Decode(&pm); err != nil {
			return clientErr("bad_request", "presence: %v", err)
		}
		u, err := s.p.Store.GetUser(ctx, uid)
		if err != nil {
			return err
		}
		return s.setPresence(ctx, u, pm)
	case "accept", "decline":
		var ref requestRef
		if err := m.Decode(&ref); err != nil || ref.RequestID <= 0 {
			return clientErr("bad_request", "%s needs a request_id", m.Type)
		}
		u, err := s.p.Store.GetUser(ctx, uid)
		if err != nil {
			return err
		}
		if !u.Has(storage.RoleTeacher) {
			return ErrForbidden
		}
		if m.Type == "accept" {
			return s.accept(ctx, u, ref.RequestID)
		}
		return s.decline(ctx, u, ref.RequestID)
	case "cancel":
		var ref requestRef
		if err := m.Decode(&ref); err != nil || ref.RequestID <= 0 {
			return clientErr("bad_request", "cancel needs a request_id")
		}
		return s.Cancel(ctx, storage.Actor{UserID: uid}, ref.RequestID)
	}
	return clientErr("bad_request", "unknown message type %q", m.Type)
}

// resync repeats, with every heartbeat, the events a user must not miss:
// an open offer (a teacher) and a running session. Events are notices and
// one may be lost (a node or Redis restarting between publisher and
// socket); the next heartbeat makes up for it. Clients ignore repeats.
func (s *Service) resync(ctx context.Context, u storage.UserID, teacher bool) {
	now := s.p.Clock.Now()
	if teacher {
		if req, exp, err := s.p.Store.PendingTutoringOffer(ctx, u); err == nil && exp.After(now) {
			s.publish(ctx, u, events.Event{Type: "offer", Data: offerEvent{Request: req, ExpiresAt: exp,
				SecondsLeft: int(exp.Sub(now).Round(time.Second) / time.Second)}})
		}
	}
	if sess, err := s.p.Store.ActiveTutoringSession(ctx, u); err == nil {
		s.publish(ctx, u, events.Event{Type: "session", Data: sessionEvent{Session: sess, Status: statusOf(sess)}})
	}
}

// Disconnected implements events.Handler: a teacher whose last socket on
// this node closed is out of matching at once.
func (s *Service) Disconnected(user events.UserID) {
	uid := storage.UserID(user)
	s.mu.Lock()
	ts := s.teachers[uid]
	delete(s.teachers, uid)
	delete(s.students, uid)
	s.mu.Unlock()
	if ts == nil || len(ts.keys) == 0 {
		return
	}
	ctx := context.Background()
	revoked, err := s.p.Matcher.Offline(ctx, teacherID(uid))
	if err != nil {
		s.log.Warn("teacher offline", "teacher", uid, "err", err)
		return
	}
	s.revoked(ctx, revoked, "revoked")
}
