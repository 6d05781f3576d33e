package signaling

import (
	"context"
	"errors"
	"net/http"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"
)

// RoomService implements LiveKit's server API (livekit.RoomService over
// Twirp, at /twirp/livekit.RoomService/…) so that LiveKit server SDKs and
// tools list rooms, mute and remove participants, change permissions
// (bringing a student on stage) and send data. Calls are authorized by an
// API token: roomCreate to create or delete rooms, roomList to list them,
// roomAdmin for the named room for everything else.
//
// A caller is a server or a participant. A token with a roomJoin grant is a
// participant's (a teacher's room token carries roomAdmin for its room),
// unless it also has roomCreate or roomList, which no room token Yunke mints
// has; server SDKs and tools sign their own tokens without roomJoin. To a
// participant caller, hidden participants (review experts watching a class)
// do not exist: they are not listed, calls naming them fail with not_found
// as for someone absent, and it can hide, unhide or promote no one
// (permission.hidden, recorder and agent keep their values). A server
// caller sees and manages everyone.
type RoomService struct{ s *Service }

var _ livekit.RoomService = (*RoomService)(nil)

type grantsKey struct{}

// RegisterRoomService adds the Twirp RoomService to mux.
func (s *Service) RegisterRoomService(mux *http.ServeMux) {
	h := livekit.NewRoomServiceServer(&RoomService{s: s}, twirp.WithServerPathPrefix("/twirp"))
	mux.Handle(h.PathPrefix(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowCORS(w)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		grants, err := s.verifyAPIToken(tokenFrom(r))
		if err != nil {
			_ = twirp.WriteError(w, twirp.Unauthenticated.Error(err.Error()))
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantsKey{}, grants)))
	}))
}

// verifyAPIToken checks an API token's signature and expiry; what it may do
// is checked per call.
func (s *Service) verifyAPIToken(raw string) (*auth.ClaimGrants, error) {
	if raw == "" {
		return nil, errors.New("no access token: pass an Authorization: Bearer header")
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return nil, errors.New("invalid access token: not a JWT")
	}
	secret, ok := s.p.Keys.Secret(v.APIKey())
	if !ok {
		return nil, errors.New("invalid access token: unknown API key")
	}
	_, grants, err := v.Verify(secret)
	if err != nil {
		return nil, errors.New("invalid access token: " + tokenProblem(err))
	}
	return grants, nil
}

func grantOf(ctx context.Context) *auth.VideoGrant {
	g, _ := ctx.Value(grantsKey{}).(*auth.ClaimGrants)
	if g == nil || g.Video == nil {
		return &auth.VideoGrant{}
	}
	return g.Video
}

var errPermission = twirp.PermissionDenied.Error("the token does not grant this")

// seesHidden reports whether the caller is a server, which sees hidden
// participants, rather than a participant (see RoomService).
func seesHidden(ctx context.Context) bool {
	g := grantOf(ctx)
	return !g.RoomJoin || g.RoomCreate || g.RoomList
}

func requireAdmin(ctx context.Context, room string) error {
	g := grantOf(ctx)
	if !g.RoomAdmin || (g.Room != "" && g.Room != room) {
		return twirp.PermissionDenied.Errorf("the token has no roomAdmin grant for room %q", room)
	}
	return nil
}

// CloseRoom disconnects everyone in the room (telling them it was deleted)
// and closes it. It reports whether the room existed.
func (s *Service) CloseRoom(name RoomName) bool {
	r := s.existingRoom(string(name))
	if r == nil {
		return false
	}
	for _, p := range r.list() {
		p.closeWithLeave(livekit.DisconnectReason_ROOM_DELETED, livekit.LeaveRequest_DISCONNECT)
	}
	s.mu.Lock()
	if s.rooms[r.name] == r {
		s.dropRoomLocked(r)
	}
	s.mu.Unlock()
	return true
}

// SetActiveRecording sets the room's active_recording flag and tells
// everyone in it (livekit-client raises RoomEvent.RecordingStatusChanged);
// it reports false when the room is not open.
func (s *Service) SetActiveRecording(name RoomName, active bool) bool {
	r := s.existingRoom(string(name))
	if r == nil {
		return false
	}
	r.mu.Lock()
	changed := r.recording != active
	r.recording = active
	info := r.infoLocked()
	r.mu.Unlock()
	if changed {
		msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{RoomUpdate: &livekit.RoomUpdate{Room: info}}}
		for _, p := range r.list() {
			p.send(msg)
		}
	}
	return true
}

// existingRoom finds a room without creating it.
func (s *Service) existingRoom(name string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[RoomName(name)]
}

func (rs *RoomService) participant(ctx context.Context, room, identity string) (*Participant, error) {
	if err := requireAdmin(ctx, room); err != nil {
		return nil, err
	}
	p, err := rs.s.lookup(RoomName(room), Identity(identity))
	switch {
	case errors.Is(err, ErrNoRoom):
		return nil, twirp.NotFound.Errorf("room %q does not exist", room)
	case err != nil || (p.hidden() && !seesHidden(ctx)):
		return nil, twirp.NotFound.Errorf("participant %q is not in room %q", identity, room)
	}
	return p, nil
}

