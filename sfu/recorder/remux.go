package recorder

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/at-wat/ebml-go/webm"
)

// ErrRemuxInput is returned when Remux's inputs are not a VP8/VP9 WebM and
// an Opus WebM.
var ErrRemuxInput = errors.New("recorder: remux needs a VP8 or VP9 WebM and an Opus WebM")

// RemuxResult describes the merged file.
type RemuxResult struct {
	VideoFrames int64 `json:"video_frames"`
	AudioFrames int64 `json:"audio_frames"`
	DurationMS  int64 `json:"duration_ms"`
	Size        int64 `json:"size"`
	// OffsetMS is the merged file's start on the recording's timeline.
	OffsetMS int64 `json:"offset_ms"`
}

// Remux merges a recorded camera (VP8 or VP9 WebM) and microphone (Opus
// WebM) into one WebM with both tracks, for download: no transcoding, the
// frames interleaved by time and aligned by each file's start offset on the
// recording's timeline (the earlier file starts at 0), with Cues at the
// video's keyframes so players can seek. outPath appears only when complete.
func Remux(videoPath, audioPath, outPath string) (RemuxResult, error) {
	vf, v, err := openInput(videoPath)
	if err != nil {
		return RemuxResult{}, err
	}
	defer vf.Close()
	af, a, err := openInput(audioPath)
	if err != nil {
		return RemuxResult{}, err
	}
	defer af.Close()
	if len(v.tracks) != 1 || v.tracks[0].Video == nil || (v.tracks[0].CodecID != "V_VP8" && v.tracks[0].CodecID != "V_VP9") ||
		len(a.tracks) != 1 || a.tracks[0].CodecID != "A_OPUS" {
		return RemuxResult{}, ErrRemuxInput
	}

	vo, ao := v.startOffset(), a.startOffset()
	base := min(vo, ao)
	shift := [2]int64{vo - base, ao - base}
	vt, at := v.tracks[0], a.tracks[0]
	vt.TrackNumber, vt.TrackUID = 1, 1
	at.TrackNumber, at.TrackUID = 2, 2
	h := header{docType: "webm", tracks: []webm.TrackEntry{vt, at}}
	if start, err := time.Parse(time.RFC3339Nano, v.tags[tagRecordingStart]); err == nil {
		h.date = start.Add(time.Duration(base) * time.Millisecond)
		h.tags = [][2]string{{tagRecordingStart, v.tags[tagRecordingStart]}, {tagStartOffset, fmt.Sprint(base)}}
	}

	tmp := outPath + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return RemuxResult{}, fmt.Errorf("remux: %w", err)
	}
	res, err := remux(out, h, [2]*mkvReader{v, a}, shift)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, outPath)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return RemuxResult{}, fmt.Errorf("remux: %w", err)
	}
	res.OffsetMS = base
	if fi, err := os.Stat(outPath); err == nil {
		res.Size = fi.Size()
	}
	return res, nil
}

func openInput(path string) (*os.File, *mkvReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("remux: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		var m *mkvReader
		if m, err = openMKV(f, fi.Size()); err == nil {
			return f, m, nil
		}
	}
	f.Close()
	return nil, nil, fmt.Errorf("remux %s: %w", path, err)
}

// remux writes both inputs' frames to out in time order: input 0 (video)
// becomes track 1, input 1 (audio) track 2.
func remux(out *os.File, h header, in [2]*mkvReader, shift [2]int64) (RemuxResult, error) {
	m := newMuxer(out, 1, true, 0)
	if err := m.writeHeader(h); err != nil {
		return RemuxResult{}, err
	}
	var (
		res  RemuxResult
		cur  [2]frame
		ok   [2]bool
		last [2][2]int64 // per input: last timestamp, interval before it
		n    [2]int64
	)
	advance := func(i int) error {
		f, err := in[i].next(true)
		switch {
		case err == nil:
			cur[i], ok[i] = f, true
			cur[i].tc += shift[i]
			return nil
		case errors.Is(err, io.EOF), errors.Is(err, errCut):
			// A cut input ends where its last complete frame does.
			ok[i] = false
			return nil
		case errors.Is(err, errNotRecording):
			return fmt.Errorf("%w: %v", ErrRemuxInput, err)
		default:
			return err
		}
	}
	for i := range in {
		if err := advance(i); err != nil {
			return res, err
		}
	}
	for ok[0] || ok[1] {
		i := 0
		if !ok[0] || (ok[1] && cur[1].tc < cur[0].tc) {
			i = 1
		}
		f := cur[i]
		if err := m.writeFrame(uint64(i+1), f.tc, f.key, f.data); err != nil {
			return res, err
		}
		if n[i] == 0 {
			last[i] = [2]int64{f.tc, 0}
		} else if f.tc >= last[i][0] {
			last[i] = [2]int64{f.tc, f.tc - last[i][0]}
		}
		n[i]++
		if err := advance(i); err != nil {
			return res, err
		}
	}
	for _, l := range last {
		res.DurationMS = max(res.DurationMS, l[0]+l[1])
	}
	res.VideoFrames, res.AudioFrames = n[0], n[1]
	return res, m.finishWith(res.DurationMS)
}
