package server_test

// Sign-in under attack: racing guesses, floods of password checks, lockout
// of the owner, weak passwords.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/server"
	"yunke/server/auth"
	"yunke/server/config"
	"yunke/storage/storagetest"
)

// answer is the status, error code and Retry-After of one sign-in.
type answer struct {
	status     int
	code       string
	retryAfter string
}

// parallelSignIns sends n sign-ins at once, the i-th to urls[i%len(urls)]
// as creds(i), each on its own connection, and returns the answers. A
// transport error is reported as status 0.
func parallelSignIns(t *testing.T, urls []string, n int, creds func(i int) (string, string)) []answer {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = signInOnce(hc, urls[i%len(urls)], creds)(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func signInOnce(hc *http.Client, url string, creds func(i int) (string, string)) func(i int) answer {
	return func(i int) answer {
		u, p := creds(i)
		body, _ := json.Marshal(map[string]string{"username": u, "password": p})
		resp, err := hc.Post(url+"/api/v1/auth/signin", "application/json", bytes.NewReader(body))
		if err != nil {
			return answer{}
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		r := reply{status: resp.StatusCode, body: data}
		return answer{status: resp.StatusCode, code: r.errCode(), retryAfter: resp.Header.Get("Retry-After")}
	}
}

// tally counts answers by status.
func tally(as []answer) map[int]int {
	m := map[int]int{}
	for _, a := range as {
		m[a.status]++
	}
	return m
}

// withRaceableHashing makes a password check take a few milliseconds, as a
// real one takes tens: time enough for parallel attempts to race.
func withRaceableHashing(_ *config.Config, p *server.Params) {
	p.Password = auth.Params{Memory: 2048, Time: 1, Threads: 1}
}

// TestSignInRaceOneNode: 100 wrong passwords for one account at once get
// no more password checks than the account allows (a 401 is a checked
// password; a 429 was refused before any check).
func TestSignInRaceOneNode(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withRaceableHashing, withClock(newTestClock())) // the clock stands still: no wait ends
	got := tally(parallelSignIns(t, []string{srv.url}, 100, func(int) (string, string) { return "admin", "wrong-password" }))
	if got[401] > 5 || got[401]+got[429] != 100 {
		t.Fatalf("100 parallel wrong sign-ins: %v; want at most 5 checked (401), the rest 429", got)
	}
}

// TestSignInRaceTwoNodes: the same race spread over two nodes that share
// Redis: still no more checks than the account allows.
func TestSignInRaceTwoNodes(t *testing.T) {
	t.Parallel()
	db := storagetest.PostgresParams(t)
	prefix := redisPrefix(t)
	clock := newTestClock()
	shared := func(c *config.Config, p *server.Params) {
		withRaceableHashing(c, p)
		c.Database.URL = db.URL
		c.Redis.Address = redisTestAddr()
		c.Redis.KeyPrefix = prefix
		p.Now = clock.Now
	}
	a, b := startServer(t, shared), startServer(t, shared)
	got := tally(parallelSignIns(t, []string{a.url, b.url}, 100, func(int) (string, string) { return "admin", "wrong-password" }))
	if got[401] > 5 || got[401]+got[429] != 100 {
		t.Fatalf("100 parallel wrong sign-ins over two nodes: %v; want at most 5 checked (401), the rest 429", got)
	}
	// The address limit is shared and atomic too: 30 guesses at 30
	// accounts over both nodes with a limit of 10 per address.
	prefix2 := redisPrefix(t) + "-addr"
	addr := func(c *config.Config, p *server.Params) {
		shared(c, p)
		c.Redis.KeyPrefix = prefix2
		c.Auth.FailuresPerAddress = 10
	}
	c, d := startServer(t, addr), startServer(t, addr)
	got = tally(parallelSignIns(t, []string{c.url, d.url}, 30, func(i int) (string, string) { return fmt.Sprint("nobody", i), "wrong-password" }))
	if got[401] > 10 || got[401]+got[429] != 30 {
		t.Fatalf("30 parallel wrong sign-ins from one address over two nodes: %v; want at most 10 checked", got)
	}
}

// TestSignInBackoff: past the free allowance an account is slowed down, not
// locked: each attempt waits twice as long as the one before, and then even
// a guesser's next try, or the owner's, is heard.
func TestSignInBackoff(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	srv := startServer(t, withClock(clock))
	guesser := newAPI(t, srv)
	for i := range 5 {
		if r := guesser.signIn("admin", "wrong-password"); r.status != 401 {
			t.Fatalf("failure %d: %v", i+1, r)
		}
	}
	for _, wait := range []int{1, 2, 4, 8} {
		r := guesser.signIn("admin", "wrong-password")
		if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") != fmt.Sprint(wait) {
			t.Fatalf("attempt within the wait: %v (Retry-After %q), want 429 rate_limited with Retry-After %d", r, r.header.Get("Retry-After"), wait)
		}
		clock.Advance(time.Duration(wait) * time.Second)
		if r := guesser.signIn("admin", "wrong-password"); r.status != 401 {
			t.Fatalf("attempt after a %d s wait: %v, want it checked (401)", wait, r)
		}
	}
	// The owner, on a new browser, gets in once the current wait is over.
	owner := newAPI(t, srv)
	if r := owner.signIn("admin", adminPassword); r.status != 429 || r.header.Get("Retry-After") != "16" {
		t.Fatalf("owner during the wait: %v (Retry-After %q), want 429 with Retry-After 16", r, r.header.Get("Retry-After"))
	}
	clock.Advance(16 * time.Second)
	if r := owner.signIn("admin", adminPassword); r.status != 200 {
		t.Fatalf("owner after the wait: %v", r)
	}
	// Success forgot the failures: five free ones again.
	for i := range 5 {
		if r := guesser.signIn("admin", "wrong-password"); r.status != 401 {
			t.Fatalf("failure %d after the owner's sign-in: %v", i+1, r)
		}
	}
}

// TestKnownDeviceBypassesAccountLimit: a browser the owner signed in from
// before gets in while a guesser has the account backing off; it has a
// limit of its own, and the address limit still applies.
func TestKnownDeviceBypassesAccountLimit(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	srv := startServer(t, withClock(clock), withConfig(func(c *config.Config) { c.Auth.FailuresPerAddress = 20 }))
	owner := newAPI(t, srv)
	r := owner.signIn("admin", adminPassword)
	if r.status != 200 {
		t.Fatalf("owner's first sign-in: %v", r)
	}
	var device *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "yunke_device" {
			device = c
		}
	}
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteStrictMode || device.Path != "/api/v1/auth/" ||
		device.MaxAge < 30*24*3600 || len(device.Value) < 40 {
		t.Fatalf("device cookie %+v: want HttpOnly, SameSite=Strict, Path=/api/v1/auth/, long-lived, a long value", device)
	}

	guesser := newAPI(t, srv)
	for range 5 {
		guesser.signIn("admin", "wrong-password")
	}
	if r := guesser.signIn("admin", adminPassword); r.status != 429 {
		t.Fatalf("the right password from a new browser during the backoff: %v, want 429", r)
	}
	if r := owner.signIn("admin", adminPassword); r.status != 200 {
		t.Fatalf("the owner's known browser during the backoff: %v, want 200", r)
	}

	// The device's token is the account's: it does nothing for another one,
	// nor does a forged or tampered token.
	owner.must(201, "POST", "/api/v1/users", map[string]any{"username": "da", "name": "区管理员", "password": "initial-password",
		"roles": []string{"district_admin"}, "district_id": firstDistrict(owner)}, nil)
	for range 5 {
		guesser.signIn("da", "wrong-password")
	}
	if r := owner.signIn("da", "initial-password"); r.status != 429 {
		t.Fatalf("admin's device signing in as da during da's backoff: %v, want 429", r)
	}
	parts := strings.Split(strings.Split(device.Value, "~")[0], ".")
	for name, forged := range map[string]string{
		"tampered mac": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"later expiry": fmt.Sprint(time.Now().Add(9999*time.Hour).Unix()) + "." + parts[1] + "." + parts[2],
		"garbage":      "not-a-token",
	} {
		req, _ := http.NewRequest("POST", srv.url+"/api/v1/auth/signin", strings.NewReader(`{"username":"admin","password":"`+adminPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: "yunke_device", Value: forged})
		for range 5 { // put admin into backoff again first
			guesser.signIn("admin", "wrong-password")
		}
		resp, err := newAPI(t, srv).hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 {
			t.Fatalf("%s device token during the backoff: HTTP %d, want 429", name, resp.StatusCode)
		}
		clock.Advance(time.Hour) // the account forgets
	}

	// A known device has its own allowance: guessing from it backs off too.
	for i := range 5 {
		if r := owner.signIn("admin", "wrong-password"); r.status != 401 {
			t.Fatalf("known device, failure %d: %v", i+1, r)
		}
	}
	if r := owner.signIn("admin", adminPassword); r.status != 429 {
		t.Fatalf("known device after its own 5 failures: %v, want 429", r)
	}
	clock.Advance(time.Second)
	if r := owner.signIn("admin", adminPassword); r.status != 200 {
		t.Fatalf("known device after its wait: %v", r)
	}

	// The address limit holds for known devices as well.
	clock.Advance(time.Hour)
	for i := range 20 {
		if r := guesser.signIn(fmt.Sprint("nobody", i), "wrong-password"); r.status != 401 {
			t.Fatalf("address failure %d: %v", i+1, r)
		}
	}
	if r := owner.signIn("admin", adminPassword); r.status != 429 {
		t.Fatalf("known device from an address over its limit: %v, want 429", r)
	}
}

