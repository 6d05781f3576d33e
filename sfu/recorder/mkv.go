package recorder

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// Matroska element IDs (RFC 9559 §5.1) that the writer, Repair and Remux
// handle themselves; everything else goes through ebml-go's marshaller.
const (
	idEBML        = 0x1A45DFA3
	idSegment     = 0x18538067
	idSeekHead    = 0x114D9B74
	idInfo        = 0x1549A966
	idTracks      = 0x1654AE6B
	idTags        = 0x1254C367
	idCues        = 0x1C53BB6B
	idCluster     = 0x1F43B675
	idChapters    = 0x1043A770
	idAttachments = 0x1941A469
	idVoid        = 0xEC
	idCRC32       = 0xBF
	idTimecode    = 0xE7
	idSimpleBlock = 0xA3
	idBlockGroup  = 0xA0
	idBlock       = 0xA1
	idDuration    = 0x4489
)

const (
	// timecodeScale: block timestamps are in milliseconds (RFC 9559 §11.1).
	timecodeScale = 1_000_000
	// clusterSpan: a Cluster is closed (and flushed to the OS) once it spans
	// this much media time, or earlier at a keyframe of the cue track, so a
	// crash loses at most about a second.
	clusterSpan = 1000
	// seekHeadReserve is the room kept at the start of the Segment for the
	// SeekHead written on finish (Info, Tracks, Tags and Cues: ~90 octets).
	seekHeadReserve = 128
	// durationReserve is the size of the Duration element (2-octet ID,
	// 1-octet size, 8-octet float) that replaces a Void of the same size
	// inside Info on finish.
	durationReserve = 11
	// Tag names carrying a track's place on the recording's timeline.
	tagRecordingStart = "YUNKE_RECORDING_START"
	tagStartOffset    = "YUNKE_START_OFFSET_MS"
)

var errNotRecording = errors.New("recorder: not a file written by this recorder")

// unknownSize is the 8-octet EBML data size meaning "unknown" (RFC 8794
// §6.2): a reader takes the element to run until an element that cannot be
// its child, so a file cut anywhere still parses up to the cut.
var unknownSize = [8]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// fileWriter is what the muxer writes to; *os.File is one.
type fileWriter interface {
	io.Writer
	io.WriterAt
	Sync() error
}

// cue marks a Cluster a player can start decoding at.
type cue struct {
	tc    int64 // ms
	track uint64
	pos   int64 // file offset of the Cluster
}

// layout is where the parts of a file are, as written (muxer) or as found
// (Repair): what finish needs to close the file.
type layout struct {
	segData     int64   // file offset of the Segment's data
	reservePos  int64   // the room for the SeekHead
	reserveLen  int64   //
	infoPos     int64   //
	tracksPos   int64   //
	tagsPos     int64   // 0: none
	durationPos int64   // the 11-octet Void (or Duration) inside Info
	clusters    []int64 // file offsets of the Clusters
	cues        []cue
	end         int64 // where the Cues go: the end of the last complete block
}

// header is what the top of a file says.
type header struct {
	docType string // "webm" or "matroska"
	tracks  []webm.TrackEntry
	date    time.Time // wall clock of the file's first frame
	tags    [][2]string
}

// muxer writes one Matroska/WebM file as frames come, crash-safe: see
// clusterSpan and unknownSize. It is not safe for concurrent use.
type muxer struct {
	f        fileWriter
	w        *bufio.Writer
	pos      int64
	err      error
	lay      layout
	cueTrack uint64 // frames of this track that are keyframes start Clusters and get cues
	video    bool   // the cue track is video: cue only its keyframes
	syncMS   int64  // fsync when a Cluster starts this long after the last sync (0: never)

	started   bool
	clusterTC int64
	lastSync  int64
	lastTC    int64
	lastDelta int64
	frames    int64
	bytes     int64
	scratch   [32]byte
}

func newMuxer(f fileWriter, cueTrack uint64, video bool, syncEvery time.Duration) *muxer {
	return &muxer{f: f, w: bufio.NewWriterSize(f, 64<<10), cueTrack: cueTrack, video: video, syncMS: syncEvery.Milliseconds()}
}

