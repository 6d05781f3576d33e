package server_test

// One-to-one tutoring end to end: event sockets, matching, offers, the
// private room, ratings; on one node in process, and on two nodes sharing
// Redis and Postgres.

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"yunke/server"
	"yunke/server/config"
	"yunke/signaling/client"
	"yunke/signaling/matching/redistest"
	"yunke/storage/storagetest"
)

// evSocket is a browser tab's /api/v1/ws connection.
type evSocket struct {
	t      *testing.T
	ws     *websocket.Conn
	events chan map[string]any
	closed chan struct{}
	mu     sync.Mutex
}

// openEvents connects a's event socket (cookie and Origin like a browser)
// and sends a heartbeat every 2 s, as the web app does.
func openEvents(t *testing.T, a *api) *evSocket {
	t.Helper()
	s := openSilentEvents(t, a)
	stop := make(chan struct{})
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-s.closed:
				return
			case <-tick.C:
				s.mu.Lock()
				_ = s.ws.WriteJSON(map[string]string{"type": "heartbeat"})
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-hbDone })
	return s
}

// openSilentEvents connects an event socket that sends nothing unasked:
// a browser that vanished without closing its connection.
func openSilentEvents(t *testing.T, a *api) *evSocket {
	t.Helper()
	u, _ := url.Parse(a.base)
	hdr := http.Header{"Origin": {a.base}}
	for _, c := range a.hc.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/v1/ws", hdr)
	if err != nil {
		t.Fatalf("event socket: %v (%v)", err, resp)
	}
	s := &evSocket{t: t, ws: ws, events: make(chan map[string]any, 1024), closed: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		defer close(s.closed)
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			if m["type"] == "heartbeat_ack" {
				continue
			}
			select {
			case s.events <- m:
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); _ = ws.Close(); <-s.closed })
	return s
}

// goSilentAvailable is goAvailable on a socket that then falls silent.
func goSilentAvailable(t *testing.T, a *api) *evSocket {
	t.Helper()
	ev := openSilentEvents(t, a)
	ev.waitFor("hello", nil)
	ev.send("presence", map[string]any{"available": true, "subjects": []string{"math"}, "grades": []int{7}})
	ev.waitFor("presence", func(m map[string]any) bool { return m["available"] == true })
	return ev
}

