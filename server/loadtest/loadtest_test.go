package loadtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestMarkerRoundTrip(t *testing.T) {
	b := make([]byte, markerLen+3)
	m := marker{publisher: 513, kind: kindAudio, flags: flagKeyframe, seq: 0xdeadbeef, sent: 1234567890123}
	putMarker(b, m)
	got, ok := readMarker(b)
	if !ok || got != m {
		t.Fatalf("readMarker = %+v, %v; want %+v", got, ok, m)
	}
	b[0] ^= 1
	if _, ok := readMarker(b); ok {
		t.Fatal("bad magic accepted")
	}
	if _, ok := readMarker(b[:markerLen-1]); ok {
		t.Fatal("short block accepted")
	}
}

func TestVP8MarkerOffset(t *testing.T) {
	m := marker{publisher: 7, kind: kindVideo, seq: 42, sent: 99}
	for _, tc := range []struct {
		name  string
		start bool
		key   bool
	}{{"keyframe start", true, true}, {"delta start", true, false}, {"continuation", false, false}} {
		b := make([]byte, 100)
		putVP8Descriptor(b, tc.start, 0x1234)
		off := vp8DescLen
		if tc.start {
			putVP8FrameHeader(b[off:], tc.key, 1000, 1280, 720)
			off += vp8FrameHeaderLen(tc.key)
		}
		putMarker(b[off:], m)
		got, _, ok := findMarker(true, b)
		if !ok || got != m {
			t.Errorf("%s: findMarker = %+v, %v", tc.name, got, ok)
		}
	}
	// An SFU may rewrite the descriptor into another shape: 7-bit picture
	// id, TL0PICIDX and TID added.
	b := []byte{0x90, 0xe0, 0x05, 0x11, 0x22}
	hdr := make([]byte, 3)
	putVP8FrameHeader(hdr, false, 10, 0, 0)
	b = append(b, hdr...)
	mb := make([]byte, markerLen)
	putMarker(mb, m)
	b = append(b, mb...)
	if got, _, ok := findMarker(true, b); !ok || got != m {
		t.Errorf("rewritten descriptor: findMarker = %+v, %v", got, ok)
	}
	// Opus: after the TOC byte.
	a := append([]byte{opusTOC}, mb...)
	if got, _, ok := findMarker(false, a); !ok || got != m {
		t.Errorf("opus: findMarker = %+v, %v", got, ok)
	}
	for _, short := range [][]byte{nil, {0x80}, {0x90, 0x80}, {0x10}} {
		if _, _, ok := findMarker(true, short); ok {
			t.Errorf("findMarker(%x) succeeded", short)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.07 {
			t.Errorf("quantile(%v) = %v, want about %v", tc.q, got, tc.want)
		}
	}
	var small histogram
	small.record(3 * time.Microsecond)
	if got := small.quantile(0.5); got != 3*time.Microsecond {
		t.Errorf("small quantile = %v", got)
	}
	for us := uint64(0); us < 1<<20; us = us*5/4 + 1 {
		if v := bucketValue(bucketOf(us)); v < us {
			t.Fatalf("bucket of %d has upper bound %d", us, v)
		}
	}
	if n := testing.AllocsPerRun(100, func() { h.record(time.Millisecond) }); n != 0 {
		t.Errorf("record allocates %v times", n)
	}
}

func TestSeqTracker(t *testing.T) {
	var s seqTracker
	for _, x := range []uint32{10, 11, 13, 12, 12, 14, 20, 5000, 4999, 3000} {
		s.add(x)
	}
	if s.duplicates != 1 {
		t.Errorf("duplicates = %d, want 1", s.duplicates)
	}
	if s.outOfOrder != 3 { // 12, 4999, 3000
		t.Errorf("outOfOrder = %d, want 3", s.outOfOrder)
	}
	if s.unique() != 9 {
		t.Errorf("unique = %d, want 9", s.unique())
	}
	if got := s.expected(5000); got != 4991 {
		t.Errorf("expected = %d, want 4991", got)
	}
	var fresh seqTracker
	if fresh.expected(100) != 0 {
		t.Error("expected without packets")
	}
}

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]int64{"1.5M": 1_500_000, "800k": 800_000, "2000000": 2_000_000, "0": 0, "1Mbps": 1_000_000, " 3m ": 3_000_000} {
		got, err := ParseBitrate(in)
		if err != nil || got != want {
			t.Errorf("ParseBitrate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1M", "1e20"} {
		if _, err := ParseBitrate(bad); err == nil {
			t.Errorf("ParseBitrate(%q) succeeded", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	cfg, rooms, err := parseFlags([]string{"--publishers", "2", "--subscribers", "100", "--video-bitrate", "2M", "--audio=false", "--duration", "5s", "--rooms", "25"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rooms != 25 || cfg.Publishers != 2 || cfg.Subscribers != 100 || cfg.VideoBitrate != 2_000_000 || cfg.Audio || cfg.Duration != 5*time.Second {
		t.Fatalf("cfg = %+v", cfg)
	}
	for _, bad := range [][]string{{"--publishers", "0"}, {"--video-bitrate", "0", "--audio=false"}, {"extra"}, {"--join-rate", "0"}, {"--rooms", "0"}} {
		if _, _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
	var help bytes.Buffer
	if _, _, err := parseFlags([]string{"-h"}, &help); !errors.Is(err, flag.ErrHelp) || !bytes.Contains(help.Bytes(), []byte("--video-bitrate")) && !bytes.Contains(help.Bytes(), []byte("-video-bitrate")) {
		t.Fatalf("help: %v\n%s", err, help.String())
	}
}

func TestReceivePathAllocs(t *testing.T) {
	payload := make([]byte, 300)
	putVP8Descriptor(payload, false, 1)
	putMarker(payload[vp8DescLen:], marker{publisher: 0, kind: kindVideo, seq: 1, sent: int64(time.Millisecond)})
	copy(payload[vp8DescLen+markerLen:], filler)
	p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1, Extension: true, ExtensionProfile: 0xBEDE}, Payload: payload}
	p.Header.SetExtension(3, []byte{1, 2})
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rt := &recvTrack{video: true}
	var scratch rtp.Packet
	seq := uint32(1)
	allocs := testing.AllocsPerRun(1000, func() {
		binary.BigEndian.PutUint32(b[len(b)-len(payload)+vp8DescLen+8:], seq)
		seq++
		rt.handle(b, 2*time.Millisecond, &scratch)
	})
	if allocs != 0 {
		t.Errorf("handle allocates %v times per packet", allocs)
	}
	if rt.packets != 1001 || rt.seq.duplicates != 0 || rt.unmarked != 0 || rt.corrupted != 0 {
		t.Errorf("packets %d, duplicates %d, unmarked %d, corrupted %d", rt.packets, rt.seq.duplicates, rt.unmarked, rt.corrupted)
	}
	b[len(b)-1] ^= 0xff
	rt.handle(b, 2*time.Millisecond, &scratch)
	if rt.corrupted != 1 {
		t.Errorf("corrupted = %d after flipping a byte", rt.corrupted)
	}
	if got := rt.latency.quantile(0.5); got < time.Millisecond || got > 1100*time.Microsecond {
		t.Errorf("latency %v, want 1ms", got)
	}
}

func TestParseProcStat(t *testing.T) {
	got, err := parseProcStat("1234 (yunke serve) S 1 1234 1234 0 -1 4194560 2000 0 0 0 250 75 0 0 20 0 8 0 100 0 0")
	if err != nil || got != 3250*time.Millisecond {
		t.Fatalf("parseProcStat = %v, %v; want 3.25s", got, err)
	}
	if _, err := parseProcStat("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
}

func TestSteadyWindowAccounting(t *testing.T) {
	var first atomic.Int64
	first.Store(5)
	rt := &recvTrack{steadyFrom: func(marker) *atomic.Int64 { return &first }}
	var scratch rtp.Packet
	for _, seq := range []uint32{0, 1, 2, 3, 4, 5, 6, 8, 8, 9} { // 7 lost, 8 duplicated
		payload := make([]byte, 1+markerLen)
		payload[0] = opusTOC
		putMarker(payload[1:], marker{kind: kindAudio, seq: seq, sent: int64(time.Millisecond)})
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(seq)}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		rt.handle(b, 3*time.Millisecond, &scratch)
	}
	if rt.steadyUnique != 4 || rt.steadyLatency.n != 5 || rt.latency.n != 10 {
		t.Errorf("steady unique %d, steady latencies %d, latencies %d; want 4, 5, 10", rt.steadyUnique, rt.steadyLatency.n, rt.latency.n)
	}
	if got := rt.steadyLatency.quantile(0.5); got < 2*time.Millisecond || got > 2100*time.Microsecond {
		t.Errorf("steady latency %v, want 2ms", got)
	}
}

// The class scenario needs the administrator's password, one publisher (the
// teacher) and a steady window long enough for hands, stage and poll.
func TestClassFlags(t *testing.T) {
	t.Setenv("YUNKE_LOADTEST_ADMIN_PASSWORD", "")
	cfg, _, err := parseFlags([]string{"--class", "--admin-password", "pw", "--subscribers", "300", "--hands", "20", "--chat-rate", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Class || cfg.AdminUser != "admin" || cfg.Hands != 20 || cfg.ChatRate != 2 || cfg.Subscribers != 300 {
		t.Fatalf("cfg = %+v", cfg)
	}
	for _, bad := range [][]string{{"--class"}, {"--class", "--admin-password", "pw", "--publishers", "2"},
		{"--class", "--admin-password", "pw", "--duration", "5s"}, {"--class", "--admin-password", "pw", "--hands", "-1"}} {
		if _, _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

// reach gives the median, 95th percentile and maximum of the delays of the
// students an event reached, leaving out those it never did.
func TestReach(t *testing.T) {
	seen := make([]atomic.Int64, 101)
	for i := 1; i <= 100; i++ {
		seen[i].Store(int64(1000 + i*int(time.Millisecond)))
	}
	n, p50, p95, mx := reach(1000, seen)
	if n != 100 || p50 != 51*time.Millisecond || p95 != 96*time.Millisecond || mx != 100*time.Millisecond {
		t.Fatalf("reach: %d, %v, %v, %v", n, p50, p95, mx)
	}
	if n, _, _, _ := reach(0, seen); n != 0 {
		t.Fatalf("reach of an event never sent: %d", n)
	}
}

func TestMarkerLayer(t *testing.T) {
	for _, l := range []uint8{layerNone, layerLow, layerMedium, layerHigh} {
		b := make([]byte, markerLen)
		putMarker(b, marker{publisher: 3, kind: kindScreen, flags: withLayer(flagKeyframe, l), seq: 9})
		m, ok := readMarker(b)
		if !ok || m.layer() != l || m.flags&flagKeyframe == 0 || m.kind != kindScreen || m.seq != 9 {
			t.Errorf("layer %d: read %+v, %v (layer %d)", l, m, ok, m.layer())
		}
	}
	if f := withLayer(withLayer(flagKeyframe, layerHigh), layerLow); f != flagKeyframe|layerLow<<layerShift {
		t.Errorf("relayering flags = %#x", f)
	}
}

// layerPacket is a marshalled VP8 RTP packet of the camera's layer l with
// marker counter seq, sent at 1 ms.
func layerPacket(t *testing.T, kind, l uint8, seq uint32) []byte {
	t.Helper()
	payload := make([]byte, vp8DescLen+markerLen+8)
	putVP8Descriptor(payload, false, 1)
	putMarker(payload[vp8DescLen:], marker{kind: kind, flags: withLayer(0, l), seq: seq, sent: int64(time.Millisecond)})
	copy(payload[vp8DescLen+markerLen:], filler)
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(seq)}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A subscriber receives the camera's low layer, is switched to the high
// layer and back: each layer's own counters judge loss within the runs of
// packets it received, and the packets a layer sent while the subscriber
// received another are not lost.
func TestLayerSegments(t *testing.T) {
	var steadyLow, steadyHigh atomic.Int64
	steadyLow.Store(5)
	steadyHigh.Store(110)
	rt := &recvTrack{video: true, steadyFrom: func(m marker) *atomic.Int64 {
		if m.layer() == layerHigh {
			return &steadyHigh
		}
		return &steadyLow
	}}
	var scratch rtp.Packet
	recv := func(l uint8, from, to uint32, lost ...uint32) {
		for s := from; s <= to; s++ {
			if !slices.Contains(lost, s) {
				rt.handle(layerPacket(t, kindVideo, l, s), 3*time.Millisecond, &scratch)
			}
		}
	}
	recv(layerLow, 0, 9, 3)                                                           // 10 expected, 9 received; steady 5–9: 5 of 5
	recv(layerHigh, 100, 119, 115)                                                    // 20 expected, 19 received; steady 110–119: 9 of 10
	recv(layerLow, 50, 59, 52)                                                        // open: 50 to the last sent (61): 12 expected, 9 received
	rt.handle(layerPacket(t, kindScreen, layerNone, 1), 3*time.Millisecond, &scratch) // another track's
	if rt.switches != 2 || rt.layer != layerLow || rt.misrouted != 1 || rt.packets != 37 {
		t.Fatalf("switches %d, layer %d, misrouted %d, packets %d; want 2, low, 1, 37", rt.switches, rt.layer, rt.misrouted, rt.packets)
	}
	exp, unique, sexp, suniq := rt.loss(61, steadyLow.Load())
	if exp != 42 || unique != 37 {
		t.Errorf("expected %d, unique %d; want 42, 37", exp, unique)
	}
	// Steady: 5 of 5 (low), 9 of 10 (high), then low 50–61: 12 expected, 9 received.
	if sexp != 27 || suniq != 23 {
		t.Errorf("steady expected %d, unique %d; want 27, 23", sexp, suniq)
	}

	// Without simulcast nothing changes: one segment up to the last sent.
	plain := &recvTrack{video: true}
	for s := uint32(0); s < 10; s++ {
		if s != 4 {
			plain.handle(layerPacket(t, kindVideo, layerNone, s), 3*time.Millisecond, &scratch)
		}
	}
	if exp, unique, _, _ := plain.loss(11, math.MaxInt64); plain.switches != 0 || exp != 12 || unique != 9 {
		t.Errorf("one layer: switches %d, expected %d, unique %d; want 0, 12, 9", plain.switches, exp, unique)
	}
}

// Each marker stream of a publisher is found by its kind and layer.
func TestPublisherStreams(t *testing.T) {
	p := &publisher{layers: [3]*sourceTrack{{rid: "q"}, {rid: "h"}, {rid: "f"}}, screen: &sourceTrack{}, audio: &sourceTrack{}}
	if p.stream(kindVideo, layerLow) != p.layers[0] || p.stream(kindVideo, layerHigh) != p.layers[2] ||
		p.stream(kindScreen, layerNone) != p.screen || p.stream(kindAudio, layerNone) != p.audio {
		t.Error("stream lookup")
	}
	if p.stream(kindVideo, layerNone) != nil || p.stream(kindScreen, layerLow) != nil || p.stream(kindAudio, layerHigh) != nil || p.stream(9, 0) != nil {
		t.Error("a stream the publisher does not send was found")
	}
	if n := len(p.streams()); n != 5 {
		t.Errorf("%d streams, want 5", n)
	}
}

// With --class the teacher publishes simulcast and a screen share unless
// told not to; without it, only when asked.
func TestMediaFlags(t *testing.T) {
	t.Setenv("YUNKE_LOADTEST_ADMIN_PASSWORD", "pw")
	for _, c := range []struct {
		args      []string
		simulcast bool
		screen    int64
	}{
		{[]string{"--class"}, true, 500_000},
		{[]string{"--class", "--simulcast=false", "--screen=false"}, false, 0},
		{[]string{"--class", "--screen-bitrate", "1M"}, true, 1_000_000},
		{nil, false, 0},
		{[]string{"--simulcast", "--screen"}, true, 500_000},
	} {
		cfg, _, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if cfg.Simulcast != c.simulcast || cfg.ScreenBitrate != c.screen || c.screen > 0 && cfg.ScreenFPS != 5 {
			t.Errorf("%q: simulcast %v, screen %d at %d fps", c.args, cfg.Simulcast, cfg.ScreenBitrate, cfg.ScreenFPS)
		}
	}
	if _, _, err := parseFlags([]string{"--screen", "--screen-fps", "0"}, io.Discard); err == nil {
		t.Error("--screen-fps 0 accepted")
	}
	if _, _, err := parseFlags([]string{"--simulcast", "--layer-switch", "-1s"}, io.Discard); err == nil {
		t.Error("--layer-switch -1s accepted")
	}
	if cfg, _, err := parseFlags([]string{"--simulcast", "--layer-switch", "2s"}, io.Discard); err != nil || cfg.LayerSwitch != 2*time.Second {
		t.Errorf("--layer-switch 2s: %v, %v", cfg.LayerSwitch, err)
	}
}
