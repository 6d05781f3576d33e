package signaling

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
	"yunke/signaling/client"
)

// recordingObserver keeps every event it hears, in order.
type recordingObserver struct {
	mu     sync.Mutex
	events []string
	tracks []TrackEvent
	taps   []*countTap
}

// countTap counts the packets a published track delivers to it.
type countTap struct {
	mu sync.Mutex
	n  int
}

func (c *countTap) OnPacket(*sfu.Packet) { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *countTap) OnClose()             {}
func (c *countTap) count() int           { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (o *recordingObserver) add(s string) {
	o.mu.Lock()
	o.events = append(o.events, s)
	o.mu.Unlock()
}

func (o *recordingObserver) ParticipantJoined(ctx context.Context, p ParticipantEvent) {
	if ctx.Err() != nil {
		o.add("joined with a done context")
	}
	o.add("joined " + string(p.Identity))
}

func (o *recordingObserver) ParticipantLeft(_ context.Context, p ParticipantEvent) {
	o.add("left " + string(p.Identity))
}

func (o *recordingObserver) TrackPublished(_ context.Context, t TrackEvent) {
	tap := &countTap{}
	if t.Track != nil {
		t.Track.AddTap(tap) // a recorder attaches here
	}
	o.mu.Lock()
	o.tracks = append(o.tracks, t)
	o.taps = append(o.taps, tap)
	o.mu.Unlock()
	o.add("published " + string(t.Participant.Identity) + " " + t.Source.String())
}

func (o *recordingObserver) TrackUnpublished(_ context.Context, t TrackEvent) {
	o.add("unpublished " + string(t.Participant.Identity) + " " + t.Source.String())
}

func (o *recordingObserver) has(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if e == s {
			return true
		}
	}
	return false
}

// TestObserversHearJoinsAndTracks: every observer hears who joins and
// leaves, and each published track with the sfu.Track itself, to which it
// can attach a tap that then sees the media.
func TestObserversHearJoinsAndTracks(t *testing.T) {
	a, b := &recordingObserver{}, &recordingObserver{}
	_, url := startService(t, Params{Observers: []Observer{a, b}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	teacher := connect(t, ctx, url, grantToken(t, "teacher", teacherGrant("obs")))
	track, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "camera", Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	// Media makes the track real on the server: keep sending until both
	// observers have heard of it and the tap has seen packets.
	seq := uint16(1)
	eventually(t, 10*time.Second, "the published track reaches every observer's tap", func() bool {
		for range 5 {
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}})
			seq++
		}
		for _, o := range []*recordingObserver{a, b} {
			o.mu.Lock()
			ok := len(o.taps) == 1 && o.taps[0].count() > 0
			o.mu.Unlock()
			if !ok {
				return false
			}
		}
		return true
	})
	for _, o := range []*recordingObserver{a, b} {
		o.mu.Lock()
		ev := o.tracks[0]
		o.mu.Unlock()
		if ev.Room != "obs" || ev.Participant.Identity != "teacher" || ev.Source != livekit.TrackSource_CAMERA ||
			ev.ID != TrackID(track.SID()) || ev.Track == nil || ev.Track.ID() != track.SID() {
			t.Fatalf("track event %+v", ev)
		}
	}
	student := connect(t, ctx, url, grantToken(t, "student", studentGrant("obs")))
	eventually(t, 5*time.Second, "the student's join is heard", func() bool { return a.has("joined student") && b.has("joined student") })
	if err := track.Unpublish(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the unpublish is heard", func() bool { return a.has("unpublished teacher CAMERA") })
	student.Close()
	eventually(t, 5*time.Second, "the student's departure is heard", func() bool { return b.has("left student") })
	for _, want := range []string{"joined teacher", "published teacher CAMERA"} {
		if !a.has(want) || !b.has(want) {
			t.Errorf("an observer did not hear %q: %v / %v", want, a.events, b.events)
		}
	}
	if a.has("joined with a done context") {
		t.Error("an observer was called with a done context")
	}
}

// roomsObserver hears rooms open and close.
type roomsObserver struct {
	recordingObserver
}

func (o *roomsObserver) RoomOpened(_ context.Context, r RoomName) { o.add("opened " + string(r)) }
func (o *roomsObserver) RoomClosed(_ context.Context, r RoomName) { o.add("closed " + string(r)) }

