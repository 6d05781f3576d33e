package classes_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"yunke/server/classes"
	"yunke/signaling"
	"yunke/signaling/ids"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// must(f())(t) is f's value, failing the test on f's error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// poll waits for cond, failing the test after 10 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type world struct {
	st               *storage.Store
	class            storage.Class
	teacher, student storage.User
}

func setup(t *testing.T, st *storage.Store, start time.Time) world {
	t.Helper()
	ctx := context.Background()
	d := must(st.CreateDistrict(ctx, storage.Actor{}, "D", "区"))(t)
	sc := must(st.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d.ID, Code: "S", Name: "校", Kind: storage.KindJuniorSecondary, Active: true}))(t)
	var math storage.Subject
	for _, s := range must(st.ListSubjects(ctx))(t) {
		if s.Code == "math" {
			math = s
		}
	}
	mk := func(name string, role storage.Role) storage.User {
		return must(st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: name, Name: name, DistrictID: d.ID, SchoolID: sc.ID,
			Roles: []storage.Role{role}, Active: true, Grade: 7, Class: "1班"}, "h", false))(t)
	}
	w := world{st: st, teacher: mk("t", storage.RoleTeacher), student: mk("s", storage.RoleStudent)}
	w.class = must(st.CreateClasses(ctx, storage.Actor{}, [][]storage.ClassInput{{{DistrictID: d.ID, SchoolID: sc.ID, Title: "课",
		SubjectID: math.ID, Grade: 7, TeacherID: w.teacher.ID, Audience: storage.AudienceGrade, StartsAt: start, PlannedMinutes: 45}}}))(t)[0]
	return w
}

func event(c storage.ClassID, u storage.UserID, role string) signaling.ParticipantEvent {
	return signaling.ParticipantEvent{Room: ids.ClassRoom(int64(c)), Identity: ids.AccountIdentity(int64(u)),
		Attributes: map[string]string{"role": role}}
}

// TestRestartKeepsAttendance: a node hosting a live class crashes (nobody's
// departure is heard); when it starts again, the stays its room left open
// are closed at the time they were last seen — at most one "seen" interval
// before the crash — and the class, which nobody comes back to, ends at
// that time once the empty grace has passed.
func TestRestartKeepsAttendance(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, storage.Zone)
		clk := &clock{t: start.Add(-5 * time.Minute)}
		w := setup(t, st, start)
		const node = "http://node-1"
		params := classes.Params{Store: st, NodeURL: node, Now: clk.Now, Seen: 5 * time.Second, Tick: 5 * time.Millisecond,
			EmptyGrace: 2 * time.Minute}
		if _, err := st.HostClass(ctx, w.class.ID, node); err != nil {
			t.Fatal(err)
		}

		first := classes.New(params)
		if err := first.Restore(ctx); err != nil {
			t.Fatal(err)
		}
		runCtx, crash := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { first.Run(runCtx); close(done) }()

		first.ParticipantJoined(ctx, event(w.class.ID, w.student.ID, "student")) // 07:55, early
		clk.Advance(6 * time.Minute)
		first.ParticipantJoined(ctx, event(w.class.ID, w.teacher.ID, "teacher")) // 08:01: the class goes live
		poll(t, "the class to go live", func() bool {
			c := must(st.GetClass(ctx, w.class.ID))(t)
			return c.Status == storage.ClassLive && c.StartedAt.Equal(start.Add(time.Minute))
		})
		// Twenty minutes of class, seen every 5 s of the clock.
		for range 240 {
			clk.Advance(5 * time.Second)
			want := clk.Now()
			poll(t, "the room to be marked seen", func() bool {
				last, open, err := st.ClassLastSeen(ctx, w.class.ID)
				return err == nil && open == 2 && !last.Before(want)
			})
		}
		lastSeen := clk.Now() // 08:21
		clk.Advance(4 * time.Second)
		crash() // nobody's departure is heard
		<-done
		clk.Advance(90 * time.Second) // the node is down for a while

		second := classes.New(params)
		if err := second.Restore(ctx); err != nil {
			t.Fatal(err)
		}
		rows := must(st.ClassAttendance(ctx, w.class.ID))(t)
		if len(rows) != 2 {
			t.Fatalf("attendance %+v", rows)
		}
		for _, r := range rows {
			if !r.LeftAt.Equal(lastSeen) {
				t.Fatalf("stay %+v closed at %v, want %v (last seen)", r, r.LeftAt, lastSeen)
			}
		}
		live := must(st.GetClass(ctx, w.class.ID))(t)
		att := classes.Summarize(&live, rows, clk.Now())
		for _, a := range att {
			if a.UserID == w.student.ID && (a.PresentS != int64(lastSeen.Sub(start.Add(time.Minute))/time.Second) || a.Late) {
				t.Fatalf("student %+v", a)
			}
		}
		runCtx2, stop := context.WithCancel(ctx)
		defer stop()
		done2 := make(chan struct{})
		go func() { second.Run(runCtx2); close(done2) }()
		defer func() { stop(); <-done2 }()
		// The grace counts from the restart: people get the time to reconnect.
		c := must(st.GetClass(ctx, w.class.ID))(t)
		if c.Status != storage.ClassLive {
			t.Fatalf("class %s right after the restart", c.Status)
		}
		clk.Advance(2 * time.Minute)
		poll(t, "the abandoned class to end", func() bool {
			c = must(st.GetClass(ctx, w.class.ID))(t)
			return c.Status == storage.ClassEnded
		})
		if !c.EndedAt.Equal(lastSeen) || c.EndReason != "empty" {
			t.Fatalf("ended at %v (%s), want %v", c.EndedAt, c.EndReason, lastSeen)
		}
	})
}

