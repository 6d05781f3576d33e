package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"

	"yunke/server"
	"yunke/server/config"
	"yunke/server/recording/recordingtest"
	"yunke/server/token"
	"yunke/signaling/client"
)

// hookReceiver is a webhook endpoint that verifies every delivery with
// LiveKit's own receiver (webhook.ReceiveWebhookEvent) and keeps the
// events by id. While down it answers 503 without reading.
type hookReceiver struct {
	t    *testing.T
	down atomic.Bool
	// refused counts the deliveries answered 503.
	refused atomic.Int64

	mu      sync.Mutex
	events  map[string]*livekit.WebhookEvent
	order   []string
	repeats int
	bad     []string
	changed chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	return &hookReceiver{t: t, events: map[string]*livekit.WebhookEvent{}, changed: make(chan struct{}, 1)}
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.down.Load() {
		h.refused.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	ct := r.Header.Get("Content-Type")
	ev, err := webhook.ReceiveWebhookEvent(r, auth.NewSimpleKeyProvider(apiKey, apiSecret))
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err != nil:
		h.bad = append(h.bad, "not verified: "+err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	case ct != webhook.ContentType || r.Method != http.MethodPost:
		h.bad = append(h.bad, fmt.Sprintf("%s with content type %q", r.Method, ct))
	}
	if h.events[ev.Id] != nil {
		h.repeats++ // a retry after a lost answer: allowed, and dropped by id
	} else {
		h.events[ev.Id] = ev
		h.order = append(h.order, ev.Id)
	}
	w.WriteHeader(http.StatusOK)
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// byKind is the events received of each kind.
func (h *hookReceiver) byKind() map[string][]*livekit.WebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]*livekit.WebhookEvent{}
	for _, id := range h.order {
		ev := h.events[id]
		out[ev.Event] = append(out[ev.Event], ev)
	}
	return out
}

// wait waits until want holds of the events received.
func (h *hookReceiver) wait(d time.Duration, what string, want func(map[string][]*livekit.WebhookEvent) bool) map[string][]*livekit.WebhookEvent {
	h.t.Helper()
	deadline := time.After(d)
	for {
		got := h.byKind()
		if want(got) {
			return got
		}
		select {
		case <-h.changed:
		case <-deadline:
			h.t.Fatalf("%s: received %s", what, summary(got))
			return nil
		}
	}
}

func summary(evs map[string][]*livekit.WebhookEvent) string {
	s := ""
	for k, v := range evs {
		s += fmt.Sprintf("%s×%d ", k, len(v))
	}
	return s
}

// withWebhooks sends webhooks to urls and retries deliveries quickly.
func withWebhooks(urls ...string) serverOption {
	return func(c *config.Config, p *server.Params) {
		c.Webhook.URLs = urls
		p.JobPoll = 50 * time.Millisecond
		p.JobBackoff = func(int) time.Duration { return 300 * time.Millisecond }
	}
}