// TestRoomObserverAndRecordingFlag: a RoomObserver hears a room open and
// close; the active_recording flag reaches participants in the room and
// those who join later.
func TestRoomObserverAndRecordingFlag(t *testing.T) {
	o := &roomsObserver{}
	svc, url := startService(t, Params{Observers: []Observer{o}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if svc.SetActiveRecording("rec", true) {
		t.Fatal("flag set on a room that is not open")
	}
	teacher := connect(t, ctx, url, grantToken(t, "teacher", teacherGrant("rec")))
	if !o.has("opened rec") {
		t.Fatal("room opening not heard")
	}
	if teacher.Room().GetActiveRecording() {
		t.Fatal("recording before it started")
	}
	if !svc.SetActiveRecording("rec", true) {
		t.Fatal("flag not set")
	}
	eventually(t, 5*time.Second, "the teacher hears the recording start", func() bool { return teacher.Room().GetActiveRecording() })
	student := connect(t, ctx, url, grantToken(t, "student", studentGrant("rec")))
	if !student.Room().GetActiveRecording() {
		t.Fatal("a late joiner does not see the recording")
	}
	svc.SetActiveRecording("rec", false)
	eventually(t, 5*time.Second, "the student hears the recording stop", func() bool { return !student.Room().GetActiveRecording() })
	svc.CloseRoom("rec")
	eventually(t, 5*time.Second, "the room's closing is heard", func() bool { return o.has("closed rec") })
}

// infoObserver hears rooms start and finish with their descriptions, and
// keeps the participants' and tracks' descriptions.
type infoObserver struct {
	recordingObserver
	rooms []*livekit.Room
	parts []ParticipantEvent
}

func (o *infoObserver) RoomStarted(_ context.Context, r *livekit.Room) {
	o.mu.Lock()
	o.rooms = append(o.rooms, r)
	o.mu.Unlock()
	o.add("started " + r.Name)
}

func (o *infoObserver) RoomFinished(_ context.Context, r *livekit.Room) {
	o.mu.Lock()
	o.rooms = append(o.rooms, r)
	o.mu.Unlock()
	o.add("finished " + r.Name)
}

func (o *infoObserver) ParticipantJoined(ctx context.Context, p ParticipantEvent) {
	o.mu.Lock()
	o.parts = append(o.parts, p)
	o.mu.Unlock()
	o.recordingObserver.ParticipantJoined(ctx, p)
}

// TestRoomInfoObserver: a RoomInfoObserver hears a room start and finish
// with its sid and creation time; participants and tracks come with their
// LiveKit descriptions, in the room of that sid.
func TestRoomInfoObserver(t *testing.T) {
	o := &infoObserver{}
	svc, url := startService(t, Params{Observers: []Observer{o}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	teacher := connect(t, ctx, url, grantToken(t, "teacher", teacherGrant("info")))
	if !o.has("started info") {
		t.Fatal("room start not heard")
	}
	track, err := teacher.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8, Name: "camera", Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	seq := uint16(1)
	eventually(t, 10*time.Second, "the track is heard", func() bool {
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
			Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}})
		seq++
		return o.has("published teacher CAMERA")
	})
	svc.CloseRoom("info")
	eventually(t, 5*time.Second, "the room's finish is heard", func() bool { return o.has("finished info") })
	o.mu.Lock()
	defer o.mu.Unlock()
	started, finished := o.rooms[0], o.rooms[1]
	if started.Sid == "" || started.Sid != finished.Sid || started.CreationTime == 0 || started.Name != "info" {
		t.Errorf("rooms: %v, %v", started, finished)
	}
	p := o.parts[0]
	if p.RoomSID != started.Sid || p.Info.GetSid() != teacher.SID() || p.Info.GetIdentity() != "teacher" || p.Info.GetJoinedAt() == 0 {
		t.Errorf("participant %+v", p)
	}
	tr := o.tracks[0]
	if tr.Info.GetSid() != track.SID() || tr.Info.GetType() != livekit.TrackType_VIDEO || tr.Participant.Info.GetSid() != teacher.SID() ||
		tr.Participant.RoomSID != started.Sid {
		t.Errorf("track %+v", tr.Info)
	}
}
