package server_test

// A frozen subscriber must not disturb the class (the habit of Tailscale's
// derp TestSendFreeze). The freeze is real, at the transport: the frozen
// subscriber reaches the server over ICE-TCP through a proxy that stops
// reading the server's side of its connections, so the server's kernel send
// buffer fills and its writes to that subscriber block, exactly as with a
// client whose network or process has stalled.

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"yunke/server/token"
	"yunke/signaling/client"
)

// stallProxy forwards TCP connections to the server's ICE-TCP listener. It
// recognises the connections of one client by the ICE username fragment in
// their first STUN request (RFC 8445 §7.2.2: USERNAME is
// "server-ufrag:client-ufrag"), and on freeze stops reading what the server
// sends on them.
type stallProxy struct {
	ln       net.Listener
	upstream string
	ufrag    []byte

	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  map[*proxiedConn]struct{}
	closed bool
	wg     sync.WaitGroup

	stallable atomic.Int32 // connections of the client to freeze
}

type proxiedConn struct {
	client, server net.Conn
	stallable      atomic.Bool
	closeOnce      sync.Once
	done           chan struct{}
}

func (c *proxiedConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.client.Close()
		c.server.Close()
	})
}

func newStallProxy(t *testing.T, upstream, ufrag string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, upstream: upstream, ufrag: []byte(ufrag), thaw: make(chan struct{}), conns: map[*proxiedConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		// A small receive window on our side of the server's connection,
		// so that a freeze backs up into the server quickly.
		_ = s.(*net.TCPConn).SetReadBuffer(4096)
		pc := &proxiedConn{client: c, server: s, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.close()
			return
		}
		p.conns[pc] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.clientToServer(pc)
		go p.serverToClient(pc)
	}
}

// clientToServer copies the client's stream, looking into its first
// RFC 4571 frame (a 16-bit length, then a STUN binding request) for the ufrag.
func (p *stallProxy) clientToServer(pc *proxiedConn) {
	defer p.wg.Done()
	defer pc.close()
	var hdr [2]byte
	if _, err := io.ReadFull(pc.client, hdr[:]); err != nil {
		return
	}
	first := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(pc.client, first); err != nil {
		return
	}
	if bytes.Contains(first, p.ufrag) {
		pc.stallable.Store(true)
		p.stallable.Add(1)
	}
	if _, err := pc.server.Write(append(hdr[:], first...)); err != nil {
		return
	}
	_, _ = io.Copy(pc.server, pc.client)
}

