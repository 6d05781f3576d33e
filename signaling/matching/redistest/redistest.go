// Package redistest runs private redis-server processes for tests that
// must kill and restart Redis (a restart loses everything, since the
// server keeps nothing on disk).
package redistest

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a private redis-server on a loopback port.
type Server struct {
	t    testing.TB
	Port int
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Start runs redis-server on a free port; it is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, Port: freePort(t)}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// Kill stops the server with SIGKILL: its whole state is gone.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart kills the server if it runs and starts it again, empty, on the
// same port; it returns once the server accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		s.t.Fatalf("redis-server not installed (`make deps` installs it): %v", err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		var seen strings.Builder
		signalled := false
		for {
			n, err := out.Read(buf)
			seen.Write(buf[:n])
			if !signalled && strings.Contains(seen.String(), "Ready to accept connections") {
				close(ready)
				signalled = true
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		s.t.Fatal("redis-server did not start")
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
