// Package jobs runs Yunke's durable background work — finalizing and
// uploading recordings, rendering composites, repairing files after a
// crash, sweeping stale uploads — on River (github.com/riverqueue/river),
// in the same database as the rest of Yunke: Postgres, or the SQLite file.
//
// A job is a row: it survives a restart, is retried with exponential
// backoff when its worker fails, and is listed to administrators
// (GET /api/v1/jobs). A domain declares its job's arguments as a type with
// a Kind, registers a worker for it, and enqueues jobs:
//
//	type FinalizeArgs struct {
//		Recording int64 `json:"recording"`
//	}
//
//	func (FinalizeArgs) Kind() string { return "recording.finalize" }
//
//	jobs.Register(q, func(ctx context.Context, j *jobs.Job[FinalizeArgs]) error {
//		return finalize(ctx, j.Args.Recording) // an error: tried again later
//	}, jobs.WorkerOptions{Timeout: 10 * time.Minute})
//
//	q.Enqueue(ctx, FinalizeArgs{Recording: 17}, jobs.Options{Unique: true, District: d})
//
// Workers must be idempotent: a job may run more than once (a crash after
// the work but before the job is marked done, a stop in the middle).
package jobs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"yunke/storage"
)

// Args are a job's arguments: a struct encoded as JSON into the job's row,
// whose Kind names the job ("recording.finalize"; lower case, dots and
// underscores). Keep them small and free of secrets: administrators see
// them.
type Args = river.JobArgs

// Job is a job being worked: its ID, Attempt (1 on the first run),
// MaxAttempts, and its Args.
type Job[A Args] = river.Job[A]

// JobID identifies a job.
type JobID int64

// Defaults.
const (
	DefaultWorkers      = 4
	DefaultMaxAttempts  = 20
	DefaultTimeout      = 30 * time.Minute
	DefaultPollInterval = time.Second
	// MaxTimeout is the longest a worker may set: a job running longer
	// is taken for abandoned (its node died) and run again.
	MaxTimeout  = 100 * time.Minute
	rescueAfter = 2 * time.Hour
)

// DefaultBackoff is the wait before attempt n+1 after attempt n failed:
// 5 s, 10 s, 20 s, … doubling up to an hour, each ±10 % so that jobs that
// failed together do not retry together. With DefaultMaxAttempts a job is
// given up after about 11 hours of failures.
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// Params configure a Queue.
type Params struct {
	// Store's database keeps the jobs, in River's own tables.
	Store  *storage.Store
	Logger *slog.Logger
	// Workers is how many jobs run at once on this node (default 4).
	Workers int
	// Backoff is the wait after a failed attempt (nil: DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// PollInterval is how often an idle node looks for due jobs (default
	// one second; on Postgres a new job is also announced at once, on
	// SQLite it waits for the next poll).
	PollInterval time.Duration
	// StopGrace is how long Stop lets running jobs finish before it
	// cancels them (default 5 s).
	StopGrace time.Duration
	// Node names this node, the same across its restarts (its host name
	// and port, say): jobs enqueued with Options.Local run only on the
	// node of that name. Empty is "local".
	Node string
}

// Queue enqueues jobs and, once started, works them.
type Queue struct {
	p       Params
	log     *slog.Logger
	client  riverClient
	workers *river.Workers
	// nodeQueue holds the jobs only this node may work (Options.Local).
	nodeQueue string

	mu      sync.Mutex
	started bool
	kinds   []string
}