func (p *stallProxy) serverToClient(pc *proxiedConn) {
	defer p.wg.Done()
	defer pc.close()
	buf := make([]byte, 16<<10)
	for {
		p.mu.Lock()
		frozen, thaw := p.frozen, p.thaw
		p.mu.Unlock()
		if frozen && pc.stallable.Load() {
			select {
			case <-thaw:
				continue
			case <-pc.done:
				return
			}
		}
		n, err := pc.server.Read(buf)
		if err != nil {
			return
		}
		if _, err := pc.client.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *stallProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.thaw = make(chan struct{})
	p.mu.Unlock()
}

func (p *stallProxy) unfreeze() {
	p.mu.Lock()
	if p.frozen {
		p.frozen = false
		close(p.thaw)
	}
	p.mu.Unlock()
}

func (p *stallProxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	p.ln.Close()
	for pc := range conns {
		pc.close()
	}
	p.wg.Wait()
}

// proxiedListener is the server's ICE-TCP listener as the server sees it:
// it accepts on the real listener but advertises the proxy's address in
// the server's ICE candidates. Accepted connections get a small send buffer
// so that a stalled reader blocks the server's writes after a few packets
// rather than megabytes.
type proxiedListener struct {
	net.Listener
	advertised net.Addr
}

func (l *proxiedListener) Addr() net.Addr { return l.advertised }

func (l *proxiedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// watchResult is what a frozen subscriber received.
type watchResult struct {
	got, last, gaps atomic.Int64
	badGap          atomic.Bool // a gap not followed by a keyframe start
	corrupt         atomic.Bool
}

// watchVideo reads a video track until it fails, counting packets and
// checking that after every gap forwarding resumes on a keyframe (RFC 7741:
// a decoder cannot resume on a delta frame).
func watchVideo(rt *client.RemoteTrack, log *sentLog, w *watchResult) {
	w.last.Store(-1)
	for {
		p, err := rt.ReadRTP()
		if err != nil {
			return
		}
		i, keyStart, ok := parseVP8(p.Payload)
		sp, known := log.get(i)
		if !ok || !known || !bytes.Equal(sp.payload, p.Payload) {
			w.corrupt.Store(true)
			continue
		}
		if last := w.last.Load(); last >= 0 && int64(i) != last+1 {
			w.gaps.Add(1)
			if !keyStart {
				w.badGap.Store(true)
			}
		}
		w.last.Store(int64(i))
		w.got.Add(1)
	}
}

// TestFrozenSubscriber: while one subscriber's transport is frozen, the
// others (one on UDP, one on ICE-TCP through the same proxy) still receive
// every packet in order; the server drops the frozen one's packets in its
// queue and counts them; when the transport thaws, that subscriber resumes
// on a keyframe; and it can leave cleanly even while frozen.
func TestFrozenSubscriber(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const ufrag = "FrozenSubscriberUfrag"
	proxy := newStallProxy(t, raw.Addr().String(), ufrag)
	srv := startServer(t, withTCP(&proxiedListener{Listener: raw, advertised: proxy.ln.Addr()}))
	t.Cleanup(proxy.close) // before the server stops: its blocked writes fail
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	pub := join(t, ctx, srv, mint(t, "freeze", "teacher", token.RoleTeacher), client.Options{})
	udp := join(t, ctx, srv, mint(t, "freeze", "udp", token.RoleStudent), client.Options{AutoSubscribe: true})
	tcp := join(t, ctx, srv, mint(t, "freeze", "tcp", token.RoleStudent), client.Options{AutoSubscribe: true, SettingEngine: loopbackTCP})
	frozen := join(t, ctx, srv, mint(t, "freeze", "frozen", token.RoleStudent), client.Options{AutoSubscribe: true,
		SettingEngine: func(se *webrtc.SettingEngine) {
			loopbackTCP(se)
			se.SetICECredentials(ufrag, "FrozenSubscriberPassword0123456789")
		}})
	for _, s := range []*client.Client{udp, tcp, frozen} {
		if err := s.WaitConnected(ctx); err != nil {
			t.Fatalf("%s: %v", s.Identity(), err)
		}
	}
	if proxy.stallable.Load() == 0 {
		t.Fatal("the proxy did not recognise the frozen subscriber's connection")
	}

	m := publishMedia(t, ctx, pub, mediaOptions{video: true, audio: true, interval: 10 * time.Millisecond})
	type result struct {
		who string
		streamResult
	}
	results := make(chan result, 4)
	for _, s := range []*client.Client{udp, tcp} {
		for _, lt := range []*client.LocalTrack{m.video, m.audio} {
			rt, err := s.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == lt.SID() })
			if err != nil {
				t.Fatalf("%s: %v", s.Identity(), err)
			}
			log, video := m.audioLog, lt == m.video
			if video {
				log = m.videoLog
			}
			go func() { results <- result{s.Identity(), checkStream(ctx, rt, log, video)} }()
		}
	}
	frt, err := frozen.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == m.video.SID() })
	if err != nil {
		t.Fatal(err)
	}
	var fw watchResult
	watching := make(chan struct{})
	go func() { defer close(watching); watchVideo(frt, m.videoLog, &fw) }()
	t.Cleanup(func() { frozen.Close(); <-watching }) // the reader ends when the client closes
	if !pollUntil(10*time.Second, func() bool { return fw.got.Load() >= 20 }) {
		t.Fatalf("the subscriber to freeze received only %d video packets", fw.got.Load())
	}

	queueFull := `yunke_rtp_packets_dropped_total{reason="queue_full"}`
	before := scrape(t, srv)
	proxy.freeze()
	frozenAt := fw.got.Load()
	// The server's writes to the frozen subscriber block once the buffers
	// are full; its queue then overflows and the drops are counted.
	during := waitMetrics(t, srv, 15*time.Second, "packets dropped for the frozen subscriber's full queue", func(v map[string]float64) bool {
		return v[queueFull] >= before[queueFull]+50
	})
	stalled := fw.got.Load()
	sentDuring, _ := m.videoLog.final()
	t.Logf("frozen: received %d video packets before the freeze, %d by the time %v were dropped (%d sent)",
		frozenAt, stalled, during[queueFull], sentDuring)

	// Thaw: what the buffers held arrives, then the gap, then a keyframe.
	proxy.unfreeze()
	resumeFrom := sentDuring
	if !pollUntil(10*time.Second, func() bool { return fw.last.Load() > int64(resumeFrom) }) {
		t.Errorf("after the thaw the subscriber got nothing new: last packet #%d, waiting for one after #%d", fw.last.Load(), resumeFrom)
	}
	m.stop()
	for range 4 {
		r := <-results
		if r.err != nil {
			t.Errorf("%s (healthy) was disturbed: %v", r.who, r.err)
		} else {
			t.Logf("%s (healthy): %d packets in order, from #%d", r.who, r.got, r.first)
		}
	}
	total, _ := m.videoLog.final()
	if got := fw.got.Load(); got >= int64(total) {
		t.Errorf("the frozen subscriber received all %d video packets: it was not frozen", total)
	}
	if fw.gaps.Load() == 0 {
		t.Errorf("the frozen subscriber saw no gap in its video although its packets were dropped")
	}
	if fw.badGap.Load() {
		t.Errorf("after a gap, the frozen subscriber's video resumed on a delta frame, not on a keyframe")
	}
	if fw.corrupt.Load() {
		t.Errorf("the frozen subscriber received a corrupt or unknown packet")
	}
	after := scrape(t, srv)
	t.Logf("metrics: %v", yunkeOnly(after))
	if after[`yunke_keyframe_requests_total{direction="sent"}`] <= before[`yunke_keyframe_requests_total{direction="sent"}`] {
		t.Errorf("no keyframe request went to the publisher after the frozen subscriber's drops")
	}
}

