// Package probe reads what a video file is from its content, never its
// name: the container (MP4 or WebM/Matroska), each track's codec, the
// picture size and the duration. It parses only the container's headers
// and indexes (MP4 boxes, EBML elements), bounded by the file's size and a
// fixed budget of elements, so that a hostile file — a moov box claiming
// billions of samples, a million empty boxes, an element larger than the
// file — costs little and answers an *Error.
//
// Whether a probed file is acceptable (which codecs, how long) is the
// caller's rule, not this package's.
package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Kind says what is wrong with a file the probe cannot describe.
type Kind int

const (
	// NotVideo: the file is not an MP4 or WebM/Matroska container at all
	// (an HTML page, an MP3, a picture, random bytes).
	NotVideo Kind = iota + 1
	// Damaged: the container is recognised but cut off or malformed.
	Damaged
	// Unsupported: a container the probe recognises but does not accept as
	// such (QuickTime .mov, encrypted media).
	Unsupported
)

// Error is a file the probe cannot describe; Reason says why, in words
// for the person who uploaded it.
type Error struct {
	Kind   Kind
	Reason string
}

func (e *Error) Error() string { return "probe: " + e.Reason }

func damaged(format string, args ...any) *Error {
	return &Error{Kind: Damaged, Reason: fmt.Sprintf(format, args...)}
}

// errTruncated is the reason of a file that ends inside its data.
const truncatedReason = "the file is cut off: it ends inside its data (the upload or the export did not finish)"

// Track is one audio or video track.
type Track struct {
	// Type is "video" or "audio".
	Type string `json:"type"`
	// Codec is a short lower-case name: h264, hevc, av1, vp8, vp9, mpeg4,
	// aac, mp3, opus, vorbis, flac, ac3, eac3, pcm, … or the container's
	// own code for one the probe does not name ("mp4:xyz1", "mkv:V_XYZ").
	Codec string `json:"codec"`
	// Width and Height are the coded picture size of a video track (0 if
	// the container does not say).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Encrypted tracks cannot be played without a key.
	Encrypted bool `json:"encrypted,omitempty"`
}

// Info describes a video file.
type Info struct {
	// Container is "mp4" or "webm" (WebM and Matroska alike).
	Container string `json:"container"`
	// Brand is the MP4 major brand or the EBML DocType ("webm", "matroska").
	Brand string `json:"brand"`
	// Duration is the presentation's length.
	Duration time.Duration `json:"duration"`
	// Fragmented MP4 keeps its samples in movie fragments (moof).
	Fragmented bool    `json:"fragmented,omitempty"`
	Tracks     []Track `json:"tracks"`
}

// Video is the first video track, if any.
func (i Info) Video() (Track, bool) { return i.first("video") }

// Audio is the first audio track, if any.
func (i Info) Audio() (Track, bool) { return i.first("audio") }

func (i Info) first(typ string) (Track, bool) {
	for _, t := range i.Tracks {
		if t.Type == typ {
			return t, true
		}
	}
	return Track{}, false
}

// Probe describes the file r of size bytes. A file it cannot describe
// answers an *Error; an error reading r is returned as it is.
func Probe(r io.ReaderAt, size int64) (Info, error) {
	head := make([]byte, 512)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Info{}, fmt.Errorf("probe: read: %w", err)
	}
	head = head[:n]
	if int64(n) > size {
		head = head[:size]
	}
	switch {
	case len(head) == 0:
		return Info{}, &Error{Kind: NotVideo, Reason: "the file is empty"}
	case bytes.HasPrefix(head, ebmlMagic):
		return probeWebM(newReader(r, size))
	case isMP4(head):
		return probeMP4(newReader(r, size))
	}
	return Info{}, &Error{Kind: NotVideo, Reason: "this is " + sniff(head) + ", not an MP4 or WebM video"}
}

// isMP4 recognises the ISO base media file format by its first box.
func isMP4(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "ftyp", "styp", "moov", "mdat", "free", "skip", "wide", "moof", "sidx":
		return true
	}
	return false
}

