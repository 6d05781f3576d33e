package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/server/token"
	"yunke/signaling/client"
)

// apiClient is a LiveKit RoomService client with an API token carrying g.
func apiClient(t *testing.T, url string, g *auth.VideoGrant) livekit.RoomService {
	t.Helper()
	tok, err := auth.NewAccessToken(apiKey, apiSecret).SetVideoGrant(g).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: bearer{tok}, Timeout: 10 * time.Second}
	return livekit.NewRoomServiceProtobufClient(url, hc)
}

type bearer struct{ tok string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tok)
	return http.DefaultTransport.RoundTrip(r)
}

func TestRoomServiceAdministersAClass(t *testing.T) {
	srv := startServer(t)
	url := srv.url
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "math-7"

	teacher := join(t, ctx, srv, mint(t, room, "teacher", token.RoleTeacher), client.Options{AutoSubscribe: true})
	student := join(t, ctx, srv, mint(t, room, "student", token.RoleStudent), client.Options{AutoSubscribe: true})
	mic, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus})
	if err != nil {
		t.Fatal(err)
	}
	defer pump(20*time.Millisecond, func(i int) { // media makes the track visible to others
		_ = mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: []byte{0xfc, 1, 2}})
	})()
	if _, err := student.WaitParticipant(ctx, "teacher", func(p *livekit.ParticipantInfo) bool { return p != nil && len(p.Tracks) == 1 }); err != nil {
		t.Fatal(err)
	}

	// Without the right grant, nothing is allowed.
	weak := apiClient(t, url, &auth.VideoGrant{RoomAdmin: true, Room: "another-room"})
	if _, err := weak.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "student"}); err == nil {
		t.Fatal("a token for another room removed a participant")
	}
	if _, err := weak.ListRooms(ctx, &livekit.ListRoomsRequest{}); err == nil {
		t.Fatal("a token without roomList listed rooms")
	}

	api := apiClient(t, url, &auth.VideoGrant{RoomList: true, RoomAdmin: true, Room: room})
	rooms, err := api.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != room || rooms.Rooms[0].NumParticipants != 2 {
		t.Fatalf("rooms: %v", rooms.Rooms)
	}
	ps, err := api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil || len(ps.Participants) != 2 {
		t.Fatalf("participants: %v, %v", ps, err)
	}

	// The teacher's microphone is muted remotely; the student sees it.
	if _, err := api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: room, Identity: "teacher", TrackSid: mic.SID(), Muted: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := student.WaitParticipant(ctx, "teacher", func(p *livekit.ParticipantInfo) bool {
		return p != nil && len(p.Tracks) == 1 && p.Tracks[0].Muted
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: room, Identity: "teacher", TrackSid: mic.SID(), Muted: false}); err == nil {
		t.Fatal("remote unmute was allowed")
	}

	// Bringing the student on stage: they may publish now.
	if student.LocalParticipant().GetPermission().GetCanPublish() {
		t.Fatal("a student could publish before being brought on stage")
	}
	if _, err := api.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: room, Identity: "student",
		Permission: &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true}}); err != nil {
		t.Fatal(err)
	}
	if !pollUntil(10*time.Second, func() bool { return student.LocalParticipant().GetPermission().GetCanPublish() }) {
		t.Fatal("the student never got publish permission")
	}
	if _, err := student.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeOpus}); err != nil {
		t.Fatalf("a student on stage could not publish: %v", err)
	}

	// Removing the student.
	if _, err := api.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "student"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-student.Done():
	case <-ctx.Done():
		t.Fatal("the removed student was not disconnected")
	}
	if got := student.LeaveReason(); got != livekit.DisconnectReason_PARTICIPANT_REMOVED {
		t.Fatalf("leave reason %v", got)
	}
	if _, err := teacher.WaitParticipant(ctx, "student", func(p *livekit.ParticipantInfo) bool { return p == nil }); err != nil {
		t.Fatal(err)
	}
}
