package httpapi

import (
	"context"
	"net"
	"net/http"

	"yunke/server/authz"
	"yunke/storage"
)

// Principal is the signed-in user of a request, and their session.
type Principal struct {
	User    storage.User
	Session storage.Session
}

type principalKey struct{}

// WithPrincipal is ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is the principal ctx carries, or nil when signed out.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Target is something an action is taken on: a place or an account.
type Target interface {
	permits(u *storage.User, a authz.Action) bool
}

// Place is a district and (optionally) one of its schools. The zero Place
// is permitted only to a scope that covers everything.
type Place struct {
	District storage.DistrictID
	School   storage.SchoolID
}

func (p Place) permits(u *storage.User, a authz.Action) bool {
	return authz.ScopeOf(u, a).Covers(p.District, p.School)
}

// SchoolPlace is where a school is.
func SchoolPlace(sc storage.School) Place { return Place{sc.DistrictID, sc.ID} }

// Account is a user account as it is or will be.
type Account authz.Subject

func (t Account) permits(u *storage.User, a authz.Action) bool {
	switch a {
	case authz.UserCreate, authz.UserUpdate, authz.UserResetPassword:
		return authz.CanManageUser(u, a, authz.Subject(t))
	}
	return Place{t.District, t.School}.permits(u, a)
}

// AccountOf is u as a target.
func AccountOf(u storage.User) Account {
	return Account{District: u.DistrictID, School: u.SchoolID, Roles: u.Roles}
}

// Authorize is the one gate of the API: the signed-in user may take action
// a, and at every target given (none: somewhere). It returns the principal,
// or ErrUnauthenticated or ErrForbidden.
func Authorize(r *http.Request, a authz.Action, targets ...Target) (*Principal, error) {
	p := PrincipalFrom(r.Context())
	if p == nil {
		return nil, ErrUnauthenticated
	}
	if authz.ScopeOf(&p.User, a).Empty() {
		return nil, ErrForbidden
	}
	for _, t := range targets {
		if !t.permits(&p.User, a) {
			return nil, ErrForbidden
		}
	}
	return p, nil
}

// Actor is who the store records as making a change.
func Actor(r *http.Request) storage.Actor {
	a := storage.Actor{IP: ClientIP(r)}
	if p := PrincipalFrom(r.Context()); p != nil {
		a.UserID = p.User.ID
	}
	return a
}

// ClientIP is the address the request came from (the composition root
// puts the real client's there when it comes through a trusted proxy).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
