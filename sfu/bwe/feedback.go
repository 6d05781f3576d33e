package bwe

import (
	"time"

	"github.com/pion/rtcp"
)

// refUnit is the feedback reference time's unit, in µs.
const refUnit = 64_000

// OnFeedback handles one transport-wide feedback report received at now
// (nanoseconds, the clock Sent was given): each packet it reports is
// matched with its record, received packets feed the delay trend and the
// acked rate, lost ones the loss bound. Packets already reported (a
// duplicated or reordered report), unknown or too old are skipped.
func (e *Estimator) OnFeedback(fb *rtcp.TransportLayerCC, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &e.fb

	// The reference time is 24 bits of 64 ms: unwrap it against the last.
	ref := int64(fb.ReferenceTime & 0xFFFFFF)
	if f.refKnown {
		d := (ref - f.refRaw) & 0xFFFFFF
		if d >= 1<<23 {
			d -= 1 << 24
		}
		f.refTime += d * refUnit
	} else {
		f.refTime, f.refKnown = ref*refUnit, true
	}
	f.refRaw = ref

	// The base sequence number is 16 bits: take the latest extended number
	// sent at or before it.
	next := e.next.Load()
	base := next - uint32(uint16(uint16(next)-fb.BaseSequenceNumber))

	arr := f.refTime
	count := int(fb.PacketStatusCount)
	i, di := 0, 0
	lost, total := 0, 0
	over := false
	queue := int64(-1) // µs
	highest, any := f.lastSeq, false
	visit := func(sym uint16) bool {
		if i >= count {
			return false
		}
		seq := base + uint32(i)
		i++
		received := sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta
		if received {
			if di >= len(fb.RecvDeltas) || fb.RecvDeltas[di] == nil {
				return false // malformed: more packets received than deltas
			}
			arr += fb.RecvDeltas[di].Delta
			di++
		}
		if f.seqKnown && int32(seq-f.lastSeq) <= 0 {
			return true // reported before
		}
		sendAt, size, ok := e.lookup(seq)
		if !ok {
			return true
		}
		if !any || int32(seq-highest) > 0 {
			highest, any = seq, true
		}
		total++
		switch {
		case received:
			f.acked.add(arr, size)
			o, q := f.packet(sendAt, arr, size)
			over = over || o
			queue = max(queue, q)
		case sym == rtcp.TypeTCCPacketNotReceived:
			lost++
		}
		return true
	}
chunks:
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for range min(int(c.RunLength), count-i) {
				if !visit(c.PacketStatusSymbol) {
					break chunks
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range c.SymbolList {
				if !visit(sym) {
					break chunks
				}
			}
		}
	}
	if !any {
		return
	}
	f.lastSeq, f.seqKnown = highest, true
	if queue >= 0 {
		e.queue.Store(queue * 1000)
	}

	u := f.det.usage
	if over {
		u = UsageOver
	}
	e.usage.Store(int32(u))
	f.rate.update(u, f.acked.rate, now)
	f.loss.update(lost, total, f.rate.target, f.p, now)
	e.target.Store(int64(min(f.rate.target, f.loss.bound)))
}

