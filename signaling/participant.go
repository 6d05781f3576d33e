package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"yunke/sfu"
)

const (
	// outQueueSize bounds a participant's outgoing signal messages; a client
	// that lets it fill is too far behind and is disconnected.
	outQueueSize = 256
	writeTimeout = 5 * time.Second
	// maxPendingData bounds reliable data queued before the channel opens.
	maxPendingData = 64
	// maxDataBuffered: above this many bytes waiting in a data channel, a
	// subscriber is too slow and lossy packets to it are dropped.
	maxDataBuffered = 4 << 20

	// Trickled ICE candidates. A candidate line is under 200 bytes and a
	// client trickles a handful per PeerConnection; the server holds them
	// only while their PeerConnection has no remote description yet (before
	// the client's first offer, or its first answer; once set, a remote
	// description stays). Beyond these limits the client is misbehaving and
	// is disconnected.
	//
	// maxCandidateSize bounds one candidate (its JSON).
	maxCandidateSize = 2 << 10
	// maxHeldCandidates and maxHeldCandidateBytes bound the candidates held
	// over a session, for both PeerConnections together.
	maxHeldCandidates     = 64
	maxHeldCandidateBytes = 64 << 10
	// maxPendingTracks bounds addTrack requests waiting for their media.
	maxPendingTracks = 32
)

// errTooManyCandidates is why a session that trickled too much was closed.
var errTooManyCandidates = errors.New("ICE candidate limit exceeded")

type joinOptions struct {
	autoSubscribe bool
	protocol, sdk string
	// single: /rtc/v1, one PeerConnection the client offers on; offer is
	// the client's first offer, sent with its join request.
	single bool
	offer  *livekit.SessionDescription
}

// Participant is one signaling session: a WebSocket, a subscriber
// PeerConnection (server offers) and, once the client publishes or sends
// data, a publisher PeerConnection (client offers).
type Participant struct {
	room     *Room
	svc      *Service
	log      *slog.Logger
	sid      ParticipantID
	identity Identity
	grants   *auth.ClaimGrants // as presented at join; permissions live in grant
	apiKey   string            // signed the join token; signs refreshed ones
	grant    atomic.Pointer[auth.VideoGrant]
	opts     joinOptions
	joinedAt time.Time

	// firstConn is the WebSocket of the join; link is the one in use (nil
	// while the participant waits for a resume), resumeConn a resume's WebSocket
	// not yet taken up, unsent the message a failed write could not deliver.
	firstConn  *websocket.Conn
	link       atomic.Pointer[link]
	connMu     sync.Mutex
	resumeConn *websocket.Conn
	unsent     *livekit.SignalResponse
	resumeSig  chan struct{}
	out        chan *livekit.SignalResponse
	// Participant updates are coalesced per recipient (latest info per sid)
	// so that a crowd joining or leaving at once cannot flood out.
	updMu      sync.Mutex
	pendingUpd map[string]*livekit.ParticipantInfo
	updSignal  chan struct{}
	useJSON    atomic.Bool
	// clientLeft: the client said leave, so a failing write is no surprise.
	clientLeft atomic.Bool
	// overflowed: the outgoing queue filled up and the session is ending.
	overflowed atomic.Bool
	// closeFrame, if set, is the close frame the writer ends with.
	closeFrame atomic.Pointer[[]byte]
	done       chan struct{}
	writerW    sync.WaitGroup

	mu         sync.Mutex
	state      livekit.ParticipantInfo_State
	version    uint32
	name       string
	metadata   string
	attributes map[string]string
	tracks     map[TrackID]*publication
	byCID      map[string]*publication
	pending    map[string]*livekit.TrackInfo // addTrack requests awaiting media, by cid
	closed     bool
	disReason  livekit.DisconnectReason

	// iceRestart: the next subscriber offer restarts ICE (after a resume).
	iceRestart bool // guarded by negMu

	subMu sync.Mutex // serializes subscription changes
	subs  map[TrackID]*subscription

	sub *webrtc.PeerConnection
	bwe *sfu.Subscriber // spends the subscriber's bandwidth estimate
	// direct: the subscriber's transport is UDP, so publishers' read
	// goroutines may write to it themselves (sfu.DownTrackParams.Direct).
	direct      atomic.Bool
	quality     atomic.Pointer[connQuality]
	speaking    atomic.Bool // the room's speaker detection says so
	subReliable *webrtc.DataChannel
	subLossy    *webrtc.DataChannel
	dataMu      sync.Mutex
	dataOpen    bool     // _reliable has opened and dataPending is flushed
	dataPending [][]byte // reliable packets waiting for _reliable to open

	// heldCandidates and heldCandidateBytes count the candidates ever held
	// for a PeerConnection without a remote description (both of them).
	heldCandidates     atomic.Int64
	heldCandidateBytes atomic.Int64

	negMu         sync.Mutex // subscriber negotiation
	offerPending  bool
	renegotiate   bool
	offerID       uint32
	subCandidates []webrtc.ICECandidateInit

	pubMu         sync.Mutex
	pub           *webrtc.PeerConnection
	pubCandidates []webrtc.ICECandidateInit
}

