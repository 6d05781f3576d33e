// Package ids holds the names that signaling and the domains built on it
// share: a room's name and a participant's identity. It imports nothing,
// so a domain that names rooms and people need not import signaling.
package ids

// RoomName names a room (from the access token's grant).
type RoomName string

// Identity is a participant's identity (the token subject), unique in a room.
type Identity string
