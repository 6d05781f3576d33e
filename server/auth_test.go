package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"yunke/server"
	"yunke/server/config"
	"yunke/storage/storagetest"
)

func TestSignInOutAndMe(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := newAPI(t, srv)
	if r := a.send("GET", "/api/v1/me", nil); r.status != 401 || r.errCode() != "unauthenticated" {
		t.Fatalf("GET /me signed out: %v, want 401 unauthenticated", r)
	}
	r := a.signIn("ADMIN", adminPassword) // usernames are case-insensitive
	if r.status != 200 {
		t.Fatalf("sign in: %v", r)
	}
	m := r.json()
	user := m["user"].(map[string]any)
	if user["username"] != "admin" || m["home"] != "admin" || m["csrf_token"] == "" || m["school"] != nil {
		t.Errorf("sign-in answer: %s", r.body)
	}
	if _, ok := user["password_hash"]; ok || bytes.Contains(r.body, []byte("argon2")) {
		t.Errorf("sign-in answer leaks the password hash: %s", r.body)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "yunke_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure || len(cookie.Value) < 40 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP, a long random value", cookie)
	}
	var me map[string]any
	a.must(200, "GET", "/api/v1/me", nil, &me)
	if me["csrf_token"] != a.csrf {
		t.Errorf("GET /me csrf_token %v, sign-in gave %v", me["csrf_token"], a.csrf)
	}
	a.must(204, "POST", "/api/v1/auth/signout", nil, nil)
	if r := a.send("GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("GET /me after sign-out: %v", r)
	}
	// The old cookie is dead on the server too, not just cleared.
	b := newAPI(t, srv)
	req, _ := http.NewRequest("GET", srv.url+"/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "yunke_session", Value: cookie.Value})
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("old session cookie after sign-out: HTTP %d, want 401", resp.StatusCode)
	}
}

func TestSecureCookie(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withConfig(func(c *config.Config) { c.Auth.CookieSecure = true }))
	// The test client is plain HTTP, so the jar drops a Secure cookie; read the header.
	r := newAPI(t, srv).signIn("admin", adminPassword)
	if sc := r.header.Get("Set-Cookie"); !strings.Contains(sc, "; Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Fatalf("Set-Cookie %q: want Secure and HttpOnly", sc)
	}
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := newAPI(t, srv)
	wrong := a.signIn("admin", "not-the-password")
	unknown := a.signIn("nobody", "not-the-password")
	for _, r := range []reply{wrong, unknown} {
		if r.status != 401 || r.errCode() != "invalid_credentials" {
			t.Errorf("bad sign-in: %v, want 401 invalid_credentials", r)
		}
	}
	if wrong.json()["error"].(map[string]any)["message"] != unknown.json()["error"].(map[string]any)["message"] {
		t.Errorf("wrong password and unknown user answer differently: %s vs %s", wrong.body, unknown.body)
	}
	if r := a.send("POST", "/api/v1/auth/signin", map[string]string{"username": ""}); r.status != 400 || r.errFields()["username"] == nil || r.errFields()["password"] == nil {
		t.Errorf("empty sign-in: %v, want 400 with username and password fields", r)
	}
	if r := a.send("POST", "/api/v1/auth/signin", `{"username":"admin","password":"x","remember":true}`); r.status != 400 || r.errCode() != "bad_request" {
		t.Errorf("unknown field: %v, want 400 bad_request", r)
	}
}

