package tutoring_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yunke/server/httpapi"
	"yunke/server/tutoring"
	"yunke/signaling"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/storage"
	"yunke/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bus records every event published, per user.
type bus struct {
	mu     sync.Mutex
	events map[events.UserID][]events.Event
	notify chan struct{}
}

func newBus() *bus {
	return &bus{events: map[events.UserID][]events.Event{}, notify: make(chan struct{}, 1)}
}

func (b *bus) Publish(_ context.Context, to events.UserID, ev events.Event) error {
	b.mu.Lock()
	b.events[to] = append(b.events[to], ev)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return nil
}

// waitSession waits until user has been told of a session with status.
func (b *bus) waitSession(t *testing.T, user storage.UserID, status string) storage.TutoringSession {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		for _, ev := range b.events[events.UserID(user)] {
			if ev.Type != "session" {
				continue
			}
			if sess, got := sessionOf(ev); got == status {
				b.mu.Unlock()
				return sess
			}
		}
		b.mu.Unlock()
		select {
		case <-b.notify:
		case <-deadline:
			t.Fatalf("user %d was not told of a %s session", user, status)
		}
	}
}

func sessionOf(ev events.Event) (storage.TutoringSession, string) {
	// The event's data is the service's own struct; read it back through JSON.
	b, _ := ev.MarshalJSON()
	var v struct {
		Session storage.TutoringSession `json:"session"`
		Status  string                  `json:"status"`
	}
	_ = json.Unmarshal(b, &v)
	return v.Session, v.Status
}

// rooms records which rooms were closed.
type rooms struct {
	mu     sync.Mutex
	closed []signaling.RoomName
}

func (r *rooms) CloseRoom(name signaling.RoomName) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, name)
	return true
}

type world struct {
	store            *storage.Store
	svc              *tutoring.Service
	bus              *bus
	rooms            *rooms
	student, teacher storage.User
	math             storage.Subject
}

func setup(t *testing.T, p tutoring.Params) *world {
	t.Helper()
	ctx := context.Background()
	st := storagetest.OpenSQLite(t)
	w := &world{store: st, bus: newBus(), rooms: &rooms{}}
	d, err := st.CreateDistrict(ctx, storage.Actor{}, "D", "区")
	must(t, err)
	sc, err := st.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d.ID, Code: "S", Name: "校", Kind: storage.KindJuniorSecondary, Active: true})
	must(t, err)
	subs, err := st.ListSubjects(ctx)
	must(t, err)
	for _, s := range subs {
		if s.Code == "math" {
			w.math = s
		}
	}
	w.student, err = st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "s", Name: "学生", DistrictID: d.ID, SchoolID: sc.ID,
		Roles: []storage.Role{storage.RoleStudent}, Active: true, Grade: 7}, "h", false)
	must(t, err)
	w.teacher, err = st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "t", Name: "老师", DistrictID: d.ID, SchoolID: sc.ID,
		Roles: []storage.Role{storage.RoleTeacher}, Active: true, Subjects: []storage.SubjectID{w.math.ID}, Grades: []int{7}}, "h", false)
	must(t, err)
	p.Store, p.Bus, p.Rooms = st, w.bus, w.rooms
	if p.Matcher == nil {
		p.Matcher = matching.NewMemory(matching.Config{})
	}
	p.NodeURL = "http://node-1"
	p.Tick = 20 * time.Millisecond
	w.svc = tutoring.New(p)
	must(t, w.svc.Restore(context.Background()))
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func msg(t *testing.T, raw string) events.Message {
	t.Helper()
	m, err := events.ParseMessage([]byte(raw))
	must(t, err)
	return m
}

// matched makes the teacher available, files a request and accepts it.
func (w *world) matched(t *testing.T) storage.TutoringSession {
	t.Helper()
	ctx := context.Background()
	tu := events.UserID(w.teacher.ID)
	w.svc.Connected(ctx, tu)
	must(t, w.svc.Received(ctx, tu, msg(t, `{"type":"presence","available":true,"subjects":["math"],"grades":[7]}`)))
	req, err := w.svc.Ask(ctx, storage.Actor{UserID: w.student.ID}, storage.TutoringRequestInput{SubjectID: w.math.ID, Grade: 7, Text: "?"})
	must(t, err)
	must(t, w.svc.Received(ctx, tu, msg(t, `{"type":"accept","request_id":`+strconv.FormatInt(int64(req.ID), 10)+`}`)))
	return w.bus.waitSession(t, w.student.ID, "ready")
}

