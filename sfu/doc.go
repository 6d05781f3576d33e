// Package sfu is Yunke's media engine: a selective forwarding unit built on
// Pion. It receives RTP from publishers (one Track per published track, with
// up to three simulcast layers) and forwards it to subscribers (one DownTrack
// per subscription), rewriting sequence numbers and timestamps per subscriber,
// answering NACKs from a per-layer packet cache and forwarding keyframe
// requests to the publisher, throttled.
//
// The package is a leaf: it knows nothing of rooms, signaling, storage or
// HTTP. Recording, speaking-activity sampling and statistics attach to a
// Track through the Tap interface, the same way a subscriber does, without
// touching the forwarding loop.
//
// Hot-path rules: every received packet is stored once in a pooled,
// reference-counted Packet and shared by the cache, taps and every
// subscriber's queue; no allocation happens per packet per subscriber. A slow
// or frozen subscriber only ever overflows its own bounded queue; drops are
// counted by reason in Metrics.
package sfu
