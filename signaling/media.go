package signaling

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"yunke/sfu"
)

// Data channel labels LiveKit SDKs use.
const (
	labelReliable = "_reliable"
	labelLossy    = "_lossy"
)

// setupSubscriber creates the subscriber PeerConnection (the server offers on
// it) with the two data channels the SDKs receive on.
func (p *Participant) setupSubscriber() error {
	pc, err := p.newSubscriberPC()
	if err != nil {
		return fmt.Errorf("subscriber peer connection: %w", err)
	}
	p.sub = pc
	pc.OnICECandidate(func(c *webrtc.ICECandidate) { p.sendTrickle(c, livekit.SignalTarget_SUBSCRIBER) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("subscriber connection", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			p.changed(func() { p.state = livekit.ParticipantInfo_ACTIVE })
		}
	})
	ordered := false
	var zero uint16
	if p.subReliable, err = pc.CreateDataChannel(labelReliable, &webrtc.DataChannelInit{}); err != nil {
		return fmt.Errorf("reliable data channel: %w", err)
	}
	if p.subLossy, err = pc.CreateDataChannel(labelLossy, &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &zero}); err != nil {
		return fmt.Errorf("lossy data channel: %w", err)
	}
	p.subReliable.OnOpen(p.flushData)
	for _, dc := range []*webrtc.DataChannel{p.subReliable, p.subLossy} {
		label := dc.Label()
		dc.OnMessage(func(m webrtc.DataChannelMessage) { p.onData(label, m.Data) })
	}
	return nil
}

// negotiate sends the subscriber a new offer, or notes that one is due once
// the outstanding offer is answered (one offer in flight at a time).
func (p *Participant) negotiate() {
	if p.opts.single {
		p.negotiateSingle()
		return
	}
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return
	}
	if p.offerPending || p.sub.SignalingState() != webrtc.SignalingStateStable {
		p.renegotiate = true
		return
	}
	var opts *webrtc.OfferOptions
	if p.iceRestart {
		opts = &webrtc.OfferOptions{ICERestart: true}
		p.iceRestart = false
	}
	offer, err := p.sub.CreateOffer(opts)
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		if !p.isClosed() && p.sub.ConnectionState() != webrtc.PeerConnectionStateClosed {
			p.log.Error("subscriber offer", "err", err)
		}
		return
	}
	p.offerID++
	p.offerPending = true
	id := p.offerID
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: offer.SDP, Id: id,
	}}})
	time.AfterFunc(p.svc.p.NegotiationTimeout, func() { p.checkAnswered(id) })
}

// checkAnswered ends a session whose client never answered offer id: its
// subscriber connection cannot change any more, so the client is asked to
// reconnect from scratch (LiveKit SDKs then rejoin and republish).
func (p *Participant) checkAnswered(id uint32) {
	p.negMu.Lock()
	stuck := p.offerPending && p.offerID == id
	p.negMu.Unlock()
	if stuck && !p.isClosed() {
		p.log.Warn("subscriber offer not answered; asking the client to reconnect", "offer", id)
		p.closeWithLeave(livekit.DisconnectReason_STATE_MISMATCH, livekit.LeaveRequest_RECONNECT)
	}
}

func (p *Participant) handleSubscriberAnswer(sd *livekit.SessionDescription) {
	p.negMu.Lock()
	if sd.GetType() != "answer" {
		p.negMu.Unlock()
		p.log.Warn("expected an answer for the subscriber", "type", sd.GetType())
		return
	}
	err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.GetSdp()})
	p.offerPending = false
	if err == nil {
		for _, c := range p.subCandidates {
			if err := p.sub.AddICECandidate(c); err != nil {
				p.log.Debug("add subscriber candidate", "err", err)
			}
		}
		p.subCandidates = nil
	}
	again := p.renegotiate
	p.renegotiate = false
	p.negMu.Unlock()
	if err != nil && !p.isClosed() {
		p.log.Warn("subscriber answer refused", "err", err)
	}
	if again || err != nil {
		p.negotiate()
	}
}

