// Package directory is the districts, schools and accounts of an
// installation, with the catalogue they share: subjects, knowledge points,
// per-school yearly targets, and spreadsheet imports of schools, teachers,
// students and knowledge-point trees.
//
// It owns the rules of these records (who may create or change which
// account, what a valid school or user is) and their routes under /api/v1;
// storage only keeps them.
package directory

import (
	"context"
	"log/slog"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Store is what the directory needs of durable storage.
type Store interface {
	httpapi.Schools

	CreateDistrict(ctx context.Context, a storage.Actor, code, name string) (storage.District, error)
	ListDistricts(ctx context.Context) ([]storage.District, error)
	GetDistrict(ctx context.Context, id storage.DistrictID) (storage.District, error)
	CreateSchool(ctx context.Context, a storage.Actor, in storage.SchoolInput) (storage.School, error)
	UpdateSchool(ctx context.Context, a storage.Actor, id storage.SchoolID, in storage.SchoolInput, version int64) (storage.School, error)
	GetSchoolByCode(ctx context.Context, code string) (storage.School, error)
	CreateUser(ctx context.Context, a storage.Actor, in storage.UserInput, passwordHash string, mustChange bool) (storage.User, error)
	UpdateUser(ctx context.Context, a storage.Actor, id storage.UserID, in storage.UserInput, version int64) (storage.User, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	ListUsers(ctx context.Context, f storage.UserFilter) ([]storage.User, int, error)
	SetPassword(ctx context.Context, a storage.Actor, id storage.UserID, hash string, mustChange bool) error
	DeleteUserSessions(ctx context.Context, id storage.UserID, exceptHash string) error

	ListSubjects(ctx context.Context) ([]storage.Subject, error)
	CreateSubject(ctx context.Context, a storage.Actor, sub storage.Subject) (storage.Subject, error)
	UpdateSubject(ctx context.Context, a storage.Actor, sub storage.Subject) (storage.Subject, error)
	ListKnowledgePoints(ctx context.Context, subject storage.SubjectID, grade int) ([]storage.KnowledgePoint, error)
	ImportKnowledgePoints(ctx context.Context, a storage.Actor, rows []storage.KnowledgePointRow) (storage.ImportCounts, error)

	ListTargets(ctx context.Context, year int, schools []storage.SchoolID) ([]storage.Target, error)
	SetTarget(ctx context.Context, a storage.Actor, t storage.Target) (storage.Target, error)

	Import(ctx context.Context, a storage.Actor, b storage.ImportBatch) (storage.ImportResult, error)
}

var _ Store = (*storage.Store)(nil)

// Hasher hashes a new password for storing; it gives up with auth.ErrBusy
// (answered 503 busy) when too many passwords are being hashed at once.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// Params are what New needs.
type Params struct {
	Store  Store
	Hasher Hasher
	Logger *slog.Logger
	// Now is the clock (years of targets, …).
	Now func() time.Time
}

// Handler serves the directory's routes.
type Handler struct {
	store     Store
	hasher    Hasher
	log       *slog.Logger
	now       func() time.Time
	importing importGate
}

// New returns the directory's handler.
func New(p Params) *Handler {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Handler{store: p.Store, hasher: p.Hasher, log: p.Logger, now: p.Now}
}

// hashWait is how long a request waits for a password hashing slot
// before it is answered 503 busy.
const hashWait = 3 * time.Second

// hashPassword hashes pw for storing, waiting at most hashWait for a slot.
func (h *Handler) hashPassword(ctx context.Context, pw string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	return h.hasher.Hash(ctx, pw)
}

// Routes are the directory's API routes.
func (h *Handler) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	return []httpapi.Route{
		{Method: "GET", Path: "/districts", Actions: a(authz.DistrictList), Handle: h.handleListDistricts},
		{Method: "POST", Path: "/districts", Actions: a(authz.DistrictCreate), Handle: h.handleCreateDistrict},
		{Method: "GET", Path: "/schools", Actions: a(authz.SchoolList), Handle: h.handleListSchools},
		{Method: "POST", Path: "/schools", Actions: a(authz.SchoolCreate), Handle: h.handleCreateSchool},
		{Method: "GET", Path: "/schools/{id}", Actions: a(authz.SchoolRead), Handle: h.handleGetSchool},
		{Method: "PATCH", Path: "/schools/{id}", Actions: a(authz.SchoolUpdate), Handle: h.handleUpdateSchool},
		{Method: "GET", Path: "/users", Actions: a(authz.UserList), Handle: h.handleListUsers},
		{Method: "POST", Path: "/users", Actions: a(authz.UserCreate), Handle: h.handleCreateUser},
		{Method: "GET", Path: "/users/{id}", Actions: a(authz.UserRead), Handle: h.handleGetUser},
		{Method: "PATCH", Path: "/users/{id}", Actions: a(authz.UserUpdate), Handle: h.handleUpdateUser},
		{Method: "POST", Path: "/users/{id}/password", Actions: a(authz.UserResetPassword), Handle: h.handleResetPassword},

		{Method: "GET", Path: "/subjects", Actions: a(authz.SubjectList), Handle: h.handleListSubjects},
		{Method: "POST", Path: "/subjects", Actions: a(authz.SubjectCreate), Handle: h.handleCreateSubject},
		{Method: "PATCH", Path: "/subjects/{id}", Actions: a(authz.SubjectUpdate), Handle: h.handleUpdateSubject},
		{Method: "GET", Path: "/knowledge-points", Actions: a(authz.KnowledgeList), Handle: h.handleListKnowledgePoints},
		{Method: "POST", Path: "/knowledge-points/import", Actions: a(authz.KnowledgeImport), Handle: h.handleImportKnowledgePoints},
		{Method: "GET", Path: "/targets", Actions: a(authz.TargetRead), Handle: h.handleListTargets},
		{Method: "PUT", Path: "/schools/{id}/targets/{year}", Actions: a(authz.TargetWrite), Handle: h.handleSetTarget},

		{Method: "GET", Path: "/import/template", Actions: a(authz.ImportTemplate), Handle: h.handleImportTemplate},
		{Method: "POST", Path: "/import", Actions: a(authz.ImportRun), Handle: h.handleImport},
	}
}
