package signaling

import (
	"context"
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"
)

// The server's own domains (classroom controls) act on rooms through the
// methods below: the same code paths as the RoomService of the LiveKit
// server SDKs, without a token, and with the caller's authority decided by
// the domain.

var (
	// ErrNoRoom: the room is not open on this node.
	ErrNoRoom = errors.New("no such room")
	// ErrNoParticipant: nobody with this identity is in the room.
	ErrNoParticipant = errors.New("no such participant")
	// ErrNoTrack: the participant publishes no such track.
	ErrNoTrack = errors.New("no such track")
)

// JoinGate decides whether a verified token may join its room now. A
// refusal wraps ErrNotAdmitted (the join is refused with HTTP 403 and the
// refusal's message); any other error is a failure to decide (HTTP 503).
type JoinGate interface {
	AdmitJoin(ctx context.Context, j JoinRequest) error
}

// JoinRequest is a join as a JoinGate sees it: the token's grants.
type JoinRequest struct {
	Room       RoomName
	Identity   Identity
	RoomAdmin  bool
	Hidden     bool
	Attributes map[string]string
}

// DataFilter hears a data packet a participant sent and decides whether it
// is forwarded. It is called on the sender's data channel goroutine, in the
// order the sender sent, and must be quick; it must not modify the packet.
type DataFilter interface {
	FilterData(ctx context.Context, d DataEvent) bool
}

// DataEvent is a data packet from a participant, its sender stamped.
type DataEvent struct {
	Room        RoomName
	Participant ParticipantEvent
	Packet      *livekit.DataPacket
}

// Member is a participant as the server's domains see it: its info (as
// other participants see it, hidden ones included) and its grant.
type Member struct {
	Info      *livekit.ParticipantInfo
	RoomAdmin bool
	Hidden    bool
}

func memberOf(p *Participant) Member {
	g := p.video()
	return Member{Info: p.info(), RoomAdmin: g.RoomAdmin, Hidden: g.Hidden}
}

// lookup finds a participant of an open room.
func (s *Service) lookup(room RoomName, identity Identity) (*Participant, error) {
	r := s.existingRoom(string(room))
	if r == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoRoom, room)
	}
	r.mu.Lock()
	p := r.participants[identity]
	r.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %q in room %q", ErrNoParticipant, identity, room)
	}
	return p, nil
}

// RoomInfo is the open room's info (its metadata included).
func (s *Service) RoomInfo(room RoomName) (*livekit.Room, error) {
	r := s.existingRoom(string(room))
	if r == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoRoom, room)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.infoLocked(), nil
}

// Members lists everyone in an open room, hidden participants included.
func (s *Service) Members(room RoomName) ([]Member, error) {
	r := s.existingRoom(string(room))
	if r == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoRoom, room)
	}
	ps := r.list()
	out := make([]Member, 0, len(ps))
	for _, p := range ps {
		out = append(out, memberOf(p))
	}
	return out, nil
}

// Member is one participant of an open room.
func (s *Service) Member(room RoomName, identity Identity) (Member, error) {
	p, err := s.lookup(room, identity)
	if err != nil {
		return Member{}, err
	}
	return memberOf(p), nil
}

// UpdateParticipant applies an UpdateParticipantRequest as RoomService does
// for a participant's token: attributes, metadata and permissions change
// and reach everyone live; who is hidden, a recorder or an agent does not.
// Losing publish permission for a source ends the participant's tracks of
// that source.
func (s *Service) UpdateParticipant(room RoomName, identity Identity, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	p, err := s.lookup(room, identity)
	if err != nil {
		return nil, err
	}
	p.adminUpdate(req, false)
	return p.info(), nil
}

// MuteTrack mutes a participant's published track, as RoomService's
// MutePublishedTrack does.
func (s *Service) MuteTrack(room RoomName, identity Identity, track TrackID) (*livekit.TrackInfo, error) {
	p, err := s.lookup(room, identity)
	if err != nil {
		return nil, err
	}
	ti := p.remoteMute(track)
	if ti == nil {
		return nil, fmt.Errorf("%w: %q of %q", ErrNoTrack, track, identity)
	}
	return ti, nil
}

// RemoveParticipant disconnects a participant, as RoomService's
// RemoveParticipant does (keeping them out is for a JoinGate).
func (s *Service) RemoveParticipant(room RoomName, identity Identity) error {
	p, err := s.lookup(room, identity)
	if err != nil {
		return err
	}
	p.closeWithLeave(livekit.DisconnectReason_PARTICIPANT_REMOVED, livekit.LeaveRequest_DISCONNECT)
	return nil
}

// UpdateRoomMetadata replaces an open room's metadata with change(old),
// atomically, and tells everyone in the room.
func (s *Service) UpdateRoomMetadata(room RoomName, change func(old string) string) (*livekit.Room, error) {
	r := s.existingRoom(string(room))
	if r == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoRoom, room)
	}
	r.mu.Lock()
	r.metadata = change(r.metadata)
	info := r.infoLocked()
	r.mu.Unlock()
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{RoomUpdate: &livekit.RoomUpdate{Room: info}}}
	for _, p := range r.list() {
		p.send(msg)
	}
	return info, nil
}

// SendData delivers a server-originated data packet to an open room (to
// its destination identities only, when it names some), as RoomService's
// SendData does.
func (s *Service) SendData(room RoomName, dp *livekit.DataPacket) error {
	r := s.existingRoom(string(room))
	if r == nil {
		return fmt.Errorf("%w: %q", ErrNoRoom, room)
	}
	return r.forwardServerData(dp)
}