func TestNoShowEndsSession(t *testing.T) {
	w := setup(t, tutoring.Params{NoShow: 100 * time.Millisecond})
	sess := w.matched(t)
	ended := w.bus.waitSession(t, w.teacher.ID, "ended")
	if ended.ID != sess.ID || ended.EndReason != "no_show" || ended.DurationS != 0 {
		t.Fatalf("ended %+v", ended)
	}
	// The teacher is free again: the next request is offered.
	req, err := w.svc.Ask(context.Background(), storage.Actor{UserID: w.student.ID}, storage.TutoringRequestInput{SubjectID: w.math.ID, Grade: 7, Text: "?"})
	must(t, err)
	if r, err := w.store.GetTutoringRequest(context.Background(), req.ID); err != nil || r.Status != storage.RequestOffered {
		t.Fatalf("after a no-show the teacher was not offered the next request: %+v %v", r, err)
	}
}

func TestMaxLengthEndsSessionAndClosesRoom(t *testing.T) {
	w := setup(t, tutoring.Params{MaxLength: 150 * time.Millisecond})
	sess := w.matched(t)
	room := tutoring.RoomName(sess.ID)
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: tutoring.Identity(w.student.ID)})
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: "u99999"}) // someone else: not counted
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: tutoring.Identity(w.teacher.ID)})
	w.bus.waitSession(t, w.student.ID, "live")
	ended := w.bus.waitSession(t, w.student.ID, "ended")
	if ended.EndReason != "max_length" || ended.StartedAt.IsZero() {
		t.Fatalf("ended %+v", ended)
	}
	w.rooms.mu.Lock()
	defer w.rooms.mu.Unlock()
	if len(w.rooms.closed) != 1 || w.rooms.closed[0] != room {
		t.Fatalf("closed rooms %v; want %s", w.rooms.closed, room)
	}
}

// TestRejoinWithinGrace: a participant who drops and comes back within
// the grace period keeps the session; one who stays away ends it.
func TestRejoinWithinGrace(t *testing.T) {
	w := setup(t, tutoring.Params{Grace: 300 * time.Millisecond})
	sess := w.matched(t)
	room := tutoring.RoomName(sess.ID)
	st, te := tutoring.Identity(w.student.ID), tutoring.Identity(w.teacher.ID)
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: st})
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: te})
	w.bus.waitSession(t, w.teacher.ID, "live")
	w.svc.ParticipantLeft(context.Background(), signaling.ParticipantEvent{Room: room, Identity: st})
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: st}) // back at once: a reconnect
	w.svc.ParticipantLeft(context.Background(), signaling.ParticipantEvent{Room: room, Identity: "u99999"})
	w.svc.ParticipantLeft(context.Background(), signaling.ParticipantEvent{Room: room, Identity: te})
	start := time.Now()
	ended := w.bus.waitSession(t, w.student.ID, "ended")
	if ended.EndReason != "left" {
		t.Fatalf("ended %+v", ended)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("session ended %v after the teacher left; the grace period is 300 ms", d)
	}
}

