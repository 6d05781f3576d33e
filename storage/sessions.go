package storage

import (
	"context"
	"fmt"
	"time"
)

// Sessions are bookkeeping of sign-ins, not changes to the data: they
// write no activity rows (the API records "auth.signin" and the like with
// RecordActivity).

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	if sess.TokenHash == "" {
		return fmt.Errorf("storage: create session: %w", &FieldError{Field: "token_hash", Message: "is required"})
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = s.now()
	}
	if sess.LastSeenAt.IsZero() {
		sess.LastSeenAt = sess.CreatedAt
	}
	err := s.tx(ctx, func(q querier) error {
		var n int
		if err := q.queryRow(ctx, "SELECT COUNT(*) FROM users WHERE id = $1", int64(sess.UserID)).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &FieldError{Field: "user_id", Message: "no such user"}
		}
		_, err := q.exec(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at, last_seen_at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			sess.TokenHash, int64(sess.UserID), sess.CSRF, ms(sess.CreatedAt), ms(sess.ExpiresAt), ms(sess.LastSeenAt),
			sess.IP, sess.UserAgent)
		return mapErr(err, map[string]string{"token_hash": "(hidden)"})
	})
	if err != nil {
		return fmt.Errorf("storage: create session: %w", err)
	}
	return nil
}

// SessionByHash returns a live session and its (active) user; ErrNotFound
// when it is missing, expired or its user is deactivated.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (Session, User, error) {
	q := s.r()
	var sess Session
	var created, expires, seen int64
	var active bool
	err := q.queryRow(ctx, `SELECT s.token_hash, s.user_id, s.csrf, s.created_at, s.expires_at, s.last_seen_at, s.ip,
		s.user_agent, u.active FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, hash).
		Scan(&sess.TokenHash, (*int64)(&sess.UserID), &sess.CSRF, &created, &expires, &seen, &sess.IP, &sess.UserAgent, &active)
	if isNoRows(err) || err == nil && (expires <= ms(now) || !active) {
		return Session{}, User{}, fmt.Errorf("storage: session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("storage: session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt, sess.LastSeenAt = fromMS(created), fromMS(expires), fromMS(seen)
	u, err := s.getUser(ctx, q, "id = $1", int64(sess.UserID))
	if err != nil {
		return Session{}, User{}, fmt.Errorf("storage: session: %w", err)
	}
	return sess, u, nil
}

// TouchSession records that a session was used and extends it.
func (s *Store) TouchSession(ctx context.Context, hash string, lastSeen, expiresAt time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1",
			hash, ms(lastSeen), ms(expiresAt))
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session; ending one that does not exist is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, "DELETE FROM sessions WHERE token_hash = $1", hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions signs a user out everywhere except the session exceptHash.
func (s *Store) DeleteUserSessions(ctx context.Context, id UserID, exceptHash string) error {
	err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2", int64(id), exceptHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: delete sessions of user %d: %w", id, err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions expired at now and says how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, "DELETE FROM sessions WHERE expires_at <= $1", ms(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: delete expired sessions: %w", err)
	}
	return int(n), nil
}
