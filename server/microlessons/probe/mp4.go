package probe

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// MP4 is the ISO base media file format (ISO/IEC 14496-12): a tree of
// boxes, each a 32-bit size (1: a 64-bit size follows; 0: to the end of
// the file) and a four-character type. The probe reads ftyp, then in moov
// the movie header (mvhd), and per track (trak) its header (tkhd), media
// header (mdhd: time scale and duration), handler (hdlr: vide or soun)
// and the first sample description (stsd: the codec), plus the sample
// table's counts and chunk offsets (stsz, stco/co64) to see that the
// samples lie inside the file. A fragmented MP4 (moov holds mvex, the
// samples follow in moof boxes) is timed from its fragments (tfhd, tfdt,
// trun).

// sampleBudget bounds the table entries (chunk offsets, fragment samples)
// one probe reads: a 30-minute lesson has a few hundred thousand.
const sampleBudget = 20_000_000

type mp4Box struct {
	typ   string
	start int64 // where the header starts
	body  int64 // where the payload starts
	end   int64 // where the box ends
}

type mp4Track struct {
	id        uint32
	handler   string // vide, soun, …
	timescale uint32
	duration  uint64 // mdhd, in timescale units
	codec     string
	width     int
	height    int
	encrypted bool

	hasSamples bool   // a sample table size box was seen
	samples    uint64 // stsz/stz2 sample count
	maxChunk   int64  // highest chunk offset (-1: none)

	fragEnd    uint64 // end of the last fragment, in timescale units
	fragmented bool
}

type mp4File struct {
	r         *reader
	entries   int
	brand     string
	timescale uint32
	duration  uint64
	mvex      bool
	mehd      uint64
	trex      map[uint32]uint32 // default sample duration per track
	moov      bool
	tracks    []*mp4Track
	moofs     []mp4Box
}

// box reads the header of the box at off inside a parent ending at limit.
func (r *reader) box(off, limit int64) (mp4Box, error) {
	if err := r.visit(); err != nil {
		return mp4Box{}, err
	}
	h, err := r.at(off, 8)
	if err != nil {
		return mp4Box{}, r.overrun(err, limit, "a box header")
	}
	size := uint64(binary.BigEndian.Uint32(h))
	b := mp4Box{typ: fourCC(h[4:8]), start: off, body: off + 8}
	switch size {
	case 0: // to the end of the parent (in practice: of the file)
		b.end = limit
		return b, nil
	case 1:
		ext, err := r.at(off+8, 8)
		if err != nil {
			return mp4Box{}, r.overrun(err, limit, "a box header")
		}
		size = binary.BigEndian.Uint64(ext)
		b.body = off + 16
	}
	if size < uint64(b.body-off) {
		return mp4Box{}, damaged("box %q has an impossible size of %d bytes", b.typ, size)
	}
	if size > uint64(limit-off) {
		if limit == r.size {
			return mp4Box{}, damaged(truncatedReason)
		}
		return mp4Box{}, damaged("box %q is larger than the box around it", b.typ)
	}
	b.end = off + int64(size)
	return b, nil
}

// overrun explains a read that ran past limit: the end of the file
// (truncated) or of a parent box (malformed).
func (r *reader) overrun(err error, limit int64, what string) error {
	if limit == r.size {
		return ioErr(err, truncatedReason)
	}
	return ioErr(err, what+" runs past the box around it")
}

// children calls fn for each box inside parent's payload from off on.
func (m *mp4File) children(parent mp4Box, off int64, fn func(mp4Box) error) error {
	for off < parent.end {
		if parent.end-off < 8 {
			return nil // padding too short to be a box
		}
		b, err := m.r.box(off, parent.end)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		off = b.end
	}
	return nil
}

// payload reads up to n bytes of b's payload from offset skip.
func (m *mp4File) payload(b mp4Box, skip int64, n int) ([]byte, error) {
	if b.body+skip+int64(n) > b.end {
		return nil, damaged("box %q is too short", b.typ)
	}
	p, err := m.r.at(b.body+skip, n)
	if err != nil {
		return nil, ioErr(err, truncatedReason)
	}
	return p, nil
}

