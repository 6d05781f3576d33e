// Package client is a client of the LiveKit client signaling protocol
// (protocol 17, /rtc with two PeerConnections) on Pion, for tests and load
// generation.
//
// A Client joins a room over one WebSocket that carries binary protobuf
// frames (livekit.SignalRequest up, livekit.SignalResponse down). The server
// sends media and its data channels on the subscriber PeerConnection, which it
// offers and the client answers; the client sends media and data on the
// publisher PeerConnection, which the client offers and the server answers.
//
//	c, err := client.Connect(ctx, client.Options{URL: url, Token: tok, AutoSubscribe: true})
//	defer c.Close()
//	t, err := c.PublishTrack(ctx, client.TrackOptions{MimeType: webrtc.MimeTypeVP8})
//	rt, err := c.WaitTrack(ctx, nil)
//
// Every method is safe for concurrent use. Close is synchronous: when it
// returns, every goroutine the client started has exited.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// ProtocolVersion is the signaling protocol version the client announces.
const ProtocolVersion = 17

// Version is the SDK version the client announces in the join URL.
const Version = "0.1.0"

var (
	// ErrClosed is the session error after Close.
	ErrClosed = errors.New("client: closed")
	// ErrQueueFull is returned when the outgoing signal queue is full.
	ErrQueueFull = errors.New("client: signal queue full")
	// ErrLeft wraps the session error when the server sent a leave.
	ErrLeft = errors.New("client: server sent leave")
	// ErrPingTimeout is the session error when the server stayed silent for
	// longer than the ping timeout from the join response.
	ErrPingTimeout = errors.New("client: ping timeout")
)

// HandshakeError is returned by Connect when the server refuses the
// WebSocket upgrade, with the HTTP status and the start of the body.
type HandshakeError struct {
	StatusCode int
	Body       string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("client: websocket upgrade refused: HTTP %d: %s", e.StatusCode, e.Body)
}

// Options configure Connect. URL and Token are required.
type Options struct {
	// URL is the server's base URL: http(s)://host[:port][/prefix] or ws(s)://…
	URL string
	// Token is the access token (a LiveKit JWT).
	Token string
	// AutoSubscribe asks the server to subscribe to every published track.
	AutoSubscribe bool
	// TokenInHeader sends the token as "Authorization: Bearer" (like the
	// native SDKs) instead of the access_token query parameter.
	TokenInHeader bool
	// Logger defaults to discarding.
	Logger *slog.Logger
	// SettingEngine, if set, adjusts Pion's transport settings (network
	// types, loopback candidates, a shared UDP mux, port ranges...).
	SettingEngine func(*webrtc.SettingEngine)
	// Interceptors, if set, registers the interceptors instead of Pion's
	// defaults (NACK, RTCP reports, stats, TWCC).
	Interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error
	// OnTrack is called, on its own goroutine, for each track the server
	// sends. It must return once the track's reads fail: Close closes the
	// PeerConnections and then waits for it. Tracks are also available
	// through WaitTrack and RemoteTracks.
	OnTrack func(*RemoteTrack)
	// OnSignal is called on the read goroutine for every server message,
	// after the client has handled it. It must not block.
	OnSignal func(*livekit.SignalResponse)
	// DataBuffer is the capacity of the Data channel (default 256).
	DataBuffer int
	// WriteTimeout bounds each WebSocket write (default 5 s).
	WriteTimeout time.Duration
}

type outFrame struct {
	typ     int
	data    []byte
	written chan struct{} // closed after the write, if not nil
}

