package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"yunke/server/auth"
	"yunke/storage"
	"yunke/storage/storagetest"
)

func TestImportCommand(t *testing.T) {
	t.Parallel()
	db := []string{"--database-path", filepath.Join(t.TempDir(), "y.db")}
	run := func(args ...string) (int, string, string) { return runCmd(t, append(args, db...)...) }

	schools := writeFile(t, "s.csv", "code,name,kind\nS1,一小,小学\n")
	if code, _, stderr := run("import", "--kind", "schools", "--file", schools); code != 2 || !strings.Contains(stderr, "no district yet") {
		t.Errorf("no district: code %d, %q", code, stderr)
	}
	mustRun(t, append([]string{"import", "--kind", "schools", "--file", schools, "--district", "D1", "--district-name", "区"}, db...)...)

	// Every bad row is listed, whatever is wrong with it, and nothing changes.
	bad := writeFile(t, "bad.csv", "school_code,student_no,name,grade\nS1,1,A,13\nS9,2,B,1\n\nS1,1,C,1\n")
	code, _, stderr := run("import", "--kind", "students", "--file", bad, "--initial-password", testPassword, "--lang", "en")
	for _, want := range []string{`row 2, grade: grade must be 1–12`, `row 3, school_code: no school has the code "S9"`,
		`row 5, student_no: student_no "1" is already on row 2`, "3 problems in the file: nothing was imported"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("bad rows: code %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	// A school that does not exist is found before the store is asked.
	unknown := writeFile(t, "unknown.csv", "school_code,student_no,name,grade\nS1,1,A,1\n\nS9,2,B,1\n")
	if code, _, stderr := run("import", "--kind", "students", "--file", unknown, "--initial-password", testPassword, "--lang", "en"); code != 1 ||
		!strings.Contains(stderr, `row 4, school_code: no school has the code "S9"`) {
		t.Errorf("unknown school: code %d, %q", code, stderr)
	}

	good := writeFile(t, "good.csv", "school_code,student_no,name,grade\nS1,1,A,1\n")
	if code, stdout, _ := run("import", "--kind", "students", "--file", good, "--dry-run"); code != 0 || !strings.Contains(stdout, "1 rows are valid") {
		t.Errorf("dry run: %d %q", code, stdout)
	}
	if code, _, stderr := run("import", "--kind", "students", "--file", good, "--initial-password", "short"); code != 2 || !strings.Contains(stderr, "at least 8") {
		t.Errorf("short password: %d %q", code, stderr)
	}
	if out := mustRun(t, append([]string{"import", "--kind", "students", "--file", good, "--initial-password", testPassword}, db...)...); !strings.Contains(out, "students: 1 created") {
		t.Errorf("import: %q", out)
	}

	// An import never moves a user to another district.
	mustRun(t, append([]string{"import", "--kind", "schools", "--file", writeFile(t, "x.csv", "code,name,kind\nX1,外区一小,小学\n"),
		"--district", "D2", "--district-name", "东区"}, db...)...)
	moved := writeFile(t, "moved.csv", "school_code,student_no,name,grade\nX1,1,A,1\n")
	if code, _, stderr := run("import", "--kind", "students", "--file", moved, "--district", "D2", "--initial-password", testPassword, "--lang", "en"); code != 1 ||
		!strings.Contains(stderr, `row 2, student_no: student_no "1" belongs to another district`) {
		t.Errorf("student of another district: code %d, %q", code, stderr)
	}

	tpl := filepath.Join(t.TempDir(), "kp.xlsx")
	mustRun(t, "import", "--kind", "knowledge_points", "--template", "xlsx", "--file", tpl)
	// The subjects a new database starts with include 数学.
	if out := mustRun(t, append([]string{"import", "--kind", "knowledge_points", "--file", tpl}, db...)...); !strings.Contains(out, "knowledge points: 2 created") {
		t.Errorf("knowledge points: %q", out)
	}

	for _, args := range [][]string{
		{"import", "--file", good},
		{"import", "--kind", "parents", "--file", good},
		{"import", "--kind", "students"},
		{"import", "--kind", "students", "--file", good, "--database-url", "mysql://x"},
	} {
		if code, _, stderr := runCmd(t, args...); code != 2 || stderr == "" {
			t.Errorf("yunke %q: code %d, %q", args, code, stderr)
		}
	}
}

func TestBackupMigrateAdmin(t *testing.T) {
	t.Parallel()
	p := storagetest.SQLiteParams(t)
	db := []string{"--database-path", p.Path}
	if out := mustRun(t, append([]string{"migrate"}, db...)...); !regexp.MustCompile(`sqlite database .* schema version [1-9][0-9]*, job queue version [1-9]`).MatchString(out) {
		t.Errorf("migrate: %q", out)
	}

	ctx := context.Background()
	s, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDistrict(ctx, storage.Actor{}, "D1", "区")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.NewHasher(auth.DefaultParams).Hash(ctx, "old-password")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "boss", Name: "Boss", DistrictID: d.ID,
		Roles: []storage.Role{storage.RoleDistrictAdmin}, Active: true}, hash, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	out := mustRun(t, append([]string{"admin", "reset-password", "--username", "BOSS"}, db...)...)
	m := regexp.MustCompile(`One-time password for boss: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("reset-password: %q", out)
	}
	s, err = storage.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := s.CredentialsByUsername(ctx, "boss")
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := auth.NewHasher(auth.DefaultParams).Verify(ctx, m[1], cred.PasswordHash); !ok || !cred.User.MustChangePassword || cred.User.ID != u.ID {
		t.Errorf("after reset: verify %v, must change %v", ok, cred.User.MustChangePassword)
	}
	if code, _, stderr := runCmd(t, append([]string{"admin", "reset-password", "--username", "nobody"}, db...)...); code != 1 || !strings.Contains(stderr, "no user") {
		t.Errorf("unknown user: %d %q", code, stderr)
	}

	out = mustRun(t, append([]string{"backup", "--out", filepath.Join(t.TempDir(), "b.db")}, db...)...)
	if !strings.Contains(out, "backed up") {
		t.Errorf("backup: %q", out)
	}
	dest := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, append([]string{"backup", "--out", dest}, db...)...)
	b, err := storage.Open(ctx, storage.OpenParams{Path: dest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CredentialsByUsername(ctx, "boss"); err != nil {
		t.Errorf("backup lacks the user: %v", err)
	}
	b.Close()
	if code, _, _ := runCmd(t, append([]string{"backup", "--out", dest}, db...)...); code != 1 {
		t.Error("backup over an existing file succeeded")
	}
	if _, err := os.Stat(dest); err != nil {
		t.Fatal(err)
	}
	pg := storagetest.PostgresParams(t)
	if code, _, stderr := runCmd(t, "backup", "--out", dest, "--database-url", pg.URL); code != 1 || !strings.Contains(stderr, "pg_dump --format=custom") {
		t.Errorf("postgres backup: %d %q", code, stderr)
	}

	for _, args := range [][]string{{"help", "import"}, {"help", "backup"}, {"help", "migrate"}, {"help", "admin"}} {
		if code, stdout, _ := runCmd(t, args...); code != 0 || !strings.Contains(stdout, "Usage: yunke "+args[1]) {
			t.Errorf("yunke %q: %d %q", args, code, stdout)
		}
	}
	if code, _, _ := runCmd(t, "admin"); code != 2 {
		t.Error("admin without a command is not a usage error")
	}
}
