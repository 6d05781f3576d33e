package sfu

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

const (
	// defaultQueueSize bounds a subscriber's queue: ~1.5 s of 1.5 Mbit/s video.
	defaultQueueSize = 256
	// historySize is how many sent packets a DownTrack remembers for NACKs.
	historySize = 1024
	// layerWindow: a layer that sent nothing for this long is considered paused.
	layerWindow = 1500 * time.Millisecond
	// selectInterval is how often a video subscriber re-evaluates its layer.
	selectInterval = 500 * time.Millisecond
	// batchSize is how many queued entries the writer takes per lock.
	batchSize = 32
	// maxResends caps how often one packet is resent to one subscriber, and
	// resendGap is the least time between two resends of it: a receiver that
	// keeps losing the same packet is overloaded, and resending more only
	// deepens that (a NACK storm).
	maxResends = 2
	resendGap  = 50 * time.Millisecond
	// maxQueueDelay bounds the time a video packet may wait in a
	// subscriber's queue: older video is stale, and the subscriber is better
	// served by the next keyframe than by catching up late.
	maxQueueDelay = 400 * time.Millisecond
	// paddingSize is the size of one probe padding packet's payload, all
	// padding (RFC 3550 §5.1: the last octet counts the padding octets).
	paddingSize = 255
	// maxPaddingOwed caps padding requested but not yet sent.
	maxPaddingOwed = 32 * 1024
	// maxPaddingBurst caps padding packets sent back to back.
	maxPaddingBurst = 16
	// lossFresh: a receiver report older than this no longer counts.
	lossFresh = 5 * time.Second
	// resendWindow and resendShare bound resends to a share of what was
	// forwarded to the subscriber lately (plus resendFloor for quiet tracks).
	resendWindow = time.Second
	resendShare  = 4 // at most 1 resend per 4 forwarded packets
	resendFloor  = 20
)

// RTCPReader reads RTCP sent by a subscriber about one track; *webrtc.RTPSender is one.
type RTCPReader interface {
	Read(b []byte) (int, interceptor.Attributes, error)
	Stop() error
}

// DownTrackParams configure a DownTrack.
type DownTrackParams struct {
	// QueueSize bounds the subscriber's packet queue (default 256).
	QueueSize int
	Logger    *slog.Logger
	// Direct, when set and true, lets the publisher's read goroutine write
	// a packet to this subscriber itself when nothing is queued for it,
	// instead of handing it to the DownTrack's writer goroutine. Set it
	// only while the subscriber's transport never blocks a write (UDP):
	// a blocked write there would hold up every subscriber of the track.
	Direct *atomic.Bool
}

// DownTrack forwards one Track to one subscriber. It implements
// webrtc.TrackLocal: add it to the subscriber's PeerConnection, then call
// Start with the returned RTPSender.
type DownTrack struct {
	t   *Track
	log *slog.Logger
	m   *Metrics

	bound atomic.Pointer[binding]

	q      queue
	direct *atomic.Bool
	// writing is true while a writer goroutine runs; life orders starting
	// one against Close.
	writing atomic.Bool
	life    sync.Mutex
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	started atomic.Bool
	closed  atomic.Bool
	sender  RTCPReader

	maxLayer atomic.Int32
	paused   atomic.Bool
	reselect atomic.Bool
	curLayer atomic.Int32

	// Receiver report figures, from the subscriber's RTCP.
	fractionLost atomic.Uint32
	jitter       atomic.Uint32
	reportAt     atomic.Int64

	// sub is the allocator this DownTrack's bandwidth comes from, if any;
	// alloc is its decision: the highest layer allowed, or -1 (paused for
	// bandwidth). padOwed is probe padding still to send, in bytes.
	sub     atomic.Pointer[Subscriber]
	alloc   atomic.Int32
	padOwed atomic.Int64

	// wmu is held by whoever writes to the subscriber: the writer
	// goroutine, or a publisher's read goroutine writing directly. It
	// guards w.
	wmu sync.Mutex
	w   writerState
}

type binding struct {
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
	// red: Opus is sent as RED (RFC 2198) with payload type pt, each
	// packet carrying the previous one; opusPT is Opus's payload type
	// inside it.
	red    bool
	opusPT uint8
	// absSendTime is the negotiated ID of the absolute send time header
	// extension (0: none), which a subscriber's receiver-side bandwidth
	// estimate is made from.
	absSendTime uint8
	// transportCC is the negotiated ID of the transport-wide sequence
	// number extension (0: none), which the subscriber's TWCC feedback
	// reports on.
	transportCC uint8
}

type writerState struct {
	current, target int
	resync          bool // after a queue overflow: wait for a keyframe on current
	started         bool
	clock           int64 // RTP clock rate of the codec
	seqOff          uint16
	tsOff           uint32
	lastSeq         uint16
	lastTS          uint32
	lastArrival     int64
	baseSeq         [MaxLayers]uint16 // first input sequence after the last re-base, per layer
	lastPLI         int64
	hdr             rtp.Header
	absSendTime     [3]byte // the header's absolute send time extension
	transportSeq    [2]byte // the header's transport-wide sequence number
	history         [historySize]sent
	// Resend budget over the current window.
	windowStart  int64
	windowSent   int
	windowResent int
	batch        [batchSize]entry
	frameEnded   bool // the last packet forwarded ended a frame (marker)
	// RED: the last Opus payload sent, for the next packet's redundancy.
	redPrev    [redMaxBlock]byte
	redPrevLen int
	redPrevSeq uint16
	redPrevTS  uint32
	redPrevOK  bool
	redBuf     [redMaxPayload]byte
}

// RED bounds: a redundant block's length has 10 bits and its timestamp
// offset 14 (RFC 2198 §3); a RED payload stays well inside the MTU.
const (
	redMaxBlock   = 1023
	redMaxOffset  = 1 << 14
	redMaxPayload = 1200
)

// encodeRED wraps an Opus payload sent as seq/ts in RED, with the
// previous packet as redundancy when it is the one just before (a resend
// or a packet after a gap goes alone).
func (w *writerState) encodeRED(opus []byte, seq uint16, ts uint32, pt uint8) []byte {
	out := w.redBuf[:0]
	prev := w.redPrev[:w.redPrevLen]
	if off := ts - w.redPrevTS; w.redPrevOK && w.redPrevSeq == seq-1 && off > 0 && off < redMaxOffset &&
		5+len(prev)+len(opus) <= redMaxPayload {
		n := len(prev)
		out = append(out, 0x80|pt, byte(off>>6), byte(off<<2)|byte(n>>8), byte(n), pt)
		out = append(out, prev...)
	} else {
		out = append(out, pt)
	}
	if len(out)+len(opus) > redMaxPayload {
		return nil
	}
	out = append(out, opus...)
	if !w.redPrevOK || int16(seq-w.redPrevSeq) > 0 {
		w.redPrevOK = len(opus) <= redMaxBlock
		w.redPrevLen = copy(w.redPrev[:], opus)
		w.redPrevSeq, w.redPrevTS = seq, ts
	}
	return out
}

// sent remembers how one output sequence number maps to its input packet.
type sent struct {
	outSeq uint16
	inSeq  uint16
	ts     uint32
	layer  int8
	valid  bool
	// resends and lastResend limit how often this packet is resent.
	resends    uint8
	lastResend int64
}

