package storage

import "context"

// ExecForTest runs one statement in a transaction, for fixtures the
// domains' own writes cannot make (rows at chosen times).
func (s *Store) ExecForTest(ctx context.Context, query string, args ...any) error {
	return s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, query, args...)
		return err
	})
}

// RawFactSQLForTest is the query computing q from the domain rows alone.
func (s *Store) RawFactSQLForTest(q FactQuery) (string, []any) {
	return s.rawFactSQL(facts[q.Fact], q)
}

// UseRawFactsForTest makes ReportFact read the raw rows only, never a roll-up.
func (s *Store) UseRawFactsForTest(raw bool) { s.rawFacts = raw }

// UsesRollupForTest reports whether ReportFact answers q from a roll-up.
func UsesRollupForTest(q FactQuery) bool {
	_, ok := rollupOf(facts[q.Fact], q)
	return ok
}

// RolledUpFactsForTest lists the facts that have a roll-up.
func RolledUpFactsForTest() []Fact {
	var out []Fact
	for f := range rollups {
		out = append(out, f)
	}
	return out
}

// FactSQLForTest is the query ReportFact runs for q (a roll-up's where one applies).
func (s *Store) FactSQLForTest(q FactQuery) (string, []any) {
	d := facts[q.Fact]
	if r, ok := rollupOf(d, q); ok {
		return s.factSQL(r, q)
	}
	return s.rawFactSQL(d, q)
}