// TestEndsWhenEveryoneLeft: a class ends when its room has been empty for
// the grace — a hidden observer still watching does not keep it open —
// at the time the last person left; someone back within the grace keeps
// it running.
func TestEndsWhenEveryoneLeft(t *testing.T) {
	st := storagetest.OpenSQLite(t)
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, storage.Zone)
	clk := &clock{t: start}
	w := setup(t, st, start)
	observer := must(st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "e", Name: "e", DistrictID: w.class.DistrictID,
		Roles: []storage.Role{storage.RoleExpert}, Active: true}, "h", false))(t)
	svc := classes.New(classes.Params{Store: st, NodeURL: "http://n", Now: clk.Now, Tick: 5 * time.Millisecond, EmptyGrace: time.Minute})
	if err := svc.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	teacher, student := event(w.class.ID, w.teacher.ID, "teacher"), event(w.class.ID, w.student.ID, "student")
	hidden := event(w.class.ID, observer.ID, "observer")
	hidden.Hidden = true
	svc.ParticipantJoined(ctx, teacher)
	svc.ParticipantJoined(ctx, student)
	svc.ParticipantJoined(ctx, hidden)
	poll(t, "live", func() bool { return must(st.GetClass(ctx, w.class.ID))(t).Status == storage.ClassLive })
	clk.Advance(10 * time.Minute)
	svc.ParticipantLeft(ctx, student)
	svc.ParticipantLeft(ctx, teacher)
	clk.Advance(30 * time.Second)
	svc.ParticipantJoined(ctx, teacher) // back within the grace
	clk.Advance(5 * time.Minute)
	svc.Flush(ctx)
	if c := must(st.GetClass(ctx, w.class.ID))(t); c.Status != storage.ClassLive {
		t.Fatalf("class %s with its teacher back", c.Status)
	}
	svc.ParticipantLeft(ctx, teacher)
	lastLeft := clk.Now()
	clk.Advance(time.Minute)
	var c storage.Class
	poll(t, "the empty class to end", func() bool {
		c = must(st.GetClass(ctx, w.class.ID))(t)
		return c.Status == storage.ClassEnded
	})
	if !c.EndedAt.Equal(lastLeft) || c.EndReason != "empty" {
		t.Fatalf("ended %v (%s), want %v", c.EndedAt, c.EndReason, lastLeft)
	}
	rows := must(st.ClassAttendance(ctx, w.class.ID))(t)
	if len(rows) != 4 { // teacher twice, student, observer
		t.Fatalf("attendance %+v", rows)
	}
	for _, r := range rows {
		if r.LeftAt.IsZero() {
			t.Fatalf("open stay %+v", r)
		}
	}
}
