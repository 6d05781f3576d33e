package probe_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yunke/server/microlessons/probe"
)

func probeBytes(b []byte) (probe.Info, error) {
	return probe.Probe(bytes.NewReader(b), int64(len(b)))
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantKind fails unless err is a *probe.Error of kind k whose reason mentions want.
func wantKind(t *testing.T, err error, k probe.Kind, want string) {
	t.Helper()
	var pe *probe.Error
	if !errors.As(err, &pe) || pe.Kind != k || !strings.Contains(pe.Reason, want) {
		t.Fatalf("err = %v; want a probe error of kind %d mentioning %q", err, k, want)
	}
}

// TestFiles probes the files ffmpeg made (testdata/README.md).
func TestFiles(t *testing.T) {
	for _, c := range []struct {
		file, container, video, audio string
		fragmented                    bool
		min, max                      time.Duration
	}{
		{"h264_aac.mp4", "mp4", "h264", "aac", false, 2 * time.Second, 2 * time.Second},
		{"hevc_aac.mp4", "mp4", "hevc", "aac", false, time.Second, time.Second},
		{"fragmented.mp4", "mp4", "h264", "aac", true, 2 * time.Second, 2200 * time.Millisecond},
		{"vp8_opus.webm", "webm", "vp8", "opus", false, 2 * time.Second, 2100 * time.Millisecond},
		{"vp9_vorbis.webm", "webm", "vp9", "vorbis", false, 2 * time.Second, 2100 * time.Millisecond},
		// Written to a pipe: no duration, segment and clusters of unknown size.
		{"live.webm", "webm", "vp8", "opus", false, 1900 * time.Millisecond, 2100 * time.Millisecond},
	} {
		t.Run(c.file, func(t *testing.T) {
			info, err := probeBytes(readFile(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			v, okV := info.Video()
			a, okA := info.Audio()
			if info.Container != c.container || !okV || v.Codec != c.video || !okA || a.Codec != c.audio || info.Fragmented != c.fragmented {
				t.Fatalf("info %+v", info)
			}
			if v.Width != 160 || v.Height != 120 {
				t.Errorf("picture %dx%d, want 160x120", v.Width, v.Height)
			}
			if info.Duration < c.min || info.Duration > c.max {
				t.Errorf("duration %v, want %v–%v", info.Duration, c.min, c.max)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	h264 := readFile(t, "h264_aac.mp4")
	webm := readFile(t, "vp8_opus.webm")
	live := readFile(t, "live.webm")
	for _, c := range []struct {
		name string
		data []byte
		kind probe.Kind
		want string
	}{
		{"mp3", readFile(t, "tone.mp3"), probe.NotVideo, "MP3 audio"},
		{"truncated mp4", readFile(t, "truncated.mp4"), probe.Damaged, "cut off"},
		{"mp4 cut inside its moov", h264[:2000], probe.Damaged, "cut off"},
		{"mp4 cut after ftyp", h264[:binary.BigEndian.Uint32(h264)], probe.Damaged, "no index"},
		{"webm cut", webm[:len(webm)*2/3], probe.Damaged, "cut off"},
		{"live webm cut inside a block", live[:len(live)/2+7], probe.Damaged, "cut off"},
		{"webm header only", webm[:40], probe.Damaged, ""},
		{"html named .mp4", []byte("<!DOCTYPE html>\n<html><body>hello</body></html>"), probe.NotVideo, "HTML page"},
		{"html with BOM and blanks", []byte("\xef\xbb\xbf  \n<html>"), probe.NotVideo, "HTML page"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), probe.NotVideo, "picture"},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00"), probe.NotVideo, "ZIP"},
		{"text", []byte("just some words"), probe.NotVideo, "text/plain"},
		{"empty", nil, probe.NotVideo, "empty"},
		{"quicktime", mp4(box("ftyp", []byte("qt  \x00\x00\x02\x00qt  "))), probe.Unsupported, "QuickTime"},
		{"stream segment", mp4(box("styp", []byte("msdh\x00\x00\x00\x00")), box("moof")), probe.Damaged, "segment of a stream"},
		{"box larger than the file", append(ftyp(), 0, 0, 0x10, 0, 'm', 'd', 'a', 't'), probe.Damaged, "cut off"},
		{"box larger than its parent", mp4(ftyp(), []byte{0, 0, 0, 16, 'm', 'o', 'o', 'v', 0, 0, 0, 64, 't', 'r', 'a', 'k'}, box("free", make([]byte, 64))), probe.Damaged, "larger than the box around it"},
		{"impossible box size", mp4(ftyp(), []byte{0, 0, 0, 3, 'f', 'r', 'e', 'e'}), probe.Damaged, "impossible size"},
		{"two moovs", mp4(ftyp(), box("moov", mvhd(1000, 1000)), box("moov", mvhd(1000, 1000))), probe.Damaged, "two movie headers"},
		{"no time scale", mp4(ftyp(), box("moov", mvhd(0, 1000))), probe.Damaged, "time scale"},
		{"video without frames", mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1, box("stsz", u32(0), u32(0), u32(0))))), probe.Damaged, "no frames"},
		{"chunks past the end", mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1, box("stsz", u32(0), u32(1000), u32(1)), box("stco", u32(0), u32(1), u32(1<<30))))), probe.Damaged, "cut off"},
		// A moov claiming billions of samples in a few bytes: refused at once.
		{"sample count bomb", mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1, box("stsz", u32(0), u32(0), u32(0xffffffff))))), probe.Damaged, "claims 4294967295 entries"},
		{"chunk count bomb", mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1, box("co64", u32(0), u32(0xfffffff0))))), probe.Damaged, "claims"},
		{"fragment sample bomb", mp4(ftyp(), box("moov", mvhd(1000, 0), videoTrak(1), box("mvex", box("trex", u32(0), u32(1), u32(1), u32(1), u32(0), u32(0)))),
			box("moof", box("traf", box("tfhd", u32(0), u32(1)), box("trun", u32(0x100), u32(0xffffffff))))), probe.Damaged, "claims"},
		{"track without a sample description", mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1), trak(2, "soun"))), probe.Damaged, "does not say its codec"},
		{"fragments without moov", mp4(ftyp(), box("moof", box("traf")), box("mdat")), probe.Damaged, "no header (moov)"},
		{"ebml not webm", ebml("foo"), probe.NotVideo, `type foo`},
		{"webm without segment", ebml("webm"), probe.Damaged, "no Segment"},
		{"webm element past the end", append(ebml("webm"), 0x18, 0x53, 0x80, 0x67, 0x01, 0, 0, 0, 0, 0, 0x10, 0, 0xec, 0x80), probe.Damaged, "cut off"},
		{"webm info of unknown size", append(ebml("webm"), 0x18, 0x53, 0x80, 0x67, 0xff, 0x15, 0x49, 0xa9, 0x66, 0xff), probe.Damaged, "unknown size"},
		{"webm without tracks", append(ebml("webm"), 0x18, 0x53, 0x80, 0x67, 0x80), probe.Damaged, "no track list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := probeBytes(c.data)
			wantKind(t, err, c.kind, c.want)
		})
	}
}

