package sfu

import (
	"sync"

	"github.com/pion/rtcp"
)

// entry is one item of a subscriber's queue: a packet to forward, or a NACK
// to answer (so the writer goroutine alone touches the send history).
type entry struct {
	p    *Packet
	gap  bool // packets were dropped (queue full) just before this one
	nack bool
	pair rtcp.NackPair
}

// queue is a bounded ring: push never blocks and fails when full.
type queue struct {
	mu      sync.Mutex
	buf     []entry
	head, n int
	gap     bool
}

func newQueue(size int) queue {
	return queue{buf: make([]entry, size)}
}

func (q *queue) push(e entry) bool {
	q.mu.Lock()
	if q.n == len(q.buf) {
		if !e.nack {
			q.gap = true
		}
		q.mu.Unlock()
		return false
	}
	if !e.nack && q.gap {
		e.gap = true
		q.gap = false
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	q.mu.Unlock()
	return true
}

// empty reports whether nothing is queued.
func (q *queue) empty() bool {
	q.mu.Lock()
	e := q.n == 0
	q.mu.Unlock()
	return e
}

// popBatch moves up to len(dst) entries into dst and returns how many.
func (q *queue) popBatch(dst []entry) int {
	q.mu.Lock()
	k := min(q.n, len(dst))
	for i := range k {
		j := (q.head + i) % len(q.buf)
		dst[i] = q.buf[j]
		q.buf[j] = entry{}
	}
	q.head = (q.head + k) % len(q.buf)
	q.n -= k
	q.mu.Unlock()
	return k
}

// drain releases everything still queued.
func (q *queue) drain() {
	var batch [batchSize]entry
	for {
		n := q.popBatch(batch[:])
		if n == 0 {
			return
		}
		for i := range n {
			if batch[i].p != nil {
				batch[i].p.Release()
			}
		}
	}
}
