package sfu

import (
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
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
}

// NewAPI builds the WebRTC API: Yunke's codecs, the header extensions
// simulcast needs, and the interceptors for the receiving side (NACK
// generation, receiver/sender reports, transport-wide congestion feedback so
// publishers' bandwidth estimation can ramp up to all simulcast layers).
func NewAPI(p EngineParams) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range Codecs() {
		kind := webrtc.RTPCodecTypeVideo
		if c.MimeType == webrtc.MimeTypeOpus {
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
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, fmt.Errorf("twcc: %w", err)
	}

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(p.IncludeLoopback)
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
