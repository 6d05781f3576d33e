package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"yunke/signaling/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// handler records what the hub tells it.
type handler struct {
	mu           sync.Mutex
	received     []string
	disconnected chan events.UserID
}

func newHandler() *handler { return &handler{disconnected: make(chan events.UserID, 8)} }

func (h *handler) Connected(_ context.Context, u events.UserID) []events.Event {
	return []events.Event{{Type: "state", Data: map[string]any{"user": u}}}
}

type codedErr struct{}

func (codedErr) Error() string { return "not allowed" }
func (codedErr) Code() string  { return "forbidden" }

func (h *handler) Received(_ context.Context, _ events.UserID, m events.Message) error {
	h.mu.Lock()
	h.received = append(h.received, m.Type)
	h.mu.Unlock()
	if m.Type == "forbidden" {
		return codedErr{}
	}
	return nil
}

func (h *handler) Disconnected(u events.UserID) { h.disconnected <- u }

// serve starts a hub behind an HTTP server on :0; the user id comes from
// the query (authentication is the caller's job).
func serve(t *testing.T, p events.HubParams, h events.Handler) (*events.Hub, string) {
	t.Helper()
	hub := events.NewHub(p)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u int64
		_ = json.Unmarshal([]byte(r.URL.Query().Get("u")), &u)
		if err := hub.Serve(w, r, events.UserID(u), h); errors.Is(err, events.ErrTooManySockets) {
			http.Error(w, "too_many_sockets", http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return hub, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string, user string, hdr http.Header) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url+"/?u="+user, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func read(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m map[string]any
	if err := ws.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHubDeliversStateThenEvents(t *testing.T) {
	h := newHandler()
	hub, url := serve(t, events.HubParams{}, h)
	a1, a2, b := dial(t, url, "1", nil), dial(t, url, "1", nil), dial(t, url, "2", nil)
	for _, ws := range []*websocket.Conn{a1, a2, b} {
		if m := read(t, ws); m["type"] != "state" {
			t.Fatalf("first event %v; want state", m)
		}
	}
	hub.Deliver(1, events.Event{Type: "offer", Data: map[string]int{"request_id": 7}})
	for _, ws := range []*websocket.Conn{a1, a2} { // every tab of user 1
		if m := read(t, ws); m["type"] != "offer" || m["request_id"] != float64(7) {
			t.Fatalf("got %v", m)
		}
	}
	// user 2 got nothing: the next thing it reads is its own heartbeat ack.
	if err := b.WriteMessage(websocket.TextMessage, []byte(`{"type":"heartbeat"}`)); err != nil {
		t.Fatal(err)
	}
	if m := read(t, b); m["type"] != "heartbeat_ack" {
		t.Fatalf("user 2 got %v", m)
	}
	if !hub.Online(1) || hub.Online(3) {
		t.Fatal("Online is wrong")
	}
	_ = a1.Close()
	_ = a2.Close()
	if u := <-h.disconnected; u != 1 {
		t.Fatalf("disconnected %d", u)
	}
}

// TestHubCapsSocketsPerUser: sockets opened all at once past MaxPerUser
// are refused with 429 before the upgrade; other users are not affected,
// and a closed socket frees its place.
func TestHubCapsSocketsPerUser(t *testing.T) {
	const max = 3
	_, url := serve(t, events.HubParams{MaxPerUser: max}, newHandler())
	var (
		mu      sync.Mutex
		open    []*websocket.Conn
		refused int
		wg      sync.WaitGroup
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, resp, err := websocket.DefaultDialer.Dial(url+"/?u=1", nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				open = append(open, ws)
			case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
				refused++
			default:
				t.Errorf("dial: %v", err)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, ws := range open {
			_ = ws.Close()
		}
	})
	if len(open) != max || refused != 10-max {
		t.Fatalf("%d sockets open, %d refused; want %d and %d", len(open), refused, max, 10-max)
	}
	read(t, dial(t, url, "2", nil)) // another user still gets in

	_ = open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ws, resp, err := websocket.DefaultDialer.Dial(url+"/?u=1", nil)
		if err == nil {
			t.Cleanup(func() { _ = ws.Close() })
			break
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after closing a socket: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHubRejectsBadFramesAndKeepsSocket(t *testing.T) {
	h := newHandler()
	_, url := serve(t, events.HubParams{}, h)
	ws := dial(t, url, "1", nil)
	read(t, ws)
	for _, frame := range []string{`not json`, `{"no":"type"}`, `[1,2]`, `{"type":""}`} {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(frame))
		if m := read(t, ws); m["type"] != "error" || m["code"] != "bad_frame" {
			t.Fatalf("frame %q: got %v", frame, m)
		}
	}
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2})
	if m := read(t, ws); m["code"] != "bad_frame" {
		t.Fatalf("binary frame: %v", m)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"forbidden"}`))
	if m := read(t, ws); m["code"] != "forbidden" || m["message"] != "not allowed" {
		t.Fatalf("handler error: %v", m)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"heartbeat"}`))
	read(t, ws) // the ack proves both were handled in order
	h.mu.Lock()
	got := strings.Join(h.received, ",")
	h.mu.Unlock()
	if got != "forbidden,ping,heartbeat" {
		t.Fatalf("handler saw %s", got)
	}
}

