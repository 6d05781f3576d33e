// Package udpbatch sends the SFU's UDP datagrams in batches: many
// datagrams per sendmmsg(2) call, and, where the kernel supports UDP
// generic segmentation offload (UDP_SEGMENT, Linux 4.18+), consecutive
// equal-sized datagrams to one peer as a single send that the kernel cuts
// into datagrams.
//
// Conn wraps the one UDP socket every peer shares (the ICE UDP mux). Pion
// writes each RTP, RTCP, STUN and DTLS datagram with WriteToAddrPort; Conn
// copies it into a fixed slot and returns. The slots go out together when
// the batch is full, when FlushInterval has passed since its first
// datagram, or on Close. A class's fan-out writes each packet to every
// subscriber in a burst, so batches fill at once there and the interval
// bounds the delay only for the last, partial batch of a burst.
//
// A writer that knows a burst is coming (a publisher's read goroutine about
// to write one packet to every subscriber) brackets it with Hold and
// Release: inside, datagrams wait without arming the flush timer, and the
// last Release sends them at once, so the burst costs one sendmmsg and no
// timer wake-up.
//
// GSO applies to runs of datagrams to the same address that are adjacent
// in the batch: a subscriber's writer drains its queue in one go, so the
// packets of a video frame to one subscriber (as in a one-to-one tutoring
// room) are such a run. A run is one segment size followed by at most one
// shorter datagram, as UDP_SEGMENT requires. Where the kernel refuses a
// segmented send, Conn turns GSO off for good and sends the segments one by
// one; where sendmmsg is missing (not Linux), each datagram is written on
// its own.
//
// With RawSyscalls (Linux), sends and batched reads are system calls the Go
// scheduler is not told about. The socket is non-blocking, so none of them
// waits in the kernel; told about, each one wakes the scheduler's monitor
// thread when the process comes back from idle, and the monitor then polls
// every 20 µs and hands a processor whose call it sees twice to another
// thread. On one core under a tutoring load that monitor and its hand-offs
// took a fifth of the CPU.
package udpbatch

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// slotSize is the largest datagram a slot holds; larger ones (never RTP at
// our MTU) are written directly, after the pending batch so that order holds.
const slotSize = 1500

// maxSegments is the most datagrams the kernel accepts in one UDP_SEGMENT
// send (UDP_MAX_SEGMENTS, 64 since Linux 4.18), maxGSOBytes the most bytes.
const (
	maxSegments = 64
	maxGSOBytes = 65000
)

// Params configures a Conn.
type Params struct {
	// Size is how many datagrams one sendmmsg carries at most (≥ 2).
	Size int
	// FlushInterval bounds how long a datagram waits for its batch to fill.
	FlushInterval time.Duration
	// GSO lets Conn segment runs of datagrams to one peer in the kernel,
	// where it supports UDP_SEGMENT.
	GSO bool
	// Logger receives the one-time notice that GSO was turned off.
	Logger *slog.Logger
	// Bursts batches only what is written while some writer holds the
	// batch (Hold … Release): another datagram goes out at once, unless
	// datagrams are already waiting, which it then joins to keep order.
	Bursts bool
	// ReadBatch, when ≥ 2, reads up to this many waiting datagrams per
	// recvmmsg call (Linux) and hands them out one per ReadFromAddrPort.
	ReadBatch int
	// RawSyscalls makes the socket's sends (Linux) system calls that the Go
	// scheduler is not told about, which cannot block: a non-blocking
	// socket's send never waits, and announcing it costs thread hand-offs
	// under load (see rawSender).
	RawSyscalls bool
}

// Stats are Conn's counters since it was opened.
type Stats struct {
	// Datagrams written through the batch; Sends the sendmmsg calls and
	// single writes that carried them; Segmented the datagrams that went as
	// GSO segments of a larger send.
	Datagrams, Sends, Segmented uint64
	// Errors counts datagrams the kernel refused (dropped, as a full socket
	// buffer would).
	Errors uint64
	// GSO reports whether segmentation is in use.
	GSO bool
	// Reads counts recvmmsg calls (ReadBatch), ReadDatagrams the datagrams
	// they brought.
	Reads, ReadDatagrams uint64
}

