package microlessons

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/server/microlessons/probe"
	"yunke/storage"
	"yunke/storage/blob"
	"yunke/storage/storagetest"
)

func TestAccept(t *testing.T) {
	s := &Service{p: Params{MaxDuration: 30 * time.Minute}}
	v := func(codec string) probe.Track {
		return probe.Track{Type: "video", Codec: codec, Width: 1280, Height: 720}
	}
	a := func(codec string) probe.Track { return probe.Track{Type: "audio", Codec: codec} }
	for _, c := range []struct {
		name      string
		info      probe.Info
		code, msg string
	}{
		{"h264 aac", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{v("h264"), a("aac")}}, "", ""},
		{"silent h264", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{v("h264")}}, "", ""},
		{"vp9 opus", probe.Info{Container: "webm", Duration: time.Minute, Tracks: []probe.Track{v("vp9"), a("opus")}}, "", ""},
		{"vp8 vorbis", probe.Info{Container: "webm", Duration: 30 * time.Minute, Tracks: []probe.Track{v("vp8"), a("vorbis")}}, "", ""},
		{"hevc", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{v("hevc"), a("aac")}}, "unsupported_media", "HEVC (H.265) video is not supported"},
		{"av1 in webm", probe.Info{Container: "webm", Duration: time.Minute, Tracks: []probe.Track{v("av1")}}, "unsupported_media", "AV1 video"},
		{"h264 in webm", probe.Info{Container: "webm", Duration: time.Minute, Tracks: []probe.Track{v("h264")}}, "unsupported_media", "H.264 video is not supported in WebM"},
		{"mp3 in mp4", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{v("h264"), a("mp3")}}, "unsupported_media", "MP3 audio"},
		{"aac in webm", probe.Info{Container: "webm", Duration: time.Minute, Tracks: []probe.Track{v("vp8"), a("aac")}}, "unsupported_media", "AAC audio is not supported in WebM"},
		{"second video track", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{v("h264"), v("hevc")}}, "unsupported_media", "HEVC"},
		{"audio only", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{a("aac")}}, "unsupported_media", "only sound"},
		{"no tracks", probe.Info{Container: "webm", Duration: time.Minute}, "unsupported_media", "no video track"},
		{"encrypted", probe.Info{Container: "mp4", Duration: time.Minute, Tracks: []probe.Track{{Type: "video", Codec: "h264", Encrypted: true}}}, "unsupported_media", "encrypted"},
		{"no duration", probe.Info{Container: "mp4", Tracks: []probe.Track{v("h264")}}, "damaged_media", "no duration"},
		{"too long", probe.Info{Container: "mp4", Duration: 42*time.Minute + 10*time.Second, Tracks: []probe.Track{v("h264")}}, "media_too_long", "42 min 10 s long; a micro-lesson may be at most 30 min"},
	} {
		e := s.accept(c.info)
		switch {
		case c.code == "" && e != nil:
			t.Errorf("%s: refused: %v", c.name, e)
		case c.code != "" && (e == nil || e.Code != c.code || e.Status != http.StatusUnprocessableEntity || !strings.Contains(e.Message, c.msg)):
			t.Errorf("%s: %v, want 422 %s mentioning %q", c.name, e, c.code, c.msg)
		}
	}
}

