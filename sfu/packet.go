package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// maxPacketSize bounds one RTP packet as read from the network. Browsers keep
// RTP packets under ~1200 bytes; 1500 covers an Ethernet MTU.
const maxPacketSize = 1500

// Packet is one received RTP packet, stored once and shared (by reference
// count) between the packet cache, taps and subscriber queues.
type Packet struct {
	buf [maxPacketSize]byte
	n   int

	// Header is the parsed RTP header as the publisher sent it.
	Header rtp.Header
	// Payload is the RTP payload without padding. It aliases the packet's
	// buffer: read-only, and valid only while a reference is held.
	Payload []byte
	// Layer is the simulcast layer (0 lowest) the packet arrived on.
	Layer int8
	// Keyframe is true on the first packet of a keyframe (VP8/H.264), and
	// on every audio packet.
	Keyframe bool
	// Arrival is the receive time in monotonic nanoseconds (see nanotime).
	Arrival int64

	refs atomic.Int32
}

var packetPool = sync.Pool{New: func() any { return new(Packet) }}

// newPacket returns a packet holding one reference, owned by the caller.
func newPacket() *Packet {
	p := packetPool.Get().(*Packet)
	p.refs.Store(1)
	return p
}

// Retain adds a reference; every Retain must be matched by one Release.
func (p *Packet) Retain() { p.refs.Add(1) }

// Release drops a reference; the last one returns the packet to the pool.
func (p *Packet) Release() {
	switch r := p.refs.Add(-1); {
	case r == 0:
		p.Payload = nil
		p.n = 0
		packetPool.Put(p)
	case r < 0:
		panic("sfu: packet released more often than retained")
	}
}

// parse fills Header and Payload from the first n bytes of buf.
func (p *Packet) parse(n int) error {
	p.n = n
	hl, err := p.Header.Unmarshal(p.buf[:n])
	if err != nil {
		return err
	}
	end := n
	if p.Header.Padding {
		// RFC 3550 §5.1: the last octet counts the padding octets, itself included.
		pad := int(p.buf[n-1])
		if pad == 0 || hl+pad > n {
			return errBadPadding
		}
		end -= pad
	}
	p.Payload = p.buf[hl:end]
	return nil
}

// packetCache keeps the most recent packets of one layer, indexed by RTP
// sequence number, to answer subscribers' NACKs (RFC 4585 §6.2.1) without
// asking the publisher again.
type packetCache struct {
	mu    sync.Mutex
	slots []*Packet
	mask  uint16
}

func newPacketCache(size int) *packetCache {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return &packetCache{slots: make([]*Packet, n), mask: uint16(n - 1)}
}

// put stores p (taking a reference of its own) and releases the packet it evicts.
func (c *packetCache) put(p *Packet) {
	p.Retain()
	i := p.Header.SequenceNumber & c.mask
	c.mu.Lock()
	old := c.slots[i]
	c.slots[i] = p
	c.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// get returns the packet with sequence number seq, retained for the caller, or nil.
func (c *packetCache) get(seq uint16) *Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.slots[seq&c.mask]
	if p == nil || p.Header.SequenceNumber != seq {
		return nil
	}
	p.Retain()
	return p
}

// close releases every cached packet.
func (c *packetCache) close() {
	c.mu.Lock()
	slots := c.slots
	c.slots = make([]*Packet, len(slots))
	c.mu.Unlock()
	for _, p := range slots {
		if p != nil {
			p.Release()
		}
	}
}
