package recorder

import "sync/atomic"

// Metrics are the recorder's counters, shared by every Session of a server
// (the zero value is ready to use); read them at any time, e.g. to export
// them to Prometheus.
type Metrics struct {
	// Sessions and Tracks count recordings and recorded tracks in progress.
	Sessions atomic.Int64
	Tracks   atomic.Int64
	// Packets counts packets queued for writing; Dropped those refused
	// because a track's queue was full (a slow or stuck disk).
	Packets atomic.Uint64
	Dropped atomic.Uint64
	// Frames and Bytes count what was written to files.
	Frames atomic.Uint64
	Bytes  atomic.Uint64
	// Skipped counts frames not written while waiting for a keyframe after
	// a loss the reorder buffer could not repair or a queue overflow.
	Skipped atomic.Uint64
	// KeyframeRequests counts requests sent to publishers.
	KeyframeRequests atomic.Uint64
	// Failures counts tracks stopped by a write error (e.g. disk full).
	Failures atomic.Uint64
}
