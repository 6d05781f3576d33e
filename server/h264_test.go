package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"yunke/server/token"
	"yunke/signaling/client"
)

// H.264 (constrained baseline, packetization-mode 1) is forwarded, and a
// subscriber's stream starts on a keyframe.
func TestH264Forwarded(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const room = "h264"
	teacher := join(t, ctx, srv, mint(t, room, "teacher", token.RoleTeacher), client.Options{AutoSubscribe: true})
	student := join(t, ctx, srv, mint(t, room, "student", token.RoleStudent), client.Options{AutoSubscribe: true})
	cam, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeH264})
	if err != nil {
		t.Fatal(err)
	}
	// Annex-B access units: SPS + PPS + IDR every 10th frame, else a P slice.
	frame := func(i int) []byte {
		body := make([]byte, 3000) // split into FU-A fragments
		for j := range body {
			body[j] = byte(i + j)
		}
		start := []byte{0, 0, 0, 1}
		if i%10 == 0 {
			au := append(append([]byte{}, start...), 0x67, 0x42, 0xe0, 0x1f, 0xda)
			au = append(append(au, start...), 0x68, 0xce, 0x3c, 0x80)
			return append(append(append(au, start...), 0x65), body...)
		}
		return append(append(append([]byte{}, start...), 0x41), body...)
	}
	defer pump(33*time.Millisecond, func(i int) {
		_ = cam.WriteSample(media.Sample{Data: frame(i), Duration: 33 * time.Millisecond})
	})()

	rt, err := student.WaitTrack(ctx, func(r *client.RemoteTrack) bool { return r.SID() == cam.SID() })
	if err != nil {
		t.Fatal(err)
	}
	if mime := rt.Codec().MimeType; !strings.EqualFold(mime, webrtc.MimeTypeH264) {
		t.Fatalf("subscriber codec %s", mime)
	}
	first, err := rt.ReadRTP()
	if err != nil {
		t.Fatal(err)
	}
	if nal := first.Payload[0] & 0x1f; nal != 24 && nal != 7 && nal != 5 {
		t.Fatalf("stream starts with NAL type %d, want SPS/IDR (or STAP-A with them)", nal)
	}
	prev := first.SequenceNumber
	for range 100 {
		p, err := rt.ReadRTP()
		if err != nil {
			t.Fatal(err)
		}
		if p.SequenceNumber != prev+1 {
			t.Fatalf("sequence jumped from %d to %d", prev, p.SequenceNumber)
		}
		prev = p.SequenceNumber
	}
}
