//go:build !linux

package udpbatch

import "net"

const gsoControlSize = 0

func gsoSupported(*net.UDPConn) bool { return false }

func appendGSOControl(b []byte, _ uint16) []byte { return b }