func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	srv := startServer(t, withClock(clock), withConfig(func(c *config.Config) { c.Auth.FailuresPerAddress = 20 }))
	a := newAPI(t, srv)
	for i := 0; i < 5; i++ {
		if r := a.signIn("Admin", "wrong-password"); r.status != 401 {
			t.Fatalf("failure %d: %v", i+1, r)
		}
	}
	r := a.signIn("admin", adminPassword) // even the right password, now
	if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %v (Retry-After %q), want 429 rate_limited with Retry-After", r, r.header.Get("Retry-After"))
	}
	// Another account from the same address is not blocked yet.
	if r := a.signIn("someone", "wrong-password"); r.status != 401 {
		t.Fatalf("other account: %v, want 401", r)
	}
	clock.Advance(15*time.Minute + time.Second)
	if r := a.signIn("admin", adminPassword); r.status != 200 {
		t.Fatalf("after the window: %v", r)
	}
	// Success cleared the account's failures: five more are allowed.
	for i := 0; i < 4; i++ {
		if r := a.signIn("admin", "wrong-password"); r.status != 401 {
			t.Fatalf("failure %d after success: %v", i+1, r)
		}
	}
	if r := a.signIn("admin", adminPassword); r.status != 200 {
		t.Fatalf("sign in after 4 failures: %v", r)
	}
	// The address limit (configured to 20 here): failures over any accounts.
	b := newAPI(t, srv)
	clock.Advance(16 * time.Minute)
	for i := 0; i < 20; i++ {
		if r := b.signIn("user"+strings.Repeat("x", i), "wrong-password"); r.status != 401 {
			t.Fatalf("address failure %d: %v", i+1, r)
		}
	}
	if r := b.signIn("fresh", "wrong-password"); r.status != 429 {
		t.Fatalf("21st failure from one address: %v, want 429", r)
	}
}

func TestMustChangePassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	var ds struct{ Items []map[string]any }
	admin.must(200, "GET", "/api/v1/districts", nil, &ds)
	admin.must(201, "POST", "/api/v1/users", map[string]any{"username": "da", "name": "区管理员", "password": "initial-password",
		"roles": []string{"district_admin"}, "district_id": id(ds.Items[0])}, nil)

	u := signedIn(t, srv, "da", "initial-password")
	if u.me["user"].(map[string]any)["must_change_password"] != true {
		t.Fatalf("a new user need not change the password: %v", u.me)
	}
	if r := u.send("GET", "/api/v1/schools", nil); r.status != 403 || r.errCode() != "password_change_required" {
		t.Fatalf("GET /schools before the change: %v, want 403 password_change_required", r)
	}
	u.must(200, "GET", "/api/v1/me", nil, nil)
	if r := u.send("POST", "/api/v1/me/password", map[string]string{"current_password": "wrong-password", "new_password": "a-new-password"}); r.status != 400 || r.errFields()["current_password"] == nil {
		t.Fatalf("change with the wrong current password: %v", r)
	}
	if r := u.send("POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": "short"}); r.status != 400 || r.errFields()["new_password"] == nil {
		t.Fatalf("change to a short password: %v", r)
	}
	u.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": "a-new-password"}, nil)
	u.must(200, "GET", "/api/v1/schools", nil, nil)
	if r := newAPI(t, srv).signIn("da", "initial-password"); r.status != 401 {
		t.Fatalf("old password still works: %v", r)
	}
	if r := newAPI(t, srv).signIn("da", "a-new-password"); r.status != 200 || r.json()["user"].(map[string]any)["must_change_password"] != false {
		t.Fatalf("sign in with the new password: %v", r)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	one := signedIn(t, srv, "admin", adminPassword)
	two := signedIn(t, srv, "admin", adminPassword)
	one.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": adminPassword, "new_password": "another-password"}, nil)
	one.must(200, "GET", "/api/v1/me", nil, nil)
	if r := two.send("GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("the other session after a password change: %v, want 401", r)
	}
}

func TestAdminResetsPassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	teacher := fx.users["teacher"]
	admin := fx.users["school_admin"]
	path := "/api/v1/users/" + itoa(fx.userIDs["teacher"]) + "/password"
	if r := admin.send("POST", path, map[string]string{"new_password": "short"}); r.status != 400 || r.errFields()["new_password"] == nil {
		t.Fatalf("reset to a short password: %v", r)
	}
	admin.must(204, "POST", path, map[string]string{"new_password": "reset-password"}, nil)
	if r := teacher.send("GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("teacher's session after the reset: %v, want 401", r)
	}
	again := signedIn(t, srv, "teacher", "reset-password")
	if r := again.send("GET", "/api/v1/subjects", nil); r.errCode() != "password_change_required" {
		t.Fatalf("after a reset: %v, want password_change_required", r)
	}
	// A school admin may not reset a district admin's password.
	if r := admin.send("POST", "/api/v1/users/"+itoa(fx.userIDs["district_admin"])+"/password", map[string]string{"new_password": "reset-password"}); r.status != 403 {
		t.Fatalf("school admin resets a district admin: %v, want 403", r)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a := signedIn(t, srv, "admin", adminPassword)
	body := map[string]any{"code": "x1", "name": "X"}
	for name, hdr := range map[string][]string{
		"missing":      {"X-CSRF-Token", ""},
		"wrong":        {"X-CSRF-Token", "not-the-token"},
		"cross-origin": {"Origin", "http://evil.example"},
	} {
		if r := a.send("POST", "/api/v1/districts", body, hdr...); r.status != 403 || r.errCode() != "csrf" {
			t.Errorf("%s CSRF token: %v, want 403 csrf", name, r)
		}
	}
	// A cross-site sign-in is refused too (login CSRF).
	if r := newAPI(t, srv).send("POST", "/api/v1/auth/signin", map[string]string{"username": "admin", "password": adminPassword}, "Origin", "http://evil.example"); r.status != 403 {
		t.Errorf("cross-origin sign-in: %v, want 403", r)
	}
	// Same origin with the token passes; reads need no token.
	a.must(201, "POST", "/api/v1/districts", body, nil)
	if r := a.send("GET", "/api/v1/districts", nil, "X-CSRF-Token", ""); r.status != 200 {
		t.Errorf("GET without the token: %v", r)
	}
	if r := a.send("POST", "/api/v1/districts", map[string]any{"code": "x2", "name": "Y"}, "Origin", srv.url); r.status != 201 {
		t.Errorf("same-origin write: %v", r)
	}
}

func TestBootstrapGeneratedPassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withConfig(func(c *config.Config) { c.Auth.AdminPassword = "" }))
	var banner bytes.Buffer
	srv.PrintBanner(&banner)
	line := ""
	for l := range strings.Lines(banner.String()) {
		if strings.Contains(l, "Admin:") {
			line = l
		}
	}
	f := strings.Fields(line)
	if len(f) < 4 || f[1] != "admin" || f[2] != "/" || len(f[3]) < 16 || !strings.Contains(line, "one-time") {
		t.Fatalf("banner admin line %q: want `Admin: admin / <password> (one-time…)`", line)
	}
	pw := f[3]
	if strings.Contains(srv.logs.tail(1<<20), pw) {
		t.Fatal("the one-time password is in the log")
	}
	var again bytes.Buffer
	srv.PrintBanner(&again)
	if strings.Contains(again.String(), pw) {
		t.Fatal("the one-time password is printed twice")
	}
	a := signedIn(t, srv, "admin", pw)
	if a.me["user"].(map[string]any)["must_change_password"] != true {
		t.Fatal("the generated password need not be changed")
	}
}

func TestBootstrapConfiguredPassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	var banner bytes.Buffer
	srv.PrintBanner(&banner)
	if strings.Contains(banner.String(), adminPassword) || !strings.Contains(banner.String(), "configured password") {
		t.Fatalf("banner:\n%s\nwant the admin line without the configured password", banner.String())
	}
}