// subscribe forwards t to this participant (idempotent).
func (p *Participant) subscribe(t *sfu.Track) {
	if !p.video().GetCanSubscribe() {
		return
	}
	id := TrackID(t.ID())
	p.subMu.Lock()
	if p.isClosed() || p.subs[id] != nil {
		p.subMu.Unlock()
		return
	}
	dt, err := t.NewDownTrack(sfu.DownTrackParams{Logger: p.log.With("track", t.ID()), Direct: &p.direct})
	if err != nil {
		p.subMu.Unlock()
		return // the track ended meanwhile
	}
	sender, err := addSendOnly(p.sub, dt)
	if err != nil {
		p.subMu.Unlock()
		dt.Close()
		p.log.Warn("add subscribed track", "track", t.ID(), "err", err)
		return
	}
	owner, _ := p.room.findTrack(id)
	var ownerSID ParticipantID
	source := livekit.TrackSource_UNKNOWN
	if owner != nil {
		ownerSID, source = owner.sid, owner.trackSource(id)
	}
	p.bwe.Add(dt, subscriptionPriority(source, false))
	dt.Start(sender)
	p.subs[id] = &subscription{dt: dt, sender: sender, owner: ownerSID}
	p.subMu.Unlock()
	t.OnClose(func() { p.unsubscribe(id) })
	p.negotiate()
}

// addSendOnly adds a subscribed track on a send-only transceiver: its
// m-line then offers only the sending direction's header extensions (with
// rtc.downlink_bwe remb, absolute send times rather than transport-wide
// sequence numbers, so that the browser reports REMB).
func addSendOnly(pc *webrtc.PeerConnection, dt *sfu.DownTrack) (*webrtc.RTPSender, error) {
	tr, err := pc.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, err
	}
	return tr.Sender(), nil
}

func (p *Participant) unsubscribe(id TrackID) {
	p.subMu.Lock()
	s := p.subs[id]
	delete(p.subs, id)
	p.subMu.Unlock()
	if s == nil {
		return
	}
	p.bwe.Remove(s.dt)
	if err := p.sub.RemoveTrack(s.sender); err != nil {
		p.log.Debug("remove subscribed track", "err", err)
	}
	s.dt.Close()
	p.negotiate()
}

func (p *Participant) subscription(id TrackID) *subscription {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	return p.subs[id]
}

func (p *Participant) handleSubscription(u *livekit.UpdateSubscription) {
	sids := append([]string{}, u.GetTrackSids()...)
	for _, pt := range u.GetParticipantTracks() {
		sids = append(sids, pt.GetTrackSids()...)
	}
	for _, sid := range sids {
		if !u.GetSubscribe() {
			p.unsubscribe(TrackID(sid))
			continue
		}
		if owner, t := p.room.findTrack(TrackID(sid)); t != nil && owner != p {
			p.subscribe(t)
		}
	}
}

func (p *Participant) handleTrackSetting(s *livekit.UpdateTrackSettings) {
	for _, sid := range s.GetTrackSids() {
		sub := p.subscription(TrackID(sid))
		if sub == nil {
			continue
		}
		quality := s.GetQuality()
		if w, h := s.GetWidth(), s.GetHeight(); w > 0 || h > 0 {
			if owner, _ := p.room.findTrack(TrackID(sid)); owner != nil {
				quality = owner.qualityFor(TrackID(sid), w, h)
			}
		}
		paused := s.GetDisabled() || quality == livekit.VideoQuality_OFF
		sub.dt.SetPaused(paused)
		if !paused {
			sub.dt.SetMaxLayer(int(quality))
		}
		p.setPinned(TrackID(sid), s.GetPriority() > 0)
		p.bwe.Kick()
	}
}

// qualityFor picks the lowest published layer at least w×h.
func (p *Participant) qualityFor(id TrackID, w, h uint32) livekit.VideoQuality {
	p.mu.Lock()
	defer p.mu.Unlock()
	pub := p.tracks[id]
	if pub == nil || len(pub.info.Layers) == 0 {
		return livekit.VideoQuality_HIGH
	}
	best := livekit.VideoQuality_HIGH
	for _, l := range pub.info.Layers {
		if l.Width >= w && l.Height >= h && l.Quality < best {
			best = l.Quality
		}
	}
	return best
}

// publisherPC returns the publisher PeerConnection, creating it on the
// client's first offer.
func (p *Participant) publisherPC() (*webrtc.PeerConnection, error) {
	if p.pub != nil {
		return p.pub, nil
	}
	var (
		pc  *webrtc.PeerConnection
		err error
	)
	if p.opts.single {
		// The single PeerConnection also sends: it gets the subscriber's
		// estimator and allocator.
		pc, err = p.newSubscriberPC()
	} else {
		pc, err = p.svc.p.API.NewPeerConnection(webrtc.Configuration{})
	}
	if err != nil {
		return nil, fmt.Errorf("publisher peer connection: %w", err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) { p.sendTrickle(c, livekit.SignalTarget_PUBLISHER) })
	pc.OnTrack(func(r *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { p.onPublisherTrack(pc, r, recv) })
	pc.OnDataChannel(p.onClientDataChannel)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("publisher connection", "state", s.String())
		if p.opts.single && s == webrtc.PeerConnectionStateConnected {
			p.changed(func() { p.state = livekit.ParticipantInfo_ACTIVE })
		}
	})
	p.pub = pc
	return pc, nil
}

