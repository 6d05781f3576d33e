package signaling

import (
	"crypto/rand"
	"encoding/base32"
	"strings"

	"yunke/signaling/ids"
)

// RoomName names a room (from the access token's grant).
type RoomName = ids.RoomName

// Identity is a participant's identity (the token subject), unique in a room.
type Identity = ids.Identity

// ParticipantID is a participant session's sid ("PA_…"), new for every join.
type ParticipantID string

// TrackID is a published track's sid ("TR_…").
type TrackID string

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix followed by 12 random characters, like LiveKit's sids.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToLower(idEncoding.EncodeToString(b[:]))[:12]
}
