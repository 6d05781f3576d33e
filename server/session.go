package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"yunke/server/auth"
	"yunke/server/authz"
	"yunke/storage"
)

// sessionCookie carries the session token; the store keeps only its hash.
const sessionCookie = "yunke_session"

// touchEvery is how often a session's sliding expiry is pushed forward;
// more often would write to the database on every request.
const touchEvery = time.Minute

// hashWait is how long a request waits for a password hashing slot
// before it is answered 503 busy.
const hashWait = 3 * time.Second

// principal is the signed-in user of a request.
type principal struct {
	user    storage.User
	session storage.Session
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p *principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

func (s *Server) cookieSecure(r *http.Request) bool {
	return s.cfg.Auth.CookieSecure || r.TLS != nil
}

func (s *Server) sessionTTL() time.Duration {
	return time.Duration(s.cfg.Auth.SessionHours) * time.Hour
}

func setSessionCookie(w http.ResponseWriter, tok string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func clearSessionCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// loadSession finds the request's live session and pushes its expiry
// forward (at most once per touchEvery).
func (s *Server) loadSession(r *http.Request) (*principal, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, errUnauthenticated
	}
	hash := auth.HashToken(c.Value)
	now := s.now()
	sess, user, err := s.sessions.SessionByHash(r.Context(), hash, now)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.sessions.TouchSession(r.Context(), hash, now, now.Add(s.sessionTTL())); err != nil {
			s.log.Warn("touch session", "user", user.ID, "err", err)
		} else {
			sess.LastSeenAt, sess.ExpiresAt = now, now.Add(s.sessionTTL())
		}
	}
	return &principal{user: user, session: sess}, nil
}

// me is the answer of sign-in and GET /me.
type me struct {
	User      storage.User      `json:"user"`
	CSRFToken string            `json:"csrf_token"`
	Home      string            `json:"home"`
	School    *storage.School   `json:"school"`
	District  *storage.District `json:"district"`
}

func (s *Server) meOf(ctx context.Context, u storage.User, csrf string) (me, error) {
	m := me{User: u, CSRFToken: csrf, Home: authz.Home(u.Roles)}
	if u.SchoolID != 0 {
		sc, err := s.sessions.GetSchool(ctx, u.SchoolID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return m, err
		}
		if err == nil {
			m.School = &sc
		}
	}
	if u.DistrictID != 0 {
		d, err := s.sessions.GetDistrict(ctx, u.DistrictID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return m, err
		}
		if err == nil {
			m.District = &d
		}
	}
	return m, nil
}

type signInRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

var errBadCredentials = &apiError{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "wrong username or password"}

// errBusy answers a request that found every password hashing slot taken
// for hashWait: a flood of sign-ins waits, it does not take the server down.
var errBusy = &apiError{Status: http.StatusServiceUnavailable, Code: "busy",
	Message: "the server is checking many passwords at once: try again in a few seconds"}

// retryAfter sets the Retry-After header to wait, in whole seconds (at least 1).
func retryAfter(w http.ResponseWriter, wait time.Duration) int {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs
}

func rateLimited(w http.ResponseWriter, wait time.Duration) *apiError {
	secs := retryAfter(w, wait)
	return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "too many failed sign-ins: try again in " + strconv.Itoa(secs) + " s"}
}

// busy answers 503 busy, asking the client to come back shortly.
func busy(w http.ResponseWriter) error {
	retryAfter(w, 2*time.Second)
	return errBusy
}

// hashPassword hashes pw for storing, waiting at most hashWait for a slot.
func (s *Server) hashPassword(w http.ResponseWriter, r *http.Request, pw string) (string, error) {
	ctx, cancel := context.WithTimeout(r.Context(), hashWait)
	defer cancel()
	h, err := s.hasher.Hash(ctx, pw)
	if errors.Is(err, auth.ErrBusy) {
		return "", busy(w)
	}
	return h, err
}