// TestElementBudget: a file of millions of empty boxes is refused after a
// bounded walk rather than read to its end.
func TestElementBudget(t *testing.T) {
	const size = 64 << 20 // 8 M boxes of 8 bytes
	head := ftyp()
	r := &patternReader{head: head, unit: []byte{0, 0, 0, 8, 'f', 'r', 'e', 'e'}, size: size}
	start := time.Now()
	_, err := probe.Probe(r, size)
	wantKind(t, err, probe.Damaged, "structural elements")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if r.read > 40<<20 {
		t.Errorf("read %d bytes of the %d", r.read, size)
	}
}

// TestEncrypted: encrypted tracks are reported with their real codec.
func TestEncrypted(t *testing.T) {
	entry := box("encv", make([]byte, 78), box("sinf", box("frma", []byte("avc1"))))
	f := mp4(ftyp(), box("moov", mvhd(1000, 1000), trak(1, "vide", box("stsd", u32(0), u32(1), entry))))
	info, err := probeBytes(f)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := info.Video(); !ok || !v.Encrypted || v.Codec != "h264" {
		t.Fatalf("info %+v", info)
	}
}

// TestMP3InMP4: the object type of an mp4a entry tells AAC from MP3.
func TestMP3InMP4(t *testing.T) {
	esds := box("esds", u32(0), []byte{0x03, 0x19, 0x00, 0x01, 0x00, 0x04, 0x11, 0x6b, 0x15})
	entry := box("mp4a", make([]byte, 28), esds)
	f := mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1), trak(2, "soun", box("stsd", u32(0), u32(1), entry))))
	info, err := probeBytes(f)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := info.Audio(); !ok || a.Codec != "mp3" {
		t.Fatalf("info %+v", info)
	}
}