// TestWebhooks: a class with a teacher publishing and a student sends
// every LiveKit event — room, participants, tracks, and the recording as
// egress — each verified by LiveKit's webhook receiver, while the receiver
// answers 503 for a while: the deliveries are retried until it is back.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	recv := newHookReceiver(t)
	hs := httptest.NewServer(recv)
	defer hs.Close()
	recv.down.Store(true)
	srv := startServer(t, withWebhooks(hs.URL+"/livekit?token=hook-secret"), withEmptyTimeout(0))
	fx := newFixture(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var grant struct{ Token string }
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "webhooks"}, &grant)
	teacher := join(t, ctx, srv, grant.Token, client.Options{})
	pub, err := recordingtest.Publish(ctx, teacher)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	room := "s" + itoa(fx.schoolA) + "-webhooks"
	if !pollUntil(10*time.Second, func() bool { return teacher.Room().GetActiveRecording() }) {
		t.Fatal("the room is not recorded")
	}
	var sg struct{ Token string }
	fx.users["student"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "webhooks"}, &sg)
	student := join(t, ctx, srv, sg.Token, client.Options{})
	if !pollUntil(10*time.Second, func() bool { return recv.refused.Load() >= 8 }) {
		t.Fatalf("only %d deliveries were tried while the receiver was down", recv.refused.Load())
	}
	// Up again: what was refused arrives.
	recv.down.Store(false)
	recv.wait(20*time.Second, "while the class runs", func(m map[string][]*livekit.WebhookEvent) bool {
		return len(m["room_started"]) == 1 && len(m["participant_joined"]) == 2 && len(m["track_published"]) == 2 &&
			len(m["egress_started"]) == 1
	})
	// A second of media in both tracks, so that each is a file.
	var list struct{ Items []recView }
	fx.users["teacher"].must(200, "GET", "/api/v1/recordings", nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("recordings: %+v", list)
	}
	var rec recView
	if !pollUntil(20*time.Second, func() bool {
		fx.users["teacher"].must(200, "GET", "/api/v1/recordings/"+itoa(list.Items[0].ID), nil, &rec)
		return rec.DurationMS >= 1500 && len(rec.Tracks) == 2
	}) {
		t.Fatalf("recording in progress: %+v", rec)
	}
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/"+room+"/recording", map[string]string{"action": "stop"}, nil)
	if err := pub.Stop(); err != nil {
		t.Fatal(err)
	}
	recv.down.Store(true) // down again for the end of the class
	student.Close()
	teacher.Close()
	refusedBefore := recv.refused.Load()
	if !pollUntil(10*time.Second, func() bool { return recv.refused.Load() >= refusedBefore+4 }) {
		t.Fatal("the end of the class was not tried while the receiver was down")
	}
	recv.down.Store(false)
	got := recv.wait(30*time.Second, "after the class", func(m map[string][]*livekit.WebhookEvent) bool {
		return len(m["participant_left"]) == 2 && len(m["track_unpublished"]) == 2 && len(m["room_finished"]) == 1 &&
			len(m["egress_updated"]) == 1 && len(m["egress_ended"]) == 1
	})

	sid := got["room_started"][0].Room.GetSid()
	if sid == "" || got["room_started"][0].Room.GetName() != room || got["room_finished"][0].Room.GetSid() != sid {
		t.Errorf("rooms: started %v, finished %v", got["room_started"][0].Room, got["room_finished"][0].Room)
	}
	ids := map[string]bool{}
	now := time.Now().Unix()
	for kind, evs := range got {
		for _, ev := range evs {
			if ids[ev.Id] || len(ev.Id) < 10 || ev.CreatedAt < now-120 || ev.CreatedAt > now+5 {
				t.Errorf("%s: id %q (seen: %v), created_at %d", kind, ev.Id, ids[ev.Id], ev.CreatedAt)
			}
			ids[ev.Id] = true
			if ev.EgressInfo == nil && (ev.Room.GetName() != room || ev.Room.GetSid() != sid) {
				t.Errorf("%s in room %v", kind, ev.Room)
			}
		}
	}
	identities := func(kind string) []string {
		var out []string
		for _, ev := range got[kind] {
			out = append(out, ev.Participant.GetIdentity())
			want := livekit.ParticipantInfo_ACTIVE
			if kind == "participant_left" {
				want = livekit.ParticipantInfo_DISCONNECTED
			}
			if ev.Participant.GetSid() == "" || ev.Participant.GetState() != want || ev.Participant.GetJoinedAt() == 0 {
				t.Errorf("%s: participant %v", kind, ev.Participant)
			}
		}
		slices.Sort(out)
		return out
	}
	people := []string{"u" + itoa(fx.userIDs["student"]), "u" + itoa(fx.userIDs["teacher"])}
	slices.Sort(people)
	for _, kind := range []string{"participant_joined", "participant_left"} {
		if ids := identities(kind); !slices.Equal(ids, people) {
			t.Errorf("%s: %v, want %v", kind, ids, people)
		}
	}
	for _, kind := range []string{"track_published", "track_unpublished"} {
		var sources []string
		for _, ev := range got[kind] {
			if ev.Participant.GetIdentity() != people[1] && ev.Participant.GetIdentity() != people[0] || ev.Track.GetSid() == "" {
				t.Errorf("%s: %v %v", kind, ev.Participant, ev.Track)
			}
			sources = append(sources, ev.Track.GetSource().String()+"/"+ev.Track.GetType().String())
		}
		slices.Sort(sources)
		if !slices.Equal(sources, []string{"CAMERA/VIDEO", "MICROPHONE/AUDIO"}) {
			t.Errorf("%s: %v", kind, sources)
		}
	}
	started, updated, ended := got["egress_started"][0].EgressInfo, got["egress_updated"][0].EgressInfo, got["egress_ended"][0].EgressInfo
	for _, e := range []*livekit.EgressInfo{started, updated, ended} {
		if e.GetEgressId() != started.GetEgressId() || e.GetRoomName() != room || e.GetRoomId() != sid || e.GetStartedAt() == 0 {
			t.Errorf("egress %v", e)
		}
	}
	if started.GetEgressId() != "EG_REC"+itoa(list.Items[0].ID) {
		t.Errorf("egress id %q of recording %d", started.GetEgressId(), list.Items[0].ID)
	}
	if started.Status != livekit.EgressStatus_EGRESS_ACTIVE || updated.Status != livekit.EgressStatus_EGRESS_ENDING ||
		ended.Status != livekit.EgressStatus_EGRESS_COMPLETE || ended.EndedAt <= ended.StartedAt || len(ended.FileResults) != 2 {
		t.Errorf("egress statuses: %v, %v, %v", started.Status, updated.Status, ended)
	}
	for _, f := range ended.FileResults {
		if f.Size == 0 || f.Location == "" || f.Filename == "" {
			t.Errorf("file %v", f)
		}
	}
	recv.mu.Lock()
	if len(recv.bad) > 0 {
		t.Errorf("refused deliveries: %v", recv.bad)
	}
	recv.mu.Unlock()
	if logs := srv.logs.tail(1 << 20); strings.Contains(logs, "hook-secret") {
		t.Error("the webhook URL's query was logged")
	}
}

