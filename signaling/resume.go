package signaling

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
)

// Session resume. A participant's signaling WebSocket may drop while its
// media still flows (a phone changing networks, a congested school link).
// The SDKs then reconnect with reconnect=1 and the participant's sid: the
// server keeps the participant, its tracks and its subscriptions for
// Params.ResumeGrace after the socket drops, answers the new socket with a
// ReconnectResponse, and restarts ICE on the subscriber PeerConnection (the
// client restarts the publisher's with an offer). The others in the room
// see nothing of it.

// DefaultResumeGrace is how long a participant whose signaling socket
// dropped is kept for a resume.
const DefaultResumeGrace = 15 * time.Second

// ICEServers hands out the ICE servers (TURN with short-lived credentials)
// a participant is told to use, in its join and reconnect responses.
type ICEServers interface {
	ICEServers(identity Identity) []*livekit.ICEServer
}

// link is one signaling WebSocket of a participant: the join's, or one a
// resume brought.
type link struct {
	conn *websocket.Conn
	// stop detaches the writer: it ends without a close frame.
	stop chan struct{}
	// readDone is closed once the read loop over conn has ended.
	readDone   chan struct{}
	writerDone chan struct{}
	// closeSent: a close frame was written outside the writer.
	closeSent atomic.Bool
	// lastRead is when the client last sent something (unix ns).
	lastRead atomic.Int64
	// timedOut: the watchdog closed conn, the client silent too long.
	timedOut atomic.Bool

	mu       sync.Mutex
	watchdog *time.Timer
}

// attach starts writing to conn (first, if set, before anything queued);
// watch, once the PeerConnections exist, watches it for silence.
func (p *Participant) attach(conn *websocket.Conn, first *livekit.SignalResponse) *link {
	l := &link{conn: conn, stop: make(chan struct{}), readDone: make(chan struct{}), writerDone: make(chan struct{})}
	l.lastRead.Store(time.Now().UnixNano())
	p.link.Store(l)
	p.writerW.Add(1)
	go p.writeLoop(l, first)
	return l
}

// detach stops using l, whose read loop has ended.
func (p *Participant) detach(l *link, reason livekit.DisconnectReason) {
	close(l.stop)
	<-l.writerDone
	_ = l.conn.Close()
	l.mu.Lock()
	l.watchdog.Stop()
	l.mu.Unlock()
	p.link.CompareAndSwap(l, nil)
	p.log.Info("signal connection lost; keeping the participant for a resume", "reason", reason.String(),
		"grace", p.svc.p.ResumeGrace)
}

// watch closes l's connection once the client has been silent for the
// ping timeout, unless its media still flows: on a congested link pings
// queue behind video, and a participant whose PeerConnections are alive is
// not gone.
func (p *Participant) watch(l *link) {
	timeout := p.svc.p.PingTimeout
	check := func() {
		select {
		case <-l.readDone:
			return
		default:
		}
		next := timeout
		idle := time.Since(time.Unix(0, l.lastRead.Load()))
		switch {
		case idle < timeout:
			next = timeout - idle
		case p.mediaFlowing():
			p.log.Debug("signaling silent but media flows; keeping the session", "idle", idle)
			next = timeout / 3
		default:
			p.log.Info("client silent past the ping timeout")
			l.timedOut.Store(true)
			_ = l.conn.Close()
			return
		}
		l.mu.Lock()
		l.watchdog.Reset(next)
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.watchdog = time.AfterFunc(timeout, check)
	l.mu.Unlock()
}

// mediaFlowing reports whether one of the participant's PeerConnections
// is connected: ICE consent checks (RFC 7675) keep passing, so the client
// is there.
func (p *Participant) mediaFlowing() bool {
	alive := func(pc *webrtc.PeerConnection) bool {
		if pc == nil {
			return false
		}
		s := pc.ICEConnectionState()
		return s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted
	}
	p.pubMu.Lock()
	pub := p.pub
	p.pubMu.Unlock()
	return alive(p.sub) || alive(pub)
}

// mayResume says whether a session whose read loop ended for reason is
// kept for a resume.
func (p *Participant) mayResume(reason livekit.DisconnectReason) bool {
	if p.svc.p.ResumeGrace <= 0 || p.isClosed() {
		return false
	}
	return reason == livekit.DisconnectReason_SIGNAL_CLOSE || reason == livekit.DisconnectReason_CONNECTION_TIMEOUT
}

// awaitResume waits up to ResumeGrace for a resume's WebSocket; nil when
// none came or the session ended meanwhile.
func (p *Participant) awaitResume() *websocket.Conn {
	t := time.NewTimer(p.svc.p.ResumeGrace)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return nil
		case <-t.C:
			p.log.Info("no resume within the grace period")
			return nil
		case <-p.resumeSig:
			p.connMu.Lock()
			conn := p.resumeConn
			p.resumeConn = nil
			p.connMu.Unlock()
			if conn != nil {
				return conn
			}
		}
	}
}

// offerResume hands a resume's WebSocket to the session, replacing the
// connection in use (which may look alive to us while the client has
// given up on it). It returns false if the session has ended.
func (p *Participant) offerResume(conn *websocket.Conn) bool {
	p.connMu.Lock()
	old := p.resumeConn
	p.resumeConn = conn
	p.connMu.Unlock()
	if old != nil {
		refuseConnWith(old, livekit.LeaveRequest_DISCONNECT, websocket.CloseGoingAway, "replaced by a newer reconnect")
	}
	if p.isClosed() {
		p.connMu.Lock()
		taken := p.resumeConn != conn
		p.resumeConn = nil
		p.connMu.Unlock()
		return taken // close has dealt with it
	}
	select {
	case p.resumeSig <- struct{}{}:
	default:
	}
	if l := p.link.Load(); l != nil {
		_ = l.conn.Close() // its read loop ends, and the session takes conn up
	}
	return true
}

