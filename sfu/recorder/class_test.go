package recorder

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

// A teacher publishes a simulcast camera (the low layer from the start,
// the high layer from the 18th frame on) and a microphone, in real time,
// through real sfu.Tracks, with 5 % loss and some reordering. The recording
// must hold frames exactly as sent, switch up once at a high-layer
// keyframe without a jump, align both tracks, and decode cleanly.
func TestRecordSyntheticClass(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	metrics := new(Metrics)
	s, err := Start(Params{Dir: dir, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	cam := sfu.NewTrack(sfu.TrackParams{ID: "TR_cam", StreamID: "PA_t|TR_cam", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Cap, Publisher: pub})
	mic := sfu.NewTrack(sfu.TrackParams{ID: "TR_mic", StreamID: "PA_t|TR_mic", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCap, Publisher: pub})
	t.Cleanup(cam.Close)
	t.Cleanup(mic.Close)
	low, high, aud := newFakeRemote(t, 10), newFakeRemote(t, 30), newFakeRemote(t, 50)
	if err := cam.AddLayer(0, low); err != nil {
		t.Fatal(err)
	}
	if err := mic.AddLayer(0, aud); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTrack(TrackMeta{TrackID: "TR_cam", Participant: "teacher-1", Role: RoleTeacher, Source: SourceCamera, Codec: webrtc.MimeTypeVP8}, cam); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTrack(TrackMeta{TrackID: "TR_mic", Participant: "teacher-1", Role: RoleTeacher, Source: SourceMicrophone, Codec: webrtc.MimeTypeOpus, AudioLevelExtID: audioLevelExt}, mic); err != nil {
		t.Fatal(err)
	}

	lowF, highF, opusF := readIVF(t, "low.ivf"), readIVF(t, "high.ivf"), readOgg(t, "opus.ogg")
	pl, ph, pa := packetizer(webrtc.MimeTypeVP8, 10, 60000), packetizer(webrtc.MimeTypeVP8, 30, 100), packetizer(webrtc.MimeTypeOpus, 50, 65000)
	ll, lh, la := newLossy(1, 0.05, 0.1), newLossy(2, 0.05, 0.1), newLossy(3, 0.05, 0.1)
	const highFrom = 17
	sent := 0
	send := func(r *fakeRemote, pkts []*rtp.Packet) {
		for _, p := range pkts {
			r.send(t, p)
			sent++
		}
	}
	const frameDur = time.Second / 15
	start := time.Now()
	ai := 0
	for i := range lowF {
		time.Sleep(time.Until(start.Add(time.Duration(i) * frameDur)))
		send(low, ll.apply(pl.Packetize(lowF[i].data, 6000)))
		if i == highFrom {
			if err := cam.AddLayer(2, high); err != nil {
				t.Fatal(err)
			}
		}
		if i >= highFrom {
			send(high, lh.apply(ph.Packetize(highF[i].data, 6000)))
		} else {
			ph.SkipSamples(6000)
		}
		for ; ai < len(opusF) && time.Duration(ai)*20*time.Millisecond <= time.Duration(i)*frameDur; ai++ {
			pkts := pa.Packetize(opusF[ai].data, 960)
			level := byte(127)
			if ai < 100 { // speaking for the first 2 s
				level = 20
			}
			for _, p := range pkts {
				withLevel(t, p, level)
			}
			send(aud, la.apply(pkts))
		}
	}
	send(low, ll.flush())
	send(high, lh.flush())
	send(aud, la.flush())
	waitFor(t, "every packet queued", func() bool { return metrics.Packets.Load() == uint64(sent) })
	m := s.Stop()

	if m.Status != StatusOK || len(m.Tracks) != 2 {
		t.Fatalf("manifest: %+v", m)
	}
	video, audio := m.Tracks[0], m.Tracks[1]
	t.Logf("video: %+v", video)
	t.Logf("audio: %+v", audio)
	t.Logf("lost: low %d, high %d, audio %d packets", ll.lost, lh.lost, la.lost)

	// Video: exactly the frames sent, a keyframe first, one switch up.
	lowSet, highSet := map[string]bool{}, map[string]bool{}
	for _, f := range lowF {
		lowSet[string(f.data)] = true
	}
	for _, f := range highF {
		highSet[string(f.data)] = true
	}
	vf, frames := parse(t, filepath.Join(dir, video.File))
	if len(frames) != int(video.Frames) || len(frames) < 20 || len(frames) > len(lowF) {
		t.Fatalf("video: %d frames in the file, manifest says %d, %d sent", len(frames), video.Frames, len(lowF))
	}
	if !frames[0].key {
		t.Fatal("video does not start at a keyframe")
	}
	switched := -1
	for i, f := range frames {
		switch {
		case switched < 0 && lowSet[string(f.data)]:
		case highSet[string(f.data)]:
			if switched < 0 {
				switched = i
				if !f.key {
					t.Fatalf("frame %d: switched to the high layer on a delta frame", i)
				}
			}
		default:
			t.Fatalf("frame %d (%d ms) is not a frame that was sent (layer switched at %d)", i, f.tc, switched)
		}
		if i > 0 && f.tc <= frames[i-1].tc {
			t.Fatalf("frame %d: timestamp %d after %d", i, f.tc, frames[i-1].tc)
		}
	}
	if switched < 0 || video.LayerSwitches != 1 {
		t.Fatalf("no switch to the high layer (switches %d)", video.LayerSwitches)
	}
	// The switch neither jumps nor stalls: the gap is about a frame's.
	if gap := frames[switched].tc - frames[switched-1].tc; gap <= 0 || gap > 400 {
		t.Errorf("gap at the layer switch: %d ms", gap)
	}
	if pub.count(30) == 0 {
		t.Error("no keyframe was asked of the high layer")
	}
	if vf.Segment.Cues == nil || len(vf.Segment.Cues.CuePoint) == 0 {
		t.Error("video has no Cues")
	}
	last := frames[len(frames)-1].tc
	if d := int64(vf.Segment.Info.Duration); d < last || d > last+200 || d != video.DurationMS {
		t.Errorf("video Duration %v ms, last frame at %d, manifest %d", vf.Segment.Info.Duration, last, video.DurationMS)
	}
	if d := probeDuration(t, filepath.Join(dir, video.File)); math.Abs(float64(d-video.DurationMS)) > 20 {
		t.Errorf("ffprobe reads %d ms, manifest %d", d, video.DurationMS)
	}

	// Audio: every packet that arrived is a frame, 20 ms apart.
	_, aframes := parse(t, filepath.Join(dir, audio.File))
	if want := ai - la.lost; len(aframes) != want {
		t.Errorf("audio: %d frames, %d arrived", len(aframes), want)
	}
	for i := 1; i < len(aframes); i++ {
		if aframes[i].tc < aframes[i-1].tc || (aframes[i].tc-aframes[i-1].tc)%20 != 0 {
			t.Fatalf("audio frame %d at %d ms after %d", i, aframes[i].tc, aframes[i-1].tc)
		}
	}

	// Both tracks on one timeline: they start and end together.
	for _, tr := range m.Tracks {
		if tr.OffsetMS < 0 || tr.OffsetMS > 300 {
			t.Errorf("%s starts at %d ms", tr.Source, tr.OffsetMS)
		}
	}
	vEnd, aEnd := video.OffsetMS+last, audio.OffsetMS+aframes[len(aframes)-1].tc
	if d := vEnd - aEnd; d < -300 || d > 300 {
		t.Errorf("video ends at %d ms, audio at %d ms on the recording's timeline", vEnd, aEnd)
	}

	// Speaking activity: the teacher spoke for the first two seconds.
	if len(m.Activity) != 1 || m.Activity[0].Role != RoleTeacher {
		t.Fatalf("activity %+v", m.Activity)
	}
	act := m.Activity[0]
	if !act.SpeakingAt(1000) || act.SpeakingAt(3000) || len(act.Speaking) != 1 {
		t.Errorf("speaking %+v", act.Speaking)
	}
	if iv := act.Speaking[0]; iv.FromMS > 500 || iv.ToMS < 1500 || iv.ToMS > 2500 || iv.Level <= 0 {
		t.Errorf("speaking interval %+v, want about 0–2000 ms", iv)
	}

	// The manifest written beside the files says the same.
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved Manifest
	if err := json.Unmarshal(b, &saved); err != nil || len(saved.Tracks) != 2 || saved.Tracks[0].File != video.File ||
		saved.Tracks[1].OffsetMS != audio.OffsetMS || len(saved.Activity) != 1 || !bytes.Contains(b, []byte(`"speaking"`)) {
		t.Fatalf("manifest.json: %v\n%s", err, b)
	}

	for _, tr := range m.Tracks {
		decodes(t, filepath.Join(dir, tr.File))
	}
	if metrics.Tracks.Load() != 0 || metrics.Sessions.Load() != 0 {
		t.Errorf("metrics after stop: %d tracks, %d sessions", metrics.Tracks.Load(), metrics.Sessions.Load())
	}
}
