package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// yunkeBin is the yunke binary TestMain builds, for the tests that must
// kill a real process.
var yunkeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "yunke-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	yunkeBin = filepath.Join(dir, "yunke")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	if out, err := exec.Command(goBin, "build", "-o", yunkeBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building yunke: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testPassword = "Start-2025!"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// studentsCSV lists n students spread over the schools S1…S3.
func studentsCSV(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("学校代码,学号,姓名,年级,班级\n")
	for i := range n {
		fmt.Fprintf(&b, "S%d,%s%06d,学生%d,%d,%d班\n", i%3+1, prefix, i, i, i%12+1, i%8+1)
	}
	return b.String()
}

// mustRun runs yunke in-process and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("yunke %q: code %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
	return stdout
}

// snapshot is everything an interrupted import must leave as it was.
type snapshot struct {
	Districts []storage.District
	Schools   []storage.School
	Users     []storage.User
	Activity  []storage.Activity
}

func takeSnapshot(t *testing.T, p storage.OpenParams) (snapshot, int) {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatalf("the database does not open: %v", err)
	}
	defer s.Close()
	var snap snapshot
	if snap.Districts, err = s.ListDistricts(ctx); err != nil {
		t.Fatal(err)
	}
	if snap.Schools, _, err = s.ListSchools(ctx, storage.SchoolFilter{Limit: 500}); err != nil {
		t.Fatal(err)
	}
	users, total, err := s.ListUsers(ctx, storage.UserFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if total <= 500 {
		snap.Users = users
	}
	if snap.Activity, err = s.RecentActivity(ctx, 0, nil, 500); err != nil {
		t.Fatal(err)
	}
	return snap, total
}

func sqliteIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q, %v", res, err)
	}
}

// startImport starts yunke import in a child process and returns once it
// has said it is importing, with a function that waits for it to end.
func startImport(t *testing.T, file string, dbArgs []string) (*exec.Cmd, func() (exited bool, stderr string)) {
	t.Helper()
	args := append([]string{"import", "--kind", "students", "--file", file}, dbArgs...)
	cmd := exec.Command(yunkeBin, args...)
	cmd.Env = append(os.Environ(), "YUNKE_IMPORT_PASSWORD="+testPassword)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "importing ") {
			break
		}
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "importing ") {
		_ = cmd.Wait()
		t.Fatalf("yunke import ended before importing: %q", lines)
	}
	return cmd, func() (bool, string) {
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.Exited(), strings.Join(lines, "\n")
	}
}

// testImportCrash kills yunke import with SIGKILL while it imports and
// checks that the database is exactly as before, then imports for real.
func testImportCrash(t *testing.T, p storage.OpenParams, dbArgs []string) {
	schools := writeFile(t, "schools.csv", "code,name,kind\nS1,一小,小学\nS2,二中,初中\nS3,三中,高中\n")
	start := time.Now()
	defer func() { t.Logf("took %v", time.Since(start)) }()
	mustRun(t, append([]string{"import", "--kind", "schools", "--file", schools, "--district", "D1", "--district-name", "城关区"}, dbArgs...)...)
	earlier := writeFile(t, "earlier.csv", studentsCSV("E", 10))
	mustRun(t, append([]string{"import", "--kind", "students", "--file", earlier, "--initial-password", testPassword}, dbArgs...)...)
	before, _ := takeSnapshot(t, p)
	if len(before.Schools) != 3 || len(before.Users) != 10 {
		t.Fatalf("setup: %d schools, %d users", len(before.Schools), len(before.Users))
	}

	const n = 20_000
	big := writeFile(t, "big.csv", studentsCSV("B", n))
	killed := 0
	for i := range 4 {
		cmd, wait := startImport(t, big, dbArgs)
		// The first kill is at once; the others after a random delay, so
		// that they land at different points of the transaction.
		var delay time.Duration
		if i > 0 {
			delay = time.Duration(rand.IntN(300)) * time.Millisecond
		}
		time.AfterFunc(delay, func() { _ = cmd.Process.Kill() })
		exited, stderr := wait()
		if exited {
			// The import finished before the kill: nothing more to learn.
			if cmd.ProcessState.ExitCode() != 0 || !strings.Contains(stderr, "done") {
				t.Fatalf("import %d failed: %s", i, stderr)
			}
			t.Logf("import %d completed before it could be killed", i)
			break
		}
		killed++
		t.Logf("import %d killed after %v", i, delay)
		after, _ := takeSnapshot(t, p)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("kill %d changed the database:\nbefore %+v\nafter  %+v", i, before, after)
		}
		if p.URL == "" {
			sqliteIntegrity(t, p.Path)
		}
	}
	if killed == 0 {
		t.Fatal("no import was killed while it ran")
	}

	args := append([]string{"import", "--kind", "students", "--file", big, "--initial-password", testPassword}, dbArgs...)
	if out := mustRun(t, args...); !strings.Contains(out, fmt.Sprintf("students: %d created, 0 updated, 0 unchanged", n)) &&
		!strings.Contains(out, fmt.Sprintf("students: 0 created, 0 updated, %d unchanged", n)) {
		t.Fatalf("import: %q", out)
	}
	if out := mustRun(t, args...); !strings.Contains(out, fmt.Sprintf("students: 0 created, 0 updated, %d unchanged", n)) {
		t.Fatalf("second import: %q", out)
	}
	if _, total := takeSnapshot(t, p); total != n+10 {
		t.Fatalf("%d users, want %d", total, n+10)
	}
	if p.URL == "" {
		sqliteIntegrity(t, p.Path)
	}
}

func TestImportCrashSQLite(t *testing.T) {
	t.Parallel()
	p := storagetest.SQLiteParams(t)
	testImportCrash(t, p, []string{"--database-path", p.Path})
}

func TestImportCrashPostgres(t *testing.T) {
	t.Parallel()
	p := storagetest.PostgresParams(t)
	testImportCrash(t, p, []string{"--database-url", p.URL})
}
