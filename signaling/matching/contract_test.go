package matching_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/signaling/matching"
)

// base is an arbitrary fixed instant; every test drives time explicitly.
var base = time.UnixMilli(1_790_000_000_000)

func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

var (
	math7 = matching.Key{Subject: "math", Band: matching.BandJunior}
	eng7  = matching.Key{Subject: "english", Band: matching.BandJunior}
)

var testCfg = matching.Config{PresenceTTL: 15 * time.Second, OfferTTL: 20 * time.Second, MaxLapses: 2}

// factory makes matchers that share one state (for Redis: one key prefix),
// as the nodes of one deployment do, with cfg. Unless raw, the state is
// restored and ready, as a node leaves it before it serves.
type factory func(tb testing.TB, cfg matching.Config, raw bool) func() matching.Matcher

func memoryFactory(tb testing.TB, cfg matching.Config, raw bool) func() matching.Matcher {
	m := matching.NewMemory(cfg)
	if !raw {
		makeReady(tb, m)
	}
	return func() matching.Matcher { return m }
}

// makeReady claims and finishes the restore of a new matcher state.
func makeReady(tb testing.TB, m matching.Matcher) {
	tb.Helper()
	ctx := context.Background()
	c, fresh, err := m.Fresh(ctx)
	if err != nil || !fresh {
		tb.Fatalf("Fresh = %v, %v; want a claim on a new state", fresh, err)
	}
	if err := m.Ready(ctx, c); err != nil {
		tb.Fatal(err)
	}
}