func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		"  第一课.mp4 ":             "第一课.mp4",
		"../../etc/passwd":       "passwd",
		`C:\Users\t\lesson.webm`: "lesson.webm",
		"a\u202egnp.mp4":         "",
		strings.Repeat("长", 300): strings.Repeat("长", 200),
		"\xff\xfe":               "",
		"lesson\x00.mp4":         "",
		"ok name (final) v2.mp4": "ok name (final) v2.mp4",
		"":                       "",
		"folder/":                "",
	} {
		if got := cleanFilename(in); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTusErrorsAsJSON: tusd's plain-text errors reach the client as the
// API's JSON errors; a server error keeps its details in the log.
func TestTusErrorsAsJSON(t *testing.T) {
	for _, c := range []struct {
		body       string
		status     int
		code, want string
	}{
		{"ERR_MISMATCHED_OFFSET: mismatched offset\n", 409, "mismatched_offset", "mismatched offset"},
		{"ERR_UPLOAD_SIZE_EXCEEDED: upload's size exceeded\n", 413, "too_large", "size exceeded"},
		{"ERR_UNSUPPORTED_VERSION: missing, invalid or unsupported Tus-Resumable header\n", 412, "unsupported_version", "Tus-Resumable"},
		{"ERR_INTERNAL_SERVER_ERROR: storage: pq: secret detail\n", 500, "internal", "something went wrong"},
		{"", 404, "not_found", "not found"},
	} {
		rec := httptest.NewRecorder()
		tw := &tusWriter{ResponseWriter: rec, log: discard()}
		tw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		tw.Header().Set("Content-Length", "99")
		tw.WriteHeader(c.status)
		_, _ = tw.Write([]byte(c.body))
		tw.finish()
		body := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) || !strings.Contains(body, c.want) ||
			strings.Contains(body, "secret") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%q: %d %s", c.body, rec.Code, body)
		}
	}
	// The Location of a new upload becomes a path.
	rec := httptest.NewRecorder()
	tw := &tusWriter{ResponseWriter: rec, log: discard()}
	tw.Header().Set("Location", "http://10.0.0.1:7880/api/v1/microlessons/uploads/abc")
	tw.WriteHeader(201)
	if loc := rec.Header().Get("Location"); loc != "/api/v1/microlessons/uploads/abc" || rec.Code != 201 {
		t.Errorf("Location %q, status %d", loc, rec.Code)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSweep: an upload left unfinished past its time is removed with its
// bytes, and staging files whose upload is gone are removed too, while a
// fresh upload and its files stay.
func TestSweep(t *testing.T) {
	st := storagetest.OpenSQLite(t)
	ctx := context.Background()
	d := must(st.CreateDistrict(ctx, storage.Actor{}, "D", "D"))(t)
	sc := must(st.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d.ID, Code: "S", Name: "S", Kind: storage.KindPrimary, Active: true}))(t)
	u := must(st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "t", Name: "t", DistrictID: d.ID, SchoolID: sc.ID,
		Roles: []storage.Role{storage.RoleTeacher}, Active: true}, "h", false))(t)
	clk := &clock{t: time.Now()}
	dir := t.TempDir()
	s := must(New(Params{Store: st, Media: &blob.Local{Dir: t.TempDir()}, Dir: dir, UploadTTL: time.Hour, Now: clk.Now, Logger: discard()}))(t)

	stage := func(id string) {
		t.Helper()
		now := clk.Now()
		if err := st.CreateMicrolessonUpload(ctx, storage.MicrolessonUpload{ID: id, UserID: u.ID, SizeBytes: 10, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, 0, 0); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{s.binPath(id), s.infoPath(id)} {
			if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	old, fresh, orphan := strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)
	stage(old)
	clk.Advance(50 * time.Minute)
	stage(fresh)
	// Files of an upload whose row is gone, written long ago.
	for _, p := range []string{s.binPath(orphan), s.infoPath(orphan)} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		past := clk.Now().Add(-time.Hour)
		_ = os.Chtimes(p, past, past)
	}
	// Not ours: left alone.
	other := filepath.Join(dir, "README")
	_ = os.WriteFile(other, nil, 0o600)

	clk.Advance(11 * time.Minute) // old has expired; fresh has not
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if exists(s.binPath(old)) || exists(s.infoPath(old)) || exists(s.binPath(orphan)) || exists(s.infoPath(orphan)) {
		t.Error("expired or orphaned files remain")
	}
	if !exists(s.binPath(fresh)) || !exists(s.infoPath(fresh)) || !exists(other) {
		t.Error("a live upload's files or a foreign file were removed")
	}
	if _, err := st.GetMicrolessonUpload(ctx, old); err == nil {
		t.Error("the expired upload's row remains")
	}
	if _, err := st.GetMicrolessonUpload(ctx, fresh); err != nil {
		t.Errorf("the fresh upload's row: %v", err)
	}
	// An expired upload is nobody's, even before the sweep.
	clk.Advance(time.Hour)
	if _, err := s.ownUpload(ctx, u.ID, fresh); err != errNoUpload {
		t.Errorf("expired upload: %v", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
