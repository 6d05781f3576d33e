// Package classes runs scheduled interactive classes: the timetable (a
// school or district schedules a class, or a weekly series of them, for an
// audience of students), joining a class's room with the role one has in
// it, the class going live when its teacher first joins and ending when
// the teacher ends it or everyone has left, the attendance of everyone in
// the room (heard from signaling and written as the class runs), the talk
// time of everyone who speaks (from the audio levels of their microphone),
// the hands, messages and poll answers of the class's room, and the
// students' ratings afterwards.
//
// Attendance is durable as it happens: every join and departure is
// written (in order, batched) within moments, and every few seconds the
// people still in a room are marked seen. A node that crashes loses at
// most that interval: when it starts again, the stays its rooms left open
// are closed at the time they were last seen (storage's
// CloseStaleClassAttendance), and a live class nobody returns to within
// the empty grace ends at the time it was last seen occupied. Talk time
// is written every Tick (a second) in the same way.
package classes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"yunke/server/token"
	"yunke/sfu"
	"yunke/signaling"
	"yunke/signaling/ids"
	"yunke/storage"
)

// Store is what classes need of durable storage.
type Store interface {
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
	// What the import resolves rows with.
	GetSchoolByCode(ctx context.Context, code string) (storage.School, error)
	GetUserByStaffNo(ctx context.Context, staffNo string) (storage.User, error)
	ListSubjects(ctx context.Context) ([]storage.Subject, error)
	ListKnowledgePoints(ctx context.Context, subject storage.SubjectID, grade int) ([]storage.KnowledgePoint, error)

	CreateClasses(ctx context.Context, a storage.Actor, series [][]storage.ClassInput) ([]storage.Class, error)
	UpdateClass(ctx context.Context, a storage.Actor, id storage.ClassID, version int64, in storage.ClassInput) (storage.Class, error)
	CancelClass(ctx context.Context, a storage.Actor, id storage.ClassID, followers bool, at time.Time) ([]storage.ClassID, error)
	GetClass(ctx context.Context, id storage.ClassID) (storage.Class, error)
	ListClasses(ctx context.Context, f storage.ClassFilter) ([]storage.Class, int, error)
	// LiveClasses lists the live classes hosted at nodeURL.
	LiveClasses(ctx context.Context, nodeURL string) ([]storage.Class, error)
	// HostClass makes nodeURL the class's host unless it has one; it returns the host.
	HostClass(ctx context.Context, id storage.ClassID, nodeURL string) (string, error)
	StartClass(ctx context.Context, id storage.ClassID, at time.Time) (storage.Class, bool, error)
	EndClass(ctx context.Context, a storage.Actor, id storage.ClassID, at time.Time, reason string) (storage.Class, bool, error)

	RecordClassPresence(ctx context.Context, evs []storage.PresenceEvent) error
	TouchClassAttendance(ctx context.Context, classes []storage.ClassID, at time.Time) error
	CloseStaleClassAttendance(ctx context.Context, nodeURL string) (int64, error)
	ClassLastSeen(ctx context.Context, id storage.ClassID) (time.Time, int, error)
	ClassAttendance(ctx context.Context, id storage.ClassID) ([]storage.AttendanceRow, error)
	AttendedClass(ctx context.Context, id storage.ClassID, user storage.UserID) (bool, error)
	AddClassTalk(ctx context.Context, ds []storage.TalkDelta) error
	ClassParticipation(ctx context.Context, id storage.ClassID, room string, from, until time.Time) (map[storage.UserID]*storage.Participation, error)

	GetClassRating(ctx context.Context, id storage.ClassID, student storage.UserID) (storage.ClassRating, error)
	ListClassRatings(ctx context.Context, id storage.ClassID) ([]storage.ClassRating, error)
	SaveClassRating(ctx context.Context, a storage.Actor, id storage.ClassID, student storage.UserID, score int, comment string, at time.Time) (storage.ClassRating, error)
	ClassSatisfaction(ctx context.Context, q storage.SatisfactionQuery) ([]storage.Satisfaction, error)
}

var _ Store = (*storage.Store)(nil)

// Rooms closes a class's room when it ends.
type Rooms interface {
	CloseRoom(name ids.RoomName) bool
}

