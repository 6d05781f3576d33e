//go:build !linux

package udpbatch

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

const gsoControlSize = 0

func gsoSupported(*net.UDPConn) bool { return false }

func appendGSOControl(b []byte, _ uint16) []byte { return b }

type rawSender struct{}

func newRawSender(*net.UDPConn, int) *rawSender { return nil }

func (*rawSender) sendTo([]byte, netip.AddrPort) (bool, error) { return false, nil }

func (*rawSender) sendBatch([]ipv4.Message) (int, error) { return 0, nil }

type rawReader struct{}

func newRawReader(*net.UDPConn, int) *rawReader { return nil }

func (*rawReader) readBatch() (int, error) { return 0, nil }

func (*rawReader) datagram(int) ([]byte, netip.AddrPort) { return nil, netip.AddrPort{} }
