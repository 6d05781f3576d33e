package loadtest

import (
	"math/bits"
	"time"
)

// histogram is a log-linear latency histogram in microseconds: 16 buckets
// per power of two (about 4 % resolution), from 1 µs to about an hour. It
// records without allocating.
type histogram struct {
	counts [40 * subBuckets]uint64
	n      uint64
	max    time.Duration
}

const subBits = 4
const subBuckets = 1 << subBits

func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	exp := bits.Len64(us) - 1 - subBits // ≥ 0
	sub := int(us>>uint(exp)) - subBuckets
	i := (exp+1)*subBuckets + sub
	if i >= len(histogram{}.counts) {
		i = len(histogram{}.counts) - 1
	}
	return i
}

// bucketValue is the upper bound, in microseconds, of bucket i.
func bucketValue(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	exp := i/subBuckets - 1
	sub := uint64(i%subBuckets + subBuckets)
	return (sub+1)<<uint(exp) - 1
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketValue(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}

// seqTracker judges one source track's packets as one subscriber receives
// them, by the marker's counter: unique, duplicate, or out of order, in a
// window of the last 1024 counters.
type seqTracker struct {
	started    bool
	first      uint32 // lowest counter seen
	highest    uint32
	window     [window / 64]uint64 // bit s%window set: counter s seen
	received   uint64
	duplicates uint64
	outOfOrder uint64
}

const window = 1024

func (t *seqTracker) bit(s uint32) (*uint64, uint64) {
	i := s % window
	return &t.window[i/64], 1 << (i % 64)
}

// add records counter s and reports whether it is new (not a duplicate).
func (t *seqTracker) add(s uint32) bool {
	t.received++
	if !t.started {
		t.started, t.first, t.highest = true, s, s
		w, b := t.bit(s)
		*w |= b
		return true
	}
	switch {
	case s > t.highest:
		if s-t.highest >= window {
			t.window = [window / 64]uint64{}
		} else {
			for x := t.highest + 1; x != s; x++ {
				w, b := t.bit(x)
				*w &^= b
			}
		}
		w, b := t.bit(s)
		*w |= b
		t.highest = s
	case t.highest-s >= window:
		// Too old to tell; count it as late and unique.
		t.outOfOrder++
		t.first = min(t.first, s)
	default:
		w, b := t.bit(s)
		if *w&b != 0 {
			t.duplicates++
			return false
		}
		*w |= b
		t.outOfOrder++
		t.first = min(t.first, s)
	}
	return true
}

// unique is how many distinct counters arrived.
func (t *seqTracker) unique() uint64 { return t.received - t.duplicates }

// expected is how many counters the publisher sent from the first this
// subscriber saw up to lastSent.
func (t *seqTracker) expected(lastSent uint32) uint64 {
	if !t.started || lastSent < t.first {
		return 0
	}
	return uint64(lastSent-t.first) + 1
}
