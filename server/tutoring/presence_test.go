package tutoring_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/tutoring"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/storage"
)

// sharedRedis is a matcher factory on the test Redis under a fresh prefix:
// every matcher it makes is another node of one installation.
func sharedRedis(t *testing.T) func() matching.Matcher {
	addr := os.Getenv("TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis not reachable at %s: %v", addr, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "{yunke-tutoring-test-" + hex.EncodeToString(b[:]) + "}:"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return func() matching.Matcher {
		return matching.NewRedis(matching.RedisParams{Client: c, Prefix: prefix, Config: matching.Config{PresenceTTL: time.Minute}})
	}
}

// TestTeacherOnlineWithoutPresence: a teacher whose event socket is open
// but who never sent a presence message (resting on the home page) is
// online for Q&A routing in the queues of their account's subjects and
// grades, within their district and school, and not available for
// tutoring; a socket closing takes them out. On one node and on two
// (connected to one, picked from the other), in process and on Redis.
func TestTeacherOnlineWithoutPresence(t *testing.T) {
	mem := matching.NewMemory(matching.Config{PresenceTTL: time.Minute})
	for name, mk := range map[string]func(t *testing.T) (a, b matching.Matcher){
		"memory": func(*testing.T) (matching.Matcher, matching.Matcher) { return mem, mem },
		"redis-one-node": func(t *testing.T) (matching.Matcher, matching.Matcher) {
			m := sharedRedis(t)()
			return m, m
		},
		"redis-two-nodes": func(t *testing.T) (matching.Matcher, matching.Matcher) {
			f := sharedRedis(t)
			return f(), f()
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			home, other := mk(t)
			w := setup(t, tutoring.Params{Matcher: home})
			junior := matching.Key{Subject: "math", Band: matching.BandJunior}
			district := matching.DistrictScope(int64(w.teacher.DistrictID))
			school := matching.SchoolScope(int64(w.teacher.SchoolID))
			pick := func(scope string, grade int, at time.Time) []matching.TeacherID {
				t.Helper()
				k, _ := matching.BandOf(grade)
				got, err := other.(matching.Notifier).NotifyTeachers(ctx, matching.Key{Subject: "math", Band: k}, grade, scope, 5, nil, at)
				must(t, err)
				return got
			}
			me := []matching.TeacherID{matching.TeacherID(itoa(w.teacher.ID))}
			if got := pick(district, 7, time.Now()); len(got) != 0 {
				t.Fatalf("picked before connecting: %v", got)
			}

			evs := w.svc.Connected(ctx, events.UserID(w.teacher.ID))
			if i := slices.IndexFunc(evs, func(e events.Event) bool { return e.Type == "presence" }); i < 0 {
				t.Fatalf("no presence event on connect: %+v", evs)
			} else {
				b, _ := evs[i].MarshalJSON()
				var p struct {
					Available bool     `json:"available"`
					Subjects  []string `json:"subjects"`
				}
				must(t, json.Unmarshal(b, &p))
				if p.Available || len(p.Subjects) != 0 {
					t.Fatalf("presence on connect %s: not available, no choices of its own expected", b)
				}
			}
			for _, scope := range []string{district, school} {
				if got := pick(scope, 7, time.Now().Add(time.Second)); !slices.Equal(got, me) {
					t.Fatalf("scope %s: picked %v, want the connected teacher", scope, got)
				}
			}
			// Grade 7 only on the account: not told of grade-8 questions, nor of another school's.
			if got := pick(district, 8, time.Now()); len(got) != 0 {
				t.Fatalf("grade 8 picked %v", got)
			}
			if got := pick(matching.SchoolScope(int64(w.teacher.SchoolID)+1000), 7, time.Now()); len(got) != 0 {
				t.Fatalf("another school picked %v", got)
			}
			// Not available for tutoring: a request waits.
			if o, ok, err := home.Next(ctx, junior, time.Now()); err == nil && ok {
				t.Fatalf("offered a tutoring request without presence: %+v", o)
			}

			// The Q&A page's presence (not available, account's choices) keeps them online.
			must(t, w.svc.Received(ctx, events.UserID(w.teacher.ID), msg(t, `{"type":"presence","available":false}`)))
			if got := pick(district, 7, time.Now().Add(2*time.Second)); !slices.Equal(got, me) {
				t.Fatalf("after a presence message picked %v", got)
			}

			w.svc.Disconnected(events.UserID(w.teacher.ID))
			if got := pick(district, 7, time.Now().Add(3*time.Second)); len(got) != 0 {
				t.Fatalf("picked after the socket closed: %v", got)
			}
		})
	}
}

// TestTeacherWithoutGradesIsOnlineInEveryBand: an account with subjects but
// no grades is told of its subjects' questions of every band.
func TestTeacherWithoutGradesIsOnlineInEveryBand(t *testing.T) {
	ctx := context.Background()
	m := matching.NewMemory(matching.Config{PresenceTTL: time.Minute})
	w := setup(t, tutoring.Params{Matcher: m})
	u, err := w.store.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "t2", Name: "老师二", DistrictID: w.teacher.DistrictID,
		SchoolID: w.teacher.SchoolID, Roles: []storage.Role{storage.RoleTeacher}, Active: true, Subjects: []storage.SubjectID{w.math.ID}}, "h", false)
	must(t, err)
	w.svc.Connected(ctx, events.UserID(u.ID))
	for i, g := range []int{2, 8, 11} {
		b, _ := matching.BandOf(g)
		got, err := m.NotifyTeachers(ctx, matching.Key{Subject: "math", Band: b}, g, "", 5, nil, time.Now().Add(time.Duration(i)*time.Second))
		must(t, err)
		if !slices.Contains(got, matching.TeacherID(itoa(u.ID))) {
			t.Fatalf("grade %d: picked %v", g, got)
		}
	}
	// A Chinese question is not theirs.
	got, _ := m.NotifyTeachers(ctx, matching.Key{Subject: "chinese", Band: matching.BandJunior}, 8, "", 5, nil, time.Now())
	if len(got) != 0 {
		t.Fatalf("chinese picked %v", got)
	}
}

func itoa(id storage.UserID) string { return strconv.FormatInt(int64(id), 10) }
