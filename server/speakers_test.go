package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"yunke/server/token"
	"yunke/signaling/client"
)

// The server turns the audio level publishers write into each packet
// (RFC 6464) into LiveKit speakersChanged messages.
func TestActiveSpeakerFromAudioLevels(t *testing.T) {
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "speakers"

	teacher := join(t, ctx, srv, mint(t, room, "teacher", token.RoleTeacher), client.Options{AutoSubscribe: true})
	speakers := make(chan *livekit.SpeakerInfo, 64)
	join(t, ctx, srv, mint(t, room, "student", token.RoleStudent), client.Options{AutoSubscribe: true,
		OnSignal: func(m *livekit.SignalResponse) {
			for _, s := range m.GetSpeakersChanged().GetSpeakers() {
				select {
				case speakers <- s:
				default:
				}
			}
		}})

	mic, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus})
	if err != nil {
		t.Fatal(err)
	}
	ext := mic.HeaderExtensionID(sdp.AudioLevelURI)
	if ext == 0 {
		t.Fatal("the audio-level extension was not negotiated")
	}
	level := make(chan byte, 1)
	level <- 10 // loud: -10 dBov
	cur := byte(127)
	defer pump(20*time.Millisecond, func(i int) {
		select {
		case cur = <-level:
		default:
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: []byte{0xfc, 1, 2}}
		_ = p.Header.SetExtension(ext, []byte{cur})
		_ = mic.WriteRTP(p)
	})()

	want := func(active bool) {
		t.Helper()
		for {
			select {
			case s := <-speakers:
				if s.Sid != teacher.SID() {
					t.Fatalf("speaker %s, want the teacher %s", s.Sid, teacher.SID())
				}
				if s.Active == active {
					if active && s.Level <= 0 {
						t.Fatalf("active speaker with level %v", s.Level)
					}
					return
				}
			case <-ctx.Done():
				t.Fatalf("no speakersChanged with active=%v", active)
			}
		}
	}
	want(true)
	level <- 127 // silence
	want(false)
}