func (m *muxer) write(b []byte) {
	if m.err != nil {
		return
	}
	n, err := m.w.Write(b)
	m.pos += int64(n)
	if err != nil {
		m.err = err
	}
}

type ebmlHeaderEl struct {
	Header webm.EBMLHeader `ebml:"EBML"`
}

type infoEl struct {
	Info struct {
		TimecodeScale uint64    `ebml:"TimecodeScale"`
		MuxingApp     string    `ebml:"MuxingApp"`
		WritingApp    string    `ebml:"WritingApp"`
		DateUTC       time.Time `ebml:"DateUTC,omitempty"`
		// Void is the room for the Duration, filled in on finish.
		Void []byte `ebml:"Void"`
	} `ebml:"Info"`
}

type tracksEl struct {
	Tracks webm.Tracks `ebml:"Tracks"`
}

type simpleTag struct {
	TagName   string `ebml:"TagName"`
	TagString string `ebml:"TagString"`
}

type tagsEl struct {
	Tags struct {
		Tag []struct {
			Targets struct {
				TargetTypeValue uint64 `ebml:"TargetTypeValue"`
			} `ebml:"Targets"`
			SimpleTag []simpleTag `ebml:"SimpleTag"`
		} `ebml:"Tag"`
	} `ebml:"Tags"`
}

// writeHeader writes the EBML header and the start of the Segment: the room
// for the SeekHead, Info (with room for the Duration), Tracks and Tags.
func (m *muxer) writeHeader(h header) error {
	var buf bytes.Buffer
	if err := ebml.Marshal(&ebmlHeaderEl{Header: webm.EBMLHeader{
		EBMLVersion: 1, EBMLReadVersion: 1, EBMLMaxIDLength: 4, EBMLMaxSizeLength: 8,
		DocType: h.docType, DocTypeVersion: 4, DocTypeReadVersion: 2,
	}}, &buf); err != nil {
		return fmt.Errorf("ebml header: %w", err)
	}
	m.write(buf.Bytes())
	binary.BigEndian.PutUint32(m.scratch[:4], idSegment)
	copy(m.scratch[4:], unknownSize[:])
	m.write(m.scratch[:12])
	m.lay.segData = m.pos

	m.lay.reservePos, m.lay.reserveLen = m.pos, seekHeadReserve
	m.write(voidElement(seekHeadReserve))

	buf.Reset()
	var info infoEl
	info.Info.TimecodeScale = timecodeScale
	info.Info.MuxingApp = "yunke"
	info.Info.WritingApp = "yunke"
	info.Info.DateUTC = h.date
	info.Info.Void = make([]byte, durationReserve-2)
	if err := ebml.Marshal(&info, &buf); err != nil {
		return fmt.Errorf("info: %w", err)
	}
	m.lay.infoPos = m.pos
	m.lay.durationPos = m.pos + int64(buf.Len()) - durationReserve
	m.write(buf.Bytes())

	buf.Reset()
	if err := ebml.Marshal(&tracksEl{Tracks: webm.Tracks{TrackEntry: h.tracks}}, &buf); err != nil {
		return fmt.Errorf("tracks: %w", err)
	}
	m.lay.tracksPos = m.pos
	m.write(buf.Bytes())

	if len(h.tags) > 0 {
		buf.Reset()
		var tags tagsEl
		tags.Tags.Tag = make([]struct {
			Targets struct {
				TargetTypeValue uint64 `ebml:"TargetTypeValue"`
			} `ebml:"Targets"`
			SimpleTag []simpleTag `ebml:"SimpleTag"`
		}, 1)
		tags.Tags.Tag[0].Targets.TargetTypeValue = 50
		for _, t := range h.tags {
			tags.Tags.Tag[0].SimpleTag = append(tags.Tags.Tag[0].SimpleTag, simpleTag{TagName: t[0], TagString: t[1]})
		}
		if err := ebml.Marshal(&tags, &buf); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		m.lay.tagsPos = m.pos
		m.write(buf.Bytes())
	}
	m.started = true
	return m.err
}