// NewDownTrack creates a subscriber's view of t.
func (t *Track) NewDownTrack(p DownTrackParams) (*DownTrack, error) {
	if p.QueueSize <= 0 {
		p.QueueSize = defaultQueueSize
	}
	if p.Logger == nil {
		p.Logger = t.log
	}
	d := &DownTrack{
		t:      t,
		log:    p.Logger,
		m:      t.p.Metrics,
		q:      newQueue(p.QueueSize),
		direct: p.Direct,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	d.maxLayer.Store(MaxLayers - 1)
	d.alloc.Store(MaxLayers - 1)
	d.curLayer.Store(-1)
	d.w.current, d.w.target = -1, -1
	d.w.clock = int64(t.p.Codec.ClockRate)
	if d.w.clock == 0 {
		d.w.clock = 90000
	}
	if err := t.register(d); err != nil {
		return nil, err
	}
	d.m.DownTracks.Add(1)
	return d, nil
}

// Track is the source track.
func (d *DownTrack) Track() *Track { return d.t }

// ID implements webrtc.TrackLocal.
func (d *DownTrack) ID() string { return d.t.p.ID }

// RID implements webrtc.TrackLocal (a subscriber receives one stream).
func (d *DownTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *DownTrack) StreamID() string { return d.t.p.StreamID }

// Kind implements webrtc.TrackLocal.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.t.p.Kind }

// Bind implements webrtc.TrackLocal: the subscriber's transport is ready.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	if c, opus, ok := redFor(d.t.p.Codec.MimeType, ctx.CodecParameters()); ok {
		d.bound.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), writer: ctx.WriteStream(), red: true, opusPT: opus,
			absSendTime: extensionID(ctx, sdp.ABSSendTimeURI), transportCC: extensionID(ctx, sdp.TransportCCURI)})
		d.reselect.Store(true)
		d.nudge()
		return c, nil
	}
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.t.p.Codec.MimeType) {
			d.bound.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), writer: ctx.WriteStream(),
				absSendTime: extensionID(ctx, sdp.ABSSendTimeURI), transportCC: extensionID(ctx, sdp.TransportCCURI)})
			d.reselect.Store(true)
			d.nudge()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// extensionID is the ID the header extension uri was negotiated with for
// this track, or 0 (none, or not a one-byte ID).
func extensionID(ctx webrtc.TrackLocalContext, uri string) uint8 {
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == uri && e.ID > 0 && e.ID < 15 {
			return uint8(e.ID)
		}
	}
	return 0
}

// stampSendTime sets the header's absolute send time (seconds in 6.18
// fixed point, modulo 64 s) to now, when the subscriber negotiated it.
func (w *writerState) stampSendTime(b *binding) {
	if b.absSendTime == 0 {
		return
	}
	now := nanotime()
	v := uint64(now/int64(time.Second))&63<<18 | uint64(now%int64(time.Second))<<18/uint64(time.Second)
	w.absSendTime = [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
	_ = w.hdr.SetExtension(b.absSendTime, w.absSendTime[:])
}

// stampTransportSeq gives the header, about to be sent with payloadLen
// bytes of payload, the next transport-wide sequence number of the
// subscriber's PeerConnection and records it in the send-side estimator,
// when both were negotiated. Nothing is allocated: the extension's payload
// is the writer's own array.
func (d *DownTrack) stampTransportSeq(b *binding, payloadLen int) {
	if b.transportCC == 0 {
		return
	}
	s := d.sub.Load()
	if s == nil || s.rec == nil {
		return
	}
	w := &d.w
	// Set first, so that the size recorded counts the extension.
	if err := w.hdr.SetExtension(b.transportCC, w.transportSeq[:]); err != nil {
		return
	}
	seq := s.rec.Sent(w.hdr.MarshalSize()+payloadLen, nanotime())
	w.transportSeq = [2]byte{byte(seq >> 8), byte(seq)}
}

// redFor finds, for an Opus track, the RED codec the subscriber accepts
// over Opus (its format line names Opus's payload type) and that type.
func redFor(mime string, codecs []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, uint8, bool) {
	if !strings.EqualFold(mime, webrtc.MimeTypeOpus) {
		return webrtc.RTPCodecParameters{}, 0, false
	}
	var red *webrtc.RTPCodecParameters
	opus := -1
	for i, c := range codecs {
		switch {
		case strings.EqualFold(c.MimeType, MimeTypeRED):
			red = &codecs[i]
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) && opus < 0:
			opus = int(c.PayloadType)
		}
	}
	if red == nil || opus < 0 {
		return webrtc.RTPCodecParameters{}, 0, false
	}
	pt := strconv.Itoa(opus)
	if red.SDPFmtpLine != pt+"/"+pt {
		return webrtc.RTPCodecParameters{}, 0, false
	}
	return *red, uint8(opus), true
}

