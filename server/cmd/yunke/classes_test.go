package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"yunke/server/config"
	"yunke/server/token"
	"yunke/signaling/client"
)

// adminAPI is the system administrator's session on a yunke child process.
type adminAPI struct {
	t    *testing.T
	hc   *http.Client
	base string
	csrf string
}

func signInAdmin(t *testing.T, base, password string) *adminAPI {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &adminAPI{t: t, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}, base: base}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	a.do("POST", "/api/v1/auth/signin", map[string]string{"username": "admin", "password": password}, http.StatusOK, &out)
	a.csrf = out.CSRF
	return a
}

// do sends body as JSON and decodes the answer into out, failing the test
// on any other status than want.
func (a *adminAPI) do(method, path string, body any, want int, out any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// TestClassAttendanceSurvivesKill: the real binary runs a class; kill -9
// cuts it while a student is in the room; at the next start that stay is
// closed at the last time it was seen, so the record loses no more than
// classes.seen_seconds of it.
func TestClassAttendanceSurvivesKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const adminPassword = "Class-crash-2026!"
	// The node's public URL stays the same across the restart (a real
	// node's does): the class's room is hosted there.
	body := fmt.Sprintf(`port: 0
public_url: "http://yunke-node.test"
rtc: {udp_port: 0, tcp_port: 0}
metrics: {address: ""}
database: {path: %q}
recording: {dir: %q, classes: false}
microlessons: {dir: %q}
classes: {seen_seconds: 1}
auth: {admin_password: %q}
`, filepath.Join(dir, "yunke.db"), filepath.Join(dir, "rec"), filepath.Join(dir, "micro"), adminPassword)
	srv := startYunke(t, body)
	admin := signInAdmin(t, srv.url, adminPassword)

	var district, school, subject, teacher, student struct {
		ID    int64 `json:"id"`
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	admin.do("POST", "/api/v1/districts", map[string]any{"code": "crash", "name": "崩溃区"}, http.StatusCreated, &district)
	admin.do("POST", "/api/v1/schools", map[string]any{"code": "CR1", "name": "崩溃小学", "kind": "primary", "district_id": district.ID},
		http.StatusCreated, &school)
	admin.do("GET", "/api/v1/subjects", nil, http.StatusOK, &subject)
	if len(subject.Items) == 0 {
		t.Fatal("no subjects")
	}
	admin.do("POST", "/api/v1/users", map[string]any{"username": "crash.teacher", "name": "王老师", "password": "initial-password",
		"roles": []string{"teacher"}, "school_id": school.ID, "staff_no": "CT-1"}, http.StatusCreated, &teacher)
	admin.do("POST", "/api/v1/users", map[string]any{"username": "crash.student", "name": "李同学", "password": "initial-password",
		"roles": []string{"student"}, "school_id": school.ID, "student_no": "CS-1", "grade": 3, "class": "1班"}, http.StatusCreated, &student)
	var made struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	admin.do("POST", "/api/v1/classes", map[string]any{"title": "一元一次方程", "subject_id": subject.Items[0].ID, "grade": 3,
		"teacher_id": teacher.ID, "school_id": school.ID, "audience": "school", "starts_at": time.Now().Format(time.RFC3339), "planned_minutes": 45,
		"recording": false}, http.StatusCreated, &made)
	class := made.Items[0].ID
	// The administrator's observer join hosts the room on this node.
	admin.do("POST", "/api/v1/classes/"+strconv.FormatInt(class, 10)+"/join", nil, http.StatusOK, nil)

	room := "class-" + strconv.FormatInt(class, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	join := func(id int64, name string, role token.Role) *client.Client {
		t.Helper()
		tok, err := token.Mint(config.DevAPIKey, config.DevAPISecret, token.Params{Room: room, Identity: "u" + strconv.FormatInt(id, 10),
			Name: name, Role: role, ValidFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.Connect(ctx, client.Options{URL: srv.url, Token: tok, SettingEngine: loopbackUDP})
		if err != nil {
			t.Fatalf("%s joins: %v", name, err)
		}
		return c
	}
	tc := join(teacher.ID, "王老师", token.RoleTeacher)
	defer tc.Close()
	sc := join(student.ID, "李同学", token.RoleStudent)
	defer sc.Close()

	type record struct {
		Class struct {
			Status string `json:"status"`
		} `json:"class"`
		Attendees []struct {
			UserID   int64  `json:"user_id"`
			Role     string `json:"role"`
			PresentS int64  `json:"present_s"`
			Stays    []struct {
				JoinedAt time.Time `json:"joined_at"`
				LeftAt   time.Time `json:"left_at"`
				SeenAt   time.Time `json:"seen_at"`
			} `json:"stays"`
		} `json:"attendees"`
	}
	recordPath := "/api/v1/classes/" + strconv.FormatInt(class, 10) + "/record"
	studentStay := func(r record) (joined, left, seen time.Time, ok bool) {
		for _, a := range r.Attendees {
			if a.UserID == student.ID && len(a.Stays) == 1 {
				s := a.Stays[0]
				return s.JoinedAt, s.LeftAt, s.SeenAt, true
			}
		}
		return time.Time{}, time.Time{}, time.Time{}, false
	}
	// A few seconds of class, marked seen as it runs.
	var before record
	if !waitFor(20*time.Second, func() bool {
		admin.do("GET", recordPath, nil, http.StatusOK, &before)
		joined, _, seen, ok := studentStay(before)
		return ok && seen.Sub(joined) >= 3*time.Second
	}) {
		t.Fatalf("the student's stay is not being marked seen: %+v", before)
	}
	cut := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	sc.Close()
	tc.Close()

	srv = startYunke(t, body)
	admin = signInAdmin(t, srv.url, adminPassword)
	var after record
	admin.do("GET", recordPath, nil, http.StatusOK, &after)
	joined, left, _, ok := studentStay(after)
	if !ok || left.IsZero() {
		t.Fatalf("after the restart the student's stay is %v (joined %v, left %v): %+v", ok, joined, left, after)
	}
	// Closed at the last time seen: no later than the cut, and losing at
	// most a few seconds (classes.seen_seconds is 1).
	if left.After(cut) || cut.Sub(left) > 3*time.Second {
		t.Errorf("the stay was closed at %v; the server was killed at %v", left, cut)
	}
	_ = srv.cmd.Process.Signal(os.Interrupt)
	<-srv.done
}
