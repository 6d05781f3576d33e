package signaling

import (
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

// This file ties the media engine's forwarding decisions to the protocol:
// stream states (a video paused for lack of bandwidth), dynacast (layers
// nobody receives are paused at the publisher), subscriber priorities
// (screen shares and the speaking or pinned participant first) and
// connection quality.

const (
	// qualityInterval is how often connection quality is computed and
	// changes are sent, as LiveKit does.
	qualityInterval = 2 * time.Second
	// dynacastDelay holds a layer a little after its last subscriber left
	// before pausing it at the publisher, so that a subscriber stepping
	// down and back up does not make the publisher's encoder flap.
	dynacastDelay = 2 * time.Second
)

// newSubscriberPC makes the PeerConnection that sends the participant
// its subscribed media (the subscriber PeerConnection on /rtc, the single
// one on /rtc/v1), with its bandwidth estimator when the service has a
// subscriber API, and the allocator that spends the estimate over the
// subscribed tracks. The subscriber API's interceptors are the plain API's
// plus the estimator's, so a single PeerConnection made from it receives
// the participant's own media as a publisher PeerConnection does.
func (p *Participant) newSubscriberPC() (*webrtc.PeerConnection, error) {
	var (
		pc  *webrtc.PeerConnection
		est sfu.Estimator
		err error
	)
	if api := p.svc.p.SubscriberAPI; api != nil {
		pc, est, err = api.NewPeerConnection(webrtc.Configuration{})
		if err == nil {
			api.WatchDirect(pc, &p.direct)
		}
	} else {
		pc, err = p.svc.p.API.NewPeerConnection(webrtc.Configuration{})
	}
	if err != nil {
		return nil, err
	}
	p.bwe = sfu.NewSubscriber(sfu.SubscriberParams{
		Estimator:     est,
		OnStreamState: p.streamStateChanged,
		Logger:        p.log,
	})
	return pc, nil
}

// streamStateChanged tells the client that a subscribed video was paused
// for bandwidth or resumed (StreamStateUpdate, as LiveKit sends it).
func (p *Participant) streamStateChanged(d *sfu.DownTrack, paused bool) {
	owner, _ := p.room.findTrack(TrackID(d.ID()))
	if owner == nil {
		return
	}
	state := livekit.StreamState_ACTIVE
	if paused {
		state = livekit.StreamState_PAUSED
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_StreamStateUpdate{StreamStateUpdate: &livekit.StreamStateUpdate{
		StreamStates: []*livekit.StreamStateInfo{{ParticipantSid: string(owner.sid), TrackSid: d.ID(), State: state}},
	}}})
}

// subscriptionPriority is where a subscribed track stands when bandwidth
// is short: screen shares first, then the pinned or speaking participant.
func subscriptionPriority(source livekit.TrackSource, focus bool) sfu.Priority {
	switch {
	case source == livekit.TrackSource_SCREEN_SHARE:
		return sfu.PriorityScreen
	case focus:
		return sfu.PriorityFocus
	default:
		return sfu.PriorityOther
	}
}

// trackSource is the source of one of p's published tracks.
func (p *Participant) trackSource(id TrackID) livekit.TrackSource {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pub := p.tracks[id]; pub != nil {
		return pub.info.GetSource()
	}
	return livekit.TrackSource_UNKNOWN
}

// focusChanged re-ranks p's subscriptions to owner's tracks when owner
// starts or stops speaking.
func (p *Participant) focusChanged(owner *Participant, speaking bool) {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	for id, s := range p.subs {
		if s.owner != owner.sid || s.dt.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		s.speaking = speaking
		p.bwe.SetPriority(s.dt, subscriptionPriority(owner.trackSource(id), s.pinned || s.speaking))
	}
}

// setPinned records the client's priority for a subscribed track
// (UpdateTrackSettings.priority: non-zero pins it).
func (p *Participant) setPinned(id TrackID, pinned bool) {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	s := p.subs[id]
	if s == nil || s.pinned == pinned {
		return
	}
	s.pinned = pinned
	if owner, _ := p.room.findTrack(id); owner != nil {
		p.bwe.SetPriority(s.dt, subscriptionPriority(owner.trackSource(id), s.pinned || s.speaking))
	}
}

// dynacast keeps the publisher's simulcast layers to those some subscriber
// receives (SubscribedQualityUpdate): enabling a layer is sent at once,
// pausing one only after dynacastDelay.
type dynacast struct {
	mu      sync.Mutex
	sent    uint8 // mask last sent; all layers until the first update
	pending bool  // a delayed re-check is scheduled
}

// layersChanged runs when the set of layers pub's subscribers receive may
// have changed.
func (p *Participant) layersChanged(pub *publication) {
	if pub.track.Kind() != webrtc.RTPCodecTypeVideo || !pub.info.GetSimulcast() {
		return
	}
	want := pub.track.SubscribedLayers()
	d := &pub.dyn
	d.mu.Lock()
	if want == d.sent {
		d.mu.Unlock()
		return
	}
	if want&^d.sent == 0 { // only pausing: wait, and look again
		if !d.pending {
			d.pending = true
			time.AfterFunc(dynacastDelay, func() { p.dynacastRecheck(pub) })
		}
		d.mu.Unlock()
		return
	}
	d.sent = want
	d.mu.Unlock()
	p.sendSubscribedLayers(pub, want)
}

func (p *Participant) dynacastRecheck(pub *publication) {
	if p.isClosed() {
		return
	}
	want := pub.track.SubscribedLayers()
	d := &pub.dyn
	d.mu.Lock()
	d.pending = false
	if want == d.sent {
		d.mu.Unlock()
		return
	}
	d.sent = want
	d.mu.Unlock()
	p.sendSubscribedLayers(pub, want)
}

