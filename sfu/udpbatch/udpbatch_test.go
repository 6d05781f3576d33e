package udpbatch

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// The tests read only after writing a whole burst.
	if err := c.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	return c
}

func newConn(t testing.TB, p Params) *Conn {
	t.Helper()
	s := listen(t)
	b, err := New(s, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// modes runs test with the standard system calls and with raw ones.
func modes(t *testing.T, test func(t *testing.T, raw bool)) {
	t.Run("standard", func(t *testing.T) { test(t, false) })
	t.Run("raw", func(t *testing.T) { test(t, true) })
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// datagram i is size bytes: its index, then the index repeated.
func datagram(i, size int) []byte {
	p := make([]byte, size)
	for j := 0; j+4 <= size; j += 4 {
		binary.BigEndian.PutUint32(p[j:], uint32(i))
	}
	return p
}

// receive reads want datagrams from c and checks that they are 0..want-1 in
// order with the sizes given.
func receive(t *testing.T, c *net.UDPConn, sizes []int) { receiveFrom(t, c, 0, sizes) }

// receiveFrom is receive for datagrams first, first+1, ….
func receiveFrom(t *testing.T, c *net.UDPConn, first int, sizes []int) {
	t.Helper()
	buf := make([]byte, 2048)
	for i, size := range sizes {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, len(sizes), err)
		}
		if !bytes.Equal(buf[:n], datagram(first+i, size)) {
			t.Fatalf("datagram %d: got %d bytes starting %x, want %d bytes of index %d", first+i, n, buf[:min(n, 8)], size, first+i)
		}
	}
}

// Two subscribers, each sent frames of equal-sized packets ending in a
// shorter one, interleaved as a fan-out writes them, with a lone audio-sized
// packet between: each receives everything, in order, as separate
// datagrams, and far fewer sends than datagrams reached the kernel.
func TestBatchesInOrder(t *testing.T) { modes(t, testBatchesInOrder) }

func testBatchesInOrder(t *testing.T, raw bool) {
	for _, gso := range []bool{false, true} {
		t.Run(map[bool]string{false: "sendmmsg", true: "gso"}[gso], func(t *testing.T) {
			b := newConn(t, Params{RawSyscalls: raw, Size: 32, FlushInterval: time.Millisecond, GSO: gso})
			if gso && !b.Stats().GSO {
				t.Skip("kernel without UDP_SEGMENT")
			}
			r1, r2 := listen(t), listen(t)
			var s1, s2 []int
			send := func(r *net.UDPConn, sizes *[]int, size int) {
				if _, err := b.WriteToAddrPort(datagram(len(*sizes), size), addrOf(r)); err != nil {
					t.Fatal(err)
				}
				*sizes = append(*sizes, size)
			}
			for f := range 20 {
				// A frame to subscriber 1 as one run (its writer drains its
				// queue at once), then to subscriber 2.
				for range 5 {
					send(r1, &s1, 1100)
				}
				send(r1, &s1, 300+f)
				send(r2, &s2, 120)
				for range 4 {
					send(r2, &s2, 1000)
				}
				send(r2, &s2, 1000)
				send(r1, &s1, 90)
			}
			b.Flush()
			receive(t, r1, s1)
			receive(t, r2, s2)
			st := b.Stats()
			if st.Datagrams != uint64(len(s1)+len(s2)) || st.Errors != 0 {
				t.Fatalf("stats %+v, want %d datagrams and no errors", st, len(s1)+len(s2))
			}
			if st.Sends*8 > st.Datagrams {
				t.Fatalf("%d sends for %d datagrams: not batched", st.Sends, st.Datagrams)
			}
			if gso && st.Segmented < st.Datagrams/2 {
				t.Fatalf("only %d of %d datagrams went as segments", st.Segmented, st.Datagrams)
			}
			if !gso && st.Segmented != 0 {
				t.Fatalf("%d segmented with GSO off", st.Segmented)
			}
		})
	}
}

// A lone datagram is not held for a batch that never fills: it leaves
// within the flush interval (the bound here is generous for a shared
// machine; the interval is 2 ms).
func TestPartialBatchFlushes(t *testing.T) { modes(t, testPartialBatchFlushes) }

func testPartialBatchFlushes(t *testing.T, raw bool) {
	b := newConn(t, Params{RawSyscalls: raw, Size: 64, FlushInterval: 2 * time.Millisecond})
	r := listen(t)
	for i := range 3 {
		start := time.Now()
		if _, err := b.WriteToAddrPort(datagram(i, 200), addrOf(r)); err != nil {
			t.Fatal(err)
		}
		receiveFrom(t, r, i, []int{200})
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("lone datagram took %v", d)
		}
	}
}

// Close sends what is still queued before closing the socket.
func TestCloseFlushes(t *testing.T) { modes(t, testCloseFlushes) }

