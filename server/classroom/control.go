package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/signaling"
	"yunke/storage"
)

// Participant attributes the classroom sets (clients read them).
const (
	// HandAttribute holds the time a hand was raised (Unix ms); absent when down.
	HandAttribute = "hand"
	// StageAttribute is "1" while a student is on stage.
	StageAttribute = "stage"
	// MetadataKey is the key of the classroom's object in the room metadata.
	MetadataKey = "classroom"
	// Topic is the topic of the data packets the classroom sends (JSON).
	Topic = "yunke.classroom"
	// MaxChatText bounds a chat message, in characters; longer ones are dropped.
	MaxChatText = 2000
)

// chatTopics are the user-packet topics chat travels on: Yunke's web client
// ("chat") and LiveKit's components ("lk-chat-topic").
var chatTopics = map[string]bool{"chat": true, "lk-chat-topic": true}

// stageSources are what a student on stage may publish.
var stageSources = []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE,
	livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO}

// caller is who calls a classroom route in a room.
type caller struct {
	user  storage.UserID
	role  Role
	place storage.ClassroomPlace
	// oversees: an administrator in scope rather than the room's teacher.
	oversees bool
}

// placeOf is where the room's activity is counted.
func (s *Service) placeOf(ctx context.Context, room signaling.RoomName) (httpapi.Place, bool, storage.ClassroomPlace, error) {
	pl, ok, err := s.roles.Place(ctx, room)
	if err != nil {
		return httpapi.Place{}, false, storage.ClassroomPlace{}, err
	}
	return pl, ok, storage.ClassroomPlace{DistrictID: pl.District, SchoolID: pl.School}, nil
}

// whoIs resolves the caller's role in an open room (errNotInRoom when it is
// not open).
func (s *Service) whoIs(r *http.Request, room signaling.RoomName) (caller, error) {
	p := httpapi.PrincipalFrom(r.Context())
	if p == nil {
		return caller{}, httpapi.ErrUnauthenticated
	}
	role, err := s.roles.Role(r.Context(), room, p.User.ID)
	if errors.Is(err, signaling.ErrNoRoom) {
		return caller{}, errNotInRoom
	}
	if err != nil {
		return caller{}, err
	}
	_, _, where, err := s.placeOf(r.Context(), room)
	if err != nil {
		return caller{}, err
	}
	return caller{user: p.User.ID, role: role, place: where}, nil
}

// moderator admits the room's teacher or assistant (with classroom.moderate)
// or an administrator whose classroom.oversee scope covers the room.
func (s *Service) moderator(r *http.Request, room signaling.RoomName) (caller, error) {
	c, err := s.whoIs(r, room)
	if err != nil {
		return caller{}, err
	}
	if c.role.Moderates() {
		if _, err := httpapi.Authorize(r, authz.ClassroomModerate); err != nil {
			return caller{}, err
		}
		return c, nil
	}
	pl, ok, _, err := s.placeOf(r.Context(), room)
	if err != nil {
		return caller{}, err
	}
	if ok {
		if _, err := httpapi.Authorize(r, authz.ClassroomOversee, pl); err == nil {
			c.oversees = true
			return c, nil
		}
	}
	return caller{}, errNotTeacher
}

// participant admits someone in the room (of one of roles, if given).
func (s *Service) participant(r *http.Request, room signaling.RoomName, roles ...Role) (caller, error) {
	c, err := s.whoIs(r, room)
	if err != nil {
		return caller{}, err
	}
	if c.role == RoleNone {
		return caller{}, errNotInClass
	}
	if len(roles) > 0 && !slices.Contains(roles, c.role) {
		return caller{}, &Error{http.StatusForbidden, "forbidden", fmt.Sprintf("a %s of the class may not do this", c.role)}
	}
	return c, nil
}