// CreateRoom opens a room (or returns the existing one).
func (rs *RoomService) CreateRoom(ctx context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error) {
	if !grantOf(ctx).RoomCreate {
		return nil, errPermission
	}
	if req.GetName() == "" {
		return nil, twirp.RequiredArgumentError("name")
	}
	r, err := rs.s.room(RoomName(req.GetName()), "")
	if err != nil {
		return nil, twirp.Unavailable.Error(err.Error())
	}
	r.mu.Lock()
	if req.GetMetadata() != "" {
		r.metadata = req.GetMetadata()
	}
	info := r.infoLocked()
	r.mu.Unlock()
	rs.s.roomEmpty(r) // an unused room closes after the empty timeout
	return info, nil
}

// ListRooms lists the open rooms, or the named ones.
func (rs *RoomService) ListRooms(ctx context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error) {
	if !grantOf(ctx).RoomList {
		return nil, errPermission
	}
	want := map[string]bool{}
	for _, n := range req.GetNames() {
		want[n] = true
	}
	rs.s.mu.Lock()
	rooms := make([]*Room, 0, len(rs.s.rooms))
	for _, r := range rs.s.rooms {
		if len(want) == 0 || want[string(r.name)] {
			rooms = append(rooms, r)
		}
	}
	rs.s.mu.Unlock()
	out := &livekit.ListRoomsResponse{}
	for _, r := range rooms {
		r.mu.Lock()
		out.Rooms = append(out.Rooms, r.infoLocked())
		r.mu.Unlock()
	}
	return out, nil
}

// DeleteRoom disconnects everyone and closes the room.
func (rs *RoomService) DeleteRoom(ctx context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error) {
	if !grantOf(ctx).RoomCreate {
		return nil, errPermission
	}
	if !rs.s.CloseRoom(RoomName(req.GetRoom())) {
		return nil, twirp.NotFound.Errorf("room %q does not exist", req.GetRoom())
	}
	return &livekit.DeleteRoomResponse{}, nil
}

// ListParticipants lists a room's participants, hidden ones included for a
// server caller.
func (rs *RoomService) ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	if err := requireAdmin(ctx, req.GetRoom()); err != nil {
		return nil, err
	}
	r := rs.s.existingRoom(req.GetRoom())
	if r == nil {
		return nil, twirp.NotFound.Errorf("room %q does not exist", req.GetRoom())
	}
	out := &livekit.ListParticipantsResponse{}
	all := seesHidden(ctx)
	for _, p := range r.list() {
		if all || !p.hidden() {
			out.Participants = append(out.Participants, p.info())
		}
	}
	return out, nil
}

