package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/signaling/client"
)

type gateFunc func(context.Context, JoinRequest) error

func (f gateFunc) AdmitJoin(ctx context.Context, j JoinRequest) error { return f(ctx, j) }

type filterFunc func(context.Context, DataEvent) bool

func (f filterFunc) FilterData(ctx context.Context, d DataEvent) bool { return f(ctx, d) }

// TestNarrowedSourcesEndTracks: taking screen share away from a publisher
// ends its screen share, tells it so, and keeps its camera.
func TestNarrowedSourcesEndTracks(t *testing.T) {
	svc, url := startService(t, Params{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "narrow"
	watcher := connect(t, ctx, url, grantToken(t, "watcher", teacherGrant(room)))
	unpublished := make(chan string, 4)
	pub, err := client.Connect(ctx, client.Options{URL: url, Token: grantToken(t, "pub", peerGrant(room)), SettingEngine: connectSettings,
		OnSignal: func(m *livekit.SignalResponse) {
			if u := m.GetTrackUnpublished(); u != nil {
				unpublished <- u.GetTrackSid()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	cam, err := pub.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8})
	if err != nil {
		t.Fatal(err)
	}
	screen, err := pub.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Source: livekit.TrackSource_SCREEN_SHARE})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, tr := range []*client.LocalTrack{cam, screen} {
				_ = tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)}, Payload: []byte{0x10, 0, 0, 0}})
			}
		}
	}()
	if _, err := watcher.WaitParticipant(ctx, "pub", func(p *livekit.ParticipantInfo) bool { return p != nil && len(p.Tracks) == 2 }); err != nil {
		t.Fatal(err)
	}
	m, err := svc.Member(room, "pub")
	if err != nil {
		t.Fatal(err)
	}
	perm := m.Info.GetPermission()
	perm.CanPublishSources = []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE}
	if _, err := svc.UpdateParticipant(room, "pub", &livekit.UpdateParticipantRequest{Permission: perm}); err != nil {
		t.Fatal(err)
	}
	info, err := watcher.WaitParticipant(ctx, "pub", func(p *livekit.ParticipantInfo) bool { return p != nil && len(p.Tracks) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if info.Tracks[0].GetSid() != cam.SID() {
		t.Errorf("the track left is %v, want the camera", info.Tracks[0])
	}
	select {
	case sid := <-unpublished:
		if sid != screen.SID() {
			t.Errorf("told %s was unpublished, want the screen share %s", sid, screen.SID())
		}
	case <-ctx.Done():
		t.Fatal("the publisher was not told its screen share ended")
	}
	if _, err := svc.Member(room, "nobody"); !errors.Is(err, ErrNoParticipant) {
		t.Errorf("Member of someone absent: %v", err)
	}
	if _, err := svc.Members("no-such-room"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("Members of a room not open: %v", err)
	}
}

// TestGatesAndDataFilters: a gate refuses a join with 403 (its grants in
// hand), and a data filter drops what it refuses.
func TestGatesAndDataFilters(t *testing.T) {
	gate := gateFunc(func(_ context.Context, j JoinRequest) error {
		if j.Identity == "banned" {
			if j.RoomAdmin || j.Hidden {
				return errors.New("the gate saw the wrong grants")
			}
			return fmt.Errorf("%w: kept out", ErrNotAdmitted)
		}
		return nil
	})
	filter := filterFunc(func(_ context.Context, d DataEvent) bool {
		return d.Packet.GetUser().GetTopic() != "blocked" || d.Participant.RoomAdmin
	})
	_, url := startService(t, Params{Gates: []JoinGate{gate}, DataFilters: []DataFilter{filter}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const room = "gated"
	_, err := client.Connect(ctx, client.Options{URL: url, Token: grantToken(t, "banned", studentGrant(room)), SettingEngine: connectSettings})
	if st, _ := handshakeStatus(err); st != http.StatusForbidden {
		t.Fatalf("a gated join: %v, want 403", err)
	}
	teacher := connect(t, ctx, url, grantToken(t, "teacher", teacherGrant(room)))
	student := connect(t, ctx, url, grantToken(t, "student", studentGrant(room)))
	for _, topic := range []string{"blocked", "open"} {
		if err := student.SendData(ctx, []byte(topic), client.DataOptions{Reliable: true, Topic: topic}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		select {
		case dp := <-teacher.Data():
			switch dp.GetUser().GetTopic() {
			case "blocked":
				t.Fatal("a filtered packet was relayed")
			case "open":
				return
			}
		case <-ctx.Done():
			t.Fatal("the open packet never arrived")
		}
	}
}
