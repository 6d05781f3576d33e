package account

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
	"yunke/server/httpapi"
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

func (h *Handler) cookieSecure(r *http.Request) bool {
	return h.auth.CookieSecure || r.TLS != nil
}

func (h *Handler) sessionTTL() time.Duration {
	return time.Duration(h.auth.SessionHours) * time.Hour
}

// Authenticate implements httpapi.Authenticator: the request's live
// session, whose expiry it pushes forward (at most once per touchEvery).
func (h *Handler) Authenticate(r *http.Request) (*httpapi.Principal, error) { return h.loadSession(r) }

// SignedOut implements httpapi.Authenticator: a request answered 401
// loses its session cookie.
func (h *Handler) SignedOut(w http.ResponseWriter, r *http.Request) {
	clearSessionCookie(w, h.cookieSecure(r))
}

func setSessionCookie(w http.ResponseWriter, tok string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func clearSessionCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// loadSession finds the request's live session and pushes its expiry
// forward (at most once per touchEvery).
func (h *Handler) loadSession(r *http.Request) (*httpapi.Principal, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, httpapi.ErrUnauthenticated
	}
	hash := auth.HashToken(c.Value)
	now := h.now()
	sess, user, err := h.store.SessionByHash(r.Context(), hash, now)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, httpapi.ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := h.store.TouchSession(r.Context(), hash, now, now.Add(h.sessionTTL())); err != nil {
			h.log.Warn("touch session", "user", user.ID, "err", err)
		} else {
			sess.LastSeenAt, sess.ExpiresAt = now, now.Add(h.sessionTTL())
		}
	}
	return &httpapi.Principal{User: user, Session: sess}, nil
}

// me is the answer of sign-in and GET /me.
type me struct {
	User      storage.User      `json:"user"`
	CSRFToken string            `json:"csrf_token"`
	Home      string            `json:"home"`
	School    *storage.School   `json:"school"`
	District  *storage.District `json:"district"`
}

func (h *Handler) meOf(ctx context.Context, u storage.User, csrf string) (me, error) {
	m := me{User: u, CSRFToken: csrf, Home: authz.Home(u.Roles)}
	if u.SchoolID != 0 {
		sc, err := h.store.GetSchool(ctx, u.SchoolID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return m, err
		}
		if err == nil {
			m.School = &sc
		}
	}
	if u.DistrictID != 0 {
		d, err := h.store.GetDistrict(ctx, u.DistrictID)
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

var errBadCredentials = &httpapi.Error{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "wrong username or password"}

func rateLimited(wait time.Duration) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: wait,
		Message: "too many failed sign-ins: try again in " + strconv.Itoa(httpapi.RetrySeconds(wait)) + " s"}
}

// hashPassword hashes pw for storing, waiting at most hashWait for a slot.
func (h *Handler) hashPassword(ctx context.Context, pw string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	return h.hasher.Hash(ctx, pw)
}

// verifyPassword checks pw against a stored hash (a dummy one when there
// is no such user, for even timing), waiting at most hashWait for a slot.
func (h *Handler) verifyPassword(ctx context.Context, pw string, creds *storage.Credentials) (ok, rehash bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	if creds == nil {
		return false, false, h.hasher.VerifyDummy(ctx, pw)
	}
	ok, rehash, err = h.hasher.Verify(ctx, pw, creds.PasswordHash)
	if err != nil && !errors.Is(err, auth.ErrBusy) {
		h.log.Error("stored password hash unreadable", "user", creds.User.ID, "err", err)
		return false, false, nil
	}
	return ok, rehash, err
}

