package sfu

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeRemote feeds a Track raw RTP packets from a channel.
type fakeRemote struct {
	ssrc webrtc.SSRC
	in   chan []byte
}

func newFakeRemote(t testing.TB, ssrc uint32) *fakeRemote {
	r := &fakeRemote{ssrc: webrtc.SSRC(ssrc), in: make(chan []byte, 1024)}
	t.Cleanup(func() { close(r.in) })
	return r
}

func (r *fakeRemote) Read(b []byte) (int, interceptor.Attributes, error) {
	pkt, ok := <-r.in
	if !ok {
		return 0, nil, io.EOF
	}
	return copy(b, pkt), nil, nil
}

func (r *fakeRemote) SSRC() webrtc.SSRC { return r.ssrc }

func (r *fakeRemote) send(t testing.TB, h rtp.Header, payload []byte) {
	t.Helper()
	h.Version = 2
	h.SSRC = uint32(r.ssrc)
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r.in <- b
}

// sentPacket is what a fake transport received.
type sentPacket struct {
	h       rtp.Header
	payload []byte
}

// fakeWriter records (or, when frozen, blocks on) writes.
type fakeWriter struct {
	mu      sync.Mutex
	pkts    []sentPacket
	notify  chan struct{}
	freeze  chan struct{} // while open, writes block
	discard bool
}

func newFakeWriter() *fakeWriter { return &fakeWriter{notify: make(chan struct{}, 1)} }

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.freeze != nil {
		<-w.freeze
	}
	if w.discard {
		return len(payload), nil
	}
	w.mu.Lock()
	w.pkts = append(w.pkts, sentPacket{h: *h, payload: append([]byte(nil), payload...)})
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return len(payload), nil
}

func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *fakeWriter) snapshot() []sentPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sentPacket(nil), w.pkts...)
}

// waitFor waits until the writer holds n packets.
func (w *fakeWriter) waitFor(t testing.TB, n int) []sentPacket {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if p := w.snapshot(); len(p) >= n {
			return p
		}
		select {
		case <-w.notify:
		case <-deadline:
			t.Fatalf("got %d packets, want %d", len(w.snapshot()), n)
		}
	}
}

// fakeBind is a TrackLocalContext.
type fakeBind struct {
	codec webrtc.RTPCodecParameters
	ssrc  webrtc.SSRC
	w     webrtc.TrackLocalWriter
	exts  []webrtc.RTPHeaderExtensionParameter
}

func (b fakeBind) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{b.codec}
}
func (b fakeBind) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return b.exts }
func (b fakeBind) SSRC() webrtc.SSRC                                      { return b.ssrc }
func (b fakeBind) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (b fakeBind) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (b fakeBind) WriteStream() webrtc.TrackLocalWriter                   { return b.w }
func (b fakeBind) ID() string                                             { return "bind" }
func (b fakeBind) RTCPReader() interceptor.RTCPReader                     { return nil }

// fakeSender delivers subscriber RTCP to a DownTrack.
type fakeSender struct {
	in   chan []byte
	once sync.Once
	stop chan struct{}
}

func newFakeSender() *fakeSender {
	return &fakeSender{in: make(chan []byte, 16), stop: make(chan struct{})}
}

func (s *fakeSender) Read(b []byte) (int, interceptor.Attributes, error) {
	select {
	case pkt := <-s.in:
		return copy(b, pkt), nil, nil
	case <-s.stop:
		return 0, nil, io.EOF
	}
}

func (s *fakeSender) Stop() error {
	s.once.Do(func() { close(s.stop) })
	return nil
}

func (s *fakeSender) sendRTCP(t testing.TB, pkts ...rtcp.Packet) {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	s.in <- b
}

// fakePublisher counts keyframe requests.
type fakePublisher struct {
	mu   sync.Mutex
	plis []uint32
}

func (p *fakePublisher) WriteRTCP(pkts []rtcp.Packet) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pk := range pkts {
		if pli, ok := pk.(*rtcp.PictureLossIndication); ok {
			p.plis = append(p.plis, pli.MediaSSRC)
		}
	}
	return nil
}

func (p *fakePublisher) count(ssrc uint32) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.plis {
		if s == ssrc {
			n++
		}
	}
	return n
}

var (
	opusCodec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
	vp8Codec  = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
)

// subscribe makes a started, bound DownTrack writing to a fake writer.
func subscribe(t testing.TB, tr *Track, codec webrtc.RTPCodecParameters, ssrc uint32, p DownTrackParams) (*DownTrack, *fakeWriter, *fakeSender) {
	t.Helper()
	d, err := tr.NewDownTrack(p)
	if err != nil {
		t.Fatal(err)
	}
	w := newFakeWriter()
	if _, err := d.Bind(fakeBind{codec: codec, ssrc: webrtc.SSRC(ssrc), w: w}); err != nil {
		t.Fatal(err)
	}
	s := newFakeSender()
	d.Start(s)
	t.Cleanup(d.Close)
	return d, w, s
}

// vp8Payload builds a VP8 payload descriptor + header: keyframe or not.
func vp8Payload(key bool, n int) []byte {
	b := make([]byte, n)
	b[0] = 0x10 // S=1, PID=0
	if key {
		b[1] = 0x00 // P=0: keyframe
	} else {
		b[1] = 0x01
	}
	for i := 2; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}