func probeMP4(r *reader) (Info, error) {
	m := &mp4File{r: r}
	file := mp4Box{typ: "file", body: 0, end: r.size}
	first := ""
	err := m.children(file, 0, func(b mp4Box) error {
		switch b.typ {
		case "free", "skip", "wide", "uuid", "pdin":
			return nil // allowed before ftyp
		}
		if first == "" {
			first = b.typ
			switch b.typ {
			case "ftyp":
			case "moov", "mdat":
				return &Error{Kind: Unsupported, Reason: "this is an old QuickTime movie (.mov) without a file type box: export it as MP4 (H.264 video, AAC audio)"}
			case "styp", "moof", "sidx":
				return damaged("this is one segment of a stream, without the header (moov) that describes it: export the whole video as one MP4 file")
			default:
				return &Error{Kind: NotVideo, Reason: "this is not an MP4 video"}
			}
		}
		switch b.typ {
		case "ftyp":
			p, err := m.payload(b, 0, 4)
			if err != nil {
				return err
			}
			m.brand = strings.TrimSpace(fourCC(p))
			if m.brand == "qt" {
				return &Error{Kind: Unsupported, Reason: "this is a QuickTime movie (.mov): export it as MP4 (H.264 video, AAC audio)"}
			}
		case "moov":
			if m.moov {
				return damaged("the file has two movie headers (moov)")
			}
			m.moov = true
			return m.parseMoov(b)
		case "moof":
			m.moofs = append(m.moofs, b)
		}
		return nil
	})
	if err != nil {
		return Info{}, err
	}
	if !m.moov {
		if len(m.moofs) > 0 {
			return Info{}, damaged("this fragmented MP4 has no header (moov) describing its tracks: export it again as one MP4 file")
		}
		return Info{}, damaged("the file has no index (moov box): the recording or the export did not finish")
	}
	if m.timescale == 0 {
		return Info{}, damaged("the movie header (mvhd) is missing or has a time scale of 0")
	}
	for _, b := range m.moofs {
		if err := m.parseMoof(b); err != nil {
			return Info{}, err
		}
	}

	info := Info{Container: "mp4", Brand: m.brand, Fragmented: m.mvex && len(m.moofs) > 0}
	var longest time.Duration
	for _, t := range m.tracks {
		var typ string
		switch t.handler {
		case "vide":
			typ = "video"
		case "soun":
			typ = "audio"
		default:
			continue // timecode, subtitles, hints, metadata
		}
		if !m.mvex && t.hasSamples && t.maxChunk >= r.size {
			return Info{}, damaged(truncatedReason)
		}
		if !m.mvex && typ == "video" && t.hasSamples && t.samples == 0 {
			return Info{}, damaged("the video track has no frames")
		}
		if t.timescale == 0 {
			return Info{}, damaged("the %s track's media header (mdhd) is missing or has a time scale of 0", typ)
		}
		if t.codec == "" {
			return Info{}, damaged("the %s track does not say its codec (no sample description)", typ)
		}
		end := t.duration
		if t.fragmented {
			end = max(end, t.fragEnd)
		}
		longest = max(longest, ticks(end, t.timescale))
		info.Tracks = append(info.Tracks, Track{Type: typ, Codec: t.codec, Width: t.width, Height: t.height, Encrypted: t.encrypted})
	}
	switch {
	case info.Fragmented:
		info.Duration = longest
	case m.duration > 0:
		info.Duration = ticks(m.duration, m.timescale)
	case m.mehd > 0:
		info.Duration = ticks(m.mehd, m.timescale)
	default:
		info.Duration = longest
	}
	return info, nil
}

// ticks converts n units of a time scale to a duration, saturating.
func ticks(n uint64, scale uint32) time.Duration {
	if scale == 0 {
		return 0
	}
	secs, rem := n/uint64(scale), n%uint64(scale)
	if secs > uint64(math.MaxInt64/int64(time.Second))-1 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(secs)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(scale))
}

