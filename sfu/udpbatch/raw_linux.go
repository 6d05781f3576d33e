package udpbatch

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// rawSender writes one datagram with a raw sendto(2): the socket is
// non-blocking, so the call returns at once (EAGAIN is left to the poller,
// as the standard write does), and it is not announced to the Go scheduler
// as a system call that may block. An announced call that happens to be in
// the kernel when the scheduler's monitor looks twice (it looks every 20 µs
// while it finds such calls) has its processor handed to another thread,
// and the writer then waits for a processor back: two thread switches per
// hand-off, and a monitor that keeps polling. A send to a peer is a few
// microseconds of kernel work, which is where that hand-off cost most.
type rawSender struct {
	rc syscall.RawConn
	v6 bool // an AF_INET6 socket: IPv4 peers as v4-mapped addresses

	// One call's arguments, set by the caller (under Conn.mu) before
	// rc.Write runs fn.
	p     []byte
	sa4   unix.RawSockaddrInet4
	sa6   unix.RawSockaddrInet6
	sa    unsafe.Pointer
	saLen uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool

	// sendBatch's messages, their iovecs and addresses, reused.
	hdrs    []mmsghdr
	iovs    []unix.Iovec
	names   []unix.RawSockaddrInet6
	mn      int
	sent    int
	batchFn func(fd uintptr) bool
}

// newRawSender returns a sender for c's socket, or nil where its family is
// not IPv4 or IPv6.
func newRawSender(c *net.UDPConn, size int) *rawSender {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawSender{rc: rc}
	var sa unix.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = unix.Getsockname(int(fd)) }); err != nil || serr != nil {
		return nil
	}
	switch sa.(type) {
	case *unix.SockaddrInet4:
	case *unix.SockaddrInet6:
		r.v6 = true
	default:
		return nil
	}
	r.fn = r.write
	r.batchFn = r.writeBatch
	r.hdrs = make([]mmsghdr, size)
	r.iovs = make([]unix.Iovec, size)
	r.names = make([]unix.RawSockaddrInet6, size)
	return r
}

// sendTo writes p to addr. It reports false when the socket's family cannot
// carry addr, for the caller to write it the standard way.
func (r *rawSender) sendTo(p []byte, addr netip.AddrPort) (bool, error) {
	ip := addr.Addr()
	port := addr.Port()
	switch {
	case !r.v6 && ip.Is4():
		r.sa4.Family = unix.AF_INET
		r.sa4.Addr = ip.As4()
		putPort(&r.sa4.Port, port)
		r.sa, r.saLen = unsafe.Pointer(&r.sa4), unix.SizeofSockaddrInet4
	case r.v6:
		r.sa6.Family = unix.AF_INET6
		r.sa6.Addr = ip.As16() // an IPv4 address as v4-mapped
		putPort(&r.sa6.Port, port)
		r.sa, r.saLen = unsafe.Pointer(&r.sa6), unix.SizeofSockaddrInet6
	default:
		return false, nil
	}
	r.p, r.errno = p, 0
	err := r.rc.Write(r.fn)
	r.p = nil
	if err != nil {
		return true, err
	}
	if r.errno != 0 {
		return true, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: r.errno}
	}
	return true, nil
}

// write is rc.Write's callback: false asks the poller to wait until the
// socket can take the datagram.
func (r *rawSender) write(fd uintptr) bool {
	var buf uintptr
	if len(r.p) > 0 {
		buf = uintptr(unsafe.Pointer(&r.p[0]))
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, buf, uintptr(len(r.p)), 0, uintptr(r.sa), r.saLen)
	if e == unix.EAGAIN {
		return false
	}
	r.errno = e
	return true
}

// putPort stores port in network byte order.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

