package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/server/jobs"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// forEachBackend runs fn on SQLite and on Postgres, with parameters that
// open the same fresh database each time (so a test can restart).
func forEachBackend(t *testing.T, fn func(t *testing.T, p storage.OpenParams)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, storagetest.SQLiteParams(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, storagetest.PostgresParams(t))
	})
}

func open(t *testing.T, p storage.OpenParams) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newQueue is a queue on st that polls often and retries after backoff.
func newQueue(t *testing.T, st *storage.Store, backoff func(int) time.Duration, workers int) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(context.Background(), jobs.Params{Store: st, PollInterval: 20 * time.Millisecond, Backoff: backoff,
		Workers: workers, StopGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func start(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, q) })
}

func stop(t *testing.T, q *jobs.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "test.echo" }

type flakyArgs struct {
	FailTimes int  `json:"fail_times"`
	Permanent bool `json:"permanent"`
}

func (flakyArgs) Kind() string { return "test.flaky" }

type blockArgs struct {
	Name string `json:"name"`
}

func (blockArgs) Kind() string { return "test.block" }

func shortBackoff(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond }

// wait polls the job until its state is want.
func wait(t *testing.T, q *jobs.Queue, id jobs.JobID, want string) jobs.Info {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		in, ok, err := q.Get(context.Background(), id)
		if err != nil || !ok {
			t.Fatalf("get job %d: %v, %v", id, ok, err)
		}
		if in.State == want {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, not %s, after 20 s: %+v", id, in.State, want, in)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJobRuns(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		st := open(t, p)
		q := newQueue(t, st, nil, 2)
		got := make(chan int, 1)
		jobs.Register(q, func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			got <- j.Args.N
			return nil
		}, jobs.WorkerOptions{})
		start(t, q)
		e, err := q.Enqueue(context.Background(), echoArgs{N: 42}, jobs.Options{District: 3})
		if err != nil || e.ID == 0 || e.Duplicate {
			t.Fatalf("enqueue: %+v, %v", e, err)
		}
		select {
		case n := <-got:
			if n != 42 {
				t.Fatalf("worked args %d", n)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the job did not run in 20 s")
		}
		in := wait(t, q, e.ID, "completed")
		var args echoArgs
		if err := json.Unmarshal(in.Args, &args); err != nil || args.N != 42 {
			t.Errorf("args %s: %v", in.Args, err)
		}
		if in.Kind != "test.echo" || in.Attempt != 1 || in.District != 3 ||
			in.FinishedAt == nil || in.AttemptedAt == nil || len(in.Errors) != 0 {
			t.Fatalf("completed job: %+v", in)
		}
		// An unregistered kind is refused, not left to rot.
		if _, err := q.Enqueue(context.Background(), blockArgs{}, jobs.Options{}); err == nil {
			t.Error("a job of an unregistered kind was enqueued")
		}
	})
}

// A failing job is retried after a growing backoff until it succeeds; one
// that keeps failing is discarded after its attempts; a permanent error
// cancels at once.
func TestRetryWithBackoff(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		st := open(t, p)
		q := newQueue(t, st, shortBackoff, 4)
		var mu sync.Mutex
		attempts := map[jobs.JobID][]time.Time{}
		jobs.Register(q, func(ctx context.Context, j *jobs.Job[flakyArgs]) error {
			mu.Lock()
			attempts[jobs.JobID(j.ID)] = append(attempts[jobs.JobID(j.ID)], time.Now())
			mu.Unlock()
			switch {
			case j.Args.Permanent:
				return jobs.Permanent(errors.New("the recording is gone"))
			case j.Attempt <= j.Args.FailTimes:
				return fmt.Errorf("flaky attempt %d", j.Attempt)
			}
			return nil
		}, jobs.WorkerOptions{Timeout: time.Minute})
		start(t, q)
		ctx := context.Background()
		flaky, err := q.Enqueue(ctx, flakyArgs{FailTimes: 2}, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		hopeless, err := q.Enqueue(ctx, flakyArgs{FailTimes: 99}, jobs.Options{MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		permanent, err := q.Enqueue(ctx, flakyArgs{Permanent: true}, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}

		in := wait(t, q, flaky.ID, "completed")
		if in.Attempt != 3 || len(in.Errors) != 2 || in.Errors[0].Error != "flaky attempt 1" || in.Errors[1].Attempt != 2 {
			t.Fatalf("flaky job: %+v", in)
		}
		mu.Lock()
		at := attempts[flaky.ID]
		mu.Unlock()
		if len(at) != 3 {
			t.Fatalf("flaky job ran %d times", len(at))
		}
		// The second retry waited longer than the first: 100 ms, then 200 ms.
		if d1, d2 := at[1].Sub(at[0]), at[2].Sub(at[1]); d1 < 100*time.Millisecond || d2 < 200*time.Millisecond {
			t.Errorf("retries after %v and %v, want at least 100 ms and 200 ms", d1, d2)
		}

		in = wait(t, q, hopeless.ID, "discarded")
		if in.Attempt != 2 || len(in.Errors) != 2 || in.FinishedAt == nil {
			t.Errorf("hopeless job: %+v", in)
		}
		in = wait(t, q, permanent.ID, "cancelled")
		if in.Attempt != 1 || len(in.Errors) != 1 || in.Errors[0].Error == "" {
			t.Errorf("permanent failure: %+v", in)
		}

		// Administrators' filters.
		failed, err := q.List(ctx, jobs.Filter{State: "discarded"})
		if err != nil || len(failed) != 1 || failed[0].ID != hopeless.ID {
			t.Errorf("discarded jobs: %+v, %v", failed, err)
		}
	})
}

// A job enqueued before a restart runs after it; so does one that was
// running when its node stopped (cancelled, then tried again).
func TestJobsSurviveRestart(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		ctx := context.Background()
		st1, err := storage.Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		q1 := newQueue(t, st1, func(int) time.Duration { return 10 * time.Millisecond }, 1)
		running := make(chan string, 2)
		jobs.Register(q1, func(ctx context.Context, j *jobs.Job[blockArgs]) error {
			running <- j.Args.Name
			<-ctx.Done() // works until the node stops
			return ctx.Err()
		}, jobs.WorkerOptions{})
		if err := q1.Start(ctx); err != nil {
			t.Fatal(err)
		}
		first, err := q1.Enqueue(ctx, blockArgs{Name: "first"}, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if name := <-running; name != "first" {
			t.Fatalf("running %q", name)
		}
		// One worker, busy: the second waits.
		second, err := q1.Enqueue(ctx, blockArgs{Name: "second"}, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		stop(t, q1)
		// The interrupted job is put back, its attempt not counted.
		if in, _, err := q1.Get(ctx, first.ID); err != nil || in.State != "available" || in.Attempt != 0 {
			t.Errorf("the interrupted job after the stop: %+v, %v", in, err)
		}
		if err := st1.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case name := <-running:
			t.Fatalf("%s ran before the restart", name)
		default:
		}

		st2 := open(t, p)
		q2 := newQueue(t, st2, nil, 2)
		done := make(chan string, 2)
		jobs.Register(q2, func(ctx context.Context, j *jobs.Job[blockArgs]) error {
			done <- j.Args.Name
			return nil
		}, jobs.WorkerOptions{})
		start(t, q2)
		if in := wait(t, q2, first.ID, "completed"); in.Attempt != 1 {
			t.Errorf("the interrupted job: %+v", in)
		}
		in := wait(t, q2, second.ID, "completed")
		if in.Attempt != 1 || len(in.Errors) != 0 {
			t.Errorf("the waiting job: %+v", in)
		}
		if len(done) != 2 {
			t.Errorf("%d jobs ran after the restart", len(done))
		}
	})
}