func (s *evSocket) send(typ string, fields map[string]any) {
	s.t.Helper()
	m := map[string]any{"type": typ}
	for k, v := range fields {
		m[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ws.WriteJSON(m); err != nil {
		s.t.Fatalf("send %s: %v", typ, err)
	}
}

// waitFor returns the first event of type typ for which match holds
// (nil: any), skipping others; it fails the test after 15 s, or at an
// error event (unless waiting for one).
func (s *evSocket) waitFor(typ string, match func(map[string]any) bool) map[string]any {
	s.t.Helper()
	return s.waitForTolerating(typ, match)
}

// waitForTolerating is waitFor, skipping error events with the given codes.
func (s *evSocket) waitForTolerating(typ string, match func(map[string]any) bool, codes ...string) map[string]any {
	s.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-s.events:
			if m["type"] == "error" && typ != "error" && slices.Contains(codes, fmt.Sprint(m["code"])) {
				continue
			}
			if m["type"] == "error" && typ != "error" {
				s.t.Fatalf("error event while waiting for %s: %v", typ, m)
			}
			if m["type"] == typ && (match == nil || match(m)) {
				return m
			}
		case <-s.closed:
			s.t.Fatalf("event socket closed while waiting for %s", typ)
		case <-deadline:
			s.t.Fatalf("no %s event within 15 s", typ)
		}
	}
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// tutoringWorld is a school with math teachers and a student, set up through the API.
type tutoringWorld struct {
	admin    *api
	school   int64
	math     int64
	teachers []*api
	student  *api
}

func setupTutoring(t *testing.T, srv *testServer, teachers int) *tutoringWorld {
	t.Helper()
	w := &tutoringWorld{admin: signedIn(t, srv, "admin", adminPassword)}
	var sc map[string]any
	w.admin.must(201, "POST", "/api/v1/schools", map[string]any{"code": "T1", "name": "实验中学", "kind": "junior_secondary"}, &sc)
	w.school = id(sc)
	var subs struct{ Items []map[string]any }
	w.admin.must(200, "GET", "/api/v1/subjects", nil, &subs)
	for _, s := range subs.Items {
		if s["code"] == "math" {
			w.math = id(s)
		}
	}
	mk := func(username string, body map[string]any) *api {
		body["username"], body["name"], body["password"], body["school_id"] = username, "名 "+username, "initial-password", w.school
		w.admin.must(201, "POST", "/api/v1/users", body, nil)
		c := signedIn(t, srv, username, "initial-password")
		c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
		return c
	}
	for i := range teachers {
		w.teachers = append(w.teachers, mk(fmt.Sprintf("teacher%d", i), map[string]any{"roles": []string{"teacher"},
			"staff_no": fmt.Sprintf("T%d", i), "subject_ids": []int64{w.math}, "grades": []int{7, 8, 9}}))
	}
	w.student = mk("student", map[string]any{"roles": []string{"student"}, "student_no": "S1", "grade": 7, "class": "1班"})
	return w
}

// relogin signs the same user in on another node (a session is valid on
// every node that shares the database).
func relogin(t *testing.T, srv *testServer, username string) *api {
	t.Helper()
	return signedIn(t, srv, username, userPassword)
}

// goAvailable connects a teacher's socket and makes them available for grade-7 math.
func goAvailable(t *testing.T, a *api) *evSocket {
	t.Helper()
	ev := openEvents(t, a)
	ev.waitFor("hello", nil)
	ev.waitFor("presence", nil)
	ev.send("presence", map[string]any{"available": true, "subjects": []string{"math"}, "grades": []int{7}})
	ev.waitFor("presence", func(m map[string]any) bool { return m["available"] == true })
	return ev
}

func ask(t *testing.T, w *tutoringWorld, text string) int64 {
	t.Helper()
	var view map[string]any
	w.student.must(201, "POST", "/api/v1/tutoring/requests", map[string]any{"subject_id": w.math, "grade": 7, "text": text}, &view)
	return num(field(view, "request", "id"))
}

// enterRoom fetches a participant's token and joins the session's room at
// the URL the server names (the hosting node).
func enterRoom(t *testing.T, ctx context.Context, a *api, session int64) *client.Client {
	t.Helper()
	var j struct {
		URL, Token, Identity, Room, Role string
	}
	a.must(200, "POST", "/api/v1/tutoring/sessions/"+itoa(session)+"/token", "{}", &j)
	if j.Role != "peer" || j.Room != "tutor-"+itoa(session) {
		t.Fatalf("session token %+v", j)
	}
	c, err := client.Connect(ctx, client.Options{URL: j.URL, Token: j.Token, SettingEngine: loopbackUDP})
	if err != nil {
		t.Fatalf("join the session room at %s: %v", j.URL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func tutoringConfig(grace int) serverOption {
	return func(c *config.Config, p *server.Params) {
		c.Tutoring.GraceSeconds = grace
		p.TutoringTick = 50 * time.Millisecond
	}
}

// TestTutoringEndToEnd: a teacher goes available, a student asks, the
// teacher accepts, both meet in the private room, the session is timed
// from the room, and the student's rating reaches the teacher's history
// and the satisfaction figures.
func TestTutoringEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(1))
	w := setupTutoring(t, srv, 1)
	teacher := goAvailable(t, w.teachers[0])
	student := openEvents(t, w.student)
	student.waitFor("hello", nil)

	rid := ask(t, w, "二次函数的顶点怎么求？")
	var again map[string]any
	if r := w.student.send("POST", "/api/v1/tutoring/requests", map[string]any{"subject_id": w.math, "grade": 7}); r.status != 409 || r.errCode() != "already_waiting" {
		t.Fatalf("a second request while one is open: %v", r)
	}
	offer := teacher.waitFor("offer", nil)
	if num(field(offer, "request", "id")) != rid || field(offer, "request", "text") != "二次函数的顶点怎么求？" ||
		num(offer["seconds_left"]) < 15 || field(offer, "request", "student_name") != "名 student" {
		t.Fatalf("offer %v", offer)
	}
	student.waitFor("request", func(m map[string]any) bool { return field(m, "request", "status") == "offered" })

	teacher.send("accept", map[string]any{"request_id": rid})
	teacher.waitFor("offer_closed", func(m map[string]any) bool { return m["reason"] == "accepted" })
	ready := student.waitFor("session", func(m map[string]any) bool { return m["status"] == "ready" })
	teacher.waitFor("session", func(m map[string]any) bool { return m["status"] == "ready" })
	sid := num(field(ready, "session", "id"))
	w.student.must(200, "GET", "/api/v1/tutoring/sessions/"+itoa(sid), nil, &again)
	if num(again["request_id"]) != rid || again["teacher_name"] != "名 teacher0" {
		t.Fatalf("session %v", again)
	}
	// Nobody else may enter the room.
	if r := w.admin.send("POST", "/api/v1/tutoring/sessions/"+itoa(sid)+"/token", "{}"); r.status != 403 {
		t.Fatalf("admin asks for a session token: %v", r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc := enterRoom(t, ctx, w.student, sid)
	tc := enterRoom(t, ctx, w.teachers[0], sid)
	if !pollUntil(10*time.Second, func() bool { return len(sc.Participants()) == 1 && len(tc.Participants()) == 1 }) {
		t.Fatal("student and teacher do not see each other in the room")
	}
	student.waitFor("session", func(m map[string]any) bool { return m["status"] == "live" })

	// The student leaves for good: after the grace period the session ends.
	sc.Close()
	ended := teacher.waitFor("session", func(m map[string]any) bool { return m["status"] == "ended" })
	if field(ended, "session", "end_reason") != "left" {
		t.Fatalf("ended %v", ended)
	}
	if !pollUntil(10*time.Second, func() bool { return tc.Err() != nil }) {
		t.Fatal("the teacher was not sent out of the ended session's room")
	}
	if r := w.student.send("POST", "/api/v1/tutoring/sessions/"+itoa(sid)+"/token", "{}"); r.status != 409 || r.errCode() != "ended" {
		t.Fatalf("token for an ended session: %v", r)
	}

	// Ratings: the student's, editable for a while; the teacher's note.
	if r := w.teachers[0].send("PUT", "/api/v1/tutoring/sessions/"+itoa(sid)+"/rating", map[string]any{"score": 5}); r.status != 403 {
		t.Fatalf("teacher rates: %v", r)
	}
	if r := w.student.send("PUT", "/api/v1/tutoring/sessions/"+itoa(sid)+"/rating", map[string]any{"score": 9}); r.status != 400 || r.errFields()["score"] == nil {
		t.Fatalf("score 9: %v", r)
	}
	w.student.must(200, "PUT", "/api/v1/tutoring/sessions/"+itoa(sid)+"/rating", map[string]any{"score": 3, "comment": "还行"}, nil)
	w.student.must(200, "PUT", "/api/v1/tutoring/sessions/"+itoa(sid)+"/rating", map[string]any{"score": 5, "comment": "讲得很清楚", "solved": true}, nil)
	w.teachers[0].must(200, "PUT", "/api/v1/tutoring/sessions/"+itoa(sid)+"/note", map[string]any{"note": "顶点式"}, nil)

	var hist struct {
		Items []map[string]any
		Total int
	}
	w.teachers[0].must(200, "GET", "/api/v1/tutoring/sessions", nil, &hist)
	if hist.Total != 1 || num(field(hist.Items[0], "rating", "score")) != 5 || field(hist.Items[0], "rating", "comment") != "讲得很清楚" ||
		field(hist.Items[0], "teacher_note", "note") != "顶点式" || hist.Items[0]["end_reason"] != "left" {
		t.Fatalf("teacher history %+v", hist)
	}
	w.student.must(200, "GET", "/api/v1/tutoring/sessions", nil, &hist)
	if hist.Total != 1 {
		t.Fatalf("student history %+v", hist)
	}
	var sat struct{ Items []map[string]any }
	w.admin.must(200, "GET", "/api/v1/tutoring/satisfaction?group=teacher", nil, &sat)
	if len(sat.Items) != 1 || num(sat.Items[0]["ratings"]) != 1 || sat.Items[0]["share"] != 1.0 || sat.Items[0]["mean"] != 5.0 {
		t.Fatalf("satisfaction %+v", sat)
	}
	var acts struct{ Items []map[string]any }
	w.admin.must(200, "GET", "/api/v1/activity/recent?limit=100", nil, &acts)
	seen := map[string]bool{}
	for _, a := range acts.Items {
		seen[a["action"].(string)] = true
		// Tutoring rows name both sides, so the admin home can say them in words.
		if a["action"] == "tutoring.accept" && (a["student_name"] != "名 student" || a["teacher_name"] != "名 teacher0") {
			t.Errorf("tutoring.accept row without its names: %v", a)
		}
	}
	for _, want := range []string{"tutoring.request", "tutoring.offer", "tutoring.accept", "tutoring.session_start", "tutoring.session_end", "tutoring.rate", "tutoring.rate_update", "tutoring.note"} {
		if !seen[want] {
			t.Errorf("no %s in the activity log", want)
		}
	}
}

// TestTutoringDecline: a declined request goes to the next teacher, and
// not back to the one who declined.
func TestTutoringDecline(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(30))
	w := setupTutoring(t, srv, 2)
	a, b := goAvailable(t, w.teachers[0]), goAvailable(t, w.teachers[1])
	student := openEvents(t, w.student)
	student.waitFor("hello", nil) // the socket is registered: no event can pass it by
	rid := ask(t, w, "help")
	// Neither teacher was ever assigned: ties go by id, so teacher0 first.
	a.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid })
	a.send("decline", map[string]any{"request_id": rid})
	a.waitFor("offer_closed", func(m map[string]any) bool { return m["reason"] == "declined" })
	b.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid })
	b.send("decline", map[string]any{"request_id": rid})
	view := student.waitFor("request", func(m map[string]any) bool {
		return field(m, "request", "status") == "waiting" && num(m["position"]) == 1
	})
	if num(view["estimated_wait_s"]) <= 0 {
		t.Fatalf("no wait estimate: %v", view)
	}
	a.send("decline", map[string]any{"request_id": rid})
	if e := a.waitFor("error", nil); e["code"] != "offer_gone" {
		t.Fatalf("declining a closed offer: %v", e)
	}
}

