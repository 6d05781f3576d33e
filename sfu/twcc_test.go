package sfu

import (
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"yunke/sfu/bwe"
)

// seqWriter keeps the transport-wide sequence number of every packet
// written (read at once: the header's extension is the writer's scratch).
type seqWriter struct {
	id   uint8
	mu   sync.Mutex
	seqs []int // -1: no extension
	w    *countingWriter
}

func (s *seqWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	v := -1
	if e := h.GetExtension(s.id); len(e) == 2 {
		v = int(e[0])<<8 | int(e[1])
	}
	s.mu.Lock()
	s.seqs = append(s.seqs, v)
	s.mu.Unlock()
	return s.w.WriteRTP(h, payload)
}

func (s *seqWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestTransportSequenceStamped: the DownTracks of one subscriber number
// what they send from one transport-wide sequence, each number once, and
// record each packet in the subscriber's estimator; without our estimator
// (or without the negotiated extension) no number is written.
func TestTransportSequenceStamped(t *testing.T) {
	const id, n = 5, 200
	exts := []webrtc.RTPHeaderExtensionParameter{{URI: sdp.TransportCCURI, ID: id}}
	run := func(t *testing.T, est Estimator, exts []webrtc.RTPHeaderExtensionParameter) []*seqWriter {
		tr := NewTrack(TrackParams{ID: "TR_t", StreamID: "PA_t|TR_t", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCodec.RTPCodecCapability})
		t.Cleanup(tr.Close)
		r := &fakeRemote{ssrc: 1, in: make(chan []byte, 1024)}
		t.Cleanup(func() { close(r.in) })
		sub := NewSubscriber(SubscriberParams{Estimator: est})
		t.Cleanup(sub.Close)
		var ws []*seqWriter
		for i := range 2 {
			d, err := tr.NewDownTrack(DownTrackParams{QueueSize: 1024})
			if err != nil {
				t.Fatal(err)
			}
			w := &seqWriter{id: id, w: &countingWriter{want: n, done: make(chan struct{})}}
			if _, err := d.Bind(fakeBind{codec: opusCodec, ssrc: webrtc.SSRC(100 + i), w: w, exts: exts}); err != nil {
				t.Fatal(err)
			}
			sub.Add(d, PriorityOther)
			d.Start(newFakeSender())
			t.Cleanup(d.Close)
			ws = append(ws, w)
		}
		if err := tr.AddLayer(0, r); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960, SSRC: 1}, Payload: make([]byte, 100)}).Marshal()
			r.in <- b
		}
		for _, w := range ws {
			<-w.w.done
		}
		return ws
	}

	t.Run("ours", func(t *testing.T) {
		est := bwe.New(bwe.Params{})
		ws := run(t, est, exts)
		seen := map[int]bool{}
		for _, w := range ws {
			w.mu.Lock()
			for _, v := range w.seqs {
				if v < 0 || seen[v] {
					t.Fatalf("transport-wide sequence number %d missing or repeated", v)
				}
				seen[v] = true
			}
			w.mu.Unlock()
		}
		for v := range 2 * n {
			if !seen[v] {
				t.Fatalf("transport-wide sequence number %d never sent", v)
			}
		}
		if got := est.Sent(0, 0); got != 2*n {
			t.Fatalf("estimator recorded %d packets, want %d", got, 2*n)
		}
	})
	for name, c := range map[string]struct {
		est  Estimator
		exts []webrtc.RTPHeaderExtensionParameter
	}{
		"another estimator":     {&fixedEstimator{}, exts},
		"extension not offered": {bwe.New(bwe.Params{}), nil},
	} {
		t.Run(name, func(t *testing.T) {
			for _, w := range run(t, c.est, c.exts) {
				for _, v := range w.seqs {
					if v >= 0 {
						t.Fatalf("a transport-wide sequence number (%d) was written", v)
					}
				}
			}
		})
	}
}
