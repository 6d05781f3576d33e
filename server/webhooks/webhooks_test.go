package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/protojson"
	"github.com/livekit/protocol/webhook"

	"yunke/server/jobs"
	"yunke/server/webhooks"
	"yunke/signaling"
	"yunke/storage"
	"yunke/storage/storagetest"
)

const (
	key    = "hookkey"
	secret = "a-webhook-signing-secret-of-32-bytes"
)

// receiver verifies deliveries with LiveKit's receiver and keeps them;
// fail decides, per delivery, to answer 503 (true) instead.
type receiver struct {
	fail func(n int64) bool
	n    atomic.Int64

	mu     sync.Mutex
	events []*livekit.WebhookEvent
	bodies [][]byte
	agents []string
	bad    []string
	got    chan struct{}
}

func newReceiver(fail func(int64) bool) *receiver {
	return &receiver{fail: fail, got: make(chan struct{}, 100)}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.n.Add(1)
	if r.fail != nil && r.fail(n) {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	ev, err := webhook.ReceiveWebhookEvent(req, auth.NewSimpleKeyProvider(key, secret))
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.bad = append(r.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != webhook.ContentType {
		r.bad = append(r.bad, "content type "+ct)
	}
	r.events = append(r.events, ev)
	r.bodies = append(r.bodies, body)
	r.agents = append(r.agents, req.UserAgent())
	r.got <- struct{}{}
}

func (r *receiver) wait(t *testing.T, n int) []*livekit.WebhookEvent {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		if len(r.events) >= n {
			out := append([]*livekit.WebhookEvent(nil), r.events...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("received %d events of %d", len(r.events), n)
		}
	}
}

func forEachBackend(t *testing.T, fn func(t *testing.T, p storage.OpenParams)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, storagetest.SQLiteParams(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, storagetest.PostgresParams(t))
	})
}

// node is one run of a server's webhooks: a store, a queue, the service.
type node struct {
	st  *storage.Store
	q   *jobs.Queue
	svc *webhooks.Service
}

func startNode(t *testing.T, p storage.OpenParams, wp webhooks.Params) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, jobs.Params{Store: st, PollInterval: 20 * time.Millisecond, StopGrace: 200 * time.Millisecond,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	wp.Queue = q
	if wp.APIKey == "" {
		wp.APIKey, wp.APISecret = key, secret
	}
	svc, err := webhooks.New(wp)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Start()
	n := &node{st: st, q: q, svc: svc}
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	if n.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.svc.Close(ctx)
	_ = n.q.Stop(ctx)
	_ = n.st.Close()
	n.st = nil
}

