package recording

import (
	"context"
	"errors"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// TestBackfillST: the sweep stores the automatic S-T result of every
// finished recording without one — a lecture, a dialogue, one with no
// speech at all (mode "") — leaves recordings in progress alone, and
// analyses nothing again when run a second time.
func TestBackfillST(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		admin := storage.Actor{}
		d, err := st.CreateDistrict(ctx, admin, "D", "区")
		if err != nil {
			t.Fatal(err)
		}
		sc, err := st.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: d.ID, Code: "S", Name: "校", Kind: storage.KindPrimary, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.CreateUser(ctx, admin, storage.UserInput{Username: "t", Name: "t", DistrictID: d.ID, SchoolID: sc.ID,
			Roles: []storage.Role{storage.RoleTeacher}, Active: true}, "h", false)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 3, 2, 9, 0, 0, 0, storage.Zone)
		// file records a finished recording whose speech follows codes, one
		// letter per 30 s: T the teacher speaks, S a student.
		file := func(room, codes string, finish bool) storage.RecordingID {
			rec, err := st.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: room,
				TeacherID: u.ID, StartedAt: start})
			if err != nil {
				t.Fatal(err)
			}
			if !finish {
				return rec.ID
			}
			var sp []storage.SpeakingInterval
			for i, c := range codes {
				s := int64(i) * 30_000
				role := "teacher"
				if c == 'S' {
					role = "student"
				}
				sp = append(sp, storage.SpeakingInterval{Identity: role, Role: role, StartMS: s + 1_000, EndMS: s + 29_000, Level: 0.5})
			}
			dur := int64(20 * 30_000)
			if _, err := st.FinishRecording(ctx, admin, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady,
				EndedAt: start.Add(time.Duration(dur) * time.Millisecond), DurationMS: dur, Speaking: sp}); err != nil {
				t.Fatal(err)
			}
			return rec.ID
		}
		lecture := file("s1-a", "TTTTTTTTTTTTTTTTTTST", true)
		dialogue := file("s1-b", "TSTSTSTSTSTSTSTSTSTS", true)
		silent := file("s1-c", "", true)
		live := file("s1-d", "", false)
		now := time.Date(2026, 3, 3, 8, 0, 0, 0, storage.Zone)
		svc := New(Params{Store: st, Dir: t.TempDir(), FFmpeg: "-", Now: func() time.Time { return now }})
		defer svc.Close()
		n, err := svc.BackfillST(ctx)
		if err != nil || n != 3 {
			t.Fatalf("BackfillST = %d, %v; want 3", n, err)
		}
		for id, want := range map[storage.RecordingID]storage.STResult{
			lecture:  {Mode: "lecture", Rt: 0.95, Ch: 2.0 / 20, Samples: 20},
			dialogue: {Mode: "dialogue", Rt: 0.5, Ch: 19.0 / 20, Samples: 20},
			silent:   {Mode: "", Samples: 20},
		} {
			got, err := st.GetSTResult(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Mode != want.Mode || got.Rt != want.Rt || got.Ch != want.Ch || got.Samples != want.Samples ||
				got.IntervalMS != 30_000 || !got.ComputedAt.Equal(now) {
				t.Errorf("recording %d: %+v; want %+v", id, got, want)
			}
		}
		if _, err := st.GetSTResult(ctx, live); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a recording in progress has a result: %v", err)
		}
		if n, err := svc.BackfillST(ctx); err != nil || n != 0 {
			t.Fatalf("second BackfillST = %d, %v; want 0", n, err)
		}
	})
}
