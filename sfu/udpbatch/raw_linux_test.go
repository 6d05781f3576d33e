package udpbatch

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// On a dual-stack socket (what listening on "udp" with no host gives), raw
// sends reach both an IPv4 and an IPv6 peer, one at a time and batched,
// and raw reads report an IPv4 sender as an IPv4 address, as the standard
// calls do.
func TestRawDualStack(t *testing.T) {
	s, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Skipf("no IPv6 here: %v", err)
	}
	v6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		s.Close()
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	t.Cleanup(func() { v6.Close() })
	b, err := New(s, Params{Size: 16, FlushInterval: time.Hour, Bursts: true, ReadBatch: 8, RawSyscalls: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if b.raw == nil || !b.raw.v6 {
		t.Fatalf("raw sender %+v, want one for an IPv6 socket", b.raw)
	}
	if _, ok := b.br.(*rawReader); !ok {
		t.Fatalf("reader %T, want the raw one", b.br)
	}
	v4 := listen(t)
	// One at a time (nothing held), then a held burst to both.
	for _, peer := range []*net.UDPConn{v4, v6} {
		if _, err := b.WriteToAddrPort(datagram(0, 200), addrOf(peer)); err != nil {
			t.Fatalf("to %v: %v", addrOf(peer), err)
		}
	}
	b.Hold()
	for i := 1; i <= 3; i++ {
		for _, peer := range []*net.UDPConn{v4, v6} {
			if _, err := b.WriteToAddrPort(datagram(i, 200), addrOf(peer)); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.Release()
	receive(t, v4, []int{200, 200, 200, 200})
	receive(t, v6, []int{200, 200, 200, 200})
	if st := b.Stats(); st.Errors != 0 || st.Sends != 3 {
		t.Errorf("%d sends, %d errors; want 3 (two single, one batch) and none", st.Sends, st.Errors)
	}

	port := b.LocalAddr().(*net.UDPAddr).Port
	for _, c := range []struct {
		from *net.UDPConn
		to   netip.AddrPort
	}{
		{v4, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))},
		{v6, netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port))},
	} {
		if _, err := c.from.WriteToUDPAddrPort(datagram(7, 120), c.to); err != nil {
			t.Fatal(err)
		}
		if err := b.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		n, from, err := b.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:n], datagram(7, 120)) || from != addrOf(c.from) {
			t.Errorf("read %d bytes from %v, want 120 from %v", n, from, addrOf(c.from))
		}
	}
}

// A raw send the socket's family cannot carry (IPv6 on an IPv4 socket)
// falls back to the standard write, which reports the error.
func TestRawWrongFamily(t *testing.T) {
	b := newConn(t, Params{Size: 8, FlushInterval: time.Hour, Bursts: true, RawSyscalls: true})
	if b.raw == nil || b.raw.v6 {
		t.Fatalf("raw sender %+v, want one for an IPv4 socket", b.raw)
	}
	if _, err := b.WriteToAddrPort(datagram(0, 100), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Error("an IPv6 destination on an IPv4 socket was accepted")
	}
}
