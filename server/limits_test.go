package server_test

// What one client may hold open: idle keep-alive connections are closed,
// connections, signaling sockets and event sockets are capped, and a
// WebSocket is not cut by the request timeout.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"yunke/server"
	"yunke/server/config"
	"yunke/server/token"
	"yunke/signaling/client"
)

// withTimeouts shortens the HTTP server's idle and request timeouts.
func withTimeouts(idle, request time.Duration) serverOption {
	return func(_ *config.Config, p *server.Params) { p.IdleTimeout, p.RequestTimeout = idle, request }
}

// rawConn is one TCP connection to srv, closed when the test ends.
func rawConn(t *testing.T, srv *testServer) net.Conn {
	t.Helper()
	u, _ := url.Parse(srv.url)
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip sends a GET on c, keeping the connection alive, and reads the answer.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, path string) (*http.Response, string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: yunke\r\n\r\n", path); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return resp, string(body)
}

// waitClosed reads c until the server closes it; it fails the test if that
// takes longer than within.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open for %v", within)
	}
}

// TestIdleKeepAliveClosed: a keep-alive connection that sends nothing after
// its request is closed after the idle timeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withTimeouts(300*time.Millisecond, 0))
	c := rawConn(t, srv)
	br := bufio.NewReader(c)
	if resp, body := roundTrip(t, c, br, "/healthz"); resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("/healthz: HTTP %d %q, close %v; want 200 on a kept-alive connection", resp.StatusCode, body, resp.Close)
	}
	start := time.Now()
	waitClosed(t, c, 10*time.Second)
	t.Logf("idle connection closed after %v", time.Since(start).Round(time.Millisecond))
}

// TestSlowRequestBodyCut: a request whose body never finishes arriving is
// cut off after the request timeout.
func TestSlowRequestBodyCut(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withTimeouts(0, 300*time.Millisecond))
	c := rawConn(t, srv)
	_, err := fmt.Fprintf(c, "POST /api/v1/auth/signin HTTP/1.1\r\nHost: yunke\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":")
	if err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, 10*time.Second)
}

// TestConnectionsPerAddressCapped: past limits.connections_per_address the
// next connection is answered 429 too_many_connections and closed; the
// open ones keep working, and closing one makes room. Connections from a
// trusted proxy are not counted.
func TestConnectionsPerAddressCapped(t *testing.T) {
	t.Parallel()
	const limit = 3
	srv := startServer(t, withConfig(func(c *config.Config) { c.Limits.ConnectionsPerAddress = limit }))
	var open []net.Conn
	var readers []*bufio.Reader
	for range limit {
		c := rawConn(t, srv)
		br := bufio.NewReader(c)
		if resp, _ := roundTrip(t, c, br, "/healthz"); resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: HTTP %d", len(open)+1, resp.StatusCode)
		}
		open, readers = append(open, c), append(readers, br)
	}

	extra := rawConn(t, srv)
	_ = extra.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatalf("connection over the limit: %v, want a 429 answer", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), `"code":"too_many_connections"`) {
		t.Fatalf("connection over the limit: HTTP %d %s", resp.StatusCode, body)
	}
	waitClosed(t, extra, 10*time.Second)

	if resp, _ := roundTrip(t, open[0], readers[0], "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("an open connection stopped working: HTTP %d", resp.StatusCode)
	}
	_ = open[1].Close()
	if !pollUntil(10*time.Second, func() bool {
		status, _ := httpGet(t, srv.url+"/healthz", nil)
		return status == http.StatusOK
	}) {
		t.Error("closing a connection did not make room for another")
	}
	if m := scrape(t, srv); m[`yunke_connections_refused_total{limit="connections_per_address"}`] < 1 {
		t.Errorf("refusal not counted: %v", yunkeOnly(m))
	}

	proxied := startServer(t, withConfig(func(c *config.Config) {
		c.Limits.ConnectionsPerAddress = limit
		c.TrustedProxies = []string{"127.0.0.1"}
	}))
	for i := range limit + 2 {
		c := rawConn(t, proxied)
		if resp, _ := roundTrip(t, c, bufio.NewReader(c), "/healthz"); resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d from a trusted proxy: HTTP %d", i+1, resp.StatusCode)
		}
	}
}

// dialRTC opens a signaling WebSocket with extra headers.
func dialRTC(ctx context.Context, t *testing.T, srv *testServer, identity string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u, err := client.RTCURL(srv.url, mint(t, "capped", identity, token.RoleStudent), false, true)
	if err != nil {
		t.Fatal(err)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, hdr)
	if err == nil {
		t.Cleanup(func() { _ = ws.Close() })
	}
	return ws, resp, err
}

