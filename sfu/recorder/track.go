package recorder

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"yunke/sfu"
)

const (
	// ringSize bounds the packets a layer's reorder buffer holds (above
	// any codec's maxLate), indexed by sequence number.
	ringSize = 1024
	ringMask = ringSize - 1
	// maxReorderDelay: a missing packet is given up on after this much
	// media time, however few packets came after it. It leaves time for
	// the publisher's retransmission (RFC 4585 NACK, one round trip).
	maxReorderDelay = 500 * time.Millisecond
	// seqJump: a sequence number this far ahead means the publisher
	// restarted its stream; the reorder buffer starts over.
	seqJump = 3000
	// keyframeRetry is how often a keyframe is asked for again while waiting.
	keyframeRetry = time.Second
	// batchSize is how many queued packets the writer takes per lock.
	batchSize = 64
	// drainInterval is how often the writer empties its queue: a recording
	// has no latency to keep, and waking per packet would cost more than
	// the writing.
	drainInterval = 20 * time.Millisecond
)

// trackRecorder records one track: it is the sfu.Tap (OnPacket, OnClose)
// and owns the writer goroutine (run) that turns packets into a file.
type trackRecorder struct {
	s    *Session
	log  *slog.Logger
	m    *Metrics
	meta TrackMeta
	spec codecSpec
	src  KeyframeRequester
	name string
	f    *os.File

	q      queue
	wakeAt int // queue length at which OnPacket wakes the writer early
	wake   chan struct{}
	stopCh chan struct{}
	once   sync.Once
	done   chan struct{}

	dead    atomic.Bool // no more packets: failed or finished
	damaged atomic.Bool
	drops   atomic.Uint64
	frames  atomic.Uint64
	skipped atomic.Uint64

	mu     sync.Mutex // guards info
	info   TrackInfo
	status Status

	// Writer-goroutine state: only run() and what it calls touch these.
	w trackWriter
}

type trackWriter struct {
	mux            *muxer
	layers         [sfu.MaxLayers]*layerState
	cur, target    int  // layer written, layer wanted (-1: none yet)
	waitKey        bool // after a loss: skip to the next keyframe
	started        bool
	lastOut        int64 // output timeline (clock units) of the last frame written
	lastWall       int64 // its estimated capture time (Clock)
	lastStep       int64 // the interval before it (ns)
	firstWall      int64
	lastKeyReq     int64
	keyReqd        bool
	switches       int
	damageReported bool
	failed         bool
	size           int64 // the file's size once finished
	batch          [batchSize]entry
}

// layerState is one simulcast layer as the writer sees it.
type layerState struct {
	idx         int
	seen        bool
	lastArrival int64
	ref         int64 // unwrapped RTP timestamp of the latest packet
	ts0         int64 // of the first packet
	// base maps media time to arrival time: the least (arrival - media
	// time since ts0) seen, i.e. the least-delayed packet. Packets that
	// queued somewhere only arrive later than that; none arrives earlier.
	base int64
	off  int64 // output timeline = unwrapped timestamp + off
	// Reorder buffer: the builder holds &pkts[i]; held[i] is the packet
	// (retained) whose payload pkts[i] points into.
	sb      *samplebuilder.SampleBuilder
	pushed  bool
	highSeq uint16
	held    [ringSize]*sfu.Packet
	pkts    [ringSize]rtp.Packet
}

func newTrackRecorder(s *Session, meta TrackMeta, spec codecSpec, name string, f *os.File, src KeyframeRequester) *trackRecorder {
	r := &trackRecorder{
		s:      s,
		log:    s.log.With("track", meta.TrackID, "participant", meta.Participant),
		m:      s.p.Metrics,
		meta:   meta,
		spec:   spec,
		src:    src,
		name:   name,
		f:      f,
		q:      newQueue(s.p.QueueSize),
		wakeAt: max(s.p.QueueSize/4, 1),
		wake:   make(chan struct{}, 1),
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
		status: StatusRecording,
	}
	r.w.cur, r.w.target = -1, -1
	video := !spec.audio
	r.w.mux = newMuxer(f, 1, video, s.p.SyncInterval)
	r.m.Tracks.Add(1)
	return r
}

