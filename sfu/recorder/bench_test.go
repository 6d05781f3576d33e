package recorder

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

// benchStream is a pre-marshalled stream whose sequence numbers and
// timestamps are rewritten as it loops, so a benchmark can send any number
// of packets of one continuous stream without allocating.
type benchStream struct {
	tmpl    [][]byte // one loop of packets
	frame   []int    // frame index of each, within the loop
	frames  int      // frames per loop
	step    uint32   // timestamp step per frame
	ring    [8192][]byte
	payload int
}

func newBenchStream(t testing.TB, mime string) *benchStream {
	s := &benchStream{step: 6000}
	pz := packetizer(mime, 1, 0)
	var frames []testFrame
	if mime == webrtc.MimeTypeOpus {
		frames, s.step = readOgg(t, "opus.ogg"), 960
	} else {
		frames = readIVF(t, "low.ivf")
	}
	for i, f := range frames {
		for _, p := range pz.Packetize(f.data, s.step) {
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s.tmpl = append(s.tmpl, b)
			s.frame = append(s.frame, i)
			s.payload += len(p.Payload)
		}
	}
	s.frames = len(frames)
	for i := range s.ring {
		s.ring[i] = make([]byte, 1500)
	}
	return s
}

// packet i of the stream, in a buffer reused 8192 packets later.
func (s *benchStream) packet(i int) []byte {
	j := i % len(s.tmpl)
	b := s.ring[i%len(s.ring)][:len(s.tmpl[j])]
	copy(b, s.tmpl[j])
	frame := (i/len(s.tmpl))*s.frames + s.frame[j]
	binary.BigEndian.PutUint16(b[2:], uint16(i))
	binary.BigEndian.PutUint32(b[4:], uint32(frame)*s.step)
	return b
}

