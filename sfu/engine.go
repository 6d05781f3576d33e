package sfu

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"yunke/sfu/bwe"
)

// EngineParams configure the WebRTC API every PeerConnection is made from.
type EngineParams struct {
	// UDPMux, when set, carries every peer's ICE/DTLS/SRTP over one UDP port.
	UDPMux ice.UDPMux
	// TCPMux, when set, adds passive ICE-TCP candidates (RFC 6544) on one
	// TCP port: the fallback for networks that block UDP.
	TCPMux ice.TCPMux
	// PortRangeStart/End give each peer its own UDP port when UDPMux is nil.
	PortRangeStart, PortRangeEnd uint16
	// NAT1To1IPs are advertised instead of the interfaces' addresses.
	NAT1To1IPs []string
	// IncludeLoopback offers loopback candidates (servers bound to 127.0.0.1).
	IncludeLoopback bool
	// Net replaces the operating system's network (tests use Pion's vnet).
	Net transport.Net
	// NoSendSideBWE leaves GCC and transport-wide sequence numbers off
	// subscribers' PeerConnections: the allocator then relies on the
	// clients' REMB and receiver reports, and forwarding skips the
	// estimator's bookkeeping of every sent packet.
	NoSendSideBWE bool
	// ReceiverSideBWE lets subscribers' browsers estimate their own
	// downstream bandwidth and report it in REMB: the media sent to them
	// carries absolute send times instead of transport-wide sequence
	// numbers, and no send-side estimator runs. Media received (a
	// publisher's, also on /rtc/v1's single PeerConnection) keeps
	// transport-wide feedback, so the publisher's own estimate still works.
	// It implies NoSendSideBWE.
	ReceiverSideBWE bool
	// NoDirectForwarding keeps every forwarded packet on its DownTrack's
	// writer goroutine, even for subscribers on UDP (see
	// SubscriberAPI.WatchDirect).
	NoDirectForwarding bool
}

// Bandwidth-estimation bounds for subscribers' PeerConnections.
const (
	// bweInitialBitrate is where the send-side estimate starts: enough for
	// the top simulcast layer of one camera, so a good link needs no ramp.
	// The allocator still starts lower (see startBitrate) and proves the
	// link with probes before it spends more.
	bweInitialBitrate = 1_000_000
	bweMinBitrate     = 50_000
	bweMaxBitrate     = 30_000_000
)

// NewAPI builds the WebRTC API: Yunke's codecs, the header extensions
// simulcast needs, and the interceptors for the receiving side (NACK
// generation, receiver/sender reports, transport-wide congestion feedback so
// publishers' bandwidth estimation can ramp up to all simulcast layers).
func NewAPI(p EngineParams) (*webrtc.API, error) {
	return newAPI(p)
}

// SubscriberAPI makes PeerConnections that send media to subscribers: the
// publisher-side API, and with send-side estimation one bwe.Estimator per
// PeerConnection (Google Congestion Control, draft-ietf-rmcat-gcc-02, over
// the subscriber's transport-wide feedback). The DownTracks themselves put
// the transport-wide sequence number on every packet they send and record
// it in the estimator: no interceptor sits on the forwarding path for it.
type SubscriberAPI struct {
	api      *webrtc.API
	sendSide bool
	direct   bool
}

// NewSubscriberAPI builds the API for subscribers' PeerConnections.
func NewSubscriberAPI(p EngineParams) (*SubscriberAPI, error) {
	api, err := newAPI(p)
	if err != nil {
		return nil, err
	}
	return &SubscriberAPI{api: api, sendSide: !p.NoSendSideBWE && !p.ReceiverSideBWE, direct: !p.NoDirectForwarding}, nil
}

// WatchDirect keeps direct in step with pc's transport: true while its
// selected ICE candidate pair sends from a local UDP socket, whose writes
// never block, so a publisher's read goroutine may write to this
// subscriber itself (DownTrackParams.Direct); false before a pair is
// chosen, over ICE-TCP (a slow reader there blocks writes), and when
// direct forwarding is configured off. It replaces pc's ICE transport's
// OnSelectedCandidatePairChange handler.
func (s *SubscriberAPI) WatchDirect(pc *webrtc.PeerConnection, direct *atomic.Bool) {
	direct.Store(false)
	if !s.direct {
		return
	}
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(cp *webrtc.ICECandidatePair) {
		direct.Store(cp != nil && cp.Local != nil && cp.Local.Protocol == webrtc.ICEProtocolUDP)
	})
}

// NewPeerConnection creates a PeerConnection and returns its bandwidth
// estimator (nil without send-side estimation). Give the estimator to the
// subscriber's allocator (SubscriberParams.Estimator): its DownTracks
// record what they send in it.
func (s *SubscriberAPI) NewPeerConnection(cfg webrtc.Configuration) (*webrtc.PeerConnection, Estimator, error) {
	pc, err := s.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, nil, err
	}
	if !s.sendSide {
		return pc, nil, nil
	}
	return pc, bwe.New(bwe.Params{Initial: bweInitialBitrate, Min: bweMinBitrate, Max: bweMaxBitrate}), nil
}

// API is the underlying WebRTC API.
func (s *SubscriberAPI) API() *webrtc.API { return s.api }

func newAPI(p EngineParams) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range Codecs() {
		kind := webrtc.RTPCodecTypeVideo
		if strings.HasPrefix(c.MimeType, "audio/") {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("register codec %s: %w", c.MimeType, err)
		}
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register extension %s: %w", uri, err)
		}
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.AudioLevelURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register extension %s: %w", uri, err)
		}
	}

	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	reg.Add(gen)
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("rtcp reports: %w", err)
	}
	if p.ReceiverSideBWE {
		if err := configureReceiverSideBWE(m, reg); err != nil {
			return nil, err
		}
	} else if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, fmt.Errorf("twcc: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(p.IncludeLoopback)
	if p.Net != nil {
		se.SetNet(p.Net)
	}
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if p.UDPMux != nil {
		se.SetICEUDPMux(p.UDPMux)
	} else if p.PortRangeStart > 0 && p.PortRangeEnd >= p.PortRangeStart {
		if err := se.SetEphemeralUDPPortRange(p.PortRangeStart, p.PortRangeEnd); err != nil {
			return nil, fmt.Errorf("port range: %w", err)
		}
	}
	if p.TCPMux != nil {
		se.SetICETCPMux(p.TCPMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	if len(p.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(p.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	// mDNS candidates would hide our loopback/host addresses from browsers.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)

	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// configureReceiverSideBWE negotiates transport-wide sequence numbers only
// on media the server receives (and answers them with TWCC feedback), and
// absolute send times on video it sends. A browser receiving video without
// transport-wide sequence numbers estimates its downstream bandwidth itself
// from the packets' send and arrival times and reports it in REMB
// (goog-remb, see Codecs). Subscribed tracks must therefore go out on
// send-only transceivers: a send-receive one would offer the receive
// direction's extensions too.
func configureReceiverSideBWE(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind,
			webrtc.RTPTransceiverDirectionRecvonly); err != nil {
			return fmt.Errorf("register extension %s: %w", sdp.TransportCCURI, err)
		}
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.ABSSendTimeURI}, webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverDirectionSendonly); err != nil {
		return fmt.Errorf("register extension %s: %w", sdp.ABSSendTimeURI, err)
	}
	gen, err := twcc.NewSenderInterceptor()
	if err != nil {
		return fmt.Errorf("twcc: %w", err)
	}
	reg.Add(gen)
	return nil
}