// TestPostgresSignIn runs the account basics on Postgres.
func TestPostgresSignIn(t *testing.T) {
	t.Parallel()
	st := storagetest.OpenPostgres(t)
	srv := startServer(t, withStore(st))
	a := signedIn(t, srv, "admin", adminPassword)
	if r := newAPI(t, srv).signIn("admin", "wrong-password"); r.status != 401 {
		t.Fatalf("wrong password: %v", r)
	}
	a.must(201, "POST", "/api/v1/schools", map[string]any{"code": "PG1", "name": "PG", "kind": "primary"}, nil)
	if r := a.send("POST", "/api/v1/schools", map[string]any{"code": "PG1", "name": "PG", "kind": "primary"}); r.status != 409 || r.errFields()["code"] == nil {
		t.Fatalf("duplicate school code: %v, want 409 with fields.code", r)
	}
	a.must(204, "POST", "/api/v1/auth/signout", nil, nil)
	// The injected store stays open after the server stops: the caller owns it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestNewFailsOnBadDatabase: a database that cannot be opened stops New,
// and nothing stays bound.
func TestNewFailsOnBadDatabase(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.BindAddresses = []string{"127.0.0.1"}
	cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
	cfg.Keys = map[string]string{apiKey: apiSecret}
	cfg.Database.Path = t.TempDir() // a directory, not a file
	if _, err := server.New(server.Params{Config: cfg, Password: fastPasswords}); err == nil {
		t.Fatal("New succeeded on a directory as the database file")
	}
}

// TestSessionSlidingExpiry: a session lives SessionHours past its last use.
func TestSessionSlidingExpiry(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	srv := startServer(t, withClock(clock))
	a := signedIn(t, srv, "admin", adminPassword) // default: 12 hours
	clock.Advance(11 * time.Hour)
	a.must(200, "GET", "/api/v1/me", nil, nil) // pushes the expiry forward
	clock.Advance(11 * time.Hour)
	a.must(200, "GET", "/api/v1/me", nil, nil)
	clock.Advance(12*time.Hour + time.Minute)
	if r := a.send("GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("12 h after the last request: %v, want 401", r)
	}
}

// TestTrustedProxyAddresses: behind a trusted proxy each client's address
// (from X-Forwarded-For) has its own sign-in limit; from anywhere else the
// header is ignored, so a client cannot pick its own address.
func TestTrustedProxyAddresses(t *testing.T) {
	t.Parallel()
	signIn := func(a *api, from string) int {
		return a.send("POST", "/api/v1/auth/signin", map[string]string{"username": "nobody", "password": "wrong-password"},
			"X-Forwarded-For", from).status
	}
	behind := startServer(t, withConfig(func(c *config.Config) {
		c.Auth.FailuresPerAddress = 2
		c.TrustedProxies = []string{"127.0.0.1/32"}
	}))
	a := newAPI(t, behind)
	for i, want := range []int{401, 401, 429} {
		if got := signIn(a, "203.0.113.7, 127.0.0.1"); got != want {
			t.Fatalf("attempt %d from 203.0.113.7: HTTP %d, want %d", i+1, got, want)
		}
	}
	if got := signIn(a, "198.51.100.9"); got != 401 {
		t.Fatalf("another client behind the proxy: HTTP %d, want 401", got)
	}

	direct := startServer(t, withConfig(func(c *config.Config) { c.Auth.FailuresPerAddress = 2 }))
	b := newAPI(t, direct)
	for i, from := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		want := 401
		if i == 2 {
			want = 429
		}
		if got := signIn(b, from); got != want {
			t.Fatalf("untrusted X-Forwarded-For %s: HTTP %d, want %d (the header must be ignored)", from, got, want)
		}
	}
}

// TestSignInLimitAcrossNodes: with Redis, nodes share the failed sign-in
// count, so spreading attempts over nodes gains nothing.
func TestSignInLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	db := storagetest.PostgresParams(t)
	prefix := redisPrefix(t)
	shared := func(c *config.Config, p *server.Params) {
		c.Database.URL = db.URL
		c.Redis.Address = redisTestAddr()
		c.Redis.KeyPrefix = prefix
	}
	a, b := newAPI(t, startServer(t, shared)), newAPI(t, startServer(t, shared))
	for i := range 5 {
		node := a
		if i%2 == 1 {
			node = b
		}
		if r := node.signIn("admin", "wrong-password"); r.status != 401 {
			t.Fatalf("failure %d: %v", i+1, r)
		}
	}
	for _, node := range []*api{a, b} {
		if r := node.signIn("admin", adminPassword); r.status != 429 {
			t.Fatalf("after 5 failures spread over two nodes: %v, want 429 on every node", r)
		}
	}
}
