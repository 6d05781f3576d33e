package sfu

import (
	"errors"
	"strings"

	"github.com/pion/webrtc/v4"
)

var errBadPadding = errors.New("sfu: bad RTP padding")

// isKeyframeStart reports whether payload begins a keyframe for the codec.
func isKeyframeStart(mime string, payload []byte) bool {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return vp8KeyframeStart(payload)
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return h264KeyframeStart(payload)
	default:
		return false
	}
}

// vp8KeyframeStart parses the VP8 payload descriptor (RFC 7741 §4.2) and the
// first octet of the VP8 payload header (§4.3): a keyframe starts where the
// S bit is set for partition 0 and the payload header's P bit is 0.
func vp8KeyframeStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	x := b[0]&0x80 != 0
	s := b[0]&0x10 != 0
	pid := b[0] & 0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(b) < 2 {
			return false
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: PictureID present
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 { // M: 15-bit PictureID
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX present
			i++
		}
		if ext&0x30 != 0 { // T or K: one octet with TID/Y/KEYIDX
			i++
		}
	}
	if len(b) <= i {
		return false
	}
	return b[i]&0x01 == 0
}

// h264KeyframeStart finds an IDR slice or an SPS at the start of the payload,
// single NAL, STAP-A or FU-A start fragment (RFC 6184 §5.6–5.8).
func h264KeyframeStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1f; nal {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit sizes followed by NAL units
		for i := 1; i+2 < len(b); {
			size := int(b[i])<<8 | int(b[i+1])
			i += 2
			if i >= len(b) {
				break
			}
			if t := b[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += size
		}
	case 28: // FU-A: start bit and original NAL type in the FU header
		if len(b) >= 2 && b[1]&0x80 != 0 {
			t := b[1] & 0x1f
			return t == 5 || t == 7
		}
	}
	return false
}

// MimeTypeRED is redundant audio (RFC 2198) carrying Opus: subscribers
// that accept it receive each Opus packet together with the previous one,
// so that a single lost packet costs no concealment. Publishers are kept
// to plain Opus (see ReceiveCodecs), so every Track is Opus.
const MimeTypeRED = "audio/red"

// opusPT is Opus's payload type, which the RED format line names.
const opusPT = 111

// ReceiveCodecs is what a publisher may send of kind: the codecs without
// RED, so that what the server receives, records and forwards is plain
// Opus; RED is made per subscriber (see DownTrack).
func ReceiveCodecs(kind webrtc.RTPCodecType) []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for _, c := range Codecs() {
		audio := strings.HasPrefix(c.MimeType, "audio/")
		if audio == (kind == webrtc.RTPCodecTypeAudio) && !strings.EqualFold(c.MimeType, MimeTypeRED) {
			out = append(out, c)
		}
	}
	return out
}

// Codecs returns the codecs Yunke negotiates, in preference order. RTX is
// deliberately absent: publishers then retransmit on the media SSRC, and
// subscribers' NACKs are answered from the packet cache.
func Codecs() []webrtc.RTPCodecParameters {
	videoFB := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBGoogREMB},
	}
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: opusPT},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: 63},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFB}, PayloadType: 125},
	}
}