// Params configure a Service. Zero durations take the defaults.
type Params struct {
	Store Store
	Rooms Rooms
	// Key signs the room tokens of classes.
	Key token.Key
	// NodeURL is this node's public base URL: a class's room is hosted on
	// the node that handed out its first token, and every browser is sent there.
	NodeURL string
	Logger  *slog.Logger
	// Now is the service's clock (default time.Now).
	Now func() time.Time

	// JoinEarly: joining opens this long before the start (default 10 min).
	JoinEarly time.Duration
	// EmptyGrace: a live class ends when its room has been empty this long (default 2 min).
	EmptyGrace time.Duration
	// Overrun: a live class is ended this long after its planned end (default 1 h).
	Overrun time.Duration
	// RatingPeriod: students may rate a class this long after it ends (default 7 days).
	RatingPeriod time.Duration
	// RatingWindow: a rating may be changed this long after it was first given (default 30 min).
	RatingWindow time.Duration
	// Seen is how often the people in a room are marked seen (default 5 s).
	Seen time.Duration
	// Tick is how often the housekeeping runs (default 1 s).
	Tick time.Duration
	// MaxWeeks bounds a weekly series (default 30: a term and then some).
	MaxWeeks int
}

// Service is one node's classes service.
type Service struct {
	p   Params
	log *slog.Logger

	mu    sync.Mutex
	queue []presenceOp
	rooms map[storage.ClassID]*roomState
	// talkers are the microphones in class rooms, by track id; talk is
	// the speaking time heard and not yet written.
	talkers map[signaling.TrackID]*talker
	talk    map[talkKey]time.Duration
	boot    time.Time
	wake    chan struct{}
}

// presenceOp is a join or departure waiting to be written.
type presenceOp struct {
	ev      storage.PresenceEvent
	teacher bool // a join of the teacher: the class goes live
}

// talker is one microphone in a class's room.
type talker struct {
	key   talkKey
	since time.Time // speaking since (zero: silent); counted up to here
}

type talkKey struct {
	class storage.ClassID
	user  storage.UserID
}

// roomState is what this node knows of a class's room.
type roomState struct {
	present map[storage.UserID]bool // visible participants
	hidden  map[storage.UserID]bool // observers
	// emptySince is when the last visible participant left (zero while
	// someone is there, or before anyone came).
	emptySince time.Time
}

// New returns a Service; call Restore, then Run.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.JoinEarly, 10*time.Minute)
	def(&p.EmptyGrace, 2*time.Minute)
	def(&p.Overrun, time.Hour)
	def(&p.RatingPeriod, 7*24*time.Hour)
	def(&p.RatingWindow, 30*time.Minute)
	def(&p.Seen, 5*time.Second)
	def(&p.Tick, time.Second)
	if p.MaxWeeks <= 0 {
		p.MaxWeeks = 30
	}
	return &Service{p: p, log: p.Logger, rooms: map[storage.ClassID]*roomState{}, wake: make(chan struct{}, 1),
		talkers: map[signaling.TrackID]*talker{}, talk: map[talkKey]time.Duration{}}
}

// Error is an error a client should see, with a code.
type Error struct {
	status    int
	code, msg string
}

func (e *Error) Error() string { return e.msg }

// Code implements httpapi.Coded.
func (e *Error) Code() string { return e.code }

// HTTPStatus implements httpapi.Coded.
func (e *Error) HTTPStatus() int { return e.status }

// Errors of joining and rating.
var (
	ErrNotYet    = &Error{http.StatusConflict, "not_open", "joining this class is not open yet"}
	ErrOver      = &Error{http.StatusConflict, "over", "this class is over"}
	ErrEnded     = &Error{http.StatusConflict, "ended", "this class has ended"}
	ErrCancelled = &Error{http.StatusConflict, "cancelled", "this class was cancelled"}
	ErrNotEnded  = &Error{http.StatusConflict, "not_ended", "a class is rated after it ends"}
	ErrAbsent    = &Error{http.StatusForbidden, "forbidden", "only students who attended the class rate it"}
	ErrNotLive   = &Error{http.StatusConflict, "not_live", "this class is not live"}
)

// RoomName is the room of a class.
func RoomName(id storage.ClassID) ids.RoomName { return ids.ClassRoom(int64(id)) }

// Identity is a user's identity in rooms.
func Identity(u storage.UserID) ids.Identity { return ids.AccountIdentity(int64(u)) }

