package recording

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"yunke/signaling"
	"yunke/storage"
	"yunke/storage/blob"
	"yunke/storage/storagetest"
)

func TestRoomNames(t *testing.T) {
	for room, want := range map[signaling.RoomName]storage.SchoolID{"s12-math-3": 12, "s1-a": 1, "s01-a": 0, "s12": 0, "s12-": 0, "x12-a": 0, "s-1-a": 0} {
		got, _, ok := schoolOfClass(room)
		if got != want || ok != (want != 0) {
			t.Errorf("schoolOfClass(%q) = %d %v, want %d", room, got, ok, want)
		}
	}
	for room, want := range map[signaling.RoomName]storage.TutoringSessionID{"tutor-7": 7, "tutor-07": 0, "tutor-": 0, "tutor-x": 0, "s1-tutor-7": 0} {
		if got, ok := sessionOfTutoringRoom(room); got != want || ok != (want != 0) {
			t.Errorf("sessionOfTutoringRoom(%q) = %d %v", room, got, ok)
		}
	}
	for id, want := range map[signaling.Identity]storage.UserID{"u5": 5, "u05": 0, "u": 0, "guest-1": 0, "u-1": 0} {
		if got, _ := accountOf(id); got != want {
			t.Errorf("accountOf(%q) = %d", id, got)
		}
	}
}

// flakyMedia is a media store that refuses puts, or keeps fewer bytes
// than it was given, before it behaves.
type flakyMedia struct {
	*blob.Local
	mode string // "refuse", "short" or ""
}

func (m *flakyMedia) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) error {
	switch m.mode {
	case "refuse":
		return errors.New("store unavailable")
	case "short":
		b, _ := io.ReadAll(r)
		return m.Local.Put(ctx, key, bytes.NewReader(b[:len(b)/2]), size/2, ct)
	}
	return m.Local.Put(ctx, key, r, size, ct)
}

// TestUploadKeepsLocalFilesUntilStored: a finished recording's file leaves
// the working directory only once the media store holds all of it.
func TestUploadKeepsLocalFilesUntilStored(t *testing.T) {
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
		rec, err := st.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: "s1-x", TeacherID: u.ID, StartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		tid, err := st.AddRecordingTrack(ctx, rec.ID, storage.RecordingTrackInput{TrackSID: "TR", Participant: "u1", Role: "teacher",
			Source: "camera", Kind: "video", Codec: "video/VP8", File: "cam.webm"})
		if err != nil {
			t.Fatal(err)
		}
		work, root := t.TempDir(), t.TempDir()
		content := bytes.Repeat([]byte("webm"), 1000)
		local := filepath.Join(work, strconv.FormatInt(int64(rec.ID), 10), "cam.webm")
		if err := os.MkdirAll(filepath.Dir(local), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(local, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishRecording(ctx, admin, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: time.Now(),
			Tracks: []storage.RecordingTrackResult{{ID: tid, SizeBytes: int64(len(content)), Status: storage.TrackReady}}}); err != nil {
			t.Fatal(err)
		}
		media := &flakyMedia{Local: &blob.Local{Dir: root}}
		svc := New(Params{Store: st, Media: media, Dir: work, FFmpeg: "-"})
		defer svc.Close()
		for _, mode := range []string{"refuse", "short"} {
			media.mode = mode
			if err := svc.Upload(ctx, rec.ID); err == nil {
				t.Fatalf("%s: upload succeeded", mode)
			}
			if _, err := os.Stat(local); err != nil {
				t.Fatalf("%s: the local file is gone: %v", mode, err)
			}
			if tr, _ := st.RecordingTracks(ctx, rec.ID); tr[0].Stored {
				t.Fatalf("%s: marked stored", mode)
			}
		}
		media.mode = ""
		if err := svc.Upload(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(local); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the local file stays after the upload: %v", err)
		}
		tr, _ := st.RecordingTracks(ctx, rec.ID)
		if !tr[0].Stored || tr[0].FileKey != mediaKey(rec.ID, "cam.webm") {
			t.Fatalf("track %+v", tr[0])
		}
		obj, err := media.Open(ctx, tr[0].FileKey)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if b, _ := io.ReadAll(obj); !bytes.Equal(b, content) {
			t.Fatal("the stored copy differs")
		}
		if err := svc.Upload(ctx, rec.ID); err != nil { // idempotent
			t.Fatal(err)
		}
	})
}
