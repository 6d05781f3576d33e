package server_test

// Micro-lessons end to end: a resumable upload through the tus endpoint,
// interrupted and resumed; the file checked from its content; review,
// publication and playback with Range requests; and what an attacker tries.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"yunke/server/config"
	"yunke/storage"
)

func testVideo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("microlessons", "probe", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tus is the few requests of the tus 1.0.0 protocol a browser's
// tus-js-client sends, with the session cookie and the CSRF token.
type tus struct{ a *api }

const tusEndpoint = "/api/v1/microlessons/uploads"

// create starts an upload of size bytes named filename; the answer's
// Location is the upload's path.
func (c tus) create(size int64, filename string) reply {
	c.a.t.Helper()
	meta := "filename " + base64.StdEncoding.EncodeToString([]byte(filename)) + ",filetype " + base64.StdEncoding.EncodeToString([]byte("video/mp4"))
	return c.a.send("POST", tusEndpoint, nil, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.FormatInt(size, 10), "Upload-Metadata", meta)
}

// mustCreate starts an upload and returns its path.
func (c tus) mustCreate(size int64, filename string) string {
	c.a.t.Helper()
	r := c.create(size, filename)
	loc := r.header.Get("Location")
	if r.status != http.StatusCreated || !strings.HasPrefix(loc, tusEndpoint+"/") {
		c.a.t.Fatalf("tus create: %v (Location %q)", r, loc)
	}
	return loc
}

func (c tus) patch(loc string, offset int64, chunk []byte) reply {
	c.a.t.Helper()
	return c.a.send("PATCH", loc, chunk, "Tus-Resumable", "1.0.0", "Upload-Offset", strconv.FormatInt(offset, 10),
		"Content-Type", "application/offset+octet-stream")
}

// offset is the Upload-Offset a HEAD answers (-1 with the reply when not 200).
func (c tus) offset(loc string) (int64, reply) {
	c.a.t.Helper()
	r := c.a.send("HEAD", loc, nil, "Tus-Resumable", "1.0.0")
	if r.status != http.StatusOK {
		return -1, r
	}
	n, err := strconv.ParseInt(r.header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		c.a.t.Fatalf("HEAD %s: Upload-Offset %q", loc, r.header.Get("Upload-Offset"))
	}
	return n, r
}

// upload sends a whole file in chunks and returns the upload's id.
func (c tus) upload(data []byte, filename string) string {
	c.a.t.Helper()
	loc := c.mustCreate(int64(len(data)), filename)
	for off := 0; off < len(data); off += 8000 {
		end := min(off+8000, len(data))
		if r := c.patch(loc, int64(off), data[off:end]); r.status != http.StatusNoContent {
			c.a.t.Fatalf("PATCH %s at %d: %v", loc, off, r)
		}
	}
	return path.Base(loc)
}

// interruptedPatch sends a PATCH whose body breaks off after n of the
// bytes its Content-Length promises, as a dropped connection would.
func (c tus) interruptedPatch(loc string, offset int64, chunk []byte, n int) {
	c.a.t.Helper()
	body := io.MultiReader(bytes.NewReader(chunk[:n]), errReader{})
	req, err := http.NewRequest("PATCH", c.a.base+loc, body)
	if err != nil {
		c.a.t.Fatal(err)
	}
	req.ContentLength = int64(len(chunk))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("X-CSRF-Token", c.a.csrf)
	resp, err := c.a.hc.Do(req)
	if err == nil {
		resp.Body.Close()
		c.a.t.Fatalf("an interrupted PATCH answered %s", resp.Status)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection dropped") }

type lesson struct {
	ID              int64  `json:"id"`
	TeacherID       int64  `json:"teacher_id"`
	Status          string `json:"status"`
	Title           string `json:"title"`
	Container       string `json:"container"`
	VideoCodec      string `json:"video_codec"`
	AudioCodec      string `json:"audio_codec"`
	Width, Height   int
	DurationMS      int64  `json:"duration_ms"`
	SizeBytes       int64  `json:"size_bytes"`
	ReturnReason    string `json:"return_reason"`
	Version         int64  `json:"version"`
	KnowledgePoints []struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
	} `json:"knowledge_points"`
}

// extraUser makes one more signed-in user with roles in a school.
func extraUser(t *testing.T, fx *fixture, username string, body map[string]any) (*api, int64) {
	t.Helper()
	body["username"], body["name"], body["password"] = username, "用户 "+username, "initial-password"
	var created map[string]any
	fx.users["system_admin"].must(201, "POST", "/api/v1/users", body, &created)
	c := signedIn(t, fx.srv, username, "initial-password")
	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	return c, id(created)
}

func TestMicrolessonUpload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, withConfig(func(c *config.Config) { c.Microlessons.Dir = dir }))
	fx := newFixture(t, srv)
	teacher, student, schoolAdmin := fx.users["teacher"], fx.users["student"], fx.users["school_admin"]
	teacher2, _ := extraUser(t, fx, "teacher2", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolA, "staff_no": "T-A-9"})
	studentC, _ := extraUser(t, fx, "student.c", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolC, "student_no": "S-C-1"})
	var kps storage.ImportCounts
	fx.users["system_admin"].must(200, "POST", "/api/v1/knowledge-points/import", multipartForm(t, nil, "kp.csv",
		[]byte("subject,grade,code,parent_code,name,sort\nfixture,3,F3,,数与代数,1\nfixture,3,F3-1,F3,整数,1\n")), &kps)
	var tree struct{ Items []storage.KnowledgePoint }
	teacher.must(200, "GET", "/api/v1/knowledge-points?subject_id="+itoa(fx.subject), nil, &tree)
	kp := map[string]int64{}
	for _, k := range tree.Items {
		kp[k.Code] = int64(k.ID)
	}
	tc := tus{teacher}
	video := testVideo(t, "h264_aac.mp4")

	// The first chunk arrives; the second breaks off; HEAD says where to
	// resume; the rest completes the upload.
	loc := tc.mustCreate(int64(len(video)), "第一课.mp4")
	if r := tc.patch(loc, 0, video[:6000]); r.status != http.StatusNoContent || r.header.Get("Upload-Offset") != "6000" {
		t.Fatalf("first chunk: %v", r)
	}
	tc.interruptedPatch(loc, 6000, video[6000:12000], 3000)
	// The server may still be storing what reached it when HEAD asks, so
	// resume as tus-js-client does: ask, send from there, and on a
	// mismatched offset ask again.
	var off int64
	for attempt := 0; ; attempt++ {
		var r reply
		off, r = tc.offset(loc)
		if off < 6000 || off > 9000 || r.header.Get("Upload-Length") != strconv.Itoa(len(video)) {
			t.Fatalf("HEAD after the interruption: offset %d, %v", off, r)
		}
		r = tc.patch(loc, off, video[off:])
		if r.status == http.StatusNoContent && r.header.Get("Upload-Offset") == strconv.Itoa(len(video)) {
			break
		}
		if r.status != http.StatusConflict || r.errCode() != "mismatched_offset" || attempt == 20 {
			t.Fatalf("resumed at %d (attempt %d): %v", off, attempt+1, r)
		}
	}
	if off > 6000 {
		if r := tc.patch(loc, 6000, video[6000:7000]); r.status != http.StatusConflict || r.errCode() != "mismatched_offset" {
			t.Fatalf("PATCH at a stale offset: %v, want 409 mismatched_offset", r)
		}
	}
	uploadID := path.Base(loc)
	var ups struct {
		Items []struct {
			ID       string `json:"id"`
			Offset   int64  `json:"offset"`
			Complete bool   `json:"complete"`
			Filename string `json:"filename"`
		}
		Limits struct {
			MaxBytes   int64 `json:"max_bytes"`
			MaxMinutes int   `json:"max_minutes"`
		}
	}
	teacher.must(200, "GET", tusEndpoint, nil, &ups)
	if len(ups.Items) != 1 || ups.Items[0].ID != uploadID || !ups.Items[0].Complete || ups.Items[0].Filename != "第一课.mp4" ||
		ups.Limits.MaxBytes != 2<<30 || ups.Limits.MaxMinutes != 30 {
		t.Fatalf("uploads in progress: %+v", ups)
	}

	// Another teacher gets nothing of it: not its offset, not a byte in.
	other := tus{teacher2}
	if _, r := other.offset(loc); r.status != http.StatusNotFound {
		t.Errorf("another teacher's HEAD: %v, want 404", r)
	}
	if r := other.patch(loc, int64(len(video)), []byte("x")); r.status != http.StatusNotFound || r.errCode() != "not_found" {
		t.Errorf("another teacher's PATCH: %v, want 404", r)
	}
	if r := teacher2.send("DELETE", loc, nil, "Tus-Resumable", "1.0.0"); r.status != http.StatusNotFound {
		t.Errorf("another teacher's DELETE: %v, want 404", r)
	}
	if r := teacher2.send("POST", "/api/v1/microlessons", map[string]any{"upload_id": uploadID, "title": "偷来的", "subject_id": fx.subject, "grade": 3}); r.status != http.StatusNotFound {
		t.Errorf("another teacher files the upload: %v, want 404", r)
	}

	// Filed: checked from its content, moved into the media store, submitted.
	body := map[string]any{"upload_id": uploadID, "title": " 整数的认识 ", "description": "三年级", "subject_id": fx.subject, "grade": 3,
		"knowledge_point_ids": []int64{kp["F3-1"]}}
	if r := teacher.send("POST", "/api/v1/microlessons", map[string]any{"upload_id": uploadID, "title": "", "subject_id": fx.subject, "grade": 3}); r.status != 400 || r.errFields()["title"] == nil {
		t.Fatalf("no title: %v", r)
	}
	var m lesson
	teacher.must(201, "POST", "/api/v1/microlessons", body, &m)
	if m.Status != "submitted" || m.Title != "整数的认识" || m.Container != "mp4" || m.VideoCodec != "h264" || m.AudioCodec != "aac" ||
		m.DurationMS != 2000 || m.SizeBytes != int64(len(video)) || m.Width != 160 || m.Height != 120 || len(m.KnowledgePoints) != 1 || m.KnowledgePoints[0].Code != "F3-1" {
		t.Fatalf("micro-lesson %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "uploads", uploadID)); !os.IsNotExist(err) {
		t.Errorf("staged bytes remain after filing: %v", err)
	}
	if r := teacher.send("POST", "/api/v1/microlessons", body); r.status != 404 {
		t.Errorf("filed twice: %v, want 404", r)
	}
	lessonPath := "/api/v1/microlessons/" + itoa(m.ID)
	videoPath := "/api/v1/microlessons/videos/" + itoa(m.ID)

	// Before publication: the student sees nothing of it; reviewers do.
	if r := student.send("GET", lessonPath, nil); r.status != 403 {
		t.Errorf("student reads a submitted micro-lesson: %v", r)
	}
	if r := student.send("GET", videoPath, nil); r.status != 403 {
		t.Errorf("student watches a submitted micro-lesson: %v", r)
	}
	var queue struct {
		Items []lesson
		Total int
	}
	fx.users["expert"].must(200, "GET", "/api/v1/microlessons?status=submitted", nil, &queue)
	if queue.Total != 1 || queue.Items[0].ID != m.ID {
		t.Errorf("expert's queue: %+v", queue)
	}
	if r := student.send("GET", "/api/v1/microlessons?status=submitted", nil); r.status != 403 {
		t.Errorf("student lists submitted ones: %v", r)
	}
	if r := teacher.send("POST", lessonPath+"/publish", nil); r.status != 403 {
		t.Errorf("teacher publishes: %v", r)
	}

	// Review: the expert takes it up (but may not publish); the school
	// admin returns it; the teacher edits it and files it again; another
	// admin of the school publishes it.
	fx.users["expert"].must(200, "POST", lessonPath+"/review", nil, &m)
	if m.Status != "in_review" {
		t.Fatalf("in review: %+v", m)
	}
	if r := fx.users["expert"].send("POST", lessonPath+"/publish", nil); r.status != 403 {
		t.Errorf("expert publishes: %v", r)
	}
	if r := schoolAdmin.send("POST", lessonPath+"/return", map[string]string{"reason": " "}); r.status != 400 || r.errFields()["reason"] == nil {
		t.Errorf("return without a reason: %v", r)
	}
	schoolAdmin.must(200, "POST", lessonPath+"/return", map[string]string{"reason": "声音太小"}, &m)
	if m.Status != "returned" || m.ReturnReason != "声音太小" {
		t.Fatalf("returned: %+v", m)
	}
	if r := teacher2.send("PATCH", lessonPath, map[string]any{"title": "改", "version": m.Version}); r.status != 403 {
		t.Errorf("another teacher edits: %v", r)
	}
	teacher.must(200, "PATCH", lessonPath, map[string]any{"title": "整数的认识（重录声音）", "version": m.Version}, &m)
	if r := teacher.send("PATCH", lessonPath, map[string]any{"title": "旧", "version": m.Version - 1}); r.status != 409 || r.errCode() != "conflict" {
		t.Errorf("stale version: %v", r)
	}
	m = lesson{}
	teacher.must(200, "POST", lessonPath+"/resubmit", nil, &m)
	if m.Status != "submitted" || m.Title != "整数的认识（重录声音）" || m.ReturnReason != "" {
		t.Fatalf("filed again: %+v", m)
	}
	fx.users["teacher+school_admin"].must(200, "POST", lessonPath+"/publish", nil, &m)
	if m.Status != "published" {
		t.Fatalf("published: %+v", m)
	}
	if r := schoolAdmin.send("POST", lessonPath+"/return", map[string]string{"reason": "晚了"}); r.status != 409 || r.errCode() != "wrong_status" {
		t.Errorf("return a published one: %v", r)
	}
	if r := teacher.send("PATCH", lessonPath, map[string]any{"title": "改", "version": m.Version}); r.status != 409 || r.errCode() != "wrong_status" {
		t.Errorf("edit a published one: %v", r)
	}

	// Published: the district's student finds and streams it with a Range
	// request; a student of another district does not.
	var list struct {
		Items []lesson
		Total int
	}
	student.must(200, "GET", "/api/v1/microlessons?subject_id="+itoa(fx.subject)+"&knowledge_point_id="+itoa(kp["F3"]), nil, &list)
	if list.Total != 1 || list.Items[0].ID != m.ID {
		t.Fatalf("student's list: %+v", list)
	}
	studentC.must(200, "GET", "/api/v1/microlessons", nil, &list)
	if list.Total != 0 {
		t.Errorf("a student of another district lists %+v", list)
	}
	if r := studentC.send("GET", videoPath, nil); r.status != 403 {
		t.Errorf("a student of another district watches: %v", r)
	}
	r := student.send("GET", videoPath, nil, "Range", "bytes=100-199")
	if r.status != http.StatusPartialContent || r.header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(video)) ||
		!bytes.Equal(r.body, video[100:200]) || r.header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("Range request: %v %v", r.status, r.header)
	}
	r = student.send("GET", videoPath+"?download=1", nil)
	if r.status != 200 || !bytes.Equal(r.body, video) || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") ||
		r.header.Get("Accept-Ranges") != "bytes" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("whole video: %d %v", r.status, r.header)
	}
	teacher.must(200, "GET", "/api/v1/microlessons?mine=true", nil, &list)
	if list.Total != 1 {
		t.Errorf("teacher's own: %+v", list)
	}

	// Deleting: not by its teacher once published; by an admin, with the video.
	if r := teacher.send("DELETE", lessonPath, nil); r.status != 409 || r.errCode() != "wrong_status" {
		t.Errorf("teacher deletes a published one: %v", r)
	}
	if r := schoolAdmin.send("DELETE", lessonPath, nil); r.status != 204 {
		t.Fatalf("admin deletes: %v", r)
	}
	if r := student.send("GET", videoPath, nil); r.status != 404 {
		t.Errorf("deleted video: %v", r)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "videos", "*", "*")); len(files) != 0 {
		t.Errorf("videos left after delete: %v", files)
	}
}

