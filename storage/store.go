package storage

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// errTODO marks methods whose body is still being written.
var errTODO = errors.New("storage: not implemented yet")

// OpenParams say which database to open.
type OpenParams struct {
	// URL selects Postgres when it starts with postgres:// or postgresql://.
	URL string
	// Path is the SQLite file used when URL is empty (default ./data/yunke.db).
	Path string
	// Logger receives migration and slow-query messages; nil discards them.
	Logger *slog.Logger
}

// Store is Yunke's durable state on SQLite or Postgres. Every method is safe
// for concurrent use; every multi-row write is one transaction, and every
// change writes its activity row in that same transaction.
type Store struct{}

// Open opens (creating when needed) the database and applies pending
// migrations. A schema newer than this binary knows fails with ErrSchemaTooNew.
func Open(ctx context.Context, p OpenParams) (*Store, error) { return nil, errTODO }

// Close releases the connections.
func (s *Store) Close() error { return nil }

// Backend is "sqlite" or "postgres".
func (s *Store) Backend() string { return "" }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return errTODO }

// SchemaVersion is the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) { return 0, errTODO }

// Backup writes a consistent copy of a SQLite database to dest (VACUUM INTO).
// Postgres is backed up with pg_dump instead; there it returns an error saying so.
func (s *Store) Backup(ctx context.Context, dest string) error { return errTODO }

func (s *Store) CreateDistrict(ctx context.Context, a Actor, code, name string) (District, error) {
	return District{}, errTODO
}
func (s *Store) ListDistricts(ctx context.Context) ([]District, error) { return nil, errTODO }
func (s *Store) GetDistrict(ctx context.Context, id DistrictID) (District, error) {
	return District{}, errTODO
}

func (s *Store) CreateSchool(ctx context.Context, a Actor, in SchoolInput) (School, error) {
	return School{}, errTODO
}

// UpdateSchool replaces the editable fields when version matches (ErrConflict otherwise).
func (s *Store) UpdateSchool(ctx context.Context, a Actor, id SchoolID, in SchoolInput, version int64) (School, error) {
	return School{}, errTODO
}
func (s *Store) GetSchool(ctx context.Context, id SchoolID) (School, error) { return School{}, errTODO }
func (s *Store) GetSchoolByCode(ctx context.Context, code string) (School, error) {
	return School{}, errTODO
}

// ListSchools returns one page and the total number of matches.
func (s *Store) ListSchools(ctx context.Context, f SchoolFilter) ([]School, int, error) {
	return nil, 0, errTODO
}

func (s *Store) CreateUser(ctx context.Context, a Actor, in UserInput, passwordHash string, mustChange bool) (User, error) {
	return User{}, errTODO
}

// UpdateUser replaces the editable fields when version matches (ErrConflict otherwise).
func (s *Store) UpdateUser(ctx context.Context, a Actor, id UserID, in UserInput, version int64) (User, error) {
	return User{}, errTODO
}
func (s *Store) GetUser(ctx context.Context, id UserID) (User, error) { return User{}, errTODO }

// CredentialsByUsername finds a user by username, case-insensitively.
func (s *Store) CredentialsByUsername(ctx context.Context, username string) (Credentials, error) {
	return Credentials{}, errTODO
}

// SetPassword replaces the password hash and logs "user.password".
func (s *Store) SetPassword(ctx context.Context, a Actor, id UserID, hash string, mustChange bool) error {
	return errTODO
}
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	return nil, 0, errTODO
}
func (s *Store) CountUsers(ctx context.Context) (int, error) { return 0, errTODO }

func (s *Store) CreateSession(ctx context.Context, sess Session) error { return errTODO }

// SessionByHash returns a live session and its (active) user; ErrNotFound
// when it is missing, expired or its user is deactivated.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (Session, User, error) {
	return Session{}, User{}, errTODO
}
func (s *Store) TouchSession(ctx context.Context, hash string, lastSeen, expiresAt time.Time) error {
	return errTODO
}
func (s *Store) DeleteSession(ctx context.Context, hash string) error { return errTODO }

// DeleteUserSessions signs a user out everywhere except the session exceptHash.
func (s *Store) DeleteUserSessions(ctx context.Context, id UserID, exceptHash string) error {
	return errTODO
}
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return 0, errTODO
}

func (s *Store) ListSubjects(ctx context.Context) ([]Subject, error) { return nil, errTODO }
func (s *Store) CreateSubject(ctx context.Context, a Actor, sub Subject) (Subject, error) {
	return Subject{}, errTODO
}
func (s *Store) UpdateSubject(ctx context.Context, a Actor, sub Subject) (Subject, error) {
	return Subject{}, errTODO
}

// ListKnowledgePoints lists a subject's tree; grade 0 means every grade.
func (s *Store) ListKnowledgePoints(ctx context.Context, subject SubjectID, grade int) ([]KnowledgePoint, error) {
	return nil, errTODO
}

// ImportKnowledgePoints upserts nodes by (subject, code), all or nothing.
func (s *Store) ImportKnowledgePoints(ctx context.Context, a Actor, rows []KnowledgePointRow) (ImportCounts, error) {
	return ImportCounts{}, errTODO
}

// ListTargets lists a year's targets; schools nil means every school.
func (s *Store) ListTargets(ctx context.Context, year int, schools []SchoolID) ([]Target, error) {
	return nil, errTODO
}

// SetTarget upserts a school's target for a year; a non-zero Version must match.
func (s *Store) SetTarget(ctx context.Context, a Actor, t Target) (Target, error) {
	return Target{}, errTODO
}

// RecordActivity appends one activity row on its own (for events that
// change nothing else, such as a sign-in).
func (s *Store) RecordActivity(ctx context.Context, act Activity) error { return errTODO }

// RecentActivity lists the newest rows, newest first; schools nil means all.
func (s *Store) RecentActivity(ctx context.Context, district DistrictID, schools []SchoolID, limit int) ([]Activity, error) {
	return nil, errTODO
}

// SummarizeActivity aggregates by month, school, subject and action.
func (s *Store) SummarizeActivity(ctx context.Context, q ActivityQuery) ([]ActivityBucket, error) {
	return nil, errTODO
}

// Import applies a validated batch in one transaction: all rows or none.
func (s *Store) Import(ctx context.Context, a Actor, b ImportBatch) (ImportResult, error) {
	return ImportResult{}, errTODO
}
