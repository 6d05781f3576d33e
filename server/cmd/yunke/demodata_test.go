package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"yunke/server/auth"
	"yunke/server/demodata"
	"yunke/storage"
)

// TestDemoDataCommand: the command prints its totals and the demo
// credentials, which sign in; a second run changes nothing; a database with
// other data is refused without --force.
func TestDemoDataCommand(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "demo.db")
	args := []string{"demo-data", "--scale", "0.01", "--seed", "42", "--year", "2025", "--database-path", path}
	out := mustRun(t, args...)
	for _, want := range []string{`\b1334  questions`, `\b3817  answers`, `\b3304  tutoring sessions`,
		`\b3  trainee teachers who recorded`, `demo-admin +district administrator`, `password Yunke-Demo-2026`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	ctx := context.Background()
	st, err := storage.Open(ctx, storage.OpenParams{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := st.CredentialsByUsername(ctx, demodata.DistrictAdmin)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := auth.NewHasher(auth.DefaultParams).Verify(ctx, demodata.Password, cred.PasswordHash); !ok || err != nil {
		t.Errorf("the printed password does not sign in: %v, %v", ok, err)
	}

	out = mustRun(t, args...)
	if !strings.Contains(out, "already holds demonstration data; nothing was changed") {
		t.Errorf("second run: %s", out)
	}

	real := filepath.Join(t.TempDir(), "real.db")
	schools := writeFile(t, "s.csv", "code,name,kind\nS1,一小,小学\n")
	mustRun(t, "import", "--kind", "schools", "--file", schools, "--district", "D1", "--district-name", "区", "--database-path", real)
	code, _, stderr := runCmd(t, "demo-data", "--scale", "0.01", "--database-path", real)
	if code != 1 || !strings.Contains(stderr, "not demonstration data") || !strings.Contains(stderr, "--force") {
		t.Errorf("real data: code %d, %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "demo-data", "--scale", "0", "--database-path", real); code != 2 {
		t.Errorf("scale 0: code %d, %s", code, stderr)
	}
}
