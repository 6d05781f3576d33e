package recorder

import (
	"math"
	"sort"
	"sync"
	"time"

	"yunke/sfu"
)

const (
	// speechLevel: a packet at or above -35 dBov counts as speech (the
	// same threshold as sfu.AudioLevelObserver).
	speechLevel = 35
	// speechShare of a window's packets must be speech for the window to be.
	speechShare = 0.3
)

// Interval is a stretch of speech, in ms from the recording's start, with
// its mean level (linear, 0..1).
type Interval struct {
	FromMS int64   `json:"from_ms"`
	ToMS   int64   `json:"to_ms"`
	Level  float32 `json:"level"`
}

// ParticipantActivity is when one participant spoke during the recording,
// run-length encoded at the recording's activity resolution.
type ParticipantActivity struct {
	Participant string     `json:"participant"`
	Role        Role       `json:"role"`
	Speaking    []Interval `json:"speaking"`
}

// SpeakingAt reports whether the participant was speaking at ms (from the
// recording's start): what a Student/Teacher analysis samples every 30 s.
func (a ParticipantActivity) SpeakingAt(ms int64) bool {
	i := sort.Search(len(a.Speaking), func(i int) bool { return a.Speaking[i].ToMS > ms })
	return i < len(a.Speaking) && a.Speaking[i].FromMS <= ms
}

// activityLog collects every microphone's speaking activity of a Session.
type activityLog struct {
	start    int64 // Clock at the recording's start
	interval int64

	mu    sync.Mutex
	parts map[string]*partActivity
	order []string
}

type partActivity struct {
	role  Role
	runs  []Interval
	sum   []float64 // per run: sum of window levels
	count []int     // per run: windows
}

func newActivityLog(start int64, interval time.Duration) *activityLog {
	return &activityLog{start: start, interval: int64(interval), parts: map[string]*partActivity{}}
}

// tap returns a Tap sampling one microphone track of participant.
func (a *activityLog) tap(participant string, role Role, extID uint8) sfu.Tap {
	a.mu.Lock()
	if a.parts[participant] == nil {
		a.parts[participant] = &partActivity{role: role}
		a.order = append(a.order, participant)
	}
	a.mu.Unlock()
	return &activityTap{log: a, participant: participant, extID: extID, window: -1}
}

// add records window w (index from the recording's start) as speech.
func (a *activityLog) add(participant string, w int64, level float64) {
	from, to := w*a.interval/int64(time.Millisecond), (w+1)*a.interval/int64(time.Millisecond)
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.parts[participant]
	if n := len(p.runs); n > 0 && p.runs[n-1].ToMS == from {
		p.runs[n-1].ToMS = to
		p.sum[n-1] += level
		p.count[n-1]++
		p.runs[n-1].Level = float32(p.sum[n-1] / float64(p.count[n-1]))
		return
	}
	if n := len(p.runs); n > 0 && p.runs[n-1].ToMS > from {
		return // a second microphone of the same participant, same window
	}
	p.runs = append(p.runs, Interval{FromMS: from, ToMS: to, Level: float32(level)})
	p.sum = append(p.sum, level)
	p.count = append(p.count, 1)
}

// close returns the activity, runs cut at the recording's end.
func (a *activityLog) close(end int64) []ParticipantActivity {
	endMS := (end - a.start) / int64(time.Millisecond)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ParticipantActivity, 0, len(a.order))
	for _, name := range a.order {
		p := a.parts[name]
		runs := make([]Interval, 0, len(p.runs))
		for _, r := range p.runs {
			r.ToMS = min(r.ToMS, endMS)
			if r.ToMS > r.FromMS {
				runs = append(runs, r)
			}
		}
		out = append(out, ParticipantActivity{Participant: name, Role: p.role, Speaking: runs})
	}
	return out
}

// snapshot is the activity so far: each participant's runs that end at or
// after sinceMS, cut at now.
func (a *activityLog) snapshot(now, sinceMS int64) []ParticipantActivity {
	nowMS := (now - a.start) / int64(time.Millisecond)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ParticipantActivity, 0, len(a.order))
	for _, name := range a.order {
		p := a.parts[name]
		i := sort.Search(len(p.runs), func(i int) bool { return p.runs[i].ToMS >= sinceMS })
		var runs []Interval
		for _, r := range p.runs[i:] {
			r.ToMS = min(r.ToMS, nowMS)
			if r.ToMS > r.FromMS {
				runs = append(runs, r)
			}
		}
		if len(runs) > 0 {
			out = append(out, ParticipantActivity{Participant: name, Role: p.role, Speaking: runs})
		}
	}
	return out
}

// activityTap reads the RFC 6464 audio level of each packet (-dBov, 0
// loudest, 127 silence) and decides, per window of the recording's
// timeline, whether the participant spoke: when at least speechShare of the
// window's packets are at speechLevel or louder. It runs on the track's
// receive goroutine and locks only when a window closes.
type activityTap struct {
	log         *activityLog
	participant string
	extID       uint8

	// mu: OnClose may come from another goroutine while a last OnPacket runs.
	mu      sync.Mutex
	window  int64 // index of the window being filled; -1 none
	packets int
	loud    int
	loudSum int
}

// OnPacket implements sfu.Tap.
func (t *activityTap) OnPacket(p *sfu.Packet) {
	ext := p.Header.GetExtension(t.extID)
	if len(ext) == 0 || p.Arrival < t.log.start {
		return
	}
	w := (p.Arrival - t.log.start) / t.log.interval
	t.mu.Lock()
	defer t.mu.Unlock()
	if w != t.window {
		t.flush()
		t.window = w
	}
	level := int(ext[0] & 0x7f)
	t.packets++
	if level <= speechLevel {
		t.loud++
		t.loudSum += level
	}
}

func (t *activityTap) flush() {
	if t.window >= 0 && t.packets > 0 && float64(t.loud) >= speechShare*float64(t.packets) {
		dbov := float64(t.loudSum) / float64(t.loud)
		t.log.add(t.participant, t.window, math.Pow(10, -dbov/20))
	}
	t.window, t.packets, t.loud, t.loudSum = -1, 0, 0, 0
}

// OnClose implements sfu.Tap: the window in progress counts.
func (t *activityTap) OnClose() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flush()
}
