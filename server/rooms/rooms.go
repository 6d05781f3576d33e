// Package rooms hands out the tokens that let people into live rooms: a
// class of one's own school (as teacher or student, or hidden as an
// observer in scope), the development mode's "try a class" join, and the
// admission check that keeps a deactivated account out of rooms.
package rooms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/token"
	"yunke/signaling"
	"yunke/signaling/ids"
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
func (h *Handler) handleRoomToken(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	var b roomTokenBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	b.Room = strings.TrimSpace(b.Room)
	f := httpapi.Fields{}
	httpapi.CheckRoom(f, b.Room)
	school := b.SchoolID
	if school == 0 {
		school = p.User.SchoolID
	}
	if school <= 0 {
		f.Add("school_id", "required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	sc, err := h.store.GetSchool(r.Context(), school)
	if errors.Is(err, storage.ErrNotFound) {
		return (httpapi.Fields{"school_id": "no such school"}).Err()
	}
	if err != nil {
		return err
	}
	var role token.Role
	switch {
	case p.User.Has(storage.RoleTeacher) && p.User.SchoolID == sc.ID:
		role = token.RoleTeacher
	case p.User.Has(storage.RoleStudent) && p.User.SchoolID == sc.ID:
		role = token.RoleStudent
	default:
		role = token.RoleObserver
	}
	action := authz.RoomJoin
	if role == token.RoleObserver {
		action = authz.RoomObserve
	}
	if _, err := httpapi.Authorize(r, action, httpapi.SchoolPlace(sc)); err != nil {
		return err
	}
	if !sc.Active && role != token.RoleObserver {
		return &httpapi.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "the school is not active"}
	}
	identity := fmt.Sprintf("u%d", p.User.ID)
	return h.writeRoomToken(w, r, roomName(sc.ID, b.Room), identity, p.User.Name, role)
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
// Store is what rooms need of durable storage.
type Store interface {
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetClass(ctx context.Context, id storage.ClassID) (storage.Class, error)
}

var _ Store = (*storage.Store)(nil)

// Params are what New needs.
type Params struct {
	Store Store
	// Key signs the tokens handed out.
	Key token.Key
	// Development allows joining without an account.
	Development bool
}

// Handler serves the room routes.
type Handler struct {
	store Store
	key   token.Key
	dev   bool
}

// New returns the rooms handler.
func New(p Params) *Handler { return &Handler{store: p.Store, key: p.Key, dev: p.Development} }

// Routes are the room API routes.
func (h *Handler) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "POST", Path: "/dev/join", Public: true, Handle: h.handleDevJoin},
		{Method: "POST", Path: "/rooms/token", Actions: []authz.Action{authz.RoomJoin, authz.RoomObserve}, Handle: h.handleRoomToken},
	}
}

// Admission is the signaling admission check over the store's accounts.
func (h *Handler) Admission() signaling.Admission { return roomAdmission{users: h.store} }

type userGetter interface {
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetClass(ctx context.Context, id storage.ClassID) (storage.Class, error)
}

// roomAdmission lets into rooms only accounts that are still active: a room
// token outlives the checks made when it was minted, and a user deactivated
// since must not join with it, nor stay (signaling asks again at every
// token refresh). A scheduled class's room exists only while the class
// runs: once it has ended (or was cancelled) nobody joins it again.
type roomAdmission struct{ users userGetter }

var _ signaling.Admission = roomAdmission{}

// Admit implements signaling.Admission.
func (a roomAdmission) Admit(ctx context.Context, room signaling.RoomName, identity signaling.Identity) error {
	if id, ok := ids.ClassOfRoom(room); ok {
		c, err := a.users.GetClass(ctx, storage.ClassID(id))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("%w: there is no such class", signaling.ErrNotAdmitted)
		case err != nil:
			return fmt.Errorf("admission to %s: %w", room, err)
		case c.Status == storage.ClassEnded || c.Status == storage.ClassCancelled:
			return fmt.Errorf("%w: this class has %s", signaling.ErrNotAdmitted, c.Status)
		}
	}
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

type devJoinRequest struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type joinResponse struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	Identity string `json:"identity"`
	Room     string `json:"room"`
	Role     string `json:"role"`
}

// handleDevJoin mints a room token for a name and role without an account.
// It exists only in development mode, so a newcomer can try a class at once.
func (h *Handler) handleDevJoin(w http.ResponseWriter, r *http.Request) error {
	if !h.dev {
		return &httpapi.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "joining without an account is only available in development mode"}
	}
	var req devJoinRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	req.Room = strings.TrimSpace(req.Room)
	if req.Room == "" {
		req.Room = "demo"
	}
	f := httpapi.Fields{}
	httpapi.CheckText(f, "name", &req.Name, 1, 64)
	httpapi.CheckRoom(f, req.Room)
	role, err := token.ParseRole(req.Role)
	if err != nil || (role != token.RoleTeacher && role != token.RoleStudent) {
		f.Add("role", "must be teacher or student")
	}
	if err := f.Err(); err != nil {
		return err
	}
	identity := identityFor(req.Name)
	return h.writeRoomToken(w, r, req.Room, identity, req.Name, role)
}

// writeRoomToken mints and answers a token for room.
func (h *Handler) writeRoomToken(w http.ResponseWriter, r *http.Request, room, identity, name string, role token.Role) error {
	tok, err := h.key.Mint(token.Params{Room: room, Identity: identity, Name: name, Role: role, ValidFor: token.JoinValidFor})
	if err != nil {
		return fmt.Errorf("mint token: %w", err)
	}
	scheme := "ws://"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "wss://"
	}
	httpapi.WriteJSON(w, http.StatusOK, joinResponse{URL: scheme + r.Host, Token: tok, Identity: identity, Room: room, Role: string(role)})
	return nil
}

// identityFor makes a room-unique identity from a display name: two people
// may share a name, never an identity.
func identityFor(name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := strings.Map(func(c rune) rune {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return c
		}
		return '-'
	}, name)
	if utf8.RuneCountInString(base) > 32 {
		base = string([]rune(base)[:32])
	}
	return base + "-" + hex.EncodeToString(b[:])
}