// OnPacket implements sfu.Tap: queue the packet for the writer, never block.
func (r *trackRecorder) OnPacket(p *sfu.Packet) {
	if r.dead.Load() {
		return
	}
	p.Retain()
	switch res, n := r.q.push(p); res {
	case pushed:
		r.m.Packets.Add(1)
		// The writer drains on a timer; wake it early only when the queue
		// is filling up, rather than once per packet.
		if n == r.wakeAt {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	case pushFull:
		// The disk does not keep up. Drop and count; the writer sees the
		// gap, asks for a keyframe and resumes the file there.
		p.Release()
		r.drops.Add(1)
		r.m.Dropped.Add(1)
		r.damaged.Store(true)
	default:
		p.Release()
	}
}

// OnClose implements sfu.Tap: the track ended or the tap was removed.
func (r *trackRecorder) OnClose() { r.stop() }

func (r *trackRecorder) stop() { r.once.Do(func() { close(r.stopCh) }) }

func (r *trackRecorder) requestKeyframe(layer int) {
	r.m.KeyframeRequests.Add(1)
	r.src.RequestKeyframe(layer)
}

// run is the writer goroutine.
func (r *trackRecorder) run() {
	defer close(r.done)
	defer r.m.Tracks.Add(-1)
	tick := time.NewTicker(drainInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.wake:
			r.drain()
		case <-tick.C:
			r.drain()
		case <-r.stopCh:
			r.q.close()
			r.drain()
			r.finish()
			return
		}
		if r.w.failed {
			return
		}
	}
}

// drain writes out everything queued.
func (r *trackRecorder) drain() {
	w := &r.w
	for {
		n := r.q.popBatch(w.batch[:])
		if n == 0 {
			break
		}
		for i := range n {
			e := &w.batch[i]
			if !w.failed {
				r.handle(e.p, e.gap)
			}
			e.p.Release()
			*e = entry{}
		}
	}
	if r.q.takeGap() && w.started && !w.failed {
		r.loss(r.s.p.Clock())
	}
	if r.damaged.Load() && !w.damageReported && !w.failed {
		w.damageReported = true
		r.setStatus(StatusDamaged, fmt.Sprintf("%d packets dropped: the disk did not keep up", r.drops.Load()))
		r.log.Warn("recording damaged: packets dropped", "drops", r.drops.Load())
		if f := r.s.p.OnEvent; f != nil {
			f(TrackEvent{TrackID: r.meta.TrackID, Status: StatusDamaged})
		}
	}
}

func (r *trackRecorder) layer(l int) *layerState {
	if l < 0 || l >= sfu.MaxLayers {
		l = 0
	}
	ls := r.w.layers[l]
	if ls == nil {
		ls = &layerState{idx: l}
		r.w.layers[l] = ls
	}
	return ls
}

// handle takes one packet through layer selection and the reorder buffer.
func (r *trackRecorder) handle(p *sfu.Packet, gap bool) {
	w := &r.w
	ls := r.layer(int(p.Layer))
	ls.observe(p, r.spec.clock)
	if gap && w.started && !r.spec.audio {
		// Our queue overflowed: frames in flight are broken.
		r.loss(p.Arrival)
	}
	if r.spec.audio {
		w.target = ls.idx
	} else {
		r.selectLayer(p.Arrival)
	}
	if ls.idx != w.cur && ls.idx != w.target {
		return
	}
	r.push(ls, p)
	r.popSamples(ls)
	if !r.spec.audio && (w.target != w.cur || w.waitKey) {
		r.wantKeyframe(p.Arrival, false)
	}
}

// popSamples takes every frame the layer's reorder buffer has complete.
func (r *trackRecorder) popSamples(ls *layerState) {
	for !r.w.failed && ls.sb != nil {
		s := ls.sb.Pop()
		if s == nil {
			return
		}
		r.sample(ls, s)
	}
}

// observe notes a packet's arrival and unwraps its timestamp.
func (ls *layerState) observe(p *sfu.Packet, clock int64) {
	if !ls.seen {
		ls.seen = true
		ls.ref, ls.ts0 = int64(p.Header.Timestamp), int64(p.Header.Timestamp)
		ls.base = p.Arrival
	} else {
		ls.ref = ls.unwrap(p.Header.Timestamp)
	}
	ls.lastArrival = p.Arrival
	ls.base = min(ls.base, p.Arrival-ls.mediaTime(ls.ref, clock))
}

// unwrap extends a 32-bit RTP timestamp (RFC 3550 §5.1: it wraps around)
// to 64 bits next to the latest one seen.
func (ls *layerState) unwrap(ts uint32) int64 {
	return ls.ref + int64(int32(ts-uint32(ls.ref)))
}

// mediaTime is an unwrapped timestamp as nanoseconds since the layer's first.
func (ls *layerState) mediaTime(ts, clock int64) int64 {
	return (ts - ls.ts0) * int64(time.Second) / clock
}

// wall estimates when the media at unwrapped timestamp ts was captured, on
// the Clock: layers of one simulcast track are captured together, so this
// is how a switch lines up one layer's timestamps with another's.
func (ls *layerState) wall(ts, clock int64) int64 {
	return ls.base + ls.mediaTime(ts, clock)
}

// selectLayer picks the layer to record: the highest one active; a higher
// layer that appears is switched to, and a lower one when the current one
// has been silent for LayerTimeout. The switch happens at the new layer's
// keyframe (see sample).
func (r *trackRecorder) selectLayer(now int64) {
	w := &r.w
	timeout := int64(r.s.p.LayerTimeout)
	active := func(i int) bool {
		ls := w.layers[i]
		return ls != nil && ls.seen && now-ls.lastArrival < timeout
	}
	best := -1
	for i := sfu.MaxLayers - 1; i >= 0; i-- {
		if active(i) {
			best = i
			break
		}
	}
	if best < 0 {
		return
	}
	target := w.cur
	if w.cur < 0 || best > w.cur || !active(w.cur) {
		target = best
	}
	if target == w.target {
		return
	}
	if w.target >= 0 && w.target != w.cur {
		r.resetBuilder(w.layers[w.target])
	}
	w.target = target
	if target != w.cur {
		r.wantKeyframe(now, true)
	}
}

// wantKeyframe asks for a keyframe on the layer being waited for; again
// only after keyframeRetry unless forced (the SFU throttles further).
func (r *trackRecorder) wantKeyframe(now int64, force bool) {
	w := &r.w
	if !force && w.keyReqd && now-w.lastKeyReq < int64(keyframeRetry) {
		return
	}
	w.lastKeyReq, w.keyReqd = now, true
	layer := w.target
	if layer < 0 {
		layer = 0
	}
	r.requestKeyframe(layer)
}

// loss: frames were lost that the reorder buffer cannot bring back. Video
// resumes at the next keyframe; audio frames stand alone and go on.
func (r *trackRecorder) loss(now int64) {
	if r.spec.audio || r.w.waitKey {
		return
	}
	r.w.waitKey = true
	r.log.Debug("loss: waiting for a keyframe", "layer", r.w.cur)
	r.wantKeyframe(now, true)
}

// push hands a packet to the layer's reorder buffer, retaining it until
// the buffer lets go of it.
func (r *trackRecorder) push(ls *layerState, p *sfu.Packet) {
	if ls.sb == nil {
		r.newBuilder(ls)
	}
	seq := p.Header.SequenceNumber
	if ls.pushed {
		d := int(int16(seq - ls.highSeq))
		switch {
		case d <= -int(r.spec.maxLate):
			return // too late: its frame was given up on already
		case d >= seqJump || (seq-ls.highSeq >= 1<<15 && d <= -seqJump):
			// The publisher restarted its stream: start over.
			r.resetBuilder(ls)
			r.newBuilder(ls)
			if ls.idx == r.w.cur {
				r.loss(p.Arrival)
			}
		}
	}
	i := seq & ringMask
	if ls.held[i] != nil {
		return // a duplicate (or a packet too far out of order)
	}
	p.Retain()
	ls.held[i] = p
	ls.pkts[i] = rtp.Packet{Header: p.Header, Payload: p.Payload}
	if !ls.pushed || int16(seq-ls.highSeq) > 0 {
		ls.highSeq, ls.pushed = seq, true
	}
	ls.sb.Push(&ls.pkts[i])
}

func (r *trackRecorder) newBuilder(ls *layerState) {
	ls.sb = samplebuilder.New(r.spec.maxLate, r.spec.depacketizer(), uint32(r.spec.clock),
		samplebuilder.WithMaxTimeDelay(maxReorderDelay),
		samplebuilder.WithPacketReleaseHandler(func(p *rtp.Packet) {
			i := p.SequenceNumber & ringMask
			if h := ls.held[i]; h != nil && h.Header.SequenceNumber == p.SequenceNumber {
				ls.held[i] = nil
				h.Release()
			}
		}))
	ls.pushed = false
}

// resetBuilder drops a layer's reorder buffer and what it holds.
func (r *trackRecorder) resetBuilder(ls *layerState) {
	if ls == nil {
		return
	}
	for i, h := range ls.held {
		if h != nil {
			h.Release()
			ls.held[i] = nil
		}
	}
	ls.pkts = [ringSize]rtp.Packet{}
	ls.sb = nil
	ls.pushed = false
}

// sample takes one rebuilt frame: switch layers at a keyframe, skip to
// the next keyframe after a loss, write the rest.
func (r *trackRecorder) sample(ls *layerState, s *media.Sample) {
	w := &r.w
	key := r.spec.isKeyframe(s.Data)
	ts := ls.unwrap(s.PacketTimestamp)
	switch {
	case ls.idx != w.cur:
		// A layer being switched to starts at a keyframe, and not at one
		// older than what was written already (its reorder buffer may
		// have held it back): the file's timeline never goes back.
		if !key {
			return
		}
		if w.started && ls.wall(ts, r.spec.clock) < w.lastWall-w.lastStep/2 {
			r.wantKeyframe(ls.lastArrival, true)
			return
		}
		r.switchTo(ls, ts)
	case !r.spec.audio:
		if s.PrevDroppedPackets > 0 && !key {
			r.loss(ls.lastArrival)
		}
		if w.waitKey {
			if !key {
				r.skip()
				return
			}
			w.waitKey = false
		}
	}
	r.write(ls, ts, key, s.Data)
}

func (r *trackRecorder) skip() {
	r.skipped.Add(1)
	r.m.Skipped.Add(1)
}

// switchTo makes ls the layer written from its keyframe at ts on. The new
// layer's timestamps (another SSRC, another random base) are rebased so the
// file's timeline goes on by the time that passed, never backwards.
func (r *trackRecorder) switchTo(ls *layerState, ts int64) {
	w := &r.w
	clock := r.spec.clock
	// The old layer's last frames wait in its reorder buffer for a packet
	// that will not come: write those captured before the switch.
	if old := w.cur; old >= 0 && old != ls.idx && w.layers[old].sb != nil {
		ol := w.layers[old]
		ol.sb.Flush()
		for !w.failed {
			s := ol.sb.Pop()
			if s == nil || ol.wall(ol.unwrap(s.PacketTimestamp), clock) >= ls.wall(ts, clock) {
				break
			}
			r.sample(ol, s)
		}
	}
	if !w.started {
		w.started = true
		ls.off = -ts
		w.firstWall = ls.wall(ts, clock)
	} else {
		// At least a frame's interval: a keyframe captured with the last
		// frame written (the other layer's copy of it) follows it.
		delta := (ls.wall(ts, clock) - w.lastWall) * clock / int64(time.Second)
		delta = max(delta, w.lastStep*clock/int64(time.Second), clock/1000)
		ls.off = w.lastOut + delta - ts
		w.switches++
	}
	if old := w.cur; old >= 0 && old != ls.idx {
		r.resetBuilder(w.layers[old])
	}
	w.cur, w.target, w.waitKey = ls.idx, ls.idx, false
	r.log.Debug("layer switch", "layer", ls.idx, "out", ls.off+ts)
}

// write muxes one frame; the file's header goes first, once the first
// frame (a keyframe, for video) tells the picture size.
func (r *trackRecorder) write(ls *layerState, ts int64, key bool, data []byte) {
	w := &r.w
	clock := r.spec.clock
	out := max(ts+ls.off, w.lastOut)
	if !w.mux.started {
		// A frame captured just before the recording started (and
		// arriving after) starts the track at 0.
		offset := max(w.firstWall-r.s.start, 0) / int64(time.Millisecond)
		h := header{
			docType: r.spec.docType,
			tracks:  []webm.TrackEntry{r.spec.trackEntry(1, string(r.meta.Source), data)},
			date:    r.s.p.StartTime.Add(time.Duration(offset) * time.Millisecond),
			tags: [][2]string{
				{tagRecordingStart, r.s.p.StartTime.UTC().Format(time.RFC3339Nano)},
				{tagStartOffset, fmt.Sprint(offset)},
			},
		}
		if err := w.mux.writeHeader(h); err != nil {
			r.fail(err)
			return
		}
		r.mu.Lock()
		r.info.OffsetMS = offset
		r.mu.Unlock()
	}
	before := w.mux.bytes
	if err := w.mux.writeFrame(1, out*1000/clock, key || r.spec.audio, data); err != nil {
		r.fail(err)
		return
	}
	if w.lastWall != 0 {
		w.lastStep = ls.wall(ts, clock) - w.lastWall
	}
	w.lastOut, w.lastWall = out, ls.wall(ts, clock)
	r.frames.Add(1)
	r.m.Frames.Add(1)
	r.m.Bytes.Add(uint64(w.mux.bytes - before))
}

// fail stops the track's recording on a write error: the file keeps what
// reached it, packets are no longer taken, the caller is told.
func (r *trackRecorder) fail(err error) {
	w := &r.w
	if w.failed {
		return
	}
	w.failed = true
	r.dead.Store(true)
	r.q.close()
	r.q.drain()
	for _, ls := range w.layers {
		r.resetBuilder(ls)
	}
	_ = r.f.Close()
	w.size = w.mux.pos - int64(w.mux.w.Buffered())
	reason := err.Error()
	if errors.Is(err, syscall.ENOSPC) {
		reason = "disk full: " + reason
	}
	r.setStatus(StatusFailed, reason)
	r.m.Failures.Add(1)
	r.log.Error("recording failed", "err", err)
	if f := r.s.p.OnEvent; f != nil {
		f(TrackEvent{TrackID: r.meta.TrackID, Status: StatusFailed, Err: err})
	}
}

// finish writes out the frames still in the reorder buffer and closes the file.
func (r *trackRecorder) finish() {
	w := &r.w
	r.dead.Store(true)
	if !w.failed && w.cur >= 0 {
		ls := w.layers[w.cur]
		if ls.sb != nil {
			ls.sb.Flush()
			r.popSamples(ls)
		}
	}
	for _, ls := range w.layers {
		r.resetBuilder(ls)
	}
	if w.failed {
		return
	}
	if w.mux.started {
		w.size = w.mux.lay.end
		if err := w.mux.finish(); err != nil {
			r.fail(err)
			return
		}
	}
	if err := r.f.Close(); err != nil {
		r.fail(err)
		return
	}
	path := filepath.Join(r.s.p.Dir, r.name)
	if !w.mux.started {
		// Nothing was ever written: no file.
		_ = os.Remove(path)
	} else if fi, err := os.Stat(path); err == nil {
		w.size = fi.Size()
	}
	r.mu.Lock()
	if r.status == StatusRecording {
		r.status = StatusOK
	}
	r.mu.Unlock()
}

func (r *trackRecorder) setStatus(s Status, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == StatusFailed {
		return
	}
	r.status, r.info.Reason = s, reason
}

// snapshot is the track's manifest entry as it stands. Fields the writer
// owns are read after it finished (or racily only as atomics).
func (r *trackRecorder) snapshot() TrackInfo {
	r.mu.Lock()
	info := r.info
	info.Status = r.status
	r.mu.Unlock()
	info.TrackMeta = r.meta
	info.Frames = r.frames.Load()
	info.Drops = r.drops.Load()
	info.Skipped = r.skipped.Load()
	select {
	case <-r.done:
		info.LayerSwitches = r.w.switches
		if r.w.mux.started {
			info.File = r.name
			info.Bytes = r.w.size
			info.DurationMS = r.w.mux.duration()
		}
	default:
	}
	return info
}