// sniff names a file that is not a video, for the refusal's message.
func sniff(b []byte) string {
	trimmed := bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf")
	lower := bytes.ToLower(trimmed)
	has := func(p string) bool { return bytes.HasPrefix(b, []byte(p)) }
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")), bytes.HasPrefix(lower, []byte("<head")):
		return "an HTML page"
	case bytes.HasPrefix(lower, []byte("<?xml")), bytes.HasPrefix(lower, []byte("<svg")):
		return "an XML or SVG document"
	case has("ID3"), len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0 && b[1]&0x06 != 0:
		return "an MP3 audio file"
	case has("RIFF") && len(b) >= 12 && string(b[8:12]) == "WAVE":
		return "a WAV audio file"
	case has("RIFF") && len(b) >= 12 && string(b[8:12]) == "AVI ":
		return "an AVI video (export it as MP4 or WebM)"
	case has("OggS"):
		return "an Ogg file"
	case has("fLaC"):
		return "a FLAC audio file"
	case has("FLV"):
		return "a Flash video (FLV; export it as MP4 or WebM)"
	case has("\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
		return "a Windows Media file (WMV/WMA; export it as MP4 or WebM)"
	case len(b) >= 377 && b[0] == 0x47 && b[188] == 0x47 && b[376] == 0x47:
		return "an MPEG transport stream (.ts; export it as MP4)"
	case has("\x00\x00\x01\xba"):
		return "an MPEG program stream (.mpg; export it as MP4)"
	case has("\x89PNG"), has("\xff\xd8\xff"), has("GIF8"):
		return "a picture"
	case has("%PDF"):
		return "a PDF document"
	case has("PK\x03\x04"):
		return "a ZIP archive (or an Office document)"
	}
	ct := http.DetectContentType(b)
	if ct == "application/octet-stream" {
		return "a file of unknown type"
	}
	if i := bytes.IndexByte([]byte(ct), ';'); i >= 0 {
		ct = ct[:i]
	}
	return "a file of type " + ct
}

// reader reads small pieces of a file at offsets through one cached
// window, so that walking thousands of small elements costs few system calls.
type reader struct {
	r      io.ReaderAt
	size   int64
	win    []byte
	winOff int64
	// visits counts the elements (boxes) looked at, against budget.
	visits int
}

// window is the read-ahead of the cache.
const window = 64 << 10

// elementBudget bounds the boxes or elements one probe looks at: a
// 30-minute lesson has a few hundred thousand; a file built to make the
// probe walk millions of empty elements is refused instead.
const elementBudget = 4_000_000

func newReader(r io.ReaderAt, size int64) *reader {
	return &reader{r: r, size: size, winOff: -1}
}

// errShort is a read beyond the end of the file.
var errShort = errors.New("short read")

// at returns n bytes at off (n ≤ window), or errShort past the end.
func (r *reader) at(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || n > window || off+int64(n) > r.size {
		return nil, errShort
	}
	if r.winOff >= 0 && off >= r.winOff && off+int64(n) <= r.winOff+int64(len(r.win)) {
		s := off - r.winOff
		return r.win[s : s+int64(n)], nil
	}
	want := int64(window)
	if off+want > r.size {
		want = r.size - off
	}
	if cap(r.win) < window {
		r.win = make([]byte, window)
	}
	r.win = r.win[:want]
	m, err := r.r.ReadAt(r.win, off)
	if int64(m) < want {
		r.winOff = -1
		if err == nil || errors.Is(err, io.EOF) {
			return nil, errShort
		}
		return nil, fmt.Errorf("probe: read: %w", err)
	}
	r.winOff = off
	return r.win[:n], nil
}

// visit counts one element against the budget.
func (r *reader) visit() error {
	r.visits++
	if r.visits > elementBudget {
		return damaged("the file has more than %d structural elements: it is not a normal video", elementBudget)
	}
	return nil
}

// ioErr passes a read error of the underlying file through and turns a
// short read into the damaged reason given.
func ioErr(err error, reason string) error {
	if errors.Is(err, errShort) {
		return damaged("%s", reason)
	}
	return err
}
