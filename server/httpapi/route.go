package httpapi

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"yunke/server/authz"
)

// Prefix is where every API route lives.
const Prefix = "/api/v1"

// MaxQuery bounds the query string of every API request.
const MaxQuery = 4 << 10

// HandlerFunc is an API handler: it writes its answer, or returns the
// error to answer with.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one API endpoint. A domain's table of routes both registers its
// handlers and is what tests and the OpenAPI check enumerate.
type Route struct {
	Method string
	// Path is below Prefix, e.g. "/schools/{id}".
	Path string
	// Public routes need no session.
	Public bool
	// Actions: the caller needs at least one of them; checked before the
	// handler runs. Empty on a non-public route: any signed-in user.
	Actions []authz.Action
	// DuringPasswordChange routes stay open while the user must change
	// their password.
	DuringPasswordChange bool
	Handle               HandlerFunc
}

// Pattern is the route's http.ServeMux pattern.
func (rt Route) Pattern() string { return rt.Method + " " + Prefix + rt.Path }

// Authenticator finds the signed-in user of a request.
type Authenticator interface {
	// Authenticate returns the request's principal, or ErrUnauthenticated.
	Authenticate(r *http.Request) (*Principal, error)
	// SignedOut is told of a request answered 401, to clear its cookie.
	SignedOut(w http.ResponseWriter, r *http.Request)
}

// Gate puts the checks every route shares in front of its handler.
type Gate struct {
	Auth Authenticator
	Log  *slog.Logger
}

// Mount registers routes on mux, each behind the gate, and answers every
// other path under Prefix with a JSON 404.
func (g *Gate) Mount(mux *http.ServeMux, routes []Route) {
	for _, rt := range routes {
		mux.Handle(rt.Pattern(), g.Handler(rt))
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such API: " + r.Method + " " + r.URL.Path})
	})
}

// Handler is rt's handler behind the gate: same-origin writes, the
// session, CSRF, the pending password change and the route's actions.
func (g *Gate) Handler(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, err := g.check(r, rt)
		if err == nil {
			err = rt.Handle(w, r)
		}
		if err != nil {
			g.Fail(w, r, err)
		}
	})
}

// Fail writes err as an API error; unexpected errors are logged (the
// message of a store error never carries a secret).
func (g *Gate) Fail(w http.ResponseWriter, r *http.Request, err error) {
	e, unexpected := ToError(err)
	if unexpected {
		g.Log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == http.StatusUnauthorized && g.Auth != nil {
		g.Auth.SignedOut(w, r)
	}
	WriteError(w, e)
}

// check returns the request carrying its signed-in user, or why it may not proceed.
func (g *Gate) check(r *http.Request, rt Route) (*http.Request, error) {
	if len(r.URL.RawQuery) > MaxQuery {
		return r, ErrLongQuery
	}
	unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
	if unsafe && !sameOrigin(r) {
		return r, ErrCSRF
	}
	if rt.Public {
		return r, nil
	}
	p, err := g.Auth.Authenticate(r)
	if err != nil {
		return r, err
	}
	if unsafe && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(p.Session.CSRF)) != 1 {
		return r, ErrCSRF
	}
	if p.User.MustChangePassword && !rt.DuringPasswordChange {
		return r, ErrMustChange
	}
	r = r.WithContext(WithPrincipal(r.Context(), p))
	if len(rt.Actions) == 0 {
		return r, nil
	}
	for _, a := range rt.Actions {
		if _, err := Authorize(r, a); err == nil {
			return r, nil
		}
	}
	return r, ErrForbidden
}

// sameOrigin rejects a write whose Origin header names another site than
// the one the request is addressed to. No Origin (a non-browser client, an
// old browser on a same-origin request) passes; the CSRF token still guards.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
