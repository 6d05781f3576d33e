package account

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/auth"
)

// limiterClock is a clock that moves only when told.
type limiterClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *limiterClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limiterClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limiterNodes returns a function giving a limiter "on another node" for
// p: the same one in memory, a new sharedLimiter over one Redis prefix.
type limiterNodes func(t *testing.T, p auth.LimiterParams) func() signInLimiter

func memoryNodes(_ *testing.T, p auth.LimiterParams) func() signInLimiter {
	l := auth.NewLimiter(p)
	return func() signInLimiter { return l }
}

func testRedisAddr() string {
	if a := os.Getenv("TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func redisNodes(t *testing.T, p auth.LimiterParams) func() signInLimiter {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "yunke-test-signin-" + hex.EncodeToString(b[:]) + ":"
	rdb := redis.NewClient(&redis.Options{Addr: testRedisAddr()})
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis not reachable at %s (%v): start it or set TEST_REDIS_ADDR", testRedisAddr(), err)
	}
	return func() signInLimiter {
		local := auth.NewLimiter(p)
		return &sharedLimiter{local: local, p: local.Params(), rdb: rdb, prefix: prefix, log: slog.New(slog.DiscardHandler)}
	}
}

// TestSignInLimiterContract runs the same behaviour against the in-memory
// limiter and the Redis one (two nodes sharing a count).
func TestSignInLimiterContract(t *testing.T) {
	t.Parallel()
	for name, nodes := range map[string]limiterNodes{"memory": memoryNodes, "redis": redisNodes} {
		for cname, c := range map[string]func(*testing.T, limiterNodes){
			"Window":   testLimiterWindow,
			"Backoff":  testLimiterBackoff,
			"Parallel": testLimiterParallel,
		} {
			t.Run(name+"/"+cname, func(t *testing.T) {
				t.Parallel()
				c(t, nodes)
			})
		}
	}
}

func mustReserve(t *testing.T, l signInLimiter, key string) string {
	t.Helper()
	id, ok, wait := l.Reserve(key)
	if !ok {
		t.Fatalf("Reserve(%q) refused, wait %v", key, wait)
	}
	return id
}

func testLimiterWindow(t *testing.T, nodes limiterNodes) {
	c := &limiterClock{t: time.Unix(1_000_000, 0)}
	node := nodes(t, auth.LimiterParams{Max: 3, Window: 15 * time.Minute, Now: c.now})
	a, b := node(), node()
	mustReserve(t, a, "k")
	c.advance(time.Minute)
	id := mustReserve(t, b, "k")
	c.advance(time.Minute)
	mustReserve(t, a, "k")
	if _, ok, wait := b.Reserve("k"); ok || wait != 13*time.Minute {
		t.Fatalf("4th attempt: ok %v, wait %v; want refused for 13m", ok, wait)
	}
	mustReserve(t, a, "other") // another key is not limited
	b.Refund("k", id)          // the second attempt checked no password
	mustReserve(t, a, "k")
	if _, ok, _ := a.Reserve("k"); ok {
		t.Fatal("not limited again after the refunded place was taken")
	}
	c.advance(13 * time.Minute) // the first attempt expires
	mustReserve(t, b, "k")
	b.Reset("k")
	for range 3 {
		mustReserve(t, a, "k")
	}
}

func testLimiterBackoff(t *testing.T, nodes limiterNodes) {
	c := &limiterClock{t: time.Unix(1_000_000, 0)}
	node := nodes(t, auth.LimiterParams{Max: 2, Window: 15 * time.Minute, Backoff: time.Second, MaxBackoff: 8 * time.Second, Now: c.now})
	a, b := node(), node()
	mustReserve(t, a, "k")
	mustReserve(t, b, "k")
	for i, want := range []time.Duration{1, 2, 4, 8, 8} {
		want *= time.Second
		l := []signInLimiter{a, b}[i%2]
		if _, ok, wait := l.Reserve("k"); ok || wait != want {
			t.Fatalf("attempt %d: ok %v, wait %v; want refused for %v", 3+i, ok, wait, want)
		}
		c.advance(want)
		mustReserve(t, l, "k")
	}
	// A quiet window after the wait forgets.
	c.advance(8*time.Second + 15*time.Minute)
	mustReserve(t, a, "k")
	id := mustReserve(t, b, "k")
	if _, ok, _ := a.Reserve("k"); ok {
		t.Fatal("third attempt after forgetting was free")
	}
	b.Refund("k", id)
	mustReserve(t, a, "k") // the refunded attempt was free
	a.Reset("k")
	mustReserve(t, b, "k")
	mustReserve(t, a, "k")
}

func testLimiterParallel(t *testing.T, nodes limiterNodes) {
	for _, p := range []auth.LimiterParams{
		{Max: 5, Window: time.Minute},
		{Max: 5, Window: time.Minute, Backoff: time.Second},
	} {
		c := &limiterClock{t: time.Unix(1_000_000, 0)}
		p.Now = c.now
		node := nodes(t, p)
		ls := []signInLimiter{node(), node()}
		var allowed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, ok, _ := ls[i%2].Reserve("k"); ok {
					allowed.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := allowed.Load(); n != 5 {
			t.Errorf("backoff %v: %d of 100 parallel attempts over two nodes allowed, want 5", p.Backoff, n)
		}
	}
}

// TestSignInLimiterWithoutRedis: while Redis does not answer, each node
// still counts its own attempts.
func TestSignInLimiterWithoutRedis(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	defer rdb.Close()
	c := &limiterClock{t: time.Unix(1_000_000, 0)}
	local := auth.NewLimiter(auth.LimiterParams{Max: 3, Window: time.Minute, Backoff: time.Second, Now: c.now})
	l := &sharedLimiter{local: local, p: local.Params(), rdb: rdb, prefix: "x:", log: slog.New(slog.DiscardHandler)}
	ids := []string{mustReserve(t, l, "k"), mustReserve(t, l, "k"), mustReserve(t, l, "k")}
	if _, ok, _ := l.Reserve("k"); ok {
		t.Fatal("a fourth attempt passed while Redis was down")
	}
	l.Refund("k", ids[2])
	mustReserve(t, l, "k")
	l.Reset("k")
	mustReserve(t, l, "k")
}