// TestRestartRestoresTimers: a node that restarts finds its running
// sessions in the store and times them again; nobody comes back, so the
// session ends after the grace period.
func TestRestartRestoresTimers(t *testing.T) {
	w := setup(t, tutoring.Params{Grace: 100 * time.Millisecond})
	sess := w.matched(t)
	room := tutoring.RoomName(sess.ID)
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: tutoring.Identity(w.student.ID)})
	w.svc.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: room, Identity: tutoring.Identity(w.teacher.ID)})
	w.bus.waitSession(t, w.student.ID, "live")

	// A second service on the same store and node URL: the restarted node.
	b2 := newBus()
	svc2 := tutoring.New(tutoring.Params{Store: w.store, Bus: b2, Rooms: w.rooms, Matcher: matching.NewMemory(matching.Config{}),
		NodeURL: "http://node-1", Grace: 100 * time.Millisecond, Tick: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc2.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ended := b2.waitSession(t, w.student.ID, "ended")
	if ended.ID != sess.ID || ended.EndReason != "left" {
		t.Fatalf("ended %+v", ended)
	}
}

// TestStaleRequestIsDropped: a request the matcher holds but the record
// says is no longer open (restored while it was being accepted) is dropped
// when it comes up, and the teacher gets the next real request.
func TestStaleRequestIsDropped(t *testing.T) {
	m := matching.NewMemory(matching.Config{})
	w := setup(t, tutoring.Params{Matcher: m})
	ctx := context.Background()
	sess := w.matched(t)
	if _, err := w.svc.End(ctx, storage.Actor{UserID: w.student.ID}, sess.ID); err != nil {
		t.Fatal(err)
	}
	stale, err := w.store.GetTutoringRequest(ctx, sess.RequestID)
	must(t, err)
	must(t, m.Enqueue(ctx, matching.Request{ID: matching.RequestID(strconv.FormatInt(int64(stale.ID), 10)), Student: "1",
		Key: matching.Key{Subject: "math", Band: matching.BandJunior}, Grade: 7, EnqueuedAt: stale.CreatedAt}))
	req, err := w.svc.Ask(ctx, storage.Actor{UserID: w.student.ID}, storage.TutoringRequestInput{SubjectID: w.math.ID, Grade: 7, Text: "?"})
	must(t, err)
	if r, err := w.store.GetTutoringRequest(ctx, req.ID); err != nil || r.Status != storage.RequestOffered {
		t.Fatalf("the new request was not offered past the stale one: %+v %v", r, err)
	}
	if _, _, err := m.Position(ctx, matching.RequestID(strconv.FormatInt(int64(stale.ID), 10))); err == nil {
		t.Fatal("the stale request is still in the matcher")
	}
}

// fakeClock is a Clock moved by hand: timers fire, in the caller's
// goroutine, when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) tutoring.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock by d and runs every timer that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// TestStaleTimerDoesNotFreeTeacher: a session hosted on node A but ended
// through node B leaves A's no-show timer armed. When it fires, the
// teacher is in their next session: ending the old one again must change
// nothing — the teacher is not freed, and no third student is offered.
func TestStaleTimerDoesNotFreeTeacher(t *testing.T) {
	ctx := context.Background()
	w := setup(t, tutoring.Params{}) // the store, users and subjects; its own service idles
	clock := &fakeClock{now: time.Now()}
	m := matching.NewMemory(matching.Config{})
	node := func(url string) *tutoring.Service {
		return tutoring.New(tutoring.Params{Store: w.store, Bus: w.bus, Rooms: w.rooms, Matcher: m, NodeURL: url, Clock: clock,
			NoShow: 3 * time.Minute})
	}
	a, b := node("http://node-a"), node("http://node-b")
	must(t, a.Restore(ctx))
	must(t, b.Restore(ctx))

	tu := events.UserID(w.teacher.ID)
	a.Connected(ctx, tu)
	must(t, a.Received(ctx, tu, msg(t, `{"type":"presence","available":true,"subjects":["math"],"grades":[7]}`)))
	student := func(name string) storage.User {
		u, err := w.store.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: name, Name: name, DistrictID: w.student.DistrictID,
			SchoolID: w.student.SchoolID, Roles: []storage.Role{storage.RoleStudent}, Active: true, Grade: 7, StudentNo: name}, "h", false)
		must(t, err)
		return u
	}
	ask := func(svc *tutoring.Service, u storage.User) storage.TutoringRequest {
		req, err := svc.Ask(ctx, storage.Actor{UserID: u.ID}, storage.TutoringRequestInput{SubjectID: w.math.ID, Grade: 7, Text: "?"})
		must(t, err)
		return req
	}
	accept := func(req storage.TutoringRequest) storage.TutoringSession {
		must(t, a.Received(ctx, tu, msg(t, `{"type":"accept","request_id":`+strconv.FormatInt(int64(req.ID), 10)+`}`)))
		got, err := w.store.GetTutoringRequest(ctx, req.ID)
		must(t, err)
		sess, err := w.store.GetTutoringSession(ctx, got.SessionID)
		must(t, err)
		return sess
	}

	first := accept(ask(a, w.student)) // hosted on A: A's no-show timer runs
	if _, err := b.End(ctx, storage.Actor{UserID: w.student.ID}, first.ID); err != nil {
		t.Fatal(err)
	}
	s2 := student("s2")
	second := accept(ask(b, s2)) // the teacher's next session, under way
	a.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: tutoring.RoomName(second.ID), Identity: tutoring.Identity(s2.ID)})
	a.ParticipantJoined(context.Background(), signaling.ParticipantEvent{Room: tutoring.RoomName(second.ID), Identity: tutoring.Identity(w.teacher.ID)})
	w.bus.waitSession(t, s2.ID, "live")
	clock.Advance(4 * time.Minute) // A's stale no-show timer for the first session fires

	third := ask(a, student("s3"))
	if r, err := w.store.GetTutoringRequest(ctx, third.ID); err != nil || r.Status != storage.RequestWaiting {
		t.Fatalf("a teacher in a session was offered another student: %+v %v", r, err)
	}
	if pos, _, err := m.Position(ctx, matching.RequestID(strconv.FormatInt(int64(third.ID), 10))); err != nil || pos != 1 {
		t.Fatalf("third request at place %d, %v; want 1 (waiting)", pos, err)
	}
	got, err := w.store.GetTutoringSession(ctx, first.ID)
	must(t, err)
	if got.EndReason != "ended_by_student" {
		t.Fatalf("the first session's end was overwritten: %+v", got)
	}
	if live, err := w.store.LiveTutoringSessions(ctx); err != nil || len(live) != 1 || live[0].ID != second.ID {
		t.Fatalf("running sessions %+v, %v; want only the second", live, err)
	}
}