// riverClient is what Queue uses of a river.Client, whichever the driver.
type riverClient interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	PeriodicJobs() *river.PeriodicJobBundle
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// New applies River's migrations to the store's database (after Yunke's
// own, which storage.Open applied) and returns a Queue that can enqueue
// at once and works jobs after Start.
func New(ctx context.Context, p Params) (*Queue, error) {
	if p.Store == nil {
		return nil, errors.New("jobs: no store")
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Workers <= 0 {
		p.Workers = DefaultWorkers
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	if p.PollInterval <= 0 {
		p.PollInterval = DefaultPollInterval
	}
	if p.StopGrace <= 0 {
		p.StopGrace = 5 * time.Second
	}
	q := &Queue{p: p, log: p.Logger, workers: river.NewWorkers(), nodeQueue: NodeQueue(p.Node)}
	cfg := &river.Config{
		Logger: p.Logger,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: p.Workers},
			q.nodeQueue:        {MaxWorkers: p.Workers},
		},
		Workers:     q.workers,
		MaxAttempts: DefaultMaxAttempts,
		// Finished jobs are kept for the administrators' list.
		CompletedJobRetentionPeriod: 24 * time.Hour,
		CancelledJobRetentionPeriod: 7 * 24 * time.Hour,
		DiscardedJobRetentionPeriod: 7 * 24 * time.Hour,
		JobTimeout:                  DefaultTimeout,
		RescueStuckJobsAfter:        rescueAfter,
		RetryPolicy:                 retryPolicy{p.Backoff},
		FetchPollInterval:           p.PollInterval,
		FetchCooldown:               min(100*time.Millisecond, p.PollInterval),
	}
	if _, err := Migrate(ctx, p.Store, p.Logger); err != nil {
		return nil, err
	}
	var err error
	if pool := p.Store.PostgresPool(); pool != nil {
		q.client, err = river.NewClient(riverpgxv5.New(pool), cfg)
	} else {
		// SQLite has no LISTEN/NOTIFY: River would poll a table of
		// notifications 20 times a second on the one writer connection.
		// Polling for due jobs alone, every PollInterval, is enough.
		cfg.PollOnly = true
		q.client, err = river.NewClient(riversqlite.New(p.Store.SQLiteWriter()), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

// Migrate applies River's pending migrations to the store's database and
// returns the version its tables are at. New calls it; so does
// `yunke migrate`.
func Migrate(ctx context.Context, st *storage.Store, log *slog.Logger) (int, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var versions []rivermigrate.Migration
	var err error
	if st.PostgresPool() != nil {
		versions, err = migratePostgres(ctx, st, log)
	} else {
		versions, err = migrateSQLite(ctx, st.SQLiteWriter(), log)
	}
	if err != nil {
		return 0, fmt.Errorf("jobs: migrations: %w", err)
	}
	v := 0
	for _, m := range versions {
		v = max(v, m.Version)
	}
	return v, nil
}

// riverLockKey serializes River's migrations between Yunke nodes starting
// together on one Postgres database ("yunkejob" in ASCII).
const riverLockKey = 0x79756e6b656a6f62

func migratePostgres(ctx context.Context, st *storage.Store, log *slog.Logger) ([]rivermigrate.Migration, error) {
	pool := st.PostgresPool()
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	// River's migrations each run in their own transaction (one adds an
	// enum value the next uses), so the lock is a session lock, held on
	// a connection of its own.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(riverLockKey)); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(riverLockKey)); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // closing the session releases the lock
		}
	}()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, err
	}
	return m.ExistingVersions(ctx)
}

// migrateSQLite runs River's migrations in one transaction on the store's
// writer connection, which serializes them with every other write.
func migrateSQLite(ctx context.Context, db *sql.DB, log *slog.Logger) ([]rivermigrate.Migration, error) {
	m, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return m.ExistingVersions(ctx)
}

// WorkerOptions tune one kind of job.
type WorkerOptions struct {
	// Timeout cancels an attempt's context after this long (0: 30
	// minutes; at most MaxTimeout); the attempt then counts as failed.
	Timeout time.Duration
}

// Register makes q work jobs of kind A with work. An error returned by
// work fails the attempt: the job is tried again after a backoff, up to
// its MaxAttempts, then kept as discarded; Permanent(err) gives up at
// once. A panic fails the attempt like an error. Register before Start.
func Register[A Args](q *Queue, work func(ctx context.Context, job *Job[A]) error, o WorkerOptions) {
	if o.Timeout < 0 || o.Timeout > MaxTimeout {
		panic(fmt.Sprintf("jobs: timeout %v of %T is not between 0 and %v", o.Timeout, *new(A), MaxTimeout))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		panic(fmt.Sprintf("jobs: %T registered after Start", *new(A)))
	}
	river.AddWorker(q.workers, &worker[A]{work: work, timeout: o.Timeout})
	q.kinds = append(q.kinds, (*new(A)).Kind())
}

type worker[A Args] struct {
	river.WorkerDefaults[A]
	work    func(context.Context, *Job[A]) error
	timeout time.Duration
}

func (w *worker[A]) Work(ctx context.Context, job *Job[A]) error { return w.work(ctx, job) }

func (w *worker[A]) Timeout(*Job[A]) time.Duration { return w.timeout }

// Permanent marks err as one no retry can cure (the job's subject is
// gone, its input is invalid): the job is cancelled with it at once.
func Permanent(err error) error { return river.JobCancel(err) }

// Every enqueues a job of args' kind every interval (on one node of the
// cluster, the elected leader), and once at Start when runOnStart (as soon
// as a leader is elected: within seconds). Call it before Start, after
// registering the worker. The job is cluster-wide: housekeeping of one
// node's own disk belongs in that node, not here.
func Every[A Args](q *Queue, interval time.Duration, args func() A, runOnStart bool) {
	q.client.PeriodicJobs().Add(river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args(), &river.InsertOpts{MaxAttempts: 3} },
		&river.PeriodicJobOpts{RunOnStart: runOnStart}))
}

