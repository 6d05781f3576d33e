package auth

import (
	"slices"
	"sync"
	"time"
)

// Limiter counts failures per key (an account, a client address) in a
// sliding window. It is in memory: a restart forgets, which is acceptable
// for slowing down guessing. Memory is bounded: expired keys are pruned, and
// past MaxKeys the oldest keys are dropped.
type Limiter struct {
	max     int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	keys map[string][]time.Time // failure times, oldest first, within window
}

// LimiterParams configure a Limiter.
type LimiterParams struct {
	Max     int           // failures allowed per window
	Window  time.Duration // how long a failure counts
	MaxKeys int           // bound on keys remembered; 0 means 100000
	Now     func() time.Time
}

// NewLimiter returns a Limiter.
func NewLimiter(p LimiterParams) *Limiter {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxKeys == 0 {
		p.MaxKeys = 100000
	}
	return &Limiter{max: p.Max, window: p.Window, maxKeys: p.MaxKeys, now: p.Now, keys: map[string][]time.Time{}}
}

// Blocked reports whether key has used up its failures, and if so how long
// until the oldest one expires.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.liveLocked(key, now)
	if len(f) < l.max {
		return false, 0
	}
	wait := f[len(f)-l.max].Add(l.window).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return true, wait
}

// Fail records one failure for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.liveLocked(key, now)
	if f == nil && len(l.keys) >= l.maxKeys {
		l.pruneLocked(now)
	}
	f = append(f, now)
	if len(f) > l.max {
		f = f[len(f)-l.max:]
	}
	l.keys[key] = f
}

// Reset forgets key's failures.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// Len is the number of keys remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// liveLocked drops key's expired failures and returns the rest.
func (l *Limiter) liveLocked(key string, now time.Time) []time.Time {
	f := l.keys[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	if i == len(f) {
		delete(l.keys, key)
		return nil
	}
	if i > 0 {
		f = append([]time.Time(nil), f[i:]...)
		l.keys[key] = f
	}
	return f
}

// pruneLocked removes expired keys, then, if still full, the keys whose
// newest failure is oldest until a tenth of the room is free.
func (l *Limiter) pruneLocked(now time.Time) {
	for k := range l.keys {
		l.liveLocked(k, now)
	}
	excess := len(l.keys) - (l.maxKeys - l.maxKeys/10)
	if excess <= 0 {
		return
	}
	type kv struct {
		key  string
		last time.Time
	}
	all := make([]kv, 0, len(l.keys))
	for k, f := range l.keys {
		all = append(all, kv{k, f[len(f)-1]})
	}
	slices.SortFunc(all, func(a, b kv) int { return a.last.Compare(b.last) })
	for _, e := range all[:excess] {
		delete(l.keys, e.key)
	}
}