type publication struct {
	info  *livekit.TrackInfo
	track *sfu.Track
	cid   string
	// audioLevelExt is the RFC 6464 extension id (audio; 0: none).
	audioLevelExt uint8
	dyn           dynacast
}

type subscription struct {
	dt     *sfu.DownTrack
	sender *webrtc.RTPSender
	owner  ParticipantID
	// pinned (the client's priority) and speaking raise the priority.
	pinned, speaking bool
}

func newParticipant(r *Room, conn *websocket.Conn, grants *auth.ClaimGrants, apiKey string, opts joinOptions) *Participant {
	sid := ParticipantID(newID("PA_"))
	p := &Participant{
		room:       r,
		svc:        r.svc,
		sid:        sid,
		identity:   Identity(grants.Identity),
		grants:     grants,
		apiKey:     apiKey,
		opts:       opts,
		joinedAt:   time.Now(),
		firstConn:  conn,
		resumeSig:  make(chan struct{}, 1),
		out:        make(chan *livekit.SignalResponse, outQueueSize),
		updSignal:  make(chan struct{}, 1),
		pendingUpd: make(map[string]*livekit.ParticipantInfo),
		done:       make(chan struct{}),
		state:      livekit.ParticipantInfo_JOINING,
		version:    1,
		name:       grants.Name,
		metadata:   grants.Metadata,
		attributes: maps.Clone(grants.Attributes),
		tracks:     make(map[TrackID]*publication),
		byCID:      make(map[string]*publication),
		pending:    make(map[string]*livekit.TrackInfo),
		subs:       make(map[TrackID]*subscription),
	}
	p.grant.Store(grants.Video.Clone())
	p.log = r.log.With("participant", grants.Identity, "sid", string(sid))
	return p
}

// video is the participant's current room grant (an admin may change it).
func (p *Participant) video() *auth.VideoGrant { return p.grant.Load() }

func (p *Participant) hidden() bool { return p.video().Hidden }

// event is p as observers see it.
func (p *Participant) event() ParticipantEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.video()
	return ParticipantEvent{Room: p.room.name, RoomSID: p.room.sid, Identity: p.identity, Name: p.name,
		Attributes: maps.Clone(p.attributes), Hidden: g.Hidden, RoomAdmin: g.RoomAdmin}
}

// fullEvent is event with the participant's LiveKit description, for the
// rare events (joins, departures, tracks) rather than every data packet.
func (p *Participant) fullEvent() ParticipantEvent {
	ev := p.event()
	ev.Info = p.info()
	return ev
}

func (p *Participant) autoSubscribe() bool {
	return p.opts.autoSubscribe && p.video().GetCanSubscribe()
}

// info is the participant as others see it; safe to hand to other goroutines.
func (p *Participant) info() *livekit.ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.infoLocked()
}

func (p *Participant) infoLocked() *livekit.ParticipantInfo {
	tracks := make([]*livekit.TrackInfo, 0, len(p.tracks))
	for _, pub := range p.tracks {
		tracks = append(tracks, proto.Clone(pub.info).(*livekit.TrackInfo))
	}
	return &livekit.ParticipantInfo{
		Sid:              string(p.sid),
		Identity:         string(p.identity),
		Name:             p.name,
		State:            p.state,
		Tracks:           tracks,
		Metadata:         p.metadata,
		JoinedAt:         p.joinedAt.Unix(),
		JoinedAtMs:       p.joinedAt.UnixMilli(),
		Version:          p.version,
		Permission:       p.video().ToPermission(),
		IsPublisher:      len(tracks) > 0,
		Kind:             p.grants.GetParticipantKind(),
		Attributes:       maps.Clone(p.attributes),
		DisconnectReason: p.disReason,
	}
}