// TestDeviceCookieKeepsOtherAccounts: one browser remembers a few accounts
// (a shared classroom computer), the newest first.
func TestDeviceCookieKeepsOtherAccounts(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	names := []string{"u1", "u2", "u3", "u4", "u5"}
	for _, n := range names {
		admin.must(201, "POST", "/api/v1/users", map[string]any{"username": n, "name": n, "password": "initial-password",
			"roles": []string{"district_admin"}, "district_id": firstDistrict(admin)}, nil)
	}
	shared := newAPI(t, srv)
	tokens := func(n string) []string {
		t.Helper()
		r := shared.signIn(n, "initial-password")
		if r.status != 200 {
			t.Fatalf("sign in as %s: %v", n, r)
		}
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == "yunke_device" {
				return strings.Split(c.Value, "~")
			}
		}
		t.Fatalf("sign in as %s set no device cookie", n)
		return nil
	}
	var toks []string
	for _, n := range names {
		toks = tokens(n)
	}
	if len(toks) != 4 || len(slices.Compact(slices.Sorted(slices.Values(toks)))) != 4 {
		t.Fatalf("device cookie after five accounts holds %q, want 4 distinct tokens", toks)
	}
	// Signing in again as u5 replaces its token (the first) and keeps
	// those of u4, u3 and u2.
	again := tokens("u5")
	if len(again) != 4 || again[0] == toks[0] || !slices.Equal(again[1:], toks[1:]) {
		t.Fatalf("device cookie after signing in as u5 again: %q, before %q", again, toks)
	}
}

