package sfu

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests, except one of
// Pion's virtual network (TestBandwidthAdaptation's links): vnet.Router.Stop
// does not wait for the router's goroutine, which may still be delivering a
// packet to a link's DelayFilter once the test closes it, and a closed
// DelayFilter never takes another packet.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/pion/transport/v4/vnet.(*DelayFilter).onInboundChunk"))
}

func newTestTrack(t testing.TB, kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters, pub RTCPWriter, m *Metrics) *Track {
	t.Helper()
	tr := NewTrack(TrackParams{ID: "TR_test", StreamID: "PA_x|TR_test", Kind: kind, Codec: codec.RTPCodecCapability, Publisher: pub, Metrics: m, CacheSize: 64})
	t.Cleanup(tr.Close)
	return tr
}

func TestAudioForwardedInOrderWithRewrittenHeader(t *testing.T) {
	m := new(Metrics)
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, m)
	r := newFakeRemote(t, 1111)
	_, w1, _ := subscribe(t, tr, opusCodec, 2222, DownTrackParams{})
	_, w2, _ := subscribe(t, tr, webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec.RTPCodecCapability, PayloadType: 109}, 3333, DownTrackParams{})
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		r.send(t, rtp.Header{SequenceNumber: uint16(65500 + i), Timestamp: uint32(i * 960), PayloadType: 111}, []byte{byte(i), 1, 2, 3})
	}
	for _, c := range []struct {
		w    *fakeWriter
		ssrc uint32
		pt   uint8
	}{{w1, 2222, 111}, {w2, 3333, 109}} {
		got := c.w.waitFor(t, n)
		for i, p := range got {
			if p.h.SSRC != c.ssrc || p.h.PayloadType != c.pt {
				t.Fatalf("packet %d: ssrc %d pt %d, want %d %d", i, p.h.SSRC, p.h.PayloadType, c.ssrc, c.pt)
			}
			if want := uint16(65500 + i); p.h.SequenceNumber != want {
				t.Fatalf("packet %d: seq %d, want %d", i, p.h.SequenceNumber, want)
			}
			if !bytes.Equal(p.payload, []byte{byte(i), 1, 2, 3}) {
				t.Fatalf("packet %d: payload %v", i, p.payload)
			}
		}
	}
	if got := m.PacketsIn.Load(); got != n {
		t.Errorf("PacketsIn = %d, want %d", got, n)
	}
}

func TestVideoStartsOnKeyframeAndAsksForOne(t *testing.T) {
	pub := &fakePublisher{}
	tr := newTestTrack(t, webrtc.RTPCodecTypeVideo, vp8Codec, pub, nil)
	r := newFakeRemote(t, 5000)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	_, w, _ := subscribe(t, tr, vp8Codec, 6000, DownTrackParams{})
	// Delta frames before any keyframe are not forwarded.
	for i := range 5 {
		r.send(t, rtp.Header{SequenceNumber: uint16(100 + i), Timestamp: 3000, Marker: true}, vp8Payload(false, 50))
	}
	r.send(t, rtp.Header{SequenceNumber: 105, Timestamp: 6000}, vp8Payload(true, 50))
	r.send(t, rtp.Header{SequenceNumber: 106, Timestamp: 6000, Marker: true}, []byte{0x00, 9, 9})
	got := w.waitFor(t, 2)
	if got[0].h.Timestamp != 6000 || got[1].h.SequenceNumber != got[0].h.SequenceNumber+1 {
		t.Fatalf("forwarded %+v", got)
	}
	if !bytes.Equal(got[1].payload, []byte{0x00, 9, 9}) {
		t.Fatalf("second packet payload %v", got[1].payload)
	}
	if pub.count(5000) == 0 {
		t.Error("no keyframe request reached the publisher")
	}
}

func TestFrozenSubscriberDoesNotDisturbOthers(t *testing.T) {
	m := new(Metrics)
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, m)
	r := newFakeRemote(t, 1)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	frozen, fw, _ := subscribe(t, tr, opusCodec, 2, DownTrackParams{QueueSize: 16})
	fw.freeze = make(chan struct{})
	_, ok, _ := subscribe(t, tr, opusCodec, 3, DownTrackParams{QueueSize: 16})
	const n = 500
	for i := range n {
		r.send(t, rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, []byte{byte(i)})
		if i%8 == 7 { // pace so the healthy subscriber's small queue keeps up
			ok.waitFor(t, i+1)
		}
	}
	got := ok.waitFor(t, n)
	for i, p := range got {
		if p.payload[0] != byte(i) {
			t.Fatalf("healthy subscriber: packet %d carries %d", i, p.payload[0])
		}
	}
	if m.Dropped(DropQueueFull) == 0 {
		t.Error("frozen subscriber's drops were not counted")
	}
	close(fw.freeze)
	frozen.Close()
}

