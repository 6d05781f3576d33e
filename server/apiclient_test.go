package server_test

// Helpers for the HTTP API tests: a cookie-carrying client that signs in
// and sends the CSRF token, and a fixture of districts, schools and one
// user per role.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/server"
	passwords "yunke/server/auth"
	"yunke/server/config"
	"yunke/storage"
)

// fastPasswords makes password hashing cheap in tests; production keeps
// auth.DefaultParams.
var fastPasswords = passwords.Params{Memory: 64, Time: 1, Threads: 1}

// withStore makes the server use st instead of opening a database.
func withStore(st *storage.Store) serverOption {
	return func(_ *config.Config, p *server.Params) { p.Store = st }
}

// withClock gives the server a clock the test moves.
func withClock(c *testClock) serverOption {
	return func(_ *config.Config, p *server.Params) { p.Now = c.Now }
}

// withConfig adjusts the configuration.
func withConfig(f func(*config.Config)) serverOption {
	return func(c *config.Config, _ *server.Params) { f(c) }
}

// testClock is a clock that moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// api is one browser: it keeps cookies and echoes the CSRF token.
type api struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
	me   map[string]any
}

func newAPI(t *testing.T, srv *testServer) *api {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, base: srv.url, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map.
func (r reply) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}

// errCode is error.code of an error answer.
func (r reply) errCode() string {
	e, _ := r.json()["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// errFields is error.fields of an error answer.
func (r reply) errFields() map[string]any {
	e, _ := r.json()["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func (r reply) String() string { return fmt.Sprintf("HTTP %d %s", r.status, bytes.TrimSpace(r.body)) }

// send makes a request; body is JSON-encoded unless it is a string or
// []byte (sent as is). The CSRF token goes with every write.
func (a *api) send(method, path string, body any, header ...string) reply {
	a.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case *multipartBody:
		rd, ctype = bytes.NewReader(b.buf.Bytes()), b.ctype
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// must makes a request that must answer want, and decodes the answer into out (if not nil).
func (a *api) must(want int, method, path string, body any, out any) reply {
	a.t.Helper()
	r := a.send(method, path, body)
	if r.status != want {
		a.t.Fatalf("%s %s: %v, want HTTP %d", method, path, r, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, r.body, err)
		}
	}
	return r
}

// signIn signs a in and remembers the CSRF token.
func (a *api) signIn(username, password string) reply {
	a.t.Helper()
	r := a.send("POST", "/api/v1/auth/signin", map[string]string{"username": username, "password": password})
	if r.status == http.StatusOK {
		a.me = r.json()
		a.csrf, _ = a.me["csrf_token"].(string)
	}
	return r
}

// signedIn returns a new client signed in as username.
func signedIn(t *testing.T, srv *testServer, username, password string) *api {
	t.Helper()
	a := newAPI(t, srv)
	if r := a.signIn(username, password); r.status != http.StatusOK {
		t.Fatalf("sign in as %s: %v", username, r)
	}
	return a
}

type multipartBody struct {
	buf   bytes.Buffer
	ctype string
}

// multipartForm builds a multipart body of fields and one file part.
func multipartForm(t *testing.T, fields map[string]string, fileName string, file []byte) *multipartBody {
	t.Helper()
	mb := &multipartBody{}
	w := multipart.NewWriter(&mb.buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mb.ctype = w.FormDataContentType()
	return mb
}

// id reads an object's "id" as int64.
func id(m map[string]any) int64 {
	f, _ := m["id"].(float64)
	return int64(f)
}

// fixture is a small installation: two districts, schools A and B in the
// first and C in the second, and a signed-in user for every role.
type fixture struct {
	srv                 *testServer
	district, district2 int64
	schoolA, schoolB    int64
	schoolC             int64
	subject             int64
	// users by role name; "teacher+school_admin" holds both roles.
	users   map[string]*api
	userIDs map[string]int64
	// studentB is a student of school B.
	studentB int64
}

const userPassword = "user-password-1"

// newFixture builds the fixture on srv through the API, as the system admin.
func newFixture(t *testing.T, srv *testServer) *fixture {
	t.Helper()
	fx := &fixture{srv: srv, users: map[string]*api{}, userIDs: map[string]int64{}}
	admin := signedIn(t, srv, "admin", adminPassword)
	fx.users["system_admin"] = admin
	fx.userIDs["system_admin"] = id(admin.me["user"].(map[string]any))

	var ds struct{ Items []map[string]any }
	admin.must(200, "GET", "/api/v1/districts", nil, &ds)
	if len(ds.Items) != 1 || ds.Items[0]["code"] != "default" {
		t.Fatalf("districts on a new installation: %v, want just the default one", ds.Items)
	}
	fx.district = id(ds.Items[0])
	var d2 map[string]any
	admin.must(201, "POST", "/api/v1/districts", map[string]any{"code": "east", "name": "东区"}, &d2)
	fx.district2 = id(d2)

	school := func(code string, district int64) int64 {
		var sc map[string]any
		admin.must(201, "POST", "/api/v1/schools", map[string]any{"code": code, "name": "学校 " + code, "kind": "primary", "district_id": district}, &sc)
		return id(sc)
	}
	fx.schoolA, fx.schoolB, fx.schoolC = school("A", fx.district), school("B", fx.district), school("C", fx.district2)

	var sub map[string]any
	admin.must(201, "POST", "/api/v1/subjects", map[string]any{"code": "fixture", "name": "测试学科", "name_en": "Fixture", "sort": 99}, &sub)
	fx.subject = id(sub)

	for _, u := range []struct {
		name string
		body map[string]any
	}{
		{"student", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolA, "student_no": "S-A-1", "grade": 3, "class": "2班"}},
		{"teacher", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolA, "staff_no": "T-A-1", "subject_ids": []int64{fx.subject}, "grades": []int{3}}},
		{"expert", map[string]any{"roles": []string{"expert"}, "district_id": fx.district, "expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolA}}}},
		{"school_admin", map[string]any{"roles": []string{"school_admin"}, "school_id": fx.schoolA}},
		{"district_admin", map[string]any{"roles": []string{"district_admin"}, "district_id": fx.district}},
		{"teacher+school_admin", map[string]any{"roles": []string{"teacher", "school_admin"}, "school_id": fx.schoolA, "staff_no": "T-A-2"}},
	} {
		username := strings.ReplaceAll(u.name, "+", ".")
		u.body["username"], u.body["name"], u.body["password"] = username, "用户 "+u.name, "initial-password"
		var created map[string]any
		admin.must(201, "POST", "/api/v1/users", u.body, &created)
		fx.userIDs[u.name] = id(created)
		c := signedIn(t, srv, username, "initial-password")
		c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
		fx.users[u.name] = c
	}
	var sb map[string]any
	admin.must(201, "POST", "/api/v1/users", map[string]any{"username": "student.b", "name": "乙", "password": "initial-password",
		"roles": []string{"student"}, "school_id": fx.schoolB, "student_no": "S-B-1"}, &sb)
	fx.studentB = id(sb)
	return fx
}

// roles of a fixture user.
func fixtureRoles(name string) []storage.Role {
	var out []storage.Role
	for _, r := range strings.Split(name, "+") {
		out = append(out, storage.Role(r))
	}
	return out
}

func itoa(n int64) string { return fmt.Sprint(n) }
