package sfu

import (
	"math"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rembClient is a test subscriber's receiver-side bandwidth estimate, in
// the manner of a browser's (draft-alvestrand-rmcat-remb with the AIMD rate
// control of draft-ietf-rmcat-gcc-02 §5.5): from the absolute send time
// the SFU stamps on video and each packet's arrival, a queue building on
// the link means overuse and the estimate drops to 85 % of the rate
// received; otherwise it grows by 8 % a second, up to 1.5 times the rate
// received. The estimate goes to the SFU in REMB every rembInterval.
type rembClient struct {
	pc *webrtc.PeerConnection

	mu       sync.Mutex
	arrivals []rembArrival
	lastRaw  uint32
	sendTime int64 // unwrapped send time of the last packet, ns
	started  bool
	minDelay int64 // smallest one-way delay seen (the link's own), ns
	estimate float64
	lastAt   int64
	ssrc     uint32
	first    int64 // first video packet's arrival
}

type rembArrival struct {
	at, delay int64
	size      int
}

const (
	rembInterval = 200 * time.Millisecond
	// rembOveruse: a queue this long on the link is overuse.
	rembOveruse = 40 * time.Millisecond
)

// absSendTimeOf is the ID tr's receiver negotiated the absolute send time
// extension with, or 0.
func absSendTimeOf(r *webrtc.RTPReceiver) uint8 {
	for _, e := range r.GetParameters().HeaderExtensions {
		if e.URI == "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" {
			return uint8(e.ID)
		}
	}
	return 0
}

// packet records one video packet's arrival.
func (c *rembClient) packet(h *rtp.Header, size int, id uint8, now int64) {
	ext := h.GetExtension(id)
	if len(ext) != 3 {
		return
	}
	raw := uint32(ext[0])<<16 | uint32(ext[1])<<8 | uint32(ext[2])
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ssrc = h.SSRC
	if !c.started {
		c.started = true
		c.sendTime = 0
		c.first = now
	} else {
		d := int32((raw-c.lastRaw)<<8) >> 8 // signed 24-bit difference
		c.sendTime += int64(d) * int64(time.Second) >> 18
	}
	c.lastRaw = raw
	delay := now - c.sendTime
	if len(c.arrivals) == 0 || delay < c.minDelay {
		c.minDelay = delay
	}
	c.arrivals = append(c.arrivals, rembArrival{at: now, delay: delay, size: size + 12})
}

// update runs the rate control once and returns the estimate to report
// (0: nothing to report yet).
func (c *rembClient) update(now int64) (bps float64, ssrc uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cut := 0
	for cut < len(c.arrivals) && c.arrivals[cut].at < now-int64(time.Second) {
		cut++
	}
	c.arrivals = c.arrivals[cut:]
	if len(c.arrivals) == 0 || now-c.first < int64(time.Second) {
		return 0, 0
	}
	bytes, queued, n := 0, int64(0), 0
	for _, a := range c.arrivals {
		bytes += a.size
		if a.at >= now-int64(rembInterval) {
			queued += a.delay - c.minDelay
			n++
		}
	}
	incoming := float64(bytes * 8)
	overuse := n > 0 && time.Duration(queued/int64(n)) > rembOveruse
	switch {
	case c.estimate == 0:
		c.estimate = incoming
	case overuse:
		c.estimate = min(c.estimate, 0.85*incoming)
	default:
		dt := float64(now-c.lastAt) / float64(time.Second)
		c.estimate = min(c.estimate*math.Pow(1.08, dt), max(1.5*incoming, c.estimate))
	}
	c.lastAt = now
	return c.estimate, c.ssrc
}

// run reports the estimate until stop is closed.
func (c *rembClient) run(stop <-chan struct{}) {
	tk := time.NewTicker(rembInterval)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		if bps, ssrc := c.update(nanotime()); bps > 0 {
			_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bps), SSRCs: []uint32{ssrc}}})
		}
	}
}