func TestNACKAnsweredFromCache(t *testing.T) {
	m := new(Metrics)
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, m)
	r := newFakeRemote(t, 1)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	_, w, s := subscribe(t, tr, opusCodec, 77, DownTrackParams{})
	for i := range 10 {
		r.send(t, rtp.Header{SequenceNumber: uint16(1000 + i), Timestamp: uint32(i * 960)}, []byte{byte(i), 0xAA})
	}
	got := w.waitFor(t, 10)
	lost := got[3].h.SequenceNumber
	s.sendRTCP(t, &rtcp.TransportLayerNack{MediaSSRC: 77, Nacks: []rtcp.NackPair{{PacketID: lost}}})
	got = w.waitFor(t, 11)
	re := got[10]
	if re.h.SequenceNumber != lost || re.h.Timestamp != got[3].h.Timestamp || !bytes.Equal(re.payload, got[3].payload) {
		t.Fatalf("retransmission %+v, want copy of %+v", re, got[3])
	}
	if m.NACKsAnswered.Load() != 1 {
		t.Errorf("NACKsAnswered = %d", m.NACKsAnswered.Load())
	}
}

func TestPLIFromSubscribersIsThrottled(t *testing.T) {
	pub := &fakePublisher{}
	tr := newTestTrack(t, webrtc.RTPCodecTypeVideo, vp8Codec, pub, nil)
	r := newFakeRemote(t, 42)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	r.send(t, rtp.Header{SequenceNumber: 1, Timestamp: 1}, vp8Payload(true, 20))
	_, w, s := subscribe(t, tr, vp8Codec, 43, DownTrackParams{})
	r.send(t, rtp.Header{SequenceNumber: 2, Timestamp: 2}, vp8Payload(true, 20))
	w.waitFor(t, 1)
	before := pub.count(42)
	for range 10 {
		s.sendRTCP(t, &rtcp.PictureLossIndication{MediaSSRC: 43})
	}
	// Round-trip a NACK through the same RTCP reader to know all PLIs were read.
	s.sendRTCP(t, &rtcp.TransportLayerNack{MediaSSRC: 43, Nacks: []rtcp.NackPair{{PacketID: w.snapshot()[0].h.SequenceNumber}}})
	w.waitFor(t, 2)
	if after := pub.count(42) - before; after > 1 {
		t.Errorf("%d PLIs reached the publisher for a burst of 10, want at most 1", after)
	}
}

func TestSimulcastSwitchesOnKeyframeWithContinuousSequence(t *testing.T) {
	pub := &fakePublisher{}
	tr := newTestTrack(t, webrtc.RTPCodecTypeVideo, vp8Codec, pub, nil)
	low, high := newFakeRemote(t, 10), newFakeRemote(t, 30)
	if err := tr.AddLayer(0, low); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddLayer(2, high); err != nil {
		t.Fatal(err)
	}
	// Both layers active.
	low.send(t, rtp.Header{SequenceNumber: 500, Timestamp: 1000}, vp8Payload(false, 10))
	high.send(t, rtp.Header{SequenceNumber: 9000, Timestamp: 77000}, vp8Payload(false, 10))
	for deadline := time.Now().Add(5 * time.Second); !tr.layerActive(0, nanotime(), time.Second) || !tr.layerActive(2, nanotime(), time.Second); {
		if time.Now().After(deadline) {
			t.Fatal("layers never became active")
		}
		runtime.Gosched()
	}
	d, w, _ := subscribe(t, tr, vp8Codec, 99, DownTrackParams{})
	d.nudge()
	// The subscriber targets the highest layer; its keyframe starts the stream.
	for i := range 3 {
		high.send(t, rtp.Header{SequenceNumber: uint16(9001 + i), Timestamp: 80000}, vp8Payload(i == 0, 10))
		low.send(t, rtp.Header{SequenceNumber: uint16(501 + i), Timestamp: 4000}, vp8Payload(i == 0, 10))
	}
	got := w.waitFor(t, 3)
	for _, p := range got {
		if p.payload[2] != 2 { // same payload bytes; identify by seq continuity instead
			t.Fatal("unexpected payload")
		}
	}
	if d.Layer() != 2 {
		t.Fatalf("layer %d, want 2", d.Layer())
	}
	// Cap to the low layer: the switch happens on a low-layer keyframe.
	d.SetMaxLayer(0)
	seq := uint16(504)
	for i := 0; d.Layer() != 0; i++ {
		if i > 200 {
			t.Fatal("never switched to the low layer")
		}
		low.send(t, rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, vp8Payload(true, 10))
		seq++
		select {
		case <-w.notify:
		case <-time.After(20 * time.Millisecond):
		}
	}
	got = w.waitFor(t, 4)
	last := got[2].h
	if got[3].h.SequenceNumber != last.SequenceNumber+1 {
		t.Fatalf("sequence not continuous across the switch: %d then %d", last.SequenceNumber, got[3].h.SequenceNumber)
	}
	if int32(got[3].h.Timestamp-last.Timestamp) <= 0 {
		t.Fatalf("timestamp went backwards across the switch: %d then %d", last.Timestamp, got[3].h.Timestamp)
	}
	low.send(t, rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, vp8Payload(false, 10))
	got = w.waitFor(t, len(got)+1)
	if n := len(got); got[n-1].h.SequenceNumber != got[n-2].h.SequenceNumber+1 {
		t.Fatalf("sequence not continuous after the switch")
	}
}

func TestKeyframeDetection(t *testing.T) {
	cases := []struct {
		name string
		mime string
		b    []byte
		want bool
	}{
		{"vp8 key", webrtc.MimeTypeVP8, []byte{0x10, 0x00}, true},
		{"vp8 delta", webrtc.MimeTypeVP8, []byte{0x10, 0x01}, false},
		{"vp8 continuation", webrtc.MimeTypeVP8, []byte{0x00, 0x00}, false},
		{"vp8 key with picture id", webrtc.MimeTypeVP8, []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 truncated", webrtc.MimeTypeVP8, []byte{0x90, 0x80}, false},
		{"h264 idr", webrtc.MimeTypeH264, []byte{0x65}, true},
		{"h264 stap-a sps", webrtc.MimeTypeH264, []byte{0x18, 0x00, 0x02, 0x67, 0x42}, true},
		{"h264 fu-a idr start", webrtc.MimeTypeH264, []byte{0x7c, 0x85}, true},
		{"h264 fu-a idr middle", webrtc.MimeTypeH264, []byte{0x7c, 0x05}, false},
		{"h264 non-idr", webrtc.MimeTypeH264, []byte{0x41}, false},
		{"empty", webrtc.MimeTypeVP8, nil, false},
	}
	for _, c := range cases {
		if got := isKeyframeStart(c.mime, c.b); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTapSeesEveryPacket(t *testing.T) {
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, nil)
	r := newFakeRemote(t, 1)
	tap := &countingTap{seen: make(chan uint16, 100), closed: make(chan struct{})}
	remove := tr.AddTap(tap)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r.send(t, rtp.Header{SequenceNumber: uint16(i)}, []byte{1})
	}
	for i := range 5 {
		if s := <-tap.seen; s != uint16(i) {
			t.Fatalf("tap saw %d, want %d", s, i)
		}
	}
	remove()
	<-tap.closed
}

type countingTap struct {
	seen   chan uint16
	closed chan struct{}
}

func (c *countingTap) OnPacket(p *Packet) { c.seen <- p.Header.SequenceNumber }
func (c *countingTap) OnClose()           { close(c.closed) }

func FuzzPacketParse(f *testing.F) {
	f.Add([]byte{0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0})
	f.Add([]byte{0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := newPacket()
		defer p.Release()
		n := copy(p.buf[:], b)
		if err := p.parse(n); err != nil {
			return
		}
		if len(p.Payload) > n {
			t.Fatalf("payload longer than packet")
		}
		_ = isKeyframeStart(webrtc.MimeTypeVP8, p.Payload)
		_ = isKeyframeStart(webrtc.MimeTypeH264, p.Payload)
	})
}

func TestAudioLevelObserverReportsSpeech(t *testing.T) {
	type change struct {
		level  float32
		active bool
	}
	var got []change
	o := NewAudioLevelObserver(1, func(l float32, a bool) { got = append(got, change{l, a}) })
	send := func(ms int64, level byte) {
		p := &Packet{Arrival: ms * int64(time.Millisecond)}
		if err := p.Header.SetExtension(1, []byte{0x80 | level}); err != nil {
			t.Fatal(err)
		}
		o.OnPacket(p)
	}
	ms := int64(1)
	for range 25 { // 500 ms of loud speech at 20 ms packets
		send(ms, 20)
		ms += 20
	}
	for range 25 { // then silence
		send(ms, 127)
		ms += 20
	}
	if len(got) != 2 || !got[0].active || got[0].level <= 0 || got[1].active {
		t.Fatalf("changes %+v, want speaking then silent", got)
	}
	o.OnClose()
	if len(got) != 2 {
		t.Fatalf("OnClose reported a change for a silent track")
	}
}

func TestResendsAreLimited(t *testing.T) {
	m := new(Metrics)
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, m)
	r := newFakeRemote(t, 1)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	_, w, s := subscribe(t, tr, opusCodec, 9, DownTrackParams{})
	for i := range 10 {
		r.send(t, rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, []byte{byte(i)})
	}
	got := w.waitFor(t, 10)
	lost := got[2].h.SequenceNumber
	// A burst of NACKs for one packet: it is resent once (the rest fall
	// inside the resend gap), never more than maxResends times.
	for range 20 {
		s.sendRTCP(t, &rtcp.TransportLayerNack{MediaSSRC: 9, Nacks: []rtcp.NackPair{{PacketID: lost}}})
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.NACKs.Load() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d NACKs processed", m.NACKs.Load())
		}
		runtime.Gosched()
	}
	if n := m.NACKsAnswered.Load(); n < 1 || n > maxResends {
		t.Fatalf("resent %d times, want 1..%d", n, maxResends)
	}
	if m.NACKsLimited.Load() == 0 {
		t.Fatal("no resend was limited")
	}
}