// A read error of the file is passed on, not mistaken for a bad file.
func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := probe.Probe(failingReader{boom}, 1000)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzProbe(f *testing.F) {
	for _, name := range []string{"h264_aac.mp4", "fragmented.mp4", "vp8_opus.webm", "live.webm", "truncated.mp4", "tone.mp3"} {
		f.Add(readFile(f, name))
	}
	f.Add(mp4(ftyp(), box("moov", mvhd(1000, 1000), videoTrak(1, box("stsz", u32(0), u32(0), u32(5)), box("stco", u32(0), u32(1), u32(9))))))
	f.Add(mp4(ftyp(), box("moov", mvhd(1000, 0), videoTrak(1), box("mvex", box("trex", u32(0), u32(1), u32(1), u32(1), u32(0), u32(0)))),
		box("moof", box("traf", box("tfhd", u32(8), u32(1), u32(40)), box("tfdt", u32(0), u32(100)), box("trun", u32(0), u32(3))))))
	f.Add(append(ebml("webm"), 0x18, 0x53, 0x80, 0x67, 0xff, 0x1f, 0x43, 0xb6, 0x75, 0xff, 0xe7, 0x81, 0x05, 0xa3, 0x84, 0x81, 0x00, 0x10, 0x80))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := probeBytes(data)
		if err != nil {
			var pe *probe.Error
			if !errors.As(err, &pe) || pe.Reason == "" || pe.Kind < probe.NotVideo || pe.Kind > probe.Unsupported {
				t.Fatalf("error %v is not a probe.Error with a reason", err)
			}
			return
		}
		if info.Container != "mp4" && info.Container != "webm" {
			t.Fatalf("container %q", info.Container)
		}
		if info.Duration < 0 {
			t.Fatalf("negative duration %v", info.Duration)
		}
		for _, tr := range info.Tracks {
			if (tr.Type != "video" && tr.Type != "audio") || tr.Codec == "" || tr.Width < 0 || tr.Height < 0 {
				t.Fatalf("track %+v", tr)
			}
		}
	})
}

// ---- building files

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	return append(append(u32(uint32(8+len(body))), typ...), body...)
}

func mp4(boxes ...[]byte) []byte { return bytes.Join(boxes, nil) }

func ftyp() []byte { return box("ftyp", []byte("isom\x00\x00\x02\x00isomavc1")) }

// mvhd is a version 0 movie header.
func mvhd(scale, duration uint32) []byte {
	return box("mvhd", u32(0), u32(0), u32(0), u32(scale), u32(duration), make([]byte, 80))
}

func trak(id uint32, handler string, stbl ...[]byte) []byte {
	return box("trak",
		box("tkhd", u32(0), u32(0), u32(0), u32(id), u32(0), u32(1000), make([]byte, 60)),
		box("mdia",
			box("mdhd", u32(0), u32(0), u32(0), u32(1000), u32(1000), u32(0)),
			box("hdlr", u32(0), u32(0), []byte(handler), make([]byte, 13)),
			box("minf", box("stbl", stbl...))))
}

// videoTrak is an H.264 track with the sample table boxes given.
func videoTrak(id uint32, tables ...[]byte) []byte {
	entry := make([]byte, 78)
	binary.BigEndian.PutUint16(entry[24:], 160)
	binary.BigEndian.PutUint16(entry[26:], 120)
	return trak(id, "vide", append([][]byte{box("stsd", u32(0), u32(1), box("avc1", entry))}, tables...)...)
}

// ebml is an EBML header with a DocType.
func ebml(doctype string) []byte {
	body := append([]byte{0x42, 0x82, byte(0x80 | len(doctype))}, doctype...)
	return append([]byte{0x1a, 0x45, 0xdf, 0xa3, byte(0x80 | len(body))}, body...)
}

// patternReader is a file of size bytes: head, then unit repeated.
type patternReader struct {
	head, unit []byte
	size       int64
	read       int64
}

func (p *patternReader) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) && off+int64(n) < p.size {
		o := off + int64(n)
		if o < int64(len(p.head)) {
			b[n] = p.head[o]
		} else {
			b[n] = p.unit[(o-int64(len(p.head)))%int64(len(p.unit))]
		}
		n++
	}
	p.read += int64(n)
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

type failingReader struct{ err error }

func (f failingReader) ReadAt([]byte, int64) (int, error) { return 0, f.err }
