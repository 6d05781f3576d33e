// Package matching pairs students who ask for one-to-one help with
// available teachers of the subject, fairly: per queue (a subject and a
// grade band), the student who has waited longest goes first, and the
// teacher who was least recently given a student gets the offer.
//
// Two implementations behave the same way and pass one contract suite:
// Memory, for a single node, and Redis, shared by several nodes, where
// every state change is one Lua script so that no interleaving of nodes can
// give one teacher two students or one student two teachers.
//
// The matcher holds only what can be rebuilt: teachers re-announce
// themselves with every heartbeat, and the caller re-enqueues waiting
// requests (with their original enqueue time) from durable storage after a
// restart. Enqueue is idempotent for that reason.
package matching

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Typed identifiers; the caller chooses their form (e.g. "u42", "r17").
type (
	TeacherID string
	StudentID string
	RequestID string
)

// Band is a grade band: primary (grades 1–6), junior (7–9), senior (10–12).
type Band string

const (
	BandPrimary Band = "p"
	BandJunior  Band = "j"
	BandSenior  Band = "s"
)

// BandOf maps a grade (1–12) to its band; ok is false outside 1–12.
func BandOf(grade int) (b Band, ok bool) {
	switch {
	case grade >= 1 && grade <= 6:
		return BandPrimary, true
	case grade >= 7 && grade <= 9:
		return BandJunior, true
	case grade >= 10 && grade <= 12:
		return BandSenior, true
	}
	return "", false
}

// Key names one queue: a subject code and a grade band.
type Key struct {
	Subject string
	Band    Band
}

func (k Key) String() string { return k.Subject + "/" + string(k.Band) }

// ParseKey is the inverse of Key.String.
func ParseKey(s string) (Key, error) {
	sub, band, ok := strings.Cut(s, "/")
	if !ok || sub == "" || (Band(band) != BandPrimary && Band(band) != BandJunior && Band(band) != BandSenior) {
		return Key{}, fmt.Errorf("matching: bad queue key %q", s)
	}
	return Key{Subject: sub, Band: Band(band)}, nil
}

// Request is a student's ask for help, waiting in one queue.
type Request struct {
	ID      RequestID
	Student StudentID
	Key     Key
	// Grade is the student's grade (1–12); a teacher who named grades
	// is offered only requests of those grades.
	Grade int
	// EnqueuedAt orders the queue. A request that is declined or lapses
	// goes back at this same place.
	EnqueuedAt time.Time
}

// Teacher is what a teacher's heartbeat announces.
type Teacher struct {
	ID TeacherID
	// Keys are the queues the teacher serves (subjects × grade bands).
	Keys []Key
	// Grades, when set, narrows the bands to these grades: a teacher of
	// grade 7 only is not offered a grade-9 request of the same queue.
	Grades []int
	// Capacity is how many students the teacher takes at once (default 1).
	Capacity int
	// Available is false when the teacher is online but not taking students.
	Available bool
}

// Offer is a request offered to one teacher until ExpiresAt.
type Offer struct {
	Request    RequestID
	Student    StudentID
	Teacher    TeacherID
	Key        Key
	EnqueuedAt time.Time
	ExpiresAt  time.Time
	// Disabled is set on a lapsed offer when the lapse made the teacher
	// unavailable (too many offers in a row left unanswered).
	Disabled bool
}

// Sentinel errors.
var (
	// ErrNotFound: no such request (never enqueued, cancelled, or accepted).
	ErrNotFound = errors.New("matching: no such request")
	// ErrNoOffer: the request is not (or no longer) offered to that teacher.
	ErrNoOffer = errors.New("matching: no such offer")
)

// Config tunes a matcher. Zero fields take the defaults.
type Config struct {
	// PresenceTTL is how long a heartbeat keeps a teacher eligible (default 15 s).
	PresenceTTL time.Duration
	// OfferTTL is how long a teacher has to accept (default 20 s).
	OfferTTL time.Duration
	// MaxLapses is how many offers in a row a teacher may let lapse before
	// being made unavailable (default 2).
	MaxLapses int
	// ScanDepth bounds how many waiting requests one match attempt looks at
	// when the oldest ones have been declined by every free teacher (default 64).
	ScanDepth int
}

func (c Config) withDefaults() Config {
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = 15 * time.Second
	}
	if c.OfferTTL <= 0 {
		c.OfferTTL = 20 * time.Second
	}
	if c.MaxLapses <= 0 {
		c.MaxLapses = 2
	}
	if c.ScanDepth <= 0 {
		c.ScanDepth = 64
	}
	return c
}

// Matcher is the behaviour both implementations share.
type Matcher interface {
	// Heartbeat announces a teacher as online with these settings at now.
	// Load, lapses and the last assignment time survive heartbeats.
	Heartbeat(ctx context.Context, t Teacher, now time.Time) error
	// Offline takes a teacher out of matching at once; offers still open
	// to them go back to their queues (not counted as lapses) and are returned.
	Offline(ctx context.Context, id TeacherID) ([]Offer, error)
	// Enqueue adds a waiting request. Enqueueing a request that is already
	// waiting or offered changes nothing.
	Enqueue(ctx context.Context, r Request) error
	// Cancel withdraws a request; if it was offered, the revoked offer is returned.
	Cancel(ctx context.Context, id RequestID) (*Offer, error)
	// Next makes at most one match in queue k: the oldest waiting request
	// that some eligible teacher (available, heard from, with a free place,
	// teaching the request's grade) has not declined, with the least
	// recently assigned such teacher. ok is false when nothing can be matched.
	Next(ctx context.Context, k Key, now time.Time) (o Offer, ok bool, err error)
	// Accept turns a live offer into a session; the teacher's place stays
	// taken until Finish.
	Accept(ctx context.Context, id RequestID, t TeacherID, now time.Time) (Offer, error)
	// Decline returns the request to its queue at its original place; that
	// teacher is not offered it again.
	Decline(ctx context.Context, id RequestID, t TeacherID) (Offer, error)
	// Expire returns every offer that lapsed by now to its queue.
	Expire(ctx context.Context, now time.Time) ([]Offer, error)
	// Finish frees the place a session took.
	Finish(ctx context.Context, t TeacherID) error
	// Position is a waiting request's 1-based place in its queue and the
	// queue's length; an offered request is at place 0.
	Position(ctx context.Context, id RequestID) (pos, length int, err error)
	// Waiting counts the waiting requests of a queue.
	Waiting(ctx context.Context, k Key) (int, error)
	// Occupy tells the matcher that a teacher has n sessions running
	// (restored from durable storage after the matcher lost its state): the
	// teacher's load becomes at least n plus their open offers. It is
	// idempotent, so a session accepted while restoring is not counted twice.
	Occupy(ctx context.Context, t TeacherID, n int) error
	// Fresh reports, to one caller only, that the matcher's state is new —
	// first use, or Redis restarted empty — so that the caller restores
	// waiting requests and running sessions from durable storage.
	Fresh(ctx context.Context) (bool, error)
}

// ms converts to the millisecond timestamps both implementations order by.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }
