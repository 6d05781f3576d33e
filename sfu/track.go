package sfu

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// MaxLayers is the number of simulcast layers a Track can carry (RIDs q, h, f).
const MaxLayers = 3

// keyframeInterval throttles keyframe requests to a publisher, per layer.
const keyframeInterval = 300 * time.Millisecond

// ErrTrackClosed is returned when subscribing to a track that has ended.
var ErrTrackClosed = errors.New("sfu: track closed")

// RTCPWriter sends RTCP to a publisher; *webrtc.PeerConnection is one.
type RTCPWriter interface {
	WriteRTCP(pkts []rtcp.Packet) error
}

// Remote is one received RTP stream; *webrtc.TrackRemote is one.
type Remote interface {
	Read(b []byte) (int, interceptor.Attributes, error)
	SSRC() webrtc.SSRC
}

// Tap observes every packet a Track receives, the way a subscriber does,
// without being part of the forwarding loop: recorders, speaking-activity
// samplers and statistics attach here.
type Tap interface {
	// OnPacket is called on the track's receive goroutine for every packet of
	// every layer. It must not block; to keep p past the call, Retain it
	// (and Release it later).
	OnPacket(p *Packet)
	// OnClose is called once when the track ends or the tap is removed.
	OnClose()
}

// TrackParams configure a Track.
type TrackParams struct {
	// ID is the track's identifier (the track sid); subscribers see it as the
	// MediaStreamTrack id.
	ID string
	// StreamID is what subscribers see as the media stream id.
	StreamID string
	Kind     webrtc.RTPCodecType
	// Codec is the codec the publisher negotiated.
	Codec webrtc.RTPCodecCapability
	// Publisher receives keyframe requests.
	Publisher RTCPWriter
	// CacheSize is the number of packets kept per layer for NACK answers.
	CacheSize int
	Metrics   *Metrics
	Logger    *slog.Logger
	// OnSubscribedLayers, when set, is called (never under a lock, possibly
	// concurrently) whenever the set of simulcast layers some subscriber
	// receives or is switching to may have changed; read it with
	// SubscribedLayers. This drives dynacast: a layer nobody receives is
	// paused at the publisher.
	OnSubscribedLayers func()
	// Batch, when set, is told when a packet's fan-out starts and ends, so
	// that the datagrams written to the subscribers directly meanwhile go
	// out together (udpbatch.Conn implements it).
	Batch Batcher
}

// directFanout is the fan-out from which a packet is handed to each
// subscriber's writer goroutine rather than written by the publisher's read
// goroutine (DownTrackParams.Direct): one goroutine writing a keyframe to
// hundreds of subscribers in a row starves everything else on its core for
// tens of milliseconds (their feedback, read late, looks like congestion:
// at 300 subscribers on one core it paused most of them), while on many
// cores the writers run in parallel. Each writer's drain is then one burst
// of the batch.
const directFanout = 128

// batchFanout is the fewest subscribers a packet's fan-out is batched for.
// Below it (a one-to-one tutoring room) the datagrams go out one by one:
// there a batch saves less than its flush costs (measured on loopback, see
// docs/benchmarks.md).
const batchFanout = 4

// Batcher groups writes: between Hold and Release, datagrams may wait to be
// sent together; Release sends them.
type Batcher interface {
	Hold()
	Release()
}

// Track is one published track with up to MaxLayers simulcast layers,
// forwarded to any number of DownTracks.
type Track struct {
	p   TrackParams
	log *slog.Logger

	layers [MaxLayers]atomic.Pointer[layer]
	// pubMask is the layer mask last requested from the publisher (bit 8
	// set once dynacast has spoken), see SetPublisherLayers.
	pubMask atomic.Uint32

	mu      sync.Mutex
	downs   map[*DownTrack]uint8 // subscriber → mask of layers it receives
	ticking bool                 // the tick loop runs (video, once subscribed)
	taps    atomic.Pointer[[]Tap]
	onClose []func()
	closed  bool
	readers int
	// hints are bitrates the publisher announced per layer (bits/s), used
	// until a layer's own rate is measured.
	hints [MaxLayers]atomic.Int64

	done chan struct{}
}

type layer struct {
	idx         int
	ssrc        uint32
	cache       *packetCache
	subs        atomic.Pointer[[]*DownTrack]
	lastArrival atomic.Int64
	lastPLI     atomic.Int64
	pliDeferred atomic.Bool // a request inside the throttle window is pending
	bytes       atomic.Uint64
	rate        rateMeter
}

// rateMeter turns a byte counter into a bitrate, sampled at most every
// rateWindow by whoever asks; a layer that went quiet (paused by dynacast)
// keeps its last rate, which is what resuming it will cost.
type rateMeter struct {
	mu        sync.Mutex
	lastBytes uint64
	lastTime  int64
	bps       int
}