func TestReceiverReportsRecorded(t *testing.T) {
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, nil)
	d, _, s := subscribe(t, tr, opusCodec, 55, DownTrackParams{})
	s.sendRTCP(t, &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{
		{SSRC: 999, FractionLost: 200}, // another stream's report: ignored
		{SSRC: 55, FractionLost: 64, Jitter: 321},
	}})
	deadline := time.Now().Add(5 * time.Second)
	for d.FractionLost() != 64 || d.Jitter() != 321 {
		if time.Now().After(deadline) {
			t.Fatalf("fraction lost %d, jitter %d; want 64, 321", d.FractionLost(), d.Jitter())
		}
		runtime.Gosched()
	}
}

// TestDirectForwarding: with Direct on, the publisher's read goroutine
// writes the packets itself; switching it on while the writer goroutine
// still has a backlog keeps the order, and switching it off hands the
// packets back to the writer goroutine; a subscriber without Direct never
// gets a direct write.
func TestDirectForwarding(t *testing.T) {
	m := new(Metrics)
	tr := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, m)
	r := newFakeRemote(t, 1)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	var direct atomic.Bool
	_, dw, _ := subscribe(t, tr, opusCodec, 2, DownTrackParams{Direct: &direct, QueueSize: 1024})
	_, qw, _ := subscribe(t, tr, opusCodec, 3, DownTrackParams{QueueSize: 1024})
	// A backlog on the direct subscriber's writer goroutine: its writes
	// block until released, while direct is switched on behind it.
	dw.freeze = make(chan struct{})
	const n = 300
	for i := range n {
		// The flag flips once the read goroutine has handed on every
		// packet sent so far (the queued subscriber has them all).
		if i == 100 {
			qw.waitFor(t, i)
			direct.Store(true)
		}
		if i == 150 {
			qw.waitFor(t, i) // 100–149 met the frozen writer
			close(dw.freeze)
		}
		if i == 250 {
			qw.waitFor(t, i)
			direct.Store(false)
		}
		r.send(t, rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, []byte{byte(i)})
		if i == 150 {
			dw.waitFor(t, 151) // the backlog drains before new packets may go direct
		}
	}
	for name, w := range map[string]*fakeWriter{"direct": dw, "queued": qw} {
		got := w.waitFor(t, n)
		for i, p := range got {
			if p.payload[0] != byte(i) || p.h.SequenceNumber != uint16(i) {
				t.Fatalf("%s subscriber: packet %d carries %d (seq %d)", name, i, p.payload[0], p.h.SequenceNumber)
			}
		}
	}
	// Packets 151–249 found the backlog gone and no writer at work: written
	// directly; 150 may have been too, or may have met the writer still
	// draining. 100–149 met the frozen writer and waited their turn.
	if got := m.DirectOut.Load(); got < 99 || got > 100 {
		t.Errorf("%d packets written directly, want 99 or 100 (only the direct subscriber's, while direct was on and nothing queued)", got)
	}
	if got := m.PacketsOut.Load(); got != 2*n {
		t.Errorf("%d packets out, want %d", got, 2*n)
	}
}

// countingBatch counts the batch brackets a track's fan-out makes.
type countingBatch struct {
	holds, releases atomic.Int32
}