// Unbind implements webrtc.TrackLocal.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(nil)
	return nil
}

// Start begins forwarding; sender is what AddTrack returned for this DownTrack.
func (d *DownTrack) Start(sender RTCPReader) {
	if d.closed.Load() || !d.started.CompareAndSwap(false, true) {
		return
	}
	d.sender = sender
	// Attach to the source now (if bound), so forwarding starts with the
	// next packet.
	d.reselect.Store(false)
	d.wmu.Lock()
	d.selectLayer()
	d.wmu.Unlock()
	d.wg.Add(1)
	go d.readRTCP()
	if d.t.p.Kind == webrtc.RTPCodecTypeVideo {
		d.t.startTicks()
	}
	if d.pending() {
		d.nudge() // what was asked before Start
	}
}

// SetMaxLayer caps the simulcast layer the subscriber receives (0..2),
// e.g. from the size of the video element it is shown in.
func (d *DownTrack) SetMaxLayer(l int) {
	l = min(max(l, 0), MaxLayers-1)
	if d.maxLayer.Swap(int32(l)) != int32(l) {
		d.reselect.Store(true)
		d.nudge()
	}
}

// SetPaused stops (true) or resumes (false) forwarding without tearing the
// subscription down; resuming waits for a keyframe.
func (d *DownTrack) SetPaused(p bool) {
	if d.paused.Swap(p) != p {
		d.reselect.Store(true)
		d.nudge()
	}
}

// setAllocated applies the allocator's decision: layers up to l, or none.
func (d *DownTrack) setAllocated(l int) {
	l = min(max(l, -1), MaxLayers-1)
	if d.alloc.Swap(int32(l)) != int32(l) {
		d.reselect.Store(true)
		d.nudge()
	}
}

// Allocated is the highest layer the bandwidth allocator allows, or -1
// when the video is paused for bandwidth.
func (d *DownTrack) Allocated() int { return int(d.alloc.Load()) }

// wantedLayers is, for a video, the lowest published layer and the highest
// one the client asked for (both -1 when it wants none or none exists).
func (d *DownTrack) wantedLayers() (lo, want int) {
	if d.paused.Load() {
		return -1, -1
	}
	lo, want = -1, -1
	maxL := int(d.maxLayer.Load())
	for i := range MaxLayers {
		if !d.t.hasLayer(i) {
			continue
		}
		if lo < 0 {
			lo = i
		}
		if i <= maxL || want < 0 {
			want = i
		}
	}
	return lo, want
}

// recentLoss is the subscriber's last reported loss fraction (/256) if
// that report is recent, else 0.
func (d *DownTrack) recentLoss(now int64) uint8 {
	at := d.reportAt.Load()
	if at == 0 || now-at > int64(lossFresh) {
		return 0
	}
	return uint8(d.fractionLost.Load())
}

// addPadding asks the writer to send about n bytes of probe padding.
func (d *DownTrack) addPadding(n int) {
	if n <= 0 || d.padOwed.Load() > maxPaddingOwed {
		return
	}
	d.padOwed.Add(int64(n))
	d.nudge()
}

// Layer is the simulcast layer currently forwarded, or -1.
func (d *DownTrack) Layer() int { return int(d.curLayer.Load()) }

// FractionLost is the subscriber's last reported loss fraction (RFC 3550 §6.4.1, /256).
func (d *DownTrack) FractionLost() uint8 { return uint8(d.fractionLost.Load()) }

