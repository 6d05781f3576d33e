package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// ErrUnsupportedCodec is returned for a track whose codec cannot be recorded.
var ErrUnsupportedCodec = errors.New("recorder: unsupported codec")

type codecKind int

const (
	codecOpus codecKind = iota
	codecVP8
	codecVP9
	codecH264
)

// codecSpec is what recording one codec takes: how to rebuild its frames
// from RTP and how to describe it in the container.
type codecSpec struct {
	kind    codecKind
	clock   int64  // RTP clock rate (RFC 7587 §4.1: Opus is always 48 kHz; video 90 kHz)
	codecID string // Matroska CodecID
	docType string
	ext     string
	audio   bool
	// maxLate is the reorder buffer's depth in packets: a missing packet is
	// given up on once this many later ones (or a second of media) arrived.
	maxLate uint16
}

func specFor(mime string) (codecSpec, error) {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		return codecSpec{kind: codecOpus, clock: 48000, codecID: "A_OPUS", docType: "webm", ext: "webm", audio: true, maxLate: 50}, nil
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return codecSpec{kind: codecVP8, clock: 90000, codecID: "V_VP8", docType: "webm", ext: "webm", maxLate: 256}, nil
	case strings.EqualFold(mime, webrtc.MimeTypeVP9):
		return codecSpec{kind: codecVP9, clock: 90000, codecID: "V_VP9", docType: "webm", ext: "webm", maxLate: 256}, nil
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return codecSpec{kind: codecH264, clock: 90000, codecID: "V_MPEG4/ISO/AVC", docType: "matroska", ext: "mkv", maxLate: 256}, nil
	}
	return codecSpec{}, fmt.Errorf("%w: %q", ErrUnsupportedCodec, mime)
}

func (c codecSpec) depacketizer() rtp.Depacketizer {
	switch c.kind {
	case codecVP8:
		return &codecs.VP8Packet{}
	case codecVP9:
		return &codecs.VP9Packet{}
	case codecH264:
		// Length-prefixed NAL units, as Matroska's AVC mapping wants them.
		return &codecs.H264Packet{IsAVC: true}
	default:
		return &codecs.OpusPacket{}
	}
}

// isKeyframe reports whether a whole frame can be decoded on its own.
func (c codecSpec) isKeyframe(f []byte) bool {
	switch c.kind {
	case codecVP8:
		// RFC 6386 §9.1: bit 0 of the frame tag is 0 for a key frame.
		return len(f) >= 10 && f[0]&0x01 == 0
	case codecVP9:
		_, _, key := vp9Header(f)
		return key
	case codecH264:
		key := false
		avcNALUs(f, func(n []byte) {
			if n[0]&0x1f == 5 { // IDR slice
				key = true
			}
		})
		return key
	default:
		return true
	}
}

// trackEntry describes the track in the file, from its first keyframe.
func (c codecSpec) trackEntry(number uint64, name string, key []byte) webm.TrackEntry {
	e := webm.TrackEntry{Name: name, TrackNumber: number, TrackUID: number, CodecID: c.codecID, TrackType: 1}
	if c.audio {
		e.TrackType = 2
		e.Audio = &webm.Audio{SamplingFrequency: 48000, Channels: 2}
		e.CodecPrivate = opusHead()
		// RFC 7845 §5.1 / Matroska's Opus mapping: 80 ms of pre-roll after a seek.
		e.SeekPreRoll = 80_000_000
		return e
	}
	var w, h int
	switch c.kind {
	case codecVP8:
		w, h = vp8Size(key)
	case codecVP9:
		w, h, _ = vp9Header(key)
	case codecH264:
		var sps, pps []byte
		avcNALUs(key, func(n []byte) {
			switch n[0] & 0x1f {
			case 7:
				if sps == nil {
					sps = n
				}
			case 8:
				if pps == nil {
					pps = n
				}
			}
		})
		if sps != nil && pps != nil {
			e.CodecPrivate = avcConfig(sps, pps)
			w, h = h264Size(sps)
		}
	}
	if w <= 0 || h <= 0 {
		// Only a hint: decoders take the size from the stream.
		w, h = 640, 480
	}
	e.Video = &webm.Video{PixelWidth: uint64(w), PixelHeight: uint64(h)}
	return e
}

// opusHead is the Opus identification header (RFC 7845 §5.1) Matroska
// carries as CodecPrivate: version 1, 2 channels, no pre-skip (WebRTC
// streams start decoding at once), 48 kHz, gain 0, mapping family 0.
func opusHead() []byte {
	b := []byte("OpusHead")
	b = append(b, 1, 2)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 48000)
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, 0)
}

