package recorder

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Every codec is recorded as sent, to a file ffmpeg decodes.
func TestCodecsRecordAndDecode(t *testing.T) {
	requireFFmpeg(t)
	for _, c := range []struct {
		name, file, mime, codecID, ext string
		w, h                           uint64
	}{
		{"vp8", "low.ivf", webrtc.MimeTypeVP8, "V_VP8", ".webm", 160, 120},
		{"vp9", "vp9.ivf", webrtc.MimeTypeVP9, "V_VP9", ".webm", 160, 120},
		{"h264", "h264.h264", webrtc.MimeTypeH264, "V_MPEG4/ISO/AVC", ".mkv", 160, 120},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			m := recordSynthetic(t, dir, c.file, c.mime, 0)
			if m.Status != StatusOK {
				t.Fatalf("manifest %+v", m)
			}
			v := m.Tracks[0]
			if filepath.Ext(v.File) != c.ext || v.Frames == 0 {
				t.Fatalf("video track %+v", v)
			}
			pf, frames := parse(t, filepath.Join(dir, v.File))
			if len(frames) != int(v.Frames) {
				t.Fatalf("%d frames in the file, manifest %d", len(frames), v.Frames)
			}
			e := pf.Segment.Tracks.TrackEntry[0]
			if e.CodecID != c.codecID || e.Video == nil || e.Video.PixelWidth != c.w || e.Video.PixelHeight != c.h {
				t.Fatalf("track entry %+v", e)
			}
			if pf.Header.DocType != map[string]string{".webm": "webm", ".mkv": "matroska"}[c.ext] {
				t.Fatalf("doc type %q", pf.Header.DocType)
			}
			decodes(t, filepath.Join(dir, v.File))
			decodes(t, filepath.Join(dir, m.Tracks[1].File))
		})
	}
}

// Remux merges camera and microphone into one seekable WebM, aligned by
// their offsets: here the camera starts 500 ms after the microphone.
func TestRemux(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	m := recordSynthetic(t, dir, "low.ivf", webrtc.MimeTypeVP8, 500*time.Millisecond)
	v, a := m.Tracks[0], m.Tracks[1]
	if d := v.OffsetMS - a.OffsetMS; d < 480 || d > 520 {
		t.Fatalf("offsets: video %d ms, audio %d ms", v.OffsetMS, a.OffsetMS)
	}
	out := filepath.Join(dir, "download.webm")
	res, err := Remux(filepath.Join(dir, v.File), filepath.Join(dir, a.File), out)
	if err != nil {
		t.Fatal(err)
	}
	if res.VideoFrames != int64(v.Frames) || res.AudioFrames != int64(a.Frames) || res.OffsetMS != a.OffsetMS {
		t.Fatalf("remux %+v; tracks %+v %+v", res, v, a)
	}
	pf, frames := parse(t, out)
	if len(pf.Segment.Tracks.TrackEntry) != 2 || pf.Segment.Cues == nil || len(pf.Segment.Cues.CuePoint) == 0 {
		t.Fatalf("tracks %+v, cues %+v", pf.Segment.Tracks, pf.Segment.Cues)
	}
	firstVideo := int64(-1)
	for i, f := range frames {
		if i > 0 && f.tc < frames[i-1].tc {
			t.Fatalf("frame %d at %d ms after %d: not interleaved by time", i, f.tc, frames[i-1].tc)
		}
		if f.track == 1 && firstVideo < 0 {
			firstVideo = f.tc
		}
	}
	if want := v.OffsetMS - a.OffsetMS; firstVideo != want {
		t.Fatalf("video starts at %d ms in the download, want %d", firstVideo, want)
	}
	if d := int64(pf.Segment.Info.Duration); d != res.DurationMS || d < 3900 {
		t.Fatalf("duration %v, result %d", pf.Segment.Info.Duration, res.DurationMS)
	}
	decodes(t, out)
	// Seekable: ffmpeg seeks to 2 s through the Cues and decodes from there.
	seekDecodes(t, out, "2")
}