// Jitter is the subscriber's last reported interarrival jitter, in RTP
// timestamp units (RFC 3550 §6.4.1).
func (d *DownTrack) Jitter() uint32 { return d.jitter.Load() }

// Report is the subscriber's last receiver report for this stream, if it
// is recent: loss fraction (/256) and jitter (RTP timestamp units).
func (d *DownTrack) Report() (fractionLost uint8, jitter uint32, ok bool) {
	at := d.reportAt.Load()
	if at == 0 || nanotime()-at > int64(lossFresh) {
		return 0, 0, false
	}
	return uint8(d.fractionLost.Load()), d.jitter.Load(), true
}

// Close stops forwarding, releases queued packets and waits for the
// DownTrack's goroutines. Safe to call more than once.
func (d *DownTrack) Close() {
	d.life.Lock()
	closing := d.closed.CompareAndSwap(false, true)
	d.life.Unlock()
	if !closing {
		return
	}
	d.t.unregister(d)
	close(d.done)
	if d.started.Load() && d.sender != nil {
		_ = d.sender.Stop()
	}
	d.wg.Wait()
	d.q.drain()
	d.m.DownTracks.Add(-1)
}

// nudge gets the writer's work done: it wakes the writer goroutine, or
// starts one when none is running. A DownTrack has no writer goroutine while
// it has nothing to do (with direct forwarding, most of the time).
func (d *DownTrack) nudge() {
	if d.writing.CompareAndSwap(false, true) {
		d.life.Lock()
		if d.closed.Load() || !d.started.Load() {
			d.life.Unlock()
			d.writing.Store(false)
			return
		}
		d.wg.Add(1)
		d.life.Unlock()
		go d.run()
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// pending reports whether the writer has work waiting.
func (d *DownTrack) pending() bool {
	return !d.q.empty() || d.reselect.Load() || d.padOwed.Load() > 0
}

// deliver is called on the publisher's read goroutine for each packet of a
// layer this subscriber receives. On a transport whose writes do not block,
// with nothing queued and no other writer at work, it forwards the packet
// at once: no queue, no wake-up of the writer goroutine. Otherwise the
// packet is queued for the writer goroutine, in order behind what is
// there. It never waits for another writer.
func (d *DownTrack) deliver(p *Packet, direct bool) {
	if direct && d.direct != nil && d.direct.Load() && d.wmu.TryLock() {
		if d.q.empty() && d.started.Load() && !d.closed.Load() {
			if d.reselect.Swap(false) {
				d.selectLayer()
			}
			if d.forward(p, false) {
				d.m.DirectOut.Add(1)
			}
			pad := d.padOwed.Load() > 0
			d.wmu.Unlock()
			if pad {
				d.nudge()
			}
			return
		}
		d.wmu.Unlock()
	}
	d.enqueue(p)
}

// enqueue is called on the publisher's read goroutine: never blocks.
func (d *DownTrack) enqueue(p *Packet) {
	p.Retain()
	if !d.q.push(entry{p: p}) {
		p.Release()
		d.m.drop(DropQueueFull)
		return
	}
	d.nudge()
}

// run is the DownTrack's writer goroutine, started by nudge: it works
// until nothing is left, then exits. Work that arrives as it stops either
// starts the next writer (nudge finds writing false) or is seen here.
func (d *DownTrack) run() {
	defer d.wg.Done()
	for {
		select {
		case <-d.done:
			d.writing.Store(false)
			return
		case <-d.wake: // covered by the work below
		default:
		}
		d.work()
		select {
		case <-d.wake:
			continue // more came in meanwhile
		default:
		}
		d.writing.Store(false)
		if !d.pending() || !d.writing.CompareAndSwap(false, true) {
			return
		}
	}
}

// tick is the video's periodic check, from its Track's tick loop: the
// layer choice again (layers come and go; a keyframe may still be due),
// done here when no writer is at work, else left to the writer.
func (d *DownTrack) tick() {
	if !d.wmu.TryLock() {
		d.reselect.Store(true)
		d.nudge()
		return
	}
	if d.closed.Load() {
		d.wmu.Unlock()
		return
	}
	d.reselect.Store(false)
	d.selectLayer()
	d.wmu.Unlock()
	if d.pending() {
		d.nudge()
	}
}

// work does the writer's work under wmu: a pending layer choice, what is
// queued, probe padding owed.
func (d *DownTrack) work() {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	// What this drain writes (a frame's packets, say) leaves as one burst.
	if b := d.t.p.Batch; b != nil && !d.q.empty() {
		b.Hold()
		defer b.Release()
	}
	if d.reselect.Swap(false) {
		d.selectLayer()
	}
	for {
		n := d.q.popBatch(d.w.batch[:])
		if n == 0 {
			break
		}
		for i := range n {
			e := &d.w.batch[i]
			if e.nack {
				d.answerNACK(e.pair)
			} else {
				d.forward(e.p, e.gap)
				e.p.Release()
			}
			*e = entry{}
		}
	}
	if d.padOwed.Load() > 0 {
		d.sendPadding()
	}
}

// selectLayer picks the layer to forward: the highest layer that is being
// received and does not exceed the subscriber's cap; if none fits, the
// lowest active one. The switch itself happens on the next keyframe of the
// target layer (see forward), so the decoder never sees a broken stream.
func (d *DownTrack) selectLayer() {
	w := &d.w
	if d.bound.Load() == nil {
		return
	}
	video := d.t.p.Kind == webrtc.RTPCodecTypeVideo
	if d.paused.Load() || (video && d.alloc.Load() < 0) {
		if w.target != -1 || w.current != -1 {
			w.target, w.current = -1, -1
			d.curLayer.Store(-1)
			d.t.setLayers(d, 0)
		}
		return
	}
	target := 0
	if video {
		now := nanotime()
		maxL := min(int(d.maxLayer.Load()), int(d.alloc.Load()))
		best, lowest, existing := -1, -1, -1
		for i := range MaxLayers {
			if !d.t.hasLayer(i) {
				continue
			}
			if i <= maxL || existing < 0 {
				existing = i
			}
			if d.t.layerSelectable(i, now, layerWindow) {
				if lowest < 0 {
					lowest = i
				}
				if i <= maxL {
					best = i
				}
			}
		}
		switch {
		case best >= 0:
			target = best
		case lowest >= 0:
			target = lowest
		case existing >= 0:
			target = existing
		default:
			return
		}
	}
	if target != w.target {
		w.target = target
		d.t.setLayers(d, layerMask(w.current, w.target))
		if target != w.current {
			d.requestKeyframe(target)
		}
		return
	}
	// Still waiting for a keyframe: ask again, politely.
	if w.target != w.current || w.resync {
		if nanotime()-w.lastPLI > int64(time.Second) {
			d.requestKeyframe(w.target)
		}
	}
}

func layerMask(a, b int) uint8 {
	var m uint8
	if a >= 0 {
		m |= 1 << a
	}
	if b >= 0 {
		m |= 1 << b
	}
	return m
}

func (d *DownTrack) requestKeyframe(layer int) {
	d.w.lastPLI = nanotime()
	d.t.requestKeyframe(layer)
}

// forward rewrites one packet for this subscriber and writes it; it
// reports whether the packet was sent.
func (d *DownTrack) forward(p *Packet, gap bool) (ok bool) {
	w := &d.w
	b := d.bound.Load()
	if b == nil {
		d.m.drop(DropNotBound)
		return false
	}
	video := d.t.p.Kind == webrtc.RTPCodecTypeVideo
	if gap && w.current >= 0 {
		// Our queue overflowed before this packet: the frame in flight is
		// broken. Video waits for a keyframe; audio just re-bases so the
		// subscriber sees no sequence gap it would NACK for in vain.
		if video {
			w.resync = true
			d.requestKeyframe(w.current)
		} else {
			w.rebase(p)
		}
	}
	if video && w.current >= 0 && nanotime()-p.Arrival > int64(maxQueueDelay) {
		// Stale: drop video up to the next keyframe rather than deliver it late.
		if !w.resync {
			w.resync = true
			d.requestKeyframe(w.current)
		}
		d.m.drop(DropTooLate)
		return false
	}
	l := int(p.Layer)
	switch {
	case l == w.current && !w.resync:
		if int16(p.Header.SequenceNumber-w.baseSeq[l]) < 0 {
			d.m.drop(DropStale)
			return false
		}
	case l == w.current && w.resync:
		if !p.Keyframe {
			d.m.drop(DropKeyframeWait)
			return false
		}
		w.resync = false
		w.rebase(p)
	case l == w.target && p.Keyframe:
		// Layer switch (or first packet): continue the subscriber's
		// sequence and timestamp lines from where they were.
		w.rebase(p)
		w.current = l
		d.curLayer.Store(int32(l))
		d.t.setLayers(d, layerMask(l, -1))
	default:
		return false // another layer, or the target before its keyframe
	}
	seq := p.Header.SequenceNumber + w.seqOff
	ts := p.Header.Timestamp + w.tsOff
	ok = d.write(b, p, seq, ts)
	if ok {
		w.history[seq%historySize] = sent{outSeq: seq, inSeq: p.Header.SequenceNumber, ts: ts, layer: p.Layer, valid: true}
		w.rollWindow(p.Arrival)
		w.windowSent++
	}
	if !w.started || int16(seq-w.lastSeq) > 0 {
		w.started = true
		w.lastSeq, w.lastTS, w.lastArrival = seq, ts, p.Arrival
		w.frameEnded = p.Header.Marker
	}
	return ok
}

// paddingPayload is a padding-only RTP payload: every octet is padding and
// the last one says how many there are (RFC 3550 §5.1).
var paddingPayload = func() (b [paddingSize]byte) {
	b[paddingSize-1] = paddingSize
	return b
}()

// sendPadding sends probe padding owed, as padding-only packets on this
// stream, between frames only (a receiver reassembling a frame never sees
// one inside it). Each takes the next sequence number and repeats the last
// timestamp, so the receiver's jitter and loss figures are unaffected.
func (d *DownTrack) sendPadding() {
	w := &d.w
	b := d.bound.Load()
	if b == nil || d.t.p.Kind != webrtc.RTPCodecTypeVideo {
		d.padOwed.Store(0)
		return
	}
	if w.current >= 0 && !w.frameEnded {
		return // mid-frame: wait for its end
	}
	if !w.started {
		w.started = true
		w.lastArrival = nanotime()
	}
	n := min(int(d.padOwed.Load()+paddingSize-1)/paddingSize, maxPaddingBurst)
	h := &d.w.hdr
	h.Version = 2
	h.Padding = true
	h.Marker = false
	h.PayloadType = b.pt
	h.Timestamp = w.lastTS
	h.SSRC = b.ssrc
	sent := 0
	for range n {
		h.SequenceNumber = w.lastSeq + 1
		w.stampSendTime(b)
		d.stampTransportSeq(b, len(paddingPayload))
		if _, err := b.writer.WriteRTP(h, paddingPayload[:]); err != nil {
			d.m.drop(DropWriteError)
			break
		}
		w.lastSeq++
		w.seqOff++
		sent++
	}
	h.Padding = false
	d.m.PaddingOut.Add(uint64(sent))
	if d.padOwed.Add(-int64(n*paddingSize)) < 0 {
		d.padOwed.Store(0)
	}
}

// rollWindow starts a new resend-budget window when the current one is over.
func (w *writerState) rollWindow(now int64) {
	if now-w.windowStart > int64(resendWindow) {
		w.windowStart, w.windowSent, w.windowResent = now, 0, 0
	}
}

// rebase makes p's output sequence number follow the last one sent, and its
// timestamp advance by the wall-clock time elapsed (RFC 3550 §5.1: the
// timestamp must track the sampling clock even across a source switch).
func (w *writerState) rebase(p *Packet) {
	w.baseSeq[p.Layer] = p.Header.SequenceNumber
	if !w.started {
		return // first packet: offsets stay zero
	}
	w.seqOff = w.lastSeq + 1 - p.Header.SequenceNumber
	elapsed := max((p.Arrival-w.lastArrival)*w.clock/int64(time.Second), 1)
	w.tsOff = w.lastTS + uint32(elapsed) - p.Header.Timestamp
}

// write sends one packet with a rewritten header; the header is the
// writer's scratch copy, so nothing is allocated here.
func (d *DownTrack) write(b *binding, p *Packet, seq uint16, ts uint32) bool {
	h := &d.w.hdr
	h.Version = 2
	h.Marker = p.Header.Marker
	h.PayloadType = b.pt
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.ssrc
	d.w.stampSendTime(b)
	payload := p.Payload
	if b.red {
		if payload = d.w.encodeRED(payload, seq, ts, b.opusPT); payload == nil {
			d.m.drop(DropWriteError)
			return false
		}
	}
	d.stampTransportSeq(b, len(payload))
	if _, err := b.writer.WriteRTP(h, payload); err != nil {
		d.m.drop(DropWriteError)
		return false
	}
	d.m.PacketsOut.Add(1)
	d.m.BytesOut.Add(uint64(len(payload) + 12))
	return true
}

// answerNACK resends what the subscriber lost from the source's packet
// cache, with the same output sequence number and timestamp as the first time.
func (d *DownTrack) answerNACK(pair rtcp.NackPair) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	w := &d.w
	now := nanotime()
	w.rollWindow(now)
	pair.Range(func(seq uint16) bool {
		d.m.NACKs.Add(1)
		s := &w.history[seq%historySize]
		if !s.valid || s.outSeq != seq {
			return true
		}
		if s.resends >= maxResends || (s.resends > 0 && now-s.lastResend < int64(resendGap)) ||
			w.windowResent >= w.windowSent/resendShare+resendFloor {
			d.m.NACKsLimited.Add(1)
			return true
		}
		p := d.t.cached(int(s.layer), s.inSeq)
		if p == nil {
			return true
		}
		if d.write(b, p, seq, s.ts) {
			d.m.NACKsAnswered.Add(1)
			s.resends++
			s.lastResend = now
			w.windowResent++
		}
		p.Release()
		return true
	})
}

// readRTCP handles the subscriber's feedback: keyframe requests go to the
// publisher (throttled there), NACKs are queued for the writer, receiver
// reports are recorded.
func (d *DownTrack) readRTCP() {
	defer d.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := d.sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pk := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.m.PLIsIn.Add(1)
				d.t.requestKeyframe(int(d.curLayer.Load()))
			case *rtcp.TransportLayerNack:
				for _, pair := range pk.Nacks {
					if d.q.push(entry{nack: true, pair: pair}) {
						d.nudge()
					}
				}
			case *rtcp.ReceiverReport:
				if b := d.bound.Load(); b != nil {
					for _, r := range pk.Reports {
						if r.SSRC == b.ssrc {
							d.fractionLost.Store(uint32(r.FractionLost))
							d.jitter.Store(r.Jitter)
							d.reportAt.Store(nanotime())
						}
					}
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if s := d.sub.Load(); s != nil {
					s.onREMB(pk.Bitrate)
				}
			case *rtcp.TransportLayerCC:
				if s := d.sub.Load(); s != nil {
					s.onTWCC(pk)
				}
			}
		}
	}
}
