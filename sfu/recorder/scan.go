package recorder

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// errCut means the file ends inside an element: it was cut (or is being
// written); everything before the element is usable.
var errCut = errors.New("recorder: file cut inside an element")

// maxHeaderElement bounds the header elements (Info, Tracks, Tags) read
// into memory, and maxFrame one frame.
const (
	maxHeaderElement = 1 << 20
	maxFrame         = 16 << 20
)

// frame is one block read back from a file.
type frame struct {
	track uint64
	tc    int64 // ms, absolute (Cluster timecode + block offset)
	key   bool
	data  []byte // valid until the next call to next
	end   int64  // file offset just after the block's element
}

// mkvReader reads a Matroska/WebM file written by this package (or a
// similar one) as a stream of frames, tolerating a cut anywhere: it is
// what Repair and Remux are built on. The header elements are decoded with
// ebml-go; Clusters are walked by hand because a cut file has no end for
// ebml-go's reader to reach.
type mkvReader struct {
	r      *bufio.Reader
	pos    int64
	size   int64
	segEnd int64 // -1: unknown size

	lay     layout
	tracks  []webm.TrackEntry
	tags    map[string]string
	hasDate bool

	// Cluster walk.
	inCluster  bool
	clusterEnd int64 // -1: unknown size
	clusterTC  int64
	clusterPos int64
	firstBlock bool // the next block is the Cluster's first
	pending    *elemHeader
	buf        []byte
}

type elemHeader struct {
	id     uint32
	size   int64 // -1: unknown
	pos    int64
	hdrLen int64
}

func (h elemHeader) end() int64 { return h.pos + h.hdrLen + h.size }

// openMKV reads the header of a file up to its first Cluster.
func openMKV(r io.ReaderAt, size int64) (*mkvReader, error) {
	m := &mkvReader{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), size: size, tags: map[string]string{}}
	h, err := m.header()
	if err != nil || h.id != idEBML || h.size < 0 {
		return nil, fmt.Errorf("%w: no EBML header", errNotRecording)
	}
	if err := m.skip(h.size); err != nil {
		return nil, errCut
	}
	h, err = m.header()
	if err != nil || h.id != idSegment {
		return nil, fmt.Errorf("%w: no Segment", errNotRecording)
	}
	m.lay.segData = m.pos
	m.segEnd = -1
	if h.size >= 0 {
		m.segEnd = h.end()
	}
	for first := true; ; first = false {
		h, err := m.header()
		if err != nil {
			return nil, err
		}
		switch h.id {
		case idCluster:
			m.pending = &h
			return m, nil
		case idVoid, idSeekHead:
			// The room for the SeekHead: everything before Info.
			if first {
				m.lay.reservePos = h.pos
			}
			err = m.skip(h.size)
		case idInfo:
			m.lay.infoPos = h.pos
			m.lay.reserveLen = h.pos - m.lay.reservePos
			err = m.readInfo(h)
		case idTracks:
			m.lay.tracksPos = h.pos
			var t tracksEl
			err = m.decode(h, &t)
			m.tracks = t.Tracks.TrackEntry
		case idTags:
			m.lay.tagsPos = h.pos
			var t tagsEl
			err = m.decode(h, &t)
			for _, tag := range t.Tags.Tag {
				for _, st := range tag.SimpleTag {
					m.tags[st.TagName] = st.TagString
				}
			}
		default:
			if h.size < 0 {
				return nil, fmt.Errorf("%w: unknown-size element %#x", errNotRecording, h.id)
			}
			err = m.skip(h.size)
		}
		if err != nil {
			return nil, err
		}
	}
}

// readInfo finds the Duration (or the Void kept for it) inside Info.
func (m *mkvReader) readInfo(h elemHeader) error {
	if h.size < 0 || h.size > maxHeaderElement {
		return fmt.Errorf("%w: bad Info", errNotRecording)
	}
	body := make([]byte, h.size)
	if _, err := io.ReadFull(m.r, body); err != nil {
		return errCut
	}
	m.pos += h.size
	base := h.pos + h.hdrLen
	for i := 0; i < len(body); {
		id, n := readVint(body[i:], true)
		if n == 0 {
			break
		}
		sz, k := readVint(body[i+n:], false)
		if k == 0 {
			break
		}
		if (id == idDuration || id == idVoid) && n+k+int(sz) == durationReserve {
			m.lay.durationPos = base + int64(i)
		}
		if id == 0x4461 { // DateUTC
			m.hasDate = true
		}
		if id == 0x2AD7B1 && sz <= 8 { // TimecodeScale
			var v uint64
			for _, c := range body[i+n+k : i+n+k+int(sz)] {
				v = v<<8 | uint64(c)
			}
			if v != timecodeScale {
				return fmt.Errorf("%w: timecode scale %d", errNotRecording, v)
			}
		}
		i += n + k + int(sz)
	}
	return nil
}

