package auth

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func reserve(t *testing.T, l *Limiter, key string) string {
	t.Helper()
	id, ok, wait := l.Reserve(key)
	if !ok {
		t.Fatalf("Reserve(%q) refused, wait %v", key, wait)
	}
	return id
}

func TestLimiterWindow(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := NewLimiter(LimiterParams{Max: 3, Window: 15 * time.Minute, Now: c.now})
	for range 3 {
		reserve(t, l, "a")
		c.advance(time.Minute)
	}
	_, ok, wait := l.Reserve("a")
	if ok || wait != 12*time.Minute {
		t.Fatalf("4th Reserve = %v, %v; want refused, 12m", ok, wait)
	}
	reserve(t, l, "b")          // another key is not limited
	c.advance(12 * time.Minute) // the first attempt expires
	id := reserve(t, l, "a")
	if _, ok, _ := l.Reserve("a"); ok {
		t.Fatal("not limited again")
	}
	l.Refund("a", id)
	id = reserve(t, l, "a") // the refunded attempt freed its place
	l.Refund("a", id)
	l.Refund("a", id) // twice is harmless
	l.Reset("a")
	for range 3 {
		reserve(t, l, "a")
	}
	// Add counts an attempt another count allowed, even past the limit.
	id = l.Add("a")
	if n := len(l.keys["a"]); n != 3 {
		t.Fatalf("%d attempts remembered after Add past the limit, want the newest 3", n)
	}
	l.Refund("a", id)
	if n := len(l.keys["a"]); n != 2 {
		t.Fatalf("%d attempts remembered after refunding the added one, want 2", n)
	}
}

// TestLimiterBackoff: Max attempts are free, then each waits twice as long
// as the one before, up to the cap; a quiet Window after the wait forgets.
func TestLimiterBackoff(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := NewLimiter(LimiterParams{Max: 5, Window: 15 * time.Minute, Backoff: time.Second, MaxBackoff: 15 * time.Minute, Now: c.now})
	for range 5 {
		reserve(t, l, "a")
	}
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900} {
		want *= time.Second
		_, ok, wait := l.Reserve("a")
		if ok || wait != want {
			t.Fatalf("attempt %d right after the last: ok %v, wait %v; want refused, %v", 6+i, ok, wait, want)
		}
		c.advance(wait - time.Millisecond)
		if _, ok, _ := l.Reserve("a"); ok {
			t.Fatalf("attempt %d allowed a millisecond early", 6+i)
		}
		c.advance(time.Millisecond)
		reserve(t, l, "a")
	}
	// A quiet window after the wait forgets the count; Reset at once.
	c.advance(15*time.Minute + 15*time.Minute - time.Second)
	reserve(t, l, "a") // the wait is over, but the count is not forgotten
	if _, ok, _ := l.Reserve("a"); ok {
		t.Fatal("the attempt after that was free: forgotten before the quiet window ended")
	}
	c.advance(15*time.Minute + 15*time.Minute) // the wait, then a quiet window
	for range 5 {
		reserve(t, l, "a")
	}
	if _, ok, _ := l.Reserve("a"); ok {
		t.Fatal("6th attempt after forgetting was free")
	}
	l.Reset("a")
	reserve(t, l, "a")
	if n := len(l.keys["a"]); n != 1 {
		t.Fatalf("%d attempts remembered after Reset and one more", n)
	}
	// A persistent guesser's history stays bounded.
	for range 100 {
		c.advance(15 * time.Minute)
		reserve(t, l, "a")
	}
	if n := len(l.keys["a"]); n > 5+backoffKeep {
		t.Fatalf("%d attempts remembered, want at most %d", n, 5+backoffKeep)
	}
}

// TestLimiterParallel: however many attempts race, no more than the
// allowance are let through, with or without backoff.
func TestLimiterParallel(t *testing.T) {
	for _, p := range []LimiterParams{
		{Max: 5, Window: time.Minute},
		{Max: 5, Window: time.Minute, Backoff: time.Second},
	} {
		c := &fakeClock{t: time.Unix(1_000_000, 0)}
		p.Now = c.now
		l := NewLimiter(p)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			allowed int
		)
		start := make(chan struct{})
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, ok, _ := l.Reserve("a"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if allowed != 5 {
			t.Errorf("backoff %v: %d of 100 parallel attempts allowed, want 5", p.Backoff, allowed)
		}
	}
}

func TestLimiterDelay(t *testing.T) {
	p := LimiterParams{Max: 3, Backoff: 3 * time.Second, MaxBackoff: time.Hour}
	for n, want := range map[int]time.Duration{0: 0, 2: 0, 3: 3 * time.Second, 4: 6 * time.Second, 10: 384 * time.Second, 13: 3072 * time.Second, 14: time.Hour, 1000: time.Hour} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
	if d := (LimiterParams{Max: 3}).Delay(10); d != 0 {
		t.Errorf("hard limit Delay = %v, want 0", d)
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_000_000, 0)}
	l := NewLimiter(LimiterParams{Max: 5, Window: time.Minute, MaxKeys: 100, Now: c.now})
	for i := 0; i < 1000; i++ {
		reserve(t, l, strconv.Itoa(i))
		if i%7 == 0 {
			c.advance(time.Second)
		}
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys remembered, bound is 100", n)
	}
	c.advance(2 * time.Minute)
	reserve(t, l, "new")
	reserve(t, l, "new2")
	for i := 0; i < 100; i++ {
		reserve(t, l, string(rune(0x4e00+i)))
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys remembered after expiry, bound is 100", n)
	}
}