func TestUniqueAndScope(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		st := open(t, p)
		q := newQueue(t, st, nil, 1)
		jobs.Register(q, func(context.Context, *jobs.Job[echoArgs]) error { return nil }, jobs.WorkerOptions{})
		ctx := context.Background()
		a, err := q.Enqueue(ctx, echoArgs{N: 1}, jobs.Options{Unique: true, District: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := q.Enqueue(ctx, echoArgs{N: 1}, jobs.Options{Unique: true, District: 1})
		if err != nil || !b.Duplicate || b.ID != a.ID {
			t.Fatalf("a unique job twice: %+v then %+v, %v", a, b, err)
		}
		c, err := q.Enqueue(ctx, echoArgs{N: 2}, jobs.Options{Unique: true, District: 2, Delay: time.Hour})
		if err != nil || c.Duplicate {
			t.Fatalf("other args: %+v, %v", c, err)
		}
		d, err := q.Enqueue(ctx, echoArgs{N: 3}, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			f    jobs.Filter
			want []jobs.JobID
		}{
			{jobs.Filter{}, []jobs.JobID{d.ID, c.ID, a.ID}},
			{jobs.Filter{District: 1}, []jobs.JobID{a.ID}},
			{jobs.Filter{District: 2}, []jobs.JobID{c.ID}},
			{jobs.Filter{District: 9}, nil},
			{jobs.Filter{State: "scheduled"}, []jobs.JobID{c.ID}},
			{jobs.Filter{Kind: "test.echo", Limit: 2}, []jobs.JobID{d.ID, c.ID}},
			{jobs.Filter{Before: c.ID}, []jobs.JobID{a.ID}},
			{jobs.Filter{Kind: "test.other"}, nil},
		} {
			got, err := q.List(ctx, tc.f)
			if err != nil {
				t.Fatalf("list %+v: %v", tc.f, err)
			}
			var ids []jobs.JobID
			for _, in := range got {
				ids = append(ids, in.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Errorf("list %+v: %v, want %v", tc.f, ids, tc.want)
			}
		}
		if _, err := q.List(ctx, jobs.Filter{State: "lost"}); err == nil {
			t.Error("an unknown state was accepted")
		}
		if _, ok, err := q.Get(ctx, 999999); ok || err != nil {
			t.Errorf("get a missing job: %v, %v", ok, err)
		}
	})
}

// A local job runs only on the node that enqueued it, even while another
// node works jobs of its kind.
func TestLocalJobs(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		st := open(t, p)
		ran := make(chan string, 20)
		nodes := map[string]*jobs.Queue{}
		for _, node := range []string{"yunke-a:7880", "yunke-b:7880"} {
			q, err := jobs.New(context.Background(), jobs.Params{Store: st, PollInterval: 20 * time.Millisecond, Node: node})
			if err != nil {
				t.Fatal(err)
			}
			jobs.Register(q, func(ctx context.Context, j *jobs.Job[echoArgs]) error {
				ran <- node
				return nil
			}, jobs.WorkerOptions{})
			start(t, q)
			nodes[node] = q
		}
		ctx := context.Background()
		var ids []jobs.JobID
		for i := range 6 {
			e, err := nodes["yunke-b:7880"].Enqueue(ctx, echoArgs{N: i}, jobs.Options{Local: true})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		for _, id := range ids {
			if in := wait(t, nodes["yunke-a:7880"], id, "completed"); in.Queue != "node-yunke-b-7880" {
				t.Errorf("local job %d in queue %q", id, in.Queue)
			}
		}
		for range ids {
			if node := <-ran; node != "yunke-b:7880" {
				t.Errorf("a local job of b ran on %s", node)
			}
		}
	})
}

func TestNodeQueue(t *testing.T) {
	for node, want := range map[string]string{
		"":                  "node-local",
		"yunke-1:7880":      "node-yunke-1-7880",
		"Yunke_1.school.cn": "node-yunke-1-school-cn",
		"--x--":             "node-x",
	} {
		if got := jobs.NodeQueue(node); got != want {
			t.Errorf("NodeQueue(%q) = %q, want %q", node, got, want)
		}
	}
	long := jobs.NodeQueue(strings.Repeat("a", 100))
	if len(long) != 64 || long == jobs.NodeQueue(strings.Repeat("a", 101)) {
		t.Errorf("long names: %q", long)
	}
	if q := jobs.NodeQueue("界面"); !strings.HasPrefix(q, "node-") || len(q) != len("node-")+16 {
		t.Errorf("a name without letters: %q", q)
	}
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "test.tick" }

// A periodic job runs at the start and then every interval.
func TestEvery(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, p storage.OpenParams) {
		st := open(t, p)
		q := newQueue(t, st, nil, 1)
		ticks := make(chan time.Time, 10)
		jobs.Register(q, func(context.Context, *jobs.Job[tickArgs]) error {
			ticks <- time.Now()
			return nil
		}, jobs.WorkerOptions{})
		jobs.Every(q, 300*time.Millisecond, func() tickArgs { return tickArgs{} }, true)
		start(t, q)
		var at []time.Time
		for len(at) < 2 {
			select {
			case tm := <-ticks:
				at = append(at, tm)
			case <-time.After(20 * time.Second):
				t.Fatalf("%d ticks in 20 s", len(at))
			}
		}
		if d := at[1].Sub(at[0]); d < 200*time.Millisecond {
			t.Errorf("ticks %v apart", d)
		}
	})
}