func TestHubOversizedFrameCloses(t *testing.T) {
	_, url := serve(t, events.HubParams{MaxFrame: 128}, newHandler())
	ws := dial(t, url, "1", nil)
	read(t, ws)
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"x","pad":"`+strings.Repeat("a", 500)+`"}`))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("oversized frame: %v; want close 1009", err)
	}
}

func TestHubRefusesCrossOrigin(t *testing.T) {
	_, url := serve(t, events.HubParams{}, newHandler())
	_, resp, err := websocket.DefaultDialer.Dial(url+"/?u=1", http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin socket: %v %v", err, resp)
	}
	host := strings.TrimPrefix(url, "ws://")
	dial(t, url, "1", http.Header{"Origin": {"http://" + host}})
}

// TestHubSlowSocketIsClosed: a client that stops reading is cut off
// instead of making Deliver block.
func TestHubSlowSocketIsClosed(t *testing.T) {
	hub, url := serve(t, events.HubParams{QueueLen: 4}, newHandler())
	ws := dial(t, url, "1", nil)
	read(t, ws)
	big, _ := json.Marshal(events.Event{Type: "spam", Data: map[string]string{"pad": strings.Repeat("x", 256<<10)}})
	deadline := time.Now().Add(20 * time.Second)
	for hub.Online(1) { // the socket buffers fill, then the queue, then it is cut off
		if time.Now().After(deadline) {
			t.Fatal("a socket that never reads was not closed")
		}
		hub.DeliverRaw(1, big)
	}
}

func TestEventMarshal(t *testing.T) {
	for _, c := range []struct {
		ev   events.Event
		want string
	}{
		{events.Event{Type: "a"}, `{"type":"a"}`},
		{events.Event{Type: "a", Data: struct{}{}}, `{"type":"a"}`},
		{events.Event{Type: "a", Data: map[string]int{"n": 1}}, `{"type":"a","n":1}`},
	} {
		b, err := json.Marshal(c.ev)
		if err != nil || string(b) != c.want {
			t.Errorf("%+v → %s %v; want %s", c.ev, b, err, c.want)
		}
	}
	if _, err := json.Marshal(events.Event{Type: "a", Data: []int{1}}); err == nil {
		t.Error("non-object data accepted")
	}
}

func TestMessageDecodeRejectsUnknownFields(t *testing.T) {
	m, err := events.ParseMessage([]byte(`{"type":"accept","request_id":5}`))
	if err != nil {
		t.Fatal(err)
	}
	var ok struct {
		RequestID int `json:"request_id"`
	}
	if err := m.Decode(&ok); err != nil || ok.RequestID != 5 {
		t.Fatalf("decode: %v %+v", err, ok)
	}
	var other struct {
		X int `json:"x"`
	}
	if err := m.Decode(&other); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{`{"type":"heartbeat"}`, `{"type":"accept","request_id":1}`, `{}`, `[]`, `"x"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := events.ParseMessage(b)
		if err != nil {
			return
		}
		if m.Type == "" {
			t.Fatal("accepted a message without a type")
		}
		var v map[string]any
		_ = m.Decode(&v)
	})
}

// TestRedisBusAcrossNodes: an event published on node A reaches the socket
// held by node B.
func TestRedisBusAcrossNodes(t *testing.T) {
	addr := os.Getenv("TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis not reachable at %s (%v): start it or set TEST_REDIS_ADDR; `make deps` installs and starts it", addr, err)
	}
	channel := "yunke-test:" + t.Name() + time.Now().Format("150405.000000000")
	hubA, _ := serve(t, events.HubParams{}, newHandler())
	hubB, urlB := serve(t, events.HubParams{}, newHandler())
	busA, err := events.NewRedisBus(ctx, events.RedisBusParams{Client: rdb, Channel: channel, Hub: hubA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(busA.Close)
	busB, err := events.NewRedisBus(ctx, events.RedisBusParams{Client: rdb, Channel: channel, Hub: hubB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(busB.Close)
	ws := dial(t, urlB, "42", nil)
	read(t, ws)
	if err := busA.Publish(ctx, 42, events.Event{Type: "offer", Data: map[string]int{"request_id": 9}}); err != nil {
		t.Fatal(err)
	}
	if m := read(t, ws); m["type"] != "offer" || m["request_id"] != float64(9) {
		t.Fatalf("node B's socket got %v", m)
	}
}
