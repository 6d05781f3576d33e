package storage_test

import (
	"testing"

	"yunke/storage"
)

// TestTeacherTracks keeps only the recording's own teacher's camera,
// microphone and screen share: not a student's, not another participant
// calling itself teacher, not a track of an unknown participant.
func TestTeacherTracks(t *testing.T) {
	rec := storage.Recording{TeacherID: 7,
		Participants: []storage.RecordingParticipant{{Identity: "u7", UserID: 7, Role: "teacher"}, {Identity: "u8", UserID: 8, Role: "student"},
			{Identity: "u9", UserID: 9, Role: "teacher"}},
		Tracks: []storage.RecordingTrack{
			{ID: 1, Participant: "u7", Role: "teacher", Source: "camera"},
			{ID: 2, Participant: "u7", Role: "teacher", Source: "microphone"},
			{ID: 3, Participant: "u7", Role: "teacher", Source: "screen_share"},
			{ID: 4, Participant: "u8", Role: "student", Source: "camera"},
			{ID: 5, Participant: "u8", Role: "student", Source: "microphone"},
			{ID: 6, Participant: "u8", Role: "teacher", Source: "camera"}, // a student's track claiming the teacher's role
			{ID: 7, Participant: "u9", Role: "teacher", Source: "camera"}, // another teacher in the room
			{ID: 8, Participant: "ghost", Role: "teacher", Source: "camera"},
		}}
	got := rec.TeacherTracks()
	if len(got) != 3 || got[0].ID != 1 || got[1].ID != 2 || got[2].ID != 3 {
		t.Fatalf("TeacherTracks = %+v", got)
	}
	if ps := rec.TeacherParticipants(); len(ps) != 1 || ps[0].Identity != "u7" {
		t.Fatalf("TeacherParticipants = %+v", ps)
	}
	only := rec.TeacherOnly()
	if len(only.Tracks) != 3 || len(only.Participants) != 1 || len(rec.Tracks) != 8 || len(rec.Participants) != 3 {
		t.Fatalf("TeacherOnly = %d tracks, %d participants; the recording itself now %d, %d",
			len(only.Tracks), len(only.Participants), len(rec.Tracks), len(rec.Participants))
	}
}