// TestDeliveredAsLiveKit: each kind of event is posted as LiveKit's
// server posts it — LiveKit's receiver verifies the signature and the
// body is byte for byte LiveKit's encoding — with a unique id and its
// creation time; a receiver holding another secret refuses it.
func TestDeliveredAsLiveKit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		recv := newReceiver(nil)
		hs := httptest.NewServer(recv)
		defer hs.Close()
		n := startNode(t, p, webhooks.Params{URLs: []string{hs.URL}})
		ctx := context.Background()
		room := &livekit.Room{Sid: "RM_abc", Name: "s1-math", CreationTime: time.Now().Unix()}
		pe := signaling.ParticipantEvent{Room: "s1-math", RoomSID: "RM_abc", Identity: "u7", Name: "李雷",
			Info: &livekit.ParticipantInfo{Sid: "PA_x", Identity: "u7", Name: "李雷", JoinedAt: time.Now().Unix(),
				State: livekit.ParticipantInfo_JOINED, Attributes: map[string]string{"role": "teacher"}}}
		te := signaling.TrackEvent{Room: "s1-math", Participant: pe, ID: "TR_y", Source: livekit.TrackSource_MICROPHONE,
			Info: &livekit.TrackInfo{Sid: "TR_y", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE, MimeType: "audio/opus"}}
		n.svc.RoomStarted(ctx, room)
		n.svc.ParticipantJoined(ctx, pe)
		n.svc.TrackPublished(ctx, te)
		n.svc.TrackUnpublished(ctx, te)
		n.svc.ParticipantLeft(ctx, pe)
		n.svc.Egress(ctx, webhooks.EgressEnded, &livekit.EgressInfo{EgressId: "EG_REC1", RoomName: "s1-math", RoomId: "RM_abc",
			Status: livekit.EgressStatus_EGRESS_COMPLETE, StartedAt: time.Now().UnixNano()})
		n.svc.RoomFinished(ctx, room)
		evs := recv.wait(t, 7)

		recv.mu.Lock()
		defer recv.mu.Unlock()
		if len(recv.bad) > 0 {
			t.Fatalf("refused: %v", recv.bad)
		}
		kinds := map[string]*livekit.WebhookEvent{}
		ids := map[string]bool{}
		for i, ev := range evs {
			kinds[ev.Event] = ev
			if ids[ev.Id] || !strings.HasPrefix(ev.Id, "EV_") || time.Since(time.Unix(ev.CreatedAt, 0)) > time.Minute {
				t.Errorf("%s: id %q, created_at %d", ev.Event, ev.Id, ev.CreatedAt)
			}
			ids[ev.Id] = true
			if want, _ := protojson.Marshal(ev); !bytes.Equal(recv.bodies[i], want) {
				t.Errorf("%s: body\n%s\nis not LiveKit's encoding\n%s", ev.Event, recv.bodies[i], want)
			}
			if recv.agents[i] != webhooks.UserAgent {
				t.Errorf("user agent %q", recv.agents[i])
			}
		}
		for _, k := range []string{"room_started", "participant_joined", "track_published", "track_unpublished", "participant_left", "egress_ended", "room_finished"} {
			if kinds[k] == nil {
				t.Fatalf("no %s among %d events", k, len(evs))
			}
		}
		if j := kinds["participant_joined"]; j.Participant.GetState() != livekit.ParticipantInfo_ACTIVE || j.Participant.GetSid() != "PA_x" ||
			j.Room.GetSid() != "RM_abc" || j.Participant.GetAttributes()["role"] != "teacher" {
			t.Errorf("joined: %v", j)
		}
		if l := kinds["participant_left"]; l.Participant.GetState() != livekit.ParticipantInfo_DISCONNECTED {
			t.Errorf("left: %v", l)
		}
		if tp := kinds["track_published"]; tp.Track.GetMimeType() != "audio/opus" || tp.Participant.GetIdentity() != "u7" {
			t.Errorf("track: %v", tp)
		}
		if e := kinds["egress_ended"].EgressInfo; e.GetEgressId() != "EG_REC1" || e.GetStatus() != livekit.EgressStatus_EGRESS_COMPLETE {
			t.Errorf("egress: %v", e)
		}

		// Another secret does not verify, nor does a changed body.
		body := recv.bodies[0]
		tok, err := webhooks.Sign(key, secret, body)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]struct {
			secret string
			body   []byte
		}{"another secret": {"another-secret-of-thirty-two-bytes!", body}, "a changed body": {secret, append(bytes.Clone(body[:len(body)-1]), ' ', '}')}} {
			req := httptest.NewRequest("POST", "/", bytes.NewReader(c.body))
			req.Header.Set("Authorization", tok)
			if _, err := webhook.Receive(req, auth.NewSimpleKeyProvider(key, c.secret)); err == nil {
				t.Errorf("%s verified", name)
			}
		}
	})
}