type slot struct {
	buf  [slotSize]byte
	n    int
	addr netip.AddrPort
}

// Conn is a net.PacketConn whose writes are batched. It also implements
// ReadFromAddrPort and WriteToAddrPort, the allocation-free pair Pion's UDP
// mux looks for.
type Conn struct {
	*net.UDPConn
	p   Params
	log *slog.Logger
	bw  batchWriter // nil: no sendmmsg here, write one by one
	raw *rawSender  // nil: single datagrams through the standard write

	mu     sync.Mutex
	slots  []slot
	n      int
	closed bool
	// Per message of a flush, reused: the messages, their addresses (IP
	// backing arrays kept), the GSO control message and segment lists.
	msgs  []ipv4.Message
	addrs []net.UDPAddr
	oobs  [][]byte
	segs  [][][]byte
	order []int32 // slots' indexes sorted by address, for GSO runs
	cmp   func(x, y int32) int

	gso   atomic.Bool
	holds atomic.Int32 // Hold calls not yet Released
	// timer sends a partial batch FlushInterval after its first datagram;
	// armed tells whether it is set (both under mu). It runs its function
	// on its own only when it fires: a burst released in time costs a
	// Reset and a Stop, no goroutine wake-up.
	timer *time.Timer
	armed bool

	datagrams, sends, segmented, errs atomic.Uint64

	// The read side (ReadBatch): rmsgs[rnext:rn] are read and not yet
	// handed out. One reader at a time (Pion's mux has one).
	rmu        sync.Mutex
	br         reader // nil: read one at a time
	rn, rnext  int
	reads      atomic.Uint64 // read calls
	readDgrams atomic.Uint64 // datagrams they returned
}

// reader reads the datagrams waiting on the socket, at least one, and hands
// them out by index until the next read.
type reader interface {
	readBatch() (int, error)
	datagram(i int) ([]byte, netip.AddrPort)
}

// batchReader is what xnetReader reads with: ipv4.PacketConn's recvmmsg.
type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

// xnetReader reads with ipv4.PacketConn.
type xnetReader struct {
	pc batchReader
	ms []ipv4.Message
}

func newXnetReader(pc batchReader, n int) *xnetReader {
	r := &xnetReader{pc: pc, ms: make([]ipv4.Message, n)}
	for i := range r.ms {
		r.ms[i].Buffers = [][]byte{make([]byte, slotSize)}
	}
	return r
}

func (r *xnetReader) readBatch() (int, error) { return r.pc.ReadBatch(r.ms, 0) }

func (r *xnetReader) datagram(i int) ([]byte, netip.AddrPort) {
	m := &r.ms[i]
	b := m.Buffers[0][:m.N]
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		return b, ua.AddrPort()
	}
	return b, netip.AddrPort{}
}

// rawBatchWriter sends batches with rawSender.
type rawBatchWriter struct{ r *rawSender }

func (w rawBatchWriter) WriteBatch(ms []ipv4.Message, _ int) (int, error) { return w.r.sendBatch(ms) }

