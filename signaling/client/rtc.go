package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// peer is one PeerConnection with the candidate queues trickle ICE needs.
type peer struct {
	target livekit.SignalTarget
	pc     *webrtc.PeerConnection

	connected chan struct{} // closed on the first Connected state

	mu            sync.Mutex
	remoteSet     bool                      // a remote description has been applied
	pendingRemote []webrtc.ICECandidateInit // server candidates that came before it
	localSent     bool                      // our first description has been queued
	pendingLocal  []webrtc.ICECandidateInit // our candidates gathered before that
	state         webrtc.PeerConnectionState
}

func (c *Client) newAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	// mid and rid header extensions, so that simulcast layers can be told
	// apart without SSRCs in the SDP (RFC 8852, RFC 8843).
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	// Audio level (RFC 6464), which browsers send and SFUs read to find the
	// active speakers.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// Absolute send time, which browsers accept on video they receive and
	// a server estimating downstream bandwidth on the receiver's side
	// stamps on every video packet.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.ABSSendTimeURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	var err error
	if c.opts.Interceptors != nil {
		err = c.opts.Interceptors(me, reg)
	} else {
		err = webrtc.RegisterDefaultInterceptors(me, reg)
	}
	if err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	if c.opts.SettingEngine != nil {
		c.opts.SettingEngine(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

func (c *Client) setupPeers() error {
	api, err := c.newAPI()
	if err != nil {
		return fmt.Errorf("client: webrtc setup: %w", err)
	}
	cfg := webrtc.Configuration{SDPSemantics: webrtc.SDPSemanticsUnifiedPlan}
	for _, s := range c.join.GetIceServers() {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{
			URLs: s.GetUrls(), Username: s.GetUsername(), Credential: s.GetCredential(),
		})
	}
	if c.pub, err = c.newPeer(api, cfg, livekit.SignalTarget_PUBLISHER); err != nil {
		return err
	}
	if c.sub, err = c.newPeer(api, cfg, livekit.SignalTarget_SUBSCRIBER); err != nil {
		return err
	}

	// Our own data channels on the publisher, like the JS SDK: the server
	// reads what we send on them and may also write to them.
	ordered := false
	var zero uint16
	if c.reliable, err = c.pub.pc.CreateDataChannel("_reliable", nil); err != nil {
		return fmt.Errorf("client: data channel: %w", err)
	}
	if c.lossy, err = c.pub.pc.CreateDataChannel("_lossy", &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &zero}); err != nil {
		return fmt.Errorf("client: data channel: %w", err)
	}
	c.watchDataChannel(c.reliable, c.reliableOpen)
	c.watchDataChannel(c.lossy, c.lossyOpen)
	c.sub.pc.OnDataChannel(func(dc *webrtc.DataChannel) { c.watchDataChannel(dc, nil) })
	c.sub.pc.OnTrack(c.onTrack)
	return nil
}

func (c *Client) newPeer(api *webrtc.API, cfg webrtc.Configuration, target livekit.SignalTarget) (*peer, error) {
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: new %s peer connection: %w", target, err)
	}
	p := &peer{target: target, pc: pc, connected: make(chan struct{})}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return // end of gathering; the protocol needs no signal for it
		}
		init := cand.ToJSON()
		p.mu.Lock()
		if !p.localSent {
			p.pendingLocal = append(p.pendingLocal, init)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		c.sendTrickle(target, init)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection state", "target", target, "state", s)
		p.mu.Lock()
		p.state = s
		if s == webrtc.PeerConnectionStateConnected && !isClosed(p.connected) {
			close(p.connected)
		}
		p.mu.Unlock()
	})
	return p, nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (c *Client) sendTrickle(target livekit.SignalTarget, init webrtc.ICECandidateInit) {
	b, err := json.Marshal(init)
	if err != nil {
		return
	}
	if err := c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
		CandidateInit: string(b), Target: target,
	}}}); err != nil {
		c.log.Debug("trickle not sent", "target", target, "err", err)
	}
}

// descriptionSent marks the first local description as queued and sends the
// candidates gathered before it.
func (c *Client) descriptionSent(p *peer) {
	p.mu.Lock()
	pending := p.pendingLocal
	p.pendingLocal = nil
	p.localSent = true
	p.mu.Unlock()
	for _, init := range pending {
		c.sendTrickle(p.target, init)
	}
}

