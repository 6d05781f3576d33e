package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

func TestRecordingLifecycle(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		tea := storage.Actor{UserID: w.teacher.ID}

		_, err := s.CreateRecording(ctx, tea, storage.RecordingInput{Kind: "lecture", Room: "r", TeacherID: w.teacher.ID, StartedAt: start})
		wantField(t, err, "kind")
		_, err = s.CreateRecording(ctx, tea, storage.RecordingInput{Kind: storage.RecordingClass, Room: "r", TeacherID: 999999, StartedAt: start})
		wantField(t, err, "teacher_id")

		rec := must(s.CreateRecording(ctx, tea, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s2-math-7", Title: "数学",
			TeacherID: w.teacher.ID, SubjectID: w.math.ID, Grade: 7, StartedAt: start}))(t)
		if rec.Status != storage.RecordingInProgress || rec.SchoolID != w.s2.ID || rec.DistrictID != w.d.ID ||
			rec.TeacherName != "tea" || rec.SubjectName == "" || rec.Download.Status != storage.DownloadNone || !rec.EndedAt.IsZero() {
			t.Fatalf("created %+v", rec)
		}
		cam := must(s.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR_1", Participant: "u1", Name: "tea",
			Role: "teacher", Source: "camera", Kind: "video", Codec: "video/VP8", File: "u1_camera.webm", OffsetMS: 10}))(t)
		mic := must(s.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR_2", Participant: "u1", Name: "tea",
			Role: "teacher", Source: "microphone", Kind: "audio", Codec: "audio/opus", File: "u1_mic.webm"}))(t)
		_, err = s.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR_3", Participant: "u1", Role: "teacher",
			Source: "camera", Kind: "video", Codec: "video/VP8", File: "u1_mic.webm"})
		wantErr(t, err, storage.ErrDuplicate)
		cut := must(s.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR_4", Participant: "u2", Role: "student",
			Source: "camera", Kind: "video", Codec: "video/VP8", File: "u2_camera.webm"}))(t)
		must0(t, s.AddRecordingParticipant(ctx, rec.ID, storage.RecordingParticipant{Identity: "u2", Name: "stu", Role: "student"}))
		must0(t, s.AddRecordingParticipant(ctx, rec.ID, storage.RecordingParticipant{Identity: "u1", UserID: w.teacher.ID, Name: "tea", Role: "teacher"}))
		must0(t, s.AddRecordingParticipant(ctx, rec.ID, storage.RecordingParticipant{Identity: "u1", UserID: w.teacher.ID, Name: "王老师", Role: "teacher"}))

		if got := must(s.UnfinishedRecordings(ctx))(t); len(got) != 1 || got[0].ID != rec.ID {
			t.Fatalf("unfinished %+v", got)
		}
		_, err = s.FinishRecording(ctx, tea, rec.ID, storage.RecordingFinish{Status: storage.RecordingInProgress})
		wantField(t, err, "status")
		end := start.Add(45 * time.Minute)
		got := must(s.FinishRecording(ctx, tea, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: end,
			DurationMS: 2700000,
			Tracks: []storage.RecordingTrackResult{
				{ID: cam, SizeBytes: 1000, OffsetMS: 12, DurationMS: 2699000, Frames: 60000, Status: "ready"},
				{ID: mic, SizeBytes: 500, DurationMS: 2700000, Frames: 135000, Status: "damaged", Reason: "drops"},
			},
			Speaking: []storage.SpeakingInterval{
				{Identity: "u1", Role: "teacher", StartMS: 0, EndMS: 1500, Level: 0.5},
				{Identity: "u1", Role: "teacher", StartMS: 3000, EndMS: 3500, Level: 0.2},
				{Identity: "u2", Role: "student", StartMS: 1500, EndMS: 2000, Level: 0.4},
			}}))(t)
		if got.Status != storage.RecordingReady || got.DurationMS != 2700000 || !got.EndedAt.Equal(end) || len(got.Tracks) != 3 ||
			len(got.Participants) != 2 || got.Participants[0].Name != "王老师" {
			t.Fatalf("finished %+v", got)
		}
		if tr := got.Tracks[0]; tr.ID != cam || tr.OffsetMS != 12 || tr.SizeBytes != 1000 || tr.Status != "ready" || tr.File != "u1_camera.webm" {
			t.Fatalf("camera %+v", tr)
		}
		if tr := got.Tracks[2]; tr.ID != cut || tr.Status != "failed" {
			t.Fatalf("unfinished track %+v", tr)
		}
		if _, err := s.FinishRecording(ctx, tea, rec.ID, storage.RecordingFinish{Status: storage.RecordingFailed, EndedAt: end}); err == nil {
			t.Fatal("finished twice")
		} else {
			wantErr(t, err, storage.ErrClosed)
		}
		_, err = s.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR_9", File: "late.webm"})
		wantErr(t, err, storage.ErrClosed)
		sp := must(s.RecordingSpeaking(ctx, rec.ID))(t)
		if len(sp) != 3 || sp[0].Identity != "u1" || sp[1].StartMS != 3000 || sp[2].Role != "student" || sp[0].Level != 0.5 {
			t.Fatalf("speaking %+v", sp)
		}
		must0(t, s.SetRecordingTrackStored(ctx, cam, "recordings/1/u1_camera.webm", 1000))
		must0(t, s.SetRecordingDownload(ctx, rec.ID, storage.RecordingDownload{Kind: "composite", Status: storage.DownloadRunning, Progress: 0.5}, end))
		got = must(s.GetRecording(ctx, rec.ID))(t)
		if !got.Tracks[0].Stored || got.Tracks[0].FileKey == "" || got.Download.Progress != 0.5 || got.Download.Kind != "composite" {
			t.Fatalf("stored/download %+v", got)
		}
		if n := countActivity(t, s, "recording.start"); n != 1 {
			t.Fatalf("recording.start rows = %d", n)
		}
		if n := countActivity(t, s, "recording.ready"); n != 1 {
			t.Fatalf("recording.ready rows = %d", n)
		}

		// Another, cut by a crash, then a tutoring one that failed.
		r2 := must(s.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s2-x",
			TeacherID: w.other.ID, StartedAt: start.Add(24 * time.Hour)}))(t)
		must(s.FinishRecording(ctx, storage.Actor{}, r2.ID, storage.RecordingFinish{Status: storage.RecordingInterrupted,
			Reason: "server stopped", EndedAt: start.Add(25 * time.Hour), DurationMS: 3600000}))(t)
		r3 := must(s.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingTutoring, Room: "tutor-1",
			TeacherID: w.teacher.ID, StartedAt: start.Add(48 * time.Hour)}))(t)
		if n := countActivity(t, s, "recording.interrupted"); n != 1 {
			t.Fatalf("recording.interrupted rows = %d", n)
		}

		// The catalogue's filters.
		list := func(f storage.RecordingFilter) []storage.RecordingID {
			t.Helper()
			items, total := must2(s.ListRecordings(ctx, f))(t)
			if total != len(items) {
				t.Fatalf("total %d for %d items", total, len(items))
			}
			var out []storage.RecordingID
			for _, r := range items {
				out = append(out, r.ID)
			}
			return out
		}
		eq := func(got []storage.RecordingID, want ...storage.RecordingID) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("got %v, want %v", got, want)
				}
			}
		}
		eq(list(storage.RecordingFilter{}), r3.ID, r2.ID, rec.ID)
		eq(list(storage.RecordingFilter{TeacherID: w.teacher.ID}), r3.ID, rec.ID)
		eq(list(storage.RecordingFilter{Kind: storage.RecordingTutoring}), r3.ID)
		eq(list(storage.RecordingFilter{SubjectID: w.math.ID, Grade: 7}), rec.ID)
		eq(list(storage.RecordingFilter{Statuses: []storage.RecordingStatus{storage.RecordingInterrupted}}), r2.ID)
		eq(list(storage.RecordingFilter{From: start.Add(time.Hour), To: start.Add(30 * time.Hour)}), r2.ID)
		eq(list(storage.RecordingFilter{SchoolIDs: []storage.SchoolID{w.s1.ID}}))
		eq(list(storage.RecordingFilter{SchoolIDs: []storage.SchoolID{}}))
		eq(list(storage.RecordingFilter{DistrictID: w.d.ID, SchoolID: w.s2.ID}), r3.ID, r2.ID, rec.ID)
		yes := true
		eq(list(storage.RecordingFilter{Trainee: &yes}))

		// Deleting: not while recording; the row stays, out of the catalogue.
		wantErr(t, s.DeleteRecording(ctx, admin, r3.ID, end), storage.ErrClosed)
		must0(t, s.DeleteRecording(ctx, admin, rec.ID, end))
		wantErr(t, s.DeleteRecording(ctx, admin, rec.ID, end), storage.ErrNotFound)
		eq(list(storage.RecordingFilter{}), r3.ID, r2.ID)
		if got := must(s.GetRecording(ctx, rec.ID))(t); got.Status != storage.RecordingDeleted || len(got.Tracks) != 3 {
			t.Fatalf("deleted %+v", got)
		}
		if sp := must(s.RecordingSpeaking(ctx, rec.ID))(t); len(sp) != 0 {
			t.Fatalf("speaking kept after delete: %+v", sp)
		}
		if n := countActivity(t, s, "recording.delete"); n != 1 {
			t.Fatalf("recording.delete rows = %d", n)
		}
		_, err = s.GetRecording(ctx, 987654)
		wantErr(t, err, storage.ErrNotFound)
	})
}

