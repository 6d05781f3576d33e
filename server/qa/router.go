package qa

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/storage"
)

// EventQuestion is the event a teacher's socket receives for a new question.
const EventQuestion = "qa.question"

// RouterParams configure a Router. Zero values take the defaults.
type RouterParams struct {
	// Presence is tutoring's matcher (in process, or on Redis): who is online, and who was told last.
	Presence matching.Notifier
	Bus      events.Bus
	// Question re-reads a question before widening (nil: widening stops after the first batch).
	Question func(ctx context.Context, id storage.QuestionID) (storage.Question, error)
	// SchoolRounds is how many first batches go only to teachers of the
	// question's school (default 2); later ones reach the whole district.
	// A school round that finds nobody online widens at once.
	SchoolRounds int
	Logger       *slog.Logger
	Now          func() time.Time
	// AfterFunc schedules the widening (default time.AfterFunc).
	AfterFunc func(d time.Duration, f func()) func() bool
	// Batch is how many teachers are told at a time (default 5).
	Batch int
	// Widen is how long a batch has to claim the question before the next is told (default 60 s).
	Widen time.Duration
	// Rounds bounds the batches of one question (default 4).
	Rounds int
}

// Router offers new questions to online teachers of their subject and
// grade band over the event socket: the least recently notified first, a
// batch at a time — of the question's school first, then of its district —,
// then — while nobody claims or answers it — the next
// batch after a delay, up to a bounded number of rounds. The node that took
// the question drives its widening; which teachers each batch reaches is
// decided atomically by the shared presence, so nodes never tell a teacher
// twice for one moment.
type Router struct {
	p  RouterParams
	mu sync.Mutex
	// pending widenings by question, so Close can stop them.
	pending map[storage.QuestionID]func() bool
	closed  bool
}

// NewRouter builds a Router.
func NewRouter(p RouterParams) *Router {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.Logger = p.Logger.With("component", "qa-router")
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.AfterFunc == nil {
		p.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if p.Batch <= 0 {
		p.Batch = 5
	}
	if p.Widen <= 0 {
		p.Widen = time.Minute
	}
	if p.Rounds <= 0 {
		p.Rounds = 4
	}
	if p.SchoolRounds <= 0 {
		p.SchoolRounds = 2
	}
	return &Router{p: p, pending: map[storage.QuestionID]func() bool{}}
}

var _ Notifier = (*Router)(nil)

// QuestionAsked implements Notifier: it tells the first batch.
func (r *Router) QuestionAsked(ctx context.Context, q storage.Question) {
	r.round(context.WithoutCancel(ctx), q, nil, 1)
}

// Close stops pending widenings.
func (r *Router) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, stop := range r.pending {
		stop()
		delete(r.pending, id)
	}
}

func (r *Router) round(ctx context.Context, q storage.Question, told []matching.TeacherID, n int) {
	band, ok := matching.BandOf(q.Grade)
	if !ok {
		return
	}
	key := matching.Key{Subject: q.SubjectCode, Band: band}
	text := []rune(q.Text)
	if len(text) > 200 {
		text = text[:200]
	}
	ev := events.Event{Type: EventQuestion, Data: map[string]any{"question_id": q.ID, "subject_id": q.SubjectID,
		"subject_code": q.SubjectCode, "grade": q.Grade, "text": string(text), "image_count": q.ImageCount, "round": n}}
	// Presence spans the installation; teachers heartbeat with their
	// district and school as scopes, and only those of the question's
	// school (first rounds) or district (later) are picked.
	skip := append(slices.Clone(told), matching.TeacherID(strconv.FormatInt(int64(q.AuthorID), 10)))
	scopes := []string{""}
	if q.DistrictID != 0 {
		scopes = []string{matching.DistrictScope(int64(q.DistrictID))}
		if q.SchoolID != 0 && n <= r.p.SchoolRounds {
			scopes = []string{matching.SchoolScope(int64(q.SchoolID)), scopes[0]}
		}
	}
	var picked []matching.TeacherID
	for _, scope := range scopes {
		var err error
		picked, err = r.p.Presence.NotifyTeachers(ctx, key, q.Grade, scope, r.p.Batch, skip, r.p.Now())
		if err != nil {
			r.p.Logger.Warn("picking teachers", "question", q.ID, "err", err)
		}
		if len(picked) > 0 {
			break
		}
	}
	skip = append(skip, picked...)
	for _, id := range picked {
		uid, err := strconv.ParseInt(string(id), 10, 64)
		if err != nil {
			continue
		}
		if err := r.p.Bus.Publish(ctx, events.UserID(uid), ev); err != nil {
			r.p.Logger.Warn("telling a teacher", "question", q.ID, "teacher", uid, "err", err)
		}
	}
	told = skip // those told, and the asker
	r.p.Logger.Debug("question offered", "question", q.ID, "round", n, "teachers", len(picked))
	if n >= r.p.Rounds || r.p.Question == nil {
		return
	}
	r.schedule(ctx, q.ID, told, n, r.p.Widen)
}

// schedule re-reads the question after delay: still open and unclaimed, the
// next batch is told; held by a live claim, it looks again when the claim
// lapses (a claim that lapses unanswered sends the question onward).
func (r *Router) schedule(ctx context.Context, id storage.QuestionID, told []matching.TeacherID, n int, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.pending[id] = r.p.AfterFunc(delay, func() {
		r.mu.Lock()
		delete(r.pending, id)
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return
		}
		cur, err := r.p.Question(ctx, id)
		if err != nil {
			r.p.Logger.Warn("re-reading a question", "question", id, "err", err)
			return
		}
		if cur.Status != storage.QuestionOpen {
			return
		}
		if now := r.p.Now(); cur.ClaimedBy != 0 && cur.ClaimExpiresAt.After(now) {
			r.schedule(ctx, id, told, n, cur.ClaimExpiresAt.Sub(now))
			return
		}
		r.round(ctx, cur, told, n+1)
	})
}

// Horizon is how long after asking a question may still be routed: Rounds × Widen.
func (r *Router) Horizon() time.Duration { return time.Duration(r.p.Rounds) * r.p.Widen }

// Resume routes again the open questions a restarted node finds (asked
// within Horizon): their widening timers ended with the old process. Each
// starts over with a first batch, least recently notified first.
func (r *Router) Resume(ctx context.Context, qs []storage.Question) {
	for _, q := range qs {
		r.round(context.WithoutCancel(ctx), q, nil, 1)
	}
}
