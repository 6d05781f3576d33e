package signaling

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"yunke/sfu"
)

// KeyProvider resolves an API key to its secret.
type KeyProvider interface {
	Secret(apiKey string) (string, bool)
}

// Keys is a KeyProvider backed by a map.
type Keys map[string]string

// Secret implements KeyProvider.
func (k Keys) Secret(apiKey string) (string, bool) {
	s, ok := k[apiKey]
	return s, ok && s != ""
}

// Observer hears who comes and goes in every room, e.g. to time a tutoring
// session. It is called outside the room's lock and must not block. A
// rejoin with the same identity is reported as a join without a departure.
type Observer interface {
	ParticipantJoined(room RoomName, identity Identity)
	ParticipantLeft(room RoomName, identity Identity)
}

// Params configure a Service.
type Params struct {
	API     *webrtc.API
	Keys    KeyProvider
	Logger  *slog.Logger
	Metrics *sfu.Metrics
	// ServerVersion is reported to clients; LiveKit SDKs gate features on it.
	ServerVersion string
	NodeID        string
	// PingInterval and PingTimeout are sent to clients; a client silent for
	// PingTimeout is disconnected.
	PingInterval, PingTimeout time.Duration
	// PacketCacheSize is the per-layer NACK cache length.
	PacketCacheSize int
	// MaxParticipants limits each room; 0 is unlimited.
	MaxParticipants int
	// EmptyTimeout is how long a room is kept after its last participant
	// leaves; a participant joining meanwhile finds the same room.
	EmptyTimeout time.Duration
	// MaxFrameSize bounds one signaling frame (bytes).
	MaxFrameSize int64
	// Observer, when set, is told of every join and departure.
	Observer Observer
	// NegotiationTimeout is how long a client has to answer the server's
	// offer; a client that does not is told to reconnect (default 15 s).
	NegotiationTimeout time.Duration
}

// Service holds every room on this node and serves the signaling endpoints.
type Service struct {
	p   Params
	log *slog.Logger
	up  websocket.Upgrader

	mu     sync.Mutex
	rooms  map[RoomName]*Room
	closed bool
	wg     sync.WaitGroup
}

// New creates a Service.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Metrics == nil {
		p.Metrics = new(sfu.Metrics)
	}
	if p.PingInterval <= 0 {
		p.PingInterval = 5 * time.Second
	}
	if p.PingTimeout <= 0 {
		p.PingTimeout = 15 * time.Second
	}
	if p.NegotiationTimeout <= 0 {
		p.NegotiationTimeout = 15 * time.Second
	}
	if p.MaxFrameSize <= 0 {
		p.MaxFrameSize = 1 << 20
	}
	if p.ServerVersion == "" {
		p.ServerVersion = "1.9.0"
	}
	return &Service{
		p:     p,
		log:   p.Logger,
		rooms: make(map[RoomName]*Room),
		up: websocket.Upgrader{
			ReadBufferSize:  4096,
			WriteBufferSize: 4096,
			// Access is decided by the token, not the page's origin: LiveKit
			// SDKs connect from any origin.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
}

// Register adds the signaling endpoints to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("/rtc", s.serveRTC)
	mux.HandleFunc("/rtc/validate", s.serveValidate)
	// Current SDKs try the single-PeerConnection /rtc/v1 first. It is not
	// served: a 404 (readable cross-origin) makes them fall back to /rtc.
	mux.HandleFunc("/rtc/v1", s.serveNotV1)
	mux.HandleFunc("/rtc/v1/", s.serveNotV1)
}

// Stats is a snapshot of what the service holds.
type Stats struct {
	Rooms, Participants int
}

// Stats counts rooms and participants.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	st := Stats{Rooms: len(rooms)}
	for _, r := range rooms {
		st.Participants += r.count()
	}
	return st
}

// Close disconnects every participant and waits for their sessions to end.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
		if r.emptyTimer != nil {
			r.emptyTimer.Stop()
			r.emptyTimer = nil
		}
	}
	s.mu.Unlock()
	for _, r := range rooms {
		for _, p := range r.list() {
			p.closeWithLeave(livekit.DisconnectReason_SERVER_SHUTDOWN, livekit.LeaveRequest_DISCONNECT)
		}
	}
	s.wg.Wait()
}

