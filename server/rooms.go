package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"yunke/server/authz"
	"yunke/server/token"
	"yunke/signaling"
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

// accountOfIdentity is the account a room identity names: tokens minted for an
// account (classes, tutoring) carry "u<id>". Other identities come from
// development joins or from tokens signed with an API key by its holder.
func accountOfIdentity(identity signaling.Identity) (storage.UserID, bool) {
	s, ok := strings.CutPrefix(string(identity), "u")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return storage.UserID(n), true
}

// userGetter is what room admission needs from the store.
type userGetter interface {
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
}

// roomAdmission lets into rooms only accounts that are still active: a room
// token outlives the checks made when it was minted, and a user deactivated
// since must not join with it, nor stay (signaling asks again at every
// token refresh).
type roomAdmission struct{ users userGetter }

var _ signaling.Admission = roomAdmission{}

// Admit implements signaling.Admission.
func (a roomAdmission) Admit(ctx context.Context, _ signaling.RoomName, identity signaling.Identity) error {
	id, ok := accountOfIdentity(identity)
	if !ok {
		return nil
	}
	u, err := a.users.GetUser(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("%w: the account of this token no longer exists", signaling.ErrNotAdmitted)
	case err != nil:
		return fmt.Errorf("admission of %s: %w", identity, err)
	case !u.Active:
		return fmt.Errorf("%w: the account of this token is deactivated", signaling.ErrNotAdmitted)
	}
	return nil
}
