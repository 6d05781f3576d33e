package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

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

// Observer hears what happens in every room: who comes and goes (to time a
// tutoring session, say) and which tracks are published (a recorder
// attaches to the track as an sfu.Tap). Calls are made outside the room's
// lock, on the goroutine of the event, and must not block. A rejoin with
// the same identity is reported as a join without a departure. Embed
// NopObserver to hear only some events.
type Observer interface {
	ParticipantJoined(ctx context.Context, p ParticipantEvent)
	ParticipantLeft(ctx context.Context, p ParticipantEvent)
	TrackPublished(ctx context.Context, t TrackEvent)
	TrackUnpublished(ctx context.Context, t TrackEvent)
}

// RoomObserver is an Observer that also hears rooms open and close. A room
// opens with its first join and closes when it has stayed empty for
// EmptyTimeout, when it is deleted, or when the service closes. RoomOpened
// is called under the service's lock, before anyone has joined: it must
// neither block nor call the Service. RoomClosed is called on a goroutine
// of its own, after the room is gone: a room of the same name may already
// have opened again.
type RoomObserver interface {
	Observer
	RoomOpened(ctx context.Context, room RoomName)
	RoomClosed(ctx context.Context, room RoomName)
}

// ParticipantEvent is a participant joining or leaving a room.
type ParticipantEvent struct {
	Room     RoomName
	Identity Identity
	Name     string
	// Attributes are the participant's (e.g. "role": teacher, student).
	Attributes map[string]string
	// Hidden participants (observers) are seen by nobody in the room.
	Hidden bool
	// RoomAdmin: the participant's grant administers the room (a teacher).
	RoomAdmin bool
	// RoomSID is the room's session id (RM_…), new each time it opens.
	RoomSID string
	// Info is the participant as LiveKit describes it (sid, joined_at,
	// permission, tracks), a copy the observer may keep; nil for a data
	// packet's sender.
	Info *livekit.ParticipantInfo
}

// TrackEvent is a track published or unpublished.
type TrackEvent struct {
	Room        RoomName
	Participant ParticipantEvent
	ID          TrackID
	// Source is camera, microphone, screen_share or screen_share_audio.
	Source livekit.TrackSource
	// Track is the media: attach to it with AddTap.
	Track *sfu.Track
	// AudioLevelExtension is the RTP header extension id of RFC 6464 audio
	// levels on an audio track (0: none negotiated).
	AudioLevelExtension uint8
	// Info is the track as LiveKit describes it (type, mime type,
	// simulcast layers), a copy the observer may keep.
	Info *livekit.TrackInfo
}

// NopObserver hears nothing; embed it to implement only some of Observer.
type NopObserver struct{}

// ParticipantJoined implements Observer.
func (NopObserver) ParticipantJoined(context.Context, ParticipantEvent) {}

// ParticipantLeft implements Observer.
func (NopObserver) ParticipantLeft(context.Context, ParticipantEvent) {}

// TrackPublished implements Observer.
func (NopObserver) TrackPublished(context.Context, TrackEvent) {}

// TrackUnpublished implements Observer.
func (NopObserver) TrackUnpublished(context.Context, TrackEvent) {}

// ErrNotAdmitted is wrapped by an Admission's refusal; the join is refused
// with HTTP 403 and the refusal's message.
var ErrNotAdmitted = errors.New("permission denied")

// Admission decides, for a token that verified, whether its identity may
// still join: a room token is a bearer credential minted for an account, and
// may outlive the account. Admit is called before every join and again at
// every token refresh; a refusal wraps ErrNotAdmitted and says why, any other
// error is a failure to decide (the join is refused with HTTP 503).
type Admission interface {
	Admit(ctx context.Context, room RoomName, identity Identity) error
}

