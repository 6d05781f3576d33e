package bwe

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// simLink is a bottleneck of capacity bits/s with a FIFO queue, a fixed
// propagation delay and every lossEvery-th packet lost (0: none).
type simLink struct {
	capacity  int
	delay     time.Duration
	lossEvery int
	busyUntil int64
	n         int
}

func (l *simLink) send(now int64, size int) (arr int64, lost bool) {
	l.n++
	if l.lossEvery > 0 && l.n%l.lossEvery == 0 {
		return 0, true
	}
	start := max(now, l.busyUntil)
	l.busyUntil = start + int64(size)*8*int64(time.Second)/int64(l.capacity)
	return l.busyUntil + int64(l.delay), false
}

type simPkt struct {
	seq  uint16
	arr  int64 // ns, receiver's clock
	lost bool
}

// sim drives an Estimator: a sender at rate bits/s in packets of size
// bytes, over link, with feedback every fbEvery.
type sim struct {
	e       *Estimator
	link    *simLink
	now     int64
	pending []simPkt
	fbCount uint8
	// recv, when set, is the receiver: it stamps each packet's arrival
	// (a stalled receiver stamps late).
	recv *stallingReceiver
	// clock is added to every arrival time from now on (the receiver's
	// clock jumped).
	clock int64
	// frames: send as an SFU forwards video, a frame of packets 100 µs
	// apart every 1/30 s, rather than evenly paced packets.
	frames bool
	// deliver, when set, gets every feedback instead of the estimator.
	deliver func(*rtcp.TransportLayerCC)
}

const (
	simPacket = 1200
	fbEvery   = 50 * time.Millisecond
)

func newSim(e *Estimator, l *simLink) *sim {
	return &sim{e: e, link: l, now: int64(time.Second)}
}

// run sends at rate for d, handing feedback to the estimator as it comes.
func (s *sim) run(rate int, d time.Duration) {
	interval := int64(simPacket) * 8 * int64(time.Second) / int64(rate)
	end := s.now + int64(d)
	nextFb := s.now + int64(fbEvery)
	for s.now < end {
		if s.frames {
			frame := int64(time.Second / 30)
			bytes := rate / 8 / 30
			for i := 0; bytes > 0; i++ {
				size := min(bytes, simPacket)
				bytes -= size
				s.send(s.now+int64(i)*int64(100*time.Microsecond), size)
			}
			s.now += frame
		} else {
			s.send(s.now, simPacket)
			s.now += interval
		}
		for s.now >= nextFb {
			s.feedback(nextFb)
			nextFb += int64(fbEvery)
		}
	}
}

func (s *sim) send(at int64, size int) {
	seq := s.e.Sent(size, at)
	arr, lost := s.link.send(at, size)
	if s.recv != nil && !lost {
		arr = s.recv.stamp(arr)
	}
	arr += s.clock
	s.pending = append(s.pending, simPkt{seq: seq, arr: arr, lost: lost})
}

// stallingReceiver is a receiver whose process is now and then descheduled
// (a phone, a starved browser, a busy host): a packet that arrives while
// it stalls is read, and its arrival time stamped, only when the stall
// ends; after one, it reads a packet every perPacket until it has caught
// up. It neither loses packets nor queues any longer than it stalled.
type stallingReceiver struct {
	stalls    [][2]int64 // [from, to), ns
	perPacket int64      // ns
	free      int64      // when it can read the next packet
}

func (r *stallingReceiver) stamp(arr int64) int64 {
	at := max(arr, r.free)
	for _, st := range r.stalls {
		if at >= st[0] && at < st[1] {
			at = st[1]
		}
	}
	r.free = at + r.perPacket
	return at
}

// feedback reports every pending packet that arrived (or was lost before
// one that arrived) by at.
func (s *sim) feedback(at int64) {
	n := 0
	for i, p := range s.pending {
		if !p.lost && p.arr <= at {
			n = i + 1
		}
	}
	if n == 0 {
		return
	}
	fb := buildFeedback(s.pending[:n], s.fbCount)
	s.fbCount++
	s.pending = append(s.pending[:0], s.pending[n:]...)
	if s.deliver != nil {
		s.deliver(fb)
		return
	}
	s.e.OnFeedback(fb, at)
}

