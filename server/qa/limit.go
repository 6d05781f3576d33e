package qa

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/httpapi"
	"yunke/storage"
)

// Limiter counts a user's posts of one kind in fixed windows.
type Limiter interface {
	// Allow takes one of limit places of key's current window; when none is
	// left it reports how long until the window ends.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retry time.Duration, err error)
}

// MemoryLimiter is the single-node Limiter.
type MemoryLimiter struct {
	Now func() time.Time
	mu  sync.Mutex
	w   map[string]memWindow
}

type memWindow struct {
	n   int
	end time.Time
}

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(_ context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w == nil {
		m.w = map[string]memWindow{}
	}
	for k, w := range m.w { // windows are short and few: drop the ended ones
		if !now.Before(w.end) {
			delete(m.w, k)
		}
	}
	w, ok := m.w[key]
	if !ok {
		w = memWindow{end: now.Add(window)}
	}
	if w.n >= limit {
		return false, w.end.Sub(now), nil
	}
	w.n++
	m.w[key] = w
	return true, 0, nil
}

// RedisLimiter shares the windows between nodes.
type RedisLimiter struct {
	Client *redis.Client
	Prefix string
}

var scriptLimit = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return {0, redis.call('PTTL', KEYS[1])} end
return {1, 0}`)

// Allow implements Limiter.
func (l *RedisLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	v, err := scriptLimit.Run(ctx, l.Client, []string{l.Prefix + key}, window.Milliseconds(), limit).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("qa: rate limit: %w", err)
	}
	return v[0] == 1, time.Duration(max(v[1], 0)) * time.Millisecond, nil
}

// limit takes a place of the user's window for kind, or answers 429 with Retry-After.
func (s *Service) limit(ctx context.Context, kind string, user storage.UserID, n int) error {
	if s.p.Limiter == nil || n <= 0 {
		return nil
	}
	ok, retry, err := s.p.Limiter.Allow(ctx, fmt.Sprintf("qa:%s:%d", kind, user), n, s.p.LimitWindow)
	if err != nil {
		return err
	}
	if !ok {
		return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: max(retry, time.Second),
			Message: fmt.Sprintf("at most %d %s in %s: try again later", n, kind, s.p.LimitWindow)}
	}
	return nil
}
