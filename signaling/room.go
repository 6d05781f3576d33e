package signaling

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"yunke/sfu"
)

// Room is one live room: its participants and their published tracks.
type Room struct {
	svc     *Service
	name    RoomName
	sid     string
	created time.Time
	log     *slog.Logger
	// emptyTimer closes the room once it has stayed empty; guarded by svc.mu.
	emptyTimer *time.Timer
	// opener is the identity charged with opening the room (see
	// Params.MaxRoomsPerIdentity), or "" for one that may create rooms.
	opener Identity

	mu           sync.Mutex
	participants map[Identity]*Participant
	metadata     string
	recording    bool // active_recording: the room is being recorded
}

func newRoom(svc *Service, name RoomName) *Room {
	r := &Room{
		svc:          svc,
		name:         name,
		sid:          newID("RM_"),
		created:      time.Now(),
		participants: make(map[Identity]*Participant),
	}
	r.log = svc.log.With("room", string(name))
	r.log.Info("room created", "sid", r.sid)
	return r
}

func (r *Room) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.participants)
}

// has reports whether identity is in the room.
func (r *Room) has(identity Identity) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.participants[identity] != nil
}

// list copies the participants.
func (r *Room) list() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, p)
	}
	return out
}

func (r *Room) infoLocked() *livekit.Room {
	n := 0
	for _, p := range r.participants {
		if !p.hidden() {
			n++
		}
	}
	return &livekit.Room{
		Sid:              r.sid,
		Name:             string(r.name),
		EmptyTimeout:     300,
		DepartureTimeout: 20,
		MaxParticipants:  uint32(r.svc.p.MaxParticipants),
		CreationTime:     r.created.Unix(),
		CreationTimeMs:   r.created.UnixMilli(),
		NumParticipants:  uint32(n),
		ActiveRecording:  r.recording,
		Metadata:         r.metadata,
	}
}

// join adds p, replacing an earlier session of the same identity (a full
// reconnect): the old one is told DISCONNECTED first, so that others never
// confuse the two. onJoined runs under the room's lock with the others as p
// should see them, so p's join response is queued before anything another
// participant sends it.
func (r *Room) join(p *Participant, onJoined func(others []*livekit.ParticipantInfo, room *livekit.Room)) error {
	r.mu.Lock()
	old := r.participants[p.identity]
	r.mu.Unlock()
	if old != nil {
		old.closeWithLeave(livekit.DisconnectReason_DUPLICATE_IDENTITY, livekit.LeaveRequest_DISCONNECT)
	}

	r.mu.Lock()
	if cur := r.participants[p.identity]; cur != nil && cur != old {
		// Another session of this identity won a race; it goes too.
		r.mu.Unlock()
		cur.closeWithLeave(livekit.DisconnectReason_DUPLICATE_IDENTITY, livekit.LeaveRequest_DISCONNECT)
		r.mu.Lock()
	}
	if maxP := r.svc.p.MaxParticipants; maxP > 0 && len(r.participants) >= maxP {
		r.mu.Unlock()
		return errRoomFull
	}
	others := make([]*livekit.ParticipantInfo, 0, len(r.participants))
	for _, o := range r.participants {
		if !o.hidden() {
			others = append(others, o.info())
		}
	}
	r.participants[p.identity] = p
	onJoined(others, r.infoLocked())
	r.mu.Unlock()
	ev := p.fullEvent()
	r.svc.observe(func(ctx context.Context, o Observer) { o.ParticipantJoined(ctx, ev) })
	return nil
}

// leave removes p (if it is still the session for its identity) and tells
// the others.
func (r *Room) leave(p *Participant) {
	r.mu.Lock()
	removed := r.participants[p.identity] == p
	if removed {
		delete(r.participants, p.identity)
	}
	r.mu.Unlock()
	// A session replaced by a rejoin of the same identity is not a departure.
	if removed {
		ev := p.fullEvent()
		r.svc.observe(func(ctx context.Context, o Observer) { o.ParticipantLeft(ctx, ev) })
	}
	r.svc.roomEmpty(r)
}

// broadcastUpdate sends p's info to everyone else (unless p is hidden).
func (r *Room) broadcastUpdate(p *Participant, info *livekit.ParticipantInfo) {
	if p.hidden() {
		return
	}
	for _, o := range r.list() {
		if o != p {
			o.queueUpdate(info)
		}
	}
}

// trackPublished subscribes every other auto-subscribing participant.
func (r *Room) trackPublished(pub *Participant, t *sfu.Track) {
	for _, o := range r.list() {
		if o != pub && o.autoSubscribe() {
			o.subscribe(t)
		}
	}
}

// findTrack looks a published track up by sid.
func (r *Room) findTrack(sid TrackID) (*Participant, *sfu.Track) {
	for _, p := range r.list() {
		if t := p.publishedTrack(sid); t != nil {
			return p, t
		}
	}
	return nil, nil
}

// forwardData delivers a data packet from one participant to the others, or
// to the listed identities only.
func (r *Room) forwardData(from *Participant, dp *livekit.DataPacket, reliable bool, raw []byte) {
	dest := dp.GetDestinationIdentities()
	if u := dp.GetUser(); len(dest) == 0 && u != nil {
		dest = u.GetDestinationIdentities()
	}
	var want map[string]bool
	if len(dest) > 0 {
		want = make(map[string]bool, len(dest))
		for _, d := range dest {
			want[d] = true
		}
	}
	for _, o := range r.list() {
		if o == from {
			continue
		}
		if want != nil && !want[string(o.identity)] {
			continue
		}
		o.sendData(raw, reliable)
	}
}

// speakerChanged tells everyone that p started or stopped speaking (or how
// loudly); called on a track's receive goroutine, so it only queues.
func (r *Room) speakerChanged(p *Participant, level float32, active bool) {
	if p.hidden() {
		return
	}
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_SpeakersChanged{
		SpeakersChanged: &livekit.SpeakersChanged{Speakers: []*livekit.SpeakerInfo{{
			Sid: string(p.sid), Level: level, Active: active,
		}}},
	}}
	for _, o := range r.list() {
		o.send(msg)
	}
	if p.speaking.Swap(active) != active {
		// Re-ranking takes subscription locks: not on the receive goroutine.
		go func() {
			for _, o := range r.list() {
				if o != p {
					o.focusChanged(p, active)
				}
			}
		}()
	}
}
