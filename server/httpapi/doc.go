// Package httpapi is the plumbing every domain's JSON API under /api/v1
// shares: the Route type and the gate in front of every handler (session,
// CSRF, a pending password change, the route's actions), the signed-in
// Principal and Authorize, JSON decoding and encoding, request parameters
// and field checks, and the one function that turns any error into an HTTP
// status and the {"error": {...}} body.
//
// A domain package (server/directory, server/tutoring, …) exports its
// routes as []Route; its own errors say their status and code through the
// Coded interface, so the mapping knows no domain.
package httpapi