// decode reads one header element whole and unmarshals it with ebml-go.
func (m *mkvReader) decode(h elemHeader, v any) error {
	if h.size < 0 || h.size > maxHeaderElement {
		return fmt.Errorf("%w: element %#x too large", errNotRecording, h.id)
	}
	// Re-encode the header in front so ebml-go sees the whole element.
	hdr := appendSize(appendID(nil, h.id), uint64(h.size))
	body := make([]byte, len(hdr)+int(h.size))
	copy(body, hdr)
	if _, err := io.ReadFull(m.r, body[len(hdr):]); err != nil {
		return errCut
	}
	m.pos += h.size
	if err := ebml.Unmarshal(bytes.NewReader(body), v, ebml.WithIgnoreUnknown(true)); err != nil {
		return fmt.Errorf("%w: element %#x: %v", errNotRecording, h.id, err)
	}
	return nil
}

// next returns the next complete block. It returns io.EOF at the end of
// the media (the Cues, the end of the Segment or of the file) and errCut
// when the file ends inside an element. With data false the block's
// payload is skipped, not read.
func (m *mkvReader) next(data bool) (frame, error) {
	for {
		h, err := m.nextHeader()
		if err != nil {
			return frame{}, err
		}
		if !m.inCluster {
			switch h.id {
			case idCluster:
				m.inCluster = true
				m.clusterPos = h.pos
				m.clusterEnd = -1
				if h.size >= 0 {
					m.clusterEnd = h.end()
				}
				m.clusterTC = -1
				m.firstBlock = true
				m.lay.clusters = append(m.lay.clusters, h.pos)
			case idCues, idChapters, idAttachments, idTags, idSeekHead, idInfo, idTracks, idVoid, idCRC32:
				if h.id == idCues {
					return frame{}, io.EOF
				}
				if h.size < 0 {
					return frame{}, io.EOF
				}
				if err := m.skip(h.size); err != nil {
					return frame{}, errCut
				}
			default:
				// Not Matroska: the rest of the file is garbage (a cut
				// filled with zeros by a power loss, for one).
				return frame{}, errCut
			}
			continue
		}
		switch h.id {
		case idTimecode:
			if h.size > 8 {
				return frame{}, errCut
			}
			b := make([]byte, h.size)
			if _, err := io.ReadFull(m.r, b); err != nil {
				return frame{}, errCut
			}
			m.pos += h.size
			var v uint64
			for _, c := range b {
				v = v<<8 | uint64(c)
			}
			m.clusterTC = int64(v)
		case idSimpleBlock:
			return m.block(h, data)
		case idBlockGroup:
			// Its Block is read as a frame; the group's other children
			// (durations, references) are dropped.
			if h.size < 0 {
				return frame{}, errCut
			}
			end := h.end()
			for m.pos < end {
				c, err := m.header()
				if err != nil || c.size < 0 || c.end() > end {
					return frame{}, errCut
				}
				if c.id == idBlock {
					f, err := m.block(c, data)
					if err != nil {
						return f, err
					}
					if err := m.skip(end - m.pos); err != nil {
						return frame{}, errCut
					}
					f.end = end
					return f, nil
				}
				if err := m.skip(c.size); err != nil {
					return frame{}, errCut
				}
			}
		default:
			if h.size < 0 {
				return frame{}, errCut
			}
			if err := m.skip(h.size); err != nil {
				return frame{}, errCut
			}
		}
	}
}

