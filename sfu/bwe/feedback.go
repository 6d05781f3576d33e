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
			queue = max(queue, f.base.add(arr-sendAt/1000, arr))
			f.acked.add(arr, size)
			if f.packet(sendAt, arr, size) {
				over = true
			}
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
// send-time groups; it reports whether a group it completed showed overuse.
func (f *feedback) packet(sendAt, arr int64, size int) bool {
	g := &f.group
	switch {
	case g.n == 0:
		*g = group{firstSend: sendAt, lastSend: sendAt, firstArr: arr, lastArr: arr, size: size, n: 1}
		return false
	case sendAt-g.firstSend <= int64(burstTime),
		// Arrived in a burst with it, and sooner than sent apart: the
		// network (or a sender's batching) queued them together.
		arr-g.lastArr <= burstTime.Microseconds() && (arr-g.lastArr)-(sendAt-g.lastSend)/1000 < 0:
		g.lastSend = max(g.lastSend, sendAt)
		g.lastArr = max(g.lastArr, arr)
		g.size += size
		g.n++
		return false
	}
	if arr < g.lastArr {
		return false // arrived out of order: ignored
	}
	done := *g
	*g = group{firstSend: sendAt, lastSend: sendAt, firstArr: arr, lastArr: arr, size: size, n: 1}
	return f.groupDone(done)
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
