package signaling

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// admissionTimeout bounds one Admission check at refresh time.
const admissionTimeout = 10 * time.Second

// refresh sends the client a fresh access token, valid for twice
// TokenRefreshInterval, as LiveKit's server does every such interval (see
// timerLoop): the SDKs keep the latest token and rejoin with it, so join
// tokens need only live long enough to connect. Before each refresh the
// Admission is asked again, so that a participant whose account was
// deactivated meanwhile is removed rather than kept in the room. It reports
// whether p is still admitted.
func (p *Participant) refresh() bool {
	if !p.stillAdmitted() {
		return false
	}
	p.sendRefreshedToken()
	return true
}

// timerLoop is the participant's one goroutine for periodic work: token
// refresh and connection quality. One loop instead of one per job keeps the
// goroutines per participant down.
func (p *Participant) timerLoop() {
	defer p.writerW.Done()
	rt := time.NewTicker(p.svc.p.TokenRefreshInterval)
	defer rt.Stop()
	qt := time.NewTicker(qualityInterval)
	defer qt.Stop()
	refresh := rt.C
	var q qualityLoopState
	for {
		select {
		case <-p.done:
			return
		case <-refresh:
			if !p.refresh() {
				// Removed: no more tokens; quality runs until done.
				rt.Stop()
				refresh = nil
			}
		case <-qt.C:
			p.qualityTick(&q)
		}
	}
}

// stillAdmitted asks the Admission again; a refused participant is removed.
// A failure to decide keeps the session (its token is good for a while yet).
func (p *Participant) stillAdmitted() bool {
	a := p.svc.p.Admission
	if a == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), admissionTimeout)
	defer cancel()
	err := a.Admit(ctx, p.room.name, p.identity)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrNotAdmitted):
		p.log.Warn("removing participant: no longer admitted", "reason", err.Error())
		p.sendLeave(livekit.DisconnectReason_PARTICIPANT_REMOVED, websocket.ClosePolicyViolation, err.Error())
		p.close(livekit.DisconnectReason_PARTICIPANT_REMOVED)
		return false
	default:
		p.log.Warn("token not refreshed: admission check failed", "err", err)
		return true
	}
}

// sendRefreshedToken sends the client a token for what it is now: its
// name, metadata, attributes and permissions as an admin may have changed
// them, so that a rejoin keeps them.
func (p *Participant) sendRefreshedToken() {
	secret, ok := p.svc.p.Keys.Secret(p.apiKey)
	if !ok {
		p.log.Warn("token not refreshed: its API key is no longer configured")
		return
	}
	p.mu.Lock()
	name, metadata, attrs := p.name, p.metadata, maps.Clone(p.attributes)
	p.mu.Unlock()
	tok, err := auth.NewAccessToken(p.apiKey, secret).
		SetIdentity(string(p.identity)).
		SetName(name).
		SetKind(p.grants.GetParticipantKind()).
		SetMetadata(metadata).
		SetAttributes(attrs).
		SetVideoGrant(p.video().Clone()).
		SetValidFor(2 * p.svc.p.TokenRefreshInterval).
		ToJWT()
	if err != nil {
		p.log.Error("token not refreshed", "err", err)
		return
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RefreshToken{RefreshToken: tok}})
}