func redisAddr() string {
	if a := os.Getenv("TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisFactory gives each test its own key prefix on the real Redis; each
// call of the returned function is a separate client, like another node.
func redisFactory(t testing.TB, cfg matching.Config, raw bool) func() matching.Matcher {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "{yunke-test-" + hex.EncodeToString(b[:]) + "}:"
	admin := redis.NewClient(&redis.Options{Addr: redisAddr()})
	if err := admin.Ping(context.Background()).Err(); err != nil {
		_ = admin.Close()
		t.Fatalf("Redis not reachable at %s (%v): start it or set TEST_REDIS_ADDR; `make deps` installs and starts it", redisAddr(), err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := admin.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			admin.Del(ctx, iter.Val())
		}
		_ = admin.Close()
	})
	nodes := func() matching.Matcher {
		c := redis.NewClient(&redis.Options{Addr: redisAddr()})
		t.Cleanup(func() { _ = c.Close() })
		return matching.NewRedis(matching.RedisParams{Client: c, Prefix: prefix, Config: cfg})
	}
	if !raw {
		makeReady(t, nodes())
	}
	return nodes
}

// TestContract runs the same behaviour against both implementations.
func TestContract(t *testing.T) {
	impls := map[string]factory{"memory": memoryFactory, "redis": redisFactory}
	cases := map[string]func(t *testing.T, nodes func() matching.Matcher){
		"OldestStudentLeastRecentTeacher": testFairness,
		"DeclineKeepsPlace":               testDecline,
		"LapsesDisableTeacher":            testLapses,
		"AcceptHoldsPlaceUntilFinish":     testAccept,
		"Cancel":                          testCancel,
		"PresenceExpires":                 testPresence,
		"OfflineRevokesOffers":            testOffline,
		"EnqueueIsIdempotent":             testIdempotent,
		"Capacity":                        testCapacity,
		"QueuesAreSeparate":               testQueues,
		"NoDoubleAssignment":              testConcurrent,
		"TeachersGrades":                  testGrades,
		"FinishIsIdempotent":              testFinishIdempotent,
		"SyncWithRecord":                  testSync,
		"NotifyLeastRecentlyNotified":     testNotify,
		"NotifyWithinScope":               testNotifyScope,
	}
	// Cases that start from a state nobody has restored yet.
	rawCases := map[string]func(t *testing.T, nodes func() matching.Matcher){
		"RestoreBeforeMatching": testRestore,
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for cname, c := range cases {
				t.Run(cname, func(t *testing.T) {
					t.Parallel()
					c(t, mk(t, testCfg, false))
				})
			}
			for cname, c := range rawCases {
				t.Run(cname, func(t *testing.T) {
					t.Parallel()
					c(t, mk(t, testCfg, true))
				})
			}
			t.Run("RestoreLeaseLapses", func(t *testing.T) {
				t.Parallel()
				cfg := testCfg
				cfg.RestoreLease = 150 * time.Millisecond
				testLease(t, mk(t, cfg, true))
			})
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func teacher(id string, keys ...matching.Key) matching.Teacher {
	return matching.Teacher{ID: matching.TeacherID(id), Keys: keys, Capacity: 1, Available: true}
}

func enqueue(t *testing.T, m matching.Matcher, id string, k matching.Key, atMS int) {
	t.Helper()
	must(t, m.Enqueue(context.Background(), matching.Request{
		ID: matching.RequestID(id), Student: matching.StudentID("s-" + id), Key: k, EnqueuedAt: at(atMS)}))
}

func next(t *testing.T, m matching.Matcher, k matching.Key, nowMS int) (matching.Offer, bool) {
	t.Helper()
	o, ok, err := m.Next(context.Background(), k, at(nowMS))
	must(t, err)
	return o, ok
}

func expectOffer(t *testing.T, m matching.Matcher, k matching.Key, nowMS int, req, tch string) matching.Offer {
	t.Helper()
	o, ok := next(t, m, k, nowMS)
	if !ok {
		t.Fatalf("no match at %d ms; want %s → %s", nowMS, req, tch)
	}
	if string(o.Request) != req || string(o.Teacher) != tch {
		t.Fatalf("matched %s → %s; want %s → %s", o.Request, o.Teacher, req, tch)
	}
	if o.Key != k || string(o.Student) != "s-"+req || !o.ExpiresAt.Equal(at(nowMS).Add(testCfg.OfferTTL)) {
		t.Fatalf("offer %+v: wrong key, student or expiry", o)
	}
	return o
}

func expectNone(t *testing.T, m matching.Matcher, k matching.Key, nowMS int) {
	t.Helper()
	if o, ok := next(t, m, k, nowMS); ok {
		t.Fatalf("unexpected match %s → %s at %d ms", o.Request, o.Teacher, nowMS)
	}
}

func expectPosition(t *testing.T, m matching.Matcher, id string, pos, n int) {
	t.Helper()
	p, l, err := m.Position(context.Background(), matching.RequestID(id))
	must(t, err)
	if p != pos || l != n {
		t.Fatalf("position of %s = %d of %d; want %d of %d", id, p, l, pos, n)
	}
}

func testFairness(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	enqueue(t, m, "r2", math7, 200)
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r3", math7, 300)
	expectPosition(t, m, "r1", 1, 3)
	expectPosition(t, m, "r3", 3, 3)
	expectNone(t, m, math7, 1000) // no teachers yet
	must(t, m.Heartbeat(ctx, teacher("tB", math7), at(1000)))
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	// Neither was ever assigned: ties go by id. The oldest request first.
	expectOffer(t, m, math7, 1000, "r1", "tA")
	expectOffer(t, m, math7, 1001, "r2", "tB")
	expectNone(t, m, math7, 1002) // both busy
	expectPosition(t, m, "r1", 0, 1)
	expectPosition(t, m, "r3", 1, 1)
	// tA finishes first, then tB: tA was assigned earlier, so tA is next.
	_, err := m.Accept(ctx, "r1", "tA", at(2000))
	must(t, err)
	_, err = m.Accept(ctx, "r2", "tB", at(2000))
	must(t, err)
	must(t, m.Finish(ctx, "tB", "r2", at(2500)))
	must(t, m.Finish(ctx, "tA", "r1", at(2600)))
	enqueue(t, m, "r4", math7, 400)
	expectOffer(t, m, math7, 3000, "r3", "tA")
	expectOffer(t, m, math7, 3001, "r4", "tB")
}

func testDecline(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r2", math7, 200)
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	expectOffer(t, m, math7, 1000, "r1", "tA")
	if _, err := m.Decline(ctx, "r1", "tB"); !errors.Is(err, matching.ErrNoOffer) {
		t.Fatalf("decline by another teacher: %v; want ErrNoOffer", err)
	}
	o, err := m.Decline(ctx, "r1", "tA")
	must(t, err)
	if o.Request != "r1" || !o.EnqueuedAt.Equal(at(100)) {
		t.Fatalf("declined offer %+v", o)
	}
	expectPosition(t, m, "r1", 1, 2) // back at its original place
	// tA is not offered r1 again, so r2 goes to tA; r1 waits for someone else.
	expectOffer(t, m, math7, 1100, "r2", "tA")
	must(t, m.Heartbeat(ctx, teacher("tB", math7), at(1200)))
	expectOffer(t, m, math7, 1200, "r1", "tB")
	if _, err := m.Decline(ctx, "r1", "tB"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Decline(ctx, "r1", "tB"); !errors.Is(err, matching.ErrNoOffer) {
		t.Fatalf("second decline: %v; want ErrNoOffer", err)
	}
}

func testLapses(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r2", math7, 200)
	enqueue(t, m, "r3", math7, 300)
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	expectOffer(t, m, math7, 1000, "r1", "tA")
	lapsed, err := m.Expire(ctx, at(20999))
	must(t, err)
	if len(lapsed) != 0 {
		t.Fatalf("expired early: %+v", lapsed)
	}
	lapsed, err = m.Expire(ctx, at(21000))
	must(t, err)
	if len(lapsed) != 1 || lapsed[0].Request != "r1" || lapsed[0].Teacher != "tA" || lapsed[0].Disabled {
		t.Fatalf("first lapse: %+v", lapsed)
	}
	expectPosition(t, m, "r1", 1, 3)
	if _, err := m.Accept(ctx, "r1", "tA", at(21000)); !errors.Is(err, matching.ErrNoOffer) {
		t.Fatalf("accept after lapse: %v; want ErrNoOffer", err)
	}
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(21000)))
	expectOffer(t, m, math7, 21000, "r2", "tA") // r1 lapsed with tA: not offered to tA again
	lapsed, err = m.Expire(ctx, at(41000))
	must(t, err)
	if len(lapsed) != 1 || lapsed[0].Request != "r2" || !lapsed[0].Disabled {
		t.Fatalf("second lapse in a row should disable the teacher: %+v", lapsed)
	}
	must(t, m.Heartbeat(ctx, matching.Teacher{ID: "tA", Keys: []matching.Key{math7}, Capacity: 1, Available: false}, at(41000)))
	expectNone(t, m, math7, 41000)
	expectPosition(t, m, "r2", 2, 3)
	// Making themselves available again starts a fresh count.
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(42000)))
	expectOffer(t, m, math7, 42000, "r3", "tA")
}