// Client is one participant's signaling session and its two PeerConnections.
type Client struct {
	opts Options
	log  *slog.Logger
	ws   *websocket.Conn
	join *livekit.JoinResponse
	pub  *peer
	sub  *peer

	out       chan outFrame
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	lastRecv  atomic.Int64 // unix nanoseconds of the last server frame

	reliable, lossy *webrtc.DataChannel
	reliableOpen    chan struct{}
	lossyOpen       chan struct{}
	data            chan *livekit.DataPacket
	dataDropped     atomic.Uint64
	dataSeq         atomic.Uint32

	pubMu         sync.Mutex // serialises publisher negotiations
	pubNegotiated bool       // guarded by pubMu

	mu             sync.Mutex
	room           *livekit.Room // the latest room update, after the join's
	err            error
	leave          *livekit.LeaveRequest
	self           *livekit.ParticipantInfo
	participants   map[string]*livekit.ParticipantInfo // by sid, without self
	identities     map[string]string                   // sid → identity, never pruned
	changed        chan struct{}                       // closed and replaced when participants or tracks change
	tracks         []*RemoteTrack
	pendingPublish map[string]chan *livekit.TrackInfo // by cid
	pubOfferID     uint32
	answerWaiter   chan error
	pingWaiters    map[int64]chan struct{}
	lastPing       int64
	rtt            time.Duration
}

// Connect dials the server, waits for the JoinResponse and sets up both
// PeerConnections. ctx bounds the connection attempt only.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DataBuffer <= 0 {
		opts.DataBuffer = 256
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 5 * time.Second
	}
	u, err := RTCURL(opts.URL, opts.Token, opts.AutoSubscribe, !opts.TokenInHeader)
	if err != nil {
		return nil, err
	}
	hdr := http.Header{}
	if opts.TokenInHeader {
		hdr.Set("Authorization", "Bearer "+opts.Token)
	}
	dialer := websocket.Dialer{Proxy: nil, HandshakeTimeout: 15 * time.Second}
	ws, resp, err := dialer.DialContext(ctx, u, hdr)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(body))}
		}
		return nil, fmt.Errorf("client: dial %s: %w", redactToken(u), err)
	}
	ws.SetReadLimit(16 << 20)

	join, err := readJoin(ctx, ws)
	if err != nil {
		ws.Close()
		return nil, err
	}

	c := &Client{
		opts:           opts,
		log:            opts.Logger.With("participant", join.GetParticipant().GetIdentity()),
		ws:             ws,
		join:           join,
		out:            make(chan outFrame, 512),
		done:           make(chan struct{}),
		reliableOpen:   make(chan struct{}),
		lossyOpen:      make(chan struct{}),
		data:           make(chan *livekit.DataPacket, opts.DataBuffer),
		self:           join.GetParticipant(),
		participants:   map[string]*livekit.ParticipantInfo{},
		identities:     map[string]string{},
		changed:        make(chan struct{}),
		pendingPublish: map[string]chan *livekit.TrackInfo{},
		pingWaiters:    map[int64]chan struct{}{},
	}
	c.lastRecv.Store(time.Now().UnixNano())
	c.identities[c.self.GetSid()] = c.self.GetIdentity()
	for _, p := range join.GetOtherParticipants() {
		c.participants[p.GetSid()] = p
		c.identities[p.GetSid()] = p.GetIdentity()
	}
	if err := c.setupPeers(); err != nil {
		ws.Close()
		c.closePeers()
		return nil, err
	}
	c.wg.Add(3)
	go c.readLoop()
	go c.writeLoop()
	go c.pingLoop()
	return c, nil
}

