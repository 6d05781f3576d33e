package server_test

// Integration tests: a whole Yunke server on loopback ports chosen by the
// kernel, driven by the Go LiveKit-protocol client in signaling/client.
// Every test starts its own server, so they run in parallel. Media tests
// live in media_test.go, the frozen-subscriber tests in freeze_test.go; this
// file holds the shared helpers and the signaling-only tests.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"yunke/server"
	"yunke/server/config"
	"yunke/server/token"
	"yunke/signaling/client"
)

const (
	apiKey    = "devkey"
	apiSecret = "secret"
	// adminPassword is the test servers' system administrator's password.
	adminPassword = "admin-password-1"
)

// TestMain fails the package if any goroutine outlives the tests: servers,
// clients and PeerConnections must all shut down completely. Nothing is
// ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer is a running server and what the tests need to reach it.
type testServer struct {
	*server.Server
	url  string
	logs *logBuffer
	// stop stops the server and waits for Run (once; the test's end
	// calls it too).
	stop func()
}

// serverOption adjusts a test server's configuration or parameters.
type serverOption func(*config.Config, *server.Params)

// withTCP gives the server an ICE-TCP listener.
func withTCP(ln net.Listener) serverOption {
	return func(_ *config.Config, p *server.Params) { p.TCPListener = ln }
}

// withEmptyTimeout sets how long an empty room is kept.
func withEmptyTimeout(seconds int) serverOption {
	return func(c *config.Config, _ *server.Params) { c.Room.EmptyTimeout = seconds }
}

// startServer starts a server on 127.0.0.1 with kernel-chosen ports. The
// server is stopped (and Run awaited) when the test ends; its log is printed
// if the test failed.
func startServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	logs := &logBuffer{}
	t.Cleanup(func() { // registered first, so it runs after the server stopped
		if t.Failed() {
			t.Logf("server log (last 64 KiB):\n%s", logs.tail(64<<10))
		}
	})
	cfg := config.Default()
	cfg.Development = true
	cfg.BindAddresses = []string{"127.0.0.1"}
	cfg.Port = 0
	cfg.Keys = map[string]string{apiKey: apiSecret}
	cfg.RTC.UDPPort = 0
	cfg.RTC.TCPPort = 0
	cfg.Database.Path = filepath.Join(t.TempDir(), "yunke.db")
	cfg.Auth.AdminPassword = adminPassword
	cfg.Metrics.Address = "127.0.0.1:0"
	params := server.Params{
		Config:   cfg,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:  "test",
		Password: fastPasswords,
	}
	for _, o := range opts {
		o(cfg, &params)
	}
	srv, err := server.New(params)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("server Run did not return 20 s after its context was cancelled")
		}
	})
	t.Cleanup(stop)
	return &testServer{Server: srv, url: srv.URL(), logs: logs, stop: stop}
}