func (p *Participant) handlePublisherOffer(sd *livekit.SessionDescription) {
	if sd.GetType() != "offer" {
		p.log.Warn("expected an offer for the publisher", "type", sd.GetType())
		return
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if p.isClosed() {
		return
	}
	if p.opts.single {
		p.offeredSingle()
		defer p.answeredSingle()
	}
	pc, err := p.publisherPC()
	if err != nil {
		p.log.Error("publisher setup", "err", err)
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.GetSdp()}); err != nil {
		p.log.Warn("publisher offer refused", "err", err)
		return
	}
	receivePlainOpus(pc)
	for _, c := range p.pubCandidates {
		if err := pc.AddICECandidate(c); err != nil {
			p.log.Debug("add publisher candidate", "err", err)
		}
	}
	p.pubCandidates = nil
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		p.log.Warn("publisher answer", "err", err)
		return
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		p.log.Warn("publisher answer", "err", err)
		return
	}
	resp := &livekit.SessionDescription{Type: "answer", Sdp: answer.SDP, Id: sd.GetId()}
	if p.opts.single {
		resp.MidToTrackId = midToTrackID(pc)
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{Answer: resp}})
}

// receivePlainOpus keeps the audio a client publishes to plain Opus (no
// RED), so that tracks, recordings and every subscriber get Opus; RED is
// made per subscriber on the way out.
func receivePlainOpus(pc *webrtc.PeerConnection) {
	for _, t := range pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio && t.Direction() == webrtc.RTPTransceiverDirectionRecvonly {
			_ = t.SetCodecPreferences(sfu.ReceiveCodecs(webrtc.RTPCodecTypeAudio))
		}
	}
}

func (p *Participant) handleAddTrack(req *livekit.AddTrackRequest) {
	if !p.video().GetCanPublishSource(req.GetSource()) {
		p.log.Info("publish refused: no permission", "source", req.GetSource().String())
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: &livekit.RequestResponse{
			Reason:  livekit.RequestResponse_NOT_ALLOWED,
			Message: "permission denied: this participant may not publish " + strings.ToLower(req.GetSource().String()),
			Request: &livekit.RequestResponse_AddTrack{AddTrack: req},
		}}})
		return
	}
	p.mu.Lock()
	ti := p.pending[req.GetCid()]
	if ti == nil {
		if pub := p.byCID[req.GetCid()]; pub != nil {
			ti = pub.info
		}
	}
	if ti == nil && len(p.pending) >= maxPendingTracks {
		p.mu.Unlock()
		p.log.Warn("publish refused: too many tracks awaiting media", "limit", maxPendingTracks)
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: &livekit.RequestResponse{
			Reason:  livekit.RequestResponse_LIMIT_EXCEEDED,
			Message: fmt.Sprintf("too many tracks awaiting media (at most %d): send media for them first", maxPendingTracks),
			Request: &livekit.RequestResponse_AddTrack{AddTrack: req},
		}}})
		return
	}
	if ti == nil {
		ti = &livekit.TrackInfo{
			Sid:           newID("TR_"),
			Type:          req.GetType(),
			Name:          req.GetName(),
			Muted:         req.GetMuted(),
			Width:         req.GetWidth(),
			Height:        req.GetHeight(),
			Simulcast:     len(req.GetLayers()) > 1,
			DisableDtx:    req.GetDisableDtx(),
			Source:        req.GetSource(),
			Layers:        req.GetLayers(),
			Stereo:        req.GetStereo(),
			DisableRed:    req.GetDisableRed(),
			Encryption:    req.GetEncryption(),
			Stream:        req.GetStream(),
			AudioFeatures: req.GetAudioFeatures(),
		}
		p.pending[req.GetCid()] = ti
	}
	resp := proto.Clone(ti).(*livekit.TrackInfo)
	p.mu.Unlock()
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{TrackPublished: &livekit.TrackPublishedResponse{
		Cid: req.GetCid(), Track: resp,
	}}})
}

