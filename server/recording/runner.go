package recording

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Runner runs the background steps of recordings (uploading finished files,
// rendering a composite) by kind, with their arguments. The in-process
// Local runner is the default; a durable job queue plugs in here.
type Runner interface {
	Enqueue(ctx context.Context, kind string, args any) error
}

// Job kinds, and their arguments.
const (
	JobUpload    = "recording.upload"    // JobArgs: store a finished recording's files
	JobComposite = "recording.composite" // JobArgs: render the grid composite
)

// JobArgs names the recording a job works on.
type JobArgs struct {
	RecordingID int64 `json:"recording_id"`
}

// Handler runs one job; an error is retried.
type Handler func(ctx context.Context, args json.RawMessage) error

// Local runs jobs on goroutines of this process, retrying failures with
// backoff (1 s doubling to 1 min, MaxAttempts times). Jobs do not survive
// a restart: the recording service re-enqueues what is left at startup.
type Local struct {
	Logger      *slog.Logger
	MaxAttempts int // 0: 8

	mu       sync.Mutex
	handlers map[string]Handler
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewLocal returns a Local runner.
func NewLocal(log *slog.Logger) *Local {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Local{Logger: log, handlers: map[string]Handler{}, ctx: ctx, cancel: cancel}
}

// Handle registers the handler of a kind.
func (l *Local) Handle(kind string, h Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handlers[kind] = h
}

// Enqueue implements Runner.
func (l *Local) Enqueue(_ context.Context, kind string, args any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("recording: job %s: %w", kind, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.handlers[kind]
	if h == nil {
		return fmt.Errorf("recording: no handler for job %s", kind)
	}
	if l.closed {
		return fmt.Errorf("recording: job %s: runner closed", kind)
	}
	l.wg.Add(1)
	go l.run(kind, h, raw)
	return nil
}

func (l *Local) run(kind string, h Handler, raw json.RawMessage) {
	defer l.wg.Done()
	attempts := l.MaxAttempts
	if attempts <= 0 {
		attempts = 8
	}
	wait := time.Second
	for i := 1; ; i++ {
		err := h(l.ctx, raw)
		if err == nil {
			return
		}
		if i >= attempts || l.ctx.Err() != nil {
			l.Logger.Error("job failed", "kind", kind, "args", string(raw), "attempts", i, "err", err)
			return
		}
		l.Logger.Warn("job failed; retrying", "kind", kind, "args", string(raw), "attempt", i, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-l.ctx.Done():
			return
		}
		wait = min(wait*2, time.Minute)
	}
}

// Close cancels the jobs running and waits for them.
func (l *Local) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}