// nextHeader reads the next element header, ending the current Cluster
// when its size is reached or a top-level element starts.
func (m *mkvReader) nextHeader() (elemHeader, error) {
	if m.pending != nil {
		h := *m.pending
		m.pending = nil
		return h, nil
	}
	if m.inCluster && m.clusterEnd >= 0 && m.pos >= m.clusterEnd {
		m.inCluster = false
	}
	if m.segEnd >= 0 && m.pos >= m.segEnd {
		return elemHeader{}, io.EOF
	}
	if m.pos >= m.size {
		return elemHeader{}, io.EOF
	}
	h, err := m.header()
	if err != nil {
		return h, errCut
	}
	if m.inCluster && topLevel(h.id) {
		m.inCluster = false
	}
	return h, nil
}

func topLevel(id uint32) bool {
	switch id {
	case idCluster, idCues, idTags, idChapters, idAttachments, idSeekHead, idInfo, idTracks:
		return true
	}
	return false
}

// block reads a (Simple)Block element: track number, relative timecode,
// flags (RFC 9559 §10.2), then the frame. Laced blocks are not written by
// this package and are refused.
func (m *mkvReader) block(h elemHeader, data bool) (frame, error) {
	if h.size < 4 || h.size > maxFrame || h.end() > m.size {
		return frame{}, errCut
	}
	var hd [12]byte
	n := min(int64(len(hd)), h.size)
	if _, err := io.ReadFull(m.r, hd[:n]); err != nil {
		return frame{}, errCut
	}
	track, k := readVint(hd[:n], false)
	if k == 0 || int64(k+3) > n {
		return frame{}, errCut
	}
	rel := int16(binary.BigEndian.Uint16(hd[k:]))
	flags := hd[k+2]
	if flags&0x06 != 0 {
		return frame{}, fmt.Errorf("%w: laced block", errNotRecording)
	}
	hl := int64(k + 3)
	f := frame{track: track, tc: m.clusterTC + int64(rel), key: flags&0x80 != 0 || h.id == idBlock, end: h.end()}
	rest := h.size - n
	if data {
		m.buf = append(m.buf[:0], hd[hl:n]...)
		m.buf = append(m.buf, make([]byte, rest)...)
		if _, err := io.ReadFull(m.r, m.buf[n-hl:]); err != nil {
			return frame{}, errCut
		}
		f.data = m.buf
	} else if _, err := m.r.Discard(int(rest)); err != nil {
		return frame{}, errCut
	}
	m.pos = h.end()
	if m.firstBlock {
		m.firstBlock = false
		if f.key {
			m.lay.cues = append(m.lay.cues, cue{tc: f.tc, track: f.track, pos: m.clusterPos})
		}
	}
	return f, nil
}

// header reads an element ID and size.
func (m *mkvReader) header() (elemHeader, error) {
	h := elemHeader{pos: m.pos}
	var b [12]byte
	peek, err := m.r.Peek(12)
	if len(peek) == 0 {
		if err == nil {
			err = io.EOF
		}
		return h, err
	}
	n := copy(b[:], peek)
	id, k := readVint(b[:n], true)
	if k == 0 || k > 4 {
		return h, errCut
	}
	sz, j := readVint(b[k:n], false)
	if j == 0 {
		return h, errCut
	}
	h.id, h.hdrLen = uint32(id), int64(k+j)
	h.size = int64(sz)
	if sz == 1<<(7*j)-1 { // all ones: unknown
		h.size = -1
	}
	if _, err := m.r.Discard(k + j); err != nil {
		return h, errCut
	}
	m.pos += h.hdrLen
	return h, nil
}

func (m *mkvReader) skip(n int64) error {
	if n < 0 {
		return errCut
	}
	for n > 0 {
		k := int(min(n, 1<<30))
		d, err := m.r.Discard(k)
		m.pos += int64(d)
		n -= int64(d)
		if err != nil {
			return errCut
		}
	}
	return nil
}

// readVint decodes an EBML variable-size integer (RFC 8794 §4); keepMarker
// keeps the length marker, as element IDs do. n is 0 when b is too short
// or the first octet is zero (no marker: not EBML).
func readVint(b []byte, keepMarker bool) (v uint64, n int) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0
	}
	n = 1
	for b[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(b) < n {
		return 0, 0
	}
	v = uint64(b[0])
	if !keepMarker {
		v &= uint64(0xff >> n)
	}
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}

// startOffset is the track's start on the recording's timeline, from the
// tag the recorder writes.
func (m *mkvReader) startOffset() int64 {
	v, _ := strconv.ParseInt(m.tags[tagStartOffset], 10, 64)
	return v
}
