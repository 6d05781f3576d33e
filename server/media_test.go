package server_test

// Media integration tests: synthetic VP8 and Opus from one client, received
// by others through a whole server, checked packet by packet.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/server"
	"yunke/server/config"
	"yunke/server/token"
	"yunke/signaling/client"
)

// sentPacket is what the publisher sent under one counter value.
type sentPacket struct {
	payload  []byte
	ts       uint32
	marker   bool
	keyStart bool // first packet of a VP8 keyframe
}

// sentLog is every packet of one track, indexed by the counter each payload
// carries; receivers compare what they get against it.
type sentLog struct {
	mu       sync.Mutex
	pkts     []sentPacket
	finished bool
}

func (l *sentLog) add(p sentPacket) {
	l.mu.Lock()
	l.pkts = append(l.pkts, p)
	l.mu.Unlock()
}

func (l *sentLog) next() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pkts)
}

func (l *sentLog) get(i int) (sentPacket, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < 0 || i >= len(l.pkts) {
		return sentPacket{}, false
	}
	return l.pkts[i], true
}

// final is how many packets were sent, and whether sending has ended.
func (l *sentLog) final() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pkts), l.finished
}

func (l *sentLog) finish() {
	l.mu.Lock()
	l.finished = true
	l.mu.Unlock()
}

// Synthetic payloads. Every packet carries its counter (a 32-bit index in
// the track's sentLog) right after the codec's own headers, then a filler
// derived from the counter, so that a receiver can find what was sent and
// compare every byte.
//
// VP8 (RFC 7741 §4.2): the payload descriptor as Chrome sends it without
// temporal layers: X=1, S on the first packet of a frame, partition 0,
// I=1 with a 15-bit picture id. The first packet of a frame then carries
// the VP8 frame header (RFC 6386 §9.1): a 3-byte frame tag whose P bit is 0
// for a keyframe, and for keyframes the start code 9d 01 2a and the size.
func vp8Payload(counter, frame int, first, key bool) []byte {
	b := make([]byte, 0, 1024)
	d0 := byte(0x80) // X
	if first {
		d0 |= 0x10 // S, partition 0
	}
	pid := uint16(frame) & 0x7fff
	b = append(b, d0, 0x80, 0x80|byte(pid>>8), byte(pid))
	if first {
		tag := uint32(100)<<5 | 1<<4 // first partition size, show_frame
		if !key {
			tag |= 1 // P: interframe
		}
		b = append(b, byte(tag), byte(tag>>8), byte(tag>>16))
		if key {
			b = append(b, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01) // 640×480
		}
	}
	return appendBody(b, counter, 200+counter*37%600)
}

// opusPayload: one TOC byte (RFC 6716 §3.1: config 15, hybrid fullband
// 20 ms, mono, one frame), then the counter and filler.
func opusPayload(counter int) []byte {
	return appendBody([]byte{15 << 3}, counter, 40+counter%80)
}

func appendBody(b []byte, counter, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(counter))
	for j := range n {
		b = append(b, byte(counter*7+j*13+5))
	}
	return b
}

// parseVP8 finds the counter in a VP8 payload by walking the payload
// descriptor (whatever extensions it has) and the frame header, and says
// whether the packet starts a keyframe.
func parseVP8(b []byte) (counter int, keyStart, ok bool) {
	if len(b) < 1 {
		return 0, false, false
	}
	i := 1
	if b[0]&0x80 != 0 { // X
		if len(b) < 2 {
			return 0, false, false
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I
			if len(b) <= i {
				return 0, false, false
			}
			if b[i]&0x80 != 0 { // M: 15-bit picture id
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L
			i++
		}
		if ext&0x30 != 0 { // T or K
			i++
		}
	}
	if len(b) <= i {
		return 0, false, false
	}
	if b[0]&0x10 != 0 && b[0]&0x07 == 0 { // S, partition 0: a frame header follows
		keyStart = b[i]&0x01 == 0
		if keyStart {
			i += 10
		} else {
			i += 3
		}
	}
	if len(b) < i+4 {
		return 0, false, false
	}
	return int(binary.BigEndian.Uint32(b[i:])), keyStart, true
}

func parseOpus(b []byte) (int, bool) {
	if len(b) < 5 {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(b[1:])), true
}

// mediaOptions describe what publishMedia sends.
type mediaOptions struct {
	video, audio bool
	// frames is how many frames (and audio packets) to send; 0 sends until stop.
	frames int
	// interval between frames (default 20 ms).
	interval time.Duration
	// keyEvery: a keyframe every this many frames (default 30), besides the
	// first frame and one after every keyframe request.
	keyEvery int
}

// mediaPublisher sends synthetic media on a client's published tracks.
type mediaPublisher struct {
	video, audio       *client.LocalTrack
	videoLog, audioLog *sentLog
	pli                atomic.Bool  // a keyframe request is pending
	keyframes          atomic.Int64 // keyframes sent
	stopc, done        chan struct{}
	stopOnce           sync.Once
	err                atomic.Pointer[error]
}

// publishMedia publishes the tracks and starts sending. Sequence numbers and
// timestamps start just before they wrap, so forwarding across the wrap is
// exercised too. Sending stops (at the latest) when the test ends.
func publishMedia(t *testing.T, ctx context.Context, c *client.Client, o mediaOptions) *mediaPublisher {
	t.Helper()
	if o.interval <= 0 {
		o.interval = 20 * time.Millisecond
	}
	if o.keyEvery <= 0 {
		o.keyEvery = 30
	}
	m := &mediaPublisher{videoLog: &sentLog{}, audioLog: &sentLog{}, stopc: make(chan struct{}), done: make(chan struct{})}
	var err error
	if o.video {
		m.video, err = c.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "camera", Width: 640, Height: 480,
			OnKeyframeRequest: func(string) { m.pli.Store(true) }})
		if err != nil {
			t.Fatalf("%s: publishing video: %v", c.Identity(), err)
		}
	}
	if o.audio {
		m.audio, err = c.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus, Name: "microphone"})
		if err != nil {
			t.Fatalf("%s: publishing audio: %v", c.Identity(), err)
		}
	}
	t.Cleanup(m.stop)
	go m.run(o)
	return m
}