// TestRTCPerAddressCapped: past limits.rtc_per_address the next /rtc
// upgrade from that client address is answered 429 too_many_sockets;
// behind a trusted proxy the address is the forwarded client's; /rtc/v1
// counts too; a socket dropped without a leave frees its place when its
// session's resume grace ends.
func TestRTCPerAddressCapped(t *testing.T) {
	t.Parallel()
	const limit = 2
	srv := startServer(t, withConfig(func(c *config.Config) {
		c.Limits.RTCPerAddress = limit
		c.TrustedProxies = []string{"127.0.0.1"}
		c.RTC.ResumeGraceSeconds = 1
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }

	var first *websocket.Conn
	for i := range limit {
		ws, _, err := dialRTC(ctx, t, srv, fmt.Sprintf("a%d", i), from("10.0.0.1"))
		if err != nil {
			t.Fatalf("socket %d: %v", i+1, err)
		}
		if first == nil {
			first = ws
		}
	}
	_, resp, err := dialRTC(ctx, t, srv, "a-extra", from("10.0.0.1"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("socket over the limit: %v (%v), want HTTP 429", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "too_many_sockets") {
		t.Errorf("refusal body %q does not name too_many_sockets", body)
	}
	// The single-connection endpoint draws on the same allowance.
	v1, err := client.RTCURL(srv.url, mint(t, "capped", "a-v1", token.RoleStudent), false, true)
	if err != nil {
		t.Fatal(err)
	}
	v1 = strings.Replace(v1, "/rtc?", "/rtc/v1?", 1)
	if !strings.Contains(v1, "/rtc/v1?") {
		t.Fatalf("no /rtc/v1 URL from %q", v1)
	}
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, v1, from("10.0.0.1")); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("/rtc/v1 socket over the limit: %v (%v), want HTTP 429", err, resp)
	}
	if _, _, err := dialRTC(ctx, t, srv, "b0", from("10.0.0.2")); err != nil {
		t.Errorf("another client address was refused: %v", err)
	}

	_ = first.Close()
	if !pollUntil(10*time.Second, func() bool {
		ws, _, err := dialRTC(ctx, t, srv, "a-later", from("10.0.0.1"))
		if err == nil {
			_ = ws.Close()
		}
		return err == nil
	}) {
		t.Error("closing a socket did not make room for another")
	}
}

// dialEvents opens a's event socket itself.
func dialEvents(t *testing.T, a *api) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u, _ := url.Parse(a.base)
	hdr := http.Header{"Origin": {a.base}}
	for _, c := range a.hc.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/v1/ws", hdr)
	if err == nil {
		t.Cleanup(func() { _ = ws.Close() })
	}
	return ws, resp, err
}

// TestEventSocketsPerUserCapped: past limits.sockets_per_user the next
// /api/v1/ws upgrade of that user is answered 429 too_many_sockets, before
// the upgrade; another user is not affected.
func TestEventSocketsPerUserCapped(t *testing.T) {
	t.Parallel()
	const limit = 2
	srv := startServer(t, withConfig(func(c *config.Config) { c.Limits.SocketsPerUser = limit }))
	fx := newFixture(t, srv)
	teacher := fx.users["teacher"]
	for range limit {
		openSilentEvents(t, teacher)
	}
	_, resp, err := dialEvents(t, teacher)
	if err == nil {
		t.Fatalf("socket %d of one user was opened", limit+1)
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("socket over the limit: %v (%v), want HTTP 429", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"code":"too_many_sockets"`) {
		t.Errorf("refusal body %s does not carry the code too_many_sockets", body)
	}
	openSilentEvents(t, fx.users["student"]) // another user still gets in
}

// TestWebSocketOutlivesRequestTimeout: an event socket keeps answering
// heartbeats well past the (shortened) request timeout, which only bounds
// plain requests.
func TestWebSocketOutlivesRequestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	srv := startServer(t, withTimeouts(0, timeout))
	ws, _, err := dialEvents(t, signedIn(t, srv, "admin", adminPassword))
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(timeout / 4)
	defer tick.Stop()
	start := time.Now()
	for n := 0; time.Since(start) < 5*timeout; n++ {
		<-tick.C
		_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"heartbeat"}`)); err != nil {
			t.Fatalf("heartbeat %d, %v after opening: %v", n, time.Since(start), err)
		}
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("heartbeat %d, %v after opening: %v", n, time.Since(start), err)
			}
			if m["type"] == "heartbeat_ack" {
				break
			}
		}
	}
}