// GetParticipant returns one participant.
func (rs *RoomService) GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error) {
	p, err := rs.participant(ctx, req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	return p.info(), nil
}

// RemoveParticipant disconnects a participant (it may rejoin with a valid token).
func (rs *RoomService) RemoveParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error) {
	p, err := rs.participant(ctx, req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	p.closeWithLeave(livekit.DisconnectReason_PARTICIPANT_REMOVED, livekit.LeaveRequest_DISCONNECT)
	return &livekit.RemoveParticipantResponse{}, nil
}

// MutePublishedTrack mutes a participant's track; unmuting is the
// participant's own decision, so remote unmute is refused.
func (rs *RoomService) MutePublishedTrack(ctx context.Context, req *livekit.MuteRoomTrackRequest) (*livekit.MuteRoomTrackResponse, error) {
	p, err := rs.participant(ctx, req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	if !req.GetMuted() {
		return nil, twirp.PermissionDenied.Error("remote unmute is not allowed: ask the participant to unmute")
	}
	ti := p.remoteMute(TrackID(req.GetTrackSid()))
	if ti == nil {
		return nil, twirp.NotFound.Errorf("track %q is not published by %q", req.GetTrackSid(), req.GetIdentity())
	}
	return &livekit.MuteRoomTrackResponse{Track: ti}, nil
}

// UpdateParticipant changes name, metadata, attributes or permissions.
func (rs *RoomService) UpdateParticipant(ctx context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	p, err := rs.participant(ctx, req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	p.adminUpdate(req, seesHidden(ctx))
	return p.info(), nil
}

// UpdateSubscriptions subscribes a participant to tracks or unsubscribes it.
func (rs *RoomService) UpdateSubscriptions(ctx context.Context, req *livekit.UpdateSubscriptionsRequest) (*livekit.UpdateSubscriptionsResponse, error) {
	p, err := rs.participant(ctx, req.GetRoom(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	p.handleSubscription(&livekit.UpdateSubscription{
		TrackSids: req.GetTrackSids(), Subscribe: req.GetSubscribe(), ParticipantTracks: req.GetParticipantTracks(),
	})
	return &livekit.UpdateSubscriptionsResponse{}, nil
}

// SendData delivers a data packet from the server to a room.
func (rs *RoomService) SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	if err := requireAdmin(ctx, req.GetRoom()); err != nil {
		return nil, err
	}
	r := rs.s.existingRoom(req.GetRoom())
	if r == nil {
		return nil, twirp.NotFound.Errorf("room %q does not exist", req.GetRoom())
	}
	dp := &livekit.DataPacket{
		Kind:                  req.GetKind(),
		DestinationIdentities: req.GetDestinationIdentities(),
		Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
			Payload: req.GetData(), Topic: req.Topic, DestinationIdentities: req.GetDestinationIdentities(),
		}},
	}
	if err := r.forwardServerData(dp); err != nil {
		return nil, twirp.InvalidArgument.Error(err.Error())
	}
	return &livekit.SendDataResponse{}, nil
}

// UpdateRoomMetadata sets the room's metadata and tells everyone.
func (rs *RoomService) UpdateRoomMetadata(ctx context.Context, req *livekit.UpdateRoomMetadataRequest) (*livekit.Room, error) {
	if err := requireAdmin(ctx, req.GetRoom()); err != nil {
		return nil, err
	}
	info, err := rs.s.UpdateRoomMetadata(RoomName(req.GetRoom()), func(string) string { return req.GetMetadata() })
	if err != nil {
		return nil, twirp.NotFound.Errorf("room %q does not exist", req.GetRoom())
	}
	return info, nil
}

// ForwardParticipant is not supported: there is one media node per room.
func (rs *RoomService) ForwardParticipant(context.Context, *livekit.ForwardParticipantRequest) (*livekit.ForwardParticipantResponse, error) {
	return nil, twirp.Unimplemented.Error("forwarding participants between rooms is not supported")
}

// MoveParticipant is not supported.
func (rs *RoomService) MoveParticipant(context.Context, *livekit.MoveParticipantRequest) (*livekit.MoveParticipantResponse, error) {
	return nil, twirp.Unimplemented.Error("moving participants between rooms is not supported")
}

// PerformRpc is not supported.
func (rs *RoomService) PerformRpc(context.Context, *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	return nil, twirp.Unimplemented.Error("server-initiated RPC is not supported")
}

// remoteMute mutes a published track at an admin's request: the publisher is
// told to mute (its SDK then stops sending), and everyone sees the change.
func (p *Participant) remoteMute(id TrackID) *livekit.TrackInfo {
	p.mu.Lock()
	pub := p.tracks[id]
	p.mu.Unlock()
	if pub == nil {
		return nil
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Mute{Mute: &livekit.MuteTrackRequest{Sid: string(id), Muted: true}}})
	var ti *livekit.TrackInfo
	p.changed(func() {
		pub.info.Muted = true
		ti = proto.Clone(pub.info).(*livekit.TrackInfo)
	})
	return ti
}

// adminUpdate applies an UpdateParticipant request. A permission change is
// sent to the participant too (its SDK re-reads what it may do), with a
// token that carries it, so that a rejoin keeps it; losing publish
// permission ends its tracks. Only a server (byServer) changes whether a
// participant is hidden, a recorder or an agent.
func (p *Participant) adminUpdate(req *livekit.UpdateParticipantRequest, byServer bool) {
	var ended []*publication
	p.changed(func() {
		if req.GetName() != "" {
			p.name = req.GetName()
		}
		if req.GetMetadata() != "" {
			p.metadata = req.GetMetadata()
		}
		for k, v := range req.GetAttributes() {
			if p.attributes == nil {
				p.attributes = map[string]string{}
			}
			if v == "" {
				delete(p.attributes, k)
			} else {
				p.attributes[k] = v
			}
		}
		if perm := req.GetPermission(); perm != nil {
			g := p.video().Clone()
			hidden, recorder, agent := g.Hidden, g.Recorder, g.Agent
			g.UpdateFromPermission(perm)
			if !byServer {
				g.Hidden, g.Recorder, g.Agent = hidden, recorder, agent
			}
			p.grant.Store(g)
			// Tracks of a source no longer allowed end, and addTrack
			// requests still waiting for their media are forgotten.
			for _, pub := range p.tracks {
				if !g.GetCanPublishSource(pub.info.GetSource()) {
					ended = append(ended, pub)
				}
			}
			for cid, ti := range p.pending {
				if !g.GetCanPublishSource(ti.GetSource()) {
					delete(p.pending, cid)
				}
			}
		}
	})
	for _, pub := range ended {
		// The publisher's SDK unpublishes its local track on this, as
		// with LiveKit's server.
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{
			TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: pub.info.GetSid()}}})
		pub.track.Close()
	}
	p.queueUpdate(p.info())
	if req.GetPermission() != nil {
		p.sendRefreshedToken()
	}
}

// forwardServerData sends a server-originated packet to a room.
func (r *Room) forwardServerData(dp *livekit.DataPacket) error {
	raw, err := proto.Marshal(dp)
	if err != nil {
		return err
	}
	r.forwardData(nil, dp, dp.GetKind() != livekit.DataPacket_LOSSY, raw)
	return nil
}
