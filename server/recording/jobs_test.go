package recording

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"yunke/server/jobs"
	"yunke/sfu/recorder"
	"yunke/storage"
	"yunke/storage/blob"
	"yunke/storage/storagetest"
)

// teacherIn makes a district, a school and a teacher of it.
func teacherIn(t *testing.T, st *storage.Store) (storage.UserID, storage.DistrictID) {
	t.Helper()
	ctx, admin := context.Background(), storage.Actor{}
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
	return u.ID, d.ID
}

// queue is a job queue of node on st that retries fast.
func queue(t *testing.T, st *storage.Store, node string) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(context.Background(), jobs.Params{Store: st, Node: node, PollInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func start(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The background steps are jobs in the database: queued by one server
// that stops before working them (a crash, a restart), they are worked by
// the next start of the same node — an upload, and the repair of a
// recording the crash cut — and administrators of the district see them.
func TestJobsSurviveRestart(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		teacher, district := teacherIn(t, st)
		work, media := t.TempDir(), &blob.Local{Dir: t.TempDir()}

		// A finished recording whose file is still to be uploaded.
		done, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s1-a",
			TeacherID: teacher, StartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		tid, err := st.AddRecordingTrack(ctx, done.ID, storage.RecordingTrackInput{TrackSID: "TR", Participant: "u1", Role: "teacher",
			Source: "camera", Kind: "video", Codec: "video/VP8", File: "cam.webm"})
		if err != nil {
			t.Fatal(err)
		}
		content := bytes.Repeat([]byte("webm"), 1000)
		file := filepath.Join(work, itoa(done.ID), "cam.webm")
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishRecording(ctx, storage.Actor{}, done.ID, storage.RecordingFinish{Status: storage.RecordingReady,
			EndedAt: time.Now(), Tracks: []storage.RecordingTrackResult{{ID: tid, SizeBytes: int64(len(content)), Status: storage.TrackReady}}}); err != nil {
			t.Fatal(err)
		}
		// A recording a crash cut (its file lost with it).
		cut, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s1-b",
			TeacherID: teacher, StartedAt: time.Now().Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddRecordingTrack(ctx, cut.ID, storage.RecordingTrackInput{TrackSID: "TR2", Participant: "u1", Role: "teacher",
			Source: "camera", Kind: "video", Codec: "video/VP8", File: "cam.webm"}); err != nil {
			t.Fatal(err)
		}

		if err := os.MkdirAll(filepath.Join(work, itoa(cut.ID)), 0o750); err != nil { // this node's
			t.Fatal(err)
		}
		// Another node's recording in progress (no directory here) is left
		// to it; one a day old whose files no node has is repaired here.
		elsewhere, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s1-c",
			TeacherID: teacher, StartedAt: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		orphan, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s1-d",
			TeacherID: teacher, StartedAt: time.Now().Add(-25 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}

		// The first server queues, and stops before working anything.
		q1 := queue(t, st, "node-a")
		s1 := New(Params{Store: st, Media: media, Dir: work, Jobs: q1, FFmpeg: "-"})
		if err := s1.enqueueUpload(ctx, done.ID, district); err != nil {
			t.Fatal(err)
		}
		if err := s1.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		s1.Close()
		list, err := q1.List(ctx, jobs.Filter{District: district})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, j := range list {
			kinds[j.Kind+" "+j.State]++
		}
		if kinds[JobUpload+" available"] != 1 || kinds[JobRepair+" available"] != 2 || len(list) != 3 {
			t.Fatalf("the district's jobs before the restart: %v", kinds)
		}
		if _, err := os.Stat(file); err != nil {
			t.Fatal("the file left before any upload ran")
		}

		// The next start of the node works them.
		q2 := queue(t, st, "node-a")
		s2 := New(Params{Store: st, Media: media, Dir: work, Jobs: q2, FFmpeg: "-"})
		defer s2.Close()
		start(t, q2)
		eventually(t, 20*time.Second, "upload and repair", func() bool {
			a, err1 := st.GetRecording(ctx, done.ID)
			b, err2 := st.GetRecording(ctx, cut.ID)
			return err1 == nil && err2 == nil && a.Tracks[0].Stored && b.Status == storage.RecordingInterrupted
		})
		if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the uploaded file is still in the working directory: %v", err)
		}
		if obj, err := media.Open(ctx, mediaKey(done.ID, "cam.webm")); err != nil {
			t.Error(err)
		} else {
			obj.Close()
		}
		eventually(t, 20*time.Second, "the orphan repaired", func() bool {
			o, err := st.GetRecording(ctx, orphan.ID)
			return err == nil && o.Status == storage.RecordingInterrupted
		})
		if e, _ := st.GetRecording(ctx, elsewhere.ID); e.Status != storage.RecordingInProgress {
			t.Errorf("another node's recording: %s", e.Status)
		}
		b, _ := st.GetRecording(ctx, cut.ID)
		if b.Tracks[0].Status != storage.TrackFailed || b.StatusReason == "" {
			t.Errorf("the cut recording: %+v", b)
		}
	})
}

// failingFinish is a store whose FinishRecording fails a number of times,
// as a database out of reach would.
type failingFinish struct {
	*storage.Store
	fails atomic.Int32
}