// TestRatingRules: only the student rates, only an ended session, 1–5,
// and a rating can be changed within the window of the first — measured
// on the service's clock.
func TestRatingRules(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	w := setup(t, tutoring.Params{Clock: clock, RatingWindow: 30 * time.Minute})
	ctx := context.Background()
	sess := w.matched(t)
	stu, tea := storage.Actor{UserID: w.student.ID}, storage.Actor{UserID: w.teacher.ID}
	wantErr := func(err error, field string, target error) {
		t.Helper()
		var fe *httpapi.Error
		switch {
		case field != "" && (!errors.As(err, &fe) || fe.Fields[field] == ""):
			t.Fatalf("got %v; want a complaint about %s", err, field)
		case target != nil && !errors.Is(err, target):
			t.Fatalf("got %v; want %v", err, target)
		}
	}
	_, err := w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 5})
	wantErr(err, "", storage.ErrClosed) // not ended yet
	_, err = w.svc.End(ctx, stu, sess.ID)
	must(t, err)
	_, err = w.svc.Rate(ctx, tea, sess.ID, storage.TutoringRating{Score: 5})
	wantErr(err, "session", nil)
	_, err = w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 6})
	wantErr(err, "score", nil)
	_, err = w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 0})
	wantErr(err, "score", nil)
	_, err = w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 4, Comment: strings.Repeat("好", storage.MaxRatingText+1)})
	wantErr(err, "comment", nil)

	rated, err := w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 3, Comment: " ok "})
	must(t, err)
	if rated.Rating == nil || rated.Rating.Score != 3 || rated.Rating.Comment != "ok" {
		t.Fatalf("rating %+v", rated.Rating)
	}
	clock.Advance(29 * time.Minute)
	rated, err = w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 5, Solved: true})
	must(t, err)
	if rated.Rating.Score != 5 || !rated.Rating.Solved {
		t.Fatalf("changed rating %+v", rated.Rating)
	}
	clock.Advance(2 * time.Minute) // 31 minutes after the first rating
	_, err = w.svc.Rate(ctx, stu, sess.ID, storage.TutoringRating{Score: 1})
	wantErr(err, "", storage.ErrClosed)

	_, err = w.svc.Note(ctx, stu, sess.ID, "x", nil)
	wantErr(err, "session", nil)
	_, err = w.svc.Note(ctx, tea, sess.ID, strings.Repeat("注", storage.MaxNoteText+1), nil)
	wantErr(err, "note", nil)
	noted, err := w.svc.Note(ctx, tea, sess.ID, " 配方法 ", nil)
	must(t, err)
	if noted.Note == nil || noted.Note.Note != "配方法" {
		t.Fatalf("note %+v", noted.Note)
	}
}