// firstDistrict is the id of the installation's default district.
func firstDistrict(a *api) int64 {
	var ds struct{ Items []map[string]any }
	a.must(200, "GET", "/api/v1/districts", nil, &ds)
	return id(ds.Items[0])
}

// TestChangePasswordGuessesLimited: guesses at the current password are
// limited per session, and do not slow down the account's sign-in.
func TestChangePasswordGuessesLimited(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withClock(newTestClock()))
	a := signedIn(t, srv, "admin", adminPassword)
	for i := range 5 {
		if r := a.send("POST", "/api/v1/me/password", map[string]string{"current_password": "wrong-password", "new_password": "a-new-password"}); r.status != 400 {
			t.Fatalf("wrong current password %d: %v", i+1, r)
		}
	}
	if r := a.send("POST", "/api/v1/me/password", map[string]string{"current_password": adminPassword, "new_password": "a-new-password"}); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("change after 5 wrong guesses: %v, want 429 with Retry-After", r)
	}
	b := signedIn(t, srv, "admin", adminPassword) // sign-in itself is not slowed
	b.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": adminPassword, "new_password": "a-new-password"}, nil)
}

// TestWeakPasswordsRefused: the most common passwords, and the username
// (also backwards), are refused wherever a password is set.
func TestWeakPasswordsRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	admin := fx.users["system_admin"]
	for _, pw := range []string{"Password1", "woaini1314", "1qaz2wsx", "88888888", "li.lei2012", "2102iel.il"} {
		r := admin.send("POST", "/api/v1/users", map[string]any{"username": "li.lei2012", "name": "李雷", "password": pw,
			"roles": []string{"district_admin"}, "district_id": fx.district})
		if r.status != 400 || r.errFields()["password"] == nil {
			t.Errorf("create a user with password %q: %v, want 400 with fields.password", pw, r)
		}
	}
	path := "/api/v1/users/" + itoa(fx.userIDs["school_admin"]) + "/password"
	for _, pw := range []string{"qwerty123", "School_Admin", "nimda_loohcs"} {
		r := admin.send("POST", path, map[string]string{"new_password": pw})
		if r.status != 400 || r.errFields()["new_password"] == nil {
			t.Errorf("reset to %q: %v, want 400 with fields.new_password", pw, r)
		}
	}
	me := fx.users["teacher"]
	if r := me.send("POST", "/api/v1/me/password", map[string]string{"current_password": userPassword, "new_password": "ABC123456"}); r.status != 400 || r.errFields()["new_password"] == nil {
		t.Errorf("change to a common password: %v, want 400 with fields.new_password", r)
	}
	csv := "school_code,username,name,staff_no\nA,t.new,新老师,T-9\n"
	r := admin.send("POST", "/api/v1/import", multipartForm(t, map[string]string{"kind": "teachers", "initial_password": "12345678a"}, "t.csv", []byte(csv)))
	if r.status != 400 || r.errFields()["initial_password"] == nil {
		t.Errorf("import with a common initial password: %v, want 400 with fields.initial_password", r)
	}
}

