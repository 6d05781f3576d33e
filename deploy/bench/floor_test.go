// Package bench holds the fan-out benchmark (fanout.sh, see
// docs/benchmarks.md) and, in this file, the floor it is compared with: what
// forwarding one packet costs at the least, with no SFU at all.
package bench

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// BenchmarkSRTPSendto is the bare floor of forwarding one video packet:
// SRTP-protect a 1200-byte RTP packet and send it with one sendto on an
// unconnected loopback UDP socket, as the server's shared UDP port does. A
// goroutine drains the receiving socket, so the kernel delivers each packet
// (with GOMAXPROCS of 1 it shares the core with the sender, as it would not
// in the server; run with -cpu 2 to keep it off the sender's core).
func BenchmarkSRTPSendto(b *testing.B) {
	for _, tc := range []struct {
		name    string
		profile srtp.ProtectionProfile
	}{
		// What two Pion peers negotiate (its first preference), and so what
		// the fan-out benchmark's connections use.
		{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
		{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
		{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	} {
		b.Run(tc.name, func(b *testing.B) { benchSRTPSendto(b, tc.profile, true) })
	}
	b.Run("AEAD_AES_256_GCM_encrypt_only", func(b *testing.B) { benchSRTPSendto(b, srtp.ProtectionProfileAeadAes256Gcm, false) })
}

func benchSRTPSendto(b *testing.B, profile srtp.ProtectionProfile, send bool) {
	keyLen, _ := profile.KeyLen()
	saltLen, _ := profile.SaltLen()
	key := make([]byte, keyLen+saltLen)
	for i := range key {
		key[i] = byte(i*31 + 7)
	}
	ctx, err := srtp.CreateContext(key[:keyLen], key[keyLen:], profile)
	if err != nil {
		b.Fatal(err)
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	received := make(chan int)
	go func() {
		buf := make([]byte, 1500)
		n := 0
		for {
			if _, err := rx.Read(buf); err != nil {
				received <- n
				return
			}
			n++
		}
	}()

	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 0x1234}, Payload: make([]byte, 1200)}
	plain, err := pkt.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	var hdr rtp.Header
	out := make([]byte, 0, 1500)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint16(plain[2:], uint16(i))
		enc, err := ctx.EncryptRTP(out[:0], plain, &hdr)
		if err != nil {
			b.Fatal(err)
		}
		if send {
			if _, err := tx.WriteToUDPAddrPort(enc, dst); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	rx.Close()
	if n := <-received; send && b.N >= 1000 {
		b.ReportMetric(100*float64(b.N-n)/float64(b.N), "%dropped")
	}
}
