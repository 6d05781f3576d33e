// Package account is signing in and out, sessions, one's own account and
// password, the throttling of password guesses (per address and per
// account, on Redis when nodes share one) and known devices, and the first
// administrator of a new installation.
//
// It is the httpapi.Authenticator of the API: the gate asks it who the
// signed-in user of a request is.
package account

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/auth"
	"yunke/server/config"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Store is what accounts need of durable storage.
type Store interface {
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

var _ Store = (*storage.Store)(nil)

// Hasher hashes and checks passwords; every method gives up with
// auth.ErrBusy when no hashing slot frees before ctx ends.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error)
	VerifyDummy(ctx context.Context, password string) error
}

var _ Hasher = (*auth.Hasher)(nil)

// Params are what New needs.
type Params struct {
	Store  Store
	Hasher Hasher
	Auth   config.AuthConfig
	// Redis, when set, holds the sign-in counts that nodes share, under
	// RedisPrefix; nil keeps them on this node.
	Redis       *redis.Client
	RedisPrefix string
	// DeviceKey signs known-device tokens (see DeviceKey).
	DeviceKey []byte
	Logger    *slog.Logger
	Now       func() time.Time
}

// Handler serves signing in and out and one's own account.
type Handler struct {
	store          Store
	hasher         Hasher
	auth           config.AuthConfig
	deviceKey      []byte
	log            *slog.Logger
	now            func() time.Time
	accountLimiter signInLimiter // sign-ins per account (or known device)
	addrLimiter    signInLimiter // sign-ins per client address
}

var _ httpapi.Authenticator = (*Handler)(nil)

// New returns the account handler.
func New(p Params) *Handler {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	h := &Handler{store: p.Store, hasher: p.Hasher, auth: p.Auth, deviceKey: p.DeviceKey, log: p.Logger, now: p.Now}
	h.accountLimiter = h.newSignInLimiter(auth.LimiterParams{Max: p.Auth.FailuresPerAccount, Window: failureWindow,
		Backoff: accountBackoff, MaxBackoff: maxAccountBackoff, Now: p.Now}, p.Redis, p.RedisPrefix)
	h.addrLimiter = h.newSignInLimiter(auth.LimiterParams{Max: p.Auth.FailuresPerAddress, Window: failureWindow, Now: p.Now},
		p.Redis, p.RedisPrefix)
	return h
}

// Routes are the account API routes.
func (h *Handler) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "POST", Path: "/auth/signin", Public: true, Handle: h.handleSignIn},
		{Method: "POST", Path: "/auth/signout", DuringPasswordChange: true, Handle: h.handleSignOut},
		{Method: "GET", Path: "/me", DuringPasswordChange: true, Handle: h.handleMe},
		{Method: "POST", Path: "/me/password", DuringPasswordChange: true, Handle: h.handleChangePassword},
	}
}

// PruneSessions deletes expired sessions every hour until ctx is done.
func (h *Handler) PruneSessions(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := h.store.DeleteExpiredSessions(ctx, h.now())
			if err != nil && ctx.Err() == nil {
				h.log.Warn("delete expired sessions", "err", err)
			} else if n > 0 {
				h.log.Debug("deleted expired sessions", "count", n)
			}
		}
	}
}