// ---- presence --------------------------------------------------------------

var _ signaling.Observer = (*Service)(nil)

// classRole is the class role a participant's token gave them.
func classRole(ev signaling.ParticipantEvent) storage.ClassRole {
	if ev.Hidden {
		return storage.ClassRoleObserver
	}
	switch token.Role(ev.Attributes[token.RoleAttribute]) {
	case token.RoleTeacher:
		return storage.ClassRoleTeacher
	case token.RoleAssistant:
		return storage.ClassRoleAssistant
	case token.RoleObserver:
		return storage.ClassRoleObserver
	}
	return storage.ClassRoleStudent
}

// participant is a class room event's class, account and role; ok is false
// for rooms that are not classes' and identities that are not accounts.
func participant(ev signaling.ParticipantEvent) (storage.ClassID, storage.UserID, storage.ClassRole, bool) {
	c, ok := ids.ClassOfRoom(ev.Room)
	if !ok {
		return 0, 0, "", false
	}
	u, ok := ids.AccountOf(ev.Identity)
	if !ok {
		return 0, 0, "", false
	}
	return storage.ClassID(c), storage.UserID(u), classRole(ev), true
}

// ParticipantJoined implements signaling.Observer: the join is queued for
// the record; the teacher's join makes the class live.
func (s *Service) ParticipantJoined(_ context.Context, ev signaling.ParticipantEvent) {
	id, user, role, ok := participant(ev)
	if !ok {
		return
	}
	at := s.p.Now()
	s.mu.Lock()
	rs := s.roomLocked(id)
	if role == storage.ClassRoleObserver {
		rs.hidden[user] = true
	} else {
		rs.present[user] = true
		rs.emptySince = time.Time{}
	}
	s.queue = append(s.queue, presenceOp{ev: storage.PresenceEvent{ClassID: id, UserID: user, Role: role, Join: true, At: at},
		teacher: role == storage.ClassRoleTeacher})
	s.mu.Unlock()
	s.poke()
}

// ParticipantLeft implements signaling.Observer: the departure is queued
// for the record; a room left empty starts the empty grace.
func (s *Service) ParticipantLeft(_ context.Context, ev signaling.ParticipantEvent) {
	id, user, role, ok := participant(ev)
	if !ok {
		return
	}
	at := s.p.Now()
	s.mu.Lock()
	rs := s.roomLocked(id)
	delete(rs.hidden, user)
	if role != storage.ClassRoleObserver && rs.present[user] {
		delete(rs.present, user)
		if len(rs.present) == 0 {
			rs.emptySince = at
		}
	}
	s.queue = append(s.queue, presenceOp{ev: storage.PresenceEvent{ClassID: id, UserID: user, Role: role, At: at}})
	s.mu.Unlock()
	s.poke()
}

// TrackPublished implements signaling.Observer: a microphone in a class's
// room (the teacher's, or a student's on stage: only they may publish) is
// listened to, its audio levels turned into speaking time for the record.
func (s *Service) TrackPublished(_ context.Context, ev signaling.TrackEvent) {
	if ev.Track == nil || ev.AudioLevelExtension == 0 || ev.Track.Kind() != webrtc.RTPCodecTypeAudio ||
		ev.Source == livekit.TrackSource_SCREEN_SHARE_AUDIO {
		return
	}
	pe := ev.Participant
	pe.Room = ev.Room
	id, user, role, ok := participant(pe)
	if !ok || role == storage.ClassRoleObserver {
		return
	}
	track := ev.ID
	s.mu.Lock()
	s.talkers[track] = &talker{key: talkKey{id, user}}
	s.mu.Unlock()
	ev.Track.AddTap(sfu.NewAudioLevelObserver(ev.AudioLevelExtension, func(_ float32, active bool) {
		s.talkChanged(track, active)
	}))
}

// TrackUnpublished implements signaling.Observer: a microphone's speaking
// time up to now is counted.
func (s *Service) TrackUnpublished(_ context.Context, ev signaling.TrackEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.talkers[ev.ID]; t != nil {
		s.countTalkLocked(t, s.p.Now(), false)
		delete(s.talkers, ev.ID)
	}
}

