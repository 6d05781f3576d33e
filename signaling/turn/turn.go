// Package turn runs Yunke's embedded TURN server (RFC 8656, on pion/turn)
// for school networks that block UDP: a browser that cannot reach the media
// port over UDP reaches this server over TCP or TLS and has its media
// relayed, over UDP on the server itself, to the media port.
//
// Credentials are short-lived and need no state: the user name is
// "<expiry unix time>:<identity>" and the password the base64 HMAC-SHA1 of
// it under a secret (the "TURN REST API" scheme coturn and the browsers'
// usual servers use). A credential opens relays until it expires; a relay
// opened in time lives on with its allocation.
//
// A relay is an open door into the server's network, so it only goes
// where media needs to go: peers in private, loopback, link-local,
// shared-address (CGNAT) and other special ranges are refused, except the
// server's own media address; and nothing is relayed to any of the
// server's own addresses but that media address (no reaching the HTTP,
// metrics or database ports through it). TCP relays (RFC 6062) are refused.
package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what the TURN REST credential scheme specifies
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"

	"yunke/signaling"
)

// Realm is the TURN realm of Yunke's credentials.
const Realm = "yunke"

// Params configure a Server. At least one of UDP, TCP and TLS is needed.
type Params struct {
	Logger *slog.Logger
	// UDP, TCP and TLS are the sockets clients reach the server on (TLS
	// already wrapped in crypto/tls); nil ones are not served. The Server
	// closes them.
	UDP net.PacketConn
	TCP net.Listener
	TLS net.Listener
	// Host is the name or address clients are told to reach it at.
	Host string
	// UDPPort, TCPPort and TLSPort are the ports told to clients (those of
	// the sockets, or of a port mapping in front of them).
	UDPPort, TCPPort, TLSPort int
	// RelayIP is the address relays are told to be at (the server's public
	// address); RelayBind the local address they are bound on.
	RelayIP   net.IP
	RelayBind string
	// RelayPortMin and RelayPortMax bound the relays' ports (0: any).
	RelayPortMin, RelayPortMax uint16
	// Secret signs credentials; TTL is how long one may open relays.
	Secret []byte
	TTL    time.Duration
	// Media are the server's own media addresses: the only own addresses a
	// relay reaches, private ones included.
	Media []netip.AddrPort
	// Own are the server's own addresses (its interfaces' by default).
	Own []netip.Addr
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Server is a running TURN server.
type Server struct {
	p       Params
	log     *slog.Logger
	srv     *pturn.Server
	media   map[netip.AddrPort]bool
	mediaIP map[netip.Addr]bool
	own     map[netip.Addr]bool
	// refused counts peers refused and datagrams not relayed.
	refused atomic.Int64
}

var _ signaling.ICEServers = (*Server)(nil)

// ErrNoListener: none of UDP, TCP and TLS was given.
var ErrNoListener = errors.New("turn: no listener")

// New starts a TURN server on the given sockets.
func New(p Params) (*Server, error) {
	if p.UDP == nil && p.TCP == nil && p.TLS == nil {
		return nil, ErrNoListener
	}
	if len(p.Secret) == 0 {
		return nil, errors.New("turn: no secret")
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.TTL <= 0 {
		p.TTL = 10 * time.Minute
	}
	if p.Own == nil {
		p.Own = interfaceAddrs()
	}
	s := &Server{p: p, log: p.Logger, media: map[netip.AddrPort]bool{}, mediaIP: map[netip.Addr]bool{}, own: map[netip.Addr]bool{}}
	for _, m := range p.Media {
		m = netip.AddrPortFrom(m.Addr().Unmap(), m.Port())
		s.media[m] = true
		s.mediaIP[m.Addr()] = true
	}
	for _, a := range p.Own {
		s.own[a.Unmap()] = true
	}
	if ip, ok := netip.AddrFromSlice(p.RelayIP); ok {
		s.own[ip.Unmap()] = true
	}
	cfg := pturn.ServerConfig{
		Realm:         Realm,
		AuthHandler:   s.authenticate,
		LoggerFactory: slogFactory{s.log},
	}
	if p.UDP != nil {
		cfg.PacketConnConfigs = append(cfg.PacketConnConfigs, pturn.PacketConnConfig{
			PacketConn: p.UDP, RelayAddressGenerator: s.relays(), PermissionHandler: s.permit,
		})
	}
	for _, ln := range []net.Listener{p.TCP, p.TLS} {
		if ln != nil {
			cfg.ListenerConfigs = append(cfg.ListenerConfigs, pturn.ListenerConfig{
				Listener: ln, RelayAddressGenerator: s.relays(), PermissionHandler: s.permit,
			})
		}
	}
	srv, err := pturn.NewServer(cfg)
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	s.srv = srv
	return s, nil
}

// Close stops the server and closes its sockets.
func (s *Server) Close() error { return s.srv.Close() }

// Refused counts the peers refused and the datagrams not relayed.
func (s *Server) Refused() int64 { return s.refused.Load() }

// Credentials makes a credential for identity valid until now+ttl.
func Credentials(secret []byte, identity string, now time.Time, ttl time.Duration) (username, password string) {
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + identity
	return username, sign(secret, username)
}

func sign(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ICEServers implements signaling.ICEServers: this server's URLs with a
// fresh credential for identity.
func (s *Server) ICEServers(identity signaling.Identity) []*livekit.ICEServer {
	user, pass := Credentials(s.p.Secret, string(identity), s.p.Now(), s.p.TTL)
	host := s.p.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]" // an IPv6 address
	}
	var urls []string
	if s.p.UDP != nil {
		urls = append(urls, fmt.Sprintf("turn:%s:%d?transport=udp", host, s.p.UDPPort))
	}
	if s.p.TCP != nil {
		urls = append(urls, fmt.Sprintf("turn:%s:%d?transport=tcp", host, s.p.TCPPort))
	}
	if s.p.TLS != nil {
		urls = append(urls, fmt.Sprintf("turns:%s:%d?transport=tcp", host, s.p.TLSPort))
	}
	return []*livekit.ICEServer{{Urls: urls, Username: user, Credential: pass}}
}

// authenticate checks a credential: its signature always, its expiry for
// a new allocation (requests on an allocation opened in time go on).
func (s *Server) authenticate(ra *pturn.RequestAttributes) (string, []byte, bool) {
	exp, _, ok := strings.Cut(ra.Username, ":")
	t, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil {
		s.log.Debug("turn: malformed user name", "client", addrString(ra.SrcAddr))
		return "", nil, false
	}
	if ra.Method == stun.MethodAllocate && time.Unix(t, 0).Before(s.p.Now()) {
		s.log.Info("turn: expired credential", "user", ra.Username, "client", addrString(ra.SrcAddr))
		return "", nil, false
	}
	return ra.Username, pturn.GenerateAuthKey(ra.Username, ra.Realm, sign(s.p.Secret, ra.Username)), true
}

// permit decides CreatePermission and ChannelBind requests.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && s.Allowed(ip.Unmap()) {
		return true
	}
	s.refused.Add(1)
	s.log.Info("turn: peer refused", "peer", peer.String(), "client", addrString(client))
	return false
}