// writeFrame appends one frame as a SimpleBlock; tc is in ms and must not
// go backwards. The block is encoded here rather than through ebml.Marshal,
// which would allocate for every frame.
func (m *muxer) writeFrame(track uint64, tc int64, key bool, data []byte) error {
	if m.err != nil {
		return m.err
	}
	if n := len(m.lay.clusters); n == 0 || tc-m.clusterTC >= clusterSpan || tc-m.clusterTC > math.MaxInt16 ||
		(key && track == m.cueTrack && m.video && tc > m.clusterTC) {
		m.startCluster(track, tc, key)
	}
	b := m.scratch[:0]
	b = appendID(b, idSimpleBlock)
	b = appendSize(b, uint64(4+len(data)))
	b = append(b, 0x80|byte(track)) // track number as a 1-octet vint (tracks 1..126)
	b = binary.BigEndian.AppendUint16(b, uint16(int16(tc-m.clusterTC)))
	var flags byte
	if key {
		flags = 0x80
	}
	b = append(b, flags)
	m.write(b)
	m.write(data)
	if tc > m.lastTC || m.frames == 0 {
		if m.frames > 0 {
			m.lastDelta = tc - m.lastTC
		}
		m.lastTC = tc
	}
	m.frames++
	m.bytes += int64(len(b) + len(data))
	m.lay.end = m.pos
	return m.err
}

// startCluster flushes what was buffered (so the previous Cluster is with
// the OS), fsyncs now and then, and opens an unknown-size Cluster.
func (m *muxer) startCluster(track uint64, tc int64, key bool) {
	if len(m.lay.clusters) > 0 {
		if err := m.w.Flush(); err != nil && m.err == nil {
			m.err = err
		}
		if m.syncMS > 0 && m.err == nil && tc-m.lastSync >= m.syncMS {
			if err := m.f.Sync(); err != nil {
				m.err = err
			}
			m.lastSync = tc
		}
	}
	m.clusterTC = tc
	m.lay.clusters = append(m.lay.clusters, m.pos)
	if track == m.cueTrack && (key || !m.video) {
		m.lay.cues = append(m.lay.cues, cue{tc: tc, track: track, pos: m.pos})
	}
	b := m.scratch[:0]
	b = appendID(b, idCluster)
	b = append(b, unknownSize[:]...)
	b = appendID(b, idTimecode)
	b = appendUint(b, uint64(tc))
	m.write(b)
}

// duration is the media time covered: the last frame's timestamp plus the
// interval before it (the last frame lasts about as long as the one before).
func (m *muxer) duration() int64 {
	if m.frames == 0 {
		return 0
	}
	return m.lastTC + m.lastDelta
}

// finish flushes and closes the file's structure: Cues, sizes, SeekHead,
// Duration; then fsyncs. The caller closes the file.
func (m *muxer) finish() error { return m.finishWith(m.duration()) }

func (m *muxer) finishWith(durationMS int64) error {
	if m.err != nil {
		return m.err
	}
	if err := m.w.Flush(); err != nil {
		return err
	}
	return finishFile(m.f, &m.lay, float64(durationMS))
}

type cueTrackPosition struct {
	CueTrack           uint64 `ebml:"CueTrack"`
	CueClusterPosition uint64 `ebml:"CueClusterPosition"`
}

type cuesEl struct {
	Cues struct {
		CuePoint []struct {
			CueTime           uint64           `ebml:"CueTime"`
			CueTrackPositions cueTrackPosition `ebml:"CueTrackPositions"`
		} `ebml:"CuePoint"`
	} `ebml:"Cues"`
}

type seekEl struct {
	SeekID       []byte `ebml:"SeekID"`
	SeekPosition uint64 `ebml:"SeekPosition"`
}

type seekHeadEl struct {
	SeekHead struct {
		Seek []seekEl `ebml:"Seek"`
	} `ebml:"SeekHead"`
}