// vp8Size reads a key frame's dimensions (RFC 6386 §9.1: 3-octet frame
// tag, start code 9d 01 2a, then 14-bit width and height, little-endian).
func vp8Size(f []byte) (w, h int) {
	if len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0
	}
	return int(binary.LittleEndian.Uint16(f[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(f[8:]) & 0x3fff)
}

// bitReader reads big-endian bit fields.
type bitReader struct {
	b   []byte
	pos int
	bad bool
}

func (r *bitReader) u(n int) uint {
	var v uint
	for range n {
		if r.pos >= 8*len(r.b) {
			r.bad = true
			return 0
		}
		v = v<<1 | uint(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue reads an Exp-Golomb code (H.264 §9.1).
func (r *bitReader) ue() uint {
	zeros := 0
	for r.u(1) == 0 && !r.bad {
		zeros++
		if zeros > 31 {
			r.bad = true
			return 0
		}
	}
	return (1<<zeros - 1) + r.u(zeros)
}

func (r *bitReader) se() int {
	v := r.ue()
	if v&1 == 1 {
		return int(v+1) / 2
	}
	return -int(v / 2)
}

// vp9Header reads a frame's uncompressed header (VP9 bitstream spec §6.2)
// far enough to tell a key frame and its size.
func vp9Header(f []byte) (w, h int, key bool) {
	r := &bitReader{b: f}
	if r.u(2) != 2 { // frame_marker
		return 0, 0, false
	}
	profile := r.u(1) | r.u(1)<<1
	if profile == 3 {
		r.u(1)
	}
	if r.u(1) == 1 { // show_existing_frame
		return 0, 0, false
	}
	if r.u(1) != 0 { // frame_type: 0 is KEY_FRAME
		return 0, 0, false
	}
	r.u(2) // show_frame, error_resilient_mode
	if r.u(24) != 0x498342 {
		return 0, 0, false
	}
	if profile >= 2 {
		r.u(1) // ten_or_twelve_bit
	}
	if cs := r.u(3); cs != 7 { // color_space != CS_RGB
		r.u(1) // color_range
		if profile == 1 || profile == 3 {
			r.u(3) // subsampling_x, subsampling_y, reserved
		}
	} else if profile == 1 || profile == 3 {
		r.u(1)
	}
	w, h = int(r.u(16))+1, int(r.u(16))+1
	if r.bad {
		return 0, 0, true
	}
	return w, h, true
}

// avcNALUs calls fn with each NAL unit of a length-prefixed (AVC) frame.
func avcNALUs(f []byte, fn func([]byte)) {
	for len(f) >= 4 {
		n := int(binary.BigEndian.Uint32(f))
		f = f[4:]
		if n <= 0 || n > len(f) {
			return
		}
		fn(f[:n])
		f = f[n:]
	}
}

// avcConfig builds an AVCDecoderConfigurationRecord (ISO/IEC 14496-15
// §5.2.4.1) from one SPS and one PPS, with 4-octet NAL lengths.
func avcConfig(sps, pps []byte) []byte {
	b := []byte{1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | 1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...)
}

// h264Size reads the picture size from an SPS (H.264 §7.3.2.1.1).
func h264Size(sps []byte) (w, h int) {
	if len(sps) < 4 {
		return 0, 0
	}
	// Remove emulation prevention octets (00 00 03 → 00 00).
	rbsp := make([]byte, 0, len(sps))
	zeros := 0
	for _, c := range sps[1:] {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		rbsp = append(rbsp, c)
	}
	r := &bitReader{b: rbsp}
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	chroma := uint(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma = r.ue()
		if chroma == 3 {
			r.u(1)
		}
		r.ue()
		r.ue()
		r.u(1)
		if r.u(1) == 1 { // seq_scaling_matrix_present_flag
			n := 8
			if chroma == 3 {
				n = 12
			}
			for i := range n {
				if r.u(1) == 0 {
					continue
				}
				size := 16
				if i >= 6 {
					size = 64
				}
				last, next := 8, 8
				for range size {
					if next != 0 {
						next = (last + r.se() + 256) % 256
					}
					if next != 0 {
						last = next
					}
				}
			}
		}
	}
	r.ue() // log2_max_frame_num_minus4
	switch r.ue() {
	case 0:
		r.ue()
	case 1:
		r.u(1)
		r.se()
		r.se()
		for range r.ue() {
			r.se()
		}
	}
	r.ue()
	r.u(1)
	mbW, mbH := int(r.ue())+1, int(r.ue())+1
	frameMBsOnly := int(r.u(1))
	if frameMBsOnly == 0 {
		r.u(1)
	}
	r.u(1)
	w, h = mbW*16, (2-frameMBsOnly)*mbH*16
	if r.u(1) == 1 { // frame_cropping_flag
		cx, cy := 1, 2-frameMBsOnly
		if chroma == 1 || chroma == 2 {
			cx = 2
		}
		if chroma == 1 {
			cy *= 2
		}
		l, rt, t, b := int(r.ue()), int(r.ue()), int(r.ue()), int(r.ue())
		w -= cx * (l + rt)
		h -= cy * (t + b)
	}
	if r.bad {
		return 0, 0
	}
	return w, h
}
