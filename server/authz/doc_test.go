package authz_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"yunke/server/authz"
	"yunke/storage"
)

// TestPolicyMatchesDocumentation reads the role × action table of
// docs/authorization.md and compares it with the code's policy, cell by cell.
func TestPolicyMatchesDocumentation(t *testing.T) {
	b, err := os.ReadFile("../../docs/authorization.md")
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	doc := map[authz.Action]map[storage.Role]bool{}
	var order []authz.Action
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] == "action" {
			header = cells[1:]
			continue
		}
		if header == nil || strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells)-1 != len(header) {
			t.Fatalf("row %q has %d cells, header has %d", line, len(cells)-1, len(header))
		}
		a := authz.Action(cells[0])
		if _, dup := doc[a]; dup {
			t.Errorf("action %s is documented twice", a)
		}
		doc[a] = map[storage.Role]bool{}
		order = append(order, a)
		for i, c := range cells[1:] {
			switch c {
			case "✓":
				doc[a][storage.Role(header[i])] = true
			case "–", "-":
			default:
				t.Errorf("%s × %s: cell %q is neither ✓ nor –", a, header[i], c)
			}
		}
	}
	if len(doc) == 0 {
		t.Fatal("no policy table found in docs/authorization.md")
	}
	if !slices.Equal(order, authz.Actions) {
		t.Errorf("documented actions %v\n differ from authz.Actions %v", order, authz.Actions)
	}
	for _, r := range storage.AllRoles {
		for _, a := range authz.Actions {
			if got, want := authz.RoleAllows(r, a), doc[a][r]; got != want {
				t.Errorf("%s × %s: code allows = %v, docs/authorization.md says %v", a, r, got, want)
			}
		}
	}
	for r := range authz.Policy() {
		if !r.Valid() {
			t.Errorf("policy names an unknown role %q", r)
		}
	}
}
