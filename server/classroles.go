package server

import (
	"context"
	"errors"
	"fmt"

	"yunke/server/classroom"
	"yunke/server/httpapi"
	"yunke/signaling"
	"yunke/signaling/ids"
	"yunke/storage"
)

// classRoles tells the classroom who is who in a scheduled class's room
// (class-<id>) from the class's record: its teacher and assistants
// moderate, a student of its audience in the room takes part, and the room
// belongs to the class's school (or, for a district-wide class, to its
// district) for administrators' scope. Any other room is left to the live
// roles read from room tokens.
type classRoles struct {
	live  classroom.LiveRoles
	store interface {
		GetClass(ctx context.Context, id storage.ClassID) (storage.Class, error)
		GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	}
}

var _ classroom.RoomRoles = classRoles{}

// class is the scheduled class of room; ok is false for a room without one.
func (c classRoles) class(ctx context.Context, room signaling.RoomName) (storage.Class, bool, error) {
	id, ok := ids.ClassOfRoom(ids.RoomName(room))
	if !ok {
		return storage.Class{}, false, nil
	}
	cls, err := c.store.GetClass(ctx, storage.ClassID(id))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Class{}, false, nil
	}
	if err != nil {
		return storage.Class{}, false, fmt.Errorf("class of room %s: %w", room, err)
	}
	return cls, true, nil
}

// Role implements classroom.RoomRoles. The room must be open; the class's
// record, not a token's room-admin grant, says who teaches.
func (c classRoles) Role(ctx context.Context, room signaling.RoomName, user storage.UserID) (classroom.Role, error) {
	cls, ok, err := c.class(ctx, room)
	if err != nil || !ok {
		if err == nil {
			return c.live.Role(ctx, room, user)
		}
		return classroom.RoleNone, err
	}
	live, err := c.live.Role(ctx, room, user)
	if err != nil {
		return classroom.RoleNone, err
	}
	switch cls.RoleOf(user) {
	case storage.ClassRoleTeacher:
		return classroom.RoleTeacher, nil
	case storage.ClassRoleAssistant:
		return classroom.RoleAssistant, nil
	}
	switch live {
	case classroom.RoleObserver:
		return classroom.RoleObserver, nil
	case classroom.RoleStudent:
		u, err := c.store.GetUser(ctx, user)
		if err != nil {
			return classroom.RoleNone, fmt.Errorf("student of room %s: %w", room, err)
		}
		if u.Active && cls.InAudience(&u) {
			return classroom.RoleStudent, nil
		}
	}
	// A room-admin token of someone the class no longer names, or a
	// student no longer of its audience: nothing in this class.
	return classroom.RoleNone, nil
}

// Place implements classroom.RoomRoles: a class's school, or its district
// for a district-wide class.
func (c classRoles) Place(ctx context.Context, room signaling.RoomName) (httpapi.Place, bool, error) {
	cls, ok, err := c.class(ctx, room)
	if err != nil {
		return httpapi.Place{}, false, err
	}
	if !ok {
		return c.live.Place(ctx, room)
	}
	return httpapi.Place{District: cls.DistrictID, School: cls.SchoolID}, true, nil
}