// version reads a full box's version and flags.
func (m *mp4File) version(b mp4Box) (byte, uint32, error) {
	p, err := m.payload(b, 0, 4)
	if err != nil {
		return 0, 0, err
	}
	return p[0], binary.BigEndian.Uint32(p) & 0xffffff, nil
}

// timeAndDuration reads a time scale and a duration from a movie or media
// header: after creation and modification times of 4 (version 0) or 8
// (version 1) bytes each.
func (m *mp4File) timeAndDuration(b mp4Box) (uint32, uint64, error) {
	v, _, err := m.version(b)
	if err != nil {
		return 0, 0, err
	}
	if v == 1 {
		p, err := m.payload(b, 4+16, 12)
		if err != nil {
			return 0, 0, err
		}
		d := binary.BigEndian.Uint64(p[4:])
		if d == math.MaxUint64 {
			d = 0 // unknown
		}
		return binary.BigEndian.Uint32(p), d, nil
	}
	p, err := m.payload(b, 4+8, 8)
	if err != nil {
		return 0, 0, err
	}
	d := uint64(binary.BigEndian.Uint32(p[4:]))
	if d == math.MaxUint32 {
		d = 0 // unknown
	}
	return binary.BigEndian.Uint32(p), d, nil
}

func (m *mp4File) parseMoov(moov mp4Box) error {
	return m.children(moov, moov.body, func(b mp4Box) error {
		switch b.typ {
		case "mvhd":
			var err error
			m.timescale, m.duration, err = m.timeAndDuration(b)
			return err
		case "trak":
			t := &mp4Track{maxChunk: -1}
			if err := m.parseTrak(b, t); err != nil {
				return err
			}
			m.tracks = append(m.tracks, t)
		case "mvex":
			m.mvex = true
			return m.children(b, b.body, func(c mp4Box) error {
				switch c.typ {
				case "mehd":
					v, _, err := m.version(c)
					if err != nil {
						return err
					}
					if v == 1 {
						p, err := m.payload(c, 4, 8)
						if err != nil {
							return err
						}
						m.mehd = binary.BigEndian.Uint64(p)
					} else {
						p, err := m.payload(c, 4, 4)
						if err != nil {
							return err
						}
						m.mehd = uint64(binary.BigEndian.Uint32(p))
					}
				case "trex":
					p, err := m.payload(c, 4, 12)
					if err != nil {
						return err
					}
					if m.trex == nil {
						m.trex = map[uint32]uint32{}
					}
					m.trex[binary.BigEndian.Uint32(p)] = binary.BigEndian.Uint32(p[8:])
				}
				return nil
			})
		}
		return nil
	})
}

func (m *mp4File) parseTrak(trak mp4Box, t *mp4Track) error {
	var walk func(parent mp4Box) error
	walk = func(parent mp4Box) error {
		return m.children(parent, parent.body, func(b mp4Box) error {
			switch b.typ {
			case "mdia", "minf", "stbl":
				return walk(b)
			case "tkhd":
				v, _, err := m.version(b)
				if err != nil {
					return err
				}
				skip := int64(4 + 8)
				if v == 1 {
					skip = 4 + 16
				}
				p, err := m.payload(b, skip, 4)
				if err != nil {
					return err
				}
				t.id = binary.BigEndian.Uint32(p)
			case "mdhd":
				var err error
				t.timescale, t.duration, err = m.timeAndDuration(b)
				return err
			case "hdlr":
				p, err := m.payload(b, 8, 4)
				if err != nil {
					return err
				}
				t.handler = fourCC(p)
			case "stsd":
				return m.parseStsd(b, t)
			case "stsz":
				p, err := m.payload(b, 4, 8)
				if err != nil {
					return err
				}
				t.hasSamples = true
				t.samples = uint64(binary.BigEndian.Uint32(p[4:]))
				if binary.BigEndian.Uint32(p) == 0 {
					return m.room(b, 12, t.samples, 32)
				}
			case "stz2":
				p, err := m.payload(b, 4, 8)
				if err != nil {
					return err
				}
				t.hasSamples = true
				t.samples = uint64(binary.BigEndian.Uint32(p[4:]))
				return m.room(b, 12, t.samples, int(p[3]))
			case "stco", "co64":
				return m.chunkOffsets(b, t)
			}
			return nil
		})
	}
	return walk(trak)
}

