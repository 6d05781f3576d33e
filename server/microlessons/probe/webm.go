package probe

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strings"
	"time"
)

// WebM is Matroska (RFC 9559) with a few codecs: EBML elements, each a
// variable-length ID, a variable-length size (all ones: unknown, as a
// browser's MediaRecorder writes) and a payload. The probe reads the EBML
// header's DocType, the Segment's Info (TimecodeScale, Duration) and
// Tracks (each entry's type, CodecID and picture size). When the Info
// gives no duration, or the Segment's size is unknown, it walks the
// Clusters: their Timecode and each block's relative time give the
// duration, and an element running past the end of the file shows that
// the file was cut.

var ebmlMagic = []byte{0x1a, 0x45, 0xdf, 0xa3}

// Element IDs (RFC 9559 §5.1), with their length marker bits.
const (
	idEBML              = 0x1a45dfa3
	idDocType           = 0x4282
	idSegment           = 0x18538067
	idSeekHead          = 0x114d9b74
	idInfo              = 0x1549a966
	idTimestampScale    = 0x2ad7b1
	idDuration          = 0x4489
	idTracks            = 0x1654ae6b
	idTrackEntry        = 0xae
	idTrackType         = 0x83
	idCodecID           = 0x86
	idVideo             = 0xe0
	idPixelWidth        = 0xb0
	idPixelHeight       = 0xba
	idContentEncodings  = 0x6d80
	idContentEncoding   = 0x6240
	idContentEncryption = 0x5035
	idCluster           = 0x1f43b675
	idTimestamp         = 0xe7
	idSimpleBlock       = 0xa3
	idBlockGroup        = 0xa0
	idBlock             = 0xa1
	idBlockDuration     = 0x9b
	idCues              = 0x1c53bb6b
	idTags              = 0x1254c367
	idChapters          = 0x1043a770
	idAttachments       = 0x1941a469
	idVoid              = 0xec
	idCRC32             = 0xbf
)

type ebmlElem struct {
	id    uint32
	start int64
	data  int64 // where the payload starts
	size  int64 // payload size; -1: unknown
}

// end is where the element ends; an element of unknown size ends at limit
// (or before, where its parent's next element starts).
func (e ebmlElem) end(limit int64) int64 {
	if e.size < 0 {
		return limit
	}
	return e.data + e.size
}

// element reads the header of the element at off inside a parent ending at limit.
func (r *reader) element(off, limit int64) (ebmlElem, error) {
	if err := r.visit(); err != nil {
		return ebmlElem{}, err
	}
	n := int(min(12, limit-off))
	b, err := r.at(off, n)
	if err != nil || n < 2 {
		if err == nil {
			err = errShort
		}
		return ebmlElem{}, r.overrun(err, limit, "an element header")
	}
	idLen := bits.LeadingZeros8(b[0]) + 1
	if idLen > 4 {
		return ebmlElem{}, damaged("an element at byte %d has an invalid ID", off)
	}
	if idLen >= n {
		return ebmlElem{}, r.overrun(errShort, limit, "an element header")
	}
	var id uint32
	for _, c := range b[:idLen] {
		id = id<<8 | uint32(c)
	}
	sizeLen := bits.LeadingZeros8(b[idLen]) + 1
	if sizeLen > 8 {
		return ebmlElem{}, damaged("an element at byte %d has an invalid size", off)
	}
	if idLen+sizeLen > n {
		return ebmlElem{}, r.overrun(errShort, limit, "an element header")
	}
	v := uint64(b[idLen]) & (0xff >> sizeLen)
	allOnes := v == 0xff>>sizeLen
	for _, c := range b[idLen+1 : idLen+sizeLen] {
		v = v<<8 | uint64(c)
		allOnes = allOnes && c == 0xff
	}
	e := ebmlElem{id: id, start: off, data: off + int64(idLen+sizeLen), size: -1}
	if allOnes {
		return e, nil
	}
	if v > uint64(limit-e.data) {
		if limit == r.size {
			return ebmlElem{}, damaged(truncatedReason)
		}
		return ebmlElem{}, damaged("an element at byte %d is larger than the element around it", off)
	}
	e.size = int64(v)
	return e, nil
}

// payload reads a known-size element's payload of at most max bytes.
func (w *webm) payload(e ebmlElem, max int) ([]byte, error) {
	if e.size < 0 || e.size > int64(max) {
		return nil, damaged("an element at byte %d has an impossible size", e.start)
	}
	p, err := w.r.at(e.data, int(e.size))
	if err != nil {
		return nil, ioErr(err, truncatedReason)
	}
	return p, nil
}

func (w *webm) uint(e ebmlElem) (uint64, error) {
	p, err := w.payload(e, 8)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (w *webm) float(e ebmlElem) (float64, error) {
	p, err := w.payload(e, 8)
	if err != nil {
		return 0, err
	}
	switch len(p) {
	case 0:
		return 0, nil
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(p))), nil
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
	}
	return 0, damaged("a float element at byte %d has %d bytes", e.start, len(p))
}