// logBuffer collects a server's log lines; safe for concurrent use, and
// harmless to write to after the test has ended.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// mint returns a token for identity in room with a Yunke role.
func mint(t *testing.T, room, identity string, role token.Role) string {
	t.Helper()
	tok, err := token.Mint(apiKey, apiSecret, token.Params{Room: room, Identity: identity, Name: "Name " + identity, Role: role, ValidFor: time.Hour})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

// loopbackUDP restricts a client to UDP over loopback, where the server's
// candidates are.
func loopbackUDP(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

// loopbackTCP restricts a client to ICE-TCP over loopback: it has no UDP
// candidates at all, and dials the server's passive TCP candidates (RFC 6544).
func loopbackTCP(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

// join connects a client to srv with tok. Unset options default to
// auto-subscribe off and loopback UDP. The client is closed when the test ends.
func join(t *testing.T, ctx context.Context, srv *testServer, tok string, o client.Options) *client.Client {
	t.Helper()
	o.URL, o.Token = srv.url, tok
	if o.SettingEngine == nil {
		o.SettingEngine = loopbackUDP
	}
	c, err := client.Connect(ctx, o)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// signalLog records every server message a client receives, in order.
type signalLog struct {
	mu      sync.Mutex
	msgs    []*livekit.SignalResponse
	changed chan struct{}
}

func newSignalLog() *signalLog { return &signalLog{changed: make(chan struct{})} }

// record is an Options.OnSignal callback; it does not block.
func (l *signalLog) record(m *livekit.SignalResponse) {
	l.mu.Lock()
	l.msgs = append(l.msgs, proto.Clone(m).(*livekit.SignalResponse))
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *signalLog) snapshot() []*livekit.SignalResponse {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*livekit.SignalResponse(nil), l.msgs...)
}

// wait waits until pred holds for some recorded message and returns it.
func (l *signalLog) wait(ctx context.Context, pred func(*livekit.SignalResponse) bool) (*livekit.SignalResponse, error) {
	seen := 0
	for {
		l.mu.Lock()
		msgs, changed := l.msgs[seen:], l.changed
		seen = len(l.msgs)
		l.mu.Unlock()
		for _, m := range msgs {
			if pred(m) {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// updateIndex is the position of the first update that carries a
// participant with sid for which pred holds, or -1.
func updateIndex(msgs []*livekit.SignalResponse, sid string, pred func(*livekit.ParticipantInfo) bool) int {
	for i, m := range msgs {
		for _, p := range m.GetUpdate().GetParticipants() {
			if p.GetSid() == sid && pred(p) {
				return i
			}
		}
	}
	return -1
}

func isDisconnected(p *livekit.ParticipantInfo) bool {
	return p.GetState() == livekit.ParticipantInfo_DISCONNECTED
}

// httpClient keeps no idle connections, so no goroutine outlives a request.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func httpGet(t *testing.T, u string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", u, err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics (on the metrics listener) into a map from
// "name{labels}" (as exposed) to value.
func scrape(t *testing.T, srv *testServer) map[string]float64 {
	t.Helper()
	status, body := httpGet(t, srv.MetricsURL(), nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d: %s", status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetrics scrapes until pred holds, for up to d.
func waitMetrics(t *testing.T, srv *testServer, d time.Duration, what string, pred func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	var m map[string]float64
	if !pollUntil(d, func() bool { m = scrape(t, srv); return pred(m) }) {
		t.Fatalf("metrics: %s not reached within %v; last scrape: %v", what, d, yunkeOnly(m))
	}
	return m
}

// pollUntil checks cond every 20 ms until it holds (true) or d has passed
// (false).
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// yunkeOnly keeps Yunke's own series, for error messages.
func yunkeOnly(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "yunke_") {
			out[k] = v
		}
	}
	return out
}

func TestHealthEndpoints(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	if status, body := httpGet(t, srv.url+"/healthz", nil); status != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: HTTP %d %q", status, body)
	}
	// Run marks the server ready just after its HTTP loops start, so a
	// request may in principle beat it: poll until ready, briefly.
	var status int
	var body string
	if !pollUntil(5*time.Second, func() bool {
		status, body = httpGet(t, srv.url+"/readyz", nil)
		return status == http.StatusOK && strings.TrimSpace(body) == "ready"
	}) {
		t.Fatalf("/readyz: HTTP %d %q for 5 s", status, body)
	}
	m := scrape(t, srv)
	for _, name := range []string{
		"yunke_rooms", "yunke_participants", "yunke_tracks", "yunke_subscriptions",
		`yunke_rtp_packets_total{direction="in"}`, `yunke_rtp_packets_total{direction="out"}`,
		`yunke_rtp_packets_dropped_total{reason="queue_full"}`,
	} {
		v, ok := m[name]
		if !ok {
			t.Errorf("/metrics has no %s", name)
		} else if v != 0 {
			t.Errorf("/metrics: %s = %v on an idle server", name, v)
		}
	}
}

// TestJoinLeaveUpdates: A sees B join, with B's identity and name, and then
// leave: an update with state DISCONNECTED, after which B is absent.
func TestJoinLeaveUpdates(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	aLog := newSignalLog()
	a := join(t, ctx, srv, mint(t, "jl", "alice", token.RoleTeacher), client.Options{OnSignal: aLog.record})
	if n := len(a.JoinResponse().GetOtherParticipants()); n != 0 {
		t.Fatalf("first in the room sees %d others", n)
	}
	if a.JoinResponse().GetServerVersion() == "" || a.JoinResponse().GetRoom().GetName() != "jl" {
		t.Errorf("join response: version %q, room %q", a.JoinResponse().GetServerVersion(), a.JoinResponse().GetRoom().GetName())
	}
	b := join(t, ctx, srv, mint(t, "jl", "bob", token.RoleStudent), client.Options{})
	others := b.JoinResponse().GetOtherParticipants()
	if len(others) != 1 || others[0].GetIdentity() != "alice" || others[0].GetSid() != a.SID() {
		t.Errorf("bob's join response lists %v, want alice (%s)", others, a.SID())
	}
	p, err := a.WaitParticipant(ctx, "bob", nil)
	if err != nil {
		t.Fatalf("alice waiting for bob: %v", err)
	}
	if p.GetSid() != b.SID() || p.GetName() != "Name bob" || p.GetPermission().GetCanPublish() {
		t.Errorf("alice sees bob as sid %s name %q canPublish %v; want %s, \"Name bob\", false",
			p.GetSid(), p.GetName(), p.GetPermission().GetCanPublish(), b.SID())
	}
	b.Close()
	if _, err := a.WaitParticipant(ctx, "bob", func(p *livekit.ParticipantInfo) bool { return p == nil }); err != nil {
		t.Fatalf("alice waiting for bob to leave: %v", err)
	}
	msgs := aLog.snapshot()
	i := updateIndex(msgs, b.SID(), isDisconnected)
	if i < 0 {
		t.Fatalf("alice got no update with bob DISCONNECTED")
	}
	for _, p := range msgs[i].GetUpdate().GetParticipants() {
		if p.GetSid() == b.SID() && p.GetDisconnectReason() != livekit.DisconnectReason_CLIENT_INITIATED {
			t.Errorf("bob's disconnect reason %s, want CLIENT_INITIATED", p.GetDisconnectReason())
		}
	}
	if a.Err() != nil {
		t.Errorf("alice's session ended: %v", a.Err())
	}
}

// TestDataDestinations: a packet with destinations reaches only them, a
// broadcast reaches everyone else, the server stamps the real sender over
// whatever the client claimed, and nothing is echoed to the sender.
func TestDataDestinations(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := join(t, ctx, srv, mint(t, "data", "alice", token.RoleTeacher), client.Options{})
	b := join(t, ctx, srv, mint(t, "data", "bob", token.RoleStudent), client.Options{})
	c := join(t, ctx, srv, mint(t, "data", "carol", token.RoleStudent), client.Options{})
	for _, x := range []*client.Client{a, b, c} {
		if err := x.WaitConnected(ctx); err != nil {
			t.Fatalf("%s: %v", x.Identity(), err)
		}
	}
	for _, id := range []string{"bob", "carol"} {
		if _, err := a.WaitParticipant(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(x *client.Client, payload string, reliable bool) {
		t.Helper()
		select {
		case p := <-x.Data():
			u := p.GetUser()
			if string(u.GetPayload()) != payload {
				t.Errorf("%s got %q, want %q", x.Identity(), u.GetPayload(), payload)
			}
			if p.GetParticipantIdentity() != "alice" || p.GetParticipantSid() != a.SID() ||
				u.GetParticipantIdentity() != "alice" || u.GetParticipantSid() != a.SID() {
				t.Errorf("%s got %q stamped %q/%s (user %q/%s), want alice/%s", x.Identity(), payload,
					p.GetParticipantIdentity(), p.GetParticipantSid(), u.GetParticipantIdentity(), u.GetParticipantSid(), a.SID())
			}
			if u.GetTopic() != "t" {
				t.Errorf("%s: topic %q, want t", x.Identity(), u.GetTopic())
			}
			if wantKind := livekit.DataPacket_LOSSY; reliable {
				if p.GetKind() != livekit.DataPacket_RELIABLE {
					t.Errorf("%s: %q arrived as %s", x.Identity(), payload, p.GetKind())
				}
			} else if p.GetKind() != wantKind {
				t.Errorf("%s: %q arrived as %s", x.Identity(), payload, p.GetKind())
			}
		case <-ctx.Done():
			t.Fatalf("%s got no %q", x.Identity(), payload)
		}
	}
	send := func(payload string, reliable bool, to ...string) {
		t.Helper()
		// The client claims to be someone else; the server must overwrite it.
		err := a.SendDataPacket(ctx, &livekit.DataPacket{
			ParticipantIdentity:   "mallory",
			DestinationIdentities: to,
			Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
				Payload: []byte(payload), Topic: proto.String("t"), DestinationIdentities: to,
				ParticipantIdentity: "mallory", ParticipantSid: "PA_mallory",
			}},
		}, reliable)
		if err != nil {
			t.Fatalf("send %q: %v", payload, err)
		}
	}
	for _, reliable := range []bool{true, false} {
		kind := map[bool]string{true: "reliable", false: "lossy"}[reliable]
		send(kind+" to bob", reliable, "bob")
		expect(b, kind+" to bob", reliable)
		send(kind+" to all", reliable)
		expect(b, kind+" to all", reliable)
		// carol's next packet must be the broadcast: the one to bob never came.
		expect(c, kind+" to all", reliable)
	}
	// Bob answers alice on the ordered channel. An echo of alice's own
	// reliable packets would have been queued to her before bob even got
	// them, so it would arrive first.
	if err := b.SendData(ctx, []byte("sync"), client.DataOptions{Reliable: true, DestinationIdentities: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		select {
		case p := <-a.Data():
			if p.GetParticipantIdentity() == "bob" && string(p.GetUser().GetPayload()) == "sync" {
				got = true
			} else {
				t.Errorf("alice got %q from %q: her own packet echoed (or a stray)", p.GetUser().GetPayload(), p.GetParticipantIdentity())
			}
		case <-ctx.Done():
			t.Fatal("alice got no sync from bob")
		}
	}
	select {
	case p := <-c.Data():
		t.Errorf("carol got an extra packet %q", p.GetUser().GetPayload())
	default:
	}
}

// badToken describes one refused credential.
type badToken struct {
	name   string
	token  string
	status int
	body   string // a substring of the refusal
}

// signJWT signs arbitrary claims, for tokens the token package refuses to make.
func signJWT(t *testing.T, secret string, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lkClaims mirrors the claims LiveKit tokens carry.
type lkClaims struct {
	jwt.RegisteredClaims
	auth.ClaimGrants
}

func badTokens(t *testing.T) []badToken {
	now := time.Now()
	grant := func(g *auth.VideoGrant, identity string, expires time.Time) string {
		return signJWT(t, apiSecret, &lkClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: apiKey, Subject: identity,
				NotBefore: jwt.NewNumericDate(now.Add(-3 * time.Hour)), ExpiresAt: jwt.NewNumericDate(expires),
			},
			ClaimGrants: auth.ClaimGrants{Identity: identity, Video: g},
		})
	}
	good := &auth.VideoGrant{RoomJoin: true, Room: "tok"}
	lk := func(key, secret string, g *auth.VideoGrant, identity string) string {
		at := auth.NewAccessToken(key, secret).SetVideoGrant(g).SetValidFor(time.Hour)
		if identity != "" {
			at.SetIdentity(identity)
		}
		s, err := at.ToJWT()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return []badToken{
		{"none", "", http.StatusUnauthorized, "no access token"},
		{"not a JWT", "not-a-jwt", http.StatusUnauthorized, "not a JWT"},
		// Two hours past expiry: well beyond the verifier's leeway.
		{"expired", grant(good, "x", now.Add(-2*time.Hour)), http.StatusUnauthorized, "expired"},
		{"wrong secret", lk(apiKey, "not-the-secret", good, "x"), http.StatusUnauthorized, "signature is invalid"},
		{"unknown key", lk("otherkey", apiSecret, good, "x"), http.StatusUnauthorized, `unknown API key "otherkey"`},
		{"no roomJoin", lk(apiKey, apiSecret, &auth.VideoGrant{Room: "tok", RoomAdmin: true}, "x"), http.StatusForbidden, "no roomJoin grant"},
		{"no video grant", lk(apiKey, apiSecret, nil, "x"), http.StatusForbidden, "no roomJoin grant"},
		{"no room", lk(apiKey, apiSecret, &auth.VideoGrant{RoomJoin: true}, "x"), http.StatusForbidden, "names no room"},
		{"no identity", lk(apiKey, apiSecret, good, ""), http.StatusUnauthorized, "no identity"},
	}
}

// TestBadTokens: every bad credential is refused with 401 or 403 and a body
// that says why, before the WebSocket upgrade; /rtc/validate answers the
// same; and the server still admits a good client afterwards.
func TestBadTokens(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withEmptyTimeout(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range badTokens(t) {
		_, err := client.Connect(ctx, client.Options{URL: srv.url, Token: tc.token, SettingEngine: loopbackUDP})
		var he *client.HandshakeError
		if !errors.As(err, &he) {
			t.Errorf("%s: Connect error %v, want a HandshakeError", tc.name, err)
		} else if he.StatusCode != tc.status || !strings.Contains(he.Body, tc.body) {
			t.Errorf("%s: refused with HTTP %d %q, want %d containing %q", tc.name, he.StatusCode, he.Body, tc.status, tc.body)
		}
		// The native SDKs send the token in a header; same answer.
		if tc.token != "" {
			_, err = client.Connect(ctx, client.Options{URL: srv.url, Token: tc.token, TokenInHeader: true, SettingEngine: loopbackUDP})
			if !errors.As(err, &he) || he.StatusCode != tc.status {
				t.Errorf("%s (Authorization header): Connect error %v, want HTTP %d", tc.name, err, tc.status)
			}
		}
		status, body := httpGet(t, srv.url+"/rtc/validate?access_token="+url.QueryEscape(tc.token), nil)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: /rtc/validate answered HTTP %d %q, want %d containing %q", tc.name, status, body, tc.status, tc.body)
		}
		if tc.token != "" {
			status, _ = httpGet(t, srv.url+"/rtc/validate", http.Header{"Authorization": {"Bearer " + tc.token}})
			if status != tc.status {
				t.Errorf("%s: /rtc/validate with a header answered HTTP %d, want %d", tc.name, status, tc.status)
			}
		}
		if strings.Contains(body, tc.token) && len(tc.token) > 20 {
			t.Errorf("%s: the refusal echoes the token", tc.name)
		}
	}
	good := mint(t, "tok", "good", token.RoleStudent)
	if status, body := httpGet(t, srv.url+"/rtc/validate?access_token="+good, nil); status != http.StatusOK {
		t.Errorf("/rtc/validate with a good token: HTTP %d %q", status, body)
	}
	c := join(t, ctx, srv, good, client.Options{})
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("good client after the refusals: %v", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("good client ping: %v", err)
	}
	if m := scrape(t, srv); m["yunke_participants"] != 1 || m["yunke_rooms"] != 1 {
		t.Errorf("after the refusals: %v participants in %v rooms, want 1 in 1", m["yunke_participants"], m["yunke_rooms"])
	}
}

// TestFailedUpgradeLeavesNoRoom: a good token on a request that is not a
// WebSocket upgrade is refused by the upgrader, and must not leave a room
// behind: otherwise any holder of a valid token could grow the room map
// with plain GETs.
func TestFailedUpgradeLeavesNoRoom(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withEmptyTimeout(1))
	ghost := mint(t, "ghost", "nobody", token.RoleStudent)
	if status, body := httpGet(t, srv.url+"/rtc?access_token="+ghost, nil); status != http.StatusBadRequest {
		t.Errorf("plain GET /rtc with a good token: HTTP %d %q, want 400", status, body)
	}
	waitMetrics(t, srv, 3*time.Second, "no room left by a failed upgrade (yunke_rooms 0, room.empty_timeout 1 s)", func(m map[string]float64) bool {
		return m["yunke_rooms"] == 0
	})
}

// closeError is the close frame a session ended with, if any.
func closeError(err error) *websocket.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// rawJoin opens the signaling WebSocket itself and reads the join response.
func rawJoin(t *testing.T, ctx context.Context, srv *testServer, tok string) *websocket.Conn {
	t.Helper()
	u, err := client.RTCURL(srv.url, tok, false, true)
	if err != nil {
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	var res livekit.SignalResponse
	if err == nil {
		err = proto.Unmarshal(b, &res)
	}
	if err != nil || res.GetJoin() == nil {
		t.Fatalf("raw join: %v (%v)", err, res.Message)
	}
	return ws
}

// readUntilClose reads (and discards) frames until the connection ends, and
// returns the close frame it ended with, or nil.
func readUntilClose(ws *websocket.Conn) *websocket.CloseError {
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return closeError(err)
		}
	}
}

// TestMalformedFrames: a frame that is not a SignalRequest ends that
// session with a close frame (1007) saying why; an oversized frame with
// 1009. The rest of the room carries on.
func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := join(t, ctx, srv, mint(t, "mal", "witness", token.RoleTeacher), client.Options{})
	if err := w.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	// A protobuf field with wire type 7 does not exist: no decoder accepts it.
	random := append([]byte{0x0f}, []byte("\xde\xad\xbe\xef\x13\x37 random bytes \x00\xff")...)
	if err := proto.Unmarshal(random, &livekit.SignalRequest{}); err == nil {
		t.Fatal("test bug: the random bytes decode")
	}
	cases := []struct {
		name string
		typ  int
		data []byte
	}{
		{"random binary", websocket.BinaryMessage, random},
		{"JSON garbage", websocket.TextMessage, []byte(`{"offer": {"type": "offer", "sdp": 12`)},
		{"JSON of another message", websocket.TextMessage, []byte(`{"no_such_field": true}`)},
		{"empty binary request", websocket.BinaryMessage, nil},
		{"binary request of unknown fields only", websocket.BinaryMessage, []byte{0xf8, 0x3f, 0x01}}, // field 1023, varint 1
	}
	// Raw WebSockets, not the client: a client writing its own frames
	// (answers, candidates, pings) while the server closes would see a
	// broken pipe before it reads the close frame.
	for i, tc := range cases {
		id := fmt.Sprintf("bad%d", i)
		ws := rawJoin(t, ctx, srv, mint(t, "mal", id, token.RoleStudent))
		if _, err := w.WaitParticipant(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(tc.typ, tc.data); err != nil {
			t.Fatalf("%s: write: %v", tc.name, err)
		}
		ce := readUntilClose(ws)
		if ce == nil || ce.Code != websocket.CloseInvalidFramePayloadData || ce.Text == "" {
			t.Errorf("%s: connection ended with %v, want a close frame 1007 with a reason", tc.name, ce)
		} else {
			t.Logf("%s: closed %d %q", tc.name, ce.Code, ce.Text)
		}
		ws.Close()
		if _, err := w.WaitParticipant(ctx, id, func(p *livekit.ParticipantInfo) bool { return p == nil }); err != nil {
			t.Fatalf("%s: witness did not see the bad client leave: %v", tc.name, err)
		}
	}

	// Oversized: one frame just over the 1 MiB limit. The server refuses it
	// from the frame header, while the write is still going on.
	ws := rawJoin(t, ctx, srv, mint(t, "mal", "huge", token.RoleStudent))
	if _, err := w.WaitParticipant(ctx, "huge", nil); err != nil {
		t.Fatal(err)
	}
	writeDone := make(chan error, 1)
	go func() {
		ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		writeDone <- ws.WriteMessage(websocket.BinaryMessage, make([]byte, 1<<20+1))
	}()
	if ce := readUntilClose(ws); ce == nil || ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("oversized frame: connection ended with %v, want a close frame 1009", ce)
	}
	ws.Close()
	<-writeDone
	if _, err := w.WaitParticipant(ctx, "huge", func(p *livekit.ParticipantInfo) bool { return p == nil }); err != nil {
		t.Fatalf("witness did not see the oversized client leave: %v", err)
	}

	// The witness noticed nothing else.
	if w.Err() != nil {
		t.Fatalf("witness session ended: %v", w.Err())
	}
	if _, err := w.Ping(ctx); err != nil {
		t.Fatalf("witness ping: %v", err)
	}
	y := join(t, ctx, srv, mint(t, "mal", "late", token.RoleStudent), client.Options{})
	if err := y.WaitConnected(ctx); err != nil {
		t.Fatalf("a client joining after the bad ones: %v", err)
	}
	if err := y.SendData(ctx, []byte("hello"), client.DataOptions{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-w.Data():
		if string(p.GetUser().GetPayload()) != "hello" || p.GetParticipantIdentity() != "late" {
			t.Errorf("witness got %q from %q", p.GetUser().GetPayload(), p.GetParticipantIdentity())
		}
	case <-ctx.Done():
		t.Fatal("witness got no data after the bad clients")
	}
}

// TestDuplicateIdentity: the same identity joining again (a full reconnect)
// replaces the first session, which is told DUPLICATE_IDENTITY; the others
// see the old sid DISCONNECTED before the new one appears; the new session
// publishes and receives.
func TestDuplicateIdentity(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oLog := newSignalLog()
	o := join(t, ctx, srv, mint(t, "dup", "other", token.RoleTeacher), client.Options{AutoSubscribe: true, OnSignal: oLog.record})
	first := join(t, ctx, srv, mint(t, "dup", "twin", token.RoleTeacher), client.Options{AutoSubscribe: true})
	if err := first.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WaitParticipant(ctx, "twin", nil); err != nil {
		t.Fatal(err)
	}

	second := join(t, ctx, srv, mint(t, "dup", "twin", token.RoleTeacher), client.Options{AutoSubscribe: true})
	if second.SID() == first.SID() {
		t.Fatalf("the new session reuses sid %s", first.SID())
	}
	select {
	case <-first.Done():
	case <-ctx.Done():
		t.Fatal("the first session was not ended")
	}
	if r := first.LeaveReason(); r != livekit.DisconnectReason_DUPLICATE_IDENTITY {
		t.Errorf("first session: leave reason %s (err %v), want DUPLICATE_IDENTITY", r, first.Err())
	}
	for _, p := range second.JoinResponse().GetOtherParticipants() {
		if p.GetIdentity() == "twin" || p.GetSid() == first.SID() {
			t.Errorf("the new session's join lists its old self: %v", p)
		}
	}
	if _, err := o.WaitParticipant(ctx, "twin", func(p *livekit.ParticipantInfo) bool { return p != nil && p.GetSid() == second.SID() }); err != nil {
		t.Fatalf("other waiting for the new session: %v", err)
	}
	msgs := oLog.snapshot()
	gone := updateIndex(msgs, first.SID(), isDisconnected)
	came := updateIndex(msgs, second.SID(), func(*livekit.ParticipantInfo) bool { return true })
	if gone < 0 || came < 0 || gone > came {
		t.Errorf("other's updates: old sid DISCONNECTED at %d, new sid first at %d; want the old one gone first", gone, came)
	}
	for _, p := range o.Participants() {
		if p.GetSid() == first.SID() {
			t.Errorf("other still lists the old session")
		}
	}

	// The new session publishes to the other participant, and receives from it.
	if err := second.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	up := publishMedia(t, ctx, second, mediaOptions{audio: true, frames: 60})
	down := publishMedia(t, ctx, o, mediaOptions{audio: true, frames: 60})
	var wg sync.WaitGroup
	for _, tc := range []struct {
		sub *client.Client
		pub *mediaPublisher
	}{{o, up}, {second, down}} {
		rt, err := tc.sub.WaitTrack(ctx, func(rt *client.RemoteTrack) bool { return rt.SID() == tc.pub.audio.SID() })
		if err != nil {
			t.Fatalf("%s waiting for the track: %v", tc.sub.Identity(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := checkStream(ctx, rt, tc.pub.audioLog, false)
			if st.err != nil {
				t.Errorf("%s: %v", tc.sub.Identity(), st.err)
			}
		}()
	}
	wg.Wait()
	up.stop()
	down.stop()
	if err := o.SendData(ctx, []byte("hi twin"), client.DataOptions{Reliable: true, DestinationIdentities: []string{"twin"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-second.Data():
		if string(p.GetUser().GetPayload()) != "hi twin" {
			t.Errorf("new session got %q", p.GetUser().GetPayload())
		}
	case <-ctx.Done():
		t.Fatal("new session got no data")
	}
}

// TestRolePermissions: a student's addTrack is refused with a
// requestResponse NOT_ALLOWED and no trackPublished, but its chat goes
// through; an observer is hidden from everyone's participant list and its
// data is not forwarded.
func TestRolePermissions(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	teacher := join(t, ctx, srv, mint(t, "perm", "teacher", token.RoleTeacher), client.Options{})
	sLog := newSignalLog()
	student := join(t, ctx, srv, mint(t, "perm", "student", token.RoleStudent), client.Options{OnSignal: sLog.record})
	if student.JoinResponse().GetParticipant().GetPermission().GetCanPublish() {
		t.Errorf("student's join says it may publish")
	}

	const cid = "TR_student_cam"
	if err := student.Send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
		Cid: cid, Name: "cam", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA, Width: 640, Height: 480,
	}}}); err != nil {
		t.Fatal(err)
	}
	rr, err := sLog.wait(ctx, func(m *livekit.SignalResponse) bool { return m.GetRequestResponse() != nil })
	if err != nil {
		t.Fatalf("no requestResponse to the student's addTrack: %v", err)
	}
	if r := rr.GetRequestResponse(); r.GetReason() != livekit.RequestResponse_NOT_ALLOWED || r.GetAddTrack().GetCid() != cid || r.GetMessage() == "" {
		t.Errorf("requestResponse = %v, want NOT_ALLOWED for cid %s with a message", r, cid)
	}
	// The server answers in order: after the pong, no trackPublished can follow.
	if _, err := student.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range sLog.snapshot() {
		if m.GetTrackPublished() != nil {
			t.Errorf("student got trackPublished %v", m.GetTrackPublished())
		}
	}

	// Chat from the student reaches the teacher, stamped.
	if err := student.SendDataPacket(ctx, &livekit.DataPacket{Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{
		Id: "m1", Timestamp: time.Now().UnixMilli(), Message: "我有一个问题",
	}}}, true); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-teacher.Data():
		if p.GetChatMessage().GetMessage() != "我有一个问题" || p.GetParticipantIdentity() != "student" || p.GetParticipantSid() != student.SID() {
			t.Errorf("teacher got %v", p)
		}
	case <-ctx.Done():
		t.Fatal("teacher got no chat from the student")
	}

	observer := join(t, ctx, srv, mint(t, "perm", "observer", token.RoleObserver), client.Options{})
	if n := len(observer.JoinResponse().GetOtherParticipants()); n != 2 {
		t.Errorf("observer sees %d others, want 2", n)
	}
	if err := observer.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// The observer tries to talk; it may not publish data.
	if err := observer.SendData(ctx, []byte("psst"), client.DataOptions{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	late := join(t, ctx, srv, mint(t, "perm", "late", token.RoleStudent), client.Options{})
	for _, p := range late.JoinResponse().GetOtherParticipants() {
		if p.GetIdentity() == "observer" {
			t.Errorf("a later joiner's join response lists the observer")
		}
	}
	if n := late.JoinResponse().GetRoom().GetNumParticipants(); n != 3 {
		t.Errorf("room.num_participants = %d, want 3 (the observer not counted)", n)
	}
	if _, err := teacher.WaitParticipant(ctx, "late", nil); err != nil {
		t.Fatal(err)
	}
	// Late's chat is the teacher's next packet: the observer's never came.
	if err := late.SendData(ctx, []byte("hello"), client.DataOptions{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-teacher.Data():
		if p.GetParticipantIdentity() != "late" {
			t.Errorf("teacher got %q from %q, want late's hello", p.GetUser().GetPayload(), p.GetParticipantIdentity())
		}
	case <-ctx.Done():
		t.Fatal("teacher got no data from late")
	}
	for _, c := range []*client.Client{teacher, student, late} {
		for _, p := range c.Participants() {
			if p.GetIdentity() == "observer" {
				t.Errorf("%s lists the observer", c.Identity())
			}
		}
	}
	observer.Close()
	if _, err := teacher.Ping(ctx); err != nil { // anything about the observer would be queued before the pong
		t.Fatal(err)
	}
	for _, p := range teacher.Participants() {
		if p.GetIdentity() == "observer" {
			t.Errorf("teacher lists the observer after it left")
		}
	}
}

// pump calls send(0), send(1), … every interval on its own goroutine until
// the returned stop is called; stop waits for the goroutine.
func pump(interval time.Duration, send func(i int)) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for i := 0; ; i++ {
			send(i)
			select {
			case <-quit:
				return
			case <-tk.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}
