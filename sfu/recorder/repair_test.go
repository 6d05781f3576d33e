package recorder

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// A recording cut anywhere — between blocks, inside one, inside the Cues —
// is repaired to exactly the frames that were complete before the cut,
// with the right Duration, Cues, and a file ffmpeg decodes.
func TestRepairCutFile(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	m := recordSynthetic(t, dir, "high.ivf", webrtc.MimeTypeVP8, 0)
	for _, tr := range m.Tracks {
		path := filepath.Join(dir, tr.File)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, frames := parse(t, path)
		firstCluster := int64(bytes.Index(orig, []byte{0x1F, 0x43, 0xB6, 0x75}))

		// Cut points: random ones, the middle of the largest frame, the end
		// of a frame, and inside the Cues.
		rng := rand.New(rand.NewPCG(7, 7))
		var cuts []int64
		for range 4 {
			cuts = append(cuts, firstCluster+1+rng.Int64N(int64(len(orig))-firstCluster-1))
		}
		big := 0
		for i, f := range frames {
			if len(f.data) > len(frames[big].data) {
				big = i
			}
		}
		at := bytes.Index(orig, frames[big].data)
		cuts = append(cuts, int64(at+len(frames[big].data)/2), int64(at+len(frames[big].data)), int64(len(orig))-3)

		for _, cut := range cuts {
			cutPath := filepath.Join(t.TempDir(), "cut"+filepath.Ext(path))
			if err := os.WriteFile(cutPath, orig[:cut], 0o600); err != nil {
				t.Fatal(err)
			}
			res, err := Repair(cutPath)
			if errors.Is(err, ErrNoFrames) {
				if cut > firstCluster+200 && len(frames[0].data) < 200 {
					t.Errorf("cut at %d: no frames", cut)
				}
				continue
			}
			if err != nil {
				t.Fatalf("cut at %d of %d: %v", cut, len(orig), err)
			}
			pf, got := parse(t, cutPath)
			k := len(got)
			if int64(k) != res.Frames || k == 0 || k > len(frames) {
				t.Fatalf("cut at %d: %d frames back, result %+v", cut, k, res)
			}
			for i := range got {
				if got[i].tc != frames[i].tc || !bytes.Equal(got[i].data, frames[i].data) || got[i].key != frames[i].key {
					t.Fatalf("cut at %d: frame %d differs from the original", cut, i)
				}
			}
			// Maximal: the first frame left out was not complete before the cut.
			if k < len(frames) {
				if end := bytes.Index(orig, frames[k].data) + len(frames[k].data); int64(end) <= cut {
					t.Fatalf("cut at %d: frame %d ended at %d, before the cut, but was dropped", cut, k, end)
				}
			}
			last := got[k-1].tc
			wantDur := last
			if k > 1 {
				wantDur += last - got[k-2].tc
			}
			if int64(pf.Segment.Info.Duration) != wantDur || res.DurationMS != wantDur {
				t.Fatalf("cut at %d: duration %v (result %d), want %d", cut, pf.Segment.Info.Duration, res.DurationMS, wantDur)
			}
			if pf.Segment.Cues == nil || len(pf.Segment.Cues.CuePoint) == 0 {
				t.Fatalf("cut at %d: no Cues", cut)
			}
			decodes(t, cutPath)
			if d := probeDuration(t, cutPath); d != wantDur {
				t.Errorf("cut at %d: ffprobe reads %d ms, want %d", cut, d, wantDur)
			}
		}
		// A finished file is left as it was.
		res, err := Repair(path)
		if err != nil || res.Frames != int64(len(frames)) {
			t.Fatalf("repairing a finished file: %+v %v", res, err)
		}
		if again, _ := os.ReadFile(path); !bytes.Equal(again, orig) {
			t.Fatal("repairing a finished file changed it")
		}
	}
	if _, err := Repair(filepath.Join(dir, "manifest.json")); err == nil {
		t.Fatal("repaired a file that is not a recording")
	}
}

const crashDirEnv = "YUNKE_RECORDER_CRASH_DIR"

// A recording process killed with SIGKILL leaves a file that plays up to
// the kill, and that Repair finishes.
func TestKilledRecordingPlaysAndRepairs(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		recordUntilKilled(t, dir)
		return
	}
	requireFFmpeg(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRecordingPlaysAndRepairs$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the recording process was not killed: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "p1_camera_TR_v.webm")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	// As the kill left it: ffmpeg plays it up to the cut.
	played := countFrames(t, path)
	if played < 30 {
		t.Fatalf("ffmpeg plays %d frames of the killed recording (%d octets)", played, fi.Size())
	}
	res, err := Repair(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed at %d octets: ffmpeg played %d frames; repaired: %+v", fi.Size(), played, res)
	if res.Frames < int64(played) {
		t.Fatalf("repair kept %d frames, ffmpeg played %d before", res.Frames, played)
	}
	pf, frames := parse(t, path)
	if int64(len(frames)) != res.Frames || pf.Segment.Cues == nil || int64(pf.Segment.Info.Duration) != res.DurationMS {
		t.Fatalf("repaired: %d frames, cues %v, duration %v; result %+v", len(frames), pf.Segment.Cues != nil, pf.Segment.Info.Duration, res)
	}
	decodes(t, path)
}

// recordUntilKilled runs in the child process: it records, then kills
// itself once part of the recording reached the file.
func recordUntilKilled(t *testing.T, dir string) {
	clock := &fakeClock{}
	s, err := Start(Params{Dir: dir, Clock: clock.now, QueueSize: 1 << 15})
	if err != nil {
		t.Fatal(err)
	}
	src := &tapSource{}
	h, err := s.AddTrack(TrackMeta{TrackID: "TR_v", Participant: "p1", Source: SourceCamera, Codec: webrtc.MimeTypeVP8}, src)
	if err != nil {
		t.Fatal(err)
	}
	frames := readIVF(t, "high.ivf")
	vs := newSynth(src, webrtc.MimeTypeVP8, 5, 0)
	for i := range 3 * len(frames) {
		vs.frame(t, frames[i%len(frames)].data, 6000, int64(i)*int64(time.Second)/15, 0)
	}
	path := filepath.Join(dir, "p1_camera_TR_v.webm")
	deadline := time.Now().Add(10 * time.Second)
	for h.Info().Frames < uint64(2*len(frames)) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() < 50_000 {
		t.Fatalf("nothing reached the file: %v", err)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// countFrames is how many video frames ffmpeg decodes from a file.
func countFrames(t testing.TB, path string) int {
	t.Helper()
	out, _ := exec.Command("ffprobe", "-v", "quiet", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ffprobe cannot count the frames of %s: %q", path, out)
	}
	return n
}

// A repaired file tells where it starts on the recording's timeline (its
// first frame's offset, from its tag), not where its track was attached.
func TestRepairKeepsOffset(t *testing.T) {
	dir := t.TempDir()
	m := recordSynthetic(t, dir, "low.ivf", webrtc.MimeTypeVP8, 1500*time.Millisecond)
	for _, tr := range m.Tracks {
		res, err := Repair(filepath.Join(dir, tr.File))
		if err != nil {
			t.Fatal(err)
		}
		if !res.HasOffset || res.OffsetMS != tr.OffsetMS {
			t.Errorf("%s: repaired offset %d (tag %v), recorded %d", tr.Source, res.OffsetMS, res.HasOffset, tr.OffsetMS)
		}
		if tr.Source == SourceCamera && tr.OffsetMS < 1400 {
			t.Errorf("the camera started 1.5 s late but its offset is %d ms", tr.OffsetMS)
		}
	}
}