// readJoin reads the first server frame, which must be a JoinResponse.
func readJoin(ctx context.Context, ws *websocket.Conn) (*livekit.JoinResponse, error) {
	stop := context.AfterFunc(ctx, func() { ws.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	typ, b, err := ws.ReadMessage()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("client: waiting for join: %w", ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("client: waiting for join: %w", err)
	}
	ws.SetReadDeadline(time.Time{})
	if typ != websocket.BinaryMessage {
		return nil, fmt.Errorf("client: first frame is not binary (type %d): %.200q", typ, b)
	}
	var res livekit.SignalResponse
	if err := proto.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("client: decoding first frame: %w", err)
	}
	switch m := res.Message.(type) {
	case *livekit.SignalResponse_Join:
		return m.Join, nil
	case *livekit.SignalResponse_Leave:
		return nil, fmt.Errorf("%w before join: reason %s", ErrLeft, m.Leave.GetReason())
	default:
		return nil, fmt.Errorf("client: first server message is %T, not join", res.Message)
	}
}

// RTCURL builds the WebSocket URL of the /rtc endpoint for a server base URL.
// The token goes into the query when tokenInQuery is set.
func RTCURL(base, token string, autoSubscribe, tokenInQuery bool) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("client: bad URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("client: bad URL %q: scheme must be http, https, ws or wss", base)
	}
	if u.Host == "" {
		return "", fmt.Errorf("client: bad URL %q: no host", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/rtc"
	u.RawPath = ""
	q := u.Query()
	if tokenInQuery {
		q.Set("access_token", token)
	}
	if autoSubscribe {
		q.Set("auto_subscribe", "1")
	} else {
		q.Set("auto_subscribe", "0")
	}
	q.Set("protocol", fmt.Sprint(ProtocolVersion))
	q.Set("sdk", "go")
	q.Set("version", Version)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func redactToken(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	if q.Has("access_token") {
		q.Set("access_token", "…")
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// JoinResponse is the server's join message. Callers must not modify it.
func (c *Client) JoinResponse() *livekit.JoinResponse { return c.join }

// Room is the room as last described: by a room update, or by the join
// response (e.g. its active_recording flag).
func (c *Client) Room() *livekit.Room {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.room != nil {
		return c.room
	}
	return c.join.GetRoom()
}

// SID is this participant's sid (PA_…).
func (c *Client) SID() string { return c.join.GetParticipant().GetSid() }

// Identity is this participant's identity.
func (c *Client) Identity() string { return c.join.GetParticipant().GetIdentity() }

// LocalParticipant is the latest info the server sent about this participant
// (from join or update).
func (c *Client) LocalParticipant() *livekit.ParticipantInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return proto.Clone(c.self).(*livekit.ParticipantInfo)
}

// Done is closed when the session ends: Close, a server leave, a WebSocket
// error or a ping timeout. Call Close afterwards to release everything.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the session ended, or nil while it runs. After a server leave
// it wraps ErrLeft.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Leave is the leave request the server sent, or nil.
func (c *Client) Leave() *livekit.LeaveRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leave
}

// LeaveReason is the reason of the server's leave, or UNKNOWN_REASON.
func (c *Client) LeaveReason() livekit.DisconnectReason { return c.Leave().GetReason() }

// finish ends the session with err; only the first error is kept.
func (c *Client) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
	c.notifyLocked()
}

func (c *Client) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// notifyLocked wakes everyone waiting for participants or tracks.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Close sends a leave (if the session is still up), closes the WebSocket and
// both PeerConnections, and waits for every goroutine the client started. It
// must not be called from an OnTrack or OnSignal callback.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if !c.isDone() {
			b, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
				Reason: livekit.DisconnectReason_CLIENT_INITIATED,
				Action: livekit.LeaveRequest_DISCONNECT,
			}}})
			written := make(chan struct{})
			if c.enqueue(outFrame{typ: websocket.BinaryMessage, data: b, written: written}) == nil {
				t := time.NewTimer(time.Second)
				select {
				case <-written:
				case <-c.done:
				case <-t.C:
				}
				t.Stop()
			}
		}
		c.finish(ErrClosed)
		c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.ws.Close()
		c.closePeers()
		c.wg.Wait()
	})
	return nil
}

// Send queues any signal request; the typed methods cover the usual ones.
func (c *Client) Send(req *livekit.SignalRequest) error {
	b, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("client: encoding request: %w", err)
	}
	return c.enqueue(outFrame{typ: websocket.BinaryMessage, data: b})
}

// SendRaw queues one WebSocket frame as is (websocket.BinaryMessage,
// TextMessage...), for malformed-input tests.
func (c *Client) SendRaw(messageType int, data []byte) error {
	return c.enqueue(outFrame{typ: messageType, data: data})
}