// TestBootstrapRefusesWeakAdminPassword: a configured first password for
// the administrator follows the same rules.
func TestBootstrapRefusesWeakAdminPassword(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"admin123", "nimda123", "Admin123456"} {
		cfg := config.Default()
		cfg.BindAddresses = []string{"127.0.0.1"}
		cfg.Port, cfg.RTC.UDPPort, cfg.RTC.TCPPort = 0, 0, 0
		cfg.Keys = map[string]string{apiKey: apiSecret}
		cfg.Development = true
		cfg.Database.Path = t.TempDir() + "/yunke.db"
		cfg.Auth.AdminUsername, cfg.Auth.AdminPassword = "nimda123", pw
		if _, err := server.New(server.Params{Config: cfg, Password: fastPasswords}); err == nil || !strings.Contains(err.Error(), "auth.admin_password") {
			t.Errorf("New with admin password %q: %v, want an auth.admin_password error", pw, err)
		}
	}
}

// heap reads the live heap as of the last collection and the bytes of
// heap spans in use (MemStats.HeapInuse), without stopping the world.
func heap() (live, inUse uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64() + s[2].Value.Uint64()
}

// TestSignInFloodBoundedMemory: 500 sign-ins at once, for unknown users so
// that no limit stops them, with the real argon2id cost (19 MiB each). The
// server hashes a few at a time and keeps the rest waiting (or answers 503
// busy), so its heap grows by a few hashes' worth, not 500, and /healthz
// stays quick. Not parallel: it measures this process's heap.
func TestSignInFloodBoundedMemory(t *testing.T) {
	const flood = 500
	srv := startServer(t, withConfig(func(c *config.Config) { c.Auth.FailuresPerAddress = 100000 }),
		func(_ *config.Config, p *server.Params) { p.Password = auth.Params{} })
	perHash := uint64(auth.DefaultParams.Memory) << 10
	slots := uint64(max(1, runtime.GOMAXPROCS(0)-1))
	// Live heap: the hashes running (and one more, finishing as the
	// collector looks), plus the connections' buffers and goroutines.
	liveBound := (slots+1)*perHash + 32<<20
	// Heap in use may hold as much garbage again as there is live heap
	// before the collector runs (GOGC=100); goroutine stacks add to the
	// collector's goal.
	runtime.GC()
	baseLive, baseInUse := heap()
	inUseBound := 2*(baseInUse+(slots+1)*perHash) + 64<<20
	// An unbounded server is stopped early, before it exhausts the machine.
	const abort = 256 << 20

	var peakLive, peakInUse uint64
	over := make(chan struct{}) // closed when the heap passes abort
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		closed := false
		for {
			live, inUse := heap()
			peakLive, peakInUse = max(peakLive, live), max(peakInUse, inUse)
			if inUse > baseInUse+abort && !closed {
				close(over)
				closed = true
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	// /healthz, probed on its own connection all through the flood.
	var probes []time.Duration
	stopProbing := make(chan struct{})
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
		defer hc.CloseIdleConnections()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopProbing:
				return
			case <-tick.C:
			}
			t0 := time.Now()
			resp, err := hc.Get(srv.url + "/healthz")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != 200 {
				probes = append(probes, time.Hour) // counts as a miss
				continue
			}
			probes = append(probes, time.Since(t0))
		}
	}()

	// Launch the flood in quick succession; if the heap passes abort (an
	// unbounded server), stop launching.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	signIn := signInOnce(hc, srv.url, func(i int) (string, string) { return fmt.Sprint("flood", i), "wrong-password" })
	answers := make([]answer, flood)
	var wg sync.WaitGroup
	launched := 0