// buildFeedback makes a transport-wide feedback report of pkts
// (consecutive sequence numbers), with 250 µs arrival resolution.
func buildFeedback(pkts []simPkt, count uint8) *rtcp.TransportLayerCC {
	var ref int64 = -1
	for _, p := range pkts {
		if !p.lost {
			ref = p.arr / int64(time.Microsecond) / refUnit
			break
		}
	}
	fb := &rtcp.TransportLayerCC{
		BaseSequenceNumber: pkts[0].seq,
		PacketStatusCount:  uint16(len(pkts)),
		ReferenceTime:      uint32(ref) & 0xFFFFFF,
		FbPktCount:         count,
	}
	prev := ref * refUnit
	for _, p := range pkts {
		if p.lost {
			fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1})
			continue
		}
		d := (p.arr/int64(time.Microsecond) - prev) / 250 * 250
		prev += d
		typ := uint16(rtcp.TypeTCCPacketReceivedSmallDelta)
		if d < 0 || d > 63750 {
			typ = rtcp.TypeTCCPacketReceivedLargeDelta
		}
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: typ, RunLength: 1})
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: typ, Delta: d})
	}
	return fb
}

func TestSentDoesNotAllocate(t *testing.T) {
	e := New(Params{})
	now := int64(0)
	if a := testing.AllocsPerRun(1000, func() { now += 1000; e.Sent(1200, now) }); a != 0 {
		t.Fatalf("Sent allocates %.1f times per packet", a)
	}
}

func TestSequenceNumbersAndRing(t *testing.T) {
	e := New(Params{})
	for i := range 70_000 {
		if got := e.Sent(100+i%7, int64(i)); got != uint16(i) {
			t.Fatalf("packet %d got transport sequence number %d", i, got)
		}
	}
	if at, size, ok := e.lookup(69_999); !ok || at != 69_999 || size != 100+69_999%7 {
		t.Fatalf("last packet: %d %d %v", at, size, ok)
	}
	if _, _, ok := e.lookup(70_000 - ringSize - 1); ok {
		t.Fatal("a packet older than the ring is still found")
	}
}

// A clean link with room: the estimate grows and no overuse is seen.
func TestCleanLinkGrows(t *testing.T) {
	e := New(Params{Initial: 1_000_000})
	s := newSim(e, &simLink{capacity: 5_000_000, delay: 20 * time.Millisecond})
	s.run(1_000_000, 5*time.Second)
	if e.Overusing() {
		t.Fatal("overuse on a link with room")
	}
	// 8 %/s: 1.47 Mbit/s after 5 s.
	if got := e.GetTargetBitrate(); got < 1_400_000 {
		t.Fatalf("estimate %d after 5 s at 1 Mbit/s on a 5 Mbit/s link: want it to have grown by 8 %%/s", got)
	}
	if st := e.Stats(); st.AckedRate < 900_000 || st.AckedRate > 1_100_000 {
		t.Fatalf("acked rate %d, want about 1 Mbit/s", st.AckedRate)
	}
}

// QueueDelay is the queue the last feedback's packets met over the link's
// shortest delay: none while the link keeps up, about the backlog's
// length when sending over capacity.
func TestQueueDelay(t *testing.T) {
	e := New(Params{})
	s := newSim(e, &simLink{capacity: 1_000_000, delay: 20 * time.Millisecond})
	s.run(500_000, 2*time.Second)
	if q := e.QueueDelay(); q > 5*time.Millisecond {
		t.Fatalf("queue delay %v at half the link's capacity, want about none", q)
	}
	// At twice the capacity the backlog grows by 0.5 s a second: the last
	// feedback before 400 ms is over shows packets that met 150–200 ms.
	s.run(2_000_000, 400*time.Millisecond)
	if q := e.QueueDelay(); q < 100*time.Millisecond || q > 250*time.Millisecond {
		t.Fatalf("queue delay %v after 400 ms at twice the link's capacity, want 100–250 ms", q)
	}
	if st := e.Stats(); st.QueueDelay != e.QueueDelay() {
		t.Fatalf("Stats' queue delay %v, want %v", st.QueueDelay, e.QueueDelay())
	}
}