func testAccept(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r2", math7, 200)
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	expectOffer(t, m, math7, 1000, "r1", "tA")
	if _, err := m.Accept(ctx, "r1", "tB", at(1500)); !errors.Is(err, matching.ErrNoOffer) {
		t.Fatalf("accept by another teacher: %v", err)
	}
	o, err := m.Accept(ctx, "r1", "tA", at(1500))
	must(t, err)
	if o.Request != "r1" || o.Teacher != "tA" || o.Student != "s-r1" || o.Key != math7 {
		t.Fatalf("accepted %+v", o)
	}
	if _, _, err := m.Position(ctx, "r1"); !errors.Is(err, matching.ErrNotFound) {
		t.Fatalf("accepted request still known: %v", err)
	}
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(2000))) // heartbeats keep the load
	expectNone(t, m, math7, 2000)
	must(t, m.Finish(ctx, "tA", "r1", at(2500)))
	expectOffer(t, m, math7, 3000, "r2", "tA")
	// Finishing the session again while an offer is open does not free
	// the offer's place.
	must(t, m.Finish(ctx, "tA", "r1", at(3000)))
	enqueue(t, m, "r3", math7, 300)
	expectNone(t, m, math7, 3001)
}

// testFinishIdempotent: a session ended twice (a stale timer, a second
// node) never frees the place of the teacher's next session.
func testFinishIdempotent(t *testing.T, nodes func() matching.Matcher) {
	a, b, ctx := nodes(), nodes(), context.Background()
	must(t, a.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	enqueue(t, a, "r1", math7, 100)
	enqueue(t, a, "r2", math7, 200)
	enqueue(t, a, "r3", math7, 300)
	expectOffer(t, a, math7, 1000, "r1", "tA")
	_, err := a.Accept(ctx, "r1", "tA", at(1100))
	must(t, err)
	must(t, a.Finish(ctx, "tA", "r1", at(1150)))
	expectOffer(t, b, math7, 1200, "r2", "tA")
	_, err = b.Accept(ctx, "r2", "tA", at(1300))
	must(t, err)
	// The first session is ended again, on both nodes, and one never known.
	must(t, a.Finish(ctx, "tA", "r1", at(1350)))
	must(t, b.Finish(ctx, "tA", "r1", at(1350)))
	must(t, b.Finish(ctx, "tA", "nope", at(1350)))
	must(t, a.Heartbeat(ctx, teacher("tA", math7), at(1400)))
	expectNone(t, a, math7, 1400) // still in the session of r2
	must(t, b.Finish(ctx, "tA", "r2", at(1450)))
	expectOffer(t, a, math7, 1500, "r3", "tA")
}

// testSync: the running sessions follow the durable record; a session
// recorded after the record was read survives it.
func testSync(t *testing.T, nodes func() matching.Matcher) {
	a, b, ctx := nodes(), nodes(), context.Background()
	must(t, a.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	enqueue(t, a, "r1", math7, 100)
	expectOffer(t, a, math7, 1000, "r1", "tA")
	_, err := a.Accept(ctx, "r1", "tA", at(1500))
	must(t, err)
	// A record read at 1000 does not know the session accepted at 1500.
	must(t, b.Sync(ctx, nil, at(1000)))
	enqueue(t, a, "r2", math7, 200)
	expectNone(t, a, math7, 1600) // tA is still busy
	must(t, a.Heartbeat(ctx, teacher("tB", math7), at(1600)))
	expectOffer(t, a, math7, 1600, "r2", "tB")
	// A record read at 2000 says tA's session ended (its Finish was lost)
	// and that tB runs one the matcher never heard of.
	_, err = a.Accept(ctx, "r2", "tB", at(1700))
	must(t, err)
	must(t, a.Finish(ctx, "tB", "r2", at(1800)))
	must(t, b.Sync(ctx, map[matching.TeacherID][]matching.RequestID{"tB": {"r9"}}, at(2000)))
	enqueue(t, a, "r3", math7, 300)
	enqueue(t, a, "r4", math7, 400)
	expectOffer(t, a, math7, 2100, "r3", "tA")
	expectNone(t, a, math7, 2100) // tB holds r9
	must(t, b.Finish(ctx, "tB", "r9", at(2150)))
	expectOffer(t, a, math7, 2200, "r4", "tB")

	// A record read before a session ended, applied after its Finish, does
	// not bring the session back.
	_, err = a.Accept(ctx, "r4", "tB", at(2300))
	must(t, err)
	must(t, a.Finish(ctx, "tB", "r4", at(2500)))
	must(t, b.Sync(ctx, map[matching.TeacherID][]matching.RequestID{"tB": {"r4"}}, at(2400)))
	enqueue(t, a, "r5", math7, 500)
	expectOffer(t, a, math7, 2600, "r5", "tB")
}

// testRestore: a new state matches nothing until the one caller that
// claimed its restore makes it ready; sessions restored before the
// teacher's first heartbeat hold their place, once however often told.
func testRestore(t *testing.T, nodes func() matching.Matcher) {
	a, b, ctx := nodes(), nodes(), context.Background()
	c, fresh, err := a.Fresh(ctx)
	must(t, err)
	_, again, err := b.Fresh(ctx)
	must(t, err)
	if !fresh || again {
		t.Fatalf("Fresh = %v then %v; want true once", fresh, again)
	}
	must(t, b.Heartbeat(ctx, teacher("tB", math7), at(1000)))
	enqueue(t, b, "r0", math7, 50)
	expectNone(t, b, math7, 1000) // restoring: nothing is matched yet
	must(t, a.Occupy(ctx, "tA", []matching.RequestID{"s1"}, at(900)))
	must(t, a.Occupy(ctx, "tA", []matching.RequestID{"s1"}, at(950)))
	must(t, a.Occupy(ctx, "tB", []matching.RequestID{"s2"}, at(950)))
	must(t, a.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	enqueue(t, a, "r1", math7, 100)
	must(t, b.Ready(ctx, "restoring:not-the-claim"))
	expectNone(t, b, math7, 1000)
	must(t, a.Ready(ctx, c))
	expectNone(t, a, math7, 1000) // both teachers are in sessions
	must(t, a.Finish(ctx, "tA", "s1", at(1000)))
	expectOffer(t, b, math7, 1001, "r0", "tA")
	if _, fresh, err := b.Fresh(ctx); err != nil || fresh {
		t.Fatalf("Fresh after Ready = %v, %v", fresh, err)
	}
}

// testLease: a restore claimed and never finished lapses, and the next
// caller claims it again; the first claim can no longer make it ready.
func testLease(t *testing.T, nodes func() matching.Matcher) {
	a, b, ctx := nodes(), nodes(), context.Background()
	first, fresh, err := a.Fresh(ctx)
	must(t, err)
	if !fresh {
		t.Fatal("a new state is not fresh")
	}
	deadline := time.Now().Add(5 * time.Second)
	var second matching.Claim
	for {
		c, fresh, err := b.Fresh(ctx)
		must(t, err)
		if fresh {
			second = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unfinished claim never lapsed")
		}
		time.Sleep(20 * time.Millisecond) // polling a lease, not waiting for a server
	}
	must(t, b.Heartbeat(ctx, teacher("tB", math7), at(1000)))
	enqueue(t, b, "r1", math7, 100)
	must(t, a.Ready(ctx, first))
	expectNone(t, a, math7, 1000)
	must(t, b.Ready(ctx, second))
	expectOffer(t, a, math7, 1000, "r1", "tB")
}

func testCancel(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	if _, err := m.Cancel(ctx, "nope"); !errors.Is(err, matching.ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r2", math7, 200)
	enqueue(t, m, "r3", math7, 300)
	o, err := m.Cancel(ctx, "r2")
	must(t, err)
	if o != nil {
		t.Fatalf("cancel waiting returned an offer %+v", o)
	}
	expectPosition(t, m, "r3", 2, 2)
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	expectOffer(t, m, math7, 1000, "r1", "tA")
	o, err = m.Cancel(ctx, "r1")
	must(t, err)
	if o == nil || o.Teacher != "tA" || o.Request != "r1" {
		t.Fatalf("cancel offered: revoked offer %+v", o)
	}
	if _, err := m.Accept(ctx, "r1", "tA", at(1001)); !errors.Is(err, matching.ErrNoOffer) {
		t.Fatalf("accept after cancel: %v", err)
	}
	expectOffer(t, m, math7, 1002, "r3", "tA") // the teacher's place was freed
	if n, err := m.Waiting(ctx, math7); err != nil || n != 0 {
		t.Fatalf("waiting = %d, %v", n, err)
	}
}

func testPresence(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	enqueue(t, m, "r1", math7, 100)
	expectNone(t, m, math7, 1000+15001) // heartbeat too old
	expectOffer(t, m, math7, 1000+15000, "r1", "tA")
}

func testOffline(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	if revoked, err := m.Offline(ctx, "nobody"); err != nil || len(revoked) != 0 {
		t.Fatalf("offline unknown: %v %v", revoked, err)
	}
	must(t, m.Heartbeat(ctx, matching.Teacher{ID: "tA", Keys: []matching.Key{math7}, Capacity: 2, Available: true}, at(1000)))
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r2", math7, 200)
	expectOffer(t, m, math7, 1000, "r1", "tA")
	expectOffer(t, m, math7, 1000, "r2", "tA")
	revoked, err := m.Offline(ctx, "tA")
	must(t, err)
	if len(revoked) != 2 || revoked[0].Request != "r1" || revoked[1].Request != "r2" {
		t.Fatalf("revoked %+v", revoked)
	}
	expectPosition(t, m, "r1", 1, 2)
	expectNone(t, m, math7, 1001)
	// Coming back: a revoked offer is not a decline, so tA may get r1 again.
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(2000)))
	expectOffer(t, m, math7, 2000, "r1", "tA")
}

func testIdempotent(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	enqueue(t, m, "r1", math7, 100)
	enqueue(t, m, "r2", math7, 200)
	enqueue(t, m, "r1", math7, 900) // a restore with a later time changes nothing
	expectPosition(t, m, "r1", 1, 2)
	must(t, m.Heartbeat(ctx, teacher("tA", math7), at(1000)))
	expectOffer(t, m, math7, 1000, "r1", "tA")
	enqueue(t, m, "r1", math7, 100) // an offered request is not queued twice
	expectPosition(t, m, "r1", 0, 1)
	expectNone(t, m, math7, 1001)
}

func testCapacity(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	must(t, m.Heartbeat(ctx, matching.Teacher{ID: "tA", Keys: []matching.Key{math7}, Capacity: 2, Available: true}, at(1000)))
	for i := 1; i <= 3; i++ {
		enqueue(t, m, fmt.Sprintf("r%d", i), math7, i*100)
	}
	expectOffer(t, m, math7, 1000, "r1", "tA")
	expectOffer(t, m, math7, 1001, "r2", "tA")
	expectNone(t, m, math7, 1002)
}

func testQueues(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	enqueue(t, m, "r1", eng7, 100)
	enqueue(t, m, "r2", math7, 200)
	must(t, m.Heartbeat(ctx, teacher("tM", math7), at(1000)))
	expectNone(t, m, eng7, 1000)
	expectOffer(t, m, math7, 1000, "r2", "tM")
	// A teacher who changes subjects leaves the old queue.
	must(t, m.Heartbeat(ctx, teacher("tE", math7), at(1000)))
	must(t, m.Heartbeat(ctx, teacher("tE", eng7), at(1001)))
	enqueue(t, m, "r3", math7, 300)
	expectNone(t, m, math7, 1002)
	expectOffer(t, m, eng7, 1002, "r1", "tE")
}

// testConcurrent: several nodes match one queue at once. Every teacher
// gets at most one student and every student at most one teacher.
func testConcurrent(t *testing.T, nodes func() matching.Matcher) {
	ctx := context.Background()
	const teachers, requests, workers = 40, 120, 8
	setup := nodes()
	for i := range teachers {
		must(t, setup.Heartbeat(ctx, teacher(fmt.Sprintf("t%02d", i), math7), at(1000)))
	}
	for i := range requests {
		enqueue(t, setup, fmt.Sprintf("r%03d", i), math7, 100+i)
	}
	var (
		mu     sync.Mutex
		offers []matching.Offer
		wg     sync.WaitGroup
		errs   = make(chan error, workers)
	)
	for range workers {
		node := nodes()
		wg.Go(func() {
			for {
				o, ok, err := node.Next(ctx, math7, at(1000))
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				offers = append(offers, o)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(offers) != teachers {
		t.Fatalf("%d offers; want one per teacher (%d)", len(offers), teachers)
	}
	byTeacher, byRequest := map[matching.TeacherID]int{}, map[matching.RequestID]int{}
	for _, o := range offers {
		byTeacher[o.Teacher]++
		byRequest[o.Request]++
	}
	for id, n := range byTeacher {
		if n != 1 {
			t.Errorf("teacher %s got %d students", id, n)
		}
	}
	for id, n := range byRequest {
		if n != 1 {
			t.Errorf("request %s went to %d teachers", id, n)
		}
	}
	// Fairness holds under concurrency too: the oldest requests were served.
	for i := range teachers {
		if byRequest[matching.RequestID(fmt.Sprintf("r%03d", i))] != 1 {
			t.Errorf("request r%03d (among the %d oldest) was not offered", i, teachers)
		}
	}
	if n, err := setup.Waiting(ctx, math7); err != nil || n != requests-teachers {
		t.Fatalf("waiting = %d, %v; want %d", n, err, requests-teachers)
	}
}

func TestBandOf(t *testing.T) {
	for g, want := range map[int]matching.Band{1: "p", 6: "p", 7: "j", 9: "j", 10: "s", 12: "s"} {
		if b, ok := matching.BandOf(g); !ok || b != want {
			t.Errorf("BandOf(%d) = %q, %v", g, b, ok)
		}
	}
	for _, g := range []int{0, 13, -1} {
		if _, ok := matching.BandOf(g); ok {
			t.Errorf("BandOf(%d) ok", g)
		}
	}
	k, err := matching.ParseKey(math7.String())
	if err != nil || k != math7 {
		t.Fatalf("ParseKey round trip: %v %v", k, err)
	}
	for _, bad := range []string{"", "math", "math/x", "/p"} {
		if _, err := matching.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

// testGrades: a teacher who named grades is offered only those grades'
// requests of the band; one who named none takes the whole band.
func testGrades(t *testing.T, nodes func() matching.Matcher) {
	m, ctx := nodes(), context.Background()
	req := func(id string, grade, atMS int) {
		t.Helper()
		must(t, m.Enqueue(ctx, matching.Request{ID: matching.RequestID(id), Student: matching.StudentID("s-" + id), Key: math7, Grade: grade, EnqueuedAt: at(atMS)}))
	}
	req("r9", 9, 100)
	req("r7", 7, 200)
	seven := teacher("t7", math7)
	seven.Grades = []int{7}
	must(t, m.Heartbeat(ctx, seven, at(1000)))
	expectOffer(t, m, math7, 1000, "r7", "t7") // the older grade-9 request waits
	must(t, m.Heartbeat(ctx, teacher("tAll", math7), at(1000)))
	expectOffer(t, m, math7, 1001, "r9", "tAll")
}
