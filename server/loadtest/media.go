package loadtest

import (
	"encoding/binary"
)

// Every synthetic packet carries a marker block, placed after the codec's
// own header bytes (which an SFU may read or rewrite) so that it reaches the
// subscriber untouched:
//
//	magic     4 bytes  "YkLd"
//	publisher 2 bytes  publisher index
//	kind      1 byte   kindVideo (camera), kindAudio or kindScreen
//	flags     1 byte   bit 0 flagKeyframe; bits 1–2 the simulcast layer
//	                   (layerNone, layerLow, layerMedium, layerHigh)
//	seq       4 bytes  per-stream counter, from 0, one per packet; a stream
//	                   is one (publisher, kind, layer)
//	sent      8 bytes  send time, monotonic nanoseconds since the run began
//
// Loss, duplicates and order are judged by seq, not by the RTP sequence
// number, which the SFU is free to rewrite.
const (
	markerLen    = 20
	markerMagic  = 0x596b4c64 // "YkLd"
	kindVideo    = 0
	kindAudio    = 1
	kindScreen   = 2
	flagKeyframe = 1
)

// Simulcast layers, in the marker's flags. A track without simulcast sends
// layerNone.
const (
	layerNone   = 0
	layerLow    = 1 // RID q
	layerMedium = 2 // RID h
	layerHigh   = 3 // RID f

	layerShift = 1
	layerMask  = 3 << layerShift
)

// layer is the simulcast layer of the stream the marker belongs to.
func (m marker) layer() uint8 { return (m.flags & layerMask) >> layerShift }

// withLayer returns flags carrying layer l.
func withLayer(flags, l uint8) uint8 { return flags&^layerMask | l<<layerShift&layerMask }

type marker struct {
	publisher uint16
	kind      uint8
	flags     uint8
	seq       uint32
	sent      int64
}

func putMarker(b []byte, m marker) {
	binary.BigEndian.PutUint32(b[0:], markerMagic)
	binary.BigEndian.PutUint16(b[4:], m.publisher)
	b[6] = m.kind
	b[7] = m.flags
	binary.BigEndian.PutUint32(b[8:], m.seq)
	binary.BigEndian.PutUint64(b[12:], uint64(m.sent))
}

func readMarker(b []byte) (marker, bool) {
	if len(b) < markerLen || binary.BigEndian.Uint32(b) != markerMagic {
		return marker{}, false
	}
	return marker{
		publisher: binary.BigEndian.Uint16(b[4:]),
		kind:      b[6],
		flags:     b[7],
		seq:       binary.BigEndian.Uint32(b[8:]),
		sent:      int64(binary.BigEndian.Uint64(b[12:])),
	}, true
}

// VP8 payload descriptor as Chrome sends it without temporal layers (RFC
// 7741 section 4.2): X=1, S on the first packet of a frame, partition 0; then
// I=1 with a 15-bit picture id (M=1).
const vp8DescLen = 4

func putVP8Descriptor(b []byte, start bool, pictureID uint16) {
	b[0] = 0x80 // X
	if start {
		b[0] |= 0x10 // S
	}
	b[1] = 0x80 // I
	b[2] = 0x80 | byte(pictureID>>8)&0x7f
	b[3] = byte(pictureID)
}

// VP8 frame header at the start of a frame (RFC 6386 section 9.1): a 3-byte
// frame tag, and for keyframes the start code and the dimensions.
func vp8FrameHeaderLen(key bool) int {
	if key {
		return 10
	}
	return 3
}

func putVP8FrameHeader(b []byte, key bool, firstPartSize int, width, height uint16) {
	const version, show = 0, 1
	tag := uint32(firstPartSize)<<5 | show<<4 | version<<1
	if !key {
		tag |= 1 // P: interframe
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(b[6:], width&0x3fff)
		binary.LittleEndian.PutUint16(b[8:], height&0x3fff)
	}
}

// vp8MarkerOffset finds the marker in a VP8 RTP payload: past the payload
// descriptor, whatever its extensions (an SFU may add or drop them), and
// past the frame header on the first packet of a frame.
func vp8MarkerOffset(p []byte) (int, bool) {
	if len(p) < 1 {
		return 0, false
	}
	i := 1
	if p[0]&0x80 != 0 { // X
		if len(p) < 2 {
			return 0, false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I
			if len(p) <= i {
				return 0, false
			}
			if p[i]&0x80 != 0 { // M: 15-bit picture id
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if len(p) <= i {
		return 0, false
	}
	if p[0]&0x10 != 0 && p[0]&0x07 == 0 { // S and partition 0: frame header follows
		i += vp8FrameHeaderLen(p[i]&0x01 == 0)
	}
	return i, i <= len(p)
}

// Opus: one TOC byte (RFC 6716 section 3.1), config 15 (hybrid, fullband,
// 20 ms), mono, one frame; then the marker.
const opusTOC = 15 << 3

// findMarker reads the marker of an RTP payload of the given kind, and
// returns its offset.
func findMarker(video bool, payload []byte) (marker, int, bool) {
	off := 1 // Opus TOC
	if video {
		var ok bool
		if off, ok = vp8MarkerOffset(payload); !ok {
			return marker{}, 0, false
		}
	}
	if off > len(payload) {
		return marker{}, 0, false
	}
	m, ok := readMarker(payload[off:])
	return m, off, ok
}

// filler is what follows the marker in every packet, up to its end, so that
// subscribers can check that payloads arrive intact.
var filler = func() []byte {
	b := make([]byte, 1500)
	for i := range b {
		b[i] = byte(i*7 + 3) // does not compress to nothing
	}
	return b
}()
