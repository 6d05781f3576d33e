package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/server/token"
	"yunke/signaling/client"
)

// With auto-subscribe off nothing is forwarded until the client asks for
// the track; then it is.
func TestExplicitSubscription(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const room = "explicit"
	teacher := join(t, ctx, srv, mint(t, room, "teacher", token.RoleTeacher), client.Options{})
	student := join(t, ctx, srv, mint(t, room, "student", token.RoleStudent), client.Options{})
	mic, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus})
	if err != nil {
		t.Fatal(err)
	}
	defer pump(20*time.Millisecond, func(i int) {
		_ = mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960}, Payload: []byte{0x78, 1, 2, 3}})
	})()
	if _, err := student.WaitParticipant(ctx, "teacher", func(p *livekit.ParticipantInfo) bool { return p != nil && len(p.Tracks) == 1 }); err != nil {
		t.Fatalf("track not announced: %v", err)
	}
	if len(student.RemoteTracks()) != 0 {
		t.Fatal("a track was forwarded without auto-subscribe or a subscription")
	}
	if err := student.UpdateSubscription(teacher.SID(), []string{mic.SID()}, true); err != nil {
		t.Fatal(err)
	}
	rt, err := student.WaitTrack(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.ReadRTP(); err != nil {
		t.Fatalf("subscribed track carries no media: %v", err)
	}
}

// A simulcast publisher's subscriber starts on a layer and moves to the low
// one when it asks for a small size.
func TestSimulcastLayerFollowsRequestedSize(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "simulcast"
	teacher := join(t, ctx, srv, mint(t, room, "teacher", token.RoleTeacher), client.Options{})
	student := join(t, ctx, srv, mint(t, room, "student", token.RoleStudent), client.Options{AutoSubscribe: true})
	cam, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Simulcast: true, Width: 1280, Height: 720})
	if err != nil {
		t.Fatal(err)
	}
	defer pump(33*time.Millisecond, func(i int) {
		for j, rid := range []string{client.RIDLow, client.RIDMedium, client.RIDHigh} {
			// Every frame is a one-packet VP8 keyframe tagged with its layer.
			_ = cam.WriteLayerRTP(rid, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, Marker: true},
				Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02, byte(j), byte(i)}})
		}
	})()
	rt, err := student.WaitTrack(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	layer := func() int {
		t.Helper()
		_ = rt.Track().SetReadDeadline(time.Now().Add(3 * time.Second))
		p, err := rt.ReadRTP()
		if err != nil {
			t.Fatal(err)
		}
		return int(p.Payload[9])
	}
	t.Logf("receiving layer %d", layer())
	if err := student.UpdateTrackSettings(&livekit.UpdateTrackSettings{TrackSids: []string{cam.SID()}, Width: 320, Height: 180}); err != nil {
		t.Fatal(err)
	}
	if !pollUntil(5*time.Second, func() bool { return layer() == 0 }) {
		t.Fatal("still not on the low layer 5 s after asking for 320x180")
	}
}