// TestRetriedUntilDelivered: a receiver that answers 503 to the first
// attempts gets the event once it answers 200, with the same id.
func TestRetriedUntilDelivered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		recv := newReceiver(func(n int64) bool { return n <= 3 })
		hs := httptest.NewServer(recv)
		defer hs.Close()
		var logs bytes.Buffer
		var logMu sync.Mutex
		log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		n := startNode(t, p, webhooks.Params{URLs: []string{hs.URL + "/hook?token=query-credential"}, Logger: log})
		n.svc.RoomStarted(context.Background(), &livekit.Room{Sid: "RM_r", Name: "retry"})
		evs := recv.wait(t, 1)
		if evs[0].Room.GetName() != "retry" || recv.n.Load() != 4 {
			t.Errorf("after %d attempts: %v", recv.n.Load(), evs[0])
		}
		// The job is marked completed a moment after the answer.
		var list []jobs.Info
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); <-time.After(20 * time.Millisecond) {
			if list, err = n.q.List(context.Background(), jobs.Filter{Kind: "webhook.deliver"}); err != nil || len(list) != 1 || list[0].State == "completed" {
				break
			}
		}
		if err != nil || len(list) != 1 || list[0].State != "completed" || list[0].Attempt != 4 ||
			strings.Contains(string(list[0].Args), "query-credential") || strings.Contains(fmt.Sprint(list[0].Errors), "query-credential") {
			t.Errorf("jobs %+v: %v", list, err)
		}
		n.stop()
		logMu.Lock()
		defer logMu.Unlock()
		if strings.Contains(logs.String(), "query-credential") || !strings.Contains(logs.String(), "webhook refused") {
			t.Errorf("log:\n%s", logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestQueuedAcrossRestart: events recorded while the receiver refuses
// them are delivered by the next run on the same database; a URL removed
// from the configuration meanwhile gets nothing more.
func TestQueuedAcrossRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		var up atomic.Bool
		recv := newReceiver(func(int64) bool { return !up.Load() })
		hs := httptest.NewServer(recv)
		defer hs.Close()
		var goneUp atomic.Bool
		gone := newReceiver(func(int64) bool { return !goneUp.Load() })
		hsGone := httptest.NewServer(gone)
		defer hsGone.Close()
		ctx := context.Background()

		first := startNode(t, p, webhooks.Params{URLs: []string{hs.URL, hsGone.URL + "/x"}})
		first.svc.RoomStarted(ctx, &livekit.Room{Sid: "RM_1", Name: "before-restart"})
		first.svc.RoomFinished(ctx, &livekit.Room{Sid: "RM_1", Name: "before-restart"})
		deadline := time.Now().Add(10 * time.Second)
		for (recv.n.Load() < 2 || gone.n.Load() < 2) && time.Now().Before(deadline) {
			<-time.After(10 * time.Millisecond)
		}
		if recv.n.Load() < 2 || gone.n.Load() < 2 {
			t.Fatal("no delivery was tried before the restart")
		}
		first.stop()

		up.Store(true)
		goneUp.Store(true)
		startNode(t, p, webhooks.Params{URLs: []string{hs.URL}})
		evs := recv.wait(t, 2)
		if evs[0].Room.GetName() != "before-restart" || evs[1].Room.GetName() != "before-restart" || evs[0].Id == evs[1].Id {
			t.Errorf("after the restart: %v", evs)
		}
		gone.mu.Lock()
		defer gone.mu.Unlock()
		if len(gone.events) != 0 {
			t.Errorf("a URL no longer configured received %d events after the restart", len(gone.events))
		}
	})
}

// TestObserversDoNotWait: recording an event only appends it in memory;
// beyond the buffer events are dropped, and the next one delivered says
// how many in num_dropped.
func TestObserversDoNotWait(t *testing.T) {
	recv := newReceiver(nil)
	hs := httptest.NewServer(recv)
	defer hs.Close()
	p := storagetest.SQLiteParams(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := jobs.New(ctx, jobs.Params{Store: st, PollInterval: 20 * time.Millisecond, StopGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := webhooks.New(webhooks.Params{Queue: q, URLs: []string{hs.URL}, APIKey: key, APISecret: secret, Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Not started: nothing moves the events into the queue yet.
	start := time.Now()
	for i := range 5 {
		svc.RoomStarted(ctx, &livekit.Room{Name: "r" + string(rune('0'+i))})
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("recording 5 events took %v", d)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Stop(context.Background()) }()
	svc.Start()
	defer svc.Close(ctx)
	recv.wait(t, 2)
	svc.RoomFinished(ctx, &livekit.Room{Name: "r9"})
	evs := recv.wait(t, 3)
	var last *livekit.WebhookEvent
	for _, ev := range evs {
		if ev.Room.GetName() == "r9" {
			last = ev
		}
	}
	if last == nil || last.NumDropped != 3 {
		t.Errorf("events %v", evs)
	}
}
