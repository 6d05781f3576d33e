// Package classroom runs the controls of a live class on the server's
// authority: hands raised and the teacher's queue of them, bringing a
// student on stage and back, muting and removing participants (and keeping
// the removed out), locking the class, allowing or stopping student chat,
// the spotlight, durable chat with its history, and polls and quizzes.
//
// Everything that reaches clients goes over the LiveKit protocol through
// signaling's RoomService code paths (participant permissions and
// attributes, room metadata, data packets), so LiveKit SDKs see the same
// changes as with LiveKit's server. Who is teacher, assistant, student or
// observer in a room is asked of a RoomRoles; by default it is read from
// the grants of the participant's room token.
package classroom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"yunke/server/httpapi"
	"yunke/server/token"
	"yunke/signaling"
	"yunke/storage"
)

// Role is what someone is in a room.
type Role string

const (
	// RoleNone: not in the room.
	RoleNone Role = ""
	// RoleTeacher runs the class (room admin).
	RoleTeacher Role = "teacher"
	// RoleAssistant helps the teacher with the same controls (room admin
	// whose role attribute says assistant).
	RoleAssistant Role = "assistant"
	// RoleStudent takes part.
	RoleStudent Role = "student"
	// RoleObserver watches hidden (experts, administrators).
	RoleObserver Role = "observer"
)

// Moderates reports whether r runs the room's controls.
func (r Role) Moderates() bool { return r == RoleTeacher || r == RoleAssistant }

// RoleOfGrant is the role a participant's grant gives: a hidden one
// observes; a room admin teaches (or assists, when its role attribute says
// so); anyone else is a student. Attributes alone never make a teacher.
func RoleOfGrant(roomAdmin, hidden bool, attrs map[string]string) Role {
	switch {
	case hidden:
		return RoleObserver
	case roomAdmin && attrs[token.RoleAttribute] == string(RoleAssistant):
		return RoleAssistant
	case roomAdmin:
		return RoleTeacher
	default:
		return RoleStudent
	}
}

// RoomRoles says who someone is in a room and where the room belongs. The
// class records may supply their own (the class's teacher and assistants,
// its school) in the composition root.
type RoomRoles interface {
	// Role is what the account is in the open room now (RoleNone: not in
	// it); an error wrapping signaling.ErrNoRoom when the room is not open.
	Role(ctx context.Context, room signaling.RoomName, user storage.UserID) (Role, error)
	// Place is the district and school the room belongs to, for
	// administrators' scope and activity; ok is false when unknown.
	Place(ctx context.Context, room signaling.RoomName) (place httpapi.Place, ok bool, err error)
}

// Rooms is what the package needs of signaling: the RoomService code paths.
type Rooms interface {
	RoomInfo(room signaling.RoomName) (*livekit.Room, error)
	Members(room signaling.RoomName) ([]signaling.Member, error)
	Member(room signaling.RoomName, identity signaling.Identity) (signaling.Member, error)
	UpdateParticipant(room signaling.RoomName, identity signaling.Identity, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error)
	MuteTrack(room signaling.RoomName, identity signaling.Identity, track signaling.TrackID) (*livekit.TrackInfo, error)
	RemoveParticipant(room signaling.RoomName, identity signaling.Identity) error
	UpdateRoomMetadata(room signaling.RoomName, change func(old string) string) (*livekit.Room, error)
	SendData(room signaling.RoomName, dp *livekit.DataPacket) error
}

var _ Rooms = (*signaling.Service)(nil)

// Store is what the classroom needs of durable storage.
type Store interface {
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)

	AddChatMessage(ctx context.Context, m storage.ChatMessage) (storage.ChatMessageID, error)
	ChatHistory(ctx context.Context, room string, since time.Time, after storage.ChatMessageID, limit int, withDeleted bool) ([]storage.ChatMessage, error)
	GetChatMessage(ctx context.Context, room string, id storage.ChatMessageID) (storage.ChatMessage, error)
	DeleteChatMessage(ctx context.Context, a storage.Actor, where storage.ClassroomPlace, room string, id storage.ChatMessageID) (storage.ChatMessage, error)

	CreatePoll(ctx context.Context, a storage.Actor, where storage.ClassroomPlace, p storage.Poll) (storage.Poll, error)
	GetPoll(ctx context.Context, id storage.PollID) (storage.Poll, error)
	ListPolls(ctx context.Context, room string, since time.Time) ([]storage.Poll, error)
	TimedPolls(ctx context.Context) ([]storage.Poll, error)
	StartPoll(ctx context.Context, a storage.Actor, where storage.ClassroomPlace, id storage.PollID, endsAt time.Time) (storage.Poll, error)
	EndPoll(ctx context.Context, id storage.PollID) (storage.Poll, error)
	ShowPoll(ctx context.Context, id storage.PollID) (storage.Poll, error)
	AnswerPoll(ctx context.Context, id storage.PollID, ans storage.PollAnswer) error
	PollAnswers(ctx context.Context, id storage.PollID) ([]storage.PollAnswer, error)

	AddHandEvent(ctx context.Context, where storage.ClassroomPlace, e storage.HandEvent) error

	BanFromRoom(ctx context.Context, a storage.Actor, where storage.ClassroomPlace, room, identity string) error
	UnbanFromRoom(ctx context.Context, room, identity string) error
	IsBanned(ctx context.Context, room, identity string, since time.Time) (bool, error)
}

var _ Store = (*storage.Store)(nil)

// Params are what New needs.
type Params struct {
	Store Store
	// Rooms is signaling (set with SetRooms when signaling is built later).
	Rooms Rooms
	// Roles says who is who in a room; nil: LiveRoles over Rooms and Store.
	Roles  RoomRoles
	Logger *slog.Logger
	Now    func() time.Time
	// HistoryWindow: the chat history and polls of a room go back this
	// far, and a removal keeps out of the room this long (a room name may
	// be used again another day); default 12 h.
	HistoryWindow time.Duration
}