// TestMicrolessonUploadAttacks: what the tus endpoint refuses.
func TestMicrolessonUploadAttacks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, withConfig(func(c *config.Config) { c.Microlessons.Dir = dir }))
	fx := newFixture(t, srv)
	teacher := fx.users["teacher"]
	tc := tus{teacher}

	// A student may not upload.
	if r := (tus{fx.users["student"]}).create(1000, "a.mp4"); r.status != 403 || r.errCode() != "forbidden" {
		t.Errorf("student uploads: %v, want 403", r)
	}
	// An announced size over microlessons.max_bytes: refused before any byte.
	if r := tc.create(10<<30, "huge.mp4"); r.status != 413 || r.errCode() != "too_large" {
		t.Errorf("10 GiB upload: %v, want 413 too_large", r)
	}
	// Without Tus-Resumable (not a tus client): refused.
	if r := teacher.send("POST", tusEndpoint, nil, "Upload-Length", "100"); r.status != 412 || r.errCode() != "unsupported_version" {
		t.Errorf("no Tus-Resumable: %v", r)
	}

	loc := tc.mustCreate(1000, "a.mp4")
	// A write without the CSRF token, or from another site, is refused by the gate.
	noCSRF := *teacher
	noCSRF.csrf = ""
	if r := (tus{&noCSRF}).patch(loc, 0, make([]byte, 10)); r.status != 403 || r.errCode() != "csrf" {
		t.Errorf("PATCH without the CSRF token: %v", r)
	}
	if r := teacher.send("PATCH", loc, make([]byte, 10), "Tus-Resumable", "1.0.0", "Upload-Offset", "0",
		"Content-Type", "application/offset+octet-stream", "Origin", "https://evil.example"); r.status != 403 || r.errCode() != "csrf" {
		t.Errorf("PATCH from another site: %v", r)
	}
	// A method override cannot turn a creation into something else.
	if r := teacher.send("POST", tusEndpoint, nil, "Tus-Resumable", "1.0.0", "Upload-Length", "10", "X-HTTP-Method-Override", "DELETE"); r.status != 201 {
		t.Errorf("POST with X-HTTP-Method-Override: %v, want an upload created", r)
	}
	// A PATCH claiming 10 GB: answered 413 from its headers, the body never read.
	if status := rawPatch(t, teacher, loc, 10<<30); status != 413 {
		t.Errorf("PATCH with Content-Length 10 GB: HTTP %d, want 413", status)
	}
	// More bytes than announced: refused, nothing written.
	if r := tc.patch(loc, 0, make([]byte, 1001)); r.status != 413 {
		t.Errorf("PATCH past the announced size: %v", r)
	}
	if off, r := tc.offset(loc); off != 0 {
		t.Errorf("offset after refused PATCHes: %d %v", off, r)
	}
	// An unfinished upload cannot be filed.
	if r := teacher.send("POST", "/api/v1/microlessons", map[string]any{"upload_id": path.Base(loc), "title": "t", "subject_id": fx.subject, "grade": 3}); r.status != 409 || r.errCode() != "upload_incomplete" {
		t.Errorf("file an unfinished upload: %v", r)
	}
	// Ids that are not uploads of the caller's: 404, whatever their shape.
	for _, p := range []string{tusEndpoint + "/nope", tusEndpoint + "/" + strings.Repeat("0", 32), tusEndpoint + "/..%2F..%2Fyunke.db"} {
		if _, r := tc.offset(p); r.status != 404 {
			t.Errorf("HEAD %s: %v", p, r)
		}
	}

	// The third upload in progress is the last (one created above, one by
	// the override); the fourth waits until one is cancelled.
	third := tc.mustCreate(10, "c.mp4")
	if r := tc.create(10, "d.mp4"); r.status != 429 || r.errCode() != "too_many_uploads" {
		t.Errorf("fourth upload: %v, want 429 too_many_uploads", r)
	}
	if r := teacher.send("DELETE", third, nil, "Tus-Resumable", "1.0.0"); r.status != 204 {
		t.Fatalf("cancel: %v", r)
	}
	if _, r := tc.offset(third); r.status != 404 {
		t.Errorf("cancelled upload: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "uploads", path.Base(third))); !os.IsNotExist(err) {
		t.Errorf("cancelled upload's bytes remain: %v", err)
	}
	var ups struct{ Items []map[string]any }
	teacher.must(200, "GET", tusEndpoint, nil, &ups)
	for _, u := range ups.Items {
		if r := teacher.send("DELETE", tusEndpoint+"/"+u["id"].(string), nil, "Tus-Resumable", "1.0.0"); r.status != 204 {
			t.Fatalf("cancel: %v", r)
		}
	}

	// Files refused for what they are, whatever they are called; the
	// upload is removed with its bytes.
	for _, c := range []struct {
		name, file string
		data       []byte
		code, want string
	}{
		{"HEVC", "lesson.mp4", testVideo(t, "hevc_aac.mp4"), "unsupported_media", "HEVC (H.265) video is not supported"},
		{"MP3", "lesson.mp4", testVideo(t, "tone.mp3"), "unsupported_media", "MP3 audio file"},
		{"HTML", "lesson.mp4", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "unsupported_media", "HTML page"},
		{"truncated", "lesson.mp4", testVideo(t, "truncated.mp4"), "damaged_media", "cut off"},
	} {
		id := tc.upload(c.data, c.file)
		r := teacher.send("POST", "/api/v1/microlessons", map[string]any{"upload_id": id, "title": c.name, "subject_id": fx.subject, "grade": 3})
		if r.status != 422 || r.errCode() != c.code || !strings.Contains(r.json()["error"].(map[string]any)["message"].(string), c.want) {
			t.Errorf("%s: %v, want 422 %s mentioning %q", c.name, r, c.code, c.want)
		}
		if _, r := tc.offset(tusEndpoint + "/" + id); r.status != 404 {
			t.Errorf("%s: the refused upload remains: %v", c.name, r)
		}
		if _, err := os.Stat(filepath.Join(dir, "uploads", id)); !os.IsNotExist(err) {
			t.Errorf("%s: its bytes remain: %v", c.name, err)
		}
	}
	// A WebM (VP8/Opus) is accepted, and served as WebM.
	webm := testVideo(t, "vp8_opus.webm")
	var m lesson
	teacher.must(201, "POST", "/api/v1/microlessons", map[string]any{"upload_id": tc.upload(webm, "x.mp4"), "title": "WebM", "subject_id": fx.subject, "grade": 3}, &m)
	if m.Container != "webm" || m.VideoCodec != "vp8" || m.AudioCodec != "opus" || m.DurationMS < 2000 {
		t.Errorf("WebM micro-lesson: %+v", m)
	}
	if r := teacher.send("GET", "/api/v1/microlessons/videos/"+itoa(m.ID), nil, "Range", "bytes=0-3"); r.status != 206 || r.header.Get("Content-Type") != "video/webm" || !bytes.Equal(r.body, webm[:4]) {
		t.Errorf("WebM video: %d %v", r.status, r.header)
	}
	// Its teacher may delete it while it waits for review.
	teacher.must(204, "DELETE", "/api/v1/microlessons/"+itoa(m.ID), nil, nil)
}

// rawPatch sends only the headers of a PATCH whose Content-Length is
// size, and returns the status the server answers without the body.
func rawPatch(t *testing.T, a *api, loc string, size int64) int {
	t.Helper()
	u, _ := url.Parse(a.base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var cookies []string
	for _, c := range a.hc.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nX-CSRF-Token: %s\r\nTus-Resumable: 1.0.0\r\n"+
		"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n",
		loc, u.Host, strings.Join(cookies, "; "), a.csrf, size)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("raw PATCH: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