// BenchmarkRecorder measures what recording costs per packet: the tap's
// OnPacket on the forwarding loop plus the writer (reorder buffer,
// depacketizing, muxing, writing to a file), against the same track with
// nothing recording it.
func BenchmarkRecorder(b *testing.B) {
	for _, codec := range []string{webrtc.MimeTypeOpus, webrtc.MimeTypeVP8} {
		stream := newBenchStream(b, codec)
		for _, recording := range []bool{false, true} {
			b.Run(fmt.Sprintf("codec=%s/recording=%v", codec[6:], recording), func(b *testing.B) {
				kind := webrtc.RTPCodecTypeVideo
				if codec == webrtc.MimeTypeOpus {
					kind = webrtc.RTPCodecTypeAudio
				}
				tr := sfu.NewTrack(sfu.TrackParams{ID: "TR_b", StreamID: "PA|TR_b", Kind: kind, Codec: webrtc.RTPCodecCapability{MimeType: codec, ClockRate: 90000}})
				r := &fakeRemote{ssrc: 1, in: make(chan []byte, 4096)}
				count := &countTap{}
				tr.AddTap(count)
				var s *Session
				var h *TrackHandle
				if recording {
					var err error
					// No fsync: media runs here far faster than real time, and
					// an fsync every 5 s of media would be most of the cost.
					if s, err = Start(Params{Dir: b.TempDir(), SyncInterval: -1}); err != nil {
						b.Fatal(err)
					}
					if h, err = s.AddTrack(TrackMeta{TrackID: "TR_b", Participant: "p", Source: SourceCamera, Codec: codec}, tr); err != nil {
						b.Fatal(err)
					}
				}
				if err := tr.AddLayer(0, r); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := range b.N {
					r.in <- stream.packet(i)
					if h != nil && i%64 == 63 {
						// Keep the queue from overflowing: this measures
						// cost, not drops.
						for len(r.in)+h.r.q.len() > 1024 {
							time.Sleep(20 * time.Microsecond)
						}
					}
				}
				for count.n.Load() < int64(b.N) {
					time.Sleep(20 * time.Microsecond)
				}
				if s != nil {
					m := s.Stop()
					if m.Tracks[0].Drops > 0 {
						b.Fatalf("%d packets dropped", m.Tracks[0].Drops)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/packet")
				b.ReportMetric(float64(stream.payload)/float64(len(stream.tmpl)), "B/packet")
				close(r.in)
				tr.Close()
			})
		}
	}
}

// BenchmarkForwardWhileRecording is sfu's BenchmarkFanout shape (one
// publisher, 10 subscribers, 1100-octet packets) with and without a
// recorder on the track: what recording costs the class's forwarding.
func BenchmarkForwardWhileRecording(b *testing.B) {
	const subs = 10
	for _, recording := range []bool{false, true} {
		b.Run(fmt.Sprintf("recording=%v/subscribers=%d", recording, subs), func(b *testing.B) {
			tr := sfu.NewTrack(sfu.TrackParams{ID: "TR_b", StreamID: "PA|TR_b", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCap})
			r := &fakeRemote{ssrc: 1, in: make(chan []byte, 4096)}
			writers := make([]*countingWriter, subs)
			downs := make([]*sfu.DownTrack, subs)
			for i := range subs {
				d, err := tr.NewDownTrack(sfu.DownTrackParams{QueueSize: 1024})
				if err != nil {
					b.Fatal(err)
				}
				writers[i] = &countingWriter{want: int64(b.N), done: make(chan struct{})}
				if _, err := d.Bind(benchBind{ssrc: webrtc.SSRC(100 + i), w: writers[i]}); err != nil {
					b.Fatal(err)
				}
				d.Start(&benchSender{stop: make(chan struct{})})
				downs[i] = d
			}
			var s *Session
			var h *TrackHandle
			if recording {
				var err error
				if s, err = Start(Params{Dir: b.TempDir(), SyncInterval: -1}); err != nil {
					b.Fatal(err)
				}
				if h, err = s.AddTrack(TrackMeta{TrackID: "TR_b", Participant: "p", Source: SourceMicrophone, Codec: webrtc.MimeTypeOpus}, tr); err != nil {
					b.Fatal(err)
				}
			}
			if err := tr.AddLayer(0, r); err != nil {
				b.Fatal(err)
			}
			pkts := make([][]byte, 512)
			for i := range pkts {
				pkts[i], _ = (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960, SSRC: 1}, Payload: make([]byte, 1100)}).Marshal()
			}
			stream := &benchStream{tmpl: pkts, frame: make([]int, len(pkts)), frames: len(pkts), step: 960}
			for i := range pkts {
				stream.frame[i] = i
			}
			for i := range stream.ring {
				stream.ring[i] = make([]byte, 1500)
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				r.in <- stream.packet(i)
				if i%64 == 63 {
					for _, w := range writers {
						for w.n.Load() < int64(i-256) {
							time.Sleep(20 * time.Microsecond)
						}
					}
					for h != nil && len(r.in)+h.r.q.len() > 1024 {
						time.Sleep(20 * time.Microsecond)
					}
				}
			}
			for _, w := range writers {
				<-w.done
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/forwarded")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*subs), "cpu-ns/forwarded")
			if s != nil {
				s.Stop()
			}
			close(r.in)
			for _, d := range downs {
				d.Close()
			}
			tr.Close()
		})
	}
}

// cpuTime is the CPU time the process used, user and system, in ns: on a
// shared machine it measures cost better than wall time does.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

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

// benchBind is a TrackLocalContext for an Opus subscriber.
type benchBind struct {
	ssrc webrtc.SSRC
	w    webrtc.TrackLocalWriter
}

func (b benchBind) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: opusCap, PayloadType: 111}}
}
func (b benchBind) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (b benchBind) SSRC() webrtc.SSRC                                      { return b.ssrc }
func (b benchBind) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (b benchBind) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (b benchBind) WriteStream() webrtc.TrackLocalWriter                   { return b.w }
func (b benchBind) ID() string                                             { return "bind" }
func (b benchBind) RTCPReader() interceptor.RTCPReader                     { return nil }

// benchSender is a subscriber that sends no RTCP.
type benchSender struct{ stop chan struct{} }

func (s *benchSender) Read([]byte) (int, interceptor.Attributes, error) {
	<-s.stop
	return 0, nil, io.EOF
}

func (s *benchSender) Stop() error {
	close(s.stop)
	return nil
}
