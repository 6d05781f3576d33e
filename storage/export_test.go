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
