package matching

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

var _ Matcher = (*Memory)(nil)

// Memory is the single-node matcher: all state behind one mutex.
type Memory struct {
	cfg Config

	mu       sync.Mutex
	requests map[RequestID]*memRequest
	queues   map[Key][]*memRequest // waiting, ordered by (score, id)
	teachers map[TeacherID]*memTeacher
	// restore: restoreNone (never claimed), restoreClaimed until
	// claimExpires, restoreReady.
	restore      int
	claim        Claim
	claimExpires time.Time
	notified     map[TeacherID]int64 // last Q&A notification of each teacher, ms
}

const (
	restoreNone = iota
	restoreClaimed
	restoreReady
)

type memRequest struct {
	Request
	score    int64 // EnqueuedAt in ms
	offered  bool
	teacher  TeacherID
	expires  int64
	declined map[TeacherID]bool
}

type memTeacher struct {
	id        TeacherID
	keys      []Key
	grades    []int // empty: every grade of its bands
	scopes    []string
	capacity  int
	available bool
	heartbeat int64
	last      int64 // last assignment, ms; 0 = never
	lapses    int
	offers    map[RequestID]bool
	running   map[RequestID]int64 // sessions, by request, with when they were recorded (ms)
	finished  map[RequestID]int64 // sessions finished lately, with when (ms)
}

func newMemTeacher(id TeacherID) *memTeacher {
	return &memTeacher{id: id, capacity: 1, offers: map[RequestID]bool{}, running: map[RequestID]int64{}, finished: map[RequestID]int64{}}
}

// load is the places taken: open offers and running sessions.
func (t *memTeacher) load() int { return len(t.offers) + len(t.running) }

// NewMemory returns an empty in-process matcher.
func NewMemory(cfg Config) *Memory {
	return &Memory{
		cfg:      cfg.withDefaults(),
		requests: map[RequestID]*memRequest{},
		queues:   map[Key][]*memRequest{},
		teachers: map[TeacherID]*memTeacher{},
	}
}

func less(a, b *memRequest) int {
	if c := cmp.Compare(a.score, b.score); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func (m *Memory) pushLocked(r *memRequest) {
	q := m.queues[r.Key]
	i, _ := slices.BinarySearchFunc(q, r, less)
	m.queues[r.Key] = slices.Insert(q, i, r)
}

func (m *Memory) removeLocked(r *memRequest) {
	q := m.queues[r.Key]
	if i, found := slices.BinarySearchFunc(q, r, less); found {
		m.queues[r.Key] = slices.Delete(q, i, i+1)
	}
}

func (r *memRequest) offer() Offer {
	return Offer{Request: r.ID, Student: r.Student, Teacher: r.teacher, Key: r.Key,
		EnqueuedAt: fromMS(r.score), ExpiresAt: fromMS(r.expires)}
}

// Heartbeat implements Matcher.
func (m *Memory) Heartbeat(_ context.Context, t Teacher, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.teachers[t.ID]
	if mt == nil {
		mt = newMemTeacher(t.ID)
		m.teachers[t.ID] = mt
	}
	mt.keys = slices.Clone(t.Keys)
	mt.grades = slices.Clone(t.Grades)
	mt.scopes = slices.Clone(t.Scopes)
	mt.capacity = max(t.Capacity, 1)
	mt.available = t.Available
	mt.heartbeat = ms(now)
	return nil
}

// Offline implements Matcher.
func (m *Memory) Offline(_ context.Context, id TeacherID) ([]Offer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.teachers[id]
	if mt == nil {
		return nil, nil
	}
	mt.available = false
	mt.heartbeat = 0
	var revoked []Offer
	for rid := range mt.offers {
		r := m.requests[rid]
		revoked = append(revoked, r.offer())
		m.requeueLocked(r, mt, false)
	}
	slices.SortFunc(revoked, func(a, b Offer) int { return cmp.Compare(a.Request, b.Request) })
	return revoked, nil
}

// requeueLocked takes an offer back: the request waits again at its place,
// never to be offered to that teacher again.
func (m *Memory) requeueLocked(r *memRequest, mt *memTeacher, declined bool) {
	delete(mt.offers, r.ID)
	r.offered, r.teacher, r.expires = false, "", 0
	if declined {
		r.declined[mt.id] = true
	}
	m.pushLocked(r)
}

// Enqueue implements Matcher.
func (m *Memory) Enqueue(_ context.Context, r Request) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.requests[r.ID]; ok {
		return nil
	}
	mr := &memRequest{Request: r, score: ms(r.EnqueuedAt), declined: map[TeacherID]bool{}}
	m.requests[r.ID] = mr
	m.pushLocked(mr)
	return nil
}

// Cancel implements Matcher.
func (m *Memory) Cancel(_ context.Context, id RequestID) (*Offer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests[id]
	if r == nil {
		return nil, ErrNotFound
	}
	delete(m.requests, id)
	if !r.offered {
		m.removeLocked(r)
		return nil, nil
	}
	o := r.offer()
	if mt := m.teachers[r.teacher]; mt != nil {
		delete(mt.offers, id)
	}
	return &o, nil
}

