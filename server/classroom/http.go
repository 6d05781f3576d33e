package classroom

import (
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/token"
	"yunke/signaling"
	"yunke/storage"
)

// Routes are the classroom API routes.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	part := a(authz.ClassroomTakePart)
	mod := a(authz.ClassroomModerate, authz.ClassroomOversee)
	return []httpapi.Route{
		{Method: "GET", Path: "/classroom/rooms/{room}", Actions: a(authz.ClassroomTakePart, authz.ClassroomModerate, authz.ClassroomOversee, authz.RoomObserve), Handle: s.handleState},
		{Method: "PUT", Path: "/classroom/rooms/{room}/hand", Actions: part, Handle: s.handleOwnHand},
		{Method: "GET", Path: "/classroom/rooms/{room}/hands", Actions: mod, Handle: s.handleHands},
		{Method: "PUT", Path: "/classroom/rooms/{room}/participants/{identity}/hand", Actions: mod, Handle: s.handleLowerHand},
		{Method: "PUT", Path: "/classroom/rooms/{room}/participants/{identity}/stage", Actions: mod, Handle: s.handleStage},
		{Method: "POST", Path: "/classroom/rooms/{room}/participants/{identity}/mute", Actions: mod, Handle: s.handleMute},
		{Method: "POST", Path: "/classroom/rooms/{room}/participants/{identity}/remove", Actions: mod, Handle: s.handleRemove},
		{Method: "DELETE", Path: "/classroom/rooms/{room}/bans/{identity}", Actions: mod, Handle: s.handleUnban},
		{Method: "PATCH", Path: "/classroom/rooms/{room}/settings", Actions: mod, Handle: s.handleSettings},
		{Method: "GET", Path: "/classroom/rooms/{room}/chat", Actions: a(authz.ClassroomTakePart, authz.ClassroomModerate, authz.ClassroomOversee, authz.RoomObserve), Handle: s.handleChatHistory},
		{Method: "DELETE", Path: "/classroom/rooms/{room}/chat/{id}", Actions: mod, Handle: s.handleDeleteChat},
		{Method: "GET", Path: "/classroom/rooms/{room}/polls", Actions: a(authz.ClassroomTakePart, authz.ClassroomModerate, authz.ClassroomOversee, authz.RoomObserve), Handle: s.handleListPolls},
		{Method: "POST", Path: "/classroom/rooms/{room}/polls", Actions: mod, Handle: s.handleCreatePoll},
		{Method: "POST", Path: "/classroom/polls/{id}/start", Actions: mod, Handle: s.handleStartPoll},
		{Method: "POST", Path: "/classroom/polls/{id}/end", Actions: mod, Handle: s.handleEndPoll},
		{Method: "POST", Path: "/classroom/polls/{id}/show", Actions: mod, Handle: s.handleShowPoll},
		{Method: "POST", Path: "/classroom/polls/{id}/answer", Actions: part, Handle: s.handleAnswer},
		{Method: "GET", Path: "/classroom/polls/{id}/results", Actions: a(authz.ClassroomTakePart, authz.ClassroomModerate, authz.ClassroomOversee, authz.RoomObserve), Handle: s.handleResults},
	}
}

// roomOf reads the {room} path value; a name no token could carry is not found.
func roomOf(r *http.Request) (signaling.RoomName, error) {
	v := r.PathValue("room")
	if v == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > token.MaxNameLen {
		return "", errNotInRoom
	}
	return signaling.RoomName(v), nil
}

func identityOfPath(r *http.Request) (signaling.Identity, error) {
	v := r.PathValue("identity")
	if v == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > token.MaxNameLen {
		return "", errNoSuchParticipant
	}
	return signaling.Identity(v), nil
}

// anyone admits a moderator, or else a participant of the room.
func (s *Service) anyone(r *http.Request, room signaling.RoomName) (caller, error) {
	c, err := s.moderator(r, room)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, errNotTeacher) {
		return caller{}, err
	}
	return s.participant(r, room)
}

// stateView is a room's controls as the caller sees them.
type stateView struct {
	Role     Role     `json:"role"`
	Settings Settings `json:"settings"`
	// Hands is the queue, for the teacher and assistants.
	Hands []Hand `json:"hands,omitempty"`
	// HandRaised: the caller's own hand.
	HandRaised bool `json:"hand_raised"`
}