func (f *failingFinish) FinishRecording(ctx context.Context, a storage.Actor, id storage.RecordingID, fin storage.RecordingFinish) (storage.Recording, error) {
	if f.fails.Add(-1) >= 0 {
		return storage.Recording{}, errors.New("database unavailable")
	}
	return f.Store.FinishRecording(ctx, a, id, fin)
}

// A stop the database refuses is not left "recording": the result waits
// beside the files, and a job files it, then uploads the files.
func TestFinishRetriedWhenTheDatabaseFails(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		teacher, district := teacherIn(t, st)
		fs := &failingFinish{Store: st}
		fs.fails.Store(2)
		q := queue(t, st, "")
		s := New(Params{Store: fs, Media: &blob.Local{Dir: t.TempDir()}, Dir: t.TempDir(), Jobs: q, FFmpeg: "-"})
		defer s.Close()
		start(t, q)
		rec, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s1-a",
			TeacherID: teacher, StartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := recorder.Start(recorder.Params{Dir: s.workDir(rec.ID)})
		if err != nil {
			t.Fatal(err)
		}
		act := &active{id: rec.ID, district: district, sess: sess, started: rec.StartedAt, tracks: nil,
			flushStop: make(chan struct{}), flushDone: make(chan struct{})}
		go s.flushSpeaking(act)
		if err := s.finishAt(ctx, "s1-a", act, storage.Actor{}, time.Time{}); err == nil {
			t.Fatal("the stop reported no error")
		}
		eventually(t, 20*time.Second, "filed by the job", func() bool {
			r, err := st.GetRecording(ctx, rec.ID)
			return err == nil && r.Status == storage.RecordingReady
		})
		eventually(t, 20*time.Second, "the working directory emptied", func() bool {
			_, err := os.Stat(s.workDir(rec.ID))
			return errors.Is(err, os.ErrNotExist)
		})
		var list []jobs.Info
		eventually(t, 10*time.Second, "the finalize job completed after one failed attempt", func() bool {
			list, err = q.List(ctx, jobs.Filter{District: district, Kind: JobFinalize})
			return err == nil && len(list) == 1 && list[0].State == "completed" && len(list[0].Errors) == 1
		})
	})
}

func itoa[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// Composites are bounded per node: while the renderers are busy a
// composite job is put back (snoozed, no attempt counted), not run.
func TestCompositeWaitsForARenderer(t *testing.T) {
	s := New(Params{Store: nil, Media: &blob.Local{Dir: t.TempDir()}, Dir: t.TempDir(), FFmpeg: "-", Composites: 2})
	defer s.Close()
	s.renderers <- struct{}{}
	s.renderers <- struct{}{}
	var snooze *rivertype.JobSnoozeError
	if err := s.workComposite(context.Background(), 1, false); !errors.As(err, &snooze) || snooze.Duration != compositeWait {
		t.Fatalf("a third composite: %v, want a snooze", err)
	}
}

// Recordings past recording.retention_days are deleted by the hourly job
// (which also runs at start): the row says deleted, with its activity row,
// and the files leave the media store; a newer recording stays.
func TestRetentionDeletesOldRecordings(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		teacher, _ := teacherIn(t, st)
		media := &blob.Local{Dir: t.TempDir()}
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		mk := func(room string, ended time.Time) storage.RecordingID {
			rec, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: room,
				TeacherID: teacher, StartedAt: ended.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			tid, err := st.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR", Participant: "u1", Role: "teacher",
				Source: "camera", Kind: "video", Codec: "video/VP8", File: "cam.webm"})
			if err != nil {
				t.Fatal(err)
			}
			key := mediaKey(rec.ID, "cam.webm")
			if err := media.Put(ctx, key, bytes.NewReader([]byte("webm")), 4, "video/webm"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady,
				EndedAt: ended, Tracks: []storage.RecordingTrackResult{{ID: tid, SizeBytes: 4, Status: storage.TrackReady}}}); err != nil {
				t.Fatal(err)
			}
			if err := st.SetRecordingTrackStored(ctx, tid, key, 4); err != nil {
				t.Fatal(err)
			}
			return rec.ID
		}
		old := mk("s1-old", now.Add(-40*24*time.Hour))
		recent := mk("s1-new", now.Add(-5*24*time.Hour))

		q := queue(t, st, "node-a")
		s := New(Params{Store: st, Media: media, Dir: t.TempDir(), Jobs: q, FFmpeg: "-",
			Retention: 30 * 24 * time.Hour, Now: func() time.Time { return now }})
		defer s.Close()
		start(t, q)
		eventually(t, 20*time.Second, "the old recording's files removed", func() bool {
			_, err := media.Stat(ctx, mediaKey(old, "cam.webm"))
			return errors.Is(err, blob.ErrNotFound)
		})
		if r, err := st.GetRecording(ctx, old); err != nil || r.Status != storage.RecordingDeleted {
			t.Fatalf("the old recording: %v %v", r.Status, err)
		}
		if r, err := st.GetRecording(ctx, recent); err != nil || r.Status != storage.RecordingReady {
			t.Fatalf("the recent recording: %v %v", r.Status, err)
		}
		if _, err := media.Stat(ctx, mediaKey(recent, "cam.webm")); err != nil {
			t.Fatalf("the recent recording's file: %v", err)
		}
	})
}
