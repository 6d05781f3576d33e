package server_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yunke/server/config"
	"yunke/server/recording/recordingtest"
	"yunke/signaling/client"
	"yunke/storage"
)

// recView is the part of a recording the tests read.
type recView struct {
	ID      int64  `json:"id"`
	Kind    string `json:"kind"`
	Room    string `json:"room"`
	Status  string `json:"status"`
	Teacher struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"teacher"`
	School struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"school"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	Participants []struct {
		Identity, Name, Role string
	} `json:"participants"`
	Tracks []struct {
		ID         int64  `json:"id"`
		Source     string `json:"source"`
		Kind       string `json:"kind"`
		Codec      string `json:"codec"`
		Status     string `json:"status"`
		SizeBytes  int64  `json:"size_bytes"`
		DurationMS int64  `json:"duration_ms"`
		URL        string `json:"url"`
	} `json:"tracks"`
	Download struct {
		Kind, Status, URL string
		Progress          float64
	} `json:"download"`
}

// ffmpegDecodes fails the test unless ffmpeg decodes the file without an error.
func ffmpegDecodes(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("ffmpeg -v error %s: %v\n%s", path, err, out)
	}
}

func saveBody(t *testing.T, body []byte, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRecordedClass: a teacher's class with a synthetic camera (VP8) and
// microphone (Opus) is recorded end to end: the room says it is recorded,
// the catalogue lists it with its teacher and school for those in scope
// and for nobody else, its media are served with Range, and ffmpeg decodes
// every track and the download.
func TestRecordedClass(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make deps installs it): %v", tool, err)
		}
	}
	media := t.TempDir()
	db := filepath.Join(t.TempDir(), "yunke.db")
	srv := startServer(t, withConfig(func(c *config.Config) { c.Recording.Dir, c.Database.Path = media, db }))
	fx := newFixture(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var grant struct{ Token string }
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "math-3"}, &grant)
	teacher := join(t, ctx, srv, grant.Token, client.Options{})
	pub, err := recordingtest.Publish(ctx, teacher)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	room := "s" + itoa(fx.schoolA) + "-math-3"
	if !pollUntil(10*time.Second, func() bool { return teacher.Room().GetActiveRecording() }) {
		t.Fatal("the room never said it is recorded")
	}
	var sg struct{ Token string }
	fx.users["student"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "math-3"}, &sg)
	student := join(t, ctx, srv, sg.Token, client.Options{})
	if !student.Room().GetActiveRecording() {
		t.Error("a student joining later does not see the recording")
	}

	var list struct {
		Items []recView `json:"items"`
		Total int       `json:"total"`
	}
	fx.users["teacher"].must(200, "GET", "/api/v1/recordings", nil, &list)
	if list.Total != 1 || list.Items[0].Status != "recording" || list.Items[0].Room != room {
		t.Fatalf("teacher's catalogue while recording: %+v", list)
	}
	id := itoa(list.Items[0].ID)
	// Record some seconds of media.
	var rec recView
	if !pollUntil(20*time.Second, func() bool {
		fx.users["teacher"].must(200, "GET", "/api/v1/recordings/"+id, nil, &rec)
		return rec.DurationMS >= 3000 && len(rec.Tracks) == 2
	}) {
		t.Fatalf("recording in progress: %+v", rec)
	}
	var stopped struct {
		Active      bool  `json:"active"`
		RecordingID int64 `json:"recording_id"`
	}
	// Another school's admin may not stop it; its teacher may.
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/"+room+"/recording", map[string]string{"action": "stop"}, &stopped)
	if stopped.Active || itoa(stopped.RecordingID) != id {
		t.Fatalf("stop: %+v", stopped)
	}
	if !pollUntil(5*time.Second, func() bool { return !teacher.Room().GetActiveRecording() }) {
		t.Error("the room still says it is recorded")
	}
	if err := pub.Stop(); err != nil {
		t.Fatal(err)
	}

	// The upload is a job of the recording's district, which its
	// district admin sees; another district's does not.
	var jobsList struct {
		Items []struct {
			Kind, State string
			District    int64 `json:"district_id"`
		}
	}
	if !pollUntil(20*time.Second, func() bool {
		fx.users["district_admin"].must(200, "GET", "/api/v1/jobs?kind=recording.upload", nil, &jobsList)
		return len(jobsList.Items) == 1 && jobsList.Items[0].State == "completed"
	}) || jobsList.Items[0].District != fx.district {
		t.Fatalf("the district admin's recording jobs: %+v", jobsList)
	}
	// In the catalogue of those in scope, with teacher and school.
	for _, who := range []string{"teacher", "expert", "school_admin", "district_admin", "system_admin"} {
		fx.users[who].must(200, "GET", "/api/v1/recordings?school_id="+itoa(fx.schoolA)+"&kind=class", nil, &list)
		if who == "teacher" {
			fx.users[who].must(200, "GET", "/api/v1/recordings?kind=class", nil, &list)
		}
		if list.Total != 1 || list.Items[0].Teacher.ID != fx.userIDs["teacher"] || list.Items[0].Teacher.Name != "用户 teacher" ||
			list.Items[0].School.ID != fx.schoolA || list.Items[0].School.Name != "学校 A" || list.Items[0].Status != "ready" {
			t.Fatalf("catalogue of %s: %+v", who, list)
		}
	}
	fx.users["expert"].must(200, "GET", "/api/v1/recordings/"+id, nil, &rec)
	if rec.Status != "ready" || rec.DurationMS < 2500 || len(rec.Tracks) != 2 || len(rec.Participants) != 2 {
		t.Fatalf("detail: %+v", rec)
	}
	for _, tr := range rec.Tracks {
		if tr.Status != "ready" || tr.SizeBytes == 0 || tr.DurationMS < 2000 {
			t.Errorf("track %+v", tr)
		}
		r := fx.users["expert"].send("GET", tr.URL, nil)
		if r.status != http.StatusOK || int64(len(r.body)) != tr.SizeBytes {
			t.Fatalf("media %s: HTTP %d, %d bytes of %d", tr.URL, r.status, len(r.body), tr.SizeBytes)
		}
		ffmpegDecodes(t, saveBody(t, r.body, tr.Source+".webm"))
		// Seeking: a Range answers 206 with just those bytes.
		rr := fx.users["expert"].send("GET", tr.URL, nil, "Range", "bytes=100-199")
		if rr.status != http.StatusPartialContent || len(rr.body) != 100 || string(rr.body) != string(r.body[100:200]) ||
			!strings.HasPrefix(rr.header.Get("Content-Range"), "bytes 100-199/") {
			t.Errorf("range of %s: %v %v", tr.URL, rr.status, rr.header)
		}
	}
	var speaking struct {
		IntervalMS   int `json:"interval_ms"`
		Participants []struct {
			Identity, Role string
			Intervals      []struct{ StartMS, EndMS int64 }
		} `json:"participants"`
	}
	fx.users["expert"].must(200, "GET", "/api/v1/recordings/"+id+"/speaking", nil, &speaking)
	if speaking.IntervalMS <= 0 || speaking.IntervalMS > 1000 || len(speaking.Participants) != 1 ||
		speaking.Participants[0].Role != "teacher" || len(speaking.Participants[0].Intervals) == 0 {
		t.Errorf("speaking: %+v", speaking)
	}
	// Its speaking being final, the stop stored the automatic S-T result
	// the statistics count, at the default interval.
	if res, err := openStore(t, db).GetSTResult(ctx, storage.RecordingID(storage.ParseKey(id))); err != nil ||
		res.IntervalMS != 30_000 || res.ComputedAt.IsZero() {
		t.Errorf("stored S-T result %+v, %v", res, err)
	}

	// The download: the camera and microphone in one WebM.
	d := fx.users["expert"].send("GET", "/api/v1/recordings/"+id+"/download", nil)
	if d.status != http.StatusOK || !strings.HasPrefix(d.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %v", d.status)
	}
	path := saveBody(t, d.body, "download.webm")
	ffmpegDecodes(t, path)
	if out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path).Output(); err != nil ||
		!strings.Contains(string(out), "vp8") || !strings.Contains(string(out), "opus") {
		t.Errorf("download streams: %q %v", out, err)
	}
	// The composite, rendered in the background.
	fx.users["expert"].must(202, "POST", "/api/v1/recordings/"+id+"/download", nil, nil)
	if !pollUntil(60*time.Second, func() bool {
		fx.users["expert"].must(200, "GET", "/api/v1/recordings/"+id, nil, &rec)
		return rec.Download.Status == "ready" || rec.Download.Status == "failed"
	}) || rec.Download.Status != "ready" || rec.Download.Kind != "composite" {
		t.Fatalf("composite: %+v", rec.Download)
	}
	d = fx.users["expert"].send("GET", "/api/v1/recordings/"+id+"/download", nil)
	if d.status != http.StatusOK {
		t.Fatalf("composite download: %v", d)
	}
	ffmpegDecodes(t, saveBody(t, d.body, "composite.webm"))

	// Outsiders: another school's teacher, expert and admin, another
	// district's admin — none reaches it by any route.
	admin := fx.users["system_admin"]
	outsider := func(name string, body map[string]any) *api {
		body["username"], body["name"], body["password"] = name, name, "initial-password"
		admin.must(201, "POST", "/api/v1/users", body, nil)
		c := signedIn(t, srv, name, "initial-password")
		c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
		return c
	}
	others := map[string]*api{
		"teacher B":  outsider("teacher.b", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-1"}),
		"expert B":   outsider("expert.b", map[string]any{"roles": []string{"expert"}, "district_id": fx.district, "expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolB}}}),
		"admin B":    outsider("admin.b", map[string]any{"roles": []string{"school_admin"}, "school_id": fx.schoolB}),
		"district 2": outsider("admin.d2", map[string]any{"roles": []string{"district_admin"}, "district_id": fx.district2}),
		"student":    fx.users["student"],
	}
	// District 2's admin sees its own district's jobs (its kept reports),
	// never this district's.
	var d2 struct {
		Items []struct {
			Kind       string `json:"kind"`
			DistrictID int64  `json:"district_id"`
		}
	}
	others["district 2"].must(200, "GET", "/api/v1/jobs", nil, &d2)
	for _, j := range d2.Items {
		if j.DistrictID != int64(fx.district2) || strings.HasPrefix(j.Kind, "recording.") {
			t.Errorf("another district's admin sees job %s of district %d", j.Kind, j.DistrictID)
		}
	}
	trackURL := rec.Tracks[0].URL
	for who, c := range others {
		var l struct{ Total int }
		if r := c.send("GET", "/api/v1/recordings", nil); r.status == http.StatusOK {
			c.must(200, "GET", "/api/v1/recordings", nil, &l)
			if l.Total != 0 {
				t.Errorf("%s sees %d recordings", who, l.Total)
			}
		} else if r.status != http.StatusForbidden {
			t.Errorf("%s lists: %v", who, r)
		}
		if r := c.send("GET", "/api/v1/recordings?school_id="+itoa(fx.schoolA), nil); r.status != http.StatusForbidden {
			t.Errorf("%s lists school A: %v", who, r)
		}
		for _, rt := range [][2]string{{"GET", "/api/v1/recordings/" + id}, {"GET", trackURL}, {"GET", "/api/v1/recordings/" + id + "/speaking"},
			{"GET", "/api/v1/recordings/" + id + "/download"}, {"POST", "/api/v1/recordings/" + id + "/download"},
			{"DELETE", "/api/v1/recordings/" + id}, {"POST", "/api/v1/rooms/" + room + "/recording"}} {
			r := c.send(rt[0], rt[1], map[string]string{"action": "start"}, "Range", "bytes=0-10")
			if r.status != http.StatusNotFound && r.status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %v, want 403 or 404", rt[0], rt[1], who, r)
			}
		}
	}
	// Its teacher and the expert may not delete it; its school's admin does.
	for _, who := range []string{"teacher", "expert"} {
		if r := fx.users[who].send("DELETE", "/api/v1/recordings/"+id, nil); r.status != http.StatusForbidden {
			t.Errorf("delete as %s: %v", who, r)
		}
	}
	fx.users["school_admin"].must(204, "DELETE", "/api/v1/recordings/"+id, nil, nil)
	if r := fx.users["expert"].send("GET", trackURL, nil); r.status != http.StatusNotFound {
		t.Errorf("media after delete: %v", r)
	}
	// A job removes the files.
	filesLeft := func() (left []string) {
		_ = filepath.Walk(media, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				left = append(left, p)
			}
			return nil
		})
		return left
	}
	if !pollUntil(20*time.Second, func() bool { return len(filesLeft()) == 0 }) {
		t.Errorf("files left after delete: %v", filesLeft())
	}
}

// TestRecordingEndsWithTheRoom: a class's recording stops when its room
// closes, and ends when the room emptied; the recorder's metrics count it.
func TestRecordingEndsWithTheRoom(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withEmptyTimeout(1), withConfig(func(c *config.Config) { c.Recording.Dir = t.TempDir() }))
	fx := newFixture(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var grant struct{ Token string }
	fx.users["teacher"].must(200, "POST", "/api/v1/rooms/token", map[string]any{"room": "short"}, &grant)
	teacher := join(t, ctx, srv, grant.Token, client.Options{})
	pub, err := recordingtest.Publish(ctx, teacher)
	if err != nil {
		t.Fatal(err)
	}
	if !pollUntil(10*time.Second, func() bool { return teacher.Room().GetActiveRecording() }) {
		t.Fatal("not recorded")
	}
	waitMetrics(t, srv, 10*time.Second, "frames recorded", func(m map[string]float64) bool {
		return m["yunke_recorder_frames_total"] > 120 && m["yunke_recorder_recordings"] == 1
	})
	_ = pub.Stop()
	teacher.Close()
	left := time.Now()
	var list struct {
		Items []recView `json:"items"`
	}
	if !pollUntil(20*time.Second, func() bool {
		fx.users["teacher"].must(200, "GET", "/api/v1/recordings", nil, &list)
		return len(list.Items) == 1 && list.Items[0].Status == "ready"
	}) {
		t.Fatalf("recording after the room closed: %+v", list.Items)
	}
	var rec recView
	fx.users["teacher"].must(200, "GET", "/api/v1/recordings/"+itoa(list.Items[0].ID), nil, &rec)
	if rec.DurationMS < 1000 || len(rec.Tracks) != 2 {
		t.Fatalf("recording %+v", rec)
	}
	// It ends when the teacher left, not a second later when the empty
	// room was closed.
	if want := left.Sub(rec.StartedAt).Milliseconds(); rec.DurationMS > want+500 {
		t.Errorf("duration %d ms; the room emptied %d ms after the start", rec.DurationMS, want)
	}
	waitMetrics(t, srv, 10*time.Second, "no recording in progress", func(m map[string]float64) bool { return m["yunke_recorder_recordings"] == 0 })
}

// TestRecordedTutoring: with recording.tutoring, a tutoring session is
// recorded under its teacher; the teacher stops it.
func TestRecordedTutoring(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServer(t, tutoringConfig(1), withConfig(func(c *config.Config) { c.Recording.Dir, c.Recording.Tutoring = dir, true }))
	w := setupTutoring(t, srv, 1)
	teacher := goAvailable(t, w.teachers[0])
	student := openEvents(t, w.student)
	student.waitFor("hello", nil)
	rid := ask(t, w, "怎么配方？")
	teacher.waitFor("offer", nil)
	teacher.send("accept", map[string]any{"request_id": rid})
	ready := student.waitFor("session", func(m map[string]any) bool { return m["status"] == "ready" })
	sid := num(field(ready, "session", "id"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	enterRoom(t, ctx, w.student, sid)
	tc := enterRoom(t, ctx, w.teachers[0], sid)
	pub, err := recordingtest.Publish(ctx, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	if !pollUntil(10*time.Second, func() bool { return tc.Room().GetActiveRecording() }) {
		t.Fatal("the tutoring room is not recorded")
	}
	var list struct{ Items []recView }
	if !pollUntil(10*time.Second, func() bool {
		w.teachers[0].must(200, "GET", "/api/v1/recordings?kind=tutoring", nil, &list)
		return len(list.Items) == 1
	}) {
		t.Fatal("the teacher does not see the recording")
	}
	// The student is no reader of recordings.
	if r := w.student.send("GET", "/api/v1/recordings/"+itoa(list.Items[0].ID), nil); r.status != http.StatusForbidden {
		t.Errorf("student reads the recording: %v", r)
	}
	var rec recView
	if !pollUntil(20*time.Second, func() bool {
		w.teachers[0].must(200, "GET", "/api/v1/recordings/"+itoa(list.Items[0].ID), nil, &rec)
		return len(rec.Tracks) == 2 && rec.DurationMS > 1500 && len(rec.Participants) == 2
	}) {
		t.Fatalf("recording %+v", rec)
	}
	roles := map[string]string{}
	for _, p := range rec.Participants {
		roles[p.Identity] = p.Role
	}
	if roles["u"+itoa(num(w.teachers[0].me["user"].(map[string]any)["id"]))] != "teacher" || len(roles) != 2 {
		t.Errorf("participants %+v", rec.Participants)
	}
	w.teachers[0].must(200, "POST", "/api/v1/rooms/tutor-"+itoa(sid)+"/recording", map[string]string{"action": "stop"}, nil)
	w.teachers[0].must(200, "GET", "/api/v1/recordings/"+itoa(rec.ID), nil, &rec)
	if rec.Kind != "tutoring" || rec.Status != "ready" || rec.Teacher.Name != "名 teacher0" {
		t.Fatalf("stopped: %+v", rec)
	}
	for _, tr := range rec.Tracks {
		if tr.Status != "ready" {
			t.Errorf("track %+v", tr)
		}
	}
}