// talkChanged hears a microphone start or stop speaking (on its track's
// receive goroutine: it only takes the lock).
func (s *Service) talkChanged(track signaling.TrackID, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.talkers[track]
	if t == nil {
		return
	}
	now := s.p.Now()
	switch {
	case active && t.since.IsZero():
		t.since = now
	case !active && !t.since.IsZero():
		s.countTalkLocked(t, now, false)
	}
}

// countTalkLocked adds t's speaking time up to now to what is to be
// written; still marks it speaking from now on.
func (s *Service) countTalkLocked(t *talker, now time.Time, still bool) {
	if t.since.IsZero() {
		return
	}
	if d := now.Sub(t.since); d > 0 {
		s.talk[t.key] += d
	}
	t.since = time.Time{}
	if still {
		t.since = now
	}
}

// Speaking lists who is speaking in the class's room now.
func (s *Service) Speaking(id storage.ClassID) []storage.UserID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.UserID
	for _, t := range s.talkers {
		if t.key.class == id && !t.since.IsZero() {
			out = append(out, t.key.user)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Service) roomLocked(id storage.ClassID) *roomState {
	rs := s.rooms[id]
	if rs == nil {
		rs = &roomState{present: map[storage.UserID]bool{}, hidden: map[storage.UserID]bool{}}
		s.rooms[id] = rs
	}
	return rs
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Restore closes the attendance this node's rooms left open when it
// stopped (at the time each stay was last seen) and takes up the live
// classes it hosts, each waiting the empty grace for its people to come
// back. A node calls it before it serves.
func (s *Service) Restore(ctx context.Context) error {
	s.mu.Lock()
	s.boot = s.p.Now()
	s.mu.Unlock()
	n, err := s.p.Store.CloseStaleClassAttendance(ctx, s.p.NodeURL)
	if err != nil {
		return err
	}
	live, err := s.p.Store.LiveClasses(ctx, s.p.NodeURL)
	if err != nil {
		return err
	}
	for _, c := range live {
		last, _, err := s.p.Store.ClassLastSeen(ctx, c.ID)
		if err != nil {
			return err
		}
		if last.IsZero() || last.Before(c.StartedAt) {
			last = c.StartedAt
		}
		s.mu.Lock()
		if rs := s.roomLocked(c.ID); len(rs.present) == 0 && rs.emptySince.IsZero() {
			rs.emptySince = last
		}
		s.mu.Unlock()
	}
	if n > 0 || len(live) > 0 {
		s.log.Info("class attendance restored", "closed_stays", n, "live_classes", len(live))
	}
	return nil
}

// Run writes the record and keeps house until ctx ends; then it writes
// what is still queued.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.p.Tick)
	defer t.Stop()
	var lastSeen time.Time
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.flush(fctx)
			cancel()
			return
		case <-s.wake:
			s.flush(ctx)
		case <-t.C:
			s.flush(ctx)
			now := s.p.Now()
			if now.Sub(lastSeen) >= s.p.Seen || now.Before(lastSeen) {
				lastSeen = now
				s.markSeen(ctx, now)
				s.endOverrun(ctx, now)
			}
			s.endEmpty(ctx, now)
		}
	}
}

// Flush writes the queued joins and departures now (tests, shutdown).
func (s *Service) Flush(ctx context.Context) { s.flush(ctx) }

// flush writes the queued joins and departures, in order, in one
// transaction; a failure keeps them queued for the next try.
func (s *Service) flush(ctx context.Context) {
	s.flushTalk(ctx)
	s.mu.Lock()
	ops := s.queue
	s.queue = nil
	s.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	evs := make([]storage.PresenceEvent, len(ops))
	for i, op := range ops {
		evs[i] = op.ev
	}
	if err := s.p.Store.RecordClassPresence(ctx, evs); err != nil {
		s.log.Warn("record class attendance", "events", len(evs), "err", err)
		s.mu.Lock()
		s.queue = append(ops, s.queue...)
		s.mu.Unlock()
		return
	}
	for _, op := range ops {
		if !op.teacher {
			continue
		}
		c, started, err := s.p.Store.StartClass(ctx, op.ev.ClassID, op.ev.At)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			s.log.Warn("start class", "class", op.ev.ClassID, "err", err)
		case started:
			s.log.Info("class started", "class", c.ID, "teacher", c.TeacherID)
		}
	}
}