// finishFile writes Cues at lay.end and everything that points at them or
// needs the file's final size, in place. lay.end must be the file's size.
func finishFile(f fileWriter, lay *layout, durationMS float64) error {
	var buf bytes.Buffer
	cuesPos := lay.end
	if len(lay.cues) > 0 {
		var c cuesEl
		for _, k := range lay.cues {
			c.Cues.CuePoint = append(c.Cues.CuePoint, struct {
				CueTime           uint64           `ebml:"CueTime"`
				CueTrackPositions cueTrackPosition `ebml:"CueTrackPositions"`
			}{uint64(k.tc), cueTrackPosition{CueTrack: k.track, CueClusterPosition: uint64(k.pos - lay.segData)}})
		}
		if err := ebml.Marshal(&c, &buf); err != nil {
			return fmt.Errorf("cues: %w", err)
		}
		if _, err := f.WriteAt(buf.Bytes(), cuesPos); err != nil {
			return fmt.Errorf("write cues: %w", err)
		}
	}
	end := cuesPos + int64(buf.Len())

	// Now that every size is known, write it: Clusters, then the Segment.
	var size [8]byte
	for i, pos := range lay.clusters {
		next := cuesPos
		if i+1 < len(lay.clusters) {
			next = lay.clusters[i+1]
		}
		putSize8(size[:], uint64(next-pos-12))
		if _, err := f.WriteAt(size[:], pos+4); err != nil {
			return fmt.Errorf("cluster size: %w", err)
		}
	}
	putSize8(size[:], uint64(end-lay.segData))
	if _, err := f.WriteAt(size[:], lay.segData-8); err != nil {
		return fmt.Errorf("segment size: %w", err)
	}

	// SeekHead in the room kept for it, the rest of the room a Void.
	var sh seekHeadEl
	add := func(id uint32, pos int64) {
		if pos > 0 {
			sh.SeekHead.Seek = append(sh.SeekHead.Seek, seekEl{SeekID: binary.BigEndian.AppendUint32(nil, id), SeekPosition: uint64(pos - lay.segData)})
		}
	}
	add(idInfo, lay.infoPos)
	add(idTracks, lay.tracksPos)
	add(idTags, lay.tagsPos)
	if len(lay.cues) > 0 {
		add(idCues, cuesPos)
	}
	buf.Reset()
	if err := ebml.Marshal(&sh, &buf); err != nil {
		return fmt.Errorf("seekhead: %w", err)
	}
	if rest := lay.reserveLen - int64(buf.Len()); rest >= 2 {
		buf.Write(voidElement(int(rest)))
		if _, err := f.WriteAt(buf.Bytes(), lay.reservePos); err != nil {
			return fmt.Errorf("write seekhead: %w", err)
		}
	}

	if lay.durationPos > 0 {
		d := binary.BigEndian.AppendUint16(nil, idDuration)
		d = append(d, 0x88)
		d = binary.BigEndian.AppendUint64(d, math.Float64bits(durationMS))
		if _, err := f.WriteAt(d, lay.durationPos); err != nil {
			return fmt.Errorf("write duration: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// voidElement is a Void element of exactly n ≥ 2 octets (n-2 ≤ 126 here).
func voidElement(n int) []byte {
	b := make([]byte, n)
	b[0] = idVoid
	b[1] = 0x80 | byte(n-2)
	return b
}

// appendID appends an element ID, whose octets carry their own length marker.
func appendID(b []byte, id uint32) []byte {
	switch {
	case id >= 1<<24:
		return append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<16:
		return append(b, byte(id>>16), byte(id>>8), byte(id))
	case id >= 1<<8:
		return append(b, byte(id>>8), byte(id))
	default:
		return append(b, byte(id))
	}
}

// appendSize appends v as the shortest EBML variable-size integer (RFC 8794
// §4), never the all-ones pattern that means unknown.
func appendSize(b []byte, v uint64) []byte {
	n := 1
	for n < 8 && v >= 1<<(7*n)-1 {
		n++
	}
	v |= 1 << (7 * n)
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// putSize8 writes v as an 8-octet EBML size, the width the writer reserves.
func putSize8(b []byte, v uint64) {
	binary.BigEndian.PutUint64(b, v|1<<56)
}

// appendUint appends an unsigned integer element's size and big-endian value.
func appendUint(b []byte, v uint64) []byte {
	n := 1
	for n < 8 && v >= 1<<(8*n) {
		n++
	}
	b = append(b, 0x80|byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
