package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"yunke/server/config"
	"yunke/server/recording/recordingtest"
	"yunke/server/token"
	"yunke/signaling/client"
)

// yunkeServer is a `yunke serve` child process.
type yunkeServer struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
}

var servingURL = regexp.MustCompile(`msg=serving url=(http://[0-9.:]+)`)

// startYunke starts the binary with the config body and returns once it
// serves (it has then recovered what a crash left).
func startYunke(t *testing.T, body string) *yunkeServer {
	t.Helper()
	s := &yunkeServer{cmd: exec.Command(yunkeBin, "serve", "--dev", "--config-body", body), done: make(chan struct{})}
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("yunke log:\n%s", s.log())
		}
	})
	urlc := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingURL.FindStringSubmatch(line); m != nil {
				urlc <- m[1]
			}
		}
		_ = s.cmd.Wait()
	}()
	select {
	case s.url = <-urlc:
	case <-s.done:
		t.Fatalf("yunke exited before serving:\n%s", s.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("yunke did not serve within 30 s:\n%s", s.log())
	}
	return s
}

func (s *yunkeServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func loopbackUDP(se *webrtc.SettingEngine) {
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
}

// fileSizes are the sizes of the files in dir.
func fileSizes(dir string) map[string]int64 {
	out := map[string]int64{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			out[e.Name()] = fi.Size()
		}
	}
	return out
}

func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// TestRecordingSurvivesKill: the real binary records a class; kill -9 cuts
// it; at the next start the files are repaired, play to the cut (ffmpeg
// decodes them) and the recording is marked interrupted at the cut.
func TestRecordingSurvivesKill(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is needed (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	const adminPassword = "Crash-test-2026!"
	body := fmt.Sprintf(`port: 0
rtc: {udp_port: 0, tcp_port: 0}
metrics: {address: ""}
database: {path: %q}
recording: {dir: %q, speaking_flush_seconds: 1}
microlessons: {dir: %q}
auth: {admin_password: %q}
`, filepath.Join(dir, "yunke.db"), filepath.Join(dir, "rec"), filepath.Join(dir, "micro"), adminPassword)
	srv := startYunke(t, body)

	// The administrator (account 1) teaches a class: a synthetic camera
	// and microphone.
	tok, err := token.Mint(config.DevAPIKey, config.DevAPISecret, token.Params{Room: "s1-crash", Identity: "u1", Name: "王老师",
		Role: token.RoleTeacher, ValidFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, client.Options{URL: srv.url, Token: tok, SettingEngine: loopbackUDP})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pub, err := recordingtest.Publish(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	work := filepath.Join(dir, "rec", "work", "1")
	// Some seconds of media on disk (about 6 kB/s of video, 3 kB/s of audio).
	if !waitFor(20*time.Second, func() bool {
		sizes := fileSizes(work)
		n := 0
		for _, size := range sizes {
			if size > 12000 {
				n++
			}
		}
		return n == 2
	}) {
		t.Fatalf("recording files: %v", fileSizes(work))
	}
	cut := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	_ = pub.Stop()
	c.Close()

	srv = startYunke(t, body)
	// The repair is a job, worked once the server runs.
	if !waitFor(20*time.Second, func() bool { return strings.Contains(srv.log(), "recording interrupted by a crash, repaired") }) {
		t.Errorf("no repair in the log")
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := hc.Post(srv.url+"/api/v1/auth/signin", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, adminPassword)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: HTTP %d", resp.StatusCode)
	}
	get := func(path string) []byte {
		t.Helper()
		resp, err := hc.Get(srv.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s %v", path, resp.StatusCode, b, err)
		}
		return b
	}
	var rec struct {
		Status       string     `json:"status"`
		StatusReason string     `json:"status_reason"`
		StartedAt    time.Time  `json:"started_at"`
		EndedAt      *time.Time `json:"ended_at"`
		DurationMS   int64      `json:"duration_ms"`
		Tracks       []struct {
			Kind, Status, URL string
			DurationMS        int64 `json:"duration_ms"`
		} `json:"tracks"`
	}
	if err := json.Unmarshal(get("/api/v1/recordings/1"), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Status != "interrupted" || rec.StatusReason == "" || rec.EndedAt == nil || len(rec.Tracks) != 2 || rec.DurationMS < 1500 {
		t.Fatalf("after the crash: %+v", rec)
	}
	// The speaking activity saved while recording survived the crash.
	var speaking struct {
		Participants []struct {
			Role      string
			Intervals []struct{ StartMS, EndMS int64 }
		} `json:"participants"`
	}
	if err := json.Unmarshal(get("/api/v1/recordings/1/speaking"), &speaking); err != nil {
		t.Fatal(err)
	}
	if len(speaking.Participants) != 1 || speaking.Participants[0].Role != "teacher" || len(speaking.Participants[0].Intervals) == 0 {
		t.Errorf("speaking after the crash: %+v", speaking)
	}
	// Ended at the cut: after the last media, not after the restart.
	if rec.EndedAt.After(cut.Add(time.Second)) || rec.EndedAt.Before(rec.StartedAt.Add(time.Second)) {
		t.Errorf("ended at %v; killed at %v, started at %v", rec.EndedAt, cut, rec.StartedAt)
	}
	for i, tr := range rec.Tracks {
		if tr.Status != "ready" || tr.DurationMS < 1500 {
			t.Errorf("track %+v", tr)
		}
		path := filepath.Join(t.TempDir(), "track"+strconv.Itoa(i)+".webm")
		if err := os.WriteFile(path, get(tr.URL), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("ffmpeg decodes the repaired %s track: %v\n%s", tr.Kind, err, out)
		}
		probe, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
		d, perr := strconv.ParseFloat(strings.TrimSpace(string(probe)), 64)
		if err != nil || perr != nil || d*1000 < float64(tr.DurationMS)-500 {
			t.Errorf("ffprobe duration of the repaired %s track: %q (%v), recorded %d ms", tr.Kind, probe, err, tr.DurationMS)
		}
	}
	// Stop gracefully.
	_ = srv.cmd.Process.Signal(os.Interrupt)
	<-srv.done
}
