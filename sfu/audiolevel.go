package sfu

import (
	"math"
	"time"
)

const (
	// speechWindow is how often speaking activity is re-evaluated.
	speechWindow = 400 * time.Millisecond
	// speechLevel: a packet at or above -35 dBov counts as speech.
	speechLevel = 35
	// speechShare of a window's packets must be speech for the window to be.
	speechShare = 0.3
)

// AudioLevelObserver is a Tap that turns the audio level each publisher
// writes into its packets (RFC 6464 header extension: -dBov, 0 loudest,
// 127 silence) into speaking activity, re-evaluated every 400 ms. It is what
// active-speaker indication and Student/Teacher speaking analysis build on.
type AudioLevelObserver struct {
	extID    uint8
	onChange func(level float32, active bool)

	// Receive-goroutine state.
	windowStart int64
	packets     int
	loud        int
	loudSum     int
	active      bool
	lastLevel   float32
}

// NewAudioLevelObserver observes the extension with id extID (as negotiated
// with the publisher); onChange is called on the track's receive goroutine
// when the speaker starts or stops, or its level moves noticeably while
// speaking. onChange must not block.
func NewAudioLevelObserver(extID uint8, onChange func(level float32, active bool)) *AudioLevelObserver {
	return &AudioLevelObserver{extID: extID, onChange: onChange}
}

// OnPacket implements Tap.
func (o *AudioLevelObserver) OnPacket(p *Packet) {
	ext := p.Header.GetExtension(o.extID)
	if len(ext) == 0 {
		return
	}
	if o.windowStart == 0 {
		o.windowStart = p.Arrival
	}
	level := int(ext[0] & 0x7f)
	o.packets++
	if level <= speechLevel {
		o.loud++
		o.loudSum += level
	}
	if p.Arrival-o.windowStart < int64(speechWindow) {
		return
	}
	active := float64(o.loud) >= speechShare*float64(o.packets)
	var lin float32
	if active && o.loud > 0 {
		dbov := float64(o.loudSum) / float64(o.loud)
		lin = float32(math.Pow(10, -dbov/20))
	}
	if active != o.active || (active && math.Abs(float64(lin-o.lastLevel)) > 0.05) {
		o.active, o.lastLevel = active, lin
		o.onChange(lin, active)
	}
	o.windowStart, o.packets, o.loud, o.loudSum = p.Arrival, 0, 0, 0
}

// OnClose implements Tap: a track that ends stops speaking.
func (o *AudioLevelObserver) OnClose() {
	if o.active {
		o.active = false
		o.onChange(0, false)
	}
}