// changed bumps the version and tells the room.
func (p *Participant) changed(mutate func()) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	mutate()
	p.version++
	info := p.infoLocked()
	p.mu.Unlock()
	p.room.broadcastUpdate(p, info)
}

// queueUpdate schedules info for the client, replacing an older pending
// version of the same participant.
func (p *Participant) queueUpdate(info *livekit.ParticipantInfo) {
	p.updMu.Lock()
	if cur := p.pendingUpd[info.GetSid()]; cur == nil || info.GetVersion() >= cur.GetVersion() {
		p.pendingUpd[info.GetSid()] = info
	}
	p.updMu.Unlock()
	select {
	case p.updSignal <- struct{}{}:
	default:
	}
}

// takeUpdatesLocked turns the pending updates into one message, or nil.
func (p *Participant) takeUpdatesLocked() *livekit.SignalResponse {
	if len(p.pendingUpd) == 0 {
		return nil
	}
	u := &livekit.ParticipantUpdate{Participants: make([]*livekit.ParticipantInfo, 0, len(p.pendingUpd))}
	for sid, info := range p.pendingUpd {
		u.Participants = append(u.Participants, info)
		delete(p.pendingUpd, sid)
	}
	return &livekit.SignalResponse{Message: &livekit.SignalResponse_Update{Update: u}}
}

// send queues a message for the client without blocking; a client that
// cannot keep up is disconnected. Pending participant updates go first, so
// the client always knows a participant before any message naming it.
func (p *Participant) send(msg *livekit.SignalResponse) {
	select {
	case <-p.done:
		return
	default:
	}
	if transient(msg) && len(p.out) > cap(p.out)/2 {
		// A client that is not reading (its signal connection is down and
		// may resume) need not catch up on who spoke or its pongs.
		return
	}
	p.updMu.Lock()
	defer p.updMu.Unlock()
	if u := p.takeUpdatesLocked(); u != nil {
		p.enqueue(u)
	}
	p.enqueue(msg)
}

// transient messages are worth nothing once late.
func transient(msg *livekit.SignalResponse) bool {
	switch msg.Message.(type) {
	case *livekit.SignalResponse_SpeakersChanged, *livekit.SignalResponse_Pong, *livekit.SignalResponse_PongResp,
		*livekit.SignalResponse_ConnectionQuality:
		return true
	}
	return false
}

func (p *Participant) enqueue(msg *livekit.SignalResponse) {
	select {
	case p.out <- msg:
	default:
		// The client is far behind; a leave could not be queued either.
		if p.overflowed.CompareAndSwap(false, true) {
			p.log.Warn("signal queue full, disconnecting")
			go p.close(livekit.DisconnectReason_STATE_MISMATCH)
		}
	}
}

// serve runs the session until the client leaves or the connection drops.
func (p *Participant) serve() {
	l := p.attach(p.firstConn, nil)
	defer p.writerW.Wait()

	setup := p.setupSubscriber
	if p.opts.single {
		setup = p.setupSingle
	}
	if err := setup(); err != nil {
		p.log.Error("subscriber setup failed", "err", err)
		p.refuse(livekit.DisconnectReason_JOIN_FAILURE)
		return
	}
	p.watch(l)
	var nOthers int
	err := p.room.join(p, func(others []*livekit.ParticipantInfo, room *livekit.Room) {
		nOthers = len(others)
		p.mu.Lock()
		p.state = livekit.ParticipantInfo_JOINED
		p.version++
		p.mu.Unlock()
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: p.joinResponse(others, room)}})
	})
	if err != nil {
		p.log.Info("join refused", "err", err)
		p.refuse(livekit.DisconnectReason_JOIN_FAILURE)
		return
	}
	p.log.Info("joined", "others", nOthers, "sdk", p.opts.sdk, "protocol", p.opts.protocol)
	p.writerW.Add(1)
	go p.timerLoop()
	p.room.broadcastUpdate(p, p.info())
	if p.autoSubscribe() {
		for _, o := range p.room.list() {
			if o == p {
				continue
			}
			for _, t := range o.publishedTracks() {
				p.subscribe(t)
			}
		}
	}
	if p.opts.offer != nil {
		p.handlePublisherOffer(p.opts.offer)
	}
	p.negotiate()
	for {
		reason := p.readLoop(l)
		close(l.readDone)
		if !p.mayResume(reason) {
			p.close(reason)
			return
		}
		p.detach(l, reason)
		conn := p.awaitResume()
		if conn == nil {
			p.close(reason)
			return
		}
		l = p.attach(conn, p.reconnectResponse())
		p.watch(l)
		p.resumed()
	}
}