func testCloseFlushes(t *testing.T, raw bool) {
	s := listen(t)
	b, err := New(s, Params{RawSyscalls: raw, Size: 64, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r := listen(t)
	sizes := []int{100, 200, 300, 400, 500}
	for i, n := range sizes {
		if _, err := b.WriteToAddrPort(datagram(i, n), addrOf(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	receive(t, r, sizes)
	if _, err := b.WriteToAddrPort(datagram(0, 10), addrOf(r)); err == nil {
		t.Fatal("write after close succeeded")
	}
}

// An oversized datagram goes out directly, after what was queued before it.
func TestOversizeKeepsOrder(t *testing.T) { modes(t, testOversizeKeepsOrder) }

func testOversizeKeepsOrder(t *testing.T, raw bool) {
	b := newConn(t, Params{RawSyscalls: raw, Size: 64, FlushInterval: time.Hour})
	r := listen(t)
	sizes := []int{100, 1800, 100}
	for i, n := range sizes {
		if _, err := b.WriteToAddrPort(datagram(i, n), addrOf(r)); err != nil {
			t.Fatal(err)
		}
	}
	b.Flush()
	receive(t, r, sizes)
}

// The send path allocates nothing per datagram.
func TestWriteAllocations(t *testing.T) { modes(t, testWriteAllocations) }

func testWriteAllocations(t *testing.T, raw bool) {
	for _, gso := range []bool{false, true} {
		b := newConn(t, Params{RawSyscalls: raw, Size: 16, FlushInterval: time.Hour, GSO: gso})
		r := listen(t)
		p, a := datagram(1, 1000), addrOf(r)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := b.WriteToAddrPort(p, a); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("gso=%v: %.2f allocations per write", gso, allocs)
		}
	}
}

func TestParamsValidated(t *testing.T) {
	s := listen(t)
	if _, err := New(s, Params{Size: 1, FlushInterval: time.Millisecond}); err == nil {
		t.Fatal("size 1 accepted")
	}
	if _, err := New(s, Params{Size: 8}); err == nil {
		t.Fatal("zero interval accepted")
	}
}

// BenchmarkWrite compares one sendto per datagram with batched sends: 100
// subscribers' worth of 1100-byte datagrams to one receiver port each.
func BenchmarkWrite(b *testing.B) {
	const subs = 100
	rs := make([]netip.AddrPort, subs)
	for i := range rs {
		rs[i] = addrOf(listen(b))
	}
	p := datagram(1, 1100)
	b.Run("sendto", func(b *testing.B) {
		s := listen(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.WriteToUDPAddrPort(p, rs[i%subs]); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, gso := range []bool{false, true} {
		name := map[bool]string{false: "sendmmsg", true: "sendmmsg+gso"}[gso]
		b.Run(name, func(b *testing.B) {
			c := newConn(b, Params{Size: 64, FlushInterval: time.Millisecond, GSO: gso})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// Frames of 5 packets to each subscriber in turn.
				if _, err := c.WriteToAddrPort(p, rs[(i/5)%subs]); err != nil {
					b.Fatal(err)
				}
			}
			c.Flush()
		})
	}
}

// A burst between Hold and Release goes out in one send at the last
// Release, with no wait for the flush timer (here an hour); an inner
// Release of overlapping bursts leaves the batch for the outer one.
func TestHoldRelease(t *testing.T) { modes(t, testHoldRelease) }

func testHoldRelease(t *testing.T, raw bool) {
	b := newConn(t, Params{RawSyscalls: raw, Size: 64, FlushInterval: time.Hour})
	r := listen(t)
	b.Hold()
	b.Hold()
	for i := range 5 {
		if _, err := b.WriteToAddrPort(datagram(i, 300), addrOf(r)); err != nil {
			t.Fatal(err)
		}
	}
	b.Release()
	if st := b.Stats(); st.Sends != 0 {
		t.Fatalf("%d sends before the last Release, want 0", st.Sends)
	}
	b.Release()
	receive(t, r, []int{300, 300, 300, 300, 300})
	if st := b.Stats(); st.Sends != 1 || st.Datagrams != 5 {
		t.Errorf("%d sends of %d datagrams, want 1 of 5", st.Sends, st.Datagrams)
	}
}

// With ReadBatch, datagrams waiting together come in one recvmmsg and are
// handed out one per read, in order, with their sender; a datagram longer
// than the reader's buffer is cut as a plain read would cut it.
func TestReadBatch(t *testing.T) { modes(t, testReadBatch) }

func testReadBatch(t *testing.T, raw bool) {
	b := newConn(t, Params{RawSyscalls: raw, Size: 64, FlushInterval: time.Millisecond, ReadBatch: 16})
	if b.br == nil {
		t.Skip("no recvmmsg here")
	}
	w := listen(t)
	to := b.LocalAddr().(*net.UDPAddr)
	const n = 40
	for i := range n {
		if _, err := w.WriteToUDP(datagram(i, 100+i), to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for i := range n {
		if err := b.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		k, from, err := b.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:k], datagram(i, 100+i)) || from != addrOf(w) {
			t.Fatalf("datagram %d: %d bytes from %v, want %d bytes of index %d from %v", i, k, from, 100+i, i, addrOf(w))
		}
	}
	if st := b.Stats(); st.ReadDatagrams != n || st.Reads >= n {
		t.Errorf("%d datagrams in %d reads, want %d in fewer", st.ReadDatagrams, st.Reads, n)
	}
	if _, err := w.WriteToUDP(datagram(99, 500), to); err != nil {
		t.Fatal(err)
	}
	short := make([]byte, 8)
	if k, _, err := b.ReadFrom(short); err != nil || k != 8 || !bytes.Equal(short, datagram(99, 500)[:8]) {
		t.Errorf("long datagram into 8 bytes: %d %x %v", k, short, err)
	}
}
