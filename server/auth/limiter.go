package auth

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// Limiter slows down password guessing on a key (an account, a device, a
// client address). An attempt is reserved before its password is checked
// and counts as a failure from then on: the check of the allowance and the
// count are one step, so parallel attempts cannot slip past the count. A
// right password, or an attempt that checked none, gives its reservation
// back (Reset, Refund).
//
// Without Backoff the limit is hard: Max attempts in a sliding Window, then
// none until the oldest is Window old. With Backoff, Max attempts are free
// and each further one must wait: Backoff after the last, then twice as long
// each time, up to MaxBackoff; a key's attempts are forgotten once it has
// been left alone for Window after its wait ended.
//
// It is in memory: a restart forgets, which is acceptable for slowing down
// guessing. Memory is bounded: expired keys are pruned, and past MaxKeys the
// keys tried least recently are dropped.
type Limiter struct {
	p LimiterParams

	mu   sync.Mutex
	keys map[string][]attempt // oldest first
	seq  uint64
}

// attempt is one reserved attempt.
type attempt struct {
	at time.Time
	id uint64
}

// LimiterParams configure a Limiter.
type LimiterParams struct {
	Max    int           // attempts allowed (per Window, or before backing off)
	Window time.Duration // how long an attempt counts
	// Backoff is the first wait after Max attempts; 0 makes Max a hard
	// limit per Window.
	Backoff time.Duration
	// MaxBackoff caps the wait; 0 means Window.
	MaxBackoff time.Duration
	MaxKeys    int // bound on keys remembered; 0 means 100000
	Now        func() time.Time
}

// backoffKeep bounds the attempts a backing-off key remembers beyond Max:
// by then the wait has long reached its cap, so older ones change nothing.
const backoffKeep = 32

// Keep is how many attempts a key needs to remember.
func (p LimiterParams) Keep() int {
	if p.Backoff == 0 {
		return p.Max
	}
	return p.Max + backoffKeep
}

// Delay is how long a backing-off key must wait after its n-th attempt.
func (p LimiterParams) Delay(n int) time.Duration {
	if p.Backoff == 0 || n < p.Max {
		return 0
	}
	d := p.Backoff
	for i := p.Max; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// NewLimiter returns a Limiter.
func NewLimiter(p LimiterParams) *Limiter {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxKeys == 0 {
		p.MaxKeys = 100000
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = p.Window
	}
	return &Limiter{p: p, keys: map[string][]attempt{}}
}

// Params returns the limiter's parameters, defaults filled in.
func (l *Limiter) Params() LimiterParams { return l.p }

// Reserve counts one attempt on key if key may try now, and returns the
// attempt's id for Refund. Otherwise ok is false and wait is how long until
// key may try again.
func (l *Limiter) Reserve(key string) (id string, ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.p.Now()
	f := l.liveLocked(key, now)
	if n := len(f); n >= l.p.Max {
		var until time.Time
		if l.p.Backoff == 0 {
			until = f[n-l.p.Max].at.Add(l.p.Window)
		} else {
			until = f[n-1].at.Add(l.p.Delay(n))
		}
		if now.Before(until) {
			return "", false, until.Sub(now)
		}
	}
	return l.addLocked(key, f, now), true, 0
}

// Add counts one attempt on key that another count allowed (a shared one,
// which this limiter stands in for when it cannot be reached), and returns
// its id for Refund.
func (l *Limiter) Add(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.p.Now()
	return l.addLocked(key, l.liveLocked(key, now), now)
}

// addLocked appends an attempt to key's live attempts f.
func (l *Limiter) addLocked(key string, f []attempt, now time.Time) string {
	if f == nil && len(l.keys) >= l.p.MaxKeys {
		l.pruneLocked(now)
	}
	l.seq++
	f = append(f, attempt{at: now, id: l.seq})
	if keep := l.p.Keep(); len(f) > keep {
		f = f[len(f)-keep:]
	}
	l.keys[key] = f
	return strconv.FormatUint(l.seq, 10)
}

// Refund takes back attempt id of key: it checked no password, or it
// checked a right one but the key's other attempts still count.
func (l *Limiter) Refund(key, id string) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.keys[key]
	i := slices.IndexFunc(f, func(a attempt) bool { return a.id == n })
	if i < 0 {
		return
	}
	if len(f) == 1 {
		delete(l.keys, key)
		return
	}
	l.keys[key] = slices.Delete(slices.Clone(f), i, i+1)
}

// Reset forgets key's attempts.
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

// liveLocked drops key's expired attempts and returns the rest.
func (l *Limiter) liveLocked(key string, now time.Time) []attempt {
	f := l.keys[key]
	if len(f) == 0 {
		return nil
	}
	i := 0
	if l.p.Backoff == 0 {
		for i < len(f) && now.Sub(f[i].at) >= l.p.Window {
			i++
		}
	} else if last := f[len(f)-1].at; !now.Before(last.Add(l.p.Delay(len(f)) + l.p.Window)) {
		i = len(f)
	}
	if i == len(f) {
		delete(l.keys, key)
		return nil
	}
	if i > 0 {
		f = slices.Clone(f[i:])
		l.keys[key] = f
	}
	return f
}

// pruneLocked removes expired keys, then, if still full, the keys whose
// newest attempt is oldest until a tenth of the room is free.
func (l *Limiter) pruneLocked(now time.Time) {
	for k := range l.keys {
		l.liveLocked(k, now)
	}
	excess := len(l.keys) - (l.p.MaxKeys - l.p.MaxKeys/10)
	if excess <= 0 {
		return
	}
	type kv struct {
		key  string
		last time.Time
	}
	all := make([]kv, 0, len(l.keys))
	for k, f := range l.keys {
		all = append(all, kv{k, f[len(f)-1].at})
	}
	slices.SortFunc(all, func(a, b kv) int { return a.last.Compare(b.last) })
	for _, e := range all[:excess] {
		delete(l.keys, e.key)
	}
}