launch:
	for i := range flood {
		select {
		case <-over:
			break launch
		default:
		}
		wg.Add(1)
		launched++
		go func() {
			defer wg.Done()
			answers[i] = signIn(i)
		}()
		if i%50 == 49 {
			runtime.Gosched()
		}
	}
	wg.Wait()
	close(stopProbing)
	<-probed
	close(stopSampling)
	<-sampled

	got := tally(answers[:launched])
	t.Logf("%d sign-ins launched: %v; %d hashing slots; live heap %d → at most %d MiB (bound +%d MiB); heap in use %d → at most %d MiB (bound %d MiB); /healthz probes: %v",
		launched, got, slots, baseLive>>20, peakLive>>20, liveBound>>20, baseInUse>>20, peakInUse>>20, inUseBound>>20, probes)
	if peakLive > baseLive+liveBound {
		t.Fatalf("live heap grew by %d MiB during the flood, bound %d MiB: password hashing is not bounded", (peakLive-baseLive)>>20, liveBound>>20)
	}
	if peakInUse > inUseBound {
		t.Fatalf("heap in use reached %d MiB during the flood, bound %d MiB: password hashing is not bounded", peakInUse>>20, inUseBound>>20)
	}
	for _, a := range answers {
		if a.status == 503 && (a.code != "busy" || a.retryAfter == "") {
			t.Fatalf("503 answer: code %q, Retry-After %q; want busy with Retry-After", a.code, a.retryAfter)
		}
	}
	if got[401]+got[503] != flood || got[401] == 0 {
		t.Fatalf("answers %v: want every sign-in checked (401) or told the server is busy (503)", got)
	}
	if len(probes) < 5 {
		t.Fatalf("only %d /healthz probes during the flood", len(probes))
	}
	sorted := slices.Sorted(slices.Values(probes))
	if med := sorted[len(sorted)/2]; med > 100*time.Millisecond {
		t.Fatalf("/healthz median %v during the flood, want under 100 ms (probes %v)", med, probes)
	}
	if worst := sorted[len(sorted)-1]; worst > 2*time.Second {
		t.Fatalf("/healthz took %v during the flood, want every probe under 2 s (probes %v)", worst, probes)
	}
}
