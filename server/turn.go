package server

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"yunke/signaling"
	"yunke/signaling/turn"
)

// setupTURN starts the embedded TURN server when rtc.turn.enabled, on the
// RTC bind address, relaying to the media UDP port. It returns nil (no ICE
// servers handed out) when TURN is off.
func (s *Server) setupTURN(rtcHost string) (signaling.ICEServers, error) {
	tc := s.cfg.RTC.TURN
	if !tc.Enabled {
		return nil, nil
	}
	p := turn.Params{Logger: s.log.With("component", "turn"), TTL: time.Duration(tc.CredentialTTLSeconds) * time.Second,
		RelayPortMin: uint16(tc.RelayPortRangeStart), RelayPortMax: uint16(tc.RelayPortRangeEnd)}
	// One secret per process: credentials are checked by the node that
	// handed them out, and a restart ends its sessions anyway.
	p.Secret = make([]byte, 32)
	if _, err := rand.Read(p.Secret); err != nil {
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	var err error
	if tc.UDPPort >= 0 {
		if p.UDP, err = net.ListenPacket("udp", net.JoinHostPort(rtcHost, strconv.Itoa(tc.UDPPort))); err != nil {
			return nil, fmt.Errorf("listen turn udp on %d: %w", tc.UDPPort, err)
		}
		p.UDPPort = p.UDP.LocalAddr().(*net.UDPAddr).Port
	}
	if tc.TCPPort >= 0 {
		if p.TCP, err = net.Listen("tcp", net.JoinHostPort(rtcHost, strconv.Itoa(tc.TCPPort))); err != nil {
			s.closeTURNSockets(p)
			return nil, fmt.Errorf("listen turn tcp on %d: %w", tc.TCPPort, err)
		}
		p.TCPPort = p.TCP.Addr().(*net.TCPAddr).Port
	}
	if tc.TLSPort > 0 {
		cert, err := tls.LoadX509KeyPair(tc.CertFile, tc.KeyFile)
		if err != nil {
			s.closeTURNSockets(p)
			return nil, fmt.Errorf("turn tls certificate: %w", err)
		}
		if p.TLS, err = tls.Listen("tcp", net.JoinHostPort(rtcHost, strconv.Itoa(tc.TLSPort)),
			&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}); err != nil {
			s.closeTURNSockets(p)
			return nil, fmt.Errorf("listen turn tls on %d: %w", tc.TLSPort, err)
		}
		p.TLSPort = tc.TLSPort
	}

	// Where clients reach it, where relays are, and the media address the
	// relays may reach.
	relayIP := rtcHost
	if s.cfg.RTC.NodeIP != "" {
		relayIP = s.cfg.RTC.NodeIP
	}
	if ip := net.ParseIP(relayIP); ip == nil || ip.IsUnspecified() {
		relayIP = outboundIP()
	}
	p.RelayIP = net.ParseIP(relayIP)
	p.RelayBind = rtcHost
	if p.RelayBind == "" {
		p.RelayBind = "0.0.0.0"
	}
	p.Host = tc.Domain
	if p.Host == "" {
		p.Host = relayIP
	}
	if a, ok := s.UDPAddr().(*net.UDPAddr); ok {
		port := uint16(a.Port)
		ips := []string{s.cfg.RTC.NodeIP, rtcHost, relayIP}
		if ip := a.IP; ip != nil && !ip.IsUnspecified() {
			ips = append(ips, ip.String())
		} else {
			ips = append(ips, "127.0.0.1")
		}
		for _, ip := range ips {
			if addr, err := netip.ParseAddr(ip); err == nil && !addr.IsUnspecified() {
				p.Media = append(p.Media, netip.AddrPortFrom(addr.Unmap(), port))
			}
		}
	}
	srv, err := turn.New(p)
	if err != nil {
		s.closeTURNSockets(p)
		return nil, err
	}
	s.turn = srv
	s.turnAddrs = turnAddrs(p)
	return srv, nil
}

func (s *Server) closeTURNSockets(p turn.Params) {
	if p.UDP != nil {
		_ = p.UDP.Close()
	}
	for _, ln := range []net.Listener{p.TCP, p.TLS} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

func turnAddrs(p turn.Params) []string {
	var out []string
	if p.UDP != nil {
		out = append(out, "udp "+p.UDP.LocalAddr().String())
	}
	if p.TCP != nil {
		out = append(out, "tcp "+p.TCP.Addr().String())
	}
	if p.TLS != nil {
		out = append(out, "tls "+p.TLS.Addr().String())
	}
	return out
}

// outboundIP is the address this host reaches the internet from (no packet
// is sent), or 127.0.0.1.
func outboundIP() string {
	c, err := net.Dial("udp", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}
