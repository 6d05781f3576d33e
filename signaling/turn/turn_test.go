package turn

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
)

var secret = []byte("test-secret-test-secret")

// startTURN serves TURN over UDP on loopback, with media as the server's
// media address; it ends with the test.
func startTURN(t *testing.T, media netip.AddrPort, now func() time.Time) (*Server, *net.UDPConn) {
	t.Helper()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Params{
		UDP: udp, Host: "127.0.0.1", UDPPort: udp.LocalAddr().(*net.UDPAddr).Port,
		RelayIP: net.IPv4(127, 0, 0, 1), RelayBind: "127.0.0.1",
		Secret: secret, TTL: time.Minute, Media: []netip.AddrPort{media},
		Own: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, udp
}

// allocate opens a relay with user/pass.
func allocate(t *testing.T, server net.Addr, user, pass string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{TURNServerAddr: server.String(), Username: user, Password: pass,
		Realm: Realm, Conn: conn, RTO: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err == nil {
		t.Cleanup(func() { relay.Close() })
	}
	return relay, err
}

// listenUDP is a peer on loopback.
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCredentialsExpire(t *testing.T) {
	now := time.Now()
	media := listenUDP(t)
	_, udp := startTURN(t, media.LocalAddr().(*net.UDPAddr).AddrPort(), func() time.Time { return now })

	user, pass := Credentials(secret, "student", now, time.Minute)
	if !strings.HasSuffix(user, ":student") {
		t.Fatalf("user name %q does not name the identity", user)
	}
	if _, err := allocate(t, udp.LocalAddr(), user, pass); err != nil {
		t.Fatalf("a fresh credential opens no relay: %v", err)
	}
	old, oldPass := Credentials(secret, "student", now.Add(-2*time.Minute), time.Minute)
	if _, err := allocate(t, udp.LocalAddr(), old, oldPass); err == nil {
		t.Fatal("an expired credential opened a relay")
	}
	if _, err := allocate(t, udp.LocalAddr(), user, pass+"x"); err == nil {
		t.Fatal("a wrong password opened a relay")
	}
	forged := strings.Replace(user, ":student", ":teacher", 1)
	if _, err := allocate(t, udp.LocalAddr(), forged, pass); err == nil {
		t.Fatal("a credential signed for another user name opened a relay")
	}
}

func TestRelayReachesOnlyPublicPeersAndTheMediaPort(t *testing.T) {
	media := listenUDP(t)
	other := listenUDP(t) // another port of the server's own address
	s, udp := startTURN(t, media.LocalAddr().(*net.UDPAddr).AddrPort(), time.Now)
	user, pass := Credentials(secret, "student", time.Now(), time.Minute)
	relay, err := allocate(t, udp.LocalAddr(), user, pass)
	if err != nil {
		t.Fatal(err)
	}
	for _, peer := range []string{"10.1.2.3:5000", "192.168.1.1:80", "172.16.0.1:22", "169.254.169.254:80",
		"100.64.0.1:53", "127.0.0.2:7880", "0.0.0.0:80"} {
		before := s.Refused()
		if _, err := relay.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(peer))); err == nil && s.Refused() == before {
			t.Errorf("the relay took a datagram for %s", peer)
		}
	}
	for _, ip := range []string{"10.0.0.1", "::1", "fd00::1", "::ffff:192.168.0.1", "198.18.0.1", "8.8.8.8"} {
		want := ip == "8.8.8.8"
		if got := s.Allowed(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", ip, got, want)
		}
	}

	// The server's own address: the media port only.
	before := s.Refused()
	if _, err := relay.WriteTo([]byte("to the http port"), other.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.WriteTo([]byte("media"), media.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = media.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := media.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "media" {
		t.Fatalf("the media port got %q, %v", buf[:n], err)
	}
	if s.Refused() != before+1 {
		t.Errorf("refused %d datagrams, want the one to another port", s.Refused()-before)
	}
	_ = other.SetReadDeadline(time.Now())
	if n, _, err := other.ReadFrom(buf); err == nil {
		t.Fatalf("another port of the server got %q through the relay", buf[:n])
	}
}

func TestICEServers(t *testing.T) {
	media := listenUDP(t)
	now := time.Unix(1_700_000_000, 0)
	s, udp := startTURN(t, media.LocalAddr().(*net.UDPAddr).AddrPort(), func() time.Time { return now })
	got := s.ICEServers("alice")
	if len(got) != 1 || len(got[0].Urls) != 1 || got[0].Urls[0] != "turn:127.0.0.1:"+strings.Split(udp.LocalAddr().String(), ":")[1]+"?transport=udp" {
		t.Fatalf("ICE servers %v", got)
	}
	if got[0].Username != "1700000060:alice" || got[0].Credential != sign(secret, "1700000060:alice") {
		t.Errorf("credential %q / %q", got[0].Username, got[0].Credential)
	}
}
