package qa_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/qa"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/storage"
)

// fakeBus records who was told what.
type fakeBus struct {
	mu  sync.Mutex
	got map[events.UserID][]events.Event
}

func (b *fakeBus) Publish(_ context.Context, to events.UserID, ev events.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got[to] = append(b.got[to], ev)
	return nil
}

func (b *fakeBus) told() []events.UserID {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []events.UserID
	for u := range b.got {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// manualTimers runs scheduled functions when the test says so.
type manualTimers struct {
	mu sync.Mutex
	fs []func()
}

func (m *manualTimers) after(_ time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fs = append(m.fs, f)
	return func() bool { return true }
}

func (m *manualTimers) fire(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	fs := m.fs
	m.fs = nil
	m.mu.Unlock()
	if len(fs) != 1 {
		t.Fatalf("%d widenings pending, want 1", len(fs))
	}
	fs[0]()
}

func redisMatcher(t testing.TB, cfg matching.Config) matching.Matcher {
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
	prefix := "{yunke-qa-test-" + hex.EncodeToString(b[:]) + "}:"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return matching.NewRedis(matching.RedisParams{Client: c, Prefix: prefix, Config: cfg})
}

// TestRouter: a question reaches online teachers of its subject and grade
// band, a batch at a time, least recently notified first; it widens while
// nobody claims it, waits out a live claim, and stops once answered — on
// the in-process presence and on Redis.
func TestRouter(t *testing.T) {
	cfg := matching.Config{PresenceTTL: time.Minute, OfferTTL: 20 * time.Second}
	for name, mk := range map[string]func(t *testing.T) matching.Matcher{
		"memory": func(*testing.T) matching.Matcher { return matching.NewMemory(cfg) },
		"redis":  func(t *testing.T) matching.Matcher { return redisMatcher(t, cfg) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			m := mk(t)
			now := time.Now()
			math := matching.Key{Subject: "math", Band: matching.BandJunior}
			for _, id := range []string{"11", "12", "13", "14", "15"} {
				if err := m.Heartbeat(ctx, matching.Teacher{ID: matching.TeacherID(id), Keys: []matching.Key{math}, Available: true}, now); err != nil {
					t.Fatal(err)
				}
			}
			// A Chinese teacher and a primary-band math teacher never hear of it.
			_ = m.Heartbeat(ctx, matching.Teacher{ID: "21", Keys: []matching.Key{{Subject: "chinese", Band: matching.BandJunior}}}, now)
			_ = m.Heartbeat(ctx, matching.Teacher{ID: "22", Keys: []matching.Key{{Subject: "math", Band: matching.BandPrimary}}}, now)

			// Earlier questions: everyone told two hours ago, teacher 11 again an hour ago.
			n := m.(matching.Notifier)
			if got, err := n.NotifyTeachers(ctx, math, 7, "", 10, nil, now.Add(-2*time.Hour)); err != nil || len(got) != 5 {
				t.Fatalf("earlier question: %v %v", got, err)
			}
			if got, _ := n.NotifyTeachers(ctx, math, 7, "", 1, []matching.TeacherID{"12", "13", "14", "15"}, now.Add(-time.Hour)); !slices.Equal(got, []matching.TeacherID{"11"}) {
				t.Fatalf("earlier question: %v", got)
			}

			q := storage.Question{ID: 7, AuthorID: 99, SubjectCode: "math", Grade: 7, Text: "二次函数的顶点", Status: storage.QuestionOpen}
			var mu sync.Mutex
			cur := q
			bus := &fakeBus{got: map[events.UserID][]events.Event{}}
			timers := &manualTimers{}
			r := qa.NewRouter(qa.RouterParams{Presence: m.(matching.Notifier), Bus: bus, Batch: 2, Rounds: 3,
				Now: func() time.Time { return now }, AfterFunc: timers.after,
				Question: func(context.Context, storage.QuestionID) (storage.Question, error) {
					mu.Lock()
					defer mu.Unlock()
					return cur, nil
				}})
			defer r.Close()

			r.QuestionAsked(ctx, q)
			if got := bus.told(); !slices.Equal(got, []events.UserID{12, 13}) {
				t.Fatalf("first batch %v (least recently notified first)", got)
			}
			ev := bus.got[12][0]
			if ev.Type != qa.EventQuestion || ev.Data.(map[string]any)["question_id"] != storage.QuestionID(7) {
				t.Fatalf("event %+v", ev)
			}
			// Nobody claimed it: the next batch.
			timers.fire(t)
			if got := bus.told(); !slices.Equal(got, []events.UserID{12, 13, 14, 15}) {
				t.Fatalf("widened to %v", got)
			}
			// A live claim holds the widening until it lapses; then it goes on.
			mu.Lock()
			cur.ClaimedBy, cur.ClaimExpiresAt = 13, now.Add(time.Minute)
			mu.Unlock()
			timers.fire(t)
			if got := bus.told(); len(got) != 4 {
				t.Fatalf("told during a claim: %v", got)
			}
			mu.Lock()
			cur.ClaimExpiresAt = now.Add(-time.Second)
			mu.Unlock()
			timers.fire(t)
			if got := bus.told(); !slices.Equal(got, []events.UserID{11, 12, 13, 14, 15}) {
				t.Fatalf("after the claim lapsed %v", got)
			}
			// Rounds are bounded: nothing more is scheduled.
			timers.mu.Lock()
			left := len(timers.fs)
			timers.mu.Unlock()
			if left != 0 {
				t.Fatalf("%d widenings after the last round", left)
			}

			// A second question: everyone was told at the same moment, so by id.
			bus2 := &fakeBus{got: map[events.UserID][]events.Event{}}
			r2 := qa.NewRouter(qa.RouterParams{Presence: m.(matching.Notifier), Bus: bus2, Batch: 2,
				Now: func() time.Time { return now.Add(time.Second) }, AfterFunc: timers.after,
				Question: func(context.Context, storage.QuestionID) (storage.Question, error) {
					return storage.Question{Status: storage.QuestionAnswered}, nil
				}})
			defer r2.Close()
			r2.QuestionAsked(ctx, storage.Question{ID: 8, AuthorID: 98, SubjectCode: "math", Grade: 8, Status: storage.QuestionOpen})
			if got := bus2.told(); !slices.Equal(got, []events.UserID{11, 12}) {
				t.Fatalf("second question told %v", got)
			}
			// Answered meanwhile: no widening.
			timers.fire(t)
			if got := bus2.told(); len(got) != 2 {
				t.Fatalf("widened an answered question: %v", got)
			}

			// Teachers heartbeat with their district and school: the first
			// round reaches the question's school only, the next the rest of
			// its district; 11 and 13 teach in another district and are never told.
			for id, scopes := range map[string][]string{"11": {"d2", "s9"}, "12": {"d1", "s1"}, "13": {"d2", "s9"}, "14": {"d1", "s2"}, "15": {"d1", "s3"}} {
				if err := m.Heartbeat(ctx, matching.Teacher{ID: matching.TeacherID(id), Keys: []matching.Key{math}, Available: true, Scopes: scopes}, now); err != nil {
					t.Fatal(err)
				}
			}
			bus3 := &fakeBus{got: map[events.UserID][]events.Event{}}
			q9 := storage.Question{ID: 9, AuthorID: 97, DistrictID: 1, SchoolID: 1, SubjectCode: "math", Grade: 7, Status: storage.QuestionOpen}
			r3 := qa.NewRouter(qa.RouterParams{Presence: m.(matching.Notifier), Bus: bus3, Batch: 2, SchoolRounds: 1,
				Now: func() time.Time { return now.Add(2 * time.Second) }, AfterFunc: timers.after,
				Question: func(context.Context, storage.QuestionID) (storage.Question, error) { return q9, nil }})
			defer r3.Close()
			r3.QuestionAsked(ctx, q9)
			if got := bus3.told(); !slices.Equal(got, []events.UserID{12}) {
				t.Fatalf("school round told %v", got)
			}
			timers.fire(t)
			if got := bus3.told(); !slices.Equal(got, []events.UserID{12, 14, 15}) {
				t.Fatalf("district round told %v", got)
			}
			timers.fire(t)
			if got := bus3.told(); len(got) != 3 {
				t.Fatalf("told beyond the district: %v", got)
			}
			timers.fire(t)
			// A school with nobody online widens to the district at once.
			bus5 := &fakeBus{got: map[events.UserID][]events.Event{}}
			r5 := qa.NewRouter(qa.RouterParams{Presence: m.(matching.Notifier), Bus: bus5, Batch: 5,
				Now: func() time.Time { return now.Add(3 * time.Second) }})
			defer r5.Close()
			r5.QuestionAsked(ctx, storage.Question{ID: 11, AuthorID: 95, DistrictID: 1, SchoolID: 7, SubjectCode: "math", Grade: 7, Status: storage.QuestionOpen})
			if got := bus5.told(); !slices.Equal(got, []events.UserID{12, 14, 15}) {
				t.Fatalf("empty school widened to %v", got)
			}

			// After a restart, Resume routes open questions again from a first batch.
			bus4 := &fakeBus{got: map[events.UserID][]events.Event{}}
			r4 := qa.NewRouter(qa.RouterParams{Presence: m.(matching.Notifier), Bus: bus4, Batch: 1,
				Now: func() time.Time { return now.Add(4 * time.Second) }})
			defer r4.Close()
			if r4.Horizon() != 4*time.Minute {
				t.Fatalf("horizon %v", r4.Horizon())
			}
			r4.Resume(ctx, []storage.Question{{ID: 10, AuthorID: 96, SubjectCode: "math", Grade: 7, Status: storage.QuestionOpen}})
			if got := bus4.told(); len(got) != 1 {
				t.Fatalf("resumed question told %v", got)
			}
		})
	}
}