// onPublisherTrack runs when media of a published track (or of one more
// simulcast layer of it) starts arriving.
func (p *Participant) onPublisherTrack(pc *webrtc.PeerConnection, r *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	cid := r.ID()
	kind := livekit.TrackType_AUDIO
	if r.Kind() == webrtc.RTPCodecTypeVideo {
		kind = livekit.TrackType_VIDEO
	}
	p.mu.Lock()
	pub := p.byCID[cid]
	created := false
	if pub == nil {
		ti, key := p.pending[cid], cid
		if ti == nil { // the SDK's cid is the track id; else match by kind
			for k, t := range p.pending {
				if t.Type == kind {
					ti, key = t, k
					break
				}
			}
		}
		if ti == nil || p.closed || !p.video().GetCanPublishSource(ti.GetSource()) {
			p.mu.Unlock()
			p.log.Warn("media without a matching addTrack; ignored", "track", cid, "kind", kind.String())
			return
		}
		delete(p.pending, key)
		ti.MimeType = r.Codec().MimeType
		t := sfu.NewTrack(sfu.TrackParams{
			ID:        ti.Sid,
			StreamID:  string(p.sid) + "|" + ti.Sid,
			Kind:      r.Kind(),
			Codec:     r.Codec().RTPCodecCapability,
			Publisher: pc,
			CacheSize: p.svc.p.PacketCacheSize,
			OnSubscribedLayers: func() {
				if pub := p.publicationOf(ti.Sid); pub != nil {
					p.layersChanged(pub)
				}
			},
			Metrics: p.svc.p.Metrics,
			Logger:  p.log,
			Batch:   p.svc.p.Batch,
		})
		pub = &publication{info: ti, track: t, cid: cid}
		for _, l := range ti.GetLayers() {
			if q := int(l.GetQuality()); q < sfu.MaxLayers && l.GetBitrate() > 0 {
				t.SetLayerBitrate(q, int(l.GetBitrate()))
			}
		}
		pub.dyn.sent = 1<<sfu.MaxLayers - 1
		p.tracks[TrackID(ti.Sid)] = pub
		p.byCID[cid] = pub
		p.byCID[key] = pub
		p.version++
		created = true
	}
	p.mu.Unlock()

	if err := pub.track.AddLayer(sfu.LayerForRID(r.RID()), r); err != nil {
		return
	}
	p.log.Info("receiving", "track", pub.info.Sid, "kind", kind.String(), "rid", r.RID(), "codec", r.Codec().MimeType)
	if !created {
		return
	}
	pub.track.OnClose(func() { p.trackEnded(pub) })
	if id := audioLevelExtension(recv); id != 0 && r.Kind() == webrtc.RTPCodecTypeAudio {
		pub.audioLevelExt = id
		pub.track.AddTap(sfu.NewAudioLevelObserver(id, func(level float32, active bool) {
			p.room.speakerChanged(p, level, active)
		}))
	}
	p.room.broadcastUpdate(p, p.info())
	p.room.trackPublished(p, pub.track)
	ev := p.trackEvent(pub)
	p.svc.observe(func(ctx context.Context, o Observer) { o.TrackPublished(ctx, ev) })
}

// trackEvent is pub as observers see it.
func (p *Participant) trackEvent(pub *publication) TrackEvent {
	p.mu.Lock()
	info := proto.Clone(pub.info).(*livekit.TrackInfo)
	p.mu.Unlock()
	return TrackEvent{Room: p.room.name, Participant: p.fullEvent(), ID: TrackID(pub.info.Sid), Source: pub.info.Source,
		Track: pub.track, AudioLevelExtension: pub.audioLevelExt, Info: info}
}

// audioLevelExtension is the id the publisher negotiated for RFC 6464 audio
// levels, or 0.
func audioLevelExtension(recv *webrtc.RTPReceiver) uint8 {
	if recv == nil {
		return 0
	}
	for _, e := range recv.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// trackEnded removes an unpublished track from the participant.
func (p *Participant) trackEnded(pub *publication) {
	p.changed(func() {
		delete(p.tracks, TrackID(pub.info.Sid))
		for k, v := range p.byCID {
			if v == pub {
				delete(p.byCID, k)
			}
		}
	})
	ev := p.trackEvent(pub)
	p.svc.observe(func(ctx context.Context, o Observer) { o.TrackUnpublished(ctx, ev) })
}

func (p *Participant) publishedTrack(id TrackID) *sfu.Track {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pub := p.tracks[id]; pub != nil {
		return pub.track
	}
	return nil
}

func (p *Participant) publishedTracks() []*sfu.Track {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*sfu.Track, 0, len(p.tracks))
	for _, pub := range p.tracks {
		out = append(out, pub.track)
	}
	return out
}

