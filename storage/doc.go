// Package storage is where Yunke keeps what must survive a restart:
// districts, schools and users, sessions, recordings, ratings and the
// activity log that statistics are computed from — on an embedded SQLite
// file for a first run and on Postgres in production, behind one interface.
//
// The live-class media path holds no durable state, so nothing is stored
// yet: this package is empty until accounts and sessions are recorded.
package storage