// TestTutoringLapse: an offer left unanswered lapses; with max_lapses 1
// its teacher is made unavailable, and the request waits again first in line.
func TestTutoringLapse(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(30), withConfig(func(c *config.Config) {
		c.Tutoring.OfferSeconds = 1
		c.Tutoring.MaxLapses = 1
	}))
	w := setupTutoring(t, srv, 1)
	a := goAvailable(t, w.teachers[0])
	student := openEvents(t, w.student)
	student.waitFor("hello", nil) // the socket is registered: no event can pass it by
	rid := ask(t, w, "help")
	a.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid })
	closed := a.waitFor("offer_closed", func(m map[string]any) bool { return m["reason"] == "expired" })
	if closed["disabled"] != true {
		t.Fatalf("a lapse with max_lapses 1 did not make the teacher unavailable: %v", closed)
	}
	a.waitFor("presence", func(m map[string]any) bool { return m["available"] == false && m["reason"] == "lapsed" })
	student.waitFor("request", func(m map[string]any) bool {
		return field(m, "request", "status") == "waiting" && num(m["position"]) == 1
	})
	a.send("accept", map[string]any{"request_id": rid})
	if e := a.waitFor("error", nil); e["code"] != "offer_gone" {
		t.Fatalf("accepting a lapsed offer: %v", e)
	}
	// Back to available, the teacher is not offered the request they let lapse.
	a.send("presence", map[string]any{"available": true, "subjects": []string{"math"}, "grades": []int{7}})
	a.waitFor("presence", func(m map[string]any) bool { return m["available"] == true })
	c := goAvailable(t, setupExtraTeacher(t, srv, w, "teacher9"))
	c.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid })
}

