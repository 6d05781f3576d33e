package recorder

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

// eventLog collects a Session's track events.
type eventLog struct {
	mu     sync.Mutex
	events []TrackEvent
}

func (l *eventLog) add(e TrackEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) find(s Status) (TrackEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Status == s {
			return e, true
		}
	}
	return TrackEvent{}, false
}

// countTap counts the packets a track's forwarding loop hands its taps.
type countTap struct{ n atomic.Int64 }

func (c *countTap) OnPacket(*sfu.Packet) { c.n.Add(1) }
func (c *countTap) OnClose()             {}

// recordTo records a real sfu.Track to f (instead of a file AddTrack
// creates), so the tests can hand the recorder /dev/full or a pipe.
func recordTo(t *testing.T, s *Session, tr *sfu.Track, f *os.File, name string) *TrackHandle {
	t.Helper()
	meta := TrackMeta{TrackID: tr.ID(), Participant: "p1", Role: RoleStudent, Source: SourceCamera, Codec: tr.Codec().MimeType}
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		meta.Source = SourceMicrophone
	}
	spec, err := specFor(meta.Codec)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.addTrack(meta, spec, tr, f, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newAudioTrack(t *testing.T, id string) (*sfu.Track, *fakeRemote) {
	t.Helper()
	tr := sfu.NewTrack(sfu.TrackParams{ID: id, StreamID: "PA|" + id, Kind: webrtc.RTPCodecTypeAudio, Codec: opusCap})
	t.Cleanup(tr.Close)
	r := newFakeRemote(t, 77)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	return tr, r
}

func sendOpus(t *testing.T, r *fakeRemote, pz rtp.Packetizer, frames []testFrame, n int) {
	t.Helper()
	for i := range n {
		for _, p := range pz.Packetize(frames[i%len(frames)].data, 960) {
			r.send(t, p)
		}
	}
}

// A full disk (/dev/full: every write fails with ENOSPC) stops that track's
// recording: the error is reported, the track is marked failed, packets are
// no longer taken, forwarding goes on, nothing panics or blocks.
func TestDiskFullStopsTrackCleanly(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ev eventLog
	metrics := new(Metrics)
	s, err := Start(Params{Dir: t.TempDir(), OnEvent: ev.add, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	tr, r := newAudioTrack(t, "TR_full")
	count := &countTap{}
	h := recordTo(t, s, tr, full, "full.webm")
	tr.AddTap(count)
	opus := readOgg(t, "opus.ogg")
	pz := packetizer(webrtc.MimeTypeOpus, 77, 1)
	sendOpus(t, r, pz, opus, 150) // 3 s: the first Cluster's flush fails
	waitFor(t, "the failure", func() bool { _, ok := ev.find(StatusFailed); return ok })
	e, _ := ev.find(StatusFailed)
	if !errors.Is(e.Err, syscall.ENOSPC) || e.TrackID != "TR_full" {
		t.Fatalf("event %+v", e)
	}
	queued := metrics.Packets.Load()
	sendOpus(t, r, pz, opus, 100)
	waitFor(t, "forwarding to go on", func() bool { return count.n.Load() == 250 })
	if metrics.Packets.Load() != queued {
		t.Error("a failed track still takes packets")
	}
	info := h.Stop()
	if info.Status != StatusFailed || !strings.Contains(info.Reason, "disk full") {
		t.Fatalf("track %+v", info)
	}
	m := s.Stop()
	if m.Status != StatusFailed || !strings.Contains(m.Reason, "disk full") || metrics.Failures.Load() != 1 {
		t.Fatalf("manifest %+v", m)
	}
}

// A write error of another kind — the file's descriptor closed under the
// writer — fails the track the same way.
func TestClosedFileStopsTrackCleanly(t *testing.T) {
	var ev eventLog
	dir := t.TempDir()
	s, err := Start(Params{Dir: dir, OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	tr, r := newAudioTrack(t, "TR_closed")
	h, err := s.AddTrack(TrackMeta{TrackID: "TR_closed", Participant: "p1", Source: SourceMicrophone, Codec: webrtc.MimeTypeOpus}, tr)
	if err != nil {
		t.Fatal(err)
	}
	opus := readOgg(t, "opus.ogg")
	pz := packetizer(webrtc.MimeTypeOpus, 77, 1)
	sendOpus(t, r, pz, opus, 10)
	waitFor(t, "frames", func() bool { return h.Info().Frames > 5 })
	if err := h.r.f.Close(); err != nil {
		t.Fatal(err)
	}
	sendOpus(t, r, pz, opus, 150)
	waitFor(t, "the failure", func() bool { _, ok := ev.find(StatusFailed); return ok })
	if e, _ := ev.find(StatusFailed); !errors.Is(e.Err, os.ErrClosed) {
		t.Fatalf("event %+v", e)
	}
	m := s.Stop()
	if m.Tracks[0].Status != StatusFailed || m.Status != StatusFailed {
		t.Fatalf("manifest %+v", m)
	}
}

// A stuck disk (a pipe nobody reads) never slows the forwarding loop: the
// tap's OnPacket returns at once, the overflow is dropped and counted, the
// track is marked damaged, and once the disk moves again the recorder asks
// for a keyframe to resume the file cleanly.
func TestStuckDiskNeverBlocksForwarding(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "stuck.webm")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	wf, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ev eventLog
	metrics := new(Metrics)
	// A pipe cannot be fsynced; a stuck disk is what this is about.
	s, err := Start(Params{Dir: dir, QueueSize: 64, OnEvent: ev.add, Metrics: metrics, SyncInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	tr := sfu.NewTrack(sfu.TrackParams{ID: "TR_stuck", StreamID: "PA|TR_stuck", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Cap, Publisher: pub})
	t.Cleanup(tr.Close)
	remote := newFakeRemote(t, 99)
	if err := tr.AddLayer(0, remote); err != nil {
		t.Fatal(err)
	}
	h := recordTo(t, s, tr, wf, "stuck.webm")
	count := &countTap{}
	tr.AddTap(count)

	frames := readIVF(t, "high.ivf")
	pz := packetizer(webrtc.MimeTypeVP8, 99, 1)
	sent := 0
	start := time.Now()
	for i := range 12 * len(frames) { // ~900 KB: far more than the pipe and the writer's buffer hold
		for _, p := range pz.Packetize(frames[i%len(frames)].data, 6000) {
			remote.send(t, p)
			sent++
		}
	}
	waitFor(t, "every packet through the forwarding loop", func() bool { return count.n.Load() == int64(sent) })
	t.Logf("%d packets through the taps in %v with the disk stuck; %d dropped", sent, time.Since(start), metrics.Dropped.Load())
	if metrics.Dropped.Load() == 0 || h.Info().Drops == 0 {
		t.Fatal("nothing was dropped: the disk was not stuck")
	}
	plis := pub.count(99)

	// The disk moves again: the writer drains its queue, sees the gap and
	// asks for a keyframe; the track is damaged, not failed.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, rd)
	}()
	waitFor(t, "a keyframe request after the gap", func() bool { return pub.count(99) > plis })
	waitFor(t, "the damage to be reported", func() bool { _, ok := ev.find(StatusDamaged); return ok })
	if info := h.Info(); info.Status != StatusDamaged || !strings.Contains(info.Reason, "dropped") {
		t.Fatalf("track %+v", info)
	}
	// A pipe cannot take the Cues and Duration (it cannot seek), so the
	// finish fails; what matters is that it ends.
	m := s.Stop()
	if m.Tracks[0].Drops == 0 || m.Status == StatusOK {
		t.Fatalf("manifest %+v", m)
	}
	rd.Close()
	<-drained
}
