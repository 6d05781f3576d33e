package signaling

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
	"yunke/signaling/client"
)

// TestV1SessionEstimatesBandwidth: the single PeerConnection of a /rtc/v1
// session is made from the subscriber API, so what it sends is under a
// send-side estimate and the allocator, as on /rtc's subscriber
// PeerConnection; a resume (an ICE restart on the same PeerConnection)
// keeps both.
func TestV1SessionEstimatesBandwidth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	subAPI, err := sfu.NewSubscriberAPI(sfu.EngineParams{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	svc, url := startService(t, Params{SubscriberAPI: subAPI, ResumeGrace: 10 * time.Second})
	teacher := connect(t, ctx, url, grantToken(t, "teacher", teacherGrant("r")))
	cam, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	sent := make(chan struct{})
	t.Cleanup(func() { close(stop); <-sent })
	go func() { // media makes the track real on the server
		defer close(sent)
		tk := time.NewTicker(30 * time.Millisecond)
		defer tk.Stop()
		for seq := uint16(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			_ = cam.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}})
		}
	}()

	tok := grantToken(t, "student", studentGrant("r"))
	ws := dialRaw(t, v1URL(t, url, tok, ""))
	res, err := readSignal(ws)
	if err != nil || res.GetJoin() == nil {
		t.Fatalf("no join on /rtc/v1: %v %v", res, err)
	}
	sid := res.GetJoin().GetParticipant().GetSid()
	student, err := svc.lookup("r", "student")
	if err != nil {
		t.Fatal(err)
	}
	// The teacher's camera is subscribed (auto-subscribe) under the allocator.
	var dt *sfu.DownTrack
	eventually(t, 10*time.Second, "the student subscribed to the teacher's camera", func() bool {
		if s := student.subscription(TrackID(cam.SID())); s != nil {
			dt = s.dt
		}
		return dt != nil
	})
	student.pubMu.Lock()
	single := student.pub != nil && student.pub == student.sub
	student.pubMu.Unlock()
	if !single {
		t.Fatal("a /rtc/v1 session has more than one PeerConnection")
	}
	bwe := student.bwe
	if bwe == nil || !bwe.Estimating() {
		t.Fatalf("the single PeerConnection has no send-side estimator (allocator %v)", bwe)
	}
	if dt.Kind() != webrtc.RTPCodecTypeVideo {
		t.Fatalf("subscribed %v", dt.Kind())
	}

	cut(ws)
	ws2 := dialRaw(t, v1URL(t, url, tok, sid))
	if res, err := readSignal(ws2); err != nil || res.GetReconnect() == nil {
		t.Fatalf("first message of a /rtc/v1 resume: %v %v", res, err)
	}
	pingPong(t, ws2)
	again, err := svc.lookup("r", "student")
	if err != nil || again != student {
		t.Fatalf("after the resume: %v, %v; want the same participant", again, err)
	}
	if student.bwe != bwe || !bwe.Estimating() {
		t.Error("the resume replaced or lost the allocator and its estimator")
	}
	if s := student.subscription(TrackID(cam.SID())); s == nil || s.dt != dt {
		t.Error("the resume dropped the subscription")
	}
}