// flushTalk writes the speaking time heard since the last write (of those
// still speaking, up to now); a failure keeps it for the next try.
func (s *Service) flushTalk(ctx context.Context) {
	s.mu.Lock()
	now := s.p.Now()
	for _, t := range s.talkers {
		s.countTalkLocked(t, now, true)
	}
	if len(s.talk) == 0 {
		s.mu.Unlock()
		return
	}
	pending := s.talk
	s.talk = map[talkKey]time.Duration{}
	s.mu.Unlock()
	ds := make([]storage.TalkDelta, 0, len(pending))
	for k, d := range pending {
		ds = append(ds, storage.TalkDelta{ClassID: k.class, UserID: k.user, Talk: d, At: now})
	}
	slices.SortFunc(ds, func(a, b storage.TalkDelta) int {
		if a.ClassID != b.ClassID {
			return int(a.ClassID - b.ClassID)
		}
		return int(a.UserID - b.UserID)
	})
	if err := s.p.Store.AddClassTalk(ctx, ds); err != nil {
		s.log.Warn("record class talk time", "people", len(ds), "err", err)
		s.mu.Lock()
		for k, d := range pending {
			s.talk[k] += d
		}
		s.mu.Unlock()
	}
}

// markSeen marks everyone in this node's class rooms seen at now.
func (s *Service) markSeen(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var occupied []storage.ClassID
	for id, rs := range s.rooms {
		if len(rs.present)+len(rs.hidden) > 0 {
			occupied = append(occupied, id)
		}
	}
	s.mu.Unlock()
	if len(occupied) == 0 {
		return
	}
	slices.Sort(occupied)
	if err := s.p.Store.TouchClassAttendance(ctx, occupied, now); err != nil {
		s.log.Warn("mark class attendance seen", "err", err)
	}
}

// endEmpty ends the live classes whose rooms have been empty for the
// grace (counted from this node's start at the earliest), at the time the
// last person left; the rooms of other classes left empty are forgotten.
func (s *Service) endEmpty(ctx context.Context, now time.Time) {
	s.mu.Lock()
	type due struct {
		id storage.ClassID
		at time.Time
	}
	var ending []due
	for id, rs := range s.rooms {
		if len(rs.present) > 0 || rs.emptySince.IsZero() {
			continue
		}
		from := rs.emptySince
		if from.Before(s.boot) {
			from = s.boot
		}
		if now.Sub(from) >= s.p.EmptyGrace {
			ending = append(ending, due{id, rs.emptySince})
		}
	}
	s.mu.Unlock()
	for _, d := range ending {
		c, ended, err := s.p.Store.EndClass(ctx, storage.Actor{}, d.id, d.at, "empty")
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("end empty class", "class", d.id, "err", err)
			continue
		}
		s.mu.Lock()
		if rs := s.rooms[d.id]; rs != nil && len(rs.present) == 0 && len(rs.hidden) == 0 {
			delete(s.rooms, d.id)
		}
		s.mu.Unlock()
		if ended {
			s.log.Info("class ended: everyone left", "class", c.ID, "at", d.at)
			s.closeRoom(c.ID)
		}
	}
}

// endOverrun ends the live classes hosted here that run far past their
// planned end.
func (s *Service) endOverrun(ctx context.Context, now time.Time) {
	live, err := s.p.Store.LiveClasses(ctx, s.p.NodeURL)
	if err != nil {
		s.log.Warn("list live classes", "err", err)
		return
	}
	for _, c := range live {
		if now.Before(c.PlannedEnd().Add(s.p.Overrun)) {
			continue
		}
		if _, ended, err := s.p.Store.EndClass(ctx, storage.Actor{}, c.ID, now, "overrun"); err != nil {
			s.log.Warn("end overrunning class", "class", c.ID, "err", err)
		} else if ended {
			s.log.Info("class ended: overrun", "class", c.ID)
			s.closeRoom(c.ID)
		}
	}
}

func (s *Service) closeRoom(id storage.ClassID) {
	if s.p.Rooms != nil {
		s.p.Rooms.CloseRoom(RoomName(id))
	}
}

// ---- rules -----------------------------------------------------------------