// Default limits, used when the Params leave them zero.
const (
	// DefaultMaxSessionsPerIdentity: one identity holds at most this many
	// signaling sessions on a node, across rooms (a browser tab per room and
	// a reconnect in flight fit easily).
	DefaultMaxSessionsPerIdentity = 4
	// DefaultMaxRoomsPerIdentity: an identity whose token has neither
	// roomCreate nor roomAdmin (a student, a tutoring peer) has opened at most
	// this many of the rooms that are open. Students legitimately open rooms
	// (they may reach a class or a tutoring session before the teacher), so
	// they are capped rather than refused.
	DefaultMaxRoomsPerIdentity = 8
	// DefaultTokenRefreshInterval is how often a participant is sent a fresh
	// token (valid for twice as long), as LiveKit does, so that short-lived
	// join tokens still serve the SDK's reconnects.
	DefaultTokenRefreshInterval = 5 * time.Minute
)

// Params configure a Service.
type Params struct {
	API *webrtc.API
	// SubscriberAPI, when set, makes subscribers' PeerConnections with
	// send-side bandwidth estimation; without it subscribers' bandwidth comes
	// from REMB alone.
	SubscriberAPI *sfu.SubscriberAPI
	Keys          KeyProvider
	Logger        *slog.Logger
	Metrics       *sfu.Metrics
	// ServerVersion is reported to clients; LiveKit SDKs gate features on it.
	ServerVersion string
	NodeID        string
	// PingInterval and PingTimeout are sent to clients; a client silent for
	// PingTimeout is disconnected.
	PingInterval, PingTimeout time.Duration
	// PacketCacheSize is the per-layer NACK cache length.
	PacketCacheSize int
	// Batch, when set, groups each forwarded packet's writes to its
	// subscribers (the batching UDP socket, rtc.udp_batch_size).
	Batch sfu.Batcher
	// MaxParticipants limits each room; 0 is unlimited.
	MaxParticipants int
	// EmptyTimeout is how long a room is kept after its last participant
	// leaves; a participant joining meanwhile finds the same room.
	EmptyTimeout time.Duration
	// MaxFrameSize bounds one signaling frame (bytes).
	MaxFrameSize int64
	// Observers are told of every join and departure and every track
	// published and unpublished, in this order.
	Observers []Observer
	// NegotiationTimeout is how long a client has to answer the server's
	// offer; a client that does not is told to reconnect (default 15 s).
	NegotiationTimeout time.Duration
	// Admission, when set, is asked whether each verified token's identity
	// may join, and again at every token refresh (a refused participant is
	// removed).
	Admission Admission
	// MaxSessionsPerIdentity bounds the sessions one identity holds on this
	// node (default DefaultMaxSessionsPerIdentity). A rejoin of the same
	// room replaces the earlier session, as in LiveKit.
	MaxSessionsPerIdentity int
	// MaxRoomsPerIdentity bounds the open rooms opened by one identity whose
	// token lacks roomCreate and roomAdmin (default DefaultMaxRoomsPerIdentity).
	MaxRoomsPerIdentity int
	// TokenRefreshInterval is how often participants are sent a refreshed
	// token (default DefaultTokenRefreshInterval).
	TokenRefreshInterval time.Duration
	// Gates are asked, after the Admission, whether a verified token may
	// join its room now (a class that is locked, a participant removed
	// from it); they see the token's grants. They are not asked again at
	// token refresh: a gate decides joins, not presence.
	Gates []JoinGate
	// ResumeGrace is how long a participant whose signaling socket dropped
	// is kept, media flowing, for the client to resume the session
	// (reconnect=1&sid=…); default DefaultResumeGrace, negative disables
	// resume (clients then rejoin).
	ResumeGrace time.Duration
	// ICEServers, when set, gives each participant the ICE servers (TURN)
	// of its join and reconnect responses.
	ICEServers ICEServers
	// DataFilters hear every data packet a participant sends, after its
	// sender is stamped and before it is forwarded; one returning false
	// drops the packet.
	DataFilters []DataFilter
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
	// sessions counts each identity's sessions, those still upgrading
	// included; opened counts the open rooms each capped identity opened.
	sessions map[Identity]int
	opened   map[Identity]int
	// ctx is what observers are called with; it ends after Close.
	ctx    context.Context
	cancel context.CancelFunc
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
	if p.MaxSessionsPerIdentity <= 0 {
		p.MaxSessionsPerIdentity = DefaultMaxSessionsPerIdentity
	}
	if p.MaxRoomsPerIdentity <= 0 {
		p.MaxRoomsPerIdentity = DefaultMaxRoomsPerIdentity
	}
	if p.ResumeGrace == 0 {
		p.ResumeGrace = DefaultResumeGrace
	}
	if p.TokenRefreshInterval <= 0 {
		p.TokenRefreshInterval = DefaultTokenRefreshInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		ctx:      ctx,
		cancel:   cancel,
		p:        p,
		log:      p.Logger,
		rooms:    make(map[RoomName]*Room),
		sessions: make(map[Identity]int),
		opened:   make(map[Identity]int),
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
	// Current SDKs try the single-PeerConnection /rtc/v1 first.
	mux.HandleFunc("/rtc/v1", s.serveV1)
	mux.HandleFunc("/rtc/v1/validate", s.serveValidate)
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
	s.cancel()
}

// observe calls f for each observer.
func (s *Service) observe(f func(ctx context.Context, o Observer)) {
	for _, o := range s.p.Observers {
		f(s.ctx, o)
	}
}

// room returns the named room, creating it. A room opened for opener (an
// identity whose token may not create rooms; "" for one that may) counts
// against opener's MaxRoomsPerIdentity until it closes.
func (s *Service) room(name RoomName, opener Identity) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errShuttingDown
	}
	r := s.rooms[name]
	if r == nil {
		if err := s.mayOpenLocked(name, opener); err != nil {
			return nil, err
		}
		r = newRoom(s, name)
		s.rooms[name] = r
		s.observeRoomLocked(r, true)
		if opener != "" {
			r.opener = opener
			s.opened[opener]++
		}
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

// mayOpenLocked says whether opener may open the room name if it is not open.
func (s *Service) mayOpenLocked(name RoomName, opener Identity) error {
	if opener == "" || s.rooms[name] != nil || s.opened[opener] < s.p.MaxRoomsPerIdentity {
		return nil
	}
	return fmt.Errorf("%w: room %q is not open, and %q has already opened %d rooms that are (the limit): join once the teacher has opened it",
		errTooManyRooms, name, opener, s.opened[opener])
}

func (s *Service) dropRoomLocked(r *Room) {
	delete(s.rooms, r.name)
	if r.opener != "" {
		if s.opened[r.opener]--; s.opened[r.opener] <= 0 {
			delete(s.opened, r.opener)
		}
	}
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	r.log.Info("room closed")
	s.observeRoomLocked(r, false)
}

// observeRoomLocked tells the RoomObservers that a room opened (under the
// lock: it is told before anyone joins), and every RoomCloseObserver that
// it closed (on a goroutine; a room of the same name opened meanwhile is a
// new room).
func (s *Service) observeRoomLocked(r *Room, opened bool) {
	name := r.name
	var info *livekit.Room
	for _, o := range s.p.Observers {
		io, isInfo := o.(RoomInfoObserver)
		if isInfo && info == nil {
			r.mu.Lock()
			info = r.infoLocked()
			r.mu.Unlock()
		}
		if opened {
			if ro, ok := o.(RoomObserver); ok {
				ro.RoomOpened(s.ctx, name)
			}
			if isInfo {
				io.RoomStarted(s.ctx, proto.Clone(info).(*livekit.Room))
			}
			continue
		}
		c, ok := o.(RoomCloseObserver)
		if !ok && !isInfo {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if ok {
				c.RoomClosed(s.ctx, name)
			}
			if isInfo {
				io.RoomFinished(s.ctx, proto.Clone(info).(*livekit.Room))
			}
		}()
	}
}

// RoomInfoObserver is an Observer that also hears rooms start and finish
// with their LiveKit description (sid, creation time), as LiveKit's webhooks
// report them. RoomStarted is called under the service's lock, before
// anyone has joined, and RoomFinished on a goroutine of its own after the
// room is gone, as RoomObserver's calls are: neither may block nor call
// the Service.
type RoomInfoObserver interface {
	RoomStarted(ctx context.Context, room *livekit.Room)
	RoomFinished(ctx context.Context, room *livekit.Room)
}

// RoomCloseObserver is an Observer that also hears when a room closes (its
// last participant gone and the empty timeout over, or deleted), to forget
// what it held for it. The call is made on a goroutine of its own.
type RoomCloseObserver interface {
	RoomClosed(ctx context.Context, room RoomName)
}

var (
	errShuttingDown    = errors.New("server is shutting down")
	errRoomFull        = errors.New("room is full")
	errTooManySessions = errors.New("too many connections")
	errTooManyRooms    = errors.New("too many rooms")
)

// authError is a refused join (a token problem, a refused account, a limit)
// with the HTTP status it maps to.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

// opener is who a join that opens its room is charged to: "" (no limit) for
// a token that may create rooms or administers this one (a teacher).
func opener(g *auth.ClaimGrants) Identity {
	if g.Video.RoomCreate || g.Video.RoomAdmin {
		return ""
	}
	return Identity(g.Identity)
}

// admit asks the Admission, if any, and then every gate, whether the
// holder of grants may join its room.
func (s *Service) admit(ctx context.Context, grants *auth.ClaimGrants) error {
	room, identity := RoomName(grants.Video.Room), Identity(grants.Identity)
	var err error
	if s.p.Admission != nil {
		err = s.p.Admission.Admit(ctx, room, identity)
	}
	if err == nil {
		j := JoinRequest{Room: room, Identity: identity, RoomAdmin: grants.Video.RoomAdmin, Hidden: grants.Video.Hidden, Attributes: grants.Attributes}
		for _, g := range s.p.Gates {
			if err = g.AdmitJoin(ctx, j); err != nil {
				break
			}
		}
	}
	if err == nil {
		return nil
	}
	return s.admissionError(err, grants)
}

// admissionError maps a refusal or a failure to decide to its HTTP answer.
func (s *Service) admissionError(err error, grants *auth.ClaimGrants) error {
	if errors.Is(err, ErrNotAdmitted) {
		return &authError{http.StatusForbidden, err.Error()}
	}
	s.log.Error("admission check failed", "participant", grants.Identity, "room", grants.Video.Room, "err", err)
	return &authError{http.StatusServiceUnavailable, "the server could not check the account; try again"}
}

// checkLimitsLocked refuses a join that would go over a per-identity limit.
func (s *Service) checkLimitsLocked(g *auth.ClaimGrants) error {
	if s.closed {
		return &authError{http.StatusServiceUnavailable, errShuttingDown.Error()}
	}
	id := Identity(g.Identity)
	limit := s.p.MaxSessionsPerIdentity
	if r := s.rooms[RoomName(g.Video.Room)]; r != nil && r.has(id) {
		limit++ // a rejoin, which replaces the session in that room
	}
	if n := s.sessions[id]; n >= limit {
		return &authError{http.StatusTooManyRequests, fmt.Sprintf("%v: %q already has %d sessions on this server (the limit); leave one first", errTooManySessions, id, n)}
	}
	if err := s.mayOpenLocked(RoomName(g.Video.Room), opener(g)); err != nil {
		return &authError{http.StatusTooManyRequests, err.Error()}
	}
	return nil
}

// reserve takes one of the identity's sessions for a join about to be
// upgraded; release gives it back once the session has ended.
func (s *Service) reserve(g *auth.ClaimGrants) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLimitsLocked(g); err != nil {
		return nil, err
	}
	id := Identity(g.Identity)
	s.sessions[id]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.sessions[id]--; s.sessions[id] <= 0 {
				delete(s.sessions, id)
			}
		})
	}, nil
}

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
// expiry, a roomJoin grant for a named room, and an identity. It returns the
// grants and the API key that signed them.
func (s *Service) authenticate(raw string) (*auth.ClaimGrants, string, error) {
	if raw == "" {
		return nil, "", &authError{http.StatusUnauthorized, "no access token: pass access_token or an Authorization: Bearer header"}
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return nil, "", &authError{http.StatusUnauthorized, "invalid access token: not a JWT"}
	}
	secret, ok := s.p.Keys.Secret(v.APIKey())
	if !ok {
		return nil, "", &authError{http.StatusUnauthorized, fmt.Sprintf("invalid access token: unknown API key %q", v.APIKey())}
	}
	_, grants, err := v.Verify(secret)
	if err != nil {
		return nil, "", &authError{http.StatusUnauthorized, "invalid access token: " + tokenProblem(err)}
	}
	if grants.Video == nil || !grants.Video.RoomJoin {
		return nil, "", &authError{http.StatusForbidden, "permission denied: the token has no roomJoin grant"}
	}
	if grants.Video.Room == "" {
		return nil, "", &authError{http.StatusForbidden, "permission denied: the token names no room"}
	}
	if grants.Identity == "" {
		return nil, "", &authError{http.StatusUnauthorized, "invalid access token: no identity"}
	}
	return grants, v.APIKey(), nil
}