// Service is the classroom domain.
type Service struct {
	store  Store
	rooms  Rooms
	roles  RoomRoles
	log    *slog.Logger
	now    func() time.Time
	window time.Duration

	mu      sync.Mutex
	state   map[signaling.RoomName]*roomState
	streams chatStreams
	// pollTimers end running polls at their time limit.
	pollTimers map[storage.PollID]*time.Timer
}

// roomState is what the server holds of a live room's controls; clients
// read it from the room metadata (docs/api.md).
type roomState struct {
	Locked      bool   `json:"locked"`
	StudentChat bool   `json:"student_chat"`
	Spotlight   string `json:"spotlight,omitempty"`
	// joined are the identities that have been in the room: a locked class
	// still lets them back in after a dropped connection.
	joined map[signaling.Identity]bool
	// chat and hand pace each participant (limits.go).
	chat map[signaling.Identity]*bucket
	hand map[signaling.Identity]time.Time
}

// New returns the classroom service.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.HistoryWindow <= 0 {
		p.HistoryWindow = 12 * time.Hour
	}
	s := &Service{store: p.Store, rooms: p.Rooms, roles: p.Roles, log: p.Logger, now: p.Now, window: p.HistoryWindow,
		state: map[signaling.RoomName]*roomState{}, pollTimers: map[storage.PollID]*time.Timer{}}
	return s
}

// SetRooms gives the service signaling once it is built (signaling hears
// the service as an observer, gate and data filter, so it comes second).
func (s *Service) SetRooms(r Rooms) {
	s.rooms = r
	if s.roles == nil {
		s.roles = LiveRoles{Rooms: r, Schools: s.store}
	}
}

// SetRoles replaces who says who is who in a room (the class records).
func (s *Service) SetRoles(r RoomRoles) { s.roles = r }

// Close stops the poll timers.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.pollTimers {
		t.Stop()
		delete(s.pollTimers, id)
	}
}

// stateLocked is the room's state, created on first use.
func (s *Service) stateLocked(room signaling.RoomName) *roomState {
	st := s.state[room]
	if st == nil {
		st = &roomState{StudentChat: true, joined: map[signaling.Identity]bool{}}
		s.state[room] = st
	}
	return st
}

// identityOf is the room identity of an account (as server/rooms mints it).
func identityOf(u storage.UserID) signaling.Identity {
	return signaling.Identity("u" + strconv.FormatInt(int64(u), 10))
}

// accountOf is the account an identity names, or 0.
func accountOf(id signaling.Identity) storage.UserID {
	s, ok := strings.CutPrefix(string(id), "u")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0
	}
	return storage.UserID(n)
}

// LiveRoles reads roles from the grants of the participants in the room:
// an account's identity is "u<id>". Rooms a school's class names
// "s<school>-…" (server/rooms) belong to that school.
type LiveRoles struct {
	Rooms interface {
		Member(room signaling.RoomName, identity signaling.Identity) (signaling.Member, error)
	}
	Schools interface {
		GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	}
}

// Role implements RoomRoles.
func (l LiveRoles) Role(_ context.Context, room signaling.RoomName, user storage.UserID) (Role, error) {
	m, err := l.Rooms.Member(room, identityOf(user))
	switch {
	case errors.Is(err, signaling.ErrNoParticipant):
		return RoleNone, nil
	case err != nil:
		return RoleNone, err
	}
	return RoleOfGrant(m.RoomAdmin, m.Hidden, m.Info.GetAttributes()), nil
}

// Place implements RoomRoles.
func (l LiveRoles) Place(ctx context.Context, room signaling.RoomName) (httpapi.Place, bool, error) {
	rest, ok := strings.CutPrefix(string(room), "s")
	num, _, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 {
		return httpapi.Place{}, false, nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num {
		return httpapi.Place{}, false, nil
	}
	sc, err := l.Schools.GetSchool(ctx, storage.SchoolID(n))
	if errors.Is(err, storage.ErrNotFound) {
		return httpapi.Place{}, false, nil
	}
	if err != nil {
		return httpapi.Place{}, false, fmt.Errorf("place of room %s: %w", room, err)
	}
	return httpapi.SchoolPlace(sc), true, nil
}

// Error is a refusal of the classroom, with its status and code.
type Error struct {
	status int
	code   string
	msg    string
}

func (e *Error) Error() string { return e.msg }

// HTTPStatus implements httpapi.Coded.
func (e *Error) HTTPStatus() int { return e.status }

// Code implements httpapi.Coded.
func (e *Error) Code() string { return e.code }

var (
	errNotInRoom         = &Error{http.StatusNotFound, "not_in_room", "this class is not running, or you are not in it"}
	errNotInClass        = &Error{http.StatusForbidden, "forbidden", "you are not in this class"}
	errNotTeacher        = &Error{http.StatusForbidden, "forbidden", "only the class's teacher or assistant may do this"}
	errNoSuchParticipant = &Error{http.StatusNotFound, "no_participant", "nobody with this identity is in the class"}
	errNotStudent        = &Error{http.StatusConflict, "not_student", "this control acts on students only"}
	errNoTrack           = &Error{http.StatusNotFound, "no_track", "the participant publishes no such track"}
	errAnswered          = &Error{http.StatusConflict, "already_answered", "you have already answered this poll"}
	errPollClosed        = &Error{http.StatusConflict, "poll_closed", "this poll is not open for answers"}
	errPollState         = &Error{http.StatusConflict, "poll_state", "the poll is not in a state that allows this"}
)