func (b *countingBatch) Hold()    { b.holds.Add(1) }
func (b *countingBatch) Release() { b.releases.Add(1) }

// TestFanoutBatchedPerFrame: written directly, a video frame's packets are
// fanned out inside one Hold … Release, closed by the packet that ends the
// frame; audio is bracketed packet by packet; a track with fewer than
// batchFanout subscribers holds nothing.
func TestFanoutBatchedPerFrame(t *testing.T) {
	for _, c := range []struct {
		name         string
		kind         webrtc.RTPCodecType
		codec        webrtc.RTPCodecParameters
		subscribe    bool
		wantBrackets int32
		payload      func(i int) []byte
		marker       func(i int) bool
	}{
		{"video", webrtc.RTPCodecTypeVideo, vp8Codec, true, 4, func(i int) []byte { return vp8Payload(i%3 == 0, 20) }, func(i int) bool { return i%3 == 2 }},
		{"audio", webrtc.RTPCodecTypeAudio, opusCodec, true, 12, func(i int) []byte { return []byte{byte(i)} }, func(int) bool { return false }},
		{"one", webrtc.RTPCodecTypeVideo, vp8Codec, false, 0, func(i int) []byte { return vp8Payload(i%3 == 0, 20) }, func(i int) bool { return i%3 == 2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := new(countingBatch)
			tr := NewTrack(TrackParams{ID: "TR_b", StreamID: "PA_x|TR_b", Kind: c.kind, Codec: c.codec.RTPCodecCapability, Publisher: &fakePublisher{}, Metrics: new(Metrics), CacheSize: 64, Batch: b})
			t.Cleanup(tr.Close)
			r := newFakeRemote(t, 5)
			if err := tr.AddLayer(0, r); err != nil {
				t.Fatal(err)
			}
			var w *fakeWriter
			var direct atomic.Bool
			direct.Store(true)
			if c.subscribe {
				for i := range batchFanout {
					_, w, _ = subscribe(t, tr, c.codec, uint32(6+i), DownTrackParams{Direct: &direct})
				}
			} else {
				subscribe(t, tr, c.codec, 6, DownTrackParams{Direct: &direct}) // one is too few
			}
			const n = 12
			for i := range n {
				r.send(t, rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i / 3 * 3000), Marker: c.marker(i)}, c.payload(i))
			}
			if w != nil {
				w.waitFor(t, n)
			} else {
				for deadline := time.Now().Add(5 * time.Second); tr.p.Metrics.PacketsOut.Load() < n; {
					if time.Now().After(deadline) {
						t.Fatal("packets not read")
					}
					runtime.Gosched()
				}
			}
			// The last packet's Release follows its fan-out: wait for it.
			for deadline := time.Now().Add(5 * time.Second); b.releases.Load() < c.wantBrackets; {
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
			if h, rl := b.holds.Load(), b.releases.Load(); h != c.wantBrackets || rl != c.wantBrackets {
				t.Errorf("%d holds and %d releases for %d packets, want %d of each", h, rl, n, c.wantBrackets)
			}
		})
	}
}

// TestLargeFanoutQueued: from directFanout subscribers on, packets go
// through the subscribers' writer goroutines even where direct writes are
// allowed, and each writer's drain is one batch burst.
func TestLargeFanoutQueued(t *testing.T) {
	m := new(Metrics)
	b := new(countingBatch)
	tr := NewTrack(TrackParams{ID: "TR_l", StreamID: "PA_x|TR_l", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCodec.RTPCodecCapability, Metrics: m, CacheSize: 64, Batch: b})
	t.Cleanup(tr.Close)
	r := newFakeRemote(t, 5)
	if err := tr.AddLayer(0, r); err != nil {
		t.Fatal(err)
	}
	var direct atomic.Bool
	direct.Store(true)
	ws := make([]*fakeWriter, directFanout)
	for i := range ws {
		_, ws[i], _ = subscribe(t, tr, opusCodec, uint32(10+i), DownTrackParams{Direct: &direct})
	}
	const n = 20
	for i := range n {
		r.send(t, rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, []byte{byte(i)})
	}
	for _, w := range ws {
		got := w.waitFor(t, n)
		for i, p := range got {
			if p.payload[0] != byte(i) {
				t.Fatalf("packet %d carries %d", i, p.payload[0])
			}
		}
	}
	if d := m.DirectOut.Load(); d != 0 {
		t.Errorf("%d packets written directly to a fan-out of %d", d, directFanout)
	}
	if h := b.holds.Load(); h < directFanout {
		t.Errorf("%d batch bursts, want at least one per writer (%d)", h, directFanout)
	}
}
