package recorder

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// When the layer being recorded stops (the publisher dropped it), the
// recorder goes down to the next layer after LayerTimeout, at that layer's
// keyframe, and the file's timeline goes on by the time that passed.
func TestSwitchDownWhenLayerStops(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	clock := &fakeClock{}
	s, err := Start(Params{Dir: dir, Clock: clock.now, QueueSize: 1 << 15})
	if err != nil {
		t.Fatal(err)
	}
	src := &tapSource{}
	if _, err := s.AddTrack(TrackMeta{TrackID: "TR_v", Participant: "t1", Source: SourceCamera, Codec: webrtc.MimeTypeVP8}, src); err != nil {
		t.Fatal(err)
	}
	low, high := readIVF(t, "low.ivf"), readIVF(t, "high.ivf")
	ls, hs := newSynth(src, webrtc.MimeTypeVP8, 1, 0), newSynth(src, webrtc.MimeTypeVP8, 3, 2)
	const stopHigh = 21 // the high layer's last frame
	frameNS := int64(time.Second) / 15
	for i := range 2 * len(low) {
		at := int64(i) * frameNS
		ls.frame(t, low[i%len(low)].data, 6000, at, 0)
		if i < stopHigh {
			hs.frame(t, high[i].data, 6000, at, 0)
		}
	}
	clock.ns.Store(int64(2*len(low)) * frameNS)
	m := s.Stop()
	v := m.Tracks[0]
	_, frames := parse(t, filepath.Join(dir, v.File))
	lowSet, highSet := map[string]bool{}, map[string]bool{}
	for _, f := range low {
		lowSet[string(f.data)] = true
	}
	for _, f := range high {
		highSet[string(f.data)] = true
	}
	// High from the start (its keyframe came with the first packets), then
	// low again at its first keyframe after the high layer was silent for
	// 2 s: frame 60 (low.ivf has a keyframe every 15 frames; 60 starts its
	// second run).
	down := -1
	for i, f := range frames {
		if i > 0 && f.tc <= frames[i-1].tc {
			t.Fatalf("frame %d at %d ms after %d", i, f.tc, frames[i-1].tc)
		}
		switch {
		case down < 0 && highSet[string(f.data)]:
		case lowSet[string(f.data)]:
			if down < 0 {
				down = i
				if !f.key {
					t.Fatalf("switched down on a delta frame")
				}
			}
		default:
			t.Fatalf("frame %d was not sent", i)
		}
	}
	if down != stopHigh || v.LayerSwitches != 1 {
		t.Fatalf("switched down at frame %d (after %d high frames), %d switches", down, stopHigh, v.LayerSwitches)
	}
	// The gap is the time that passed: from high frame 20 to low frame 60.
	want := (60 - (stopHigh - 1)) * 1000 / 15
	if gap := frames[down].tc - frames[down-1].tc; gap < int64(want)-2 || gap > int64(want)+2 {
		t.Fatalf("gap at the switch %d ms, want %d", gap, want)
	}
	if src.count(0) == 0 {
		t.Fatal("no keyframe was asked of the low layer")
	}
	if len(frames) != stopHigh+len(low) {
		t.Fatalf("%d frames, want %d", len(frames), stopHigh+len(low))
	}
	decodes(t, filepath.Join(dir, v.File))
}

// RTP timestamps and sequence numbers wrap around (RFC 3550 §5.1); the
// file's timeline does not.
func TestTimestampWraparound(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{}
	s, err := Start(Params{Dir: dir, Clock: clock.now, QueueSize: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	src := &tapSource{}
	if _, err := s.AddTrack(TrackMeta{TrackID: "TR_a", Participant: "t1", Source: SourceMicrophone, Codec: webrtc.MimeTypeOpus}, src); err != nil {
		t.Fatal(err)
	}
	opus := readOgg(t, "opus.ogg")
	as := newSynth(src, webrtc.MimeTypeOpus, 1, 0)
	as.pz = rtp.NewPacketizerWithOptions(1200, &codecs.OpusPayloader{}, rtp.NewFixedSequencer(65500), 48000,
		rtp.WithSSRC(1), rtp.WithPayloadType(111), rtp.WithTimestamp(math.MaxUint32-50*960))
	for i, f := range opus {
		as.frame(t, f.data, 960, int64(i)*int64(20*time.Millisecond), 0)
	}
	clock.ns.Store(int64(len(opus)) * int64(20*time.Millisecond))
	m := s.Stop()
	_, frames := parse(t, filepath.Join(dir, m.Tracks[0].File))
	if len(frames) != len(opus) {
		t.Fatalf("%d frames, sent %d", len(frames), len(opus))
	}
	for i, f := range frames {
		if f.tc != int64(i)*20 {
			t.Fatalf("frame %d at %d ms, want %d", i, f.tc, i*20)
		}
	}
}
