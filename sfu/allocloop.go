package sfu

import (
	"slices"
	"sync"
	"time"
)

// allocators runs every Subscriber's allocator on one goroutine: one
// ticker for the process instead of a goroutine and a ticker per
// subscriber (each woke 20 times a second). The goroutine runs while any
// Subscriber is open and exits with the last one.
var allocators allocLoop

type allocLoop struct {
	mu      sync.Mutex
	subs    []*Subscriber
	running bool
	wake    chan struct{}
	// snapshot is the loop goroutine's copy of subs.
	snapshot []*Subscriber
}

func (l *allocLoop) add(s *Subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, s)
	if l.wake == nil {
		l.wake = make(chan struct{}, 1)
	}
	if !l.running {
		l.running = true
		go l.run(l.wake)
	}
}

func (l *allocLoop) remove(s *Subscriber) {
	l.mu.Lock()
	l.subs = slices.DeleteFunc(l.subs, func(x *Subscriber) bool { return x == s })
	l.mu.Unlock()
	l.kick() // lets the loop see it may stop
}

// kick asks for a pass over the kicked subscribers now.
func (l *allocLoop) kick() {
	l.mu.Lock()
	w := l.wake
	l.mu.Unlock()
	if w == nil {
		return
	}
	select {
	case w <- struct{}{}:
	default:
	}
}

func (l *allocLoop) run(wake chan struct{}) {
	tk := time.NewTicker(allocTick)
	defer tk.Stop()
	for {
		ticked := false
		select {
		case <-wake:
		case <-tk.C:
			ticked = true
		}
		l.mu.Lock()
		if len(l.subs) == 0 {
			l.running = false
			l.snapshot = l.snapshot[:0]
			l.mu.Unlock()
			return
		}
		subs := append(l.snapshot[:0], l.subs...)
		l.snapshot = subs
		l.mu.Unlock()
		now := nanotime()
		for i, s := range subs {
			s.tick(now, ticked)
			subs[i] = nil
		}
	}
}