func (w *webm) string(e ebmlElem) (string, error) {
	p, err := w.payload(e, 256)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(p), "\x00"), nil
}

// each calls fn for every child of a known-size parent.
func (w *webm) each(parent ebmlElem, fn func(ebmlElem) error) error {
	if parent.size < 0 {
		return damaged("an element at byte %d has an unknown size where it must have one", parent.start)
	}
	end := parent.end(0)
	for off := parent.data; off < end; {
		e, err := w.r.element(off, end)
		if err != nil {
			return err
		}
		if e.size < 0 {
			return damaged("an element at byte %d has an unknown size where it must have one", e.start)
		}
		if err := fn(e); err != nil {
			return err
		}
		off = e.end(end)
	}
	return nil
}

type webm struct {
	r        *reader
	doctype  string
	scale    uint64 // nanoseconds per timestamp tick
	duration float64
	tracks   []Track
	hasTrack bool
	clusters bool
	last     int64 // the latest block end seen, in ticks (-1: none)
}

func probeWebM(r *reader) (Info, error) {
	w := &webm{r: r, doctype: "matroska", scale: 1_000_000, last: -1}
	hdr, err := r.element(0, r.size)
	if err != nil {
		return Info{}, err
	}
	if hdr.id != idEBML || hdr.size < 0 {
		return Info{}, &Error{Kind: NotVideo, Reason: "this is not a WebM or Matroska file"}
	}
	if err := w.each(hdr, func(e ebmlElem) error {
		if e.id == idDocType {
			var err error
			w.doctype, err = w.string(e)
			return err
		}
		return nil
	}); err != nil {
		return Info{}, err
	}
	if w.doctype != "webm" && w.doctype != "matroska" {
		return Info{}, &Error{Kind: NotVideo, Reason: "this is an EBML file of type " + quote(w.doctype) + ", not a WebM video"}
	}

	off := hdr.end(r.size)
	var seg ebmlElem
	for {
		if off >= r.size {
			return Info{}, damaged("the file holds no video data (no Segment): " + truncatedReason)
		}
		e, err := r.element(off, r.size)
		if err != nil {
			return Info{}, err
		}
		if e.id == idSegment {
			seg = e
			break
		}
		if (e.id != idVoid && e.id != idCRC32) || e.size < 0 {
			return Info{}, damaged("the file does not continue with a Segment after its header")
		}
		off = e.end(r.size)
	}

	segEnd := seg.end(r.size)
	haveInfo, haveTracks, knownDuration := false, false, false
	for off := seg.data; off < segEnd; {
		if haveInfo && haveTracks && knownDuration && seg.size >= 0 {
			break // sizes and duration known: the clusters need not be read
		}
		e, err := r.element(off, segEnd)
		if err != nil {
			return Info{}, err
		}
		switch {
		case e.id == idCluster:
			w.clusters = true
			if off, err = w.cluster(e, segEnd); err != nil {
				return Info{}, err
			}
			continue
		case e.size < 0:
			return Info{}, damaged("an element at byte %d has an unknown size where it must have one", e.start)
		case e.id == idInfo:
			haveInfo = true
			if err := w.info(e); err != nil {
				return Info{}, err
			}
			knownDuration = w.duration > 0
		case e.id == idTracks:
			haveTracks = true
			if err := w.trackList(e); err != nil {
				return Info{}, err
			}
		}
		off = e.end(segEnd)
	}
	if !haveTracks {
		return Info{}, damaged("the file has no track list")
	}
	info := Info{Container: "webm", Brand: w.doctype, Tracks: w.tracks}
	switch {
	case knownDuration:
		ns := w.duration * float64(w.scale)
		if ns >= math.MaxInt64 {
			ns = math.MaxInt64
		}
		info.Duration = time.Duration(ns)
	case w.last > 0:
		hi, ns := bits.Mul64(uint64(w.last), w.scale)
		if hi != 0 || ns > math.MaxInt64 {
			ns = math.MaxInt64
		}
		info.Duration = time.Duration(ns)
	}
	return info, nil
}

func (w *webm) info(e ebmlElem) error {
	return w.each(e, func(c ebmlElem) error {
		switch c.id {
		case idTimestampScale:
			v, err := w.uint(c)
			if err != nil {
				return err
			}
			if v == 0 {
				return damaged("the file's timestamp scale is 0")
			}
			w.scale = v
		case idDuration:
			d, err := w.float(c)
			if err != nil {
				return err
			}
			if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
				return damaged("the file's duration is not a number of seconds")
			}
			w.duration = d
		}
		return nil
	})
}

