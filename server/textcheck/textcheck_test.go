package textcheck

import "testing"

func TestInvisible(t *testing.T) {
	for _, s := range []string{"王\u202e老师", "a\u200bb", "\ufeffx", "x\u2066y\u2069", "a\u2028b", "tab\there", "soft\u00adhyphen"} {
		if !Invisible(s) {
			t.Errorf("Invisible(%q) = false", s)
		}
	}
	for _, s := range []string{"王老师", "Zhang Wei", "👩\u200d🏫 老师", "O'Brien-Smith", ""} {
		if Invisible(s) {
			t.Errorf("Invisible(%q) = true", s)
		}
	}
}
