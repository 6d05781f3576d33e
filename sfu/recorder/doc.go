// Package recorder records a room's published tracks to disk without
// transcoding: one file per track, written by a tap on the SFU's Track (a
// recorder is just another subscriber), Opus, VP8 and VP9 to WebM and H.264
// to Matroska.
//
// A Session groups the tracks of one recording. Each recorded track is an
// sfu.Tap whose OnPacket only retains the packet and puts it on a bounded
// queue; a writer goroutine per track drains it, rebuilds frames from RTP
// with a reorder buffer (pion's samplebuilder), follows simulcast layer
// switches at keyframes and muxes the frames. A slow or stuck disk only ever
// fills that queue: packets are then dropped and counted, the track is marked
// damaged, and the file resumes at the next keyframe.
//
// Files are written to survive a crash: the Segment and Clusters have unknown
// sizes, a Cluster is closed and flushed every second or so, and a clean
// finish adds Cues and the Duration. Repair finishes a file that was cut by a
// crash or a full disk. Remux merges a camera and a microphone file into one
// WebM for download. Speaking activity (RFC 6464 audio levels) is sampled
// along the recording for the Student/Teacher analysis.
//
// The package imports only sfu and outside libraries; the caller persists the
// Manifest that Session.Stop returns.
package recorder