type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// New wraps c. Close closes c.
func New(c *net.UDPConn, p Params) (*Conn, error) {
	if p.Size < 2 {
		return nil, fmt.Errorf("udpbatch: size %d, want at least 2", p.Size)
	}
	if p.FlushInterval <= 0 {
		return nil, fmt.Errorf("udpbatch: flush interval %v, want > 0", p.FlushInterval)
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Conn{
		UDPConn: c, p: p, log: log,
		slots: make([]slot, p.Size),
		msgs:  make([]ipv4.Message, p.Size),
		addrs: make([]net.UDPAddr, p.Size),
		oobs:  make([][]byte, p.Size),
		segs:  make([][][]byte, p.Size),
		order: make([]int32, p.Size),
	}
	for i := range b.addrs {
		b.addrs[i].IP = make(net.IP, 0, net.IPv6len)
		b.oobs[i] = make([]byte, 0, gsoControlSize)
		b.segs[i] = make([][]byte, 0, maxSegments)
	}
	if runtime.GOOS == "linux" {
		pc := ipv4.NewPacketConn(c)
		b.bw = pc
		if p.ReadBatch >= 2 {
			b.br = newXnetReader(pc, p.ReadBatch)
		}
	}
	if p.RawSyscalls {
		if r := newRawSender(c, p.Size); r != nil {
			b.raw = r
			b.bw = rawBatchWriter{r}
		}
		if p.ReadBatch >= 2 {
			if r := newRawReader(c, p.ReadBatch); r != nil {
				b.br = r
			}
		}
	}
	b.cmp = b.byAddr
	b.gso.Store(p.GSO && b.bw != nil && gsoSupported(c))
	b.timer = time.AfterFunc(time.Hour, b.Flush)
	b.timer.Stop()
	return b, nil
}

// Stats returns the counters.
func (b *Conn) Stats() Stats {
	return Stats{Datagrams: b.datagrams.Load(), Sends: b.sends.Load(), Segmented: b.segmented.Load(),
		Errors: b.errs.Load(), GSO: b.gso.Load(), Reads: b.reads.Load(), ReadDatagrams: b.readDgrams.Load()}
}

// ReadFromAddrPort reads one datagram. With ReadBatch it comes from the
// last recvmmsg's haul, and a new call is made only when that is used up:
// under load one system call brings many datagrams; when idle, each call
// returns the one that arrived. A datagram longer than p is cut to fit,
// as a single read would cut it.
func (b *Conn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	if b.br == nil {
		return b.ReadFromUDPAddrPort(p)
	}
	b.rmu.Lock()
	defer b.rmu.Unlock()
	for b.rnext >= b.rn {
		n, err := b.br.readBatch()
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		b.reads.Add(1)
		b.readDgrams.Add(uint64(n))
		b.rn, b.rnext = n, 0
	}
	d, addr := b.br.datagram(b.rnext)
	b.rnext++
	return copy(p, d), addr, nil
}

// ReadFrom is ReadFromAddrPort for net.PacketConn's callers, so that every
// read goes through the same batch.
func (b *Conn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, ap, err := b.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// WriteTo queues p for addr, a *net.UDPAddr.
func (b *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("udpbatch: address %T, want *net.UDPAddr", addr)
	}
	return b.WriteToAddrPort(p, ua.AddrPort())
}

// WriteToAddrPort queues p for addr. It never blocks on the network for
// longer than one batch's send, and reports the kernel's refusals only in
// Stats: a UDP send is fire-and-forget either way.
func (b *Conn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, net.ErrClosed
	}
	if len(p) > slotSize || (b.p.Bursts && b.n == 0 && b.holds.Load() == 0) {
		b.flushLocked()
		b.sends.Add(1)
		b.datagrams.Add(1)
		return b.writeOne(p, addr)
	}
	s := &b.slots[b.n]
	s.n = copy(s.buf[:], p)
	s.addr = addr
	b.n++
	switch {
	case b.n == len(b.slots):
		b.flushLocked()
	case b.n == 1:
		b.timer.Reset(b.p.FlushInterval)
		b.armed = true
	}
	return len(p), nil
}

// Hold starts a burst of writes: until the matching Release, what is
// queued waits for it (or for a full batch) rather than for the flush
// timer.
func (b *Conn) Hold() { b.holds.Add(1) }

// Release ends a burst that Hold started. The last Release of overlapping
// bursts sends what is queued; until then the flush timer, armed by the
// batch's first datagram, bounds the wait.
func (b *Conn) Release() {
	if b.holds.Add(-1) == 0 {
		b.Flush()
	}
}

// Flush sends what is queued now.
func (b *Conn) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

// Close sends what is queued, then closes the socket.
func (b *Conn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return net.ErrClosed
	}
	b.flushLocked()
	b.closed = true
	b.mu.Unlock()
	return b.UDPConn.Close()
}