// verifyPassword checks pw against a stored hash (a dummy one when there
// is no such user, for even timing), waiting at most hashWait for a slot.
func (s *Server) verifyPassword(ctx context.Context, pw string, creds *storage.Credentials) (ok, rehash bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	if creds == nil {
		return false, false, s.hasher.VerifyDummy(ctx, pw)
	}
	ok, rehash, err = s.hasher.Verify(ctx, pw, creds.PasswordHash)
	if err != nil && !errors.Is(err, auth.ErrBusy) {
		s.log.Error("stored password hash unreadable", "user", creds.User.ID, "err", err)
		return false, false, nil
	}
	return ok, rehash, err
}

// handleSignIn checks a username and password. The attempt is reserved on
// the address's and the account's (or this device's) limiter before the
// password is checked, and counts as a failure unless it succeeds.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	var req signInRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	f := fieldErrors{}
	username := strings.ToLower(strings.TrimSpace(req.Username))
	if username == "" {
		f.add("username", "required")
	}
	if req.Password == "" {
		f.add("password", "required")
	}
	if err := f.err(); err != nil {
		return err
	}
	if len(username) > 128 || len(req.Password) > 4*auth.MaxPasswordLen {
		return errBadCredentials // too long to be anybody's; do not hash it
	}
	now := s.now()
	addrKey, accountKey := "addr:"+clientIP(r), "account:"+username
	if id, ok := s.deviceFor(r, username, now); ok {
		accountKey = "device:" + id // a browser the account used before
	}
	addrID, ok, wait := s.addrLimiter.Reserve(addrKey)
	if !ok {
		return rateLimited(w, wait)
	}
	accountID, ok, wait := s.accountLimiter.Reserve(accountKey)
	if !ok {
		s.addrLimiter.Refund(addrKey, addrID)
		return rateLimited(w, wait)
	}
	refund := func() {
		s.addrLimiter.Refund(addrKey, addrID)
		s.accountLimiter.Refund(accountKey, accountID)
	}

	var c *storage.Credentials
	creds, err := s.sessions.CredentialsByUsername(r.Context(), username)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		refund()
		return fmt.Errorf("sign in: %w", err)
	default:
		c = &creds
	}
	ok, rehash, err := s.verifyPassword(r.Context(), req.Password, c)
	if err != nil { // no password was checked
		refund()
		if errors.Is(err, auth.ErrBusy) {
			return busy(w)
		}
		return fmt.Errorf("sign in: %w", err)
	}
	ok = ok && c.User.Active
	if !ok {
		s.log.Info("sign-in failed", "ip", clientIP(r))
		return errBadCredentials
	}
	s.accountLimiter.Reset(accountKey)
	s.addrLimiter.Refund(addrKey, addrID)
	if rehash {
		ctx, cancel := context.WithTimeout(r.Context(), hashWait)
		h, err := s.hasher.Hash(ctx, req.Password)
		cancel()
		if err == nil {
			err = s.sessions.SetPassword(r.Context(), storage.Actor{UserID: creds.User.ID, IP: clientIP(r)}, creds.User.ID, h, creds.User.MustChangePassword)
		}
		if err != nil {
			s.log.Warn("rehash password", "user", creds.User.ID, "err", err)
		}
	}

	u := creds.User
	tok := auth.RandomToken(32)
	sess := storage.Session{
		TokenHash:  auth.HashToken(tok),
		UserID:     u.ID,
		CSRF:       auth.RandomToken(32),
		CreatedAt:  now,
		ExpiresAt:  now.Add(s.sessionTTL()),
		LastSeenAt: now,
		IP:         clientIP(r),
		UserAgent:  truncate(r.UserAgent(), 256),
	}
	if err := s.sessions.CreateSession(r.Context(), sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if err := s.sessions.RecordActivity(r.Context(), storage.Activity{At: now, ActorID: u.ID, Action: "auth.signin",
		DistrictID: u.DistrictID, SchoolID: u.SchoolID, Subject: "user:" + strconv.FormatInt(int64(u.ID), 10)}); err != nil {
		s.log.Warn("record sign-in", "user", u.ID, "err", err)
	}
	m, err := s.meOf(r.Context(), u, sess.CSRF)
	if err != nil {
		return err
	}
	setSessionCookie(w, tok, s.cookieSecure(r))
	s.rememberDevice(w, r, username, now)
	writeJSON(w, http.StatusOK, m)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	if err := s.sessions.DeleteSession(r.Context(), p.session.TokenHash); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("sign out: %w", err)
	}
	clearSessionCookie(w, s.cookieSecure(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	m, err := s.meOf(r.Context(), p.user, p.session.CSRF)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleChangePassword changes the caller's own password and signs out
// their other sessions. Guesses at the current password are limited per
// session, as sign-ins are per account.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	var req changePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	f := fieldErrors{}
	if req.CurrentPassword == "" {
		f.add("current_password", "required")
	}
	if msg := auth.CheckPassword(req.NewPassword, p.user.Username); msg != "" {
		f.add("new_password", msg)
	} else if req.NewPassword == req.CurrentPassword {
		f.add("new_password", "must differ from the current password")
	}
	if err := f.err(); err != nil {
		return err
	}
	key := "session:" + p.session.TokenHash
	id, ok, wait := s.accountLimiter.Reserve(key)
	if !ok {
		return rateLimited(w, wait)
	}
	creds, err := s.sessions.CredentialsByUsername(r.Context(), p.user.Username)
	if err != nil {
		s.accountLimiter.Refund(key, id)
		return fmt.Errorf("change password: %w", err)
	}
	ok, _, err = s.verifyPassword(r.Context(), req.CurrentPassword, &creds)
	if err != nil {
		s.accountLimiter.Refund(key, id)
		if errors.Is(err, auth.ErrBusy) {
			return busy(w)
		}
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return (fieldErrors{"current_password": "wrong password"}).err()
	}
	s.accountLimiter.Reset(key)
	hash, err := s.hashPassword(w, r, req.NewPassword)
	if err != nil {
		return err
	}
	if err := s.sessions.SetPassword(r.Context(), actor(r), p.user.ID, hash, false); err != nil {
		return err
	}
	if err := s.sessions.DeleteUserSessions(r.Context(), p.user.ID, p.session.TokenHash); err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bootstrap creates the first district and the system administrator on
// an empty database. It returns the banner line about the administrator
// ("" when nothing was created).
func (s *Server) bootstrap(ctx context.Context, st bootstrapStore) (string, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	ds, err := st.ListDistricts(ctx)
	if err != nil {
		return "", fmt.Errorf("list districts: %w", err)
	}
	if len(ds) == 0 {
		if _, err := st.CreateDistrict(ctx, storage.Actor{}, "default", "默认区"); err != nil && !errors.Is(err, storage.ErrDuplicate) {
			return "", fmt.Errorf("create the default district: %w", err)
		}
	}
	name := s.cfg.Auth.AdminUsername
	pw, generated := s.cfg.Auth.AdminPassword, false
	if pw == "" {
		pw, generated = auth.GeneratePassword(20), true
	} else if msg := auth.CheckPassword(pw, name); msg != "" {
		return "", fmt.Errorf("auth.admin_password: %s", msg)
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("hash the administrator's password: %w", err)
	}
	_, err = st.CreateUser(ctx, storage.Actor{}, storage.UserInput{
		Username: name,
		Name:     "系统管理员",
		Roles:    []storage.Role{storage.RoleSystemAdmin},
		Active:   true,
	}, hash, generated)
	if errors.Is(err, storage.ErrDuplicate) {
		return "", nil // another instance on the same database was first
	}
	if err != nil {
		return "", fmt.Errorf("create the system administrator: %w", err)
	}
	s.log.Info("created the system administrator", "username", name, "generated_password", generated)
	if generated {
		return fmt.Sprintf("  Admin:       %s / %s (one-time: change it at first sign-in)\n", name, pw), nil
	}
	return fmt.Sprintf("  Admin:       %s (created with the configured password)\n", name), nil
}
