package recorder

import (
	"sync"

	"yunke/sfu"
)

// entry is one queued packet; gap says packets were dropped just before it.
type entry struct {
	p   *sfu.Packet
	gap bool
}

// queue is a bounded ring between a track's receive goroutine and its
// writer: push never blocks and fails when the ring is full or closed.
type queue struct {
	mu      sync.Mutex
	buf     []entry
	head, n int
	gap     bool
	closed  bool
}

type pushResult int

const (
	pushed pushResult = iota
	pushFull
	pushClosed
)

func newQueue(size int) queue { return queue{buf: make([]entry, size)} }

// push queues p; n is the queue's length after.
func (q *queue) push(p *sfu.Packet) (r pushResult, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return pushClosed, q.n
	case q.n == len(q.buf):
		q.gap = true
		return pushFull, q.n
	}
	q.buf[(q.head+q.n)%len(q.buf)] = entry{p: p, gap: q.gap}
	q.gap = false
	q.n++
	return pushed, q.n
}

// len is how many entries are queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
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

// takeGap reports (once) packets dropped after the last one queued: with
// nothing pushed since, no entry carries the gap.
func (q *queue) takeGap() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	g := q.gap && q.n == 0
	if g {
		q.gap = false
	}
	return g
}

// close refuses further pushes; what is queued can still be popped.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// drain releases everything still queued.
func (q *queue) drain() {
	var batch [64]entry
	for {
		n := q.popBatch(batch[:])
		if n == 0 {
			return
		}
		for i := range n {
			batch[i].p.Release()
		}
	}
}