// room checks that a table of count entries of bitsEach bits fits in the
// rest of b after skip bytes: a box cannot claim more entries than it holds.
func (m *mp4File) room(b mp4Box, skip int64, count uint64, bitsEach int) error {
	if b.end-b.body < skip {
		return damaged("box %q is too short", b.typ)
	}
	avail := uint64(b.end - b.body - skip)
	hi, need := bits.Mul64(count, uint64(bitsEach))
	if hi != 0 || need > math.MaxUint64-7 || (need+7)/8 > avail {
		return damaged("box %q claims %d entries but holds room for fewer: the file is damaged", b.typ, count)
	}
	return nil
}

// spend counts n table entries read against sampleBudget.
func (m *mp4File) spend(n uint64) error {
	if n > sampleBudget || m.entries+int(n) > sampleBudget {
		return damaged("the file's sample tables have more than %d entries: it is not a normal video", sampleBudget)
	}
	m.entries += int(n)
	return nil
}

// chunkOffsets reads the highest chunk offset of a stco (32-bit) or co64
// (64-bit) table.
func (m *mp4File) chunkOffsets(b mp4Box, t *mp4Track) error {
	p, err := m.payload(b, 4, 4)
	if err != nil {
		return err
	}
	count := uint64(binary.BigEndian.Uint32(p))
	size := 4
	if b.typ == "co64" {
		size = 8
	}
	if err := m.room(b, 8, count, size*8); err != nil {
		return err
	}
	if err := m.spend(count); err != nil {
		return err
	}
	off := b.body + 8
	per := window / size
	for left := int(count); left > 0; {
		n := min(left, per)
		p, err := m.r.at(off, n*size)
		if err != nil {
			return ioErr(err, truncatedReason)
		}
		for i := 0; i < n; i++ {
			var v int64
			if size == 4 {
				v = int64(binary.BigEndian.Uint32(p[i*4:]))
			} else {
				u := binary.BigEndian.Uint64(p[i*8:])
				v = int64(min(u, math.MaxInt64))
			}
			t.maxChunk = max(t.maxChunk, v)
		}
		off += int64(n * size)
		left -= n
	}
	return nil
}

// Sizes of the fixed parts of sample entries (ISO/IEC 14496-12 §12.1.3, §12.2.3).
const (
	visualEntry = 78
	audioEntry  = 28
)

// parseStsd reads the codec of the first sample description.
func (m *mp4File) parseStsd(stsd mp4Box, t *mp4Track) error {
	if stsd.end-stsd.body < 8 {
		return damaged("the sample description (stsd) is too short")
	}
	seen := false
	return m.children(stsd, stsd.body+8, func(e mp4Box) error {
		if seen {
			return nil // only the first description names the codec
		}
		seen = true
		typ := e.typ
		inner := int64(audioEntry)
		if t.handler == "vide" {
			inner = visualEntry
			if p, err := m.payload(e, 24, 4); err == nil {
				t.width, t.height = int(binary.BigEndian.Uint16(p)), int(binary.BigEndian.Uint16(p[2:]))
			}
		} else if p, err := m.payload(e, 8, 2); err == nil {
			// QuickTime sound descriptions of version 1 and 2 are longer.
			switch binary.BigEndian.Uint16(p) {
			case 1:
				inner += 16
			case 2:
				inner += 36
			}
		}
		var oti byte
		haveOTI := false
		if e.end-e.body >= inner {
			var walk func(parent mp4Box, from int64) error
			walk = func(parent mp4Box, from int64) error {
				return m.children(parent, from, func(c mp4Box) error {
					switch c.typ {
					case "sinf", "wave":
						return walk(c, c.body)
					case "frma":
						p, err := m.payload(c, 0, 4)
						if err != nil {
							return err
						}
						if typ == "encv" || typ == "enca" {
							typ = fourCC(p)
						}
					case "esds":
						n := int(min(c.end-c.body, 256))
						p, err := m.payload(c, 0, n)
						if err != nil {
							return err
						}
						if len(p) > 4 {
							oti, haveOTI = esdsObjectType(p[4:])
						}
					}
					return nil
				})
			}
			if err := walk(e, e.body+inner); err != nil {
				return err
			}
		}
		if e.typ == "encv" || e.typ == "enca" {
			t.encrypted = true
		}
		t.codec = mp4Codec(typ, oti, haveOTI)
		return nil
	})
}

