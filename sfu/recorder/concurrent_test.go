package recorder

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

// Twenty recordings of two tracks each, at once, through real sfu.Tracks:
// every file complete and readable (run with -race).
func TestConcurrentRecordings(t *testing.T) {
	requireFFmpeg(t)
	const rooms = 20
	video, opus := readIVF(t, "low.ivf"), readOgg(t, "opus.ogg")
	metrics := new(Metrics)
	manifests := make([]Manifest, rooms)
	var wg sync.WaitGroup
	for i := range rooms {
		dir := t.TempDir()
		cam := sfu.NewTrack(sfu.TrackParams{ID: "TR_cam", StreamID: "PA|TR_cam", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Cap, Publisher: &fakePublisher{}})
		mic := sfu.NewTrack(sfu.TrackParams{ID: "TR_mic", StreamID: "PA|TR_mic", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCap})
		t.Cleanup(cam.Close)
		t.Cleanup(mic.Close)
		vr, ar := newFakeRemote(t, uint32(100+i)), newFakeRemote(t, uint32(200+i))
		if err := cam.AddLayer(0, vr); err != nil {
			t.Fatal(err)
		}
		if err := mic.AddLayer(0, ar); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			s, err := Start(Params{Dir: dir, Metrics: metrics})
			if err != nil {
				t.Error(err)
				return
			}
			who := fmt.Sprintf("student-%d", i)
			if _, err := s.AddTrack(TrackMeta{TrackID: "TR_cam", Participant: who, Role: RoleStudent, Source: SourceCamera, Codec: webrtc.MimeTypeVP8}, cam); err != nil {
				t.Error(err)
			}
			if _, err := s.AddTrack(TrackMeta{TrackID: "TR_mic", Participant: who, Role: RoleStudent, Source: SourceMicrophone, Codec: webrtc.MimeTypeOpus, AudioLevelExtID: audioLevelExt}, mic); err != nil {
				t.Error(err)
			}
			count := &countTap{}
			cam.AddTap(count)
			mic.AddTap(count)
			vp, ap := packetizer(webrtc.MimeTypeVP8, uint32(100+i), 1), packetizer(webrtc.MimeTypeOpus, uint32(200+i), 1)
			sent := 0
			for j := range opus {
				if j%3 == 0 && j/3 < len(video) {
					for _, p := range vp.Packetize(video[j/3].data, 6000) {
						vr.send(t, p)
						sent++
					}
				}
				for _, p := range ap.Packetize(opus[j].data, 960) {
					ar.send(t, withLevel(t, p, 30))
					sent++
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for count.n.Load() < int64(sent) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			manifests[i] = s.Stop()
		})
	}
	wg.Wait()
	for i, m := range manifests {
		if m.Status != StatusOK || len(m.Tracks) != 2 {
			t.Fatalf("room %d: %+v", i, m)
		}
		for _, tr := range m.Tracks {
			_, frames := parse(t, filepath.Join(m.Dir, tr.File))
			if len(frames) != int(tr.Frames) || tr.Drops != 0 {
				t.Fatalf("room %d %s: %d frames in the file, %+v", i, tr.Source, len(frames), tr)
			}
		}
		if v, a := m.Tracks[0], m.Tracks[1]; int(v.Frames) != len(video) || int(a.Frames) != len(opus) {
			t.Fatalf("room %d: %d video and %d audio frames, sent %d and %d", i, v.Frames, a.Frames, len(video), len(opus))
		}
		if len(m.Activity) != 1 || len(m.Activity[0].Speaking) == 0 {
			t.Fatalf("room %d: activity %+v", i, m.Activity)
		}
	}
	for _, tr := range manifests[0].Tracks {
		decodes(t, filepath.Join(manifests[0].Dir, tr.File))
	}
	if metrics.Tracks.Load() != 0 || metrics.Sessions.Load() != 0 || metrics.Dropped.Load() != 0 {
		t.Fatalf("metrics: %d tracks, %d sessions, %d dropped", metrics.Tracks.Load(), metrics.Sessions.Load(), metrics.Dropped.Load())
	}
}