// mmsghdr is struct mmsghdr: one message of sendmmsg(2) or recvmmsg(2).
// Go pads it to its alignment as C does (64 bytes on 64-bit platforms, 32
// on 32-bit ones).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// sendBatch writes ms with one raw sendmmsg(2), as ipv4.PacketConn's
// WriteBatch would: it returns how many messages went (0 with the error
// when the first was refused). Each message's Addr is a *net.UDPAddr.
func (r *rawSender) sendBatch(ms []ipv4.Message) (int, error) {
	if len(ms) > len(r.hdrs) {
		ms = ms[:len(r.hdrs)]
	}
	iov := 0
	for i := range ms {
		m := &ms[i]
		if iov+len(m.Buffers) > len(r.iovs) {
			// More segments than datagrams the batch holds: never from
			// flushLocked, whose segments are its slots. Send what fits.
			if i == 0 {
				return 0, fmt.Errorf("udpbatch: %d segments in one message, at most %d", len(m.Buffers), len(r.iovs))
			}
			ms = ms[:i]
			break
		}
		h := &r.hdrs[i].hdr
		*h = unix.Msghdr{}
		first := iov
		for _, b := range m.Buffers {
			v := &r.iovs[iov]
			v.Base = nil
			if len(b) > 0 {
				v.Base = &b[0]
			}
			v.SetLen(len(b))
			iov++
		}
		if iov > first {
			h.Iov = &r.iovs[first]
			h.SetIovlen(iov - first)
		}
		if ua, ok := m.Addr.(*net.UDPAddr); ok {
			n := r.putName(&r.names[i], ua.AddrPort())
			if n == 0 {
				return 0, fmt.Errorf("udpbatch: address %v on this socket's family", ua)
			}
			h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
			h.Namelen = n
		}
		if len(m.OOB) > 0 {
			h.Control = &m.OOB[0]
			h.SetControllen(len(m.OOB))
		}
	}
	r.mn, r.errno = len(ms), 0
	err := r.rc.Write(r.batchFn)
	for i := range ms {
		r.hdrs[i].hdr = unix.Msghdr{}
	}
	if err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, &net.OpError{Op: "sendmmsg", Net: "udp", Err: r.errno}
	}
	return r.sent, nil
}

// writeBatch is rc.Write's callback for sendBatch.
func (r *rawSender) writeBatch(fd uintptr) bool {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.mn), 0, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	r.errno, r.sent = e, int(n)
	return true
}

// putName stores addr as the socket's family wants it and returns its
// length, 0 when that family cannot carry it.
func (r *rawSender) putName(dst *unix.RawSockaddrInet6, addr netip.AddrPort) uint32 {
	ip := addr.Addr()
	if !r.v6 {
		if !ip.Is4() {
			return 0
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(dst))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		putPort(&sa.Port, addr.Port())
		return unix.SizeofSockaddrInet4
	}
	*dst = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
	putPort(&dst.Port, addr.Port())
	return unix.SizeofSockaddrInet6
}

// rawReader reads waiting datagrams with one raw recvmmsg(2), for the same
// reason rawSender writes raw: a read of a non-blocking socket returns at
// once, and an announced one wakes the scheduler's monitor each time the
// process comes back from idle.
type rawReader struct {
	rc    syscall.RawConn
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	bufs  [][]byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// newRawReader returns a reader of up to n datagrams per call on c.
func newRawReader(c *net.UDPConn, n int) *rawReader {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc, hdrs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n), bufs: make([][]byte, n)}
	for i := range n {
		r.bufs[i] = make([]byte, slotSize)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(slotSize)
		h := &r.hdrs[i].hdr
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	r.fn = r.read
	return r
}

// readBatch reads what is waiting (at least one datagram, waiting for it).
func (r *rawReader) readBatch() (int, error) {
	for i := range r.hdrs {
		r.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		r.hdrs[i].hdr.Flags = 0
		r.hdrs[i].len = 0
	}
	r.n, r.errno = 0, 0
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, &net.OpError{Op: "recvmmsg", Net: "udp", Err: r.errno}
	}
	return r.n, nil
}

// read is rc.Read's callback: false asks the poller to wait for data.
func (r *rawReader) read(fd uintptr) bool {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), 0, 0, 0)
	if e == unix.EAGAIN {
		return false
	}
	r.errno, r.n = e, int(n)
	return true
}

// datagram returns the i-th datagram of the last read and its sender.
func (r *rawReader) datagram(i int) ([]byte, netip.AddrPort) {
	b := r.bufs[i][:r.hdrs[i].len]
	sa := &r.names[i]
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return b, netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), getPort(&s4.Port))
	case unix.AF_INET6:
		return b, netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), getPort(&sa.Port))
	}
	return b, netip.AddrPort{}
}

// getPort reads a port stored in network byte order.
func getPort(src *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(src))
	return uint16(b[0])<<8 | uint16(b[1])
}
