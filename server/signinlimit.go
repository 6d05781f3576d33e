package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/auth"
)

// signInLimiter counts failed sign-ins per key (an account or an address)
// within a sliding window.
type signInLimiter interface {
	Blocked(key string) (bool, time.Duration)
	Fail(key string)
	Reset(key string)
}

var (
	_ signInLimiter = (*auth.Limiter)(nil)
	_ signInLimiter = (*sharedLimiter)(nil)
)

// sharedLimiter counts on Redis, so that several nodes share one count (an
// attacker gains nothing by spreading attempts over the nodes), and on this
// node as well: while Redis does not answer, the local count still holds.
type sharedLimiter struct {
	local  *auth.Limiter
	rdb    *redis.Client
	prefix string
	max    int
	window time.Duration
	now    func() time.Time
	log    *slog.Logger
}

// redisTimeout bounds one limiter round trip; sign-in must not hang on Redis.
const redisTimeout = time.Second

func (l *sharedLimiter) key(k string) string { return l.prefix + k }

// Blocked implements signInLimiter.
func (l *sharedLimiter) Blocked(key string) (bool, time.Duration) {
	if blocked, wait := l.local.Blocked(key); blocked {
		return true, wait
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	now := l.now()
	k := l.key(key)
	pipe := l.rdb.TxPipeline()
	pipe.ZRemRangeByScore(ctx, k, "-inf", strconv.FormatInt(now.Add(-l.window).UnixMilli(), 10))
	count := pipe.ZCard(ctx, k)
	oldest := pipe.ZRangeWithScores(ctx, k, 0, 0)
	if _, err := pipe.Exec(ctx); err != nil {
		l.log.Warn("sign-in limiter: redis", "err", err)
		return false, 0
	}
	if int(count.Val()) < l.max || len(oldest.Val()) == 0 {
		return false, 0
	}
	until := time.UnixMilli(int64(oldest.Val()[0].Score)).Add(l.window)
	return true, max(until.Sub(now), time.Second)
}

// Fail implements signInLimiter.
func (l *sharedLimiter) Fail(key string) {
	l.local.Fail(key)
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	var id [6]byte
	_, _ = rand.Read(id[:])
	now := l.now()
	k := l.key(key)
	pipe := l.rdb.TxPipeline()
	pipe.ZAdd(ctx, k, redis.Z{Score: float64(now.UnixMilli()), Member: hex.EncodeToString(id[:])})
	pipe.PExpire(ctx, k, l.window)
	if _, err := pipe.Exec(ctx); err != nil {
		l.log.Warn("sign-in limiter: redis", "err", err)
	}
}

// Reset implements signInLimiter.
func (l *sharedLimiter) Reset(key string) {
	l.local.Reset(key)
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	if err := l.rdb.Del(ctx, l.key(key)).Err(); err != nil {
		l.log.Warn("sign-in limiter: redis", "err", err)
	}
}

// newSignInLimiter counts max failures per window: in Redis when the
// server has one, else on this node.
func (s *Server) newSignInLimiter(max int) signInLimiter {
	local := auth.NewLimiter(auth.LimiterParams{Max: max, Window: failureWindow, Now: s.now})
	if s.tutor == nil || s.tutor.rdb == nil {
		return local
	}
	return &sharedLimiter{local: local, rdb: s.tutor.rdb, prefix: s.cfg.Redis.KeyPrefix + ":signin:", max: max,
		window: failureWindow, now: s.now, log: s.log.With("component", "auth")}
}