// TestTutoringCancel: the student withdraws an offered request; the
// teacher's offer is revoked.
func TestTutoringCancel(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(30))
	w := setupTutoring(t, srv, 1)
	a := goAvailable(t, w.teachers[0])
	student := openEvents(t, w.student)
	student.waitFor("hello", nil) // the socket is registered: no event can pass it by
	rid := ask(t, w, "help")
	a.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid })
	w.student.must(200, "POST", "/api/v1/tutoring/requests/"+itoa(rid)+"/cancel", "{}", nil)
	a.waitFor("offer_closed", func(m map[string]any) bool { return m["reason"] == "cancelled" })
	student.waitFor("request", func(m map[string]any) bool { return field(m, "request", "status") == "cancelled" })
	if r := w.student.send("GET", "/api/v1/tutoring/requests/current", nil); r.status != 404 {
		t.Fatalf("current request after cancel: %v", r)
	}
	if r := w.student.send("POST", "/api/v1/tutoring/requests/"+itoa(rid)+"/cancel", "{}"); r.status != 409 {
		t.Fatalf("cancel twice: %v", r)
	}
	a.send("accept", map[string]any{"request_id": rid})
	if e := a.waitFor("error", nil); e["code"] != "offer_gone" {
		t.Fatalf("accepting a cancelled request: %v", e)
	}
	// The teacher is free again: a new request reaches them.
	rid2 := ask(t, w, "again")
	a.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid2 })
}