// Sending over capacity builds a queue: overuse is detected within a few
// feedback intervals and the estimate falls under the link's capacity;
// once the sender keeps under it, the detector leaves overuse, the estimate
// holds and then recovers.
func TestOveruseHoldRecovery(t *testing.T) {
	e := New(Params{Initial: 1_500_000})
	l := &simLink{capacity: 600_000, delay: 20 * time.Millisecond}
	s := newSim(e, l)
	s.run(400_000, 2*time.Second)
	if e.Overusing() || e.GetTargetBitrate() < 1_000_000 {
		t.Fatalf("under capacity: overusing %v, estimate %d", e.Overusing(), e.GetTargetBitrate())
	}
	sawOver := false
	start := s.now
	var detectedAfter time.Duration
	for s.now-start < int64(2*time.Second) {
		s.run(1_200_000, fbEvery)
		if e.Overusing() && !sawOver {
			sawOver, detectedAfter = true, time.Duration(s.now-start)
		}
	}
	if !sawOver {
		t.Fatalf("no overuse while sending twice the capacity: %+v", e.Stats())
	}
	if detectedAfter > time.Second {
		t.Fatalf("overuse detected only after %v", detectedAfter)
	}
	if got := e.GetTargetBitrate(); got > 600_000 {
		t.Fatalf("estimate %d after overuse on a 600 kbit/s link", got)
	}
	// Drain: send under capacity; the queue empties (underuse or normal).
	low := e.GetTargetBitrate()
	s.run(300_000, 3*time.Second)
	if e.Overusing() {
		t.Fatalf("still overusing after the queue drained: %+v", e.Stats())
	}
	// Recovery: at a rate the link carries, the estimate climbs again.
	s.run(500_000, 6*time.Second)
	if got := e.GetTargetBitrate(); got < low*11/10 {
		t.Fatalf("estimate %d did not recover from %d at 500 kbit/s on a 600 kbit/s link: %+v", got, low, e.Stats())
	}
}

// A receiver that stalls now and then for 100–300 ms (its arrival times
// jump by the stall, then the packets held are read together) on a link
// with room is not congested: no overuse is reported and the estimate
// stays at least 90 % of the rate sent, whether the held packets are read
// at once or caught up with one at a time, 6 ms apart (slower than a burst,
// faster than they were sent), and whether packets are paced or sent in
// frames.
func TestReceiverStallsAreNotCongestion(t *testing.T) {
	for _, frames := range []bool{false, true} {
		for _, perPacket := range []time.Duration{100 * time.Microsecond, 6 * time.Millisecond} {
			t.Run(fmt.Sprintf("frames=%v/read=%v", frames, perPacket), func(t *testing.T) {
				const rate = 1_000_000
				e := New(Params{Initial: rate})
				s := newSim(e, &simLink{capacity: 5_000_000, delay: 20 * time.Millisecond})
				s.frames = frames
				s.recv = &stallingReceiver{perPacket: int64(perPacket)}
				s.run(rate, 2*time.Second)
				lowest := e.GetTargetBitrate()
				before, queued := e.QueueDelay(), time.Duration(0)
				for i := range 6 {
					from := s.now + int64(300*time.Millisecond)
					length := time.Duration(100+100*(i%3)) * time.Millisecond
					s.recv.stalls = append(s.recv.stalls, [2]int64{from, from + int64(length)})
					if i == 5 { // and again 100 ms after it
						again := from + int64(length+100*time.Millisecond)
						s.recv.stalls = append(s.recv.stalls, [2]int64{again, again + int64(150*time.Millisecond)})
					}
					for range 2 * time.Second / fbEvery {
						s.run(rate, fbEvery)
						if e.Overusing() {
							t.Fatalf("stall %d (%v): overuse reported: %+v", i+1, length, e.Stats())
						}
						lowest = min(lowest, e.GetTargetBitrate())
						queued = max(queued, e.QueueDelay())
					}
				}
				if lowest < rate*9/10 {
					t.Fatalf("the estimate fell to %d while sending %d on a link with room: %+v", lowest, rate, e.Stats())
				}
				// The stalls' delay is the receiver's, not the link's queue.
				if queued > before+15*time.Millisecond {
					t.Fatalf("queue delay up to %v with the stalls, %v before them", queued, before)
				}
			})
		}
	}
}