func (s *Service) handleState(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	c, err := s.anyone(r, room)
	if err != nil {
		return err
	}
	v := stateView{Role: c.role, Settings: s.settings(room)}
	if c.role.Moderates() || c.oversees {
		if v.Hands, err = s.hands(room); err != nil {
			return err
		}
	}
	if m, err := s.rooms.Member(room, identityOf(c.user)); err == nil {
		v.HandRaised = m.Info.GetAttributes()[HandAttribute] != ""
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

type handBody struct {
	Raised *bool `json:"raised"`
}

func (s *Service) handleOwnHand(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	var b handBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.Raised == nil {
		return (httpapi.Fields{"raised": "required"}).Err()
	}
	c, err := s.participant(r, room, RoleStudent)
	if err != nil {
		return err
	}
	if !s.allowHand(room, identityOf(c.user)) {
		return errTooFast
	}
	info, err := s.setHand(r.Context(), room, identityOf(c.user), *b.Raised, c.user, c.place)
	if err != nil {
		return mapRoomErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"hand_raised": info.GetAttributes()[HandAttribute] != ""})
	return nil
}

func (s *Service) handleHands(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	if _, err := s.moderator(r, room); err != nil {
		return err
	}
	hs, err := s.hands(room)
	if err != nil {
		return mapRoomErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": hs})
	return nil
}

// mapRoomErr turns signaling's lookups into the classroom's refusals.
func mapRoomErr(err error) error {
	switch {
	case errors.Is(err, signaling.ErrNoRoom):
		return errNotInRoom
	case errors.Is(err, signaling.ErrNoParticipant):
		return errNoSuchParticipant
	case errors.Is(err, signaling.ErrNoTrack):
		return errNoTrack
	}
	return err
}

// modTarget admits a moderator of the path's room and finds the student
// the path names.
func (s *Service) modTarget(r *http.Request) (caller, signaling.RoomName, signaling.Member, error) {
	room, err := roomOf(r)
	if err != nil {
		return caller{}, "", signaling.Member{}, err
	}
	c, err := s.moderator(r, room)
	if err != nil {
		return caller{}, "", signaling.Member{}, err
	}
	id, err := identityOfPath(r)
	if err != nil {
		return caller{}, "", signaling.Member{}, err
	}
	m, err := s.target(room, id)
	return c, room, m, err
}

func (s *Service) handleLowerHand(w http.ResponseWriter, r *http.Request) error {
	var b handBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	c, room, m, err := s.modTarget(r)
	if err != nil {
		return err
	}
	if b.Raised == nil || *b.Raised {
		return (httpapi.Fields{"raised": "a teacher can only lower a hand (false)"}).Err()
	}
	info, err := s.setHand(r.Context(), room, signaling.Identity(m.Info.GetIdentity()), false, c.user, c.place)
	if err != nil {
		return mapRoomErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, info)
	return nil
}

type stageBody struct {
	OnStage *bool `json:"on_stage"`
}

func (s *Service) handleStage(w http.ResponseWriter, r *http.Request) error {
	var b stageBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	c, room, m, err := s.modTarget(r)
	if err != nil {
		return err
	}
	if b.OnStage == nil {
		return (httpapi.Fields{"on_stage": "required"}).Err()
	}
	info, err := s.setStage(r.Context(), c, room, m, *b.OnStage)
	if err != nil {
		return mapRoomErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, info)
	return nil
}

type muteBody struct {
	TrackSID string `json:"track_sid"`
}

func (s *Service) handleMute(w http.ResponseWriter, r *http.Request) error {
	var b muteBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	_, room, m, err := s.modTarget(r)
	if err != nil {
		return err
	}
	if b.TrackSID == "" || len(b.TrackSID) > 64 {
		return (httpapi.Fields{"track_sid": "required"}).Err()
	}
	ti, err := s.rooms.MuteTrack(room, signaling.Identity(m.Info.GetIdentity()), signaling.TrackID(b.TrackSID))
	if err != nil {
		return mapRoomErr(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, ti)
	return nil
}

func (s *Service) handleRemove(w http.ResponseWriter, r *http.Request) error {
	c, room, m, err := s.modTarget(r)
	if err != nil {
		return err
	}
	id := signaling.Identity(m.Info.GetIdentity())
	// Kept out first, so a reconnect racing the removal is refused.
	if err := s.store.BanFromRoom(r.Context(), httpapi.Actor(r), c.place, string(room), string(id)); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.stateLocked(room).joined, id)
	s.mu.Unlock()
	if err := s.rooms.RemoveParticipant(room, id); err != nil && !errors.Is(err, signaling.ErrNoParticipant) {
		return mapRoomErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleUnban(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	if _, err := s.moderator(r, room); err != nil {
		return err
	}
	id, err := identityOfPath(r)
	if err != nil {
		return err
	}
	if err := s.store.UnbanFromRoom(r.Context(), string(room), string(id)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleSettings(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	var b settingsChange
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.Spotlight != nil && (len(*b.Spotlight) > 4*token.MaxNameLen || !utf8.ValidString(*b.Spotlight)) {
		return (httpapi.Fields{"spotlight": "nobody with this identity is in the class"}).Err()
	}
	if _, err := s.moderator(r, room); err != nil {
		return err
	}
	st, err := s.changeSettings(room, b)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// maxHistory bounds one page of chat history.
const maxHistory = 500

func (s *Service) handleChatHistory(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	after := httpapi.QueryID(r, "after", f)
	limit := maxHistory
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistory {
			f.Add("limit", "1 to 500")
		}
		limit = n
	}
	if err := f.Err(); err != nil {
		return err
	}
	c, err := s.anyone(r, room)
	if err != nil {
		return err
	}
	mod := c.role.Moderates() || c.oversees
	msgs, err := s.store.ChatHistory(r.Context(), string(room), s.now().Add(-s.window), storage.ChatMessageID(after), limit, mod)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": msgs})
	return nil
}

func (s *Service) handleDeleteChat(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.moderator(r, room)
	if err != nil {
		return err
	}
	m, err := s.store.DeleteChatMessage(r.Context(), httpapi.Actor(r), c.place, string(room), storage.ChatMessageID(id))
	if err != nil {
		return err
	}
	s.send(room, pollEvent{Type: "chat_deleted", ChatID: m.ID, MsgID: m.MsgID})
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

func (s *Service) handleListPolls(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	c, err := s.anyone(r, room)
	if err != nil {
		return err
	}
	ps, err := s.store.ListPolls(r.Context(), string(room), s.now().Add(-s.window))
	if err != nil {
		return err
	}
	out := make([]PollView, 0, len(ps))
	for _, p := range ps {
		if c.role.Moderates() || c.oversees {
			out = append(out, PollView{Poll: p})
			continue
		}
		if p.Status == storage.PollDraft {
			continue
		}
		out = append(out, PollView{Poll: hideAnswer(p)})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (s *Service) handleCreatePoll(w http.ResponseWriter, r *http.Request) error {
	room, err := roomOf(r)
	if err != nil {
		return err
	}
	var in struct {
		pollInput
		Start bool `json:"start"`
	}
	if err := httpapi.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	c, err := s.moderator(r, room)
	if err != nil {
		return err
	}
	p, err := s.store.CreatePoll(r.Context(), httpapi.Actor(r), c.place, storage.Poll{Room: string(room), Question: in.Question,
		Options: in.Options, Multiple: in.Multiple, Correct: in.Correct, TimeLimitS: in.TimeLimitS})
	if err != nil {
		return err
	}
	if in.Start {
		if p, err = s.startPoll(r.Context(), c, httpapi.Actor(r), p); err != nil {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusCreated, p)
	return nil
}

// pollFor loads the path's poll; its room is the one the caller is checked in.
func (s *Service) pollFor(r *http.Request) (storage.Poll, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Poll{}, err
	}
	return s.store.GetPoll(r.Context(), storage.PollID(id))
}

func (s *Service) handleStartPoll(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pollFor(r)
	if err != nil {
		return err
	}
	c, err := s.moderator(r, signaling.RoomName(p.Room))
	if err != nil {
		return err
	}
	if p, err = s.startPoll(r.Context(), c, httpapi.Actor(r), p); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (s *Service) handleEndPoll(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pollFor(r)
	if err != nil {
		return err
	}
	if _, err := s.moderator(r, signaling.RoomName(p.Room)); err != nil {
		return err
	}
	if p, err = s.endPoll(r.Context(), p.ID); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (s *Service) handleShowPoll(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pollFor(r)
	if err != nil {
		return err
	}
	if _, err := s.moderator(r, signaling.RoomName(p.Room)); err != nil {
		return err
	}
	p, err = s.store.ShowPoll(r.Context(), p.ID)
	if errors.Is(err, storage.ErrClosed) {
		return errPollState
	}
	if err != nil {
		return err
	}
	s.pushResults(r.Context(), p)
	res, err := s.results(r.Context(), p)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (s *Service) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Choices []int `json:"choices"`
	}
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if len(b.Choices) > MaxPollOptions {
		return (httpapi.Fields{"choices": "too many choices"}).Err()
	}
	p, err := s.pollFor(r)
	if err != nil {
		return err
	}
	c, err := s.participant(r, signaling.RoomName(p.Room), RoleStudent)
	if err != nil {
		return err
	}
	if err := s.answer(r.Context(), p, c.user, b.Choices); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"poll_id": p.ID, "choices": b.Choices, "answered_at": s.now().UTC().Format(time.RFC3339Nano)})
	return nil
}

func (s *Service) handleResults(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pollFor(r)
	if err != nil {
		return err
	}
	c, err := s.anyone(r, signaling.RoomName(p.Room))
	if err != nil {
		return err
	}
	if !c.role.Moderates() && !c.oversees && !p.Shown {
		return &Error{http.StatusForbidden, "forbidden", "the teacher has not shown the results yet"}
	}
	res, err := s.results(r.Context(), p)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}
