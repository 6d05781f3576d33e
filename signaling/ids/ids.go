// Package ids holds the names that signaling and the domains built on it
// share: a room's name and a participant's identity. It imports nothing of
// Yunke, so a domain that names rooms and people need not import signaling.
package ids

import "strconv"

// RoomName names a room (from the access token's grant).
type RoomName string

// Identity is a participant's identity (the token subject), unique in a room.
type Identity string

// classPrefix starts the room name of a scheduled class. Rooms of the
// class-room tokens (server/rooms) are named "s<school>-…" and tutoring's
// "tutor-…", so none of them can be a class's.
const classPrefix = "class-"

// ClassRoom is the room of the scheduled class with this id: the server
// names it, nobody types it.
func ClassRoom(id int64) RoomName { return RoomName(classPrefix + strconv.FormatInt(id, 10)) }

// ClassOfRoom is the class whose room this is, if it is one.
func ClassOfRoom(room RoomName) (int64, bool) {
	s := string(room)
	if len(s) <= len(classPrefix) || s[:len(classPrefix)] != classPrefix {
		return 0, false
	}
	n, err := strconv.ParseInt(s[len(classPrefix):], 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s[len(classPrefix):] {
		return 0, false
	}
	return n, true
}

// AccountIdentity is the identity of a user account in rooms: "u<id>".
func AccountIdentity(user int64) Identity { return Identity("u" + strconv.FormatInt(user, 10)) }

// AccountOf is the account an identity names, if it is "u<id>".
func AccountOf(identity Identity) (int64, bool) {
	s := string(identity)
	if len(s) < 2 || s[0] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s[1:] {
		return 0, false
	}
	return n, true
}
