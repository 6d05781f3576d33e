package ids_test

import (
	"testing"

	"yunke/signaling/ids"
)

func TestClassRoomsAndAccounts(t *testing.T) {
	if r := ids.ClassRoom(42); r != "class-42" {
		t.Fatalf("ClassRoom(42) = %q", r)
	}
	for room, want := range map[ids.RoomName]int64{"class-42": 42, "class-042": 0, "class-": 0, "class--1": 0, "class-0": 0,
		"class-1x": 0, "s1-class-42": 0, "tutor-42": 0, "class-99999999999999999999": 0} {
		got, ok := ids.ClassOfRoom(room)
		if got != want || ok != (want != 0) {
			t.Errorf("ClassOfRoom(%q) = %d, %v", room, got, ok)
		}
	}
	for identity, want := range map[ids.Identity]int64{"u7": 7, "u07": 0, "u": 0, "u-7": 0, "x7": 0, "u7 ": 0, "name-u7": 0} {
		got, ok := ids.AccountOf(identity)
		if got != want || ok != (want != 0) {
			t.Errorf("AccountOf(%q) = %d, %v", identity, got, ok)
		}
	}
	if ids.AccountIdentity(7) != "u7" {
		t.Fatal("AccountIdentity")
	}
}