// writeRefusal answers a refused join with its status and message (the
// SDKs show the body of /rtc/validate to the user).
func writeRefusal(w http.ResponseWriter, err error) {
	var ae *authError
	if errors.As(err, &ae) {
		http.Error(w, ae.msg, ae.status)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
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
	http.NotFound(w, r)
}

func (s *Service) serveValidate(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// The same checks as a join, so that an SDK whose upgrade was refused
	// (browsers cannot read that answer) learns why from here.
	grants, _, err := s.authenticate(tokenFrom(r))
	if err == nil {
		err = s.admit(r.Context(), grants)
	}
	if err == nil {
		s.mu.Lock()
		err = s.checkLimitsLocked(grants)
		s.mu.Unlock()
	}
	if err != nil {
		writeRefusal(w, err)
		return
	}
	_, _ = w.Write([]byte("success"))
}

func (s *Service) serveRTC(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	grants, apiKey, err := s.authenticate(tokenFrom(r))
	q := r.URL.Query()
	if sid := q.Get("sid"); err == nil && q.Get("reconnect") == "1" && sid != "" {
		s.serveResume(w, r, grants, ParticipantID(sid))
		return
	}
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	s.serveJoin(w, r, grants, apiKey, joinOptions{
		autoSubscribe: q.Get("auto_subscribe") != "0" && q.Get("auto_subscribe") != "false",
		protocol:      q.Get("protocol"),
		sdk:           q.Get("sdk"),
	})
}

// refuse logs a refused join and answers it.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var ae *authError
	if errors.As(err, &ae) {
		s.log.Info("join refused", "status", ae.status, "reason", ae.msg, "remote", r.RemoteAddr)
	}
	writeRefusal(w, err)
}

