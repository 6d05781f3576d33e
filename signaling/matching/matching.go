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
// requests (with their original enqueue time) and re-records running
// sessions from durable storage after a restart, before any match runs
// (Fresh, then Ready). Enqueue, Occupy and Finish are idempotent for that
// reason, and a teacher's load is derived from the sessions and offers the
// matcher holds rather than counted, so no lost or repeated event can make
// a busy teacher look free.
package matching

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	// Scopes tag where the teacher works (a district, a school); a
	// NotifyTeachers call may require one. Tutoring matching ignores them.
	Scopes []string
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

// Claim names one caller's claim to restore a fresh matcher.
type Claim string

// newClaim is a claim no other caller holds.
func newClaim() Claim {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return Claim("restoring:" + hex.EncodeToString(b[:]))
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
	// RestoreLease is how long a restore claimed by Fresh may take before
	// another caller may claim it (default 30 s).
	RestoreLease time.Duration
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
	if c.RestoreLease <= 0 {
		c.RestoreLease = 30 * time.Second
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
	// Accept turns a live offer into a running session of the teacher,
	// named by its request: it takes one of the teacher's places until
	// Finish (or Sync) removes it.
	Accept(ctx context.Context, id RequestID, t TeacherID, now time.Time) (Offer, error)
	// Decline returns the request to its queue at its original place; that
	// teacher is not offered it again.
	Decline(ctx context.Context, id RequestID, t TeacherID) (Offer, error)
	// Expire returns every offer that lapsed by now to its queue.
	Expire(ctx context.Context, now time.Time) ([]Offer, error)
	// Finish frees the place the teacher's session of request id took, at
	// now. It is idempotent: finishing a session twice, or one the matcher
	// never knew, changes nothing, so a stale timer or a second node ending
	// the same session cannot free a place another session holds. The
	// matcher remembers the finish for a while, so that a Sync with a
	// record read before it does not bring the session back.
	Finish(ctx context.Context, t TeacherID, id RequestID, now time.Time) error
	// Position is a waiting request's 1-based place in its queue and the
	// queue's length; an offered request is at place 0.
	Position(ctx context.Context, id RequestID) (pos, length int, err error)
	// Waiting counts the waiting requests of a queue.
	Waiting(ctx context.Context, k Key) (int, error)
	// Occupy records running sessions of a teacher, each named by its
	// request, as of now. It is idempotent: a session already known keeps
	// its place once.
	Occupy(ctx context.Context, t TeacherID, ids []RequestID, now time.Time) error
	// Sync makes the running sessions the matcher holds agree with the
	// durable record read at asOf: a session recorded in the matcher before
	// asOf and absent from running is removed (it ended, and its Finish was
	// lost), and every session of running is added unless it was finished
	// at or after asOf (the record was read before it ended). Sessions
	// recorded at or after asOf are kept, since the record read may not
	// show them yet.
	// A teacher's load is always their open offers plus these sessions; it
	// is never counted up and down around events.
	Sync(ctx context.Context, running map[TeacherID][]RequestID, asOf time.Time) error
	// Fresh reports, to one caller only, that the matcher's state is new —
	// first use, or Redis restarted empty — and claims its restore: until
	// that caller calls Ready with the claim, Next matches nothing, so no
	// teacher whose running sessions are not yet restored looks free. A
	// claim not made ready within Config.RestoreLease lapses, and the next
	// call of Fresh claims the restore again.
	Fresh(ctx context.Context) (c Claim, fresh bool, err error)
	// Ready ends the restore claimed by c: matching starts. It does nothing
	// if c lapsed or the state was lost meanwhile (the next Fresh then
	// claims a new restore).
	Ready(ctx context.Context, c Claim) error
}

// finishedMemory is how long a matcher remembers a finished session
// (longer than any record read is old when its Sync is applied).
const finishedMemory = 10 * time.Minute

// ms converts to the millisecond timestamps both implementations order by.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }
