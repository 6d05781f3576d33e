package sfu

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"yunke/sfu/bwe"
)

// Estimator is a send-side bandwidth estimate for one subscriber's
// PeerConnection, in bits/s; *bwe.Estimator is the one SubscriberAPI makes.
// When it is a *bwe.Estimator, the subscriber's DownTracks number and record
// every packet they send in it and its feedback is handed to it.
type Estimator interface {
	GetTargetBitrate() int
}

// Priority orders a subscriber's video tracks when bandwidth is short:
// higher priorities are served first. Audio always comes before video.
type Priority int8

// Video priorities, lowest first.
const (
	// PriorityOther is everyone else's camera.
	PriorityOther Priority = iota
	// PriorityFocus is the speaking or pinned participant's camera.
	PriorityFocus
	// PriorityScreen is a screen share.
	PriorityScreen
)

// Allocator timing and probing.
const (
	// allocTick is how often padding is paced during a probe; the
	// allocation itself runs every allocEvery ticks.
	allocTick  = 50 * time.Millisecond
	allocEvery = 4
	// startBitrate is what a subscriber is given before its link has been
	// measured: the lowest layers of a few cameras, never the top layer of
	// one, so a slow link is not flooded while the estimate converges.
	startBitrate = 500_000
	// feedbackFresh: feedback older than this no longer counts.
	feedbackFresh = 5 * time.Second
	// feedbackGrace: a client that has sent no congestion feedback at all
	// this long after media started does not do congestion control (a
	// recorder, a test client); it is not limited.
	feedbackGrace = 3 * time.Second
	// rembGrace is feedbackGrace for a client expected to send REMB: a
	// browser reports its first receiver-side estimate only once it has
	// measured the incoming rate for a few seconds (or on congestion).
	rembGrace = 8 * time.Second
	// A flowing video is paused only when the estimate stays under
	// pauseTolerance % of its lowest layer's cost for pauseHold.
	pauseTolerance = 75
	pauseHold      = time.Second
	// climbWait: for this long after the send-side estimator's first
	// report, video stays on its lowest layer (see allocate).
	climbWait = 400 * time.Millisecond
	// probeWait: no probe starts sooner than this after the send-side
	// estimator's first report.
	probeWait = 200 * time.Millisecond
	// pauseQueue: with the link's queue this long (the send-side
	// estimator's QueueDelay) a video short of its lowest layer is paused
	// without waiting for pauseHold.
	pauseQueue = 200 * time.Millisecond
	// congestedSamples of a second's allocTick samples in overuse mean the
	// link's queue is really growing.
	congestedSamples = 4
	// A layer received is kept while the estimate is short of it by less
	// than (100-keepTolerance) % of its cost, for at most keepHold.
	keepTolerance = 84
	keepHold      = 2 * time.Second
	// unlimited is the budget of a subscriber without feedback.
	unlimited = 1 << 40
	// probeDuration is how long a probe pads the link at its goal rate; the
	// delay-based estimator sees a queue build within a few feedback
	// intervals, well inside it.
	probeDuration = time.Second
	// probeQueueLimit: a probe ends, failed, as soon as feedback reports
	// packets that met a queue this much longer than the link's shortest
	// delay; the delay detector's trend needs a few more reports, during
	// which a probe well above a slow link's rate would queue it for
	// several hundred milliseconds more.
	probeQueueLimit = 80 * time.Millisecond
	// probeRamp: a probe's padding grows from nothing to its full rate
	// over this time, so that the queue a link too slow for it builds is
	// still short when feedback first shows it.
	probeRamp = 400 * time.Millisecond
	// probeBackoffMin/Max bound the wait after a failed probe (doubling).
	probeBackoffMin = 2 * time.Second
	probeBackoffMax = 4 * time.Second
	// probeReach: a probe starts once the estimate is within this share
	// (%) of its goal.
	probeReach = 75
	// probeOvershoot pads slightly above the goal so that a success leaves
	// room for the step up.
	probeOvershoot = 1.1
	// rembProbeGrowth: a probe succeeds on a receiver-side estimate that
	// grew to this share (%) of what it was when the probe started.
	rembProbeGrowth = 104
	// lossCapThreshold: with more receiver-reported loss than this the
	// estimate is capped at what we send, reduced (GCC's loss rule,
	// draft-ietf-rmcat-gcc-02 §6).
	lossCapThreshold = 0.10
)

// SubscriberParams configure a Subscriber.
type SubscriberParams struct {
	// Estimator is the TWCC-based estimate of the subscriber's
	// PeerConnection; nil when the client only sends REMB.
	Estimator Estimator
	// OnStreamState is called, on the allocators' goroutine, when a video
	// DownTrack is paused because even its lowest layer does not fit the
	// subscriber's bandwidth (paused true), and when it resumes.
	OnStreamState func(d *DownTrack, paused bool)
	Logger        *slog.Logger
	// StartBitrate overrides startBitrate (tests).
	StartBitrate int
}

// Subscriber spends one subscriber's downstream bandwidth estimate over
// its DownTracks: audio first, then screen shares, then the speaking or
// pinned participant, then the others. Each video track gets the highest
// simulcast layer that fits and that the client asked for; when not even
// the lowest fits, the video is paused and the client told. More bandwidth
// is found by probing (padding at the rate the next step up needs), and
// layers are climbed one at a time, each switch on a keyframe.
type Subscriber struct {
	p   SubscriberParams
	log *slog.Logger
	// rec is the estimator when it is ours (p.Estimator): sent packets are
	// recorded in it and feedback handed to it.
	rec *bwe.Estimator

	mu     sync.Mutex
	tracks []*allocTrack
	// kicked asks the shared loop for an allocation before the next tick.
	kicked atomic.Bool

	// Feedback seen by the DownTracks' RTCP readers.
	remb   atomic.Int64
	rembAt atomic.Int64
	twccAt atomic.Int64

	estimate atomic.Int64 // last estimate used, bits/s
	budget   atomic.Int64 // last budget spent, bits/s

	// runMu is held while the shared loop works for this subscriber;
	// closed (under it) ends that work for good.
	runMu  sync.Mutex
	closed bool

	// Allocator-loop state (the shared loop, under runMu).
	verified      int   // the rate the link has been shown to carry
	probing       bool  // a probe is running
	probeGoal     int   // rate the probe must sustain
	probeStartEst int   // the estimate when the probe started
	proven        int   // rate the last successful probe carried, until congestion
	provenEst     int   // the highest estimate since then
	probeUntil    int64 // end of the running probe
	probeFrom     int64 // its start
	probePad      *DownTrack
	padRate       int // bits/s of padding during the probe
	// The last receiver-side estimate (REMB) a probe saw, when it came,
	// and how many came since the probe started.
	probeRemb     int
	probeRembAt   int64
	probeRembSeen int
	nextProbe     int64
	backoff       time.Duration
	probesWon     atomic.Uint64
	probesLost    atomic.Uint64
	firstMedia    int64 // when the allocator first saw media flowing
	everFed       bool  // any congestion feedback arrived
	firstFed      int64 // when the allocator first had an estimate
	// overuse holds the delay detector's verdict every allocTick over the
	// last second.
	overuse     [int(time.Second / allocTick)]bool
	overuseAt   int
	scratch     []*allocTrack
	tickCounter int
}

type allocTrack struct {
	d     *DownTrack
	prio  Priority
	order uint64 // insertion order, to keep equal priorities stable
	// Allocator-goroutine state.
	layer   int // allocated cap, -1 when paused for bandwidth
	pending int // pass 1's decision within one allocation
	// lowSince is when the estimate first fell short of the lowest layer,
	// shortSince when it first fell short of the layer received.
	lowSince, shortSince int64
	paused               bool // the client was told PAUSED
}

// NewSubscriber starts a subscriber's allocator; Close stops it.
func NewSubscriber(p SubscriberParams) *Subscriber {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.StartBitrate <= 0 {
		p.StartBitrate = startBitrate
	}
	s := &Subscriber{
		p:        p,
		log:      p.Logger,
		verified: p.StartBitrate,
		backoff:  probeBackoffMin,
	}
	s.rec, _ = p.Estimator.(*bwe.Estimator)
	allocators.add(s)
	return s
}

// Close stops the allocator; once it returns, no allocation for s runs.
// The DownTracks are left as they are.
func (s *Subscriber) Close() {
	s.runMu.Lock()
	was := s.closed
	s.closed = true
	s.runMu.Unlock()
	if !was {
		allocators.remove(s)
	}
}

var allocOrder atomic.Uint64

// Add puts d under this subscriber's allocation, with priority prio
// (ignored for audio).
func (s *Subscriber) Add(d *DownTrack, prio Priority) {
	d.sub.Store(s)
	a := &allocTrack{d: d, prio: prio, order: allocOrder.Add(1), layer: MaxLayers - 1}
	if d.Kind() == webrtc.RTPCodecTypeVideo {
		// Start on the lowest layer; the allocator climbs from there.
		a.layer = 0
		d.setAllocated(0)
	}
	s.mu.Lock()
	s.tracks = append(s.tracks, a)
	s.mu.Unlock()
	s.Kick()
}

// Remove takes d out of the allocation.
func (s *Subscriber) Remove(d *DownTrack) {
	s.mu.Lock()
	s.tracks = slices.DeleteFunc(s.tracks, func(a *allocTrack) bool { return a.d == d })
	s.mu.Unlock()
	d.sub.CompareAndSwap(s, nil)
	s.Kick()
}

// SetPriority changes d's priority.
func (s *Subscriber) SetPriority(d *DownTrack, prio Priority) {
	s.mu.Lock()
	changed := false
	for _, a := range s.tracks {
		if a.d == d && a.prio != prio {
			a.prio, changed = prio, true
		}
	}
	s.mu.Unlock()
	if changed {
		s.Kick()
	}
}

// Kick asks for a new allocation soon (a client changed what it wants).
func (s *Subscriber) Kick() {
	if !s.kicked.Swap(true) {
		allocators.kick()
	}
}

// Estimate is the subscriber's last downstream estimate in bits/s (0 before
// any feedback).
func (s *Subscriber) Estimate() int { return int(s.estimate.Load()) }

// Estimating reports whether the subscriber has a send-side (TWCC)
// estimator; without one it relies on REMB.
func (s *Subscriber) Estimating() bool { return s.p.Estimator != nil }

// Budget is what the allocator last spent over the tracks, in bits/s.
func (s *Subscriber) Budget() int { return int(s.budget.Load()) }

// Probes reports how many probes found more bandwidth and how many did not.
func (s *Subscriber) Probes() (won, lost uint64) { return s.probesWon.Load(), s.probesLost.Load() }

// onREMB records a receiver-side estimate (draft-alvestrand-rmcat-remb).
func (s *Subscriber) onREMB(bps float32) {
	s.remb.Store(int64(bps))
	s.rembAt.Store(nanotime())
}

// onTWCC hands transport-wide feedback to the send-side estimator.
func (s *Subscriber) onTWCC(fb *rtcp.TransportLayerCC) {
	now := nanotime()
	if s.rec != nil && fb != nil {
		s.rec.OnFeedback(fb, now)
	}
	s.twccAt.Store(now)
}

// tick is the subscriber's share of one allocTick of the shared loop:
// pace a running probe's padding, sample congestion, and every allocEvery
// ticks (or when kicked) allocate.
func (s *Subscriber) tick(now int64, ticked bool) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.closed {
		return
	}
	kicked := s.kicked.Swap(false)
	if !ticked {
		if kicked {
			s.allocate(now)
		}
		return
	}
	if s.tickCounter++; kicked || s.tickCounter%allocEvery == 0 {
		s.allocate(now)
	}
	s.sampleCongestion()
	if s.probing {
		s.pad(now)
	}
}

// currentEstimate combines the feedback: the TWCC-based send-side estimate
// when the client sends TWCC, else its REMB; capped by receiver-reported
// loss. ok is false before any feedback.
func (s *Subscriber) currentEstimate(now int64, sending int, tracks []*allocTrack) (bps int, ok bool) {
	fresh := func(at int64) bool { return at != 0 && now-at < int64(feedbackFresh) }
	switch {
	case s.p.Estimator != nil && fresh(s.twccAt.Load()):
		bps = s.p.Estimator.GetTargetBitrate()
	case fresh(s.rembAt.Load()):
		bps = int(s.remb.Load())
	default:
		return 0, false
	}
	var lost uint8
	for _, a := range tracks {
		lost = max(lost, a.d.recentLoss(now))
	}
	if loss := float64(lost) / 256; loss > lossCapThreshold && sending > 0 {
		bps = min(bps, int(float64(sending)*(1-0.5*loss)))
	}
	return bps, true
}

// allocate decides every DownTrack's layer from the current estimate.
func (s *Subscriber) allocate(now int64) {
	s.mu.Lock()
	tracks := append(s.scratch[:0], s.tracks...)
	s.mu.Unlock()
	defer func() { clear(tracks); s.scratch = tracks[:0] }()
	// Audio first, then video by priority, then by age.
	slices.SortStableFunc(tracks, func(a, b *allocTrack) int {
		pa, pb := a.rank(), b.rank()
		if pa != pb {
			return int(pb) - int(pa)
		}
		return int(a.order) - int(b.order)
	})

	sending := 0
	for _, a := range tracks {
		if l := a.d.Layer(); l >= 0 {
			sending += a.d.t.LayerBitrate(l)
		}
	}
	if sending > 0 && s.firstMedia == 0 {
		s.firstMedia = now
	}
	est, ok := s.currentEstimate(now, sending, tracks)
	switch {
	case ok:
		if !s.everFed {
			s.firstFed = now
		}
		s.everFed = true
		s.estimate.Store(int64(est))
	case !s.everFed && s.firstMedia != 0 && now-s.firstMedia > int64(s.grace()):
		est = unlimited
		s.verified = unlimited
	case s.everFed:
		// Feedback stopped (a frozen or vanished client): keep the last
		// estimate rather than guess.
		est = int(s.estimate.Load())
	default:
		est = s.p.StartBitrate
	}

	raw := est
	// A running probe fails as soon as the estimator sees congestion (its
	// estimate falls), and succeeds if it has not by the end.
	if s.probing {
		switch {
		case s.probeFailed(raw), s.queued(probeQueueLimit):
			s.endProbe(now, false, raw)
		// (Allocations come every allocEvery ticks, the probe's end
		// falls on one: a tick a little early still ends it.)
		case now+int64(allocTick)/2 >= s.probeUntil:
			s.endProbe(now, s.probeGrew(raw), raw)
		}
	}
	// A rate a probe proved counts even while GCC's own estimate, which
	// grows by at most 8 %/s, has not caught up; until GCC sees congestion.
	if s.proven > 0 {
		if raw < s.provenEst*9/10 {
			s.proven = 0
		} else {
			s.provenEst = max(s.provenEst, raw)
			est = max(est, s.proven)
		}
	}
	// The estimator is the authority going down; going up needs a probe.
	if est < s.verified {
		s.verified = est
	}
	// Pausing is the estimator's call alone (the lowest layers are spent
	// from est); climbing is limited to what probes have verified.
	budget := min(est, s.verified)
	s.budget.Store(int64(budget))

	// GCC cuts its estimate to 85 % of the received rate on every overuse
	// signal, and a busy host's scheduling jitter makes such signals now
	// and then on a link with room to spare. A subscriber whose link keeps
	// up with what it is sent (no sustained queue growth, little loss) is
	// not cut below what it receives now; otherwise each spurious cut would
	// lower the rate the next one is taken from. A browser's REMB is made
	// on the browser's clock, and it is the only sign of congestion the
	// server has then: it is followed as it is.
	if ok && sending > 0 && s.p.Estimator != nil && !s.congested() && s.lossBelowCap(now, tracks) {
		est = max(est, sending)
	}

	avail := est
	nextStep := 0 // extra bits/s the most wanted step up would cost
	for _, a := range tracks {
		if a.d.Kind() == webrtc.RTPCodecTypeAudio {
			if !a.d.paused.Load() {
				avail -= a.d.t.LayerBitrate(0)
			}
		}
	}
	// A video short of its lowest layer is paused at once, without
	// pauseHold, when the link's queue is already long: the shortfall is
	// no saw-tooth of the estimate, and every moment more adds to it.
	backlog := s.queued(pauseQueue)
	// Pass 1: the lowest layer for every wanted video, by priority.
	for _, a := range tracks {
		if a.d.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		lo, want := a.d.wantedLayers()
		switch {
		case want < 0: // the client paused it, or no media yet
			a.apply(s, a.layerIdle(), false)
		case a.keepLowest(now, a.d.t.LayerBitrate(lo), avail, backlog):
			avail -= a.d.t.LayerBitrate(lo)
			a.next(lo)
		default:
			if nextStep == 0 {
				nextStep = a.d.t.LayerBitrate(lo)
			}
			a.next(-1)
		}
	}
	// Pass 2: climb, by priority, one layer per allocation, and only once
	// the previous step has landed (the switch happens on a keyframe).
	avail -= est - budget
	if !ok && !s.everFed && est != unlimited {
		avail = min(avail, 0) // no climbing before the estimator has spoken
	}
	// The send-side estimator's first reports carry its initial estimate,
	// not a measurement: a link too slow for even the lowest layers shows
	// only once the link's burst allowance is spent and a queue has built.
	// Until then no video climbs above its lowest layer, unless a probe
	// runs (it starts only on a link that shows no queue); the allocation
	// is worked out as if it did, so that the probe is for the step beyond.
	// (Allocations come every allocEvery ticks: a tick a little early
	// counts as on time, here and below.)
	sinceFed := now - s.firstFed + int64(allocTick)/2
	early := ok && s.p.Estimator != nil && sinceFed < int64(climbWait) && !s.probing
	held := false // a climb was held back
	for _, a := range tracks {
		if a.d.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		lo, want := a.d.wantedLayers()
		if want < 0 {
			continue
		}
		l := a.pending
		if l < 0 {
			a.apply(s, -1, true)
			continue
		}
		prev := a.layer
		landed := prev < 0 || a.d.Layer() >= prev || !a.d.t.layerActive(prev, now, layerWindow)
		for up := l + 1; up <= want; up++ {
			if !a.d.t.hasLayer(up) {
				continue
			}
			if up > max(prev, lo)+1 || (up > prev && !landed) {
				break
			}
			extra := a.d.t.LayerBitrate(up) - a.d.t.LayerBitrate(l)
			if extra > avail && !a.keepLayer(now, up, extra, avail) {
				if nextStep == 0 {
					nextStep = extra
				}
				break
			}
			avail -= extra
			l = up
		}
		if l >= a.layer {
			a.shortSince = 0
		}
		if early && l > max(a.layer, lo) {
			held = true
			if up := l + 1; nextStep == 0 && up <= want && a.d.t.hasLayer(up) {
				nextStep = a.d.t.LayerBitrate(up) - a.d.t.LayerBitrate(l)
			}
			l = max(a.layer, lo)
		}
		a.apply(s, l, false)
	}

	// A probe is judged by the estimate's feedback: none starts without
	// it (a receiver-side estimate is made from what arrives, and probing
	// before the first would be judged against the start bitrate). A
	// send-side estimator's first report is no measurement either: the
	// first probe waits for its next ones.
	if !s.probing && nextStep > 0 && now >= s.nextProbe && ok &&
		(s.p.Estimator == nil || sinceFed >= int64(probeWait)) {
		s.startProbe(now, est, raw, budget-max(avail, 0), nextStep, tracks)
		if s.probing && held {
			// The climbs held back go with the probe, and land (a
			// keyframe each) before its padding starts.
			s.probeFrom += int64(allocTick * allocEvery)
			s.Kick()
		}
	}
}

// keepLowest decides whether a video gets its lowest layer (cost) from
// avail. A video already flowing keeps it through a small or short
// shortfall: GCC's estimate saws down to 85 % of the received rate on every
// overuse signal, and pausing (a frozen picture until the next keyframe)
// costs far more than sending a little over the estimate for a moment;
// unless the link's queue is already long (backlog).
func (a *allocTrack) keepLowest(now int64, cost, avail int, backlog bool) bool {
	if cost <= avail {
		a.lowSince = 0
		return true
	}
	if a.layer < 0 || backlog {
		return false
	}
	if cost*pauseTolerance/100 <= avail {
		a.lowSince = 0
		return true
	}
	if a.lowSince == 0 {
		a.lowSince = now
	}
	return now-a.lowSince < int64(pauseHold)
}

// keepLayer decides whether a video keeps layer l, which it already
// receives, although its extra cost is over avail: only for a small
// shortfall (one GCC decrease to 85 % of the received rate, often a
// spurious overuse signal on an otherwise idle link) and not for long.
func (a *allocTrack) keepLayer(now int64, l, extra, avail int) bool {
	if l > a.layer || a.d.Layer() < l {
		return false
	}
	if extra-avail > a.d.t.LayerBitrate(l)*(100-keepTolerance)/100 {
		return false
	}
	if a.shortSince == 0 {
		a.shortSince = now
	}
	return now-a.shortSince < int64(keepHold)
}

// rank orders audio before every video priority.
func (a *allocTrack) rank() int {
	if a.d.Kind() == webrtc.RTPCodecTypeAudio {
		return 1 << 10
	}
	return int(a.prio)
}

// layerIdle is the cap for a video nobody needs bandwidth for: unchanged.
func (a *allocTrack) layerIdle() int { return a.layer }

// next records pass 1's decision for pass 2.
func (a *allocTrack) next(l int) { a.pending = l }

// apply makes the allocation take effect and tells the client when its
// video is paused or resumed for bandwidth.
func (a *allocTrack) apply(s *Subscriber, l int, paused bool) {
	if l != a.layer {
		s.log.Debug("layer allocated", "track", a.d.ID(), "layer", l, "was", a.layer,
			"estimate", s.Estimate(), "budget", s.Budget(), "proven", s.proven)
	}
	a.layer = l
	a.d.setAllocated(l)
	if paused != a.paused {
		a.paused = paused
		if paused {
			s.log.Info("video paused: not enough bandwidth", "track", a.d.ID(), "budget", s.Budget())
		} else {
			s.log.Info("video resumed", "track", a.d.ID(), "budget", s.Budget())
		}
		if f := s.p.OnStreamState; f != nil {
			f(a.d, paused)
		}
	}
}

// startProbe pads the link up to what the next step up needs, if the
// estimator believes it fits; endProbe then decides.
func (s *Subscriber) startProbe(now int64, est, raw, used, step int, tracks []*allocTrack) {
	goal := used + step
	reach := est
	if s.p.Estimator == nil {
		// A receiver-side estimate (REMB) grows to at most 1.5 times the
		// rate received (draft-ietf-rmcat-gcc-02 §5.5): it can only come
		// near a larger step's goal while a probe raises that rate.
		reach = est * 3 / 2
	}
	if reach < goal*probeReach/100 {
		return // the estimator is far from it: wait for it to grow
	}
	if s.queued(probeQueueLimit / 2) {
		return // the link's queue has not drained since the last probe
	}
	var pad *DownTrack
	for _, a := range tracks {
		if a.d.Kind() == webrtc.RTPCodecTypeVideo && a.d.bound.Load() != nil {
			pad = a.d
			if a.d.Layer() >= 0 {
				break
			}
		}
	}
	if pad == nil {
		return
	}
	s.probing = true
	s.probeGoal = goal
	s.probeStartEst = raw
	s.probeUntil = now + int64(probeDuration)
	s.probeFrom = now
	s.probePad = pad
	s.padRate = max(int(float64(goal)*probeOvershoot)-used, 0)
	s.probeRemb, s.probeRembAt, s.probeRembSeen = int(s.remb.Load()), s.rembAt.Load(), 0
	s.log.Debug("probing", "goal", goal, "padding", s.padRate, "estimate", est)
}

func (s *Subscriber) endProbe(now int64, won bool, raw int) {
	s.log.Debug("probe ended", "won", won, "after", time.Duration(now-s.probeFrom), "estimate", raw)
	s.probing = false
	s.probePad = nil
	if won {
		s.probesWon.Add(1)
		// The link carried the padded rate, overshoot included.
		s.verified = max(s.verified, int(float64(s.probeGoal)*probeOvershoot))
		s.proven = max(s.proven, s.probeGoal)
		s.provenEst = raw
		s.backoff = probeBackoffMin
		s.nextProbe = now + int64(allocTick*allocEvery)
		return
	}
	s.probesLost.Add(1)
	s.nextProbe = now + int64(s.backoff)
	s.backoff = min(s.backoff*2, probeBackoffMax)
}

// grace is how long after media started a client that sent no congestion
// feedback is taken not to do congestion control.
func (s *Subscriber) grace() time.Duration {
	if s.p.Estimator == nil {
		return rembGrace
	}
	return feedbackGrace
}

// probeFailed reports whether the estimate fell enough since the running
// probe started to show that the probe congested the link. GCC's estimate
// saws on a busy host, so it must fall by a tenth; a receiver-side one
// (REMB) falls only on overuse, so any real fall counts.
func (s *Subscriber) probeFailed(est int) bool {
	if s.p.Estimator == nil {
		return est < s.probeStartEst*97/100
	}
	return est < s.probeStartEst*9/10
}

// probeGrew decides a probe that did not fail: with a send-side estimator
// it succeeded. A receiver-side estimate (REMB) does not fall when a probe
// fills a link faster than it had been used (it holds at 85 % of the rate
// received), but it grows, by up to 8 % a second, while the link carries
// the padded rate: that growth is the probe's success.
func (s *Subscriber) probeGrew(est int) bool {
	if s.p.Estimator == nil {
		return est >= s.probeStartEst*rembProbeGrowth/100
	}
	return true
}

// rembProbeStalled reports, for a receiver-side estimate, a probe to give
// up early: the estimate fell; or a report, from the second after the
// probe started (the first may have been made before the padding
// arrived), is no higher than the one before (a browser's estimate grows
// with every report, 200 ms apart, by up to 1.6 %, until it sees the
// link's queue build, and then holds); or by two fifths of the probe's
// time it has not grown a quarter as much as success needs. The
// receiver's estimate holds rather than falls while the probe fills the
// link's queue, so waiting for the probe's end would leave that queue to
// grow for the whole probe.
func (s *Subscriber) rembProbeStalled(now int64) bool {
	est := int(s.remb.Load())
	if s.probeFailed(est) {
		return true
	}
	if at := s.rembAt.Load(); at != s.probeRembAt {
		prev := s.probeRemb
		s.probeRemb, s.probeRembAt = est, at
		if s.probeRembSeen++; s.probeRembSeen > 1 && est <= prev {
			return true
		}
	}
	early := s.probeUntil - int64(probeDuration)*3/5
	return now >= early && est < s.probeStartEst*(100+(rembProbeGrowth-100)/4)/100
}

// congestionSignal is implemented by a delay-based estimator
// (*bwe.Estimator): its detector's verdict of overuse is the earliest sign
// that a probe filled the link's queue.
type congestionSignal interface {
	Overusing() bool
}

// overusing reports whether the estimator's delay detector sees a queue
// building.
func (s *Subscriber) overusing() bool {
	cs, ok := s.p.Estimator.(congestionSignal)
	return ok && cs.Overusing()
}

// queueLevel is implemented by a send-side estimator (*bwe.Estimator):
// the queueing delay the last feedback reported.
type queueLevel interface {
	QueueDelay() time.Duration
}

// queued reports whether the last feedback showed the link's queue over
// limit.
func (s *Subscriber) queued(limit time.Duration) bool {
	q, ok := s.p.Estimator.(queueLevel)
	return ok && q.QueueDelay() > limit
}

// sampleCongestion records whether the delay detector sees overuse now.
func (s *Subscriber) sampleCongestion() {
	s.overuse[s.overuseAt%len(s.overuse)] = s.overusing()
	s.overuseAt++
}

// congested reports sustained queue growth: overuse in at least
// congestedSamples of the last second's samples.
func (s *Subscriber) congested() bool {
	n := 0
	for _, o := range s.overuse {
		if o {
			n++
		}
	}
	return n >= congestedSamples
}

// lossBelowCap reports whether no subscribed stream reports loss over
// lossCapThreshold.
func (s *Subscriber) lossBelowCap(now int64, tracks []*allocTrack) bool {
	for _, a := range tracks {
		if float64(a.d.recentLoss(now))/256 > lossCapThreshold {
			return false
		}
	}
	return true
}

// pad asks the probe's DownTrack for one tick's worth of padding, and ends
// the probe at once if the link's queue is building.
func (s *Subscriber) pad(now int64) {
	if s.probePad == nil || now >= s.probeUntil {
		return
	}
	if s.overusing() || s.queued(probeQueueLimit) || (s.p.Estimator == nil && s.rembProbeStalled(now)) {
		s.endProbe(now, false, 0)
		return
	}
	rate := s.padRate
	if now < s.probeFrom {
		return // (see allocate)
	}
	if ramp := now - s.probeFrom; ramp < int64(probeRamp) {
		rate = int(int64(rate) * (ramp + int64(allocTick)) / int64(probeRamp+allocTick))
	}
	s.probePad.addPadding(rate / 8 * int(allocTick) / int(time.Second))
}
