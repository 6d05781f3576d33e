package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"yunke/server/config"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestDispatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"version"}, 0, "yunke " + version, ""},
		{[]string{"help"}, 0, "token", ""},
		{[]string{"help", "serve"}, 0, "--config", ""},
		{[]string{"help", "token"}, 0, "--valid-for", ""},
		{[]string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"version", "extra"}, 2, "", "unexpected argument"},
		{[]string{"--no-such-flag"}, 2, "", "yunke serve"},
		{[]string{"serve", "-h"}, 0, "", "Usage: yunke serve"},
		// Invalid configuration fails before anything is bound.
		{[]string{"serve", "--dev", "--port", "-1"}, 1, "", "port: -1 is not a port"},
		{[]string{"--config-body", "prot: 1", "--dev"}, 1, "", `unknown key "prot"`},
	} {
		code, stdout, stderr := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout, tc.inStdout) || !strings.Contains(stderr, tc.inStderr) {
			t.Errorf("yunke %q: code %d, stdout %q, stderr %q; want code %d, stdout ∋ %q, stderr ∋ %q",
				tc.args, code, stdout, stderr, tc.code, tc.inStdout, tc.inStderr)
		}
	}
}

func TestCommandTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range commands() {
		if c.name == "" || c.summary == "" || c.run == nil || seen[c.name] {
			t.Errorf("bad or duplicate entry %q", c.name)
		}
		seen[c.name] = true
	}
	if commands()[0].name != "serve" {
		t.Error("serve must be the default (first) command")
	}
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, "token", "--dev", "--room", "math-7", "--identity", "t1", "--name", "王老师", "--role", "teacher", "--valid-for", "2h")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	v, err := auth.ParseAPIToken(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	claims, grants, err := v.Verify(config.DevAPISecret)
	if err != nil {
		t.Fatal(err)
	}
	if v.APIKey() != config.DevAPIKey || grants.Name != "王老师" || !grants.Video.RoomAdmin || grants.Video.Room != "math-7" {
		t.Errorf("key %q grants %+v video %+v", v.APIKey(), grants, grants.Video)
	}
	if d := time.Until(claims.ExpiresAt.Time); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("expires in %v, want 2h", d)
	}

	code, stdout, _ = runCmd(t, "token", "--api-key", "k", "--api-secret", "secret-x", "--room", "r", "--identity", "s1", "--json", "--url", "wss://yunke.example.edu")
	var out struct {
		URL, Token, Room, Identity, Role string
		ExpiresAt                        time.Time `json:"expires_at"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &out) != nil {
		t.Fatalf("code %d, stdout %q", code, stdout)
	}
	if out.URL != "wss://yunke.example.edu" || out.Role != "student" || out.Room != "r" || out.Identity != "s1" ||
		out.Token == "" || time.Until(out.ExpiresAt) < 5*time.Hour {
		t.Errorf("json = %+v", out)
	}
}

func TestTokenCommandErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"token", "--dev", "--identity", "i"}, // no room
		{"token", "--dev", "--room", "r"},     // no identity
		{"token", "--dev", "--room", "r", "--identity", "i", "--role", "principal"},
		{"token", "--dev", "--room", "r", "--identity", "i", "--valid-for", "48h"},
		{"token", "--dev", "--room", "r", "--identity", "i", "extra"},
	} {
		if code, _, stderr := runCmd(t, args...); code != 2 || stderr == "" {
			t.Errorf("yunke %q: code %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}