// A link slower than the rate sent is still congestion with a receiver
// that stalls now and then: overuse is reported within a second of the
// queue starting to build, and the estimate falls under the link's
// capacity.
func TestBottleneckWithStallingReceiver(t *testing.T) {
	for _, frames := range []bool{false, true} {
		t.Run(fmt.Sprintf("frames=%v", frames), func(t *testing.T) {
			e := New(Params{Initial: 1_500_000})
			s := newSim(e, &simLink{capacity: 600_000, delay: 20 * time.Millisecond})
			s.frames = frames
			s.recv = &stallingReceiver{perPacket: int64(6 * time.Millisecond)}
			for at := s.now + int64(time.Second); at < s.now+int64(10*time.Second); at += int64(700 * time.Millisecond) {
				s.recv.stalls = append(s.recv.stalls, [2]int64{at, at + int64(200*time.Millisecond)})
			}
			s.run(400_000, 2*time.Second)
			start := s.now
			for !e.Overusing() {
				if s.now-start > int64(time.Second) {
					t.Fatalf("no overuse after %v sending twice the link's capacity: %+v", time.Duration(s.now-start), e.Stats())
				}
				s.run(1_200_000, fbEvery)
			}
			t.Logf("overuse after %v", time.Duration(s.now-start))
			s.run(min(e.GetTargetBitrate(), 1_200_000), time.Second)
			if got := e.GetTargetBitrate(); got > 600_000 {
				t.Fatalf("estimate %d after overuse on a 600 kbit/s link", got)
			}
		})
	}
}

// A receiver whose clock goes back (its arrival times restart 10 s
// earlier) is followed from there: the acked rate stays what the link
// carries, and a bottleneck that appears a second later is still seen
// within a second.
func TestReceiverClockGoesBack(t *testing.T) {
	e := New(Params{Initial: 1_000_000})
	l := &simLink{capacity: 5_000_000, delay: 20 * time.Millisecond}
	s := newSim(e, l)
	s.now = int64(30 * time.Second)
	s.run(800_000, 2*time.Second)
	s.clock = -int64(10 * time.Second)
	s.run(800_000, time.Second)
	if st := e.Stats(); st.AckedRate < 700_000 || st.AckedRate > 900_000 || e.Overusing() {
		t.Fatalf("after the receiver's clock went back: %+v, want an acked rate of about 800 kbit/s and no overuse", st)
	}
	l.capacity = 500_000
	start := s.now
	for !e.Overusing() {
		if s.now-start > int64(time.Second) {
			t.Fatalf("no overuse %v after the link fell to 500 kbit/s under 800: %+v", time.Duration(s.now-start), e.Stats())
		}
		s.run(800_000, fbEvery)
	}
}

// Loss over 10 % brings the loss-based bound down; 3 % leaves it.
func TestLossBound(t *testing.T) {
	heavy := New(Params{Initial: 1_000_000})
	newSim(heavy, &simLink{capacity: 10_000_000, delay: 20 * time.Millisecond, lossEvery: 4}).run(800_000, 3*time.Second)
	if st := heavy.Stats(); st.LossTarget >= 800_000 || heavy.GetTargetBitrate() != min(st.DelayTarget, st.LossTarget) {
		t.Fatalf("25 %% loss: %+v, estimate %d", st, heavy.GetTargetBitrate())
	}
	if st := heavy.Stats(); st.AverageLoss < 0.2 || st.AverageLoss > 0.3 {
		t.Fatalf("25 %% loss averaged as %.3f", st.AverageLoss)
	}
	light := New(Params{Initial: 1_000_000})
	newSim(light, &simLink{capacity: 10_000_000, delay: 20 * time.Millisecond, lossEvery: 33}).run(800_000, 3*time.Second)
	if got := light.GetTargetBitrate(); got < 1_000_000 {
		t.Fatalf("3 %% loss cut the estimate to %d", got)
	}
}

// Feedback across the 16-bit wrap of the transport-wide sequence number is
// matched with what was sent.
func TestFeedbackAcrossSequenceWrap(t *testing.T) {
	e := New(Params{})
	for i := range 65_500 {
		e.Sent(1, int64(i))
	}
	s := newSim(e, &simLink{capacity: 5_000_000, delay: 10 * time.Millisecond})
	s.now = 65_500 + int64(time.Second)
	s.run(1_000_000, 2*time.Second) // ~200 packets: through 65535 to 0
	if e.fb.lastSeq < 65_536+100 {
		t.Fatalf("last acknowledged extended sequence %d: feedback after the wrap was not matched", e.fb.lastSeq)
	}
	if st := e.Stats(); st.AckedRate < 900_000 {
		t.Fatalf("acked rate %d across the wrap", st.AckedRate)
	}
}

