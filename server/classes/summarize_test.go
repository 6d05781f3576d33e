package classes_test

import (
	"testing"
	"time"

	"yunke/server/classes"
	"yunke/storage"
)

// TestSummarize: totals count the time in the room while the class ran;
// lateness from the later of the planned and actual start; early leaving
// until the end.
func TestSummarize(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	c := storage.Class{StartsAt: start, PlannedMinutes: 45, StartedAt: at(2), EndedAt: at(47), Status: storage.ClassEnded}
	rows := []storage.AttendanceRow{
		{UserID: 1, Role: storage.ClassRoleStudent, JoinedAt: at(-5), LeftAt: at(47)},                                            // early, stays to the end
		{UserID: 2, Role: storage.ClassRoleStudent, JoinedAt: at(10), LeftAt: at(20)},                                            // late, leaves early
		{UserID: 2, Role: storage.ClassRoleStudent, JoinedAt: at(25), LeftAt: at(40)},                                            // … back, leaves early again
		{UserID: 3, Role: storage.ClassRoleStudent, JoinedAt: at(2).Add(30 * time.Second), LeftAt: at(46).Add(40 * time.Second)}, // within the margins
	}
	got := map[storage.UserID]classes.Attendee{}
	for _, a := range classes.Summarize(&c, rows, at(60)) {
		got[a.UserID] = a
	}
	for id, want := range map[storage.UserID]struct {
		joins           int
		present, late   int64
		early           int64
		isLate, isEarly bool
	}{
		1: {1, 45 * 60, 0, 0, false, false},
		2: {2, 25 * 60, 8 * 60, 7 * 60, true, true},
		3: {1, 44*60 + 10, 30, 20, false, false},
	} {
		a := got[id]
		if a.Joins != want.joins || a.PresentS != want.present || a.LateS != want.late || a.LeftEarlyS != want.early ||
			a.Late != want.isLate || a.LeftEarly != want.isEarly {
			t.Errorf("user %d: %+v, want %+v", id, a, want)
		}
	}
}

// TestSummarizeShortStays: the time present sums the stays before rounding
// down to seconds, so that several short stays are not lost.
func TestSummarizeShortStays(t *testing.T) {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	c := storage.Class{StartsAt: start, PlannedMinutes: 45, StartedAt: at(0), EndedAt: at(5000), Status: storage.ClassEnded}
	rows := []storage.AttendanceRow{
		{UserID: 1, Role: storage.ClassRoleStudent, JoinedAt: at(1000), LeftAt: at(1900)},
		{UserID: 1, Role: storage.ClassRoleStudent, JoinedAt: at(2300), LeftAt: at(3000)},
		{UserID: 1, Role: storage.ClassRoleStudent, JoinedAt: at(4100), LeftAt: at(4900)},
	}
	got := classes.Summarize(&c, rows, at(6000))
	if len(got) != 1 || got[0].Joins != 3 || got[0].PresentS != 2 {
		t.Fatalf("got %+v, want 3 joins and 2 s present (0.9 + 0.7 + 0.8 s)", got)
	}
}
