package qa_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/qa"
)

// TestLimiter: of many parallel posts only the limit pass, the rest learn
// when to retry; other users and kinds are counted apart.
func TestLimiter(t *testing.T) {
	addr := os.Getenv("TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "yunke-qa-limit-test-" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	for name, l := range map[string]qa.Limiter{"memory": &qa.MemoryLimiter{}, "redis": &qa.RedisLimiter{Client: c, Prefix: prefix}} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var ok, refused atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					allowed, retry, err := l.Allow(ctx, "questions:1", 5, time.Minute)
					switch {
					case err != nil:
						t.Error(err)
					case allowed:
						ok.Add(1)
					case retry <= 0 || retry > time.Minute:
						t.Errorf("retry after %v", retry)
					default:
						refused.Add(1)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 5 || refused.Load() != 15 {
				t.Fatalf("allowed %d refused %d", ok.Load(), refused.Load())
			}
			for _, key := range []string{"questions:2", "answers:1"} {
				if allowed, _, err := l.Allow(ctx, key, 5, time.Minute); err != nil || !allowed {
					t.Fatalf("%s: %v %v", key, allowed, err)
				}
			}
		})
	}
}