// TestFrozenSubscriberLeaves: a subscriber whose media transport is stalled
// says leave over signaling (its WebSocket still works). The others see it
// go, and the server finishes tearing it down (its subscriptions are gone
// from yunke_subscriptions) although its transport never drains.
func TestFrozenSubscriberLeaves(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const ufrag = "FrozenLeaverUfrag"
	proxy := newStallProxy(t, raw.Addr().String(), ufrag)
	srv := startServer(t, withTCP(&proxiedListener{Listener: raw, advertised: proxy.ln.Addr()}))
	t.Cleanup(proxy.close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := join(t, ctx, srv, mint(t, "freeze-leave", "teacher", token.RoleTeacher), client.Options{})
	healthy := join(t, ctx, srv, mint(t, "freeze-leave", "healthy", token.RoleStudent), client.Options{AutoSubscribe: true})
	frozen := join(t, ctx, srv, mint(t, "freeze-leave", "frozen", token.RoleStudent), client.Options{AutoSubscribe: true,
		SettingEngine: func(se *webrtc.SettingEngine) {
			loopbackTCP(se)
			se.SetICECredentials(ufrag, "FrozenLeaverPassword0123456789")
		}})
	m := publishMedia(t, ctx, pub, mediaOptions{video: true, audio: true, interval: 10 * time.Millisecond})
	for _, s := range []*client.Client{healthy, frozen} {
		for _, lt := range []*client.LocalTrack{m.video, m.audio} {
			if _, err := s.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == lt.SID() }); err != nil {
				t.Fatalf("%s: %v", s.Identity(), err)
			}
		}
	}
	queueFull := `yunke_rtp_packets_dropped_total{reason="queue_full"}`
	proxy.freeze()
	waitMetrics(t, srv, 15*time.Second, "the frozen subscriber's queue overflowing", func(v map[string]float64) bool {
		return v[queueFull] >= 50
	})
	if err := frozen.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT,
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := healthy.WaitParticipant(ctx, "frozen", func(p *livekit.ParticipantInfo) bool { return p == nil }); err != nil {
		t.Fatalf("healthy did not see the frozen subscriber leave: %v", err)
	}
	waitMetrics(t, srv, 10*time.Second, "the frozen subscriber's subscriptions torn down (yunke_subscriptions 2)", func(v map[string]float64) bool {
		return v["yunke_participants"] == 2 && v["yunke_subscriptions"] == 2
	})
	m.stop()
}