// TestWebhooksSurviveRestart: events queued while the receiver is
// unreachable (nothing listening) are delivered by the next run of the
// server, once the receiver is up.
func TestWebhooksSurviveRestart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there until the second run
	db := filepath.Join(t.TempDir(), "yunke.db")
	sameDB := withConfig(func(c *config.Config) { c.Database.Path = db })
	srv := startServer(t, withWebhooks("http://"+addr+"/hooks"), withEmptyTimeout(0), sameDB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := join(t, ctx, srv, mint(t, "restart", "alice", token.RoleTeacher), client.Options{})
	c.Close()
	// The deliveries have been tried (and failed) before the server stops.
	if !pollUntil(10*time.Second, func() bool { return strings.Contains(srv.logs.tail(1<<20), "webhook not delivered") }) {
		t.Fatal("no delivery was tried")
	}
	srv.stop()

	recv := newHookReceiver(t)
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the receiver's port was taken meanwhile: %v", err)
	}
	hs := httptest.NewUnstartedServer(recv)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	defer hs.Close()
	startServer(t, withWebhooks("http://"+addr+"/hooks"), sameDB)
	got := recv.wait(20*time.Second, "after the restart", func(m map[string][]*livekit.WebhookEvent) bool {
		return len(m["room_started"]) == 1 && len(m["participant_joined"]) == 1 && len(m["participant_left"]) == 1 &&
			len(m["room_finished"]) == 1
	})
	if p := got["participant_joined"][0].Participant; p.GetIdentity() != "alice" || got["room_finished"][0].Room.GetName() != "restart" {
		t.Errorf("after the restart: %v, %v", p, got["room_finished"][0].Room)
	}
}