// room returns the named room, creating it.
func (s *Service) room(name RoomName) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errShuttingDown
	}
	r := s.rooms[name]
	if r == nil {
		r = newRoom(s, name)
		s.rooms[name] = r
	}
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	return r, nil
}

// roomEmpty closes r after EmptyTimeout if nobody has joined it by then.
func (s *Service) roomEmpty(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.name] != r || r.count() != 0 {
		return
	}
	if s.p.EmptyTimeout <= 0 || s.closed {
		s.dropRoomLocked(r)
		return
	}
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
	}
	r.emptyTimer = time.AfterFunc(s.p.EmptyTimeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.rooms[r.name] == r && r.count() == 0 {
			s.dropRoomLocked(r)
		}
	})
}

func (s *Service) dropRoomLocked(r *Room) {
	delete(s.rooms, r.name)
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	r.log.Info("room closed")
}

var (
	errShuttingDown = errors.New("server is shutting down")
	errRoomFull     = errors.New("room is full")
)

// authError is an access-token problem with the HTTP status it maps to.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

// tokenFrom reads the access token from the query or an Authorization header.
func tokenFrom(r *http.Request) string {
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate verifies a LiveKit access token: signature by a known key,
// expiry, a roomJoin grant for a named room, and an identity.
func (s *Service) authenticate(raw string) (*auth.ClaimGrants, error) {
	if raw == "" {
		return nil, &authError{http.StatusUnauthorized, "no access token: pass access_token or an Authorization: Bearer header"}
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return nil, &authError{http.StatusUnauthorized, "invalid access token: not a JWT"}
	}
	secret, ok := s.p.Keys.Secret(v.APIKey())
	if !ok {
		return nil, &authError{http.StatusUnauthorized, fmt.Sprintf("invalid access token: unknown API key %q", v.APIKey())}
	}
	_, grants, err := v.Verify(secret)
	if err != nil {
		return nil, &authError{http.StatusUnauthorized, "invalid access token: " + tokenProblem(err)}
	}
	if grants.Video == nil || !grants.Video.RoomJoin {
		return nil, &authError{http.StatusForbidden, "permission denied: the token has no roomJoin grant"}
	}
	if grants.Video.Room == "" {
		return nil, &authError{http.StatusForbidden, "permission denied: the token names no room"}
	}
	if grants.Identity == "" {
		return nil, &authError{http.StatusUnauthorized, "invalid access token: no identity"}
	}
	return grants, nil
}

// tokenProblem says what was wrong with a token without echoing it.
func tokenProblem(err error) string {
	m := err.Error()
	switch {
	case strings.Contains(m, "expired"):
		return "expired"
	case strings.Contains(m, "signature"):
		return "signature is invalid"
	case strings.Contains(m, "not valid yet"), strings.Contains(m, "used before"):
		return "not valid yet"
	default:
		return m
	}
}

func allowCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
}

func (s *Service) serveNotV1(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	http.Error(w, "this server serves the /rtc signaling path", http.StatusNotFound)
}

func (s *Service) serveValidate(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if _, err := s.authenticate(tokenFrom(r)); err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			http.Error(w, ae.msg, ae.status)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("success"))
}

func (s *Service) serveRTC(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	grants, err := s.authenticate(tokenFrom(r))
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			s.log.Info("join refused", "status", ae.status, "reason", ae.msg, "remote", r.RemoteAddr)
			http.Error(w, ae.msg, ae.status)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	opts := joinOptions{
		autoSubscribe: q.Get("auto_subscribe") != "0" && q.Get("auto_subscribe") != "false",
		protocol:      q.Get("protocol"),
		sdk:           q.Get("sdk"),
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, errShuttingDown.Error(), http.StatusServiceUnavailable)
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn.SetReadLimit(s.p.MaxFrameSize)
	// The room is looked up (or opened) only for a real connection, so
	// requests that never become sessions leave nothing behind.
	room, err := s.room(RoomName(grants.Video.Room))
	if err != nil {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, err.Error()), time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	s.mu.Lock()
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	p := newParticipant(room, conn, grants, opts)
	p.serve()
}