func (m *mediaPublisher) run(o mediaOptions) {
	defer close(m.done)
	defer m.videoLog.finish()
	defer m.audioLog.finish()
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	vseq, aseq := uint16(65000), uint16(65500)
	vts0, ats0 := uint32(0xffffffff-200_000), uint32(0xffffffff-50_000)
	fail := func(err error) {
		if !errors.Is(err, client.ErrClosed) {
			m.err.CompareAndSwap(nil, &err)
		}
	}
	for f := 0; o.frames == 0 || f < o.frames; f++ {
		select {
		case <-m.stopc:
			return
		case <-tick.C:
		}
		if m.video != nil {
			key := f%o.keyEvery == 0
			if m.pli.Swap(false) {
				key = true
			}
			if key {
				m.keyframes.Add(1)
			}
			n := 2
			if key {
				n = 3
			}
			ts := vts0 + uint32(f)*3000
			for i := range n {
				counter := m.videoLog.next()
				sp := sentPacket{payload: vp8Payload(counter, f, i == 0, key), ts: ts, marker: i == n-1, keyStart: key && i == 0}
				m.videoLog.add(sp)
				if err := m.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: vseq, Timestamp: ts, Marker: sp.marker}, Payload: sp.payload}); err != nil {
					fail(err)
				}
				vseq++
			}
		}
		if m.audio != nil {
			counter := m.audioLog.next()
			sp := sentPacket{payload: opusPayload(counter), ts: ats0 + uint32(counter)*960}
			m.audioLog.add(sp)
			if err := m.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: sp.ts}, Payload: sp.payload}); err != nil {
				fail(err)
			}
			aseq++
		}
	}
}

// stop stops sending and waits for the sender; safe to call more than once.
func (m *mediaPublisher) stop() {
	m.stopOnce.Do(func() { close(m.stopc) })
	<-m.done
}