// Series expands a class into weeks weekly occurrences (same local time).
func (s *Service) Series(in storage.ClassInput, weeks int) ([]storage.ClassInput, error) {
	if weeks < 1 || weeks > s.p.MaxWeeks {
		return nil, &storage.FieldError{Field: "weeks", Message: fmt.Sprintf("must be 1–%d", s.p.MaxWeeks)}
	}
	out := make([]storage.ClassInput, weeks)
	local := in.StartsAt.In(storage.Zone)
	for i := range out {
		out[i] = in
		out[i].StartsAt = local.AddDate(0, 0, 7*i)
	}
	return out, nil
}

// JoinOpensAt is when joining the class opens.
func (s *Service) JoinOpensAt(c *storage.Class) time.Time { return c.StartsAt.Add(-s.p.JoinEarly) }

// joinable says whether the class may be joined now (nil) or why not.
func (s *Service) joinable(c *storage.Class, now time.Time) error {
	switch c.Status {
	case storage.ClassCancelled:
		return ErrCancelled
	case storage.ClassEnded:
		return ErrEnded
	case storage.ClassLive:
		return nil
	}
	switch {
	case now.Before(s.JoinOpensAt(c)):
		return ErrNotYet
	case !now.Before(c.PlannedEnd()):
		return ErrOver
	}
	return nil
}

// Join is what a person needs to enter a class's room.
type Join struct {
	URL      string        `json:"url"`
	Token    string        `json:"token"`
	Identity string        `json:"identity"`
	Room     string        `json:"room"`
	Role     string        `json:"role"`
	Class    storage.Class `json:"class"`
}

// JoinAs mints u's token for the class's room with role, if the class is
// open to join; the class's room is hosted on the first node to hand out
// a token for it.
func (s *Service) JoinAs(ctx context.Context, u *storage.User, c storage.Class, role token.Role) (Join, error) {
	if err := s.joinable(&c, s.p.Now()); err != nil {
		return Join{}, err
	}
	host, err := s.p.Store.HostClass(ctx, c.ID, s.p.NodeURL)
	if err != nil {
		return Join{}, err
	}
	identity := string(Identity(u.ID))
	room := string(RoomName(c.ID))
	tok, err := s.p.Key.Mint(token.Params{Room: room, Identity: identity, Name: u.Name, Role: role, ValidFor: token.JoinValidFor})
	if err != nil {
		return Join{}, fmt.Errorf("mint class token: %w", err)
	}
	return Join{URL: wsURL(host), Token: tok, Identity: identity, Room: room, Role: string(role), Class: c}, nil
}

// End ends a live class now and closes its room.
func (s *Service) End(ctx context.Context, a storage.Actor, c storage.Class) (storage.Class, error) {
	if c.Status != storage.ClassLive {
		return c, ErrNotLive
	}
	s.flush(ctx) // the joins and departures before the end
	ended, ok, err := s.p.Store.EndClass(ctx, a, c.ID, s.p.Now(), "teacher")
	if err != nil {
		return ended, err
	}
	if ok {
		s.closeRoom(c.ID)
		s.mu.Lock()
		delete(s.rooms, c.ID)
		s.mu.Unlock()
	}
	return ended, nil
}

// Rate records a student's rating of a class they attended, after it
// ended and within the rating period; a rating may be changed within the
// rating window after it was first given.
func (s *Service) Rate(ctx context.Context, a storage.Actor, c storage.Class, score int, comment string) (storage.ClassRating, error) {
	now := s.p.Now()
	switch {
	case c.Status != storage.ClassEnded:
		return storage.ClassRating{}, ErrNotEnded
	case now.After(c.EndedAt.Add(s.p.RatingPeriod)):
		return storage.ClassRating{}, fmt.Errorf("class %d ended too long ago to be rated: %w", c.ID, storage.ErrClosed)
	}
	attended, err := s.p.Store.AttendedClass(ctx, c.ID, a.UserID)
	if err != nil {
		return storage.ClassRating{}, err
	}
	if !attended {
		return storage.ClassRating{}, ErrAbsent
	}
	old, err := s.p.Store.GetClassRating(ctx, c.ID, a.UserID)
	switch {
	case err == nil && now.Sub(old.RatedAt) > s.p.RatingWindow:
		return old, fmt.Errorf("the rating of class %d can no longer be changed: %w", c.ID, storage.ErrClosed)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return old, err
	}
	return s.p.Store.SaveClassRating(ctx, a, c.ID, a.UserID, score, comment, now)
}

// lateMargin is how late a student may arrive (or how early leave) and
// still count as on time.
const lateMargin = time.Minute