// TestRecordingFinishRace: of many finishes of one recording, one wins.
func TestRecordingFinishRace(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		rec := must(s.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s2-r",
			TeacherID: w.teacher.ID, StartedAt: time.Now()}))(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				_, err := s.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: time.Now()})
				if err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d finishes won", won)
		}
		if n := countActivity(t, s, "recording.ready"); n != 1 {
			t.Fatalf("recording.ready rows = %d", n)
		}
	})
}

// A scheduled class's recording links its class and is filed under the
// class's district and school (a district-wide class: no school); the
// catalogue filters by class.
func TestRecordingOfAClass(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		classes := must(s.CreateClasses(ctx, admin, [][]storage.ClassInput{{{DistrictID: w.d.ID, Title: "区级公开课", SubjectID: w.math.ID,
			Grade: 7, TeacherID: w.teacher.ID, Audience: storage.AudienceDistrict, StartsAt: start, PlannedMinutes: 40, Recording: true}}}))(t)
		c := classes[0]
		_, err := s.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: "class-999999",
			TeacherID: w.teacher.ID, ClassID: 999999, StartedAt: start})
		wantField(t, err, "class_id")
		rec := must(s.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: "class-1", Title: c.Title,
			TeacherID: c.TeacherID, ClassID: c.ID, SubjectID: c.SubjectID, Grade: c.Grade, StartedAt: start}))(t)
		if rec.ClassID != c.ID || rec.DistrictID != w.d.ID || rec.SchoolID != 0 {
			t.Fatalf("the class's recording: %+v", rec)
		}
		other := must(s.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s2-x",
			TeacherID: w.teacher.ID, StartedAt: start}))(t)
		if other.ClassID != 0 || other.SchoolID != w.s2.ID {
			t.Fatalf("a room's recording: %+v", other)
		}
		list, n := must2(s.ListRecordings(ctx, storage.RecordingFilter{ClassID: c.ID}))(t)
		if n != 1 || list[0].ID != rec.ID {
			t.Fatalf("by class: %d %+v", n, list)
		}

		// Speaking saved as the recording goes on: a saved interval that
		// grew since is updated, by later saves and by the finish.
		must0(t, s.SaveRecordingSpeaking(ctx, rec.ID, []storage.SpeakingInterval{{Identity: "u1", Role: "teacher", StartMS: 0, EndMS: 500, Level: 0.1}}))
		must0(t, s.SaveRecordingSpeaking(ctx, rec.ID, []storage.SpeakingInterval{{Identity: "u1", Role: "teacher", StartMS: 0, EndMS: 1500, Level: 0.3},
			{Identity: "u1", Role: "teacher", StartMS: 2000, EndMS: 2500, Level: 0.3}}))
		must(s.FinishRecording(ctx, admin, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: start.Add(time.Minute),
			Speaking: []storage.SpeakingInterval{{Identity: "u1", Role: "teacher", StartMS: 2000, EndMS: 4000, Level: 0.4}}}))(t)
		sp := must(s.RecordingSpeaking(ctx, rec.ID))(t)
		if len(sp) != 2 || sp[0].EndMS != 1500 || sp[1].EndMS != 4000 {
			t.Fatalf("speaking %+v", sp)
		}
		wantErr(t, s.SaveRecordingSpeaking(ctx, rec.ID, sp), storage.ErrClosed)
	})
}

