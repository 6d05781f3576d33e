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
// Bandwidth: each subscriber's PeerConnection (NewSubscriberAPI) has a
// send-side estimator (package bwe, Google Congestion Control over the
// subscriber's TWCC feedback); the DownTracks stamp the transport-wide
// sequence number on every packet they send and record it there, without
// locking or allocating; REMB stands in for clients without TWCC
// and receiver reports' loss caps both. With EngineParams.ReceiverSideBWE
// the server instead stamps absolute send times on the video it sends, and
// the subscriber's browser estimates its downstream bandwidth itself and
// reports it in REMB (cheaper per packet, slower to climb). A Subscriber spends that estimate
// over the subscriber's DownTracks: audio first, then screen shares, then
// the speaking or pinned participant, then the others; each video gets the
// highest layer that fits and that the client asked for, or is paused
// (OnStreamState) when not even its lowest layer fits. Climbing is one
// layer at a time, on keyframes, after a probe (padding-only packets between
// frames) has shown the link carries the step. With the send-side
// estimator a probe's padding is ramped up over its first 400 ms, and the
// probe is given up as soon as the estimator sees overuse or feedback
// shows its packets queued 80 ms. Track.SubscribedLayers is
// what dynacast pauses at the publisher, and video that waited in a
// subscriber's queue longer than maxQueueDelay is dropped to the next
// keyframe. The same API makes /rtc/v1's single PeerConnection, which
// both receives the participant's media and sends it what it subscribed to.
//
// Audio: publishers send plain Opus (ReceiveCodecs); a subscriber that
// accepts RED (RFC 2198, as browsers do) receives each Opus packet with the
// previous one as redundancy, so a single lost packet costs no concealment.
//
// Hot-path rules: every received packet is stored once in a pooled,
// reference-counted Packet and shared by the cache, taps and every
// subscriber's queue; no allocation happens per packet per subscriber. A
// publisher's read goroutine writes a packet to a subscriber on UDP itself
// when nothing is queued for it (DownTrackParams.Direct, fan-outs under
// directFanout), else queues it for the subscriber's writer goroutine, which
// runs only while it has work. A slow or frozen subscriber (over ICE-TCP,
// never written directly) only ever overflows its own bounded queue; drops
// are counted by reason in Metrics. With a Batcher (the batching UDP
// socket), a video frame's fan-out and each writer's drain leave as one
// burst: one sendmmsg, one GSO send per subscriber.
package sfu
