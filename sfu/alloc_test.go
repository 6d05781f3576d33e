package sfu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// fixedEstimator is an Estimator the test sets.
type fixedEstimator struct{ bps atomic.Int64 }

func (e *fixedEstimator) GetTargetBitrate() int { return int(e.bps.Load()) }

// simulcastTrack is a video Track with three (silent) layers whose
// bitrates are announced: 150, 400 and 1200 kbit/s.
func simulcastTrack(t *testing.T, id string) *Track {
	t.Helper()
	tr := NewTrack(TrackParams{ID: id, StreamID: "PA_x|" + id, Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Codec.RTPCodecCapability, Publisher: &fakePublisher{}})
	t.Cleanup(tr.Close)
	for i, bps := range []int{150_000, 400_000, 1_200_000} {
		tr.SetLayerBitrate(i, bps)
		if err := tr.AddLayer(i, newFakeRemote(t, uint32(10*i+len(id)))); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// boundDownTrack is a DownTrack of tr bound to a fake writer with ssrc,
// closed with the test.
func boundDownTrack(t *testing.T, tr *Track, codec webrtc.RTPCodecParameters, ssrc webrtc.SSRC) *DownTrack {
	t.Helper()
	d, err := tr.NewDownTrack(DownTrackParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if _, err := d.Bind(fakeBind{codec: codec, ssrc: ssrc, w: newFakeWriter()}); err != nil {
		t.Fatal(err)
	}
	return d
}

// ticks is how many ticks of the shared loop s has had.
func (s *Subscriber) ticks() int {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return s.tickCounter
}

// waitAllocations waits until s has allocated n more times.
func waitAllocations(t *testing.T, s *Subscriber, n int) {
	t.Helper()
	from := s.ticks()
	waitUntil(t, fmt.Sprintf("%d allocations", n), func() bool { return s.ticks() >= from+n*allocEvery })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAllocatorServesScreenShareFirstAndPausesTheRest: with 250 kbit/s a
// subscriber keeps its audio and the screen share's lowest layer, and the
// camera is paused (and the client told, and the camera's layers no longer
// count as subscribed for dynacast); with 2 Mbit/s the camera resumes, the
// screen share climbs to its top layer first and the camera gets what is
// left.
func TestAllocatorServesScreenShareFirstAndPausesTheRest(t *testing.T) {
	cam, screen := simulcastTrack(t, "TR_cam"), simulcastTrack(t, "TR_screen")
	mic := newTestTrack(t, webrtc.RTPCodecTypeAudio, opusCodec, nil, nil)

	est := &fixedEstimator{}
	est.bps.Store(250_000)
	var mu sync.Mutex
	states := map[string][]bool{}
	s := NewSubscriber(SubscriberParams{Estimator: est, OnStreamState: func(d *DownTrack, paused bool) {
		mu.Lock()
		states[d.ID()] = append(states[d.ID()], paused)
		mu.Unlock()
	}})
	t.Cleanup(s.Close)
	s.onTWCC(nil)

	add := func(tr *Track, codec webrtc.RTPCodecParameters, ssrc uint32, prio Priority) *DownTrack {
		d := boundDownTrack(t, tr, codec, webrtc.SSRC(ssrc))
		s.Add(d, prio)
		d.Start(newFakeSender())
		return d
	}
	dCam := add(cam, vp8Codec, 1, PriorityOther)
	dScreen := add(screen, vp8Codec, 2, PriorityScreen)
	dMic := add(mic, opusCodec, 3, PriorityOther)

	waitUntil(t, "the camera paused for bandwidth", func() bool { return dCam.Allocated() == -1 })
	if dScreen.Allocated() != 0 {
		t.Errorf("screen share allocated layer %d, want its lowest (0)", dScreen.Allocated())
	}
	mu.Lock()
	if got := states["TR_cam"]; len(got) != 1 || !got[0] {
		t.Errorf("camera stream states %v, want one PAUSED", got)
	}
	if got := states["TR_screen"]; len(got) != 0 {
		t.Errorf("screen share stream states %v, want none", got)
	}
	mu.Unlock()
	if dMic.paused.Load() {
		t.Error("audio was paused")
	}
	waitUntil(t, "the paused camera's layers leave dynacast's subscribed set", func() bool { return cam.SubscribedLayers() == 0 })
	if screen.SubscribedLayers()&1 == 0 {
		t.Errorf("screen share's lowest layer is not subscribed (mask %b)", screen.SubscribedLayers())
	}

	est.bps.Store(2_000_000)
	waitUntil(t, "the screen share on its top layer", func() bool { s.onTWCC(nil); return dScreen.Allocated() == 2 })
	waitUntil(t, "the camera resumed", func() bool { return dCam.Allocated() >= 0 })
	// 48 (audio) + 1200 (screen) leaves room for the camera's middle layer, not its top.
	waitUntil(t, "the camera on its middle layer", func() bool { s.onTWCC(nil); return dCam.Allocated() == 1 })
	waitAllocations(t, s, 3)
	if dCam.Allocated() != 1 || dScreen.Allocated() != 2 {
		t.Errorf("camera at %d and screen at %d; want 1 and 2", dCam.Allocated(), dScreen.Allocated())
	}
	mu.Lock()
	if got := states["TR_cam"]; len(got) != 2 || got[1] {
		t.Errorf("camera stream states %v, want PAUSED then ACTIVE", got)
	}
	mu.Unlock()
	if won, _ := s.Probes(); won == 0 {
		t.Error("the climb happened without a probe")
	}
	waitUntil(t, "dynacast sees the camera's middle layer", func() bool { return cam.SubscribedLayers()&(1<<1) != 0 })
}

// TestAllocatorRespectsTheClientsChoice: the allocator never gives a video
// more than the client asked for, however much bandwidth there is.
func TestAllocatorRespectsTheClientsChoice(t *testing.T) {
	cam := simulcastTrack(t, "TR_cam")
	est := &fixedEstimator{}
	est.bps.Store(10_000_000)
	s := NewSubscriber(SubscriberParams{Estimator: est})
	t.Cleanup(s.Close)
	s.onTWCC(nil)
	d := boundDownTrack(t, cam, vp8Codec, 5)
	d.SetMaxLayer(1)
	s.Add(d, PriorityOther)
	d.Start(newFakeSender())
	waitUntil(t, "the camera on the asked-for layer", func() bool { s.onTWCC(nil); return d.Allocated() == 1 })
	waitAllocations(t, s, 5)
	if d.Allocated() != 1 {
		t.Errorf("allocated layer %d, the client asked for at most 1", d.Allocated())
	}
}

// TestAllocatorsShareOneGoroutine: subscribers' allocators run on one
// shared loop, not a goroutine each; each still allocates (a kick reaches
// its track), and the loop ends with the last subscriber.
func TestAllocatorsShareOneGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	const n = 40
	subs := make([]*Subscriber, n)
	for i := range subs {
		est := &fixedEstimator{}
		est.bps.Store(2_000_000)
		subs[i] = NewSubscriber(SubscriberParams{Estimator: est})
		subs[i].onTWCC(nil)
	}
	if got := runtime.NumGoroutine() - before; got > 1 {
		t.Errorf("%d subscribers added %d goroutines, want at most 1", n, got)
	}
	// The last subscriber's allocation still runs: its camera leaves the
	// lowest layer it starts on.
	cam := simulcastTrack(t, "TR_cam")
	d := boundDownTrack(t, cam, vp8Codec, 9)
	subs[n-1].Add(d, PriorityOther)
	d.Start(newFakeSender())
	waitUntil(t, "the camera allocated above its lowest layer", func() bool { subs[n-1].onTWCC(nil); return d.Allocated() > 0 })
	for _, s := range subs {
		s.Close()
	}
	waitUntil(t, "the shared loop ends with the last subscriber", func() bool {
		allocators.mu.Lock()
		defer allocators.mu.Unlock()
		return !allocators.running
	})
}

// TestSendSideBWEOff: with NoSendSideBWE a subscriber's PeerConnection has
// no estimator (the allocator then relies on REMB); by default it has one.
func TestSendSideBWEOff(t *testing.T) {
	for _, off := range []bool{false, true} {
		api, err := NewSubscriberAPI(EngineParams{NoSendSideBWE: off})
		if err != nil {
			t.Fatal(err)
		}
		pc, est, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if (est == nil) != off {
			t.Errorf("NoSendSideBWE %v: estimator %v", off, est != nil)
		}
		if err := pc.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// queuedEstimator is a fixedEstimator that also reports the link's queue,
// as *bwe.Estimator does.
type queuedEstimator struct {
	fixedEstimator
	queue atomic.Int64 // ns
}

func (e *queuedEstimator) QueueDelay() time.Duration { return time.Duration(e.queue.Load()) }

// TestAllocatorPausesAtOnceOnALongQueue: a video whose lowest layer no
// longer fits the estimate is kept for pauseHold, the shortfall perhaps a
// moment's dip of the estimate; but when the link's queue is already long
// it is paused at the next allocation.
func TestAllocatorPausesAtOnceOnALongQueue(t *testing.T) {
	for _, queue := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(queue.String(), func(t *testing.T) {
			cam := simulcastTrack(t, "TR_cam")
			est := &queuedEstimator{}
			est.bps.Store(2_000_000)
			s := NewSubscriber(SubscriberParams{Estimator: est})
			t.Cleanup(s.Close)
			s.onTWCC(nil)
			d := boundDownTrack(t, cam, vp8Codec, 7)
			s.Add(d, PriorityOther)
			d.Start(newFakeSender())
			waitUntil(t, "an estimate", func() bool { return s.Estimate() > 0 })

			// 60 kbit/s: under three quarters of the lowest layer's 150.
			est.queue.Store(int64(queue))
			est.bps.Store(60_000)
			from := time.Now()
			waitUntil(t, "the camera paused", func() bool { s.onTWCC(nil); return d.Allocated() == -1 })
			took := time.Since(from)
			t.Logf("queue %v: paused after %v", queue, took.Round(time.Millisecond))
			switch {
			case queue == 0 && took < pauseHold:
				t.Errorf("paused after %v without a queue, want the shortfall held for %v", took, pauseHold)
			case queue > pauseQueue && took >= pauseHold:
				t.Errorf("paused only after %v with the link's queue at %v", took, queue)
			}
		})
	}
}