func (c *Client) enqueue(f outFrame) error {
	if c.isDone() {
		return c.Err()
	}
	select {
	case c.out <- f:
		return nil
	default:
		return ErrQueueFull
	}
}

func (c *Client) writeLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case f := <-c.out:
			c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
			err := c.ws.WriteMessage(f.typ, f.data)
			if f.written != nil {
				close(f.written)
			}
			if err != nil {
				c.finish(fmt.Errorf("client: websocket write: %w", err))
				return
			}
		}
	}
}

func (c *Client) readLoop() {
	defer c.wg.Done()
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			c.finish(fmt.Errorf("client: websocket read: %w", err))
			return
		}
		c.lastRecv.Store(time.Now().UnixNano())
		if typ != websocket.BinaryMessage {
			c.log.Warn("ignoring non-binary signal frame", "type", typ, "len", len(b))
			continue
		}
		res := &livekit.SignalResponse{}
		if err := proto.Unmarshal(b, res); err != nil {
			c.finish(fmt.Errorf("client: decoding signal frame: %w", err))
			return
		}
		if c.log.Enabled(context.Background(), slog.LevelDebug) {
			c.log.Debug("signal", "message", fmt.Sprintf("%T", res.Message)[len("*livekit.SignalResponse_"):], "body", res)
		}
		if err := c.handle(res); err != nil {
			c.finish(err)
			return
		}
		if c.opts.OnSignal != nil {
			c.opts.OnSignal(res)
		}
	}
}

// handle applies one server message. An error ends the session.
func (c *Client) handle(res *livekit.SignalResponse) error {
	switch m := res.Message.(type) {
	case *livekit.SignalResponse_Offer:
		return c.handleOffer(m.Offer)
	case *livekit.SignalResponse_Answer:
		c.handleAnswer(m.Answer)
	case *livekit.SignalResponse_Trickle:
		c.handleTrickle(m.Trickle)
	case *livekit.SignalResponse_Update:
		c.handleUpdate(m.Update.GetParticipants())
	case *livekit.SignalResponse_TrackPublished:
		c.mu.Lock()
		ch := c.pendingPublish[m.TrackPublished.GetCid()]
		delete(c.pendingPublish, m.TrackPublished.GetCid())
		c.mu.Unlock()
		if ch == nil {
			c.log.Warn("trackPublished for unknown cid", "cid", m.TrackPublished.GetCid())
		} else {
			ch <- m.TrackPublished.GetTrack()
		}
	case *livekit.SignalResponse_RoomUpdate:
		c.mu.Lock()
		c.room = m.RoomUpdate.GetRoom()
		c.mu.Unlock()
	case *livekit.SignalResponse_PongResp:
		c.mu.Lock()
		if ch := c.pingWaiters[m.PongResp.GetLastPingTimestamp()]; ch != nil {
			close(ch)
			delete(c.pingWaiters, m.PongResp.GetLastPingTimestamp())
		}
		c.mu.Unlock()
	case *livekit.SignalResponse_Leave:
		c.mu.Lock()
		c.leave = m.Leave
		c.mu.Unlock()
		c.finish(fmt.Errorf("%w: reason %s, action %s", ErrLeft, m.Leave.GetReason(), m.Leave.GetAction()))
	case *livekit.SignalResponse_Join:
		c.log.Warn("second join response ignored")
	}
	return nil
}

func (c *Client) handleUpdate(ps []*livekit.ParticipantInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		c.identities[p.GetSid()] = p.GetIdentity()
		if p.GetSid() == c.self.GetSid() {
			if p.GetVersion() >= c.self.GetVersion() {
				c.self = p
			}
			continue
		}
		old := c.participants[p.GetSid()]
		if old != nil && p.GetVersion() < old.GetVersion() {
			continue
		}
		if p.GetState() == livekit.ParticipantInfo_DISCONNECTED {
			delete(c.participants, p.GetSid())
		} else {
			c.participants[p.GetSid()] = p
		}
	}
	c.notifyLocked()
}