// wait waits for a fixed number of frames to have been sent.
func (m *mediaPublisher) wait(ctx context.Context) error {
	select {
	case <-m.done:
		if p := m.err.Load(); p != nil {
			return *p
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type streamResult struct {
	got, first int
	err        error
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// checkStream reads rt until the publisher has finished and the last packet
// it sent has arrived. Every packet must be exactly what was sent under its
// counter, with its marker bit; the first video packet must start a
// keyframe; from then on no packet may be missing or out of order, and the
// RTP sequence numbers and timestamp steps must follow the publisher's.
func checkStream(ctx context.Context, rt *client.RemoteTrack, log *sentLog, video bool) streamResult {
	res := streamResult{first: -1}
	prev := -1
	var prevSeq uint16
	var prevTS uint32
	fail := func(format string, args ...any) streamResult {
		n, _ := log.final()
		res.err = fmt.Errorf("%s track %s, after %d packets (last #%d, %d sent): %s",
			rt.Kind(), rt.SID(), res.got, prev, n, fmt.Sprintf(format, args...))
		return res
	}
	for {
		if n, done := log.final(); done && prev == n-1 {
			return res
		}
		if ctx.Err() != nil {
			return fail("%v", ctx.Err())
		}
		_ = rt.Track().SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		p, err := rt.ReadRTP()
		if isTimeout(err) {
			continue
		}
		if err != nil {
			return fail("read: %v", err)
		}
		if len(p.Payload) == 0 {
			continue // padding-only
		}
		var i int
		var ok bool
		if video {
			i, _, ok = parseVP8(p.Payload)
		} else {
			i, ok = parseOpus(p.Payload)
		}
		sp, known := log.get(i)
		if !ok || !known {
			return fail("unrecognised payload % x", p.Payload[:min(16, len(p.Payload))])
		}
		if !bytes.Equal(p.Payload, sp.payload) {
			return fail("packet #%d: payload changed in transit", i)
		}
		if p.Marker != sp.marker {
			return fail("packet #%d: marker bit %v, sent %v", i, p.Marker, sp.marker)
		}
		if prev < 0 {
			if video && !sp.keyStart {
				return fail("the first video packet, #%d, does not start a keyframe", i)
			}
			res.first = i
		} else {
			prevSent, _ := log.get(prev)
			switch {
			case i != prev+1:
				return fail("packet #%d after #%d", i, prev)
			case p.SequenceNumber != prevSeq+1:
				return fail("packet #%d: RTP sequence number %d after %d", i, p.SequenceNumber, prevSeq)
			case p.Timestamp-prevTS != sp.ts-prevSent.ts:
				return fail("packet #%d: timestamp step %d, sent %d", i, p.Timestamp-prevTS, sp.ts-prevSent.ts)
			}
		}
		prev, prevSeq, prevTS = i, p.SequenceNumber, p.Timestamp
		res.got++
	}
}

// TestMediaFanout: one teacher publishes VP8 and Opus; three students
// receive every packet after they start (video from a keyframe), intact and
// in order.
func TestMediaFanout(t *testing.T) {
	t.Parallel()
	testMediaFanout(t, startServer(t))
}

// TestMediaFanoutBatched: the same with the media port's sends batched
// (sendmmsg) and segmented (UDP GSO, where the kernel has it).
func TestMediaFanoutBatched(t *testing.T) {
	t.Parallel()
	testMediaFanout(t, startServer(t, func(c *config.Config, _ *server.Params) {
		c.RTC.UDPBatchSize, c.RTC.UDPBatchFlushMicros, c.RTC.UDPGSO = 64, 500, true
	}))
}

func testMediaFanout(t *testing.T, srv *testServer) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pub := join(t, ctx, srv, mint(t, "fanout", "teacher", token.RoleTeacher), client.Options{})
	var subs []*client.Client
	for i := range 3 {
		s := join(t, ctx, srv, mint(t, "fanout", fmt.Sprintf("student%d", i), token.RoleStudent), client.Options{AutoSubscribe: true})
		if err := s.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	const frames = 150
	m := publishMedia(t, ctx, pub, mediaOptions{video: true, audio: true, frames: frames, interval: 15 * time.Millisecond})

	type result struct {
		who  string
		kind webrtc.RTPCodecType
		streamResult
	}
	results := make(chan result, 2*len(subs))
	for _, s := range subs {
		for _, lt := range []*client.LocalTrack{m.video, m.audio} {
			rt, err := s.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == lt.SID() })
			if err != nil {
				t.Fatalf("%s waiting for track %s: %v", s.Identity(), lt.SID(), err)
			}
			if rt.ParticipantSID() != pub.SID() || rt.Identity() != "teacher" {
				t.Errorf("%s: track %s from %s (%q), want the teacher %s", s.Identity(), rt.SID(), rt.ParticipantSID(), rt.Identity(), pub.SID())
			}
			video := rt.Kind() == webrtc.RTPCodecTypeVideo
			if want := map[bool]string{true: webrtc.MimeTypeVP8, false: webrtc.MimeTypeOpus}[video]; rt.Codec().MimeType != want {
				t.Errorf("%s: track %s codec %s, want %s", s.Identity(), rt.SID(), rt.Codec().MimeType, want)
			}
			log := m.audioLog
			if video {
				log = m.videoLog
			}
			go func() { results <- result{s.Identity(), rt.Kind(), checkStream(ctx, rt, log, video)} }()
		}
	}
	for range 2 * len(subs) {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v", r.who, r.err)
			continue
		}
		total := frames
		if r.kind == webrtc.RTPCodecTypeVideo {
			total, _ = m.videoLog.final()
		}
		t.Logf("%s %s: %d of %d packets, from #%d", r.who, r.kind, r.got, total, r.first)
		if r.got < total/2 {
			t.Errorf("%s %s: only %d of %d packets", r.who, r.kind, r.got, total)
		}
	}
	if err := m.wait(ctx); err != nil {
		t.Errorf("sending: %v", err)
	}
}

// TestICETCP: clients that have no UDP at all publish and receive over
// ICE-TCP (RFC 6544) to the server's TCP listener.
func TestICETCP(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: raw}
	srv := startServer(t, withTCP(ln))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	tcpOnly := client.Options{SettingEngine: loopbackTCP}
	pub := join(t, ctx, srv, mint(t, "tcp", "teacher", token.RoleTeacher), tcpOnly)
	tcpOnly.AutoSubscribe = true
	sub := join(t, ctx, srv, mint(t, "tcp", "student", token.RoleStudent), tcpOnly)
	if err := sub.WaitConnected(ctx); err != nil {
		t.Fatalf("TCP-only subscriber: %v", err)
	}
	m := publishMedia(t, ctx, pub, mediaOptions{video: true, audio: true, frames: 100, interval: 15 * time.Millisecond})
	var wg sync.WaitGroup
	for _, lt := range []*client.LocalTrack{m.video, m.audio} {
		rt, err := sub.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == lt.SID() })
		if err != nil {
			t.Fatal(err)
		}
		video := lt == m.video
		log := m.audioLog
		if video {
			log = m.videoLog
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := checkStream(ctx, rt, log, video)
			if r.err != nil {
				t.Errorf("over TCP: %v", r.err)
			} else if r.got < 50 {
				t.Errorf("over TCP: %s: only %d packets", rt.Kind(), r.got)
			}
		}()
	}
	wg.Wait()
	if err := m.wait(ctx); err != nil {
		t.Errorf("sending: %v", err)
	}
	if n := ln.accepted.Load(); n < 2 {
		t.Errorf("the server's ICE-TCP listener accepted %d connections, want at least 2 (publisher and subscriber)", n)
	}
}

type countingListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// TestMetricsLive: while a class runs, the gauges count its room,
// participants, tracks and subscriptions and the packet counters grow; when
// everyone has left, the gauges are back to zero.
func TestMetricsLive(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withEmptyTimeout(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := join(t, ctx, srv, mint(t, "metrics", "teacher", token.RoleTeacher), client.Options{})
	var subs []*client.Client
	for i := range 2 {
		s := join(t, ctx, srv, mint(t, "metrics", fmt.Sprintf("student%d", i), token.RoleStudent), client.Options{AutoSubscribe: true})
		subs = append(subs, s)
	}
	join(t, ctx, srv, mint(t, "metrics-other", "alone", token.RoleStudent), client.Options{})
	m := publishMedia(t, ctx, pub, mediaOptions{video: true, audio: true})
	for _, s := range subs {
		for _, lt := range []*client.LocalTrack{m.video, m.audio} {
			if _, err := s.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == lt.SID() }); err != nil {
				t.Fatal(err)
			}
		}
	}
	in, out := `yunke_rtp_packets_total{direction="in"}`, `yunke_rtp_packets_total{direction="out"}`
	first := waitMetrics(t, srv, 10*time.Second, "a live class", func(v map[string]float64) bool {
		return v["yunke_rooms"] == 2 && v["yunke_participants"] == 4 && v["yunke_tracks"] == 2 &&
			v["yunke_subscriptions"] == 4 && v[in] > 0 && v[out] > 0
	})
	waitMetrics(t, srv, 10*time.Second, "packet counters growing", func(v map[string]float64) bool {
		return v[in] > first[in] && v[out] > first[out] &&
			v[`yunke_rtp_bytes_total{direction="in"}`] > first[`yunke_rtp_bytes_total{direction="in"}`] &&
			v[`yunke_rtp_bytes_total{direction="out"}`] > first[`yunke_rtp_bytes_total{direction="out"}`]
	})
	m.stop()
	pub.Close()
	waitMetrics(t, srv, 10*time.Second, "tracks gone with their publisher", func(v map[string]float64) bool {
		return v["yunke_participants"] == 3 && v["yunke_tracks"] == 0 && v["yunke_subscriptions"] == 0
	})
	for _, s := range subs {
		s.Close()
	}
	// The empty room is kept for a second (room.empty_timeout), then closed.
	last := waitMetrics(t, srv, 10*time.Second, "one room left", func(v map[string]float64) bool {
		return v["yunke_rooms"] == 1 && v["yunke_participants"] == 1
	})
	// No packet goes out more than once per subscriber (nothing is lost on
	// loopback, so there are no NACKs to answer).
	if last[out] > 2*last[in] {
		t.Errorf("%v packets in, %v out; want at most 2×in for two subscribers", last[in], last[out])
	}
	if d := last[`yunke_rtp_packets_dropped_total{reason="queue_full"}`]; d != 0 {
		t.Errorf("%v packets dropped for full queues with healthy subscribers", d)
	}
}
