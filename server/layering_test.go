package server_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The module's layering, as docs/architecture.md draws it. Every package is
// classified by its folder, so that adding a domain under server/ needs no
// edit here.
const module = "yunke"

// shared are the packages of server/ every domain may use: the API
// plumbing, authentication and authorization, configuration, tokens, text
// rules, spreadsheet reading, background jobs and the S-T computation.
// Everything else directly under server/
// (besides the tools below) is a domain.
var shared = []string{"httpapi", "auth", "authz", "config", "token", "textcheck", "imagecheck", "importer", "jobs", "stanalysis", "stats"}

// tools are programs, load and demonstration-data generators, allowed to
// import anything.
var tools = []string{"cmd", "loadtest", "demodata"}

// TestLayering fails when a package imports what its layer may not:
//   - sfu and storage import nothing of the module (their own subpackages
//     may import them);
//   - signaling imports only sfu and its own subpackages;
//   - a shared server package imports no domain and not the root;
//   - a domain imports neither the root nor another domain;
//   - web imports nothing Go of ours.
func TestLayering(t *testing.T) {
	root := moduleRoot(t)
	imports := moduleImports(t, root)
	if len(imports) < 10 {
		t.Fatalf("found only %d packages under %s", len(imports), root)
	}
	for pkg, deps := range imports {
		for _, dep := range deps {
			if why := forbidden(pkg, dep); why != "" {
				t.Errorf("%s imports %s: %s", pkg, dep, why)
			}
		}
	}
}

// TestLayeringRuleBites checks the rule on made-up imports, so that a rule
// that allows everything cannot pass unnoticed.
func TestLayeringRuleBites(t *testing.T) {
	for _, c := range []struct {
		pkg, dep string
		ok       bool
	}{
		{"yunke/sfu", "yunke/storage", false},
		{"yunke/sfu/recorder", "yunke/sfu", true},
		{"yunke/storage", "yunke/server/authz", false},
		{"yunke/storage/storagetest", "yunke/storage", true},
		{"yunke/signaling", "yunke/sfu", true},
		{"yunke/signaling/events", "yunke/signaling/ids", true},
		{"yunke/signaling", "yunke/storage", false},
		{"yunke/signaling", "yunke/server/tutoring", false},
		{"yunke/server/tutoring", "yunke/server", false},
		{"yunke/server/tutoring", "yunke/server/directory", false},
		{"yunke/server/recordings", "yunke/server/classes", false},
		{"yunke/server/recordings", "yunke/server/httpapi", true},
		{"yunke/server/tutoring", "yunke/signaling/matching", true},
		{"yunke/server/httpapi", "yunke/server/tutoring", false},
		{"yunke/server/httpapi", "yunke/server/authz", true},
		{"yunke/server", "yunke/server/tutoring", true},
		{"yunke/server/cmd/yunke", "yunke/server", true},
		{"yunke/web", "yunke/server/httpapi", false},
	} {
		if got := forbidden(c.pkg, c.dep) == ""; got != c.ok {
			t.Errorf("%s importing %s: allowed = %v, want %v", c.pkg, c.dep, got, c.ok)
		}
	}
}

// forbidden says why pkg may not import dep, or "" if it may.
func forbidden(pkg, dep string) string {
	if !within(dep, module) {
		return "" // the standard library and outside modules
	}
	switch {
	case within(pkg, module+"/sfu"), within(pkg, module+"/storage"):
		layer := strings.Join(strings.Split(pkg, "/")[:2], "/")
		if pkg != layer && within(dep, layer) {
			return "" // a subpackage uses its parent
		}
		if within(dep, pkg) {
			return ""
		}
		return layer + " imports nothing else of Yunke"
	case within(pkg, module+"/signaling"):
		if within(dep, module+"/sfu") || within(dep, module+"/signaling") {
			return ""
		}
		return "signaling imports only sfu and its own subpackages"
	case within(pkg, module+"/web"):
		return "web imports nothing Go of Yunke"
	case within(pkg, module+"/server"):
		return serverRule(pkg, dep)
	}
	return ""
}

// serverRule is the rule between the packages under server/.
func serverRule(pkg, dep string) string {
	kind, name := serverKind(pkg)
	depKind, depName := serverKind(dep)
	switch {
	case kind == "root" || kind == "tool":
		return ""
	case depKind == "root":
		return "only the composition root and the tools import server"
	case kind == "shared" && depKind == "domain":
		return "a shared package imports no domain"
	case kind == "domain" && depKind == "domain" && depName != name:
		return "a domain imports no other domain: share through storage, signaling or a shared package"
	}
	return ""
}

// serverKind classifies a package under server/ (or another of the module).
func serverKind(pkg string) (kind, name string) {
	rest, ok := strings.CutPrefix(pkg, module+"/server")
	switch {
	case !ok:
		return "other", ""
	case rest == "":
		return "root", ""
	}
	name = strings.Split(strings.TrimPrefix(rest, "/"), "/")[0]
	switch {
	case slices.Contains(shared, name):
		return "shared", name
	case slices.Contains(tools, name):
		return "tool", name
	}
	return "domain", name
}

func within(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// moduleImports maps every package of the module (its non-test files) to
// what it imports.
func moduleImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "node_modules" || n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(out[pkg], p) {
				out[pkg] = append(out[pkg], p)
			}
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