func (p *Participant) sendSubscribedLayers(pub *publication, mask uint8) {
	pub.track.SetPublisherLayers(mask)
	qs := make([]*livekit.SubscribedQuality, 0, sfu.MaxLayers)
	for i := range sfu.MaxLayers {
		qs = append(qs, &livekit.SubscribedQuality{Quality: livekit.VideoQuality(i), Enabled: mask&(1<<i) != 0})
	}
	p.log.Debug("dynacast", "track", pub.info.GetSid(), "layers", mask)
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscribedQualityUpdate{SubscribedQualityUpdate: &livekit.SubscribedQualityUpdate{
		TrackSid:            pub.info.GetSid(),
		SubscribedQualities: qs,
		SubscribedCodecs:    []*livekit.SubscribedCodec{{Codec: mimeCodec(pub.info.GetMimeType()), Qualities: qs}},
	}}})
}

// mimeCodec is "vp8" for "video/VP8".
func mimeCodec(mime string) string {
	for i := range len(mime) {
		if mime[i] == '/' {
			mime = mime[i+1:]
			break
		}
	}
	b := []byte(mime)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// qualityState is what the quality loop remembers between rounds.
type qualityState struct {
	score float32
	level livekit.ConnectionQuality
	// Publisher inbound totals at the last round.
	received, lost int64
}

// connectionQuality scores p's connection from what it reports about the
// media we send it (receiver reports: loss and jitter) and what we see of
// the media it sends us, the worse of the two. The score follows LiveKit's
// scale: 5 is perfect; under 4 is GOOD, under 2.5 POOR.
func (p *Participant) connectionQuality(st *qualityState) (livekit.ConnectionQuality, float32) {
	var (
		lossPct  float64
		jitterMs float64
		have     bool
	)
	p.subMu.Lock()
	for _, s := range p.subs {
		lost, jit, ok := s.dt.Report()
		if !ok {
			continue
		}
		have = true
		lossPct = max(lossPct, float64(lost)*100/256)
		if clock := s.dt.Track().Codec().ClockRate; clock > 0 {
			jitterMs = max(jitterMs, float64(jit)*1000/float64(clock))
		}
	}
	p.subMu.Unlock()

	p.pubMu.Lock()
	pub := p.pub
	p.pubMu.Unlock()
	if pub != nil {
		var received, lost int64
		var jit float64
		for _, s := range pub.GetStats() {
			if in, ok := s.(webrtc.InboundRTPStreamStats); ok {
				received += int64(in.PacketsReceived)
				lost += int64(in.PacketsLost)
				jit = max(jit, in.Jitter)
			}
		}
		if dr, dl := received-st.received, lost-st.lost; dr+dl > 0 && st.received > 0 {
			have = true
			lossPct = max(lossPct, float64(max(dl, 0))*100/float64(dr+dl))
			jitterMs = max(jitterMs, jit*1000)
		}
		st.received, st.lost = received, lost
	}
	if !have {
		return livekit.ConnectionQuality_EXCELLENT, 5
	}
	return scoreQuality(lossPct, jitterMs)
}

// scoreQuality maps loss (%) and jitter (ms) to a score and level: each
// percent of loss costs half a point and every 10 ms of jitter past 30 ms a
// quarter point, close to LiveKit's thresholds (EXCELLENT under ~2 % loss,
// POOR from ~5–8 %).
func scoreQuality(lossPct, jitterMs float64) (livekit.ConnectionQuality, float32) {
	score := 5 - lossPct/2 - max(jitterMs-30, 0)/40
	score = min(max(score, 1), 5)
	switch {
	case score >= 4:
		return livekit.ConnectionQuality_EXCELLENT, float32(score)
	case score >= 2.5:
		return livekit.ConnectionQuality_GOOD, float32(score)
	default:
		return livekit.ConnectionQuality_POOR, float32(score)
	}
}

// qualityLoopState is what the quality ticks keep between them.
type qualityLoopState struct {
	st   qualityState
	told map[ParticipantID]livekit.ConnectionQuality
}

// qualityTick, every qualityInterval (see timerLoop), computes p's
// connection quality and sends p, in one ConnectionQualityUpdate, the
// qualities that changed since it was last told among those it sees: its
// own and the visible others'.
func (p *Participant) qualityTick(q *qualityLoopState) {
	if q.told == nil {
		q.told = make(map[ParticipantID]livekit.ConnectionQuality)
	}
	told := q.told
	level, score := p.connectionQuality(&q.st)
	p.quality.Store(&connQuality{level: level, score: score})
	var updates []*livekit.ConnectionQualityInfo
	seen := make(map[ParticipantID]bool, len(told))
	for _, o := range p.room.list() {
		q := o.quality.Load()
		if q == nil || (o != p && o.hidden()) {
			continue
		}
		seen[o.sid] = true
		if prev, ok := told[o.sid]; ok && prev == q.level {
			continue
		}
		told[o.sid] = q.level
		updates = append(updates, &livekit.ConnectionQualityInfo{ParticipantSid: string(o.sid), Quality: q.level, Score: q.score})
	}
	for sid := range told {
		if !seen[sid] {
			delete(told, sid)
		}
	}
	if len(updates) > 0 {
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_ConnectionQuality{ConnectionQuality: &livekit.ConnectionQualityUpdate{
			Updates: updates,
		}}})
	}
}

// connQuality is a participant's last computed quality.
type connQuality struct {
	level livekit.ConnectionQuality
	score float32
}

// publicationOf is one of p's published tracks by sid, or nil.
func (p *Participant) publicationOf(sid string) *publication {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks[TrackID(sid)]
}
