package server

import (
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// HTTP timeouts. A WebSocket is exempt from the request timeout once it
// is upgraded: it has its own heartbeats and write deadlines.
const (
	// defaultIdleTimeout closes a keep-alive connection that sends no new
	// request for this long.
	defaultIdleTimeout = 120 * time.Second
	// headerTimeout is how long a client has to send a request's headers.
	headerTimeout = 10 * time.Second
	// defaultRequestTimeout bounds reading a request's body and writing
	// its answer (http.Server's ReadTimeout and WriteTimeout).
	defaultRequestTimeout = 2 * time.Minute
	// uploadTimeout replaces it for multipart uploads (imports, pictures),
	// which a school's slow uplink may take minutes to send; the web app
	// gives an upload 5 minutes.
	uploadTimeout = 5 * time.Minute
)

// addrCounter counts what each client address holds open, up to max
// (0: no limit).
type addrCounter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int
}

func newAddrCounter(max int) *addrCounter {
	return &addrCounter{max: max, n: map[netip.Addr]int{}}
}

// acquire takes a place for a, or reports that a holds max already.
func (c *addrCounter) acquire(a netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.n[a] >= c.max {
		return false
	}
	c.n[a]++
	return true
}

func (c *addrCounter) release(a netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a]--; c.n[a] <= 0 {
		delete(c.n, a)
	}
}

// refusals counts what the limits turned away, for /metrics.
type refusals struct {
	connections atomic.Uint64 // limits.connections_per_address
	rtc         atomic.Uint64 // limits.rtc_per_address
}

// limitListener caps the connections each client address holds open on an
// HTTP listener. Addresses it exempts (trusted reverse proxies, which
// carry many clients) are not counted. A connection over the limit is
// answered 429 too_many_connections and closed before any request is read.
type limitListener struct {
	net.Listener
	count   *addrCounter
	exempt  func(netip.Addr) bool
	refused *atomic.Uint64
	log     *slog.Logger
	// refusing bounds the goroutines answering refused connections; when
	// it is full, a refused connection is closed without an answer.
	refusing chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := remoteAddr(c)
		if l.count.max <= 0 || !a.IsValid() || l.exempt(a) {
			return c, nil
		}
		if l.count.acquire(a) {
			return &countedConn{Conn: c, release: sync.OnceFunc(func() { l.count.release(a) })}, nil
		}
		l.refused.Add(1)
		l.log.Debug("connection refused: too many open from one address", "remote", a, "limit", l.count.max)
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				refuseConn(c, l.count.max)
			}()
		default:
			_ = c.Close()
		}
	}
}

// remoteAddr is a connection's peer IP address, or the zero Addr.
func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// refuseConn answers 429 on a connection the server will not serve, then
// closes it. The request is drained briefly first: closing a socket with
// unread data resets it, and the client would lose the answer.
func refuseConn(c net.Conn, limit int) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	body := fmt.Sprintf(`{"error":{"code":"too_many_connections","message":"too many connections open from your address (at most %d): close some and try again"}}`+"\n", limit)
	_, err := fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nRetry-After: 10\r\nConnection: close\r\n\r\n%s", len(body), body)
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// countedConn gives its place back when closed (by the server, or by a
// WebSocket that took it over).
type countedConn struct {
	net.Conn
	release func()
}

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// limitRTC caps the signaling WebSockets (/rtc and /rtc/v1) each client
// address holds open; the next upgrade is answered 429 before the signaling
// service sees it. A socket that dropped without a leave keeps its place
// while its session waits to be resumed (rtc.resume_grace_seconds).
// r.RemoteAddr is already the client's (realIP runs first).
func limitRTC(next http.Handler, count *addrCounter, refused *atomic.Uint64, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if count.max <= 0 || (r.URL.Path != "/rtc" && r.URL.Path != "/rtc/v1") || !websocket.IsWebSocketUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		a := ap.Addr().Unmap()
		if !count.acquire(a) {
			refused.Add(1)
			log.Info("signaling connection refused: too many open from one address", "remote", a, "limit", count.max)
			w.Header().Set("Retry-After", "10")
			http.Error(w, "too_many_sockets: too many signaling connections open from your address (at most "+strconv.Itoa(count.max)+")", http.StatusTooManyRequests)
			return
		}
		defer count.release(a)
		next.ServeHTTP(w, r)
	})
}

// requestDeadlines adjusts the server's read and write deadlines for the
// requests its timeouts do not fit: a WebSocket upgrade gets none (the
// socket outlives the request and keeps its own), a multipart upload gets
// uploadTimeout.
func requestDeadlines(next http.Handler, upload time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var until time.Time
		switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); {
		case websocket.IsWebSocketUpgrade(r):
		case mt == "multipart/form-data":
			until = time.Now().Add(upload)
		default:
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(until)
		_ = rc.SetWriteDeadline(until)
		next.ServeHTTP(w, r)
	})
}