// handleSignIn checks a username and password. The attempt is reserved on
// the address's and the account's (or this device's) limiter before the
// password is checked, and counts as a failure unless it succeeds.
func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	var req signInRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	f := httpapi.Fields{}
	username := strings.ToLower(strings.TrimSpace(req.Username))
	if username == "" {
		f.Add("username", "required")
	}
	if req.Password == "" {
		f.Add("password", "required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if len(username) > 128 || len(req.Password) > 4*auth.MaxPasswordLen {
		return errBadCredentials // too long to be anybody's; do not hash it
	}
	now := h.now()
	addrKey, accountKey := "addr:"+httpapi.ClientIP(r), "account:"+username
	if id, ok := h.deviceFor(r, username, now); ok {
		accountKey = "device:" + id // a browser the account used before
	}
	addrID, ok, wait := h.addrLimiter.Reserve(addrKey)
	if !ok {
		return rateLimited(wait)
	}
	accountID, ok, wait := h.accountLimiter.Reserve(accountKey)
	if !ok {
		h.addrLimiter.Refund(addrKey, addrID)
		return rateLimited(wait)
	}
	refund := func() {
		h.addrLimiter.Refund(addrKey, addrID)
		h.accountLimiter.Refund(accountKey, accountID)
	}

	var c *storage.Credentials
	creds, err := h.store.CredentialsByUsername(r.Context(), username)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		refund()
		return fmt.Errorf("sign in: %w", err)
	default:
		c = &creds
	}
	ok, rehash, err := h.verifyPassword(r.Context(), req.Password, c)
	if err != nil { // no password was checked
		refund()
		if errors.Is(err, auth.ErrBusy) {
			return httpapi.ErrBusy
		}
		return fmt.Errorf("sign in: %w", err)
	}
	ok = ok && c.User.Active
	if !ok {
		h.log.Info("sign-in failed", "ip", httpapi.ClientIP(r))
		return errBadCredentials
	}
	h.accountLimiter.Reset(accountKey)
	h.addrLimiter.Refund(addrKey, addrID)
	if rehash {
		ctx, cancel := context.WithTimeout(r.Context(), hashWait)
		hash, err := h.hasher.Hash(ctx, req.Password)
		cancel()
		if err == nil {
			err = h.store.SetPassword(r.Context(), storage.Actor{UserID: creds.User.ID, IP: httpapi.ClientIP(r)}, creds.User.ID, hash, creds.User.MustChangePassword)
		}
		if err != nil {
			h.log.Warn("rehash password", "user", creds.User.ID, "err", err)
		}
	}

	u := creds.User
	tok := auth.RandomToken(32)
	sess := storage.Session{
		TokenHash:  auth.HashToken(tok),
		UserID:     u.ID,
		CSRF:       auth.RandomToken(32),
		CreatedAt:  now,
		ExpiresAt:  now.Add(h.sessionTTL()),
		LastSeenAt: now,
		IP:         httpapi.ClientIP(r),
		UserAgent:  truncate(r.UserAgent(), 256),
	}
	if err := h.store.CreateSession(r.Context(), sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if err := h.store.RecordActivity(r.Context(), storage.Activity{At: now, ActorID: u.ID, Action: "auth.signin",
		DistrictID: u.DistrictID, SchoolID: u.SchoolID, Subject: "user:" + strconv.FormatInt(int64(u.ID), 10)}); err != nil {
		h.log.Warn("record sign-in", "user", u.ID, "err", err)
	}
	m, err := h.meOf(r.Context(), u, sess.CSRF)
	if err != nil {
		return err
	}
	setSessionCookie(w, tok, h.cookieSecure(r))
	h.rememberDevice(w, r, username, now)
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	if err := h.store.DeleteSession(r.Context(), p.Session.TokenHash); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("sign out: %w", err)
	}
	clearSessionCookie(w, h.cookieSecure(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) handleMe(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	m, err := h.meOf(r.Context(), p.User, p.Session.CSRF)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleChangePassword changes the caller's own password and signs out
// their other sessions. Guesses at the current password are limited per
// session, as sign-ins are per account.
func (h *Handler) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	var req changePasswordRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	f := httpapi.Fields{}
	if req.CurrentPassword == "" {
		f.Add("current_password", "required")
	}
	if msg := auth.CheckPassword(req.NewPassword, p.User.Username); msg != "" {
		f.Add("new_password", msg)
	} else if req.NewPassword == req.CurrentPassword {
		f.Add("new_password", "must differ from the current password")
	}
	if err := f.Err(); err != nil {
		return err
	}
	key := "session:" + p.Session.TokenHash
	id, ok, wait := h.accountLimiter.Reserve(key)
	if !ok {
		return rateLimited(wait)
	}
	creds, err := h.store.CredentialsByUsername(r.Context(), p.User.Username)
	if err != nil {
		h.accountLimiter.Refund(key, id)
		return fmt.Errorf("change password: %w", err)
	}
	ok, _, err = h.verifyPassword(r.Context(), req.CurrentPassword, &creds)
	if err != nil {
		h.accountLimiter.Refund(key, id)
		if errors.Is(err, auth.ErrBusy) {
			return httpapi.ErrBusy
		}
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return (httpapi.Fields{"current_password": "wrong password"}).Err()
	}
	h.accountLimiter.Reset(key)
	hash, err := h.hashPassword(r.Context(), req.NewPassword)
	if err != nil {
		return err
	}
	if err := h.store.SetPassword(r.Context(), httpapi.Actor(r), p.User.ID, hash, false); err != nil {
		return err
	}
	if err := h.store.DeleteUserSessions(r.Context(), p.User.ID, p.Session.TokenHash); err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