// Allowed reports whether a relay may reach ip at all: a public address
// that is not the server's own, or the server's media address.
func (s *Server) Allowed(ip netip.Addr) bool {
	if s.mediaIP[ip] {
		return true
	}
	if s.own[ip] {
		return false
	}
	return public(ip)
}

// public is false for the ranges a relay must never reach: private,
// loopback, link-local, multicast, unspecified, shared address space
// (RFC 6598), IETF protocol assignments, benchmarking, documentation,
// reserved, and their IPv4-mapped and NAT64 forms.
func public(ip netip.Addr) bool {
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if !ip.IsValid() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range special {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// relays makes each allocation's relay socket: UDP only, its writes
// filtered.
func (s *Server) relays() pturn.RelayAddressGenerator {
	var inner pturn.RelayAddressGenerator
	if s.p.RelayPortMin > 0 {
		inner = &pturn.RelayAddressGeneratorPortRange{RelayAddress: s.p.RelayIP, Address: s.p.RelayBind,
			MinPort: s.p.RelayPortMin, MaxPort: s.p.RelayPortMax}
	} else {
		inner = &pturn.RelayAddressGeneratorStatic{RelayAddress: s.p.RelayIP, Address: s.p.RelayBind}
	}
	return &relayGen{inner: inner, s: s}
}

type relayGen struct {
	inner pturn.RelayAddressGenerator
	s     *Server
}

var errTCPRelay = errors.New("turn: TCP relays are not offered")

func (g *relayGen) Validate() error { return g.inner.Validate() }

func (g *relayGen) AllocatePacketConn(c pturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := g.inner.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	return &relayConn{PacketConn: conn, s: g.s}, addr, nil
}

func (g *relayGen) AllocateListener(pturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPRelay
}

func (g *relayGen) AllocateConn(pturn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPRelay
}

// relayConn is a relay socket that sends nowhere a relay must not go:
// permissions are per IP, so on the server's own address only the media
// port is reachable.
type relayConn struct {
	net.PacketConn
	s *Server
}

func (c *relayConn) WriteTo(b []byte, to net.Addr) (int, error) {
	if !c.s.mayRelayTo(to) {
		c.s.refused.Add(1)
		return len(b), nil // dropped, as the network would
	}
	return c.PacketConn.WriteTo(b, to)
}

func (s *Server) mayRelayTo(to net.Addr) bool {
	ua, ok := to.(*net.UDPAddr)
	if !ok {
		return false
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if s.mediaIP[ap.Addr()] || s.own[ap.Addr()] {
		return s.media[ap]
	}
	return public(ap.Addr())
}

func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// slogFactory routes pion's logs to slog at debug level (warnings and
// errors at their own).
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{f.log.With("pion", scope)}
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Trace(string)          {}
func (l slogLogger) Tracef(string, ...any) {}
func (l slogLogger) Debug(m string)        { l.log.Debug(m) }
func (l slogLogger) Debugf(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...))
}
func (l slogLogger) Info(m string)             { l.log.Debug(m) }
func (l slogLogger) Infof(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Warn(m string)             { l.log.Warn(m) }
func (l slogLogger) Warnf(f string, a ...any)  { l.log.Warn(fmt.Sprintf(f, a...)) }
func (l slogLogger) Error(m string)            { l.log.Error(m) }
func (l slogLogger) Errorf(f string, a ...any) { l.log.Error(fmt.Sprintf(f, a...)) }