// target is a participant a moderator acts on; it must be a student.
func (s *Service) target(room signaling.RoomName, identity signaling.Identity) (signaling.Member, error) {
	m, err := s.rooms.Member(room, identity)
	if errors.Is(err, signaling.ErrNoParticipant) || (err == nil && m.Hidden) {
		return signaling.Member{}, errNoSuchParticipant
	}
	if errors.Is(err, signaling.ErrNoRoom) {
		return signaling.Member{}, errNotInRoom
	}
	if err != nil {
		return signaling.Member{}, err
	}
	if RoleOfGrant(m.RoomAdmin, m.Hidden, m.Info.GetAttributes()) != RoleStudent {
		return signaling.Member{}, errNotStudent
	}
	return m, nil
}

// setHand raises or lowers identity's hand and records it.
func (s *Service) setHand(ctx context.Context, room signaling.RoomName, identity signaling.Identity, raised bool, by storage.UserID, where storage.ClassroomPlace) (*livekit.ParticipantInfo, error) {
	m, err := s.rooms.Member(room, identity)
	if err != nil {
		return nil, err
	}
	was := m.Info.GetAttributes()[HandAttribute] != ""
	if was == raised {
		return m.Info, nil
	}
	now := s.now()
	v, kind := "", "lowered"
	if raised {
		v, kind = strconv.FormatInt(now.UnixMilli(), 10), "raised"
	}
	info, err := s.rooms.UpdateParticipant(room, identity, &livekit.UpdateParticipantRequest{Attributes: map[string]string{HandAttribute: v}})
	if err != nil {
		return nil, err
	}
	if err := s.store.AddHandEvent(ctx, where, storage.HandEvent{Room: string(room), Identity: string(identity), UserID: accountOf(identity),
		Kind: kind, ByUser: by, At: now}); err != nil {
		s.log.Error("hand event not recorded", "room", string(room), "participant", string(identity), "err", err)
	}
	return info, nil
}

// Hand is one raised hand in the teacher's queue.
type Hand struct {
	Identity string    `json:"identity"`
	Name     string    `json:"name"`
	RaisedAt time.Time `json:"raised_at"`
	OnStage  bool      `json:"on_stage"`
}

// hands is the room's queue of raised hands, first raised first.
func (s *Service) hands(room signaling.RoomName) ([]Hand, error) {
	ms, err := s.rooms.Members(room)
	if err != nil {
		return nil, err
	}
	out := []Hand{}
	for _, m := range ms {
		a := m.Info.GetAttributes()
		v, err := strconv.ParseInt(a[HandAttribute], 10, 64)
		if m.Hidden || err != nil {
			continue
		}
		out = append(out, Hand{Identity: m.Info.GetIdentity(), Name: m.Info.GetName(), RaisedAt: time.UnixMilli(v).UTC(), OnStage: a[StageAttribute] != ""})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RaisedAt.Equal(out[j].RaisedAt) {
			return out[i].RaisedAt.Before(out[j].RaisedAt)
		}
		return out[i].Identity < out[j].Identity
	})
	return out, nil
}

// setStage brings a student on stage (publish camera, microphone and
// screen) or back (publishing ends, and so do their tracks).
func (s *Service) setStage(ctx context.Context, c caller, room signaling.RoomName, m signaling.Member, on bool) (*livekit.ParticipantInfo, error) {
	perm := proto.Clone(m.Info.GetPermission()).(*livekit.ParticipantPermission)
	if perm == nil {
		perm = &livekit.ParticipantPermission{CanSubscribe: true, CanPublishData: true}
	}
	attrs := map[string]string{StageAttribute: ""}
	kind := "stage_off"
	if on {
		perm.CanPublish, perm.CanPublishSources = true, slices.Clone(stageSources)
		attrs[StageAttribute], attrs[HandAttribute] = "1", ""
		kind = "stage_on"
	} else {
		perm.CanPublish, perm.CanPublishSources = false, nil
	}
	identity := signaling.Identity(m.Info.GetIdentity())
	info, err := s.rooms.UpdateParticipant(room, identity, &livekit.UpdateParticipantRequest{Permission: perm, Attributes: attrs})
	if err != nil {
		return nil, err
	}
	if err := s.store.AddHandEvent(ctx, c.place, storage.HandEvent{Room: string(room), Identity: string(identity), UserID: accountOf(identity),
		Kind: kind, ByUser: c.user, At: s.now()}); err != nil {
		s.log.Error("stage event not recorded", "room", string(room), "participant", string(identity), "err", err)
	}
	return info, nil
}