// esdsObjectType reads the objectTypeIndication of an MPEG-4 elementary
// stream descriptor (ISO/IEC 14496-1 §7.2.6.5): ES_Descriptor (tag 3),
// then DecoderConfigDescriptor (tag 4), whose first byte it is.
func esdsObjectType(b []byte) (byte, bool) {
	i := 0
	desc := func() (byte, bool) {
		if i >= len(b) {
			return 0, false
		}
		tag := b[i]
		i++
		for k := 0; k < 4; k++ { // the length: up to four 7-bit groups
			if i >= len(b) {
				return 0, false
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
		return tag, true
	}
	tag, ok := desc()
	if !ok {
		return 0, false
	}
	if tag == 0x03 {
		if i+3 > len(b) {
			return 0, false
		}
		flags := b[i+2]
		i += 3
		if flags&0x80 != 0 { // streamDependenceFlag
			i += 2
		}
		if flags&0x40 != 0 { // URL_Flag
			if i >= len(b) {
				return 0, false
			}
			i += 1 + int(b[i])
		}
		if flags&0x20 != 0 { // OCRstreamFlag
			i += 2
		}
		if tag, ok = desc(); !ok {
			return 0, false
		}
	}
	if tag != 0x04 || i >= len(b) {
		return 0, false
	}
	return b[i], true
}

// mp4Codec names the codec of a sample entry type (and, for mp4a and
// mp4v, the object type of its elementary stream descriptor).
func mp4Codec(typ string, oti byte, haveOTI bool) string {
	switch typ {
	case "avc1", "avc2", "avc3", "avc4":
		return "h264"
	case "hvc1", "hev1", "dvh1", "dvhe":
		return "hevc"
	case "av01":
		return "av1"
	case "vp08":
		return "vp8"
	case "vp09":
		return "vp9"
	case "mp4v":
		if haveOTI && (oti == 0x60 || oti == 0x61 || oti == 0x62 || oti == 0x63 || oti == 0x64 || oti == 0x65 || oti == 0x6a) {
			return "mpeg2"
		}
		return "mpeg4"
	case "s263", "h263":
		return "h263"
	case "mjp2", "jpeg", "mjpa", "mjpb":
		return "mjpeg"
	case "mp4a":
		switch {
		case !haveOTI:
			return "mp4a"
		case oti == 0x40 || oti == 0x66 || oti == 0x67 || oti == 0x68:
			return "aac"
		case oti == 0x69 || oti == 0x6b:
			return "mp3"
		case oti == 0xa5:
			return "ac3"
		case oti == 0xa6:
			return "eac3"
		case oti == 0xad:
			return "opus"
		}
		return fmt.Sprintf("mp4a:0x%02x", oti)
	case "Opus":
		return "opus"
	case "fLaC":
		return "flac"
	case "ac-3":
		return "ac3"
	case "ec-3":
		return "eac3"
	case ".mp3":
		return "mp3"
	case "alac":
		return "alac"
	case "samr", "sawb":
		return "amr"
	case "lpcm", "sowt", "twos", "ipcm", "fpcm", "in24", "in32", "fl32", "fl64", "raw ":
		return "pcm"
	}
	return "mp4:" + strings.TrimSpace(typ)
}

// parseMoof adds the durations of a movie fragment's track runs to their tracks.
func (m *mp4File) parseMoof(moof mp4Box) error {
	return m.children(moof, moof.body, func(traf mp4Box) error {
		if traf.typ != "traf" {
			return nil
		}
		var t *mp4Track
		var def uint32
		var haveDef bool
		var base uint64
		haveBase := false
		var sum uint64
		err := m.children(traf, traf.body, func(b mp4Box) error {
			switch b.typ {
			case "tfhd":
				_, flags, err := m.version(b)
				if err != nil {
					return err
				}
				p, err := m.payload(b, 4, 4)
				if err != nil {
					return err
				}
				id := binary.BigEndian.Uint32(p)
				for _, tr := range m.tracks {
					if tr.id == id {
						t = tr
					}
				}
				off := int64(8)
				if flags&0x01 != 0 {
					off += 8
				}
				if flags&0x02 != 0 {
					off += 4
				}
				if flags&0x08 != 0 {
					p, err := m.payload(b, off, 4)
					if err != nil {
						return err
					}
					def, haveDef = binary.BigEndian.Uint32(p), true
				}
			case "tfdt":
				v, _, err := m.version(b)
				if err != nil {
					return err
				}
				if v == 1 {
					p, err := m.payload(b, 4, 8)
					if err != nil {
						return err
					}
					base = binary.BigEndian.Uint64(p)
				} else {
					p, err := m.payload(b, 4, 4)
					if err != nil {
						return err
					}
					base = uint64(binary.BigEndian.Uint32(p))
				}
				haveBase = true
			case "trun":
				if t == nil {
					return nil // a fragment of a track the movie does not describe
				}
				if !haveDef {
					def = m.trex[t.id]
				}
				d, err := m.trunDuration(b, def)
				if err != nil {
					return err
				}
				var carry uint64
				sum, carry = bits.Add64(sum, d, 0)
				if carry != 0 {
					return damaged("a movie fragment lasts impossibly long")
				}
			}
			return nil
		})
		if err != nil || t == nil {
			return err
		}
		start := t.fragEnd
		if !t.fragmented {
			start = t.duration // samples in moov come first
		}
		if haveBase {
			start = base
		}
		end, carry := bits.Add64(start, sum, 0)
		if carry != 0 {
			return damaged("a movie fragment lasts impossibly long")
		}
		t.fragmented = true
		t.fragEnd = max(t.fragEnd, end)
		return nil
	})
}

// trunDuration sums the sample durations of a track run (ISO/IEC
// 14496-12 §8.8.8): each sample's own, or def for all of them.
func (m *mp4File) trunDuration(b mp4Box, def uint32) (uint64, error) {
	_, flags, err := m.version(b)
	if err != nil {
		return 0, err
	}
	p, err := m.payload(b, 4, 4)
	if err != nil {
		return 0, err
	}
	count := uint64(binary.BigEndian.Uint32(p))
	off := int64(8)
	if flags&0x01 != 0 { // data_offset
		off += 4
	}
	if flags&0x04 != 0 { // first_sample_flags
		off += 4
	}
	each := 4 * bits.OnesCount32(flags&0xf00)
	if err := m.room(b, off, count, each*8); err != nil {
		return 0, err
	}
	if flags&0x100 == 0 {
		hi, d := bits.Mul64(count, uint64(def))
		if hi != 0 {
			return 0, damaged("a movie fragment lasts impossibly long")
		}
		return d, nil
	}
	if err := m.spend(count); err != nil {
		return 0, err
	}
	var sum uint64
	pos := b.body + off
	per := window / each
	for left := int(count); left > 0; {
		n := min(left, per)
		p, err := m.r.at(pos, n*each)
		if err != nil {
			return 0, ioErr(err, truncatedReason)
		}
		for i := 0; i < n; i++ {
			sum += uint64(binary.BigEndian.Uint32(p[i*each:])) // count < 2^32 samples of < 2^32: no overflow
		}
		pos += int64(n * each)
		left -= n
	}
	return sum, nil
}

// fourCC is a box or sample entry type as text, with unprintable bytes
// escaped so that it can be shown in a message.
func fourCC(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	return sb.String()
}