func (w *webm) trackList(e ebmlElem) error {
	return w.each(e, func(te ebmlElem) error {
		if te.id != idTrackEntry {
			return nil
		}
		var t Track
		var kind uint64
		var codecID string
		err := w.each(te, func(c ebmlElem) error {
			var err error
			switch c.id {
			case idTrackType:
				kind, err = w.uint(c)
			case idCodecID:
				codecID, err = w.string(c)
			case idVideo:
				err = w.each(c, func(v ebmlElem) error {
					n, err := w.uint(v)
					switch {
					case err != nil:
						return err
					case v.id == idPixelWidth:
						t.Width = int(min(n, math.MaxInt32))
					case v.id == idPixelHeight:
						t.Height = int(min(n, math.MaxInt32))
					}
					return nil
				})
			case idContentEncodings:
				err = w.each(c, func(enc ebmlElem) error {
					if enc.id != idContentEncoding {
						return nil
					}
					return w.each(enc, func(x ebmlElem) error {
						if x.id == idContentEncryption {
							t.Encrypted = true
						}
						return nil
					})
				})
			}
			return err
		})
		if err != nil {
			return err
		}
		switch kind {
		case 1:
			t.Type = "video"
		case 2:
			t.Type = "audio"
		default:
			return nil // subtitles, buttons, metadata
		}
		if codecID == "" {
			return damaged("the %s track does not say its codec", t.Type)
		}
		t.Codec = mkvCodec(codecID)
		w.tracks = append(w.tracks, t)
		return nil
	})
}

// segmentLevel reports whether id is a child of the Segment: it ends a
// Cluster of unknown size.
func segmentLevel(id uint32) bool {
	switch id {
	case idCluster, idCues, idTags, idChapters, idAttachments, idInfo, idTracks, idSeekHead, idEBML, idSegment:
		return true
	}
	return false
}

// cluster walks a Cluster's blocks for their times and returns where the
// cluster ends.
func (w *webm) cluster(c ebmlElem, limit int64) (int64, error) {
	end := c.end(limit)
	tc := int64(-1)
	for off := c.data; off < end; {
		e, err := w.r.element(off, end)
		if err != nil {
			return 0, err
		}
		if c.size < 0 && segmentLevel(e.id) {
			return off, nil
		}
		if e.size < 0 {
			return 0, damaged("an element at byte %d has an unknown size where it must have one", e.start)
		}
		switch e.id {
		case idTimestamp:
			v, err := w.uint(e)
			if err != nil {
				return 0, err
			}
			tc = int64(min(v, math.MaxInt64/2))
		case idSimpleBlock:
			if err := w.block(e, tc, 0); err != nil {
				return 0, err
			}
		case idBlockGroup:
			var blk ebmlElem
			var dur uint64
			if err := w.each(e, func(g ebmlElem) error {
				switch g.id {
				case idBlock:
					blk = g
				case idBlockDuration:
					var err error
					dur, err = w.uint(g)
					return err
				}
				return nil
			}); err != nil {
				return 0, err
			}
			if blk.data != 0 {
				if err := w.block(blk, tc, int64(min(dur, math.MaxInt64/4))); err != nil {
					return 0, err
				}
			}
		}
		off = e.end(end)
	}
	return end, nil
}

// block notes the time a block ends: the cluster's timestamp plus the
// block's signed 16-bit offset (after its track number), plus its duration.
func (w *webm) block(e ebmlElem, tc, dur int64) error {
	if tc < 0 {
		return damaged("a cluster at byte %d has blocks before its timestamp", e.start)
	}
	n := int(min(e.size, 11))
	p, err := w.r.at(e.data, n)
	if err != nil {
		return ioErr(err, truncatedReason)
	}
	if n == 0 {
		return damaged("an empty block at byte %d", e.start)
	}
	l := bits.LeadingZeros8(p[0]) + 1
	if l > 8 || l+2 > n {
		return damaged("a block at byte %d is malformed", e.start)
	}
	rel := int64(int16(binary.BigEndian.Uint16(p[l:])))
	w.last = max(w.last, tc+rel+dur)
	return nil
}

// mkvCodec names a Matroska CodecID.
func mkvCodec(id string) string {
	switch {
	case id == "V_VP8":
		return "vp8"
	case id == "V_VP9":
		return "vp9"
	case id == "V_AV1":
		return "av1"
	case id == "V_MPEG4/ISO/AVC":
		return "h264"
	case id == "V_MPEGH/ISO/HEVC":
		return "hevc"
	case id == "V_THEORA":
		return "theora"
	case id == "V_MPEG2", id == "V_MPEG1":
		return "mpeg2"
	case strings.HasPrefix(id, "V_MPEG4/"):
		return "mpeg4"
	case id == "V_MJPEG":
		return "mjpeg"
	case id == "A_OPUS":
		return "opus"
	case id == "A_VORBIS":
		return "vorbis"
	case strings.HasPrefix(id, "A_AAC"):
		return "aac"
	case id == "A_MPEG/L3":
		return "mp3"
	case id == "A_FLAC":
		return "flac"
	case id == "A_AC3":
		return "ac3"
	case id == "A_EAC3":
		return "eac3"
	case strings.HasPrefix(id, "A_PCM/"):
		return "pcm"
	}
	return "mkv:" + quote(id)
}

// quote is s shortened and printable, for a message.
func quote(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return fourCC([]byte(s))
}