// serveJoin admits a verified join, upgrades it and runs the session.
func (s *Service) serveJoin(w http.ResponseWriter, r *http.Request, grants *auth.ClaimGrants, apiKey string, opts joinOptions) {
	err := s.admit(r.Context(), grants)
	var release func()
	if err == nil {
		release, err = s.reserve(grants)
	}
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	defer release()
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn.SetReadLimit(s.p.MaxFrameSize)
	// The room is looked up (or opened) only for a real connection, so
	// requests that never become sessions leave nothing behind.
	room, err := s.room(RoomName(grants.Video.Room), opener(grants))
	if err != nil {
		// Checked before the upgrade too; this is a race with another join.
		code := websocket.CloseGoingAway
		if errors.Is(err, errTooManyRooms) {
			code = websocket.ClosePolicyViolation
			s.log.Warn("join refused", "participant", grants.Identity, "err", err)
		}
		refuseConn(conn, code, err.Error())
		return
	}
	s.mu.Lock()
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	p := newParticipant(room, conn, grants, apiKey, opts)
	p.serve()
}

// refuseConn ends an upgraded connection that will not become a session: a
// leave (JOIN_FAILURE), then a close frame that says why.
func refuseConn(conn *websocket.Conn, code int, why string) {
	deadline := time.Now().Add(time.Second)
	if _, b, err := encodeResponse(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_JOIN_FAILURE, Action: livekit.LeaveRequest_DISCONNECT,
	}}}, false); err == nil {
		_ = conn.SetWriteDeadline(deadline)
		_ = conn.WriteMessage(websocket.BinaryMessage, b)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, closeReason(why)), deadline)
	_ = conn.Close()
}

// closeReason fits a reason into a close frame (RFC 6455 §5.5: 123 bytes of
// text at most), cutting on a UTF-8 boundary.
func closeReason(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