func setupExtraTeacher(t *testing.T, srv *testServer, w *tutoringWorld, username string) *api {
	t.Helper()
	w.admin.must(201, "POST", "/api/v1/users", map[string]any{"username": username, "name": "名 " + username, "password": "initial-password",
		"school_id": w.school, "roles": []string{"teacher"}, "staff_no": username, "subject_ids": []int64{w.math}, "grades": []int{7}}, nil)
	c := signedIn(t, srv, username, "initial-password")
	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	return c
}

// TestTutoringTeacherVanishes: a teacher whose browser goes silent drops
// out of matching after presence_seconds.
func TestTutoringTeacherVanishes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(30), withConfig(func(c *config.Config) { c.Tutoring.PresenceSeconds = 1 }))
	w := setupTutoring(t, srv, 1)
	teacher := goSilentAvailable(t, w.teachers[0])
	// No heartbeats from now on: the server closes the silent socket.
	select {
	case <-teacher.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a silent event socket was not closed")
	}
	ask(t, w, "anyone?")
	var view map[string]any
	w.student.must(200, "GET", "/api/v1/tutoring/requests/current", nil, &view)
	if field(view, "request", "status") != "waiting" || num(view["position"]) != 1 {
		t.Fatalf("request offered to a vanished teacher: %v", view)
	}
}

