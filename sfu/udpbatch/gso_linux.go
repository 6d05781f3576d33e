package udpbatch

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoControlSize is the room one UDP_SEGMENT control message takes.
var gsoControlSize = unix.CmsgSpace(2)

// gsoSupported reports whether the kernel knows UDP_SEGMENT on c's socket:
// reading the option fails with ENOPROTOOPT on kernels before 4.18.
func gsoSupported(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	if err := rc.Control(func(fd uintptr) {
		_, serr := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = serr == nil
	}); err != nil {
		return false
	}
	return ok
}

// appendGSOControl appends a UDP_SEGMENT control message asking the kernel
// to cut the send into datagrams of size bytes (the last may be shorter).
func appendGSOControl(b []byte, size uint16) []byte {
	n := len(b)
	b = append(b, make([]byte, unix.CmsgSpace(2))...)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[n]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[n+unix.CmsgLen(0)])) = size
	return b
}
