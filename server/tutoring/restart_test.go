package tutoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/tutoring"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/signaling/matching/redistest"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// autoBus delivers events to the test's simulated browsers: a teacher
// accepts every offer at once, on the node their socket is on.
type autoBus struct {
	ctx      context.Context
	wg       *sync.WaitGroup
	teachers map[events.UserID]*tutoring.Service // the node of each teacher's socket
	offers   atomic.Int64
}

func (b *autoBus) Publish(_ context.Context, to events.UserID, ev events.Event) error {
	node := b.teachers[to]
	if ev.Type != "offer" || node == nil || b.ctx.Err() != nil {
		return nil
	}
	b.offers.Add(1)
	raw, _ := ev.MarshalJSON()
	var offer struct {
		Request storage.TutoringRequest `json:"request"`
	}
	if err := json.Unmarshal(raw, &offer); err != nil {
		return err
	}
	m, err := events.ParseMessage([]byte(`{"type":"accept","request_id":` + strconv.FormatInt(int64(offer.Request.ID), 10) + `}`))
	if err != nil {
		return err
	}
	b.wg.Go(func() { _ = node.Received(b.ctx, to, m) }) // refusals (offer gone, Redis down) are part of the run
	return nil
}

// TestRedisRestartNeverDoubleBooks: two nodes share Postgres and Redis;
// teachers accept every offer; students end their sessions through either
// node, so a session's host often learns of its end only from its own
// timers and checks. Redis is killed with SIGKILL and restarted empty 20
// times while sessions run. No teacher ever holds two sessions at once.
func TestRedisRestartNeverDoubleBooks(t *testing.T) {
	t.Parallel()
	const teachers, students, restarts = 6, 18, 20
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	st := storagetest.OpenPostgres(t)
	rs := redistest.Start(t)

	d, err := st.CreateDistrict(ctx, storage.Actor{}, "D", "区")
	must(t, err)
	sc, err := st.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d.ID, Code: "S", Name: "校", Kind: storage.KindJuniorSecondary, Active: true})
	must(t, err)
	var math storage.Subject
	subs, err := st.ListSubjects(ctx)
	must(t, err)
	for _, s := range subs {
		if s.Code == "math" {
			math = s
		}
	}
	user := func(name string, role storage.Role) storage.User {
		u, err := st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: name, Name: name, DistrictID: d.ID, SchoolID: sc.ID,
			Roles: []storage.Role{role}, Active: true, Grade: 7, StudentNo: name, Subjects: []storage.SubjectID{math.ID}, Grades: []int{7}}, "h", false)
		must(t, err)
		return u
	}

	var wg sync.WaitGroup
	bus := &autoBus{ctx: ctx, wg: &wg, teachers: map[events.UserID]*tutoring.Service{}}
	node := func(url string) *tutoring.Service {
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), DialTimeout: 200 * time.Millisecond,
			ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		return tutoring.New(tutoring.Params{Store: st, Bus: bus, Rooms: &rooms{}, NodeURL: url,
			Matcher: matching.NewRedis(matching.RedisParams{Client: rdb, Prefix: "{restart-test}:"}),
			Tick:    20 * time.Millisecond, SyncEvery: 300 * time.Millisecond})
	}
	nodes := []*tutoring.Service{node("http://node-a"), node("http://node-b")}
	for i := range teachers {
		u := user(fmt.Sprintf("t%d", i), storage.RoleTeacher)
		bus.teachers[events.UserID(u.ID)] = nodes[i%2]
	}
	for _, n := range nodes {
		must(t, n.Restore(ctx))
		wg.Go(func() { _ = n.Run(ctx) })
	}
	for tu, n := range bus.teachers {
		n.Connected(ctx, tu)
		must(t, n.Received(ctx, tu, msg(t, `{"type":"presence","available":true,"subjects":["math"],"grades":[7]}`)))
		wg.Go(func() { // the socket's heartbeat
			hb := msg(t, `{"type":"heartbeat"}`)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					_ = n.Received(ctx, tu, hb)
				}
			}
		})
	}
	// Each student asks, and ends a session a little after it is accepted,
	// through a node picked at random; then asks again.
	var sessions atomic.Int64
	for i := range students {
		u := user(fmt.Sprintf("s%d", i), storage.RoleStudent)
		wg.Go(func() {
			tick := time.NewTicker(40 * time.Millisecond)
			defer tick.Stop()
			var seen storage.TutoringSessionID
			var endAfter time.Time
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				n := nodes[rand.IntN(2)]
				if sess, err := st.ActiveTutoringSession(ctx, u.ID); err == nil {
					if sess.ID != seen {
						seen, endAfter = sess.ID, time.Now().Add(time.Duration(50+rand.IntN(250))*time.Millisecond)
						sessions.Add(1)
					}
					if time.Now().After(endAfter) {
						_, _ = n.End(ctx, storage.Actor{UserID: u.ID}, sess.ID)
					}
					continue
				}
				if _, err := st.ActiveTutoringRequest(ctx, u.ID); err == nil {
					continue // waiting
				}
				_, _ = n.Ask(ctx, storage.Actor{UserID: u.ID}, storage.TutoringRequestInput{SubjectID: math.ID, Grade: 7, Text: "?"})
			}
		})
	}

	killedWhileRunning := 0
	for range restarts {
		deadline := time.Now().Add(10 * time.Second)
		for {
			live, err := st.LiveTutoringSessions(ctx)
			must(t, err)
			if len(live) > 0 || time.Now().After(deadline) {
				if len(live) > 0 {
					killedWhileRunning++
				}
				break
			}
			time.Sleep(10 * time.Millisecond) // polling the record, not waiting for a server
		}
		// SIGKILL, then an empty Redis on the same port; the nodes work on
		// across the restart for a while.
		rs.Restart()
		time.Sleep(time.Duration(150+rand.IntN(250)) * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()

	if killedWhileRunning < restarts-2 {
		t.Fatalf("only %d of %d restarts happened while sessions ran", killedWhileRunning, restarts)
	}
	if n := sessions.Load(); n < 2*restarts {
		t.Fatalf("only %d sessions in the run; the test did not exercise matching", n)
	}
	all, total, err := st.ListTutoringSessions(context.Background(), storage.SessionFilter{Limit: 500})
	must(t, err)
	if total != len(all) {
		t.Fatalf("%d sessions, read %d", total, len(all))
	}
	byTeacher := map[storage.UserID][]storage.TutoringSession{}
	for _, s := range all {
		byTeacher[s.TeacherID] = append(byTeacher[s.TeacherID], s)
	}
	overlaps := 0
	for tid, list := range byTeacher {
		slices.SortFunc(list, func(a, b storage.TutoringSession) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for i := 1; i < len(list); i++ {
			prev, cur := list[i-1], list[i]
			if prev.EndedAt.IsZero() || prev.EndedAt.After(cur.CreatedAt) {
				overlaps++
				t.Errorf("teacher %d: session %d (%v–%v) overlaps session %d (from %v)", tid, prev.ID,
					prev.CreatedAt.Format(time.StampMilli), prev.EndedAt.Format(time.StampMilli), cur.ID, cur.CreatedAt.Format(time.StampMilli))
			}
		}
	}
	t.Logf("%d sessions, %d offers, %d restarts while sessions ran, %d overlaps", len(all), bus.offers.Load(), killedWhileRunning, overlaps)
}
