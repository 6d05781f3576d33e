package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Handler is what a Hub asks about each socket.
type Handler interface {
	// Connected returns the events that bring a new socket up to date
	// (sent before anything else).
	Connected(ctx context.Context, user UserID) []Event
	// Received handles one client message; an error is sent back to that
	// socket as an "error" event and the socket stays open.
	Received(ctx context.Context, user UserID, m Message) error
	// Disconnected is told when a user's last socket on this node closes.
	Disconnected(user UserID)
}

// HubParams configure a Hub. Zero fields take the defaults, but for
// MaxPerUser.
type HubParams struct {
	Logger *slog.Logger
	// ReadTimeout closes a socket from which nothing (not even a heartbeat)
	// arrived for this long (default 15 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds one write (default 10 s).
	WriteTimeout time.Duration
	// QueueLen is each socket's send queue; a socket that falls this far
	// behind is closed, and its client reconnects and resyncs (default 64).
	QueueLen int
	// MaxFrame bounds one client frame in bytes (default 64 KiB).
	MaxFrame int64
	// MaxPerUser caps the sockets one user holds open on this node (one
	// per tab); 0 is no limit.
	MaxPerUser int
}

// ErrTooManySockets is Serve's answer, before any upgrade, to a user who
// already holds MaxPerUser sockets.
var ErrTooManySockets = errors.New("events: too many sockets open for this user")

// Hub holds this node's event sockets, by user.
type Hub struct {
	p   HubParams
	log *slog.Logger
	up  websocket.Upgrader

	mu     sync.Mutex
	conns  map[UserID]map[*conn]struct{}
	open   map[UserID]int // sockets being opened or open, for MaxPerUser
	closed bool
	wg     sync.WaitGroup
}

type conn struct {
	ws   *websocket.Conn
	send chan []byte
	done chan struct{}
	once sync.Once
}

func (c *conn) close() { c.once.Do(func() { close(c.done) }) }

// NewHub returns an empty Hub.
func NewHub(p HubParams) *Hub {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.ReadTimeout <= 0 {
		p.ReadTimeout = 15 * time.Second
	}
	if p.WriteTimeout <= 0 {
		p.WriteTimeout = 10 * time.Second
	}
	if p.QueueLen <= 0 {
		p.QueueLen = 64
	}
	if p.MaxFrame <= 0 {
		p.MaxFrame = 64 << 10
	}
	h := &Hub{p: p, log: p.Logger, conns: map[UserID]map[*conn]struct{}{}, open: map[UserID]int{}}
	h.up = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: sameOrigin}
	return h
}

// sameOrigin refuses cross-site sockets: the socket is authenticated by the
// session cookie, so another site's page must not open one.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// Deliver queues an event for every socket of user on this node. It never
// blocks: a socket whose queue is full is closed.
func (h *Hub) Deliver(user UserID, ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		h.log.Error("encode event", "type", ev.Type, "err", err)
		return
	}
	h.DeliverRaw(user, b)
}

// DeliverRaw is Deliver for an event already encoded.
func (h *Hub) DeliverRaw(user UserID, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns[user] {
		select {
		case c.send <- b:
		default:
			h.log.Warn("event socket too slow, closing", "user", int64(user))
			c.close()
		}
	}
}

// Online reports whether user has a socket on this node.
func (h *Hub) Online(user UserID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns[user]) > 0
}

// Serve upgrades the request to an event socket for user (already
// authenticated by the caller) and runs it until it closes. A user who
// already holds MaxPerUser sockets gets ErrTooManySockets and no answer:
// the caller answers.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, user UserID, handler Handler) error {
	// The place is taken before the upgrade, so that sockets opened at
	// once cannot all slip under the limit.
	h.mu.Lock()
	if h.p.MaxPerUser > 0 && h.open[user] >= h.p.MaxPerUser {
		h.mu.Unlock()
		h.log.Info("event socket refused: too many open", "user", int64(user), "limit", h.p.MaxPerUser)
		return ErrTooManySockets
	}
	h.open[user]++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if h.open[user]--; h.open[user] <= 0 {
			delete(h.open, user)
		}
		h.mu.Unlock()
	}()
	ws, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	c := &conn{ws: ws, send: make(chan []byte, h.p.QueueLen), done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = ws.Close()
		return nil
	}
	if h.conns[user] == nil {
		h.conns[user] = map[*conn]struct{}{}
	}
	h.conns[user][c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The state first, then whatever arrived meanwhile: both go through the
	// one queue, so they reach the client in order.
	for _, ev := range handler.Connected(ctx, user) {
		if b, err := json.Marshal(ev); err == nil {
			select {
			case c.send <- b:
			default:
			}
		}
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(c)
	}()
	h.readLoop(ctx, c, user, handler)
	c.close()
	<-writerDone
	_ = ws.Close()

	h.mu.Lock()
	delete(h.conns[user], c)
	last := len(h.conns[user]) == 0
	if last {
		delete(h.conns, user)
	}
	h.mu.Unlock()
	if last {
		handler.Disconnected(user)
	}
	return nil
}

func (h *Hub) writeLoop(c *conn) {
	for {
		select {
		case b := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(h.p.WriteTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				_ = c.ws.Close() // unblocks the reader
				return
			}
		case <-c.done:
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = c.ws.Close()
			return
		}
	}
}

type errorEvent struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CodedError lets a Handler choose the code of the "error" event.
type CodedError interface {
	error
	Code() string
}

func (h *Hub) readLoop(ctx context.Context, c *conn, user UserID, handler Handler) {
	c.ws.SetReadLimit(h.p.MaxFrame)
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(h.p.ReadTimeout))
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
		if typ != websocket.TextMessage {
			h.reply(c, Event{Type: "error", Data: errorEvent{Code: "bad_frame", Message: "frames are JSON text"}})
			continue
		}
		m, err := ParseMessage(b)
		if err != nil {
			h.reply(c, Event{Type: "error", Data: errorEvent{Code: "bad_frame", Message: err.Error()}})
			continue
		}
		if m.Type == "heartbeat" {
			h.reply(c, Event{Type: "heartbeat_ack"})
		}
		if err := handler.Received(ctx, user, m); err != nil {
			code := "error"
			var ce CodedError
			if errors.As(err, &ce) {
				code = ce.Code()
			}
			h.reply(c, Event{Type: "error", Data: errorEvent{Code: code, Message: err.Error()}})
		}
	}
}

func (h *Hub) reply(c *conn, ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	select {
	case c.send <- b:
	default:
		c.close()
	}
}

// Close closes every socket and waits for them to finish.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for _, cs := range h.conns {
		for c := range cs {
			c.close()
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
}