// refuse ends a session that never joined, telling the client why.
func (p *Participant) refuse(reason livekit.DisconnectReason) {
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: reason, Action: livekit.LeaveRequest_DISCONNECT,
	}}})
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	close(p.done)
	p.closePeerConnections()
	p.svc.roomEmpty(p.room) // the room may have been opened for this session alone
}

func (p *Participant) joinResponse(others []*livekit.ParticipantInfo, room *livekit.Room) *livekit.JoinResponse {
	v := p.svc.p.ServerVersion
	return &livekit.JoinResponse{
		Room:              room,
		Participant:       p.info(),
		OtherParticipants: others,
		ServerVersion:     v,
		ServerInfo: &livekit.ServerInfo{
			Edition:  livekit.ServerInfo_Standard,
			Version:  v,
			Protocol: 16,
			NodeId:   p.svc.p.NodeID,
		},
		SubscriberPrimary:   !p.opts.single,
		PingInterval:        int32(p.svc.p.PingInterval / time.Second),
		PingTimeout:         int32(p.svc.p.PingTimeout / time.Second),
		ClientConfiguration: p.svc.clientConfiguration(),
		IceServers:          p.svc.iceServers(p.identity),
	}
}

// writeFailGrace is how long a failed write waits for the read loop to end
// the session with the reason it read (a client's leave) before closing it
// as a dropped signal connection.
const writeFailGrace = 500 * time.Millisecond

func (p *Participant) writeLoop(l *link, first *livekit.SignalResponse) {
	defer p.writerW.Done()
	defer close(l.writerDone)
	write := func(msg *livekit.SignalResponse) bool {
		mt, b, err := encodeResponse(msg, p.useJSON.Load())
		if err != nil {
			p.log.Error("encode response", "err", err)
			return true
		}
		_ = l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := l.conn.WriteMessage(mt, b); err != nil {
			p.log.Debug("write failed", "err", err)
			return false
		}
		return true
	}
	// failed keeps msg for a resumed connection, waits a moment for the
	// read loop to end with what it read (a client that sent a leave and
	// closed its socket makes this write fail before the leave is read),
	// and then closes the connection, which ends the read loop.
	failed := func(msg *livekit.SignalResponse) {
		p.connMu.Lock()
		if p.unsent == nil {
			p.unsent = msg
		}
		p.connMu.Unlock()
		grace := time.NewTimer(writeFailGrace)
		select {
		case <-p.done:
		case <-l.readDone:
		case <-l.stop:
		case <-grace.C:
		}
		grace.Stop()
		_ = l.conn.Close()
	}
	p.connMu.Lock()
	unsent := p.unsent
	p.unsent = nil
	p.connMu.Unlock()
	for _, msg := range []*livekit.SignalResponse{first, unsent} {
		if msg != nil && !write(msg) {
			failed(msg)
			return
		}
	}
	for {
		select {
		case <-l.stop:
			return
		case <-p.updSignal:
			p.updMu.Lock()
			u := p.takeUpdatesLocked()
			p.updMu.Unlock()
			if u != nil {
				p.enqueue(u)
			}
		case msg := <-p.out:
			if !write(msg) {
				failed(msg)
				return
			}
		case <-p.done:
			if l.closeSent.Load() {
				// A close frame has gone out; nothing may follow it (RFC 6455 §5.5.1).
				_ = l.conn.Close()
				return
			}
			// Flush what was queued (typically a leave), then close.
			for {
				select {
				case msg := <-p.out:
					if write(msg) {
						continue
					}
				default:
				}
				break
			}
			cf := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			if b := p.closeFrame.Load(); b != nil {
				cf = *b
			}
			_ = l.conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = l.conn.WriteMessage(websocket.CloseMessage, cf)
			_ = l.conn.Close()
			return
		}
	}
}