// Settings are a room's controls as its metadata carries them.
type Settings struct {
	Locked      bool   `json:"locked"`
	StudentChat bool   `json:"student_chat"`
	Spotlight   string `json:"spotlight,omitempty"`
}

func (s *Service) settings(room signaling.RoomName) Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stateLocked(room)
	return Settings{Locked: st.Locked, StudentChat: st.StudentChat, Spotlight: st.Spotlight}
}

// settingsChange is a change of settings; nil fields stay.
type settingsChange struct {
	Locked      *bool   `json:"locked"`
	StudentChat *bool   `json:"student_chat"`
	Spotlight   *string `json:"spotlight"`
}

// changeSettings applies ch and publishes the room metadata.
func (s *Service) changeSettings(room signaling.RoomName, ch settingsChange) (Settings, error) {
	if ch.Spotlight != nil && *ch.Spotlight != "" {
		m, err := s.rooms.Member(room, signaling.Identity(*ch.Spotlight))
		if err != nil || m.Hidden {
			return Settings{}, (httpapi.Fields{"spotlight": "nobody with this identity is in the class"}).Err()
		}
	}
	var out Settings
	_, err := s.rooms.UpdateRoomMetadata(room, func(old string) string {
		s.mu.Lock()
		st := s.stateLocked(room)
		if ch.Locked != nil {
			st.Locked = *ch.Locked
		}
		if ch.StudentChat != nil {
			st.StudentChat = *ch.StudentChat
		}
		if ch.Spotlight != nil {
			st.Spotlight = *ch.Spotlight
		}
		out = Settings{Locked: st.Locked, StudentChat: st.StudentChat, Spotlight: st.Spotlight}
		s.mu.Unlock()
		return mergeMetadata(old, out)
	})
	if errors.Is(err, signaling.ErrNoRoom) {
		return Settings{}, errNotInRoom
	}
	return out, err
}

// mergeMetadata sets the classroom's key in a room's JSON metadata,
// keeping the other keys (metadata that is not a JSON object is replaced).
func mergeMetadata(old string, st Settings) string {
	obj := map[string]json.RawMessage{}
	if old != "" && json.Unmarshal([]byte(old), &obj) != nil {
		obj = map[string]json.RawMessage{}
	}
	b, _ := json.Marshal(st)
	obj[MetadataKey] = b
	out, _ := json.Marshal(obj)
	return string(out)
}

// send delivers a classroom event (JSON on Topic) to the room, or to the
// listed identities.
func (s *Service) send(room signaling.RoomName, event any, to ...string) {
	b, err := json.Marshal(event)
	if err != nil {
		s.log.Error("classroom event", "err", err)
		return
	}
	topic := Topic
	dp := &livekit.DataPacket{Kind: livekit.DataPacket_RELIABLE, DestinationIdentities: to,
		Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: b, Topic: &topic, DestinationIdentities: to}}}
	if err := s.rooms.SendData(room, dp); err != nil && !errors.Is(err, signaling.ErrNoRoom) {
		s.log.Warn("classroom event not sent", "room", string(room), "err", err)
	}
}

// moderators are the identities of the room's teacher and assistants.
func (s *Service) moderators(room signaling.RoomName) []string {
	ms, err := s.rooms.Members(room)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range ms {
		if RoleOfGrant(m.RoomAdmin, m.Hidden, m.Info.GetAttributes()).Moderates() {
			out = append(out, m.Info.GetIdentity())
		}
	}
	return out
}

