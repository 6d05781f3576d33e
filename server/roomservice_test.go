package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/twitchtv/twirp"

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

// TestRoomServiceHidesObservers: to a teacher calling RoomService with
// their own room token, a hidden observer (a review expert) does not exist:
// it is not listed, and reading, changing, muting, resubscribing or
// removing it fails with not_found as for someone absent. Nor can the
// teacher hide or unhide anyone. A server token sees and keeps everyone as
// they were, and no client is ever told of the observer.
func TestRoomServiceHidesObservers(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "review-7"
	tLog, sLog := newSignalLog(), newSignalLog()
	teacherTok := mint(t, room, "teacher", token.RoleTeacher)
	teacher := join(t, ctx, srv, teacherTok, client.Options{OnSignal: tLog.record})
	student := join(t, ctx, srv, mint(t, room, "student", token.RoleStudent), client.Options{OnSignal: sLog.record})
	observer := join(t, ctx, srv, mint(t, room, "expert", token.RoleObserver), client.Options{})

	server := apiClient(t, srv.url, &auth.VideoGrant{RoomAdmin: true, Room: room})
	ps, err := server.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil || len(ps.Participants) != 3 {
		t.Fatalf("server lists %v, %v; want all three", ps, err)
	}

	asTeacher := livekit.NewRoomServiceProtobufClient(srv.url, &http.Client{Transport: bearer{teacherTok}, Timeout: 10 * time.Second})
	ps, err = asTeacher.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Participants) != 2 {
		t.Errorf("teacher lists %d participants, want 2", len(ps.Participants))
	}
	for _, p := range ps.Participants {
		if p.Identity == "expert" {
			t.Error("the teacher's token lists the hidden observer")
		}
	}
	expert := &livekit.RoomParticipantIdentity{Room: room, Identity: "expert"}
	for name, call := range map[string]func() error{
		"GetParticipant": func() error { _, err := asTeacher.GetParticipant(ctx, expert); return err },
		"UpdateParticipant": func() error {
			_, err := asTeacher.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: room, Identity: "expert",
				Permission: &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true}})
			return err
		},
		"MutePublishedTrack": func() error {
			_, err := asTeacher.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: room, Identity: "expert", TrackSid: "TR_any", Muted: true})
			return err
		},
		"UpdateSubscriptions": func() error {
			_, err := asTeacher.UpdateSubscriptions(ctx, &livekit.UpdateSubscriptionsRequest{Room: room, Identity: "expert", Subscribe: false})
			return err
		},
		"RemoveParticipant": func() error { _, err := asTeacher.RemoveParticipant(ctx, expert); return err },
	} {
		var te twirp.Error
		if err := call(); !errors.As(err, &te) || te.Code() != twirp.NotFound {
			t.Errorf("%s on the observer with the teacher's token: %v, want not_found", name, err)
		}
	}
	// The teacher still brings the student on stage, but cannot hide them.
	if _, err := asTeacher.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: room, Identity: "student",
		Permission: &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true, Hidden: true}}); err != nil {
		t.Fatal(err)
	}

	st, err := server.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: "student"})
	if err != nil || !st.GetPermission().GetCanPublish() || st.GetPermission().GetHidden() {
		t.Errorf("student after the teacher's update: %v, %v; want on stage and not hidden", st.GetPermission(), err)
	}
	ex, err := server.GetParticipant(ctx, expert)
	if err != nil || !ex.GetPermission().GetHidden() || ex.GetPermission().GetCanPublish() {
		t.Errorf("observer after the teacher's calls: %v, %v; want hidden, not publishing", ex.GetPermission(), err)
	}
	if observer.Err() != nil {
		t.Errorf("observer session ended: %v", observer.Err())
	}

	// No client heard of the observer: not in a join, not in an update.
	for _, c := range []*client.Client{teacher, student} {
		if _, err := c.Ping(ctx); err != nil { // anything queued before now has arrived
			t.Fatal(err)
		}
	}
	for who, l := range map[*client.Client]*signalLog{teacher: tLog, student: sLog} {
		infos := append([]*livekit.ParticipantInfo(nil), who.JoinResponse().GetOtherParticipants()...)
		for _, m := range l.snapshot() {
			infos = append(infos, m.GetUpdate().GetParticipants()...)
			infos = append(infos, m.GetJoin().GetOtherParticipants()...)
		}
		for _, p := range infos {
			if p.GetIdentity() == "expert" || p.GetSid() == observer.SID() {
				t.Errorf("%s was told of the observer: %v", who.Identity(), p)
			}
		}
	}
}
