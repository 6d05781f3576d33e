// Package token mints LiveKit-compatible access tokens for Yunke's roles.
//
// A token is an HS256 JWT signed with an API secret; its "video" grant says
// which room the holder may join and what it may do there. Yunke's roles map
// onto those grants, so unmodified livekit-client SDKs carry them and any
// LiveKit tool can read them.
package token

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/livekit/protocol/auth"
)

// Role is what a participant is in a class.
type Role string

const (
	// RoleTeacher publishes camera, microphone and screen, and administers the room
	// (mute, remove, bring students on stage).
	RoleTeacher Role = "teacher"
	// RoleAssistant helps the teacher of a class: publishes and
	// administers the room as the teacher does (hands, stage, chat).
	RoleAssistant Role = "assistant"
	// RoleStudent watches, listens and chats; publishing is off until the
	// teacher brings the student on stage.
	RoleStudent Role = "student"
	// RoleObserver (a review expert, an administrator) watches unseen: no
	// publishing, no data, hidden from the participant list.
	RoleObserver Role = "observer"
	// RolePeer is either side of a one-to-one tutoring session: both
	// publish camera, microphone and screen and chat; neither administers.
	RolePeer Role = "peer"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleTeacher, RoleAssistant, RoleStudent, RoleObserver, RolePeer}

// RoleAttribute is the participant attribute that carries the role, so that
// clients can show it without decoding grants.
const RoleAttribute = "role"

// Validity bounds.
const (
	DefaultValidFor = 6 * time.Hour
	// JoinValidFor is how long the tokens the API hands to browsers last: a
	// token is needed only to join, since Yunke's signaling sends connected
	// participants a fresh one every few minutes (LiveKit's refresh_token),
	// which the SDKs rejoin with. A leaked token is soon useless.
	JoinValidFor = 10 * time.Minute
	MinValidFor  = time.Minute
	MaxValidFor  = 24 * time.Hour
	// MaxNameLen bounds room names and identities, in characters.
	MaxNameLen = 128
)

// ErrInvalid is wrapped by every error about Params or keys.
var ErrInvalid = errors.New("invalid token request")

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("%w: unknown role %q (want teacher, assistant, student, observer or peer)", ErrInvalid, s)
	}
	return r, nil
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	switch r {
	case RoleTeacher, RoleAssistant, RoleStudent, RoleObserver, RolePeer:
		return true
	}
	return false
}

// Grant returns the LiveKit video grant for r in room. It returns nil for an
// unknown role.
func (r Role) Grant(room string) *auth.VideoGrant {
	g := &auth.VideoGrant{RoomJoin: true, Room: room}
	switch r {
	case RoleTeacher, RoleAssistant:
		g.RoomAdmin = true
		g.SetCanPublish(true)
		g.SetCanSubscribe(true)
		g.SetCanPublishData(true)
	case RoleStudent:
		// Explicitly false: an unset CanPublish means "may publish" to LiveKit.
		g.SetCanPublish(false)
		g.SetCanSubscribe(true)
		g.SetCanPublishData(true)
	case RolePeer:
		g.SetCanPublish(true)
		g.SetCanSubscribe(true)
		g.SetCanPublishData(true)
	case RoleObserver:
		g.Hidden = true
		g.SetCanPublish(false)
		g.SetCanSubscribe(true)
		g.SetCanPublishData(false)
	default:
		return nil
	}
	return g
}

// Params describe one token.
type Params struct {
	Room     string
	Identity string // unique within the room
	Name     string // display name; optional
	Role     Role
	ValidFor time.Duration // 0 means DefaultValidFor
	Metadata string        // opaque to Yunke's media path; optional
}

// Validate checks p and reports the first problem.
func (p Params) Validate() error {
	if err := checkName("room", p.Room); err != nil {
		return err
	}
	if err := checkName("identity", p.Identity); err != nil {
		return err
	}
	if !utf8.ValidString(p.Name) || !utf8.ValidString(p.Metadata) {
		return fmt.Errorf("%w: name and metadata must be UTF-8", ErrInvalid)
	}
	if !p.Role.Valid() {
		return fmt.Errorf("%w: unknown role %q (want teacher, assistant, student, observer or peer)", ErrInvalid, p.Role)
	}
	if p.ValidFor != 0 && (p.ValidFor < MinValidFor || p.ValidFor > MaxValidFor) {
		return fmt.Errorf("%w: validity %v is outside %v..%v", ErrInvalid, p.ValidFor, MinValidFor, MaxValidFor)
	}
	return nil
}

func checkName(what, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	case utf8.RuneCountInString(s) > MaxNameLen:
		return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalid, what, MaxNameLen)
	}
	return nil
}

// Mint returns a signed access token for p.
func Mint(apiKey, apiSecret string, p Params) (string, error) {
	if apiKey == "" || apiSecret == "" {
		return "", fmt.Errorf("%w: API key and secret are required", ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	validFor := p.ValidFor
	if validFor == 0 {
		validFor = DefaultValidFor
	}
	at := auth.NewAccessToken(apiKey, apiSecret).
		SetIdentity(p.Identity).
		SetName(p.Name).
		SetMetadata(p.Metadata).
		SetAttributes(map[string]string{RoleAttribute: string(p.Role)}).
		SetValidFor(validFor).
		SetVideoGrant(p.Role.Grant(p.Room))
	jwt, err := at.ToJWT()
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return jwt, nil
}

// Key is the API key and secret a node signs the tokens it hands out with.
type Key struct {
	ID, Secret string
}

// FirstKey is the first of keys in sorted order: the one a node signs its
// own tokens with (every node of an installation has the same keys).
func FirstKey(keys map[string]string) Key {
	ids := make([]string, 0, len(keys))
	for k := range keys {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return Key{}
	}
	return Key{ID: ids[0], Secret: keys[ids[0]]}
}

// Mint signs p with k.
func (k Key) Mint(p Params) (string, error) { return Mint(k.ID, k.Secret, p) }
