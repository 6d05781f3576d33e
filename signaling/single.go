package signaling

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// /rtc/v1: one PeerConnection for both directions, as current SDKs try
// first. The join request travels in the join_request query parameter (a
// WrappedJoinRequest, base64url, its JoinRequest possibly gzipped), often
// with the client's first offer in it. The client always offers and the
// server answers: media the server sends rides on the receive-only
// sections the client offered. When the server has tracks for which the
// client offered no section (or whose sections changed), it sends a
// MediaSectionsRequirement; the client adds the sections and offers again.
// Each answer maps its sections to track sids (mid_to_track_id).

// maxJoinRequest bounds a decoded join request (an SDP offer fits easily).
const maxJoinRequest = 64 << 10

var errBadJoinRequest = errors.New("bad join_request")

// parseJoinRequest decodes the join_request parameter.
func parseJoinRequest(raw string) (*livekit.JoinRequest, error) {
	b, err := base64.URLEncoding.DecodeString(raw)
	if err != nil {
		if b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "=")); err != nil {
			return nil, fmt.Errorf("%w: not base64url: %v", errBadJoinRequest, err)
		}
	}
	var w livekit.WrappedJoinRequest
	if err := proto.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadJoinRequest, err)
	}
	body := w.GetJoinRequest()
	if w.GetCompression() == livekit.WrappedJoinRequest_GZIP {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", errBadJoinRequest, err)
		}
		body, err = io.ReadAll(io.LimitReader(zr, maxJoinRequest+1))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", errBadJoinRequest, err)
		}
		if len(body) > maxJoinRequest {
			return nil, fmt.Errorf("%w: over %d bytes", errBadJoinRequest, maxJoinRequest)
		}
	}
	var jr livekit.JoinRequest
	if err := proto.Unmarshal(body, &jr); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadJoinRequest, err)
	}
	return &jr, nil
}

// serveV1 is /rtc/v1: a join (or resume) with a single PeerConnection.
func (s *Service) serveV1(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	grants, apiKey, err := s.authenticate(tokenFrom(r))
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	jr, err := parseJoinRequest(r.URL.Query().Get("join_request"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if jr.GetReconnect() && jr.GetParticipantSid() != "" {
		s.serveResume(w, r, grants, ParticipantID(jr.GetParticipantSid()))
		return
	}
	cs := jr.GetConnectionSettings()
	opts := joinOptions{
		autoSubscribe: cs.GetAutoSubscribe(),
		protocol:      strconv.Itoa(int(jr.GetClientInfo().GetProtocol())),
		sdk:           strings.ToLower(jr.GetClientInfo().GetSdk().String()),
		single:        true,
		offer:         jr.GetPublisherOffer(),
	}
	s.serveJoin(w, r, grants, apiKey, opts)
}

// setupSingle creates the one PeerConnection of a /rtc/v1 session: the
// publisher PeerConnection, which also carries what the participant
// receives and the data channels the client opens.
func (p *Participant) setupSingle() error {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	pc, err := p.publisherPC()
	if err != nil {
		return err
	}
	p.sub = pc
	return nil
}

// negotiateSingle asks the client to offer again when the server has
// tracks without a section yet, or sections whose direction changed; the
// client's first offer (on its way, or in the join request) covers the
// tracks subscribed before it.
func (p *Participant) negotiateSingle() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() || p.sub.RemoteDescription() == nil {
		return
	}
	if p.sub.SignalingState() != webrtc.SignalingStateStable || p.offerPending {
		p.renegotiate = true // asked again once the answer is out
		return
	}
	var audios, videos uint32
	for _, t := range p.sub.GetTransceivers() {
		if t.Mid() == "" && t.Sender() != nil {
			if t.Kind() == webrtc.RTPCodecTypeAudio {
				audios++
			} else {
				videos++
			}
		}
	}
	p.offerPending = true // a requirement is out; cleared by the client's offer
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_MediaSectionsRequirement{
		MediaSectionsRequirement: &livekit.MediaSectionsRequirement{NumAudios: audios, NumVideos: videos},
	}})
}

// offeredSingle notes, before a client offer of a single-PC session is
// answered, that the requirement sent is met.
func (p *Participant) offeredSingle() {
	p.negMu.Lock()
	p.offerPending = false
	p.negMu.Unlock()
}

// answeredSingle asks for another offer if something changed meanwhile or
// tracks are still without a section.
func (p *Participant) answeredSingle() {
	p.negMu.Lock()
	again := p.renegotiate
	p.renegotiate = false
	for _, t := range p.sub.GetTransceivers() {
		if t.Mid() == "" && t.Sender() != nil {
			again = true
		}
	}
	p.negMu.Unlock()
	if again {
		p.negotiateSingle()
	}
}

// midToTrackID maps the sections the server sends on to track sids.
func midToTrackID(pc *webrtc.PeerConnection) map[string]string {
	out := map[string]string{}
	for _, t := range pc.GetTransceivers() {
		if s := t.Sender(); s != nil && s.Track() != nil && t.Mid() != "" {
			out[t.Mid()] = s.Track().ID()
		}
	}
	return out
}

// onClientDataChannel takes up a data channel the client opened on its
// single PeerConnection: the server also sends on it.
func (p *Participant) onClientDataChannel(dc *webrtc.DataChannel) {
	label := dc.Label()
	dc.OnMessage(func(m webrtc.DataChannelMessage) { p.onData(label, m.Data) })
	if !p.opts.single {
		return
	}
	p.dataMu.Lock()
	defer p.dataMu.Unlock()
	switch label {
	case labelReliable:
		if p.subReliable == nil {
			p.subReliable = dc
			// A channel the client opened is open when announced; flushing
			// twice is harmless.
			dc.OnOpen(p.flushData)
			if dc.ReadyState() == webrtc.DataChannelStateOpen {
				go p.flushData()
			}
		}
	case labelLossy:
		if p.subLossy == nil {
			p.subLossy = dc
		}
	}
}