// retryPolicy schedules a failed job's next attempt after the backoff.
type retryPolicy struct{ backoff func(int) time.Duration }

func (r retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(r.backoff(job.Attempt))
}

// Options say how a job is enqueued.
type Options struct {
	// MaxAttempts bounds the attempts (0: DefaultMaxAttempts).
	MaxAttempts int
	// Delay: the job runs no sooner than this from now.
	Delay time.Duration
	// Unique: no job is added while one of the same kind with equal args
	// exists that is waiting, running, retrying or completed (completed
	// jobs are kept a day); a cancelled or discarded one does not count.
	Unique bool
	// Local: the job runs on this node only (by Params.Node), since it
	// needs what only this node has — files on its disk. It waits for the
	// node while the node is down, and runs after its restart.
	Local bool
	// District scopes the job for administrators: a district
	// administrator sees the jobs of their district; only system
	// administrators see jobs without one.
	District storage.DistrictID
}

// Enqueued is the outcome of Enqueue.
type Enqueued struct {
	ID JobID
	// Duplicate: a unique job equal to this one existed; ID is that job's.
	Duplicate bool
}

// Enqueue adds a job. Its kind must have been registered (on this node;
// any node may work it).
func (q *Queue) Enqueue(ctx context.Context, args Args, o Options) (Enqueued, error) {
	if o.MaxAttempts < 0 || o.Delay < 0 {
		return Enqueued{}, fmt.Errorf("jobs: enqueue %s: negative max attempts or delay", args.Kind())
	}
	opts := &river.InsertOpts{MaxAttempts: o.MaxAttempts}
	if o.Delay > 0 {
		opts.ScheduledAt = time.Now().Add(o.Delay)
	}
	if o.Unique {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByQueue: true}
	}
	if o.Local {
		opts.Queue = q.nodeQueue
	}
	if o.District != 0 {
		md, err := json.Marshal(map[string]string{metaDistrict: strconv.FormatInt(int64(o.District), 10)})
		if err != nil {
			return Enqueued{}, fmt.Errorf("jobs: %w", err)
		}
		opts.Metadata = md
	}
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return Enqueued{}, fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return Enqueued{ID: JobID(res.Job.ID), Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// NodeQueue is the name of the queue of the jobs that only the node named
// node works: "node-" and the name in lower-case letters, digits and
// hyphens, at most 64 characters.
func NodeQueue(node string) string {
	if node == "" {
		node = "local"
	}
	var b strings.Builder
	b.WriteString("node")
	dash := true
	for _, r := range strings.ToLower(node) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash {
				b.WriteByte('-')
				dash = false
			}
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	name := b.String()
	if len(name) > 64 || name == "node" {
		sum := sha256.Sum256([]byte(node))
		name = strings.TrimRight(name[:min(len(name), 47)], "-") + "-" + hex.EncodeToString(sum[:8])
	}
	return name
}

// metaDistrict is the key of a job's district in its metadata (a string,
// so that Postgres' and SQLite's ->> compare it alike).
const metaDistrict = "district_id"

// Start works jobs until Stop (ctx only bounds the start: cancelling it
// later does not stop the work, so that Stop can let it finish). Without
// a registered worker it only enqueues.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: started twice")
	}
	q.started = true
	if len(q.kinds) == 0 {
		q.log.Info("no job workers registered: this node works no jobs")
		return nil
	}
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.log.Info("working jobs", "kinds", q.kinds, "workers", q.p.Workers, "node_queue", q.nodeQueue)
	return nil
}

// Stop stops fetching jobs and waits up to StopGrace for running ones;
// then it cancels their contexts and waits for them until ctx ends. A job
// cancelled so is put back as due, without counting the attempt, and runs
// again on whichever node works jobs next (after a restart, this one).
// The store must stay open until Stop returns.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	running := q.started && len(q.kinds) > 0
	q.mu.Unlock()
	if !running {
		return nil
	}
	soft, cancel := context.WithTimeout(ctx, q.p.StopGrace)
	defer cancel()
	if err := q.client.Stop(soft); err == nil {
		return nil
	}
	q.log.Warn("jobs still running at shutdown: cancelling them")
	if err := q.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// Snooze puts the job back to run again after d without counting an
// attempt: for a worker that finds its job cannot run yet (its resource is
// busy, its subject not ready).
func Snooze(d time.Duration) error { return river.JobSnooze(max(d, 0)) }
