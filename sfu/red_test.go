package sfu

import (
	"bytes"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestEncodeRED: each Opus packet goes out in RED (RFC 2198) with the one
// before it as redundancy; a packet after a gap, and a resend, go alone.
func TestEncodeRED(t *testing.T) {
	var w writerState
	a, b, c := []byte{1, 2, 3}, []byte{4, 5}, []byte{6}
	if got := w.encodeRED(a, 10, 960, 111); !bytes.Equal(got, []byte{111, 1, 2, 3}) {
		t.Fatalf("first packet %v, want the primary block alone", got)
	}
	// offset 960 = 0b1111000000: 14 bits then a 10-bit length of 3.
	want := []byte{0x80 | 111, byte(960 >> 6), byte(960<<2&0xff) | 0, 3, 111, 1, 2, 3, 4, 5}
	if got := w.encodeRED(b, 11, 1920, 111); !bytes.Equal(got, want) {
		t.Fatalf("second packet %v, want %v", got, want)
	}
	if got := w.encodeRED(a, 10, 960, 111); !bytes.Equal(got, []byte{111, 1, 2, 3}) {
		t.Fatalf("a resend %v, want the primary block alone", got)
	}
	if got := w.encodeRED(c, 13, 3840, 111); !bytes.Equal(got, []byte{111, 6}) {
		t.Fatalf("after a gap %v, want the primary block alone", got)
	}
	if got := w.encodeRED(b, 14, 3840+20*48*1000, 111); !bytes.Equal(got, []byte{111, 4, 5}) {
		t.Fatalf("a timestamp jump past the 14-bit offset %v, want the primary block alone", got)
	}
}

func TestREDForOpusSubscribersOnly(t *testing.T) {
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
	red := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: 63}
	if c, pt, ok := redFor(webrtc.MimeTypeOpus, []webrtc.RTPCodecParameters{opus, red}); !ok || c.PayloadType != 63 || pt != 111 {
		t.Errorf("a subscriber accepting RED over Opus 111: %v %d %v", c, pt, ok)
	}
	if _, _, ok := redFor(webrtc.MimeTypeOpus, []webrtc.RTPCodecParameters{opus}); ok {
		t.Error("RED chosen for a subscriber without it")
	}
	other := red
	other.SDPFmtpLine = "109/109"
	if _, _, ok := redFor(webrtc.MimeTypeOpus, []webrtc.RTPCodecParameters{opus, other}); ok {
		t.Error("RED chosen though it names another payload type than Opus's")
	}
	if _, _, ok := redFor(webrtc.MimeTypeVP8, []webrtc.RTPCodecParameters{opus, red}); ok {
		t.Error("RED chosen for video")
	}
	for _, c := range ReceiveCodecs(webrtc.RTPCodecTypeAudio) {
		if c.MimeType == MimeTypeRED {
			t.Error("publishers may send RED")
		}
	}
}
