package sfu

import (
	"sync/atomic"
	"time"
)

// DropReason says why a packet was not forwarded.
type DropReason int

// Drop reasons, each counted separately in Metrics.
const (
	// DropQueueFull: the subscriber's queue was full (slow or frozen subscriber).
	DropQueueFull DropReason = iota
	// DropKeyframeWait: skipped after a queue overflow until the next keyframe.
	DropKeyframeWait
	// DropNotBound: the subscriber's transport was not negotiated yet or gone.
	DropNotBound
	// DropWriteError: the transport refused the write.
	DropWriteError
	// DropMalformed: the publisher sent something that is not RTP.
	DropMalformed
	// DropStale: an old packet arrived after the stream was re-based.
	DropStale
	// DropTooLate: video waited in the subscriber's queue longer than
	// maxQueueDelay; the stream resumes at the next keyframe.
	DropTooLate
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"queue_full", "keyframe_wait", "not_bound", "write_error", "malformed", "stale", "too_late"}

func (r DropReason) String() string {
	if r < 0 || r >= numDropReasons {
		return "unknown"
	}
	return dropReasonNames[r]
}

// DropReasons lists every reason, for exporting metrics.
func DropReasons() []DropReason {
	rs := make([]DropReason, numDropReasons)
	for i := range rs {
		rs[i] = DropReason(i)
	}
	return rs
}

// Metrics are the SFU's counters. One Metrics is shared by every Track and
// DownTrack of a server; the zero value is ready to use. Reading them is
// safe at any time.
type Metrics struct {
	PacketsIn  atomic.Uint64
	BytesIn    atomic.Uint64
	PacketsOut atomic.Uint64
	BytesOut   atomic.Uint64
	// NACKs counts sequence numbers subscribers asked for; NACKsAnswered
	// those resent from the packet cache.
	NACKs         atomic.Uint64
	NACKsAnswered atomic.Uint64
	// NACKsLimited counts resends refused by the per-subscriber limits.
	NACKsLimited atomic.Uint64
	// PLIsIn counts keyframe requests (PLI/FIR) from subscribers; PLIsOut
	// those sent to publishers after throttling.
	PLIsIn  atomic.Uint64
	PLIsOut atomic.Uint64
	// DirectOut counts packets of PacketsOut that a publisher's read
	// goroutine wrote itself (DownTrackParams.Direct); the rest went
	// through a DownTrack's writer goroutine.
	DirectOut atomic.Uint64
	// PaddingOut counts probe padding packets sent to subscribers.
	PaddingOut atomic.Uint64

	Tracks     atomic.Int64
	DownTracks atomic.Int64

	drops [numDropReasons]atomic.Uint64
}

// Dropped returns how many packets were dropped for reason r.
func (m *Metrics) Dropped(r DropReason) uint64 {
	if r < 0 || r >= numDropReasons {
		return 0
	}
	return m.drops[r].Load()
}

func (m *Metrics) drop(r DropReason) { m.drops[r].Add(1) }

// epoch anchors nanotime to the monotonic clock.
var epoch = time.Now()

// nanotime is monotonic nanoseconds since process start.
func nanotime() int64 { return int64(time.Since(epoch)) }
