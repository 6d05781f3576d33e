package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"yunke/server/authz"
	"yunke/server/token"
	"yunke/storage"
)

type roomTokenBody struct {
	Room     string           `json:"room"`
	SchoolID storage.SchoolID `json:"school_id"`
}

// roomName is the media room of a school's class: rooms are scoped by
// school, so two schools' "math-7-2" never meet.
func roomName(school storage.SchoolID, room string) string {
	return fmt.Sprintf("s%d-%s", school, room)
}

// handleRoomToken mints a room token for the signed-in user. In their own
// school a teacher gets teacher grants and a student student grants;
// experts and administrators watch classes in their scope hidden.
func (s *Server) handleRoomToken(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	var b roomTokenBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	b.Room = strings.TrimSpace(b.Room)
	f := fieldErrors{}
	checkRoom(f, b.Room)
	school := b.SchoolID
	if school == 0 {
		school = p.user.SchoolID
	}
	if school <= 0 {
		f.add("school_id", "required")
	}
	if err := f.err(); err != nil {
		return err
	}
	sc, err := s.directory.GetSchool(r.Context(), school)
	if errors.Is(err, storage.ErrNotFound) {
		return (fieldErrors{"school_id": "no such school"}).err()
	}
	if err != nil {
		return err
	}
	var role token.Role
	switch {
	case p.user.Has(storage.RoleTeacher) && p.user.SchoolID == sc.ID:
		role = token.RoleTeacher
	case p.user.Has(storage.RoleStudent) && p.user.SchoolID == sc.ID:
		role = token.RoleStudent
	default:
		role = token.RoleObserver
	}
	action := authz.RoomJoin
	if role == token.RoleObserver {
		action = authz.RoomObserve
	}
	if _, err := s.authorize(r, action, schoolPlace(sc)); err != nil {
		return err
	}
	if !sc.Active && role != token.RoleObserver {
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "the school is not active"}
	}
	identity := fmt.Sprintf("u%d", p.user.ID)
	return s.writeRoomToken(w, r, roomName(sc.ID, b.Room), identity, p.user.Name, role)
}