// ---- signaling hooks

// ParticipantJoined implements signaling.Observer: a locked class lets
// those who were in it back in.
func (s *Service) ParticipantJoined(_ context.Context, p signaling.ParticipantEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stateLocked(p.Room).joined[p.Identity] = true
}

// RoomClosed implements signaling.RoomCloseObserver: a closed room's
// controls are forgotten with its metadata (a room opened again under the
// name starts unlocked, with student chat allowed).
func (s *Service) RoomClosed(_ context.Context, room signaling.RoomName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.state, room)
}

var _ signaling.RoomCloseObserver = (*Service)(nil)

// ParticipantLeft implements signaling.Observer.
func (s *Service) ParticipantLeft(context.Context, signaling.ParticipantEvent) {}

// TrackPublished implements signaling.Observer.
func (s *Service) TrackPublished(context.Context, signaling.TrackEvent) {}

// TrackUnpublished implements signaling.Observer.
func (s *Service) TrackUnpublished(context.Context, signaling.TrackEvent) {}

// AdmitJoin implements signaling.JoinGate: someone removed from the room
// stays out, and a locked class takes no new students.
func (s *Service) AdmitJoin(ctx context.Context, j signaling.JoinRequest) error {
	banned, err := s.store.IsBanned(ctx, string(j.Room), string(j.Identity), s.now().Add(-s.window))
	if err != nil {
		return fmt.Errorf("classroom admission: %w", err)
	}
	if banned {
		return fmt.Errorf("%w: you were removed from this class", signaling.ErrNotAdmitted)
	}
	if RoleOfGrant(j.RoomAdmin, j.Hidden, j.Attributes) != RoleStudent {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state[j.Room]
	if st != nil && st.Locked && !st.joined[j.Identity] {
		return fmt.Errorf("%w: the class is locked; ask the teacher", signaling.ErrNotAdmitted)
	}
	return nil
}

// chatOf reads a chat message out of a data packet: LiveKit's ChatMessage,
// or a user packet on a chat topic carrying {id, timestamp, message}.
func chatOf(dp *livekit.DataPacket) (msgID, text string, ok bool) {
	switch v := dp.Value.(type) {
	case *livekit.DataPacket_ChatMessage:
		c := v.ChatMessage
		if c == nil || c.GetDeleted() || c.GetEditTimestamp() != 0 {
			return "", "", false // edits and deletions of one's own message are relayed, not stored
		}
		return c.GetId(), c.GetMessage(), true
	case *livekit.DataPacket_User:
		if v.User == nil || !chatTopics[v.User.GetTopic()] {
			return "", "", false
		}
		var m struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		}
		if json.Unmarshal(v.User.GetPayload(), &m) != nil {
			return "", "", false
		}
		return m.ID, m.Message, true
	}
	return "", "", false
}

// chatStoreTimeout bounds storing one message (on the sender's data goroutine).
const chatStoreTimeout = 3 * time.Second

// FilterData implements signaling.DataFilter: chat is stored before it is
// relayed; students' chat is dropped while student chat is stopped, and
// chat packets over MaxChatText characters are dropped (a text stream's
// record keeps its first MaxChatText).
func (s *Service) FilterData(ctx context.Context, d signaling.DataEvent) bool {
	stopped := RoleOfGrant(d.Participant.RoomAdmin, d.Participant.Hidden, d.Participant.Attributes) == RoleStudent && !s.settings(d.Room).StudentChat
	if forward, handled := s.filterStream(ctx, d, stopped); handled {
		return forward
	}
	msgID, text, ok := chatOf(d.Packet)
	if !ok {
		return true
	}
	if stopped || utf8.RuneCountInString(text) > MaxChatText || len(msgID) > 128 || !utf8.ValidString(text) ||
		!s.allowChat(d.Room, d.Participant.Identity) {
		return false
	}
	s.storeChat(ctx, d.Room, d.Participant, msgID, text)
	return true
}