// TestExpiredRecordings: only finished recordings that ended before the
// cut are listed, oldest first, up to the limit; deleted and running ones
// never.
func TestExpiredRecordings(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		day := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
		mk := func(room string, start time.Time, status storage.RecordingStatus) storage.RecordingID {
			rec := must(s.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: room,
				TeacherID: w.teacher.ID, StartedAt: start}))(t)
			if status != storage.RecordingInProgress {
				must(s.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: status, EndedAt: start.Add(time.Hour)}))(t)
			}
			return rec.ID
		}
		old1 := mk("s2-a", day, storage.RecordingReady)
		old2 := mk("s2-b", day.Add(time.Hour), storage.RecordingFailed)
		gone := mk("s2-c", day, storage.RecordingReady)
		must0(t, s.DeleteRecording(ctx, storage.Actor{}, gone, day.Add(3*time.Hour)))
		mk("s2-d", day, storage.RecordingInProgress)
		mk("s2-e", day.Add(30*24*time.Hour), storage.RecordingReady)

		cut := day.Add(10 * 24 * time.Hour)
		got := must(s.ExpiredRecordings(ctx, cut, 10))(t)
		if len(got) != 2 || got[0].ID != old1 || got[1].ID != old2 || got[0].DistrictID != w.d.ID {
			t.Fatalf("expired %+v, want %d then %d in district %d", got, old1, old2, w.d.ID)
		}
		if got := must(s.ExpiredRecordings(ctx, cut, 1))(t); len(got) != 1 || got[0].ID != old1 {
			t.Fatalf("limit 1: %+v", got)
		}
	})
}