// Attendee is one person's attendance of a class, summed up from their
// stays in its room.
type Attendee struct {
	UserID storage.UserID    `json:"user_id"`
	Name   string            `json:"name"`
	Role   storage.ClassRole `json:"role"`
	Joins  int               `json:"joins"`
	// PresentS counts the seconds in the room while the class ran.
	PresentS  int64     `json:"present_s"`
	FirstJoin time.Time `json:"first_join"`
	LastLeave time.Time `json:"last_leave,omitzero"` // zero while there
	// LateS is how long after the class began (the later of its planned
	// and actual start) the person first came.
	LateS int64 `json:"late_s"`
	Late  bool  `json:"late"`
	// LeftEarlyS is how long before the class ended the person left for good.
	LeftEarlyS int64                   `json:"left_early_s"`
	LeftEarly  bool                    `json:"left_early"`
	Stays      []storage.AttendanceRow `json:"stays"`

	// TalkS is how long the person's microphone was heard speaking.
	TalkS int64 `json:"talk_s"`
	// Hands raised, Messages sent and PollAnswers given while the class
	// ran; QuizAnswers are the answers to polls with a correct answer, of
	// which Correct were right.
	Hands       int `json:"hands"`
	Messages    int `json:"messages"`
	PollAnswers int `json:"poll_answers"`
	QuizAnswers int `json:"quiz_answers"`
	Correct     int `json:"correct"`
}

// Participate adds each person's talk time, hands, messages and poll
// answers to their attendance.
func Participate(att []Attendee, by map[storage.UserID]*storage.Participation) {
	for i := range att {
		p := by[att[i].UserID]
		if p == nil {
			continue
		}
		a := &att[i]
		a.TalkS = int64(p.Talk / time.Second)
		a.Hands, a.Messages, a.PollAnswers, a.QuizAnswers, a.Correct = p.Hands, p.Messages, p.PollAnswers, p.QuizAnswers, p.Correct
	}
}

// Summarize sums each person's stays up, at now.
func Summarize(c *storage.Class, rows []storage.AttendanceRow, now time.Time) []Attendee {
	begin := c.StartsAt
	if c.StartedAt.After(begin) {
		begin = c.StartedAt
	}
	from := c.StartedAt
	if from.IsZero() {
		from = c.StartsAt
	}
	until := now
	if !c.EndedAt.IsZero() {
		until = c.EndedAt
	}
	var out []Attendee
	by := map[storage.UserID]int{}
	// The time present is summed exactly and rounded down once: short
	// stays (a reconnecting phone) add up to whole seconds.
	var present []time.Duration
	for _, r := range rows {
		i, ok := by[r.UserID]
		if !ok {
			i = len(out)
			by[r.UserID] = i
			out = append(out, Attendee{UserID: r.UserID, Name: r.Name, Role: r.Role, FirstJoin: r.JoinedAt})
			present = append(present, 0)
		}
		a := &out[i]
		a.Joins++
		a.Stays = append(a.Stays, r)
		if r.JoinedAt.Before(a.FirstJoin) {
			a.FirstJoin = r.JoinedAt
		}
		left := r.LeftAt
		if left.IsZero() {
			left = until
		} else if left.After(a.LastLeave) {
			a.LastLeave = left
		}
		start, end := r.JoinedAt, left
		if start.Before(from) {
			start = from
		}
		if end.After(until) {
			end = until
		}
		if end.After(start) {
			present[i] += end.Sub(start)
		}
	}
	for i := range out {
		a := &out[i]
		a.PresentS = int64(present[i] / time.Second)
		for _, st := range a.Stays {
			if st.LeftAt.IsZero() {
				a.LastLeave = time.Time{} // still there
				break
			}
		}
		if a.FirstJoin.After(begin) {
			a.LateS = int64(a.FirstJoin.Sub(begin) / time.Second)
		}
		a.Late = a.LateS >= int64(lateMargin/time.Second)
		if !c.EndedAt.IsZero() && !a.LastLeave.IsZero() && a.LastLeave.Before(c.EndedAt) {
			a.LeftEarlyS = int64(c.EndedAt.Sub(a.LastLeave) / time.Second)
		}
		a.LeftEarly = a.LeftEarlyS >= int64(lateMargin/time.Second)
	}
	return out
}