// dropPending refuses a resume's WebSocket the ended session never took up.
func (p *Participant) dropPending() {
	p.connMu.Lock()
	conn := p.resumeConn
	p.resumeConn = nil
	p.connMu.Unlock()
	if conn != nil {
		refuseConnWith(conn, livekit.LeaveRequest_RECONNECT, websocket.CloseGoingAway, "the session has ended; join again")
	}
}

func (p *Participant) reconnectResponse() *livekit.SignalResponse {
	v := p.svc.p.ServerVersion
	return &livekit.SignalResponse{Message: &livekit.SignalResponse_Reconnect{Reconnect: &livekit.ReconnectResponse{
		IceServers:          p.svc.iceServers(p.identity),
		ClientConfiguration: p.svc.clientConfiguration(),
		ServerInfo:          &livekit.ServerInfo{Edition: livekit.ServerInfo_Standard, Version: v, Protocol: 16, NodeId: p.svc.p.NodeID},
	}}}
}

// resumed restarts the subscriber's ICE on a resumed session: the client's
// network may have changed, and candidates with it.
func (p *Participant) resumed() {
	p.log.Info("session resumed")
	if p.opts.single {
		return // the client restarts ICE with its next offer
	}
	p.negMu.Lock()
	p.iceRestart = true
	if p.offerPending {
		// The client may never have seen the outstanding offer: send it
		// again (applying it twice is harmless); the restart follows its
		// answer.
		p.renegotiate = true
		ld := p.sub.LocalDescription()
		id := p.offerID
		p.negMu.Unlock()
		if ld != nil {
			p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{Offer: &livekit.SessionDescription{
				Type: "offer", Sdp: ld.SDP, Id: id,
			}}})
		}
		return
	}
	p.negMu.Unlock()
	p.negotiate()
}

// handleSyncState applies what a resumed client says it holds: its
// subscriptions (the tracks it subscribed to, or with auto-subscribe those
// it unsubscribed from). The descriptions it carries are those the server
// already has.
func (p *Participant) handleSyncState(s *livekit.SyncState) {
	p.log.Debug("sync state", "subscribe", s.GetSubscription().GetSubscribe(), "tracks", len(s.GetSubscription().GetTrackSids()),
		"published", len(s.GetPublishTracks()))
	if sub := s.GetSubscription(); sub != nil && (len(sub.GetTrackSids()) > 0 || len(sub.GetParticipantTracks()) > 0) {
		p.handleSubscription(sub)
	}
}

// clientConfiguration tells the SDKs whether to resume or rejoin.
func (s *Service) clientConfiguration() *livekit.ClientConfiguration {
	if s.p.ResumeGrace <= 0 {
		return &livekit.ClientConfiguration{ResumeConnection: livekit.ClientConfigSetting_DISABLED}
	}
	return &livekit.ClientConfiguration{ResumeConnection: livekit.ClientConfigSetting_ENABLED}
}

func (s *Service) iceServers(identity Identity) []*livekit.ICEServer {
	if s.p.ICEServers == nil {
		return nil
	}
	return s.p.ICEServers.ICEServers(identity)
}

// serveResume takes up a reconnect=1&sid=… request: only the same
// identity, with a valid token for the same room, resumes that sid; the
// Admission is asked again (an account deactivated meanwhile does not come
// back), the join gates are not (they decide joins, not presence). A resume
// that finds no session is told to rejoin.
func (s *Service) serveResume(w http.ResponseWriter, r *http.Request, grants *auth.ClaimGrants, sid ParticipantID) {
	if s.p.Admission != nil {
		if err := s.p.Admission.Admit(r.Context(), RoomName(grants.Video.Room), Identity(grants.Identity)); err != nil {
			writeRefusal(w, s.admissionError(err, grants))
			return
		}
	}
	var p *Participant
	if room := s.existingRoom(grants.Video.Room); room != nil {
		room.mu.Lock()
		p = room.participants[Identity(grants.Identity)]
		room.mu.Unlock()
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(s.p.MaxFrameSize)
	if p == nil || p.sid != sid {
		s.log.Info("resume refused: no such session; asking the client to rejoin", "participant", grants.Identity,
			"room", grants.Video.Room, "sid", string(sid))
		refuseConnWith(conn, livekit.LeaveRequest_RECONNECT, websocket.CloseNormalClosure, "no session to resume; join again")
		return
	}
	if !p.offerResume(conn) {
		refuseConnWith(conn, livekit.LeaveRequest_RECONNECT, websocket.CloseNormalClosure, "the session has ended; join again")
	}
}

// refuseConnWith ends an upgraded connection that will not carry a
// session: a leave with action, then a close frame that says why.
func refuseConnWith(conn *websocket.Conn, action livekit.LeaveRequest_Action, code int, why string) {
	deadline := time.Now().Add(time.Second)
	reason := livekit.DisconnectReason_STATE_MISMATCH
	if _, b, err := encodeResponse(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
		Reason: reason, Action: action, CanReconnect: action != livekit.LeaveRequest_DISCONNECT,
	}}}, false); err == nil {
		_ = conn.SetWriteDeadline(deadline)
		_ = conn.WriteMessage(websocket.BinaryMessage, b)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, closeReason(why)), deadline)
	_ = conn.Close()
}
