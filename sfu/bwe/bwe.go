// Package bwe is a send-side bandwidth estimator for one subscriber's
// PeerConnection, after Google Congestion Control
// (draft-ietf-rmcat-gcc-02, with the trendline delay filter of its later
// implementations): every packet sent is given a transport-wide sequence
// number and recorded with its send time and size in a fixed ring, and the
// subscriber's transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01)
// is matched against that ring to follow the queueing delay's trend, the
// rate the link delivers and its loss.
//
// Recording a sent packet is the forwarding path's only cost: a few atomic
// operations, no lock and no allocation. Feedback, some ten to twenty
// reports a second, is handled under a mutex.
package bwe

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Estimate bounds, bits/s.
const (
	DefaultInitial = 1_000_000
	DefaultMin     = 50_000
	DefaultMax     = 30_000_000
)

// Usage is the delay detector's verdict on the link's queue.
type Usage int32

// Usages.
const (
	UsageNormal Usage = iota
	UsageOver
	UsageUnder
)

func (u Usage) String() string {
	switch u {
	case UsageOver:
		return "overuse"
	case UsageUnder:
		return "underuse"
	default:
		return "normal"
	}
}

// ringSize packets are remembered (a power of two): well over a second of
// a subscriber's media and probe padding, while feedback comes every 50 to
// 100 ms.
const (
	ringSize = 4096
	ringMask = ringSize - 1
)

// slot is one sent packet. tag is (extended sequence number + 1) << 32 |
// size, written last; 0 while the slot is being rewritten, so a reader
// that sees the same tag before and after reading at has a consistent pair.
type slot struct {
	tag atomic.Uint64
	at  atomic.Int64
}

// Params configure an Estimator; zero values take the defaults.
type Params struct {
	Initial, Min, Max int
}

// Estimator is one PeerConnection's estimate. Its zero value is not usable:
// make one with New.
type Estimator struct {
	next atomic.Uint32 // the next transport-wide sequence number (extended)
	ring [ringSize]slot

	target atomic.Int64 // bits/s
	usage  atomic.Int32
	queue  atomic.Int64 // ns, the queueing delay feedback last reported

	mu sync.Mutex
	fb feedback // under mu
}

// New makes an Estimator.
func New(p Params) *Estimator {
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Min <= 0 {
		p.Min = DefaultMin
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	e := &Estimator{}
	e.fb.init(p)
	e.target.Store(int64(p.Initial))
	return e
}

// Sent records a packet of size bytes (RTP header and payload) sent at now
// (nanoseconds on a monotonic clock) and returns the transport-wide
// sequence number to put in its header extension. Safe for concurrent use
// by every stream of the PeerConnection; it neither locks nor allocates.
func (e *Estimator) Sent(size int, now int64) uint16 {
	seq := e.next.Add(1) - 1
	s := &e.ring[seq&ringMask]
	s.tag.Store(0)
	s.at.Store(now)
	s.tag.Store(uint64(seq+1)<<32 | uint64(uint32(size)))
	return uint16(seq)
}

// lookup finds sequence number seq (extended) in the ring.
func (e *Estimator) lookup(seq uint32) (at int64, size int, ok bool) {
	s := &e.ring[seq&ringMask]
	tag := s.tag.Load()
	at = s.at.Load()
	if tag == 0 || tag>>32 != uint64(seq+1) || s.tag.Load() != tag {
		return 0, 0, false
	}
	return at, int(uint32(tag)), true
}

// GetTargetBitrate is the current estimate in bits/s.
func (e *Estimator) GetTargetBitrate() int { return int(e.target.Load()) }

// Usage is the delay detector's last verdict.
func (e *Estimator) Usage() Usage { return Usage(e.usage.Load()) }

// Overusing reports whether the delay detector last saw the link's queue
// building.
func (e *Estimator) Overusing() bool { return e.Usage() == UsageOver }

// QueueDelay is the longest queueing delay among the packets of the last
// feedback report: how much longer than the shortest one-way delay of the
// last five to ten seconds they took, the link's queue as they met it. The delay detector follows the queue's trend; this is its level, a
// direct bound for a probe that fills the link.
func (e *Estimator) QueueDelay() time.Duration { return time.Duration(e.queue.Load()) }

// Stats is a snapshot of the estimator's state, for logs and tests.
type Stats struct {
	Target, DelayTarget, LossTarget, AckedRate int
	Usage                                      Usage
	Trend, Threshold                           float64 // ms
	AverageLoss                                float64
	QueueDelay                                 time.Duration
	// Stalls counts the receiver's stalls left out of the delay trend.
	Stalls int
}

// Stats reads the estimator's state.
func (e *Estimator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &e.fb
	return Stats{Target: int(e.target.Load()), DelayTarget: f.rate.target, LossTarget: f.loss.bound,
		AckedRate: f.acked.rate, Usage: f.det.usage, Trend: f.det.lastTrend, Threshold: f.det.threshold,
		AverageLoss: f.loss.average, QueueDelay: e.QueueDelay(), Stalls: f.stalls}
}

// feedback is the estimator's state that feedback updates.
type feedback struct {
	p Params
	// refTime is the last feedback's reference time, unwrapped (µs).
	refTime    int64
	refRaw     int64
	refKnown   bool
	lastSeq    uint32 // highest extended sequence number acknowledged
	seqKnown   bool
	group      group // the send-time group being filled
	prevGroup  group
	trend      trendline
	det        detector
	rate       aimd
	acked      ackedRate
	loss       lossBound
	base       baseDelay
	lastUpdate int64 // ns, the last feedback handled
	// lastArrGap is the arrival gap (µs) before the last packet grouped.
	lastArrGap int64
	// reordered counts packets in a row that arrived before the group's
	// last.
	reordered int
	// stalls counts stalls of the receiver left out of the trend.
	stalls int
}

func (f *feedback) init(p Params) {
	f.p = p
	f.trend.init()
	f.det.init()
	f.rate.init(p)
}

// group is a burst of packets sent within burstTime of its first, or
// that arrived together.
type group struct {
	firstSend, lastSend int64 // ns, sender's clock
	firstArr, lastArr   int64 // µs, receiver's clock
	size                int
	n                   int
	stall               stall
}

// stall is a group that began after an arrival gap taken for a stall of
// the receiver (see feedback.packet).
type stall struct {
	on bool
	// ref is the one-way delay (µs) of the last packet before the gap,
	// last the lowest of the group's so far, which arrived at lowAt (µs).
	ref, last, lowAt int64
	queue            int64 // µs: the highest queueing delay its packets showed
}

const (
	burstTime = 5 * time.Millisecond
	// maxBurst bounds a burst of arrivals grouped together.
	maxBurst = 100 * time.Millisecond
	// stallGap: an arrival gap this much longer than the send gap, and
	// stallPace times what the packets before it and its own size at the
	// acked rate would take, is a stall of the receiver.
	stallGap  = 50 * time.Millisecond
	stallPace = 3
	// stallSettle: a stall is over once a packet's one-way delay is back
	// within this of the delay before it.
	stallSettle = 5 * time.Millisecond
	// stallFlat: a stall's group ends when its packets' delay has not
	// fallen for this long; stallMaxSpan bounds its arrival span.
	stallFlat    = 100 * time.Millisecond
	stallMaxSpan = 2 * time.Second
	// reorderedReset packets in a row arriving out of order reset the
	// grouping (the receiver's clock went back).
	reorderedReset = 3
	// maxGroupGap: groups further apart than this start the trend over
	// (a pause in sending says nothing about the queue).
	maxGroupGap = 2 * time.Second
)

// trendline follows the slope of the accumulated one-way delay variation
// over the last trendWindow groups (least squares over smoothed samples).
type trendline struct {
	accumulated, smoothed float64
	firstArr              int64
	started               bool
	n                     int // samples held
	head                  int
	xs, ys                [trendWindow]float64
	numDeltas             int
}

const (
	// trendWindow and trendSmoothing: libwebrtc uses 20 and 0.9 with a
	// pacer that sends every 5 ms; forwarded media comes in frame bursts,
	// a few tens of groups a second, so the smoothing is shorter here to
	// keep the delay's trend within about 100 ms of the link (a probe that
	// fills a slow link is stopped within a few feedback reports).
	trendWindow = 20
	// trendMin samples give a first trend: a link far too slow for what
	// is sent shows within a few groups, and waiting for a full window
	// would let its queue grow for a third of a second more. The trend is
	// scaled by the number of samples, so a short window weighs little.
	trendMin       = 6
	trendSmoothing = 0.5
	trendGain      = 4.0
	maxDeltas      = 60
)

func (t *trendline) init() { *t = trendline{} }

// update adds a group's delay variation (ms) observed at arrival arr (µs)
// and returns the modified trend (ms), ok once trendMin samples are held.
func (t *trendline) update(delayDelta float64, arr int64) (float64, bool) {
	if !t.started {
		t.started, t.firstArr = true, arr
	}
	t.numDeltas = min(t.numDeltas+1, maxDeltas)
	t.accumulated += delayDelta
	t.smoothed = trendSmoothing*t.smoothed + (1-trendSmoothing)*t.accumulated
	t.xs[t.head] = float64(arr-t.firstArr) / 1000
	t.ys[t.head] = t.smoothed
	t.head = (t.head + 1) % trendWindow
	if t.n < trendWindow {
		t.n++
	}
	if t.n < trendMin {
		return 0, false
	}
	var sx, sy float64
	for i := range t.n {
		sx += t.xs[i]
		sy += t.ys[i]
	}
	mx, my := sx/float64(t.n), sy/float64(t.n)
	var num, den float64
	for i := range t.n {
		dx := t.xs[i] - mx
		num += dx * (t.ys[i] - my)
		den += dx * dx
	}
	if den == 0 {
		return 0, false
	}
	slope := num / den
	return float64(t.numDeltas) * slope * trendGain, true
}

// detector compares the trend with an adaptive threshold
// (draft-ietf-rmcat-gcc-02 §5.4) and decides overuse once the trend has
// stayed over it for overuseTime and more than one group, still rising.
type detector struct {
	threshold  float64 // ms
	lastThresh int64   // µs, arrival of the last threshold update
	overTime   float64 // ms
	overCount  int
	lastTrend  float64
	usage      Usage
}

const (
	thresholdInit = 12.5
	thresholdMin  = 6.0
	thresholdMax  = 600.0
	kUp           = 0.0087
	kDown         = 0.039
	overuseTime   = 10.0 // ms
	maxThreshStep = 100  // ms
)

func (d *detector) init() { *d = detector{threshold: thresholdInit} }

// detect takes the modified trend and the send time between the two
// groups it came from (ms), at arrival arr (µs).
func (d *detector) detect(trend, sendDelta float64, arr int64) Usage {
	switch {
	case trend > d.threshold:
		if d.overTime == 0 {
			d.overTime = sendDelta / 2
		} else {
			d.overTime += sendDelta
		}
		d.overCount++
		if d.overTime > overuseTime && d.overCount > 1 && trend >= d.lastTrend {
			d.overTime, d.overCount = 0, 0
			d.usage = UsageOver
		}
	case trend < -d.threshold:
		d.overTime, d.overCount = 0, 0
		d.usage = UsageUnder
	default:
		d.overTime, d.overCount = 0, 0
		d.usage = UsageNormal
	}
	d.lastTrend = trend
	d.adapt(trend, arr)
	return d.usage
}

// adapt moves the threshold towards the trend's magnitude: quickly up,
// slowly down; outliers far above it are ignored.
func (d *detector) adapt(trend float64, arr int64) {
	if d.lastThresh == 0 {
		d.lastThresh = arr
	}
	abs := math.Abs(trend)
	if abs > d.threshold+15 {
		d.lastThresh = arr
		return
	}
	k := kDown
	if abs > d.threshold {
		k = kUp
	}
	dt := min(float64(arr-d.lastThresh)/1000, maxThreshStep)
	d.threshold += k * (abs - d.threshold) * dt
	d.threshold = min(max(d.threshold, thresholdMin), thresholdMax)
	d.lastThresh = arr
}

// aimd is the delay-based rate controller (draft-ietf-rmcat-gcc-02 §5.5):
// increase while the link is normal, decrease to beta times the acked rate
// on overuse, hold on underuse.
type aimd struct {
	p          Params
	target     int
	state      int
	lastChange int64 // ns
	// Mean and variance of the acked rate at the last decreases: near it
	// the link is close to its capacity and increases are additive.
	decAvg, decVar float64
	rtt            time.Duration
}

const (
	stateIncrease = iota
	stateDecrease
	stateHold
)

const (
	beta           = 0.85
	decreaseEMA    = 0.95
	maxGrowth      = 1.08 // per second, multiplicative
	ackedHeadroom  = 1.5
	defaultRTT     = 100 * time.Millisecond
	packetBitsMax  = 1200 * 8
	expectedFrames = 30.0
)

func (a *aimd) init(p Params) { *a = aimd{p: p, target: p.Initial, rtt: defaultRTT} }

// update applies a detector verdict at now, with the acked rate (0 when
// not yet known).
func (a *aimd) update(u Usage, acked int, now int64) {
	switch a.state {
	case stateHold:
		switch u {
		case UsageOver:
			a.state = stateDecrease
		case UsageNormal:
			a.state = stateIncrease
		}
	case stateIncrease:
		switch u {
		case UsageOver:
			a.state = stateDecrease
		case UsageUnder:
			a.state = stateHold
		}
	case stateDecrease:
		switch u {
		case UsageNormal, UsageUnder:
			a.state = stateHold
		}
	}
	if a.lastChange == 0 {
		a.lastChange = now
	}
	switch a.state {
	case stateIncrease:
		a.increase(acked, now)
	case stateDecrease:
		if acked > 0 {
			a.target = min(a.target, int(beta*float64(acked)))
			a.noteDecrease(float64(acked))
		}
		a.lastChange = now
	default:
		a.lastChange = now
	}
	a.target = min(max(a.target, a.p.Min), a.p.Max)
}

func (a *aimd) increase(acked int, now int64) {
	dt := float64(now-a.lastChange) / float64(time.Second)
	a.lastChange = now
	next := a.target
	sd := math.Sqrt(a.decVar)
	if a.decAvg > 0 && acked > 0 && math.Abs(float64(acked)-a.decAvg) < 3*sd+0.05*a.decAvg {
		// Near the last congestion point: about half a packet per response time.
		bitsPerFrame := float64(a.target) / expectedFrames
		packets := math.Ceil(bitsPerFrame / packetBitsMax)
		packetBits := bitsPerFrame / packets
		response := float64(100*time.Millisecond+a.rtt) / float64(time.Second)
		next += int(math.Max(1000, 0.5*min(dt/response, 1)*packetBits))
	} else {
		if a.decAvg > 0 && acked > 0 && float64(acked) > a.decAvg+3*sd {
			a.decAvg, a.decVar = 0, 0 // the link grew: forget the old capacity
		}
		next = int(float64(a.target) * math.Pow(maxGrowth, min(dt, 1)))
	}
	// Growth is held to ackedHeadroom times the rate the link delivers
	// while the estimate is below that; above it (the sender uses less
	// than the estimate, and padding probes prove more before it is
	// spent) the estimate keeps growing.
	if limit := int(ackedHeadroom * float64(acked)); acked > 0 && next > limit && limit > a.target {
		next = limit
	}
	a.target = next
}

func (a *aimd) noteDecrease(acked float64) {
	if a.decAvg == 0 {
		a.decAvg = acked
		return
	}
	x := acked - a.decAvg
	a.decAvg += (1 - decreaseEMA) * x
	a.decVar = decreaseEMA * (a.decVar + (1-decreaseEMA)*x*x)
}

// ackedRate is the rate the receiver got over the last ackedWindow, from
// the acknowledged packets' arrival times and sizes.
type ackedRate struct {
	arr     [ackedRing]int64 // µs
	size    [ackedRing]int
	head, n int
	sum     int
	rate    int
}

const (
	ackedRing   = 1024
	ackedWindow = 500 * time.Millisecond
)

func (r *ackedRate) add(arr int64, size int) {
	if r.n == ackedRing {
		i := (r.head - r.n + ackedRing) % ackedRing
		r.sum -= r.size[i]
		r.n--
	}
	r.arr[r.head], r.size[r.head] = arr, size
	r.head = (r.head + 1) % ackedRing
	r.n++
	r.sum += size
	for r.n > 1 {
		// Out of the window, or more than a window ahead of this packet
		// (the receiver's clock went back).
		i := (r.head - r.n + ackedRing) % ackedRing
		if d := arr - r.arr[i]; d <= ackedWindow.Microseconds() && d >= -ackedWindow.Microseconds() {
			break
		}
		r.sum -= r.size[i]
		r.n--
	}
	first := r.arr[(r.head-r.n+ackedRing)%ackedRing]
	// At least a quarter of the window, so that one burst is not a rate.
	span := max(arr-first, ackedWindow.Microseconds()/4)
	r.rate = int(int64(r.sum) * 8 * 1_000_000 / span)
}

// baseDelay is the shortest one-way delay (arrival on the receiver's
// clock minus send time on ours, µs) over the last one to two
// minDelayWindow: the link's propagation delay plus the clocks' offset, so
// that a packet's delay over it is the queue it met. The window lets the
// base follow the clocks' drift.
type baseDelay struct {
	cur, prev int64
	curFrom   int64 // µs, arrival that started cur
	known     bool
}

const minDelayWindow = 5 * time.Second

// add takes one received packet's one-way delay at arrival arr and returns
// its queueing delay (µs).
func (b *baseDelay) add(owd, arr int64) int64 {
	switch {
	case !b.known:
		b.cur, b.prev, b.curFrom, b.known = owd, owd, arr, true
	case arr-b.curFrom > minDelayWindow.Microseconds():
		b.prev, b.cur, b.curFrom = b.cur, owd, arr
	default:
		b.cur = min(b.cur, owd)
	}
	return owd - min(b.cur, b.prev)
}

// lossBound is the loss-based bound (draft-ietf-rmcat-gcc-02 §6): over
// 10 % loss it falls by half the loss, under 2 % it grows 5 %, never above
// the delay-based target.
type lossBound struct {
	bound            int
	average          float64
	lastAt           int64 // ns
	lastInc, lastDec int64
}

const (
	lossIncrease     = 0.02
	lossDecrease     = 0.10
	lossGrowth       = 1.05
	lossMinInterval  = 200 * time.Millisecond
	lossAverageTimes = 200.0 // ms: the average's time constant
)

func (l *lossBound) update(lost, total int, delayTarget int, p Params, now int64) {
	if l.bound == 0 {
		l.bound = delayTarget
	}
	if total > 0 {
		ratio := float64(lost) / float64(total)
		if l.lastAt == 0 {
			l.average = ratio
		} else {
			dt := float64(now-l.lastAt) / float64(time.Millisecond)
			l.average = ratio + math.Exp(-dt/lossAverageTimes)*(l.average-ratio)
		}
		l.lastAt = now
		inc, dec := max(l.average, ratio), min(l.average, ratio)
		switch {
		case inc < lossIncrease && now-l.lastInc > int64(lossMinInterval):
			l.lastInc = now
			l.bound = int(float64(l.bound) * lossGrowth)
		case dec > lossDecrease && now-l.lastDec > int64(lossMinInterval):
			l.lastDec = now
			l.bound = int(float64(l.bound) * (1 - 0.5*dec))
		}
	}
	l.bound = min(max(l.bound, p.Min), p.Max, delayTarget)
}