// rateWindow is the least time between two bitrate samples of a layer.
const rateWindow = 500 * time.Millisecond

func (m *rateMeter) sample(total uint64, now int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastTime == 0 {
		m.lastBytes, m.lastTime = total, now
		return m.bps
	}
	if dt := now - m.lastTime; dt >= int64(rateWindow) {
		if d := total - m.lastBytes; d > 0 {
			bps := int(d * 8 * uint64(time.Second) / uint64(dt))
			if m.bps == 0 {
				m.bps = bps
			} else { // smooth over a few windows: keyframes are bursty
				m.bps = (m.bps + bps) / 2
			}
		}
		m.lastBytes, m.lastTime = total, now
	}
	return m.bps
}

// NewTrack creates a Track; packets flow once layers are added.
func NewTrack(p TrackParams) *Track {
	if p.CacheSize <= 0 {
		p.CacheSize = 500
	}
	if p.Metrics == nil {
		p.Metrics = new(Metrics)
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Track{
		p:     p,
		log:   p.Logger.With("track", p.ID),
		downs: make(map[*DownTrack]uint8),
		done:  make(chan struct{}),
	}
	t.taps.Store(&[]Tap{})
	p.Metrics.Tracks.Add(1)
	return t
}

// ID is the track's identifier.
func (t *Track) ID() string { return t.p.ID }

// Kind is audio or video.
func (t *Track) Kind() webrtc.RTPCodecType { return t.p.Kind }

// Codec is the publisher's codec.
func (t *Track) Codec() webrtc.RTPCodecCapability { return t.p.Codec }

// LayerForRID maps a simulcast RID to a layer index: q→0, h→1, f→2; an
// empty RID (no simulcast) is layer 0.
func LayerForRID(rid string) int {
	switch strings.ToLower(rid) {
	case "h", "1", "mid", "medium":
		return 1
	case "f", "2", "hi", "high", "full":
		return 2
	default:
		return 0
	}
}

// AddLayer starts receiving one stream of the track on its own goroutine.
// It returns ErrTrackClosed if the track has ended.
func (t *Track) AddLayer(idx int, r Remote) error {
	if idx < 0 || idx >= MaxLayers {
		idx = 0
	}
	l := &layer{idx: idx, ssrc: uint32(r.SSRC()), cache: newPacketCache(t.p.CacheSize)}
	l.subs.Store(&[]*DownTrack{})
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrTrackClosed
	}
	var subs []*DownTrack
	for d, mask := range t.downs {
		if mask&(1<<idx) != 0 {
			subs = append(subs, d)
		}
	}
	l.subs.Store(&subs)
	if old := t.layers[idx].Swap(l); old != nil {
		old.cache.close()
	}
	t.readers++
	downs := t.downTracksLocked()
	t.mu.Unlock()
	for _, d := range downs {
		d.nudge()
	}
	go t.readLoop(l, r)
	return nil
}

func (t *Track) downTracksLocked() []*DownTrack {
	out := make([]*DownTrack, 0, len(t.downs))
	for d := range t.downs {
		out = append(out, d)
	}
	return out
}

// readLoop is the forwarding loop of one layer: read, parse once, cache,
// hand the same packet to taps and to every subscriber's queue.
func (t *Track) readLoop(l *layer, r Remote) {
	defer t.readerDone()
	held := false
	defer func() {
		if held {
			t.p.Batch.Release()
		}
	}()
	m := t.p.Metrics
	audio := t.p.Kind == webrtc.RTPCodecTypeAudio
	mime := t.p.Codec.MimeType
	for {
		p := newPacket()
		n, _, err := r.Read(p.buf[:])
		if err != nil {
			p.Release()
			return
		}
		select {
		case <-t.done:
			p.Release()
			return
		default:
		}
		if err := p.parse(n); err != nil {
			m.drop(DropMalformed)
			p.Release()
			continue
		}
		p.Layer = int8(l.idx)
		p.Arrival = nanotime()
		p.Keyframe = audio || isKeyframeStart(mime, p.Payload)
		m.PacketsIn.Add(1)
		m.BytesIn.Add(uint64(n))
		l.bytes.Add(uint64(n))
		l.lastArrival.Store(p.Arrival)
		l.cache.put(p)
		for _, tap := range *t.taps.Load() {
			tap.OnPacket(p)
		}
		subs := *l.subs.Load()
		direct := len(subs) < directFanout
		if t.p.Batch != nil && direct && len(subs) >= batchFanout && !held {
			t.p.Batch.Hold()
			held = true
		}
		for _, d := range subs {
			d.deliver(p, direct)
		}
		// A video frame's packets are held until its last one (a batch's
		// flush timer bounds the wait), so that each subscriber's share
		// leaves as one segmented send; audio goes packet by packet.
		if held && (audio || p.Header.Marker) {
			t.p.Batch.Release()
			held = false
		}
		p.Release()
	}
}