// TestTutoringBadMessages: the event socket answers bad input with an
// error event and stays open; roles are checked.
func TestTutoringBadMessages(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	w := setupTutoring(t, srv, 1)
	st := openEvents(t, w.student)
	st.waitFor("hello", nil)
	for _, c := range []struct {
		typ    string
		fields map[string]any
		code   string
	}{
		{"accept", map[string]any{"request_id": 1}, "forbidden"},
		{"presence", map[string]any{"available": true}, "forbidden"},
		{"accept", nil, "bad_request"},
		{"launch", nil, "bad_request"},
		{"presence", map[string]any{"available": "yes"}, "bad_request"},
	} {
		st.send(c.typ, c.fields)
		if e := st.waitFor("error", nil); e["code"] != c.code {
			t.Errorf("%s %v: %v; want %s", c.typ, c.fields, e, c.code)
		}
	}
	te := goAvailable(t, w.teachers[0])
	te.send("presence", map[string]any{"available": true, "subjects": []string{"physics"}, "grades": []int{7}})
	if e := te.waitFor("error", nil); e["code"] != "invalid" || !strings.Contains(e["message"].(string), "not one of your subjects") {
		t.Errorf("presence for another subject: %v", e)
	}
	// Without a session there is no socket.
	u, _ := url.Parse(srv.url)
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/v1/ws", nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("event socket without a session: %v %v", err, resp)
	}
}