// flushLocked sends the queued slots: adjacent runs to one address as GSO
// sends where allowed, everything in as few sendmmsg calls as the kernel
// takes.
func (b *Conn) flushLocked() {
	if b.armed {
		b.timer.Stop()
		b.armed = false
	}
	if b.n == 0 {
		return
	}
	gso := b.gso.Load()
	// With GSO, each peer's datagrams are brought together (in the order
	// written), so that a frame fanned out packet by packet to many peers
	// still leaves as one segmented send per peer.
	order := b.order[:b.n]
	for i := range order {
		order[i] = int32(i)
	}
	if gso && b.n > 2 {
		slices.SortStableFunc(order, b.cmp)
	}
	m := 0
	segSize, runBytes, runOpen := 0, 0, false
	var prev netip.AddrPort
	for _, i := range order {
		s := &b.slots[i]
		data := s.buf[:s.n]
		same := s.addr == prev
		prev = s.addr
		if gso && m > 0 && runOpen && same && s.n <= segSize &&
			len(b.segs[m-1]) < maxSegments && runBytes+s.n <= maxGSOBytes {
			b.segs[m-1] = append(b.segs[m-1], data)
			b.msgs[m-1].Buffers = b.segs[m-1]
			runBytes += s.n
			runOpen = s.n == segSize // a shorter datagram ends the run
			continue
		}
		a := &b.addrs[m]
		a.IP = append(a.IP[:0], s.addr.Addr().AsSlice()...)
		a.Port = int(s.addr.Port())
		b.segs[m] = append(b.segs[m][:0], data)
		b.msgs[m] = ipv4.Message{Buffers: b.segs[m], Addr: a}
		segSize, runBytes, runOpen = s.n, s.n, true
		m++
	}
	for i := range m {
		if k := len(b.segs[i]); k > 1 {
			b.oobs[i] = appendGSOControl(b.oobs[i][:0], uint16(len(b.segs[i][0])))
			b.msgs[i].OOB = b.oobs[i]
			b.segmented.Add(uint64(k))
		}
	}
	b.datagrams.Add(uint64(b.n))
	b.send(b.msgs[:m])
	for i := range m {
		b.msgs[i] = ipv4.Message{}
		b.segs[i] = b.segs[i][:0]
	}
	b.n = 0
}

// byAddr orders slot indexes by their datagrams' addresses.
func (b *Conn) byAddr(x, y int32) int { return b.slots[x].addr.Compare(b.slots[y].addr) }

// send writes ms, skipping a message the kernel refuses; a refused GSO
// message turns GSO off and goes out one datagram at a time.
func (b *Conn) send(ms []ipv4.Message) {
	if b.bw == nil {
		for i := range ms {
			b.writeEach(&ms[i])
		}
		return
	}
	for len(ms) > 0 {
		n, err := b.bw.WriteBatch(ms, 0)
		b.sends.Add(1)
		if n > 0 {
			ms = ms[n:]
			continue
		}
		if err == nil || errors.Is(err, net.ErrClosed) {
			// Nothing sent and nothing to retry: the socket is gone.
			for i := range ms {
				b.errs.Add(uint64(len(ms[i].Buffers)))
			}
			return
		}
		if len(ms[0].OOB) > 0 && b.gso.Swap(false) {
			b.log.Warn("udp segmentation offload refused; sending datagrams one by one", "err", err)
		}
		b.writeEach(&ms[0])
		ms = ms[1:]
	}
}

// writeEach sends each segment of m as its own datagram.
func (b *Conn) writeEach(m *ipv4.Message) {
	a, _ := m.Addr.(*net.UDPAddr)
	ap := a.AddrPort()
	for _, seg := range m.Buffers {
		b.sends.Add(1)
		if _, err := b.writeOne(seg, ap); err != nil {
			b.errs.Add(1)
		}
	}
}

// writeOne sends p to addr now, with a raw system call where enabled. The
// caller holds b.mu.
func (b *Conn) writeOne(p []byte, addr netip.AddrPort) (int, error) {
	if b.raw != nil {
		if ok, err := b.raw.sendTo(p, addr); ok {
			if err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return b.UDPConn.WriteToUDPAddrPort(p, addr)
}