func (t *Track) readerDone() {
	t.mu.Lock()
	t.readers--
	last := t.readers == 0
	t.mu.Unlock()
	if last {
		t.Close()
	}
}

// layerActive reports whether layer idx received a packet within window.
func (t *Track) layerActive(idx int, now int64, window time.Duration) bool {
	l := t.layers[idx].Load()
	if l == nil {
		return false
	}
	last := l.lastArrival.Load()
	return last != 0 && now-last < int64(window)
}

func (t *Track) hasLayer(idx int) bool { return t.layers[idx].Load() != nil }

// HasLayer reports whether the track receives simulcast layer idx.
func (t *Track) HasLayer(idx int) bool {
	return idx >= 0 && idx < MaxLayers && t.hasLayer(idx)
}

// Default per-layer bitrates (bits/s) until a layer is measured or hinted:
// roughly what browsers send for 180p, 360p and 720p camera video, and Opus.
var defaultVideoBitrates = [MaxLayers]int{150_000, 400_000, 1_200_000}

const defaultAudioBitrate = 48_000

// SetLayerBitrate records the bitrate (bits/s) the publisher announced for
// layer idx, used until the layer's real rate is measured.
func (t *Track) SetLayerBitrate(idx, bps int) {
	if idx >= 0 && idx < MaxLayers && bps > 0 {
		t.hints[idx].Store(int64(bps))
	}
}

// LayerBitrate is what forwarding layer idx costs a subscriber, in bits/s:
// the measured rate, else the publisher's announcement, else a default.
func (t *Track) LayerBitrate(idx int) int {
	if idx < 0 || idx >= MaxLayers {
		return 0
	}
	if l := t.layers[idx].Load(); l != nil {
		if bps := l.rate.sample(l.bytes.Load(), nanotime()); bps > 0 {
			return bps
		}
	}
	if h := t.hints[idx].Load(); h > 0 {
		return int(h)
	}
	if t.p.Kind == webrtc.RTPCodecTypeAudio {
		return defaultAudioBitrate
	}
	return defaultVideoBitrates[idx]
}

// SubscribedLayers is the mask of simulcast layers (bit i for layer i) that
// at least one subscriber receives or is switching to. While a tap (a
// recorder) is attached every published layer counts as subscribed.
func (t *Track) SubscribedLayers() uint8 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var m uint8
	if len(*t.taps.Load()) > 0 {
		for i := range MaxLayers {
			if t.layers[i].Load() != nil {
				m |= 1 << i
			}
		}
	}
	for _, mask := range t.downs {
		m |= mask
	}
	return m
}

// SetPublisherLayers records which layers the publisher was asked to send
// (bit i for layer i): a layer paused on purpose is still offered to
// subscribers' layer selection, so that asking for it resumes it.
func (t *Track) SetPublisherLayers(mask uint8) { t.pubMask.Store(uint32(mask) | 0x100) }

// layerSelectable reports whether a subscriber may target layer idx: it is
// flowing, or it exists and was paused at the publisher by dynacast.
func (t *Track) layerSelectable(idx int, now int64, window time.Duration) bool {
	if t.layerActive(idx, now, window) {
		return true
	}
	m := t.pubMask.Load()
	return m&0x100 != 0 && m&(1<<idx) == 0 && t.hasLayer(idx)
}

func (t *Track) notifyLayers() {
	if f := t.p.OnSubscribedLayers; f != nil {
		f()
	}
}

// RequestKeyframe asks the publisher for a keyframe on layer idx, throttled
// like subscribers' requests (see requestKeyframe). Observers such as a
// recorder call it when they start or after losing packets they cannot
// repair; it never blocks and does nothing for audio.
func (t *Track) RequestKeyframe(idx int) { t.requestKeyframe(idx) }

// Now is the current time on the clock of Packet.Arrival (monotonic
// nanoseconds), for observers that place packets on a timeline of their own.
func Now() int64 { return nanotime() }

// requestKeyframe asks the publisher for a keyframe on layer idx, at most
// once per keyframeInterval (RFC 4585 §6.3.1 PLI): a burst of subscribers'
// requests becomes one, and a request inside the window is deferred to its
// end rather than lost, so late joiners do not wait for a periodic retry.
func (t *Track) requestKeyframe(idx int) {
	if t.p.Kind != webrtc.RTPCodecTypeVideo || idx < 0 || idx >= MaxLayers || t.p.Publisher == nil {
		return
	}
	l := t.layers[idx].Load()
	if l == nil {
		return
	}
	now := nanotime()
	last := l.lastPLI.Load()
	if wait := last + int64(keyframeInterval) - now; last != 0 && wait > 0 {
		if l.pliDeferred.CompareAndSwap(false, true) {
			time.AfterFunc(time.Duration(wait), func() {
				l.pliDeferred.Store(false)
				select {
				case <-t.done:
				default:
					t.requestKeyframe(idx)
				}
			})
		}
		return
	}
	if !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	t.p.Metrics.PLIsOut.Add(1)
	if err := t.p.Publisher.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}}); err != nil {
		t.log.Debug("keyframe request failed", "layer", idx, "err", err)
	}
}

// cached returns a retained packet from layer idx's cache, or nil.
func (t *Track) cached(idx int, seq uint16) *Packet {
	if idx < 0 || idx >= MaxLayers {
		return nil
	}
	l := t.layers[idx].Load()
	if l == nil {
		return nil
	}
	return l.cache.get(seq)
}

// setLayers makes d receive exactly the layers in mask (copy-on-write of
// each layer's subscriber slice, so the read loops never take a lock).
func (t *Track) setLayers(d *DownTrack, mask uint8) {
	if t.updateLayers(d, mask) {
		t.notifyLayers()
	}
}

// updateLayers takes t.mu; it reports whether d's mask changed.
func (t *Track) updateLayers(d *DownTrack, mask uint8) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, known := t.downs[d]
	if !known || old == mask {
		return false
	}
	t.downs[d] = mask
	for i := range MaxLayers {
		bit := uint8(1) << i
		if old&bit == mask&bit {
			continue
		}
		l := t.layers[i].Load()
		if l == nil {
			continue
		}
		cur := *l.subs.Load()
		next := make([]*DownTrack, 0, len(cur)+1)
		for _, x := range cur {
			if x != d {
				next = append(next, x)
			}
		}
		if mask&bit != 0 {
			next = append(next, d)
		}
		l.subs.Store(&next)
	}
	return true
}

// register records d as a subscriber (receiving no layer yet).
func (t *Track) register(d *DownTrack) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrTrackClosed
	}
	t.downs[d] = 0
	return nil
}

func (t *Track) unregister(d *DownTrack) {
	t.setLayers(d, 0)
	t.mu.Lock()
	delete(t.downs, d)
	t.mu.Unlock()
}

// AddTap attaches a tap; the returned function detaches it (and calls its OnClose).
func (t *Track) AddTap(tap Tap) (remove func()) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		tap.OnClose()
		return func() {}
	}
	cur := *t.taps.Load()
	next := append(append(make([]Tap, 0, len(cur)+1), cur...), tap)
	t.taps.Store(&next)
	t.mu.Unlock()
	t.notifyLayers()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			cur := *t.taps.Load()
			next := make([]Tap, 0, len(cur))
			found := false
			for _, x := range cur {
				if x == tap && !found {
					found = true
					continue
				}
				next = append(next, x)
			}
			t.taps.Store(&next)
			t.mu.Unlock()
			if found {
				tap.OnClose()
				t.notifyLayers()
			}
		})
	}
}

// OnClose registers f to run (on its own goroutine) when the track ends.
func (t *Track) OnClose(f func()) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		go f()
		return
	}
	t.onClose = append(t.onClose, f)
	t.mu.Unlock()
}

// Close ends the track: subscribers are told through OnClose callbacks,
// taps are closed and the caches released. The receive goroutines end when
// their streams do (closing the publisher's PeerConnection ends them).
// startTicks starts the track's tick loop once: every selectInterval it
// has each subscriber's DownTrack check its layer choice. One goroutine
// per published video rather than one per subscription.
func (t *Track) startTicks() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ticking || t.closed {
		return
	}
	t.ticking = true
	go t.tickLoop()
}

func (t *Track) tickLoop() {
	tk := time.NewTicker(selectInterval)
	defer tk.Stop()
	var downs []*DownTrack
	for {
		select {
		case <-t.done:
			return
		case <-tk.C:
		}
		t.mu.Lock()
		downs = downs[:0]
		for d := range t.downs {
			downs = append(downs, d)
		}
		t.mu.Unlock()
		for _, d := range downs {
			if d.started.Load() {
				d.tick()
			}
		}
		clear(downs)
	}
}

func (t *Track) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.done)
	callbacks := t.onClose
	t.onClose = nil
	taps := *t.taps.Load()
	t.taps.Store(&[]Tap{})
	t.mu.Unlock()

	for _, tap := range taps {
		tap.OnClose()
	}
	for i := range MaxLayers {
		if l := t.layers[i].Load(); l != nil {
			l.cache.close()
		}
	}
	t.p.Metrics.Tracks.Add(-1)
	for _, f := range callbacks {
		go f()
	}
}