func (p *Participant) handleMute(m *livekit.MuteTrackRequest) {
	p.mu.Lock()
	pub := p.tracks[TrackID(m.GetSid())]
	if pub == nil {
		for _, ti := range p.pending {
			if ti.Sid == m.GetSid() {
				ti.Muted = m.GetMuted()
			}
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.changed(func() { pub.info.Muted = m.GetMuted() })
}

// onData forwards a data packet (chat, user data, RPC, streams) after
// stamping the sender, so receivers know who really sent it.
func (p *Participant) onData(label string, data []byte) {
	if !p.video().GetCanPublishData() {
		p.log.Debug("data refused: no canPublishData grant")
		return
	}
	dp := &livekit.DataPacket{}
	if err := proto.Unmarshal(data, dp); err != nil {
		p.log.Warn("malformed data packet", "err", err)
		return
	}
	if err := p.stamp(dp); err != nil {
		p.log.Warn("data packet dropped", "err", err)
		return
	}
	if len(p.svc.p.DataFilters) > 0 {
		ev := DataEvent{Room: p.room.name, Participant: p.event(), Packet: dp}
		for _, f := range p.svc.p.DataFilters {
			if !f.FilterData(p.svc.ctx, ev) {
				return
			}
		}
	}
	raw, err := proto.Marshal(dp)
	if err != nil {
		return
	}
	reliable := label != labelLossy
	p.room.forwardData(p, dp, reliable, raw)
}

// errDataRefused is wrapped by the reasons a client's data packet is dropped.
var errDataRefused = errors.New("data packet refused")

// stamp makes a data packet from this participant say who sent it: every
// sender field the protocol has is overwritten with the participant, so that
// no client speaks in another's name. Packets that name someone else where
// the sender cannot be substituted (a transcription of another participant,
// unless the sender is an agent), or that only the server may send, are
// refused. Chat, RPC and data streams carry no sender of their own: the
// packet's participant_identity is what the SDKs attribute them to.
func (p *Participant) stamp(dp *livekit.DataPacket) error {
	id, sid := string(p.identity), string(p.sid)
	dp.ParticipantIdentity = id
	dp.ParticipantSid = sid
	switch v := dp.Value.(type) {
	case *livekit.DataPacket_User:
		if v.User == nil {
			v.User = &livekit.UserPacket{}
		}
		v.User.ParticipantIdentity = id // deprecated copies, still read by older SDKs
		v.User.ParticipantSid = sid
	case *livekit.DataPacket_Transcription:
		if v.Transcription == nil {
			v.Transcription = &livekit.Transcription{}
		}
		switch who := v.Transcription.GetTranscribedParticipantIdentity(); {
		case who == "" || who == id:
			v.Transcription.TranscribedParticipantIdentity = id
		case p.grants.GetParticipantKind() == livekit.ParticipantInfo_AGENT:
			// An agent transcribes the others; its token was minted with a key.
		default:
			return fmt.Errorf("%w: a transcription attributed to %q", errDataRefused, who)
		}
	case *livekit.DataPacket_ChatMessage, *livekit.DataPacket_RpcRequest, *livekit.DataPacket_RpcAck,
		*livekit.DataPacket_RpcResponse, *livekit.DataPacket_StreamHeader, *livekit.DataPacket_StreamChunk,
		*livekit.DataPacket_StreamTrailer, *livekit.DataPacket_SipDtmf, *livekit.DataPacket_EncryptedPacket:
	default:
		// Speaker updates come from the server only; client metrics name
		// participants by index and are not relayed (as in LiveKit).
		return fmt.Errorf("%w: %T is not relayed from clients", errDataRefused, dp.Value)
	}
	return nil
}

// sendData delivers a data packet on the subscriber's channel.
func (p *Participant) sendData(raw []byte, reliable bool) {
	p.dataMu.Lock()
	dc := p.subLossy
	if reliable {
		dc = p.subReliable
	}
	p.dataMu.Unlock()
	if reliable {
		p.dataMu.Lock()
		if !p.dataOpen {
			if len(p.dataPending) < maxPendingData {
				p.dataPending = append(p.dataPending, raw)
			} else {
				p.log.Warn("data dropped: channel not open and backlog full")
			}
			p.dataMu.Unlock()
			return
		}
		p.dataMu.Unlock()
	} else if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen || dc.BufferedAmount() > maxDataBuffered {
		return
	}
	if err := dc.Send(raw); err != nil {
		p.log.Debug("data send", "err", err)
	}
}

// flushData sends reliable packets that arrived before the channel opened.
func (p *Participant) flushData() {
	p.dataMu.Lock()
	defer p.dataMu.Unlock()
	for _, raw := range p.dataPending {
		if err := p.subReliable.Send(raw); err != nil {
			p.log.Debug("data send", "err", err)
		}
	}
	p.dataPending = nil
	p.dataOpen = true
}