// packet adds one received packet (send time ns, arrival µs) to the
// send-time groups. It reports whether a group it completed showed
// overuse, and the queueing delay (µs) the packet, or a group it completed,
// shows for the link (-1: none).
//
// A packet joins the group being filled when it was sent within burstTime
// of the group's first, or when it arrived in a burst with it (within
// burstTime of the group's last arrival, sooner after it than it was sent,
// and within maxBurst of the group's first arrival): the network, or a
// sender's batching, queued them together (libwebrtc's BelongsToBurst).
//
// A group that starts after an arrival gap its sending does not explain
// (stallGap longer than the send gap, and several times what the packets
// before it and its own size at the acked rate would take) is taken for a
// stall of the receiver (or of a host on the way): its packets were held
// and are now read together, or caught up with one after another. Packets
// keep joining it while their one-way delay is still falling back towards
// the delay before the gap (a new low at least every stallFlat). If it
// falls back (the backlog was read), the whole excursion is left out of
// the trend; if it stops falling (a link that went on at capacity behind
// the gap, a real queue), or has not come back within stallMaxSpan, the
// group counts as any other.
func (f *feedback) packet(sendAt, arr int64, size int) (over bool, queue int64) {
	g := &f.group
	owd := arr - sendAt/1000
	queue = f.base.add(owd, arr)
	if g.n == 0 {
		*g = group{firstSend: sendAt, lastSend: sendAt, firstArr: arr, lastArr: arr, size: size, n: 1}
		f.lastArrGap = 0
		return false, queue
	}
	if arr < g.lastArr {
		// Arrived before a packet sent earlier: ignored. Several in a row
		// mean the receiver's clock went back: grouping starts over.
		if f.reordered++; f.reordered >= reorderedReset {
			f.reordered = 0
			f.prevGroup = group{}
			f.trend.init()
			*g = group{firstSend: sendAt, lastSend: sendAt, firstArr: arr, lastArr: arr, size: size, n: 1}
		}
		return false, -1
	}
	f.reordered = 0
	arrGap := arr - g.lastArr
	// A stall cuts even a group sent together (a frame's packets).
	stalled := f.unexplainedGap(arrGap, (sendAt-g.lastSend)/1000, size)
	switch {
	case stalled:
	case g.stall.on:
		// (A packet sent with the one before it, a frame's, may be read
		// later than it: its delay is not compared.)
		if owd > g.stall.ref+stallSettle.Microseconds() &&
			(owd <= g.stall.last+stallSettle.Microseconds() || sendAt-g.lastSend <= int64(burstTime)) &&
			arr-g.stall.lowAt <= stallFlat.Microseconds() && arr-g.firstArr <= stallMaxSpan.Microseconds() {
			g.join(sendAt, arr, size)
			if owd < g.stall.last {
				g.stall.last, g.stall.lowAt = owd, arr
			}
			g.stall.queue = max(g.stall.queue, queue)
			f.lastArrGap = arrGap
			return false, -1
		}
		if owd <= g.stall.ref+stallSettle.Microseconds() {
			// The held packets have been read: the delay is back where it
			// was before the gap. The group is left out; the next is
			// compared with the one before the gap.
			*g = group{firstSend: sendAt, lastSend: sendAt, firstArr: arr, lastArr: arr, size: size, n: 1}
			f.lastArrGap = arrGap
			f.stalls++
			return false, queue
		}
		queue = max(queue, g.stall.queue)
	case sendAt-g.firstSend <= int64(burstTime),
		arrGap <= burstTime.Microseconds() && arrGap-(sendAt-g.lastSend)/1000 < 0 && arr-g.firstArr < maxBurst.Microseconds():
		g.join(sendAt, arr, size)
		f.lastArrGap = arrGap
		return false, queue
	}
	done := *g
	*g = group{firstSend: sendAt, lastSend: sendAt, firstArr: arr, lastArr: arr, size: size, n: 1}
	f.lastArrGap = arrGap
	if !stalled {
		return f.groupDone(done), queue
	}
	g.stall = stall{on: true, ref: done.lastArr - done.lastSend/1000, last: owd, lowAt: arr, queue: queue}
	if done.stall.on {
		// Stalled again before catching up: the two are one excursion,
		// measured from before the first.
		g.stall.ref, g.stall.queue = done.stall.ref, max(queue, done.stall.queue)
		return false, -1
	}
	return f.groupDone(done), -1
}

// unexplainedGap reports whether an arrival gap (µs) after a send gap (µs)
// before a packet of size bytes is a stall rather than the link's pace.
func (f *feedback) unexplainedGap(arrGap, sendGap int64, size int) bool {
	if arrGap-sendGap <= stallGap.Microseconds() || f.acked.rate <= 0 {
		return false
	}
	serial := int64(size) * 8 * 1_000_000 / int64(f.acked.rate)
	return arrGap > stallPace*max(serial, f.lastArrGap)
}

func (g *group) join(sendAt, arr int64, size int) {
	g.lastSend = max(g.lastSend, sendAt)
	g.lastArr = max(g.lastArr, arr)
	g.size += size
	g.n++
}

// groupDone feeds a completed group's delay variation against the previous
// one to the trendline and the detector.
func (f *feedback) groupDone(g group) bool {
	prev := f.prevGroup
	f.prevGroup = g
	if prev.n == 0 {
		return false
	}
	sendDelta := float64(g.lastSend-prev.lastSend) / float64(time.Millisecond)
	arrDelta := float64(g.lastArr-prev.lastArr) / 1000
	if arrDelta < 0 || sendDelta < 0 {
		return false
	}
	if sendDelta > float64(maxGroupGap.Milliseconds()) || arrDelta > float64(maxGroupGap.Milliseconds()) {
		f.trend.init() // a pause in sending: the trend starts over
		return false
	}
	trend, ok := f.trend.update(arrDelta-sendDelta, g.lastArr)
	if !ok {
		return false
	}
	return f.det.detect(trend, sendDelta, g.lastArr) == UsageOver
}