// Participants is a snapshot of the other participants in the room.
func (c *Client) Participants() []*livekit.ParticipantInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*livekit.ParticipantInfo, 0, len(c.participants))
	for _, p := range c.participants {
		out = append(out, proto.Clone(p).(*livekit.ParticipantInfo))
	}
	return out
}

// WaitParticipant waits until pred holds for the participant with identity,
// which pred receives as nil while it is absent (so a pred of
// `func(p) bool { return p == nil }` waits for it to leave). A nil pred waits
// for the participant to be present. It returns the participant's info at
// that moment (nil if absent).
func (c *Client) WaitParticipant(ctx context.Context, identity string, pred func(*livekit.ParticipantInfo) bool) (*livekit.ParticipantInfo, error) {
	if pred == nil {
		pred = func(p *livekit.ParticipantInfo) bool { return p != nil }
	}
	for {
		c.mu.Lock()
		var found *livekit.ParticipantInfo
		for _, p := range c.participants {
			if p.GetIdentity() == identity {
				found = proto.Clone(p).(*livekit.ParticipantInfo)
				break
			}
		}
		changed := c.changed
		sessionErr := c.err
		c.mu.Unlock()
		if pred(found) {
			return found, nil
		}
		if sessionErr != nil {
			return nil, sessionErr
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("client: waiting for participant %q: %w", identity, ctx.Err())
		case <-changed:
		}
	}
}

// Ping sends a ping request and waits for the server's pong, returning the
// round-trip time.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	c.mu.Lock()
	ts := max(c.lastPing+1, start.UnixMilli())
	c.lastPing = ts
	ch := make(chan struct{})
	c.pingWaiters[ts] = ch
	rtt := c.rtt
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pingWaiters, ts)
		c.mu.Unlock()
	}()
	if err := c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{
		Timestamp: ts, Rtt: rtt.Milliseconds(),
	}}}); err != nil {
		return 0, err
	}
	select {
	case <-ch:
		d := time.Since(start)
		c.mu.Lock()
		c.rtt = d
		c.mu.Unlock()
		return d, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("client: waiting for pong: %w", ctx.Err())
	case <-c.done:
		return 0, c.Err()
	}
}

// pingLoop pings at the interval the server asked for and ends the session
// when the server has been silent for longer than its ping timeout.
func (c *Client) pingLoop() {
	defer c.wg.Done()
	interval := time.Duration(c.join.GetPingInterval()) * time.Second
	timeout := time.Duration(c.join.GetPingTimeout()) * time.Second
	if interval <= 0 {
		<-c.done
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if timeout > 0 && time.Since(time.Unix(0, c.lastRecv.Load())) > timeout {
			c.finish(ErrPingTimeout)
			c.ws.Close()
			return
		}
		c.mu.Lock()
		ts := max(c.lastPing+1, time.Now().UnixMilli())
		c.lastPing = ts
		rtt := c.rtt
		c.mu.Unlock()
		// Like the JS SDK, send both the old and the new ping.
		c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: ts}})
		c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{
			Timestamp: ts, Rtt: rtt.Milliseconds(),
		}}})
	}
}

// Mute mutes or unmutes one of this participant's published tracks.
func (c *Client) Mute(trackSID string, muted bool) error {
	return c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{
		Sid: trackSID, Muted: muted,
	}}})
}

// UpdateSubscription subscribes to (or unsubscribes from) tracks of one
// participant, filling both the track list and participant_tracks as the JS
// SDK does.
func (c *Client) UpdateSubscription(participantSID string, trackSIDs []string, subscribe bool) error {
	return c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{
		TrackSids: trackSIDs,
		Subscribe: subscribe,
		ParticipantTracks: []*livekit.ParticipantTracks{{
			ParticipantSid: participantSID, TrackSids: trackSIDs,
		}},
	}}})
}

// UpdateTrackSettings sends subscriber-side settings (disable, quality,
// dimensions) for subscribed tracks.
func (c *Client) UpdateTrackSettings(s *livekit.UpdateTrackSettings) error {
	return c.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: s}})
}