// redisPrefix gives a test its own Redis keys and channel.
func redisPrefix(t *testing.T) string {
	return fmt.Sprintf("yunke-test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

func redisTestAddr() string {
	if a := os.Getenv("TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// TestTutoringTwoNodes: two servers share Redis and Postgres. The student
// is connected to node A and the teacher to node B; they are matched, and
// meet in the same room on the node that accepted.
func TestTutoringTwoNodes(t *testing.T) {
	t.Parallel()
	db := storagetest.PostgresParams(t)
	prefix := redisPrefix(t)
	shared := func(c *config.Config, p *server.Params) {
		c.Database.URL = db.URL
		c.Redis.Address = redisTestAddr()
		c.Redis.KeyPrefix = prefix
		p.TutoringTick = 50 * time.Millisecond
	}
	nodeA := startServer(t, shared)
	nodeB := startServer(t, shared)
	w := setupTutoring(t, nodeA, 1)
	teacherB := relogin(t, nodeB, "teacher0")
	tev := goAvailable(t, teacherB)
	sev := openEvents(t, w.student)
	sev.waitFor("hello", nil)

	rid := ask(t, w, "from node A")
	offer := tev.waitFor("offer", nil)
	if num(field(offer, "request", "id")) != rid {
		t.Fatalf("offer on node B: %v", offer)
	}
	tev.send("accept", map[string]any{"request_id": rid})
	ready := sev.waitFor("session", func(m map[string]any) bool { return m["status"] == "ready" })
	if field(ready, "session", "node_url") != nodeB.url {
		t.Fatalf("session hosted at %v; want node B %s", field(ready, "session", "node_url"), nodeB.url)
	}
	sid := num(field(ready, "session", "id"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc := enterRoom(t, ctx, w.student, sid) // asked on node A, sent to node B
	tc := enterRoom(t, ctx, teacherB, sid)
	if !pollUntil(10*time.Second, func() bool { return len(sc.Participants()) == 1 && len(tc.Participants()) == 1 }) {
		t.Fatal("the pair did not meet in one room")
	}
	sev.waitFor("session", func(m map[string]any) bool { return m["status"] == "live" })
	w.student.must(200, "POST", "/api/v1/tutoring/sessions/"+itoa(sid)+"/end", "{}", nil)
	ended := tev.waitFor("session", func(m map[string]any) bool { return m["status"] == "ended" })
	if field(ended, "session", "end_reason") != "ended_by_student" {
		t.Fatalf("ended %v", ended)
	}
}

// TestTutoringRedisRestart: Redis restarts empty while a student waits.
// The waiting request is restored from the database, the teacher's
// presence returns with the next heartbeat, and the match happens.
func TestTutoringRedisRestart(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	srv := startServer(t, func(c *config.Config, p *server.Params) {
		c.Database.Path = filepath.Join(t.TempDir(), "yunke.db")
		c.Redis.Address = rs.Addr()
		p.TutoringTick = 50 * time.Millisecond
	})
	w := setupTutoring(t, srv, 1)
	student := openEvents(t, w.student)
	student.waitFor("hello", nil)
	rid := ask(t, w, "still there?")
	student.waitFor("request", func(m map[string]any) bool { return num(m["position"]) == 1 })

	rs.Restart() // kill -9: Redis's state is gone; it comes back empty

	teacher := goAvailable(t, w.teachers[0]) // presence returns with the socket's heartbeat
	offer := teacher.waitFor("offer", nil)
	if num(field(offer, "request", "id")) != rid {
		t.Fatalf("after the restart the teacher was offered %v; want request %d", offer, rid)
	}
	var view map[string]any
	w.student.must(200, "GET", "/api/v1/tutoring/requests/current", nil, &view)
	if field(view, "request", "status") != "offered" {
		t.Fatalf("request after the restart: %v", view)
	}
}

// TestTutoringAcceptWhileRedisDown: an accept sent while Redis is down is
// answered with the documented "unavailable" code, and once Redis is back
// (empty) the request is offered again and the accept goes through.
func TestTutoringAcceptWhileRedisDown(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	srv := startServer(t, func(c *config.Config, p *server.Params) {
		c.Database.Path = filepath.Join(t.TempDir(), "yunke.db")
		c.Redis.Address = rs.Addr()
		p.TutoringTick = 50 * time.Millisecond
	})
	w := setupTutoring(t, srv, 1)
	teacher := goAvailable(t, w.teachers[0])
	rid := ask(t, w, "anyone?")
	first := teacher.waitFor("offer", func(m map[string]any) bool { return num(field(m, "request", "id")) == rid })

	rs.Kill()
	teacher.send("accept", map[string]any{"request_id": rid})
	refused := teacher.waitFor("error", nil)
	if refused["code"] != "unavailable" {
		t.Fatalf("accept while Redis is down answered %v; want code unavailable", refused)
	}
	rs.Restart()
	// The offer made anew once the state is restored (heartbeats repeat the
	// lost one until then).
	// Heartbeats sent while Redis was down were answered "unavailable" too.
	teacher.waitForTolerating("offer", func(m map[string]any) bool {
		return num(field(m, "request", "id")) == rid && m["expires_at"] != first["expires_at"]
	}, "unavailable")
	teacher.send("accept", map[string]any{"request_id": rid})
	teacher.waitForTolerating("session", func(m map[string]any) bool { return m["status"] == "ready" }, "unavailable")
}

// TestTutoringPictureLosesItsLocation: a JPEG attached to a request is
// stored without its EXIF metadata (a phone's photo says where it was
// taken); a file that only looks like a JPEG is refused.
func TestTutoringPictureLosesItsLocation(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	w := setupTutoring(t, srv, 0)
	form := func(picture []byte) *multipartBody {
		mb := &multipartBody{}
		mw := multipart.NewWriter(&mb.buf)
		for k, v := range map[string]string{"subject_id": itoa(w.math), "grade": "7", "text": "这道题怎么做？"} {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
		fw, err := mw.CreateFormFile("image", "photo.jpg")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(picture)
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		mb.ctype = mw.FormDataContentType()
		return mb
	}
	broken := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x7F, 0xFF}, bytes.Repeat([]byte("x"), 600)...)
	if r := w.student.send("POST", "/api/v1/tutoring/requests", form(broken)); r.status != 400 || r.errFields()["image"] == nil {
		t.Fatalf("a broken JPEG: %v", r)
	}
	var view map[string]any
	w.student.must(201, "POST", "/api/v1/tutoring/requests", form(jpegWithEXIF()), &view)
	r := w.student.send("GET", "/api/v1/tutoring/requests/"+itoa(num(field(view, "request", "id")))+"/image", nil)
	if r.status != 200 || !bytes.HasPrefix(r.body, []byte{0xFF, 0xD8}) || bytes.Contains(r.body, []byte("GPS-39.9042N")) ||
		!bytes.Contains(r.body, []byte("JFIF")) {
		t.Fatalf("the stored picture: HTTP %d, %q", r.status, r.body)
	}
}
