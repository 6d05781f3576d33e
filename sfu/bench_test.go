package sfu

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"yunke/sfu/bwe"
)

// countingWriter discards packets and signals when it has seen want of them.
type countingWriter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (w *countingWriter) WriteRTP(_ *rtp.Header, payload []byte) (int, error) {
	if w.n.Add(1) == w.want {
		close(w.done)
	}
	return len(payload), nil
}

func (w *countingWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkFanout measures the SFU's own forwarding cost — parse, cache,
// queue, rewrite — from one publisher to N subscribers, without the
// transport (SRTP and sendto are measured end to end by `yunke loadtest`).
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) { benchFanout(b, subs, false) })
	}
}

// BenchmarkFanoutSendSideBWE is BenchmarkFanout with each subscriber's
// send-side estimator on: every packet forwarded is stamped with a
// transport-wide sequence number and recorded in the estimator.
func BenchmarkFanoutSendSideBWE(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) { benchFanout(b, subs, true) })
	}
}

func benchFanout(b *testing.B, subs int, withBWE bool) {
	tr := NewTrack(TrackParams{ID: "TR_b", StreamID: "PA_b|TR_b", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCodec.RTPCodecCapability})
	r := &fakeRemote{ssrc: 1, in: make(chan []byte, 4096)}
	writers := make([]*countingWriter, subs)
	downs := make([]*DownTrack, subs)
	for i := range subs {
		d, err := tr.NewDownTrack(DownTrackParams{QueueSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		writers[i] = &countingWriter{want: int64(b.N), done: make(chan struct{})}
		fb := fakeBind{codec: opusCodec, ssrc: webrtc.SSRC(100 + i), w: writers[i]}
		if withBWE {
			fb.exts = []webrtc.RTPHeaderExtensionParameter{{URI: sdp.TransportCCURI, ID: 5}}
			s := NewSubscriber(SubscriberParams{Estimator: bwe.New(bwe.Params{})})
			defer s.Close()
			s.Add(d, PriorityOther)
		}
		if _, err := d.Bind(fb); err != nil {
			b.Fatal(err)
		}
		d.Start(newFakeSender())
		downs[i] = d
	}
	if err := tr.AddLayer(0, r); err != nil {
		b.Fatal(err)
	}
	pkts := make([][]byte, 512)
	for i := range pkts {
		pkts[i], _ = (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960, SSRC: 1}, Payload: make([]byte, 1100)}).Marshal()
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.in <- pkts[i%len(pkts)]
		if i%64 == 63 {
			// Keep queues from overflowing: this measures cost, not drops.
			for _, w := range writers {
				for w.n.Load() < int64(i-256) {
					runtime.Gosched()
				}
			}
		}
	}
	for _, w := range writers {
		<-w.done
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/forwarded")
	close(r.in)
	for _, d := range downs {
		d.Close()
	}
	tr.Close()
}