// remoteDescriptionSet applies the server candidates that arrived early.
func (c *Client) remoteDescriptionSet(p *peer) {
	p.mu.Lock()
	pending := p.pendingRemote
	p.pendingRemote = nil
	p.remoteSet = true
	p.mu.Unlock()
	for _, init := range pending {
		if err := p.pc.AddICECandidate(init); err != nil {
			c.log.Warn("bad remote candidate", "target", p.target, "candidate", init.Candidate, "err", err)
		}
	}
}

func (c *Client) handleTrickle(t *livekit.TrickleRequest) {
	var init webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(t.GetCandidateInit()), &init); err != nil {
		c.log.Warn("bad trickle candidate", "candidateInit", t.GetCandidateInit(), "err", err)
		return
	}
	if init.Candidate == "" {
		return // end of candidates
	}
	p := c.pub
	if t.GetTarget() == livekit.SignalTarget_SUBSCRIBER {
		p = c.sub
	}
	p.mu.Lock()
	if !p.remoteSet {
		p.pendingRemote = append(p.pendingRemote, init)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if err := p.pc.AddICECandidate(init); err != nil {
		c.log.Warn("bad remote candidate", "target", p.target, "candidate", init.Candidate, "err", err)
	}
}

// handleOffer answers a server offer on the subscriber PeerConnection. Offers
// are handled one at a time on the read goroutine, so renegotiations never
// overlap.
func (c *Client) handleOffer(sd *livekit.SessionDescription) error {
	pc := c.sub.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.GetSdp()}); err != nil {
		return fmt.Errorf("client: applying server offer %d: %w", sd.GetId(), err)
	}
	c.remoteDescriptionSet(c.sub)
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("client: answering server offer %d: %w", sd.GetId(), err)
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("client: answering server offer %d: %w", sd.GetId(), err)
	}
	if err := c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{
		Type: "answer", Sdp: ans.SDP, Id: sd.GetId(),
	}}}); err != nil {
		return err
	}
	c.descriptionSent(c.sub)
	return nil
}

// handleAnswer applies the server's answer to our latest publisher offer.
// An answer to an older offer (a negotiation whose caller gave up) is dropped.
func (c *Client) handleAnswer(sd *livekit.SessionDescription) {
	c.mu.Lock()
	latest, waiter := c.pubOfferID, c.answerWaiter
	if sd.GetId() != 0 && sd.GetId() != latest {
		c.mu.Unlock()
		c.log.Warn("answer for a stale offer", "id", sd.GetId(), "latest", latest)
		return
	}
	c.answerWaiter = nil
	c.mu.Unlock()
	err := c.pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.GetSdp()})
	if err != nil {
		err = fmt.Errorf("client: applying server answer %d: %w", sd.GetId(), err)
	} else {
		c.remoteDescriptionSet(c.pub)
	}
	if waiter != nil {
		waiter <- err
	} else if err != nil {
		c.log.Warn("unexpected server answer", "err", err)
	}
}

// negotiatePublisherLocked offers on the publisher PeerConnection, waits for
// the answer and then for the connection. The caller holds pubMu.
func (c *Client) negotiatePublisherLocked(ctx context.Context) error {
	pc := c.pub.pc
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("client: publisher offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("client: publisher offer: %w", err)
	}
	ch := make(chan error, 1)
	c.mu.Lock()
	c.pubOfferID++
	id := c.pubOfferID
	c.answerWaiter = ch
	c.mu.Unlock()
	if err := c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: offer.SDP, Id: id,
	}}}); err != nil {
		return err
	}
	c.descriptionSent(c.pub)
	select {
	case err := <-ch:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for answer to offer %d: %w", id, ctx.Err())
	case <-c.done:
		return c.Err()
	}
	c.pubNegotiated = true
	select {
	case <-c.pub.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for the publisher connection: %w", ctx.Err())
	case <-c.done:
		return c.Err()
	}
}

// ensurePublisher negotiates the publisher PeerConnection (data channels
// only) if nothing has been published yet.
func (c *Client) ensurePublisher(ctx context.Context) error {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if c.pubNegotiated {
		return nil
	}
	return c.negotiatePublisherLocked(ctx)
}

func (c *Client) closePeers() {
	for _, p := range []*peer{c.pub, c.sub} {
		if p != nil {
			p.pc.GracefulClose()
		}
	}
}

// WaitConnected waits until the subscriber PeerConnection (the primary one)
// is connected.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.sub.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for the subscriber connection: %w", ctx.Err())
	case <-c.done:
		return c.Err()
	}
}
