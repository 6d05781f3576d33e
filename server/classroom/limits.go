package classroom

import (
	"net/http"
	"time"

	"yunke/signaling"
)

// Per-participant rates: a hostile client must not turn a class into a
// flood of stored rows.
const (
	// chatRate and chatBurst: chat messages a participant may send per
	// second, and in a burst; beyond that they are dropped.
	chatRate  = 2.0
	chatBurst = 10.0
	// handInterval: a hand goes up or down at most this often.
	handInterval = 500 * time.Millisecond
)

var errTooFast = &Error{http.StatusTooManyRequests, "rate_limited", "too many changes: wait a moment"}

// bucket is a token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// take spends one token, refilled at rate per second up to burst.
func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.at.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(burst, b.tokens+d*rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// allowChat reports whether identity may send one more chat message now.
func (s *Service) allowChat(room signaling.RoomName, id signaling.Identity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stateLocked(room)
	if st.chat == nil {
		st.chat = map[signaling.Identity]*bucket{}
	}
	b := st.chat[id]
	if b == nil {
		b = &bucket{}
		st.chat[id] = b
	}
	return b.take(time.Now(), chatRate, chatBurst)
}

// allowHand reports whether identity's hand may change now.
func (s *Service) allowHand(room signaling.RoomName, id signaling.Identity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stateLocked(room)
	if st.hand == nil {
		st.hand = map[signaling.Identity]time.Time{}
	}
	now := time.Now()
	if now.Sub(st.hand[id]) < handInterval {
		return false
	}
	st.hand[id] = now
	return true
}