// A report that comes after a later one is skipped (its packets were not
// reported by the later one, and are counted neither received nor lost); a
// report that never comes leaves its packets unaccounted, not lost.
func TestReorderedAndMissingFeedback(t *testing.T) {
	e := New(Params{Initial: 1_000_000})
	s := newSim(e, &simLink{capacity: 5_000_000, delay: 20 * time.Millisecond})
	var held *rtcp.TransportLayerCC
	n := 0
	s.deliver = func(fb *rtcp.TransportLayerCC) {
		n++
		switch {
		case n%10 == 3:
			held = fb // delivered after the next one
		case n%10 == 7:
			// lost
		default:
			e.OnFeedback(fb, s.now)
			if held != nil {
				before := e.fb.lastSeq
				e.OnFeedback(held, s.now)
				if e.fb.lastSeq != before {
					t.Fatalf("a late report moved the acknowledged sequence back from %d to %d", before, e.fb.lastSeq)
				}
				held = nil
			}
		}
	}
	s.run(1_000_000, 4*time.Second)
	st := e.Stats()
	if st.AverageLoss != 0 || e.Overusing() {
		t.Fatalf("reordered and missing reports counted as loss or congestion: %+v", st)
	}
	if e.GetTargetBitrate() < 1_000_000 {
		t.Fatalf("estimate fell to %d on a clean link", e.GetTargetBitrate())
	}
	// The same report twice changes nothing the second time.
	fb := buildFeedback([]simPkt{{seq: uint16(e.fb.lastSeq), arr: s.now}}, 0)
	before := e.Stats()
	e.OnFeedback(fb, s.now)
	if after := e.Stats(); after != before {
		t.Fatalf("a repeated report changed the state: %+v -> %+v", before, after)
	}
}

// FuzzFeedback: no report, however malformed, panics or takes the estimate
// out of its bounds.
func FuzzFeedback(f *testing.F) {
	e := New(Params{})
	s := newSim(e, &simLink{capacity: 600_000, delay: 20 * time.Millisecond, lossEvery: 9})
	s.deliver = func(fb *rtcp.TransportLayerCC) {
		if b, err := fb.Marshal(); err == nil {
			f.Add(b)
		}
	}
	s.run(1_000_000, 500*time.Millisecond)
	f.Add([]byte{0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 0x00, 0x10, 0xff, 0xff, 0xff, 0x01, 0x20, 0x10, 0xd5, 0x55})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := New(Params{})
		for i := range 3000 {
			e.Sent(1000, int64(i)*int64(time.Millisecond))
		}
		pkts, err := rtcp.Unmarshal(data)
		if err != nil {
			return
		}
		for i, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				e.OnFeedback(fb, int64(3000+i)*int64(time.Millisecond))
				e.OnFeedback(fb, int64(3100+i)*int64(time.Millisecond))
			}
		}
		if got := e.GetTargetBitrate(); got < DefaultMin || got > DefaultMax {
			t.Fatalf("estimate %d out of bounds", got)
		}
	})
}

func BenchmarkSent(b *testing.B) {
	e := New(Params{})
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		now += 1000
		e.Sent(1200, now)
	}
}

func BenchmarkSentParallel(b *testing.B) {
	e := New(Params{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := int64(0)
		for pb.Next() {
			now += 1000
			e.Sent(1200, now)
		}
	})
}

// BenchmarkFeedback is the cost of one report of about 8 packets (50 ms
// of a 1.5 Mbit/s subscriber), per report.
func BenchmarkFeedback(b *testing.B) {
	e := New(Params{})
	l := &simLink{capacity: 5_000_000, delay: 20 * time.Millisecond}
	var reports []*rtcp.TransportLayerCC
	s := newSim(e, l)
	s.deliver = func(fb *rtcp.TransportLayerCC) { reports = append(reports, fb) }
	s.run(1_500_000, 10*time.Second)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(reports) == 0 {
			// The same reports again, to a fresh state: replayed to the
			// old one, their arrival times would go back.
			p := e.fb.p
			e.fb = feedback{}
			e.fb.init(p)
		}
		e.OnFeedback(reports[i%len(reports)], s.now)
		i++
	}
}
