package server

import (
	"context"
	"time"

	"yunke/storage"
)

// What each group of handlers needs from the store. *storage.Store
// satisfies them all; each is small so that a handler's dependencies show.

// sessionStore is what signing in, sessions and one's own account need.
type sessionStore interface {
	CredentialsByUsername(ctx context.Context, username string) (storage.Credentials, error)
	SetPassword(ctx context.Context, a storage.Actor, id storage.UserID, hash string, mustChange bool) error
	CreateSession(ctx context.Context, sess storage.Session) error
	SessionByHash(ctx context.Context, hash string, now time.Time) (storage.Session, storage.User, error)
	TouchSession(ctx context.Context, hash string, lastSeen, expiresAt time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	DeleteUserSessions(ctx context.Context, id storage.UserID, exceptHash string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	RecordActivity(ctx context.Context, act storage.Activity) error
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	GetDistrict(ctx context.Context, id storage.DistrictID) (storage.District, error)
}

// directoryStore is what district, school and account management need.
type directoryStore interface {
	CreateDistrict(ctx context.Context, a storage.Actor, code, name string) (storage.District, error)
	ListDistricts(ctx context.Context) ([]storage.District, error)
	GetDistrict(ctx context.Context, id storage.DistrictID) (storage.District, error)
	CreateSchool(ctx context.Context, a storage.Actor, in storage.SchoolInput) (storage.School, error)
	UpdateSchool(ctx context.Context, a storage.Actor, id storage.SchoolID, in storage.SchoolInput, version int64) (storage.School, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
	CreateUser(ctx context.Context, a storage.Actor, in storage.UserInput, passwordHash string, mustChange bool) (storage.User, error)
	UpdateUser(ctx context.Context, a storage.Actor, id storage.UserID, in storage.UserInput, version int64) (storage.User, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	ListUsers(ctx context.Context, f storage.UserFilter) ([]storage.User, int, error)
	SetPassword(ctx context.Context, a storage.Actor, id storage.UserID, hash string, mustChange bool) error
	DeleteUserSessions(ctx context.Context, id storage.UserID, exceptHash string) error
}

// catalogStore is what subjects and knowledge points need.
type catalogStore interface {
	ListSubjects(ctx context.Context) ([]storage.Subject, error)
	CreateSubject(ctx context.Context, a storage.Actor, sub storage.Subject) (storage.Subject, error)
	UpdateSubject(ctx context.Context, a storage.Actor, sub storage.Subject) (storage.Subject, error)
	ListKnowledgePoints(ctx context.Context, subject storage.SubjectID, grade int) ([]storage.KnowledgePoint, error)
	ImportKnowledgePoints(ctx context.Context, a storage.Actor, rows []storage.KnowledgePointRow) (storage.ImportCounts, error)
}

// statsStore is what targets and activity need.
type statsStore interface {
	ListTargets(ctx context.Context, year int, schools []storage.SchoolID) ([]storage.Target, error)
	SetTarget(ctx context.Context, a storage.Actor, t storage.Target) (storage.Target, error)
	RecentActivity(ctx context.Context, district storage.DistrictID, schools []storage.SchoolID, limit int) ([]storage.Activity, error)
	SummarizeActivity(ctx context.Context, q storage.ActivityQuery) ([]storage.ActivityBucket, error)
}

// importStore is what spreadsheet imports need.
type importStore interface {
	GetSchoolByCode(ctx context.Context, code string) (storage.School, error)
	Import(ctx context.Context, a storage.Actor, b storage.ImportBatch) (storage.ImportResult, error)
}

// bootstrapStore is what the first start needs.
type bootstrapStore interface {
	CountUsers(ctx context.Context) (int, error)
	ListDistricts(ctx context.Context) ([]storage.District, error)
	CreateDistrict(ctx context.Context, a storage.Actor, code, name string) (storage.District, error)
	CreateUser(ctx context.Context, a storage.Actor, in storage.UserInput, passwordHash string, mustChange bool) (storage.User, error)
}

// pinger is what readiness needs.
type pinger interface {
	Ping(ctx context.Context) error
}

var (
	_ sessionStore   = (*storage.Store)(nil)
	_ directoryStore = (*storage.Store)(nil)
	_ catalogStore   = (*storage.Store)(nil)
	_ statsStore     = (*storage.Store)(nil)
	_ importStore    = (*storage.Store)(nil)
	_ bootstrapStore = (*storage.Store)(nil)
	_ pinger         = (*storage.Store)(nil)
)
