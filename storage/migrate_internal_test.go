package storage

import (
	"slices"
	"testing"
)

// Both dialects must have the same migrations, so a database can move
// between them and a version means the same schema on each.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	pg, err := loadMigrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	key := func(ms []migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, itoa(int64(m.Version))+"_"+m.Name)
		}
		return out
	}
	if len(pg) == 0 || !slices.Equal(key(pg), key(lite)) {
		t.Fatalf("postgres migrations %v, sqlite %v: want the same versions", key(pg), key(lite))
	}
}

func TestRewritePlaceholders(t *testing.T) {
	d := &dialect{}
	for in, want := range map[string]string{
		"SELECT $1, $12 WHERE a = $1":             "SELECT ?1, ?12 WHERE a = ?1",
		"SELECT $2, $1":                           "SELECT ?2, ?1",
		"INSERT INTO t VALUES ($1, $2), ($3, $4)": "INSERT INTO t VALUES (?, ?), (?, ?)",
		"SELECT 1": "SELECT 1",
	} {
		if got := d.rewrite(in); got != want {
			t.Errorf("rewrite(%q) = %q; want %q", in, got, want)
		}
		if got := d.rewrite(in); got != want {
			t.Errorf("cached rewrite(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestLikePattern(t *testing.T) {
	if got := likePattern(`A%b_c\`); got != `%a\%b\_c\\%` {
		t.Fatalf("likePattern = %q", got)
	}
}