func (m *Memory) eligibleLocked(k Key, now int64) []*memTeacher {
	var out []*memTeacher
	for _, t := range m.teachers {
		if !t.available || now-t.heartbeat > m.cfg.PresenceTTL.Milliseconds() || t.load() >= t.capacity || !slices.Contains(t.keys, k) {
			continue
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *memTeacher) int {
		if c := cmp.Compare(a.last, b.last); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return out
}

// Next implements Matcher.
func (m *Memory) Next(_ context.Context, k Key, now time.Time) (Offer, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.restore != restoreReady {
		return Offer{}, false, nil // running sessions are not restored yet
	}
	nowMS := ms(now)
	teachers := m.eligibleLocked(k, nowMS)
	if len(teachers) == 0 {
		return Offer{}, false, nil
	}
	q := m.queues[k]
	for i := 0; i < len(q) && i < m.cfg.ScanDepth; i++ {
		r := q[i]
		for _, t := range teachers {
			if r.declined[t.id] || TeacherID(r.Student) == t.id || (len(t.grades) > 0 && !slices.Contains(t.grades, r.Grade)) {
				continue
			}
			m.removeLocked(r)
			r.offered, r.teacher, r.expires = true, t.id, nowMS+m.cfg.OfferTTL.Milliseconds()
			t.last = nowMS
			t.offers[r.ID] = true
			return r.offer(), true, nil
		}
	}
	return Offer{}, false, nil
}

// Accept implements Matcher.
func (m *Memory) Accept(_ context.Context, id RequestID, t TeacherID, now time.Time) (Offer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests[id]
	if r == nil || !r.offered || r.teacher != t || r.expires <= ms(now) {
		return Offer{}, ErrNoOffer
	}
	o := r.offer()
	delete(m.requests, id)
	mt := m.teachers[t]
	if mt == nil {
		mt = newMemTeacher(t)
		m.teachers[t] = mt
	}
	delete(mt.offers, id)
	mt.running[id] = ms(now)
	mt.lapses = 0
	return o, nil
}

// Decline implements Matcher.
func (m *Memory) Decline(_ context.Context, id RequestID, t TeacherID) (Offer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests[id]
	mt := m.teachers[t]
	if r == nil || !r.offered || r.teacher != t || mt == nil {
		return Offer{}, ErrNoOffer
	}
	o := r.offer()
	mt.lapses = 0
	m.requeueLocked(r, mt, true)
	return o, nil
}

// Expire implements Matcher.
func (m *Memory) Expire(_ context.Context, now time.Time) ([]Offer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	nowMS := ms(now)
	var lapsed []*memRequest
	for _, r := range m.requests {
		if r.offered && r.expires <= nowMS {
			lapsed = append(lapsed, r)
		}
	}
	slices.SortFunc(lapsed, func(a, b *memRequest) int {
		if c := cmp.Compare(a.expires, b.expires); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]Offer, 0, len(lapsed))
	for _, r := range lapsed {
		o := r.offer()
		mt := m.teachers[r.teacher]
		mt.lapses++
		if mt.lapses >= m.cfg.MaxLapses {
			mt.available = false
			mt.lapses = 0
			o.Disabled = true
		}
		m.requeueLocked(r, mt, true)
		out = append(out, o)
	}
	return out, nil
}

// Finish implements Matcher.
func (m *Memory) Finish(_ context.Context, t TeacherID, id RequestID, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.teachers[t]
	if mt == nil {
		mt = newMemTeacher(t)
		m.teachers[t] = mt
	}
	delete(mt.running, id)
	mt.finished[id] = max(mt.finished[id], ms(now))
	return nil
}

// Position implements Matcher.
func (m *Memory) Position(_ context.Context, id RequestID) (int, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests[id]
	if r == nil {
		return 0, 0, ErrNotFound
	}
	q := m.queues[r.Key]
	if r.offered {
		return 0, len(q), nil
	}
	i, _ := slices.BinarySearchFunc(q, r, less)
	return i + 1, len(q), nil
}

// Waiting implements Matcher.
func (m *Memory) Waiting(_ context.Context, k Key) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queues[k]), nil
}

// Occupy implements Matcher.
func (m *Memory) Occupy(_ context.Context, t TeacherID, ids []RequestID, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	mt := m.teachers[t]
	if mt == nil {
		mt = newMemTeacher(t)
		m.teachers[t] = mt
	}
	for _, id := range ids {
		if _, ok := mt.running[id]; !ok {
			mt.running[id] = ms(now)
		}
	}
	return nil
}

// Sync implements Matcher.
func (m *Memory) Sync(_ context.Context, running map[TeacherID][]RequestID, asOf time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	asOfMS := ms(asOf)
	for _, mt := range m.teachers {
		live := running[mt.id]
		for id, recorded := range mt.running {
			if recorded < asOfMS && !slices.Contains(live, id) {
				delete(mt.running, id)
			}
		}
		for id, at := range mt.finished {
			if at < asOfMS-finishedMemory.Milliseconds() {
				delete(mt.finished, id)
			}
		}
	}
	for t, ids := range running {
		mt := m.teachers[t]
		if mt == nil {
			mt = newMemTeacher(t)
			m.teachers[t] = mt
		}
		for _, id := range ids {
			if _, ok := mt.running[id]; !ok && mt.finished[id] < asOfMS {
				mt.running[id] = asOfMS
			}
		}
	}
	return nil
}

// Fresh implements Matcher: true on the first call, and again when a
// claimed restore was not finished within the lease.
func (m *Memory) Fresh(context.Context) (Claim, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.restore == restoreReady || (m.restore == restoreClaimed && now.Before(m.claimExpires)) {
		return "", false, nil
	}
	m.restore, m.claim, m.claimExpires = restoreClaimed, newClaim(), now.Add(m.cfg.RestoreLease)
	return m.claim, true, nil
}

// Ready implements Matcher.
func (m *Memory) Ready(_ context.Context, c Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.restore == restoreClaimed && c == m.claim && time.Now().Before(m.claimExpires) {
		m.restore = restoreReady
	}
	return nil
}