// readLoop handles the client's requests until the session ends, and says why it ended.
func (p *Participant) readLoop(l *link) livekit.DisconnectReason {
	for {
		mt, data, err := l.conn.ReadMessage()
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				// gorilla has sent close 1009 (message too big).
				l.closeSent.Store(true)
				p.log.Warn("oversized signal frame", "limit", p.svc.p.MaxFrameSize)
				return livekit.DisconnectReason_STATE_MISMATCH
			case l.timedOut.Load():
				return livekit.DisconnectReason_CONNECTION_TIMEOUT
			default:
				p.log.Debug("signal connection ended", "err", err)
				return livekit.DisconnectReason_SIGNAL_CLOSE
			}
		}
		l.lastRead.Store(time.Now().UnixNano())
		req, err := decodeRequest(mt, data)
		if err != nil {
			p.log.Warn("malformed signal frame", "err", err)
			p.protocolError(l, err)
			return livekit.DisconnectReason_STATE_MISMATCH
		}
		if mt == websocket.TextMessage {
			p.useJSON.Store(true)
		}
		if reason, end := p.handle(req); end {
			return reason
		}
	}
}

// protocolError closes the connection with a close frame that says what
// was wrong (RFC 6455 §7.4.1 code 1007: data inconsistent with the type).
func (p *Participant) protocolError(l *link, err error) {
	l.closeSent.Store(true)
	_ = l.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, closeReason(err.Error())),
		time.Now().Add(time.Second))
}

// handle dispatches one request; it returns true when the session ends
// (the client leaves, or has been told to), and why.
func (p *Participant) handle(req *livekit.SignalRequest) (livekit.DisconnectReason, bool) {
	switch m := req.Message.(type) {
	case *livekit.SignalRequest_Offer:
		p.handlePublisherOffer(m.Offer)
	case *livekit.SignalRequest_Answer:
		p.handleSubscriberAnswer(m.Answer)
	case *livekit.SignalRequest_Trickle:
		if err := p.handleTrickle(m.Trickle); err != nil {
			p.log.Warn("disconnecting: client exceeded a signaling limit", "err", err)
			p.sendLeave(livekit.DisconnectReason_STATE_MISMATCH, websocket.ClosePolicyViolation, err.Error())
			return livekit.DisconnectReason_STATE_MISMATCH, true
		}
	case *livekit.SignalRequest_AddTrack:
		p.handleAddTrack(m.AddTrack)
	case *livekit.SignalRequest_Mute:
		p.handleMute(m.Mute)
	case *livekit.SignalRequest_Subscription:
		p.handleSubscription(m.Subscription)
	case *livekit.SignalRequest_TrackSetting:
		p.handleTrackSetting(m.TrackSetting)
	case *livekit.SignalRequest_Leave:
		p.clientLeft.Store(true)
		p.log.Info("client left", "reason", m.Leave.GetReason().String())
		return livekit.DisconnectReason_CLIENT_INITIATED, true
	case *livekit.SignalRequest_Ping:
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: time.Now().UnixMilli()}})
	case *livekit.SignalRequest_PingReq:
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{
			LastPingTimestamp: m.PingReq.GetTimestamp(), Timestamp: time.Now().UnixMilli(),
		}}})
	case *livekit.SignalRequest_UpdateMetadata:
		p.handleUpdateMetadata(m.UpdateMetadata)
	case *livekit.SignalRequest_SyncState:
		p.handleSyncState(m.SyncState)
	default:
		p.log.Debug("signal request not handled", "type", fmt.Sprintf("%T", m))
	}
	return 0, false
}

// sendLeave queues a leave that tells the client not to come back, and
// makes the session's close frame say why (code, text): the session is
// about to end.
func (p *Participant) sendLeave(reason livekit.DisconnectReason, code int, text string) {
	cf := websocket.FormatCloseMessage(code, closeReason(text))
	p.closeFrame.Store(&cf)
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: reason, Action: livekit.LeaveRequest_DISCONNECT,
	}}})
}

// closeWithLeave tells the client to go (with the reason) and ends the session.
func (p *Participant) closeWithLeave(reason livekit.DisconnectReason, action livekit.LeaveRequest_Action) {
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: reason, Action: action, CanReconnect: action != livekit.LeaveRequest_DISCONNECT,
	}}})
	p.close(reason)
}

// close ends the session once: others are told DISCONNECTED first, then the
// participant's tracks end (their subscribers drop them) and its
// PeerConnections close.
func (p *Participant) close(reason livekit.DisconnectReason) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.state = livekit.ParticipantInfo_DISCONNECTED
	p.disReason = reason
	p.version++
	info := p.infoLocked()
	pubs := make([]*publication, 0, len(p.tracks))
	for _, pub := range p.tracks {
		pubs = append(pubs, pub)
	}
	p.mu.Unlock()
	close(p.done)
	p.dropPending()

	p.room.leave(p)
	p.room.broadcastUpdate(p, info)
	p.log.Info("left", "reason", reason.String())

	for _, pub := range pubs {
		pub.track.Close()
	}
	p.subMu.Lock()
	subs := p.subs
	p.subs = make(map[TrackID]*subscription)
	p.subMu.Unlock()
	p.closePeerConnections()
	for _, s := range subs {
		s.dt.Close()
	}
	if p.bwe != nil {
		p.bwe.Close()
	}
}

func (p *Participant) closePeerConnections() {
	if p.sub != nil {
		_ = p.sub.Close()
	}
	p.pubMu.Lock()
	pub := p.pub
	p.pubMu.Unlock()
	if pub != nil {
		_ = pub.Close()
	}
}

func (p *Participant) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *Participant) sendTrickle(c *webrtc.ICECandidate, target livekit.SignalTarget) {
	if c == nil {
		return
	}
	b, err := json.Marshal(c.ToJSON())
	if err != nil {
		return
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{Trickle: &livekit.TrickleRequest{
		CandidateInit: string(b), Target: target,
	}}})
}

// handleTrickle adds a client's ICE candidate, or holds it until its
// PeerConnection has a remote description. It fails, ending the session,
// when the client goes over the candidate limits.
func (p *Participant) handleTrickle(t *livekit.TrickleRequest) error {
	raw := t.GetCandidateInit()
	if len(raw) > maxCandidateSize {
		return fmt.Errorf("%w: a candidate of %d bytes (at most %d)", errTooManyCandidates, len(raw), maxCandidateSize)
	}
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		p.log.Warn("bad ICE candidate", "err", err)
		return nil
	}
	if t.GetTarget() == livekit.SignalTarget_SUBSCRIBER && !p.opts.single {
		p.negMu.Lock()
		defer p.negMu.Unlock()
		if p.sub.RemoteDescription() == nil {
			if err := p.holdCandidate(len(raw)); err != nil {
				return err
			}
			p.subCandidates = append(p.subCandidates, c)
			return nil
		}
		if err := p.sub.AddICECandidate(c); err != nil {
			p.log.Debug("add subscriber candidate", "err", err)
		}
		return nil
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if p.pub == nil || p.pub.RemoteDescription() == nil {
		if err := p.holdCandidate(len(raw)); err != nil {
			return err
		}
		p.pubCandidates = append(p.pubCandidates, c)
		return nil
	}
	if err := p.pub.AddICECandidate(c); err != nil {
		p.log.Debug("add publisher candidate", "err", err)
	}
	return nil
}

// holdCandidate counts one more held candidate of size bytes, and fails
// once the session has held more than the limits allow.
func (p *Participant) holdCandidate(size int) error {
	n := p.heldCandidates.Add(1)
	b := p.heldCandidateBytes.Add(int64(size))
	if n > maxHeldCandidates || b > maxHeldCandidateBytes {
		return fmt.Errorf("%w: %d candidates (%d bytes) before the connection was negotiated (at most %d, %d bytes)",
			errTooManyCandidates, n, b, maxHeldCandidates, maxHeldCandidateBytes)
	}
	return nil
}

func (p *Participant) handleUpdateMetadata(u *livekit.UpdateParticipantMetadata) {
	if !p.video().GetCanUpdateOwnMetadata() {
		p.log.Info("metadata update refused: no canUpdateOwnMetadata grant")
		return
	}
	p.changed(func() {
		if u.GetName() != "" {
			p.name = u.GetName()
		}
		if u.GetMetadata() != "" {
			p.metadata = u.GetMetadata()
		}
	})
}
