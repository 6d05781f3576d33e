package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"yunke/server/jobs"
	"yunke/storage"
	"yunke/storage/blob"
)

// The background steps of a recording, each a durable job (server/jobs):
// finalize (filing a stopped recording the database refused at first),
// upload, repair (a recording a crash cut), composite and delete. Every
// step is idempotent, since a job may run twice.

// Job kinds.
const (
	JobFinalize  = "recording.finalize"
	JobUpload    = "recording.upload"
	JobRepair    = "recording.repair"
	JobComposite = "recording.composite"
	JobDelete    = "recording.delete"
	JobRetention = "recording.retention"
	JobSTResults = "recording.st_results"
)

type finalizeArgs struct {
	Recording int64 `json:"recording"`
}

func (finalizeArgs) Kind() string { return JobFinalize }

type uploadArgs struct {
	Recording int64 `json:"recording"`
}

func (uploadArgs) Kind() string { return JobUpload }

type repairArgs struct {
	Recording int64 `json:"recording"`
}

func (repairArgs) Kind() string { return JobRepair }

type compositeArgs struct {
	Recording int64 `json:"recording"`
}

func (compositeArgs) Kind() string { return JobComposite }

type deleteArgs struct {
	Recording int64 `json:"recording"`
}

func (deleteArgs) Kind() string { return JobDelete }

// finishFile holds, in a recording's working directory, the result of a
// stop that the database refused, for the finalize job.
const finishFile = "finish.json"

// compositeWait is how long a composite waits for a free renderer.
const compositeWait = 5 * time.Second

// retentionArgs is the hourly sweep of recordings past their retention.
type retentionArgs struct{}

func (retentionArgs) Kind() string { return JobRetention }

// stResultsArgs is the sweep that stores the automatic S-T result of the
// finished recordings that lack one.
type stResultsArgs struct{}

func (stResultsArgs) Kind() string { return JobSTResults }

// registerJobs makes the queue work the recording jobs.
func (s *Service) registerJobs(q *jobs.Queue) {
	jobs.Register(q, func(ctx context.Context, j *jobs.Job[finalizeArgs]) error {
		return s.finalize(ctx, storage.RecordingID(j.Args.Recording))
	}, jobs.WorkerOptions{Timeout: time.Minute})
	jobs.Register(q, func(ctx context.Context, j *jobs.Job[uploadArgs]) error {
		return s.workUpload(ctx, storage.RecordingID(j.Args.Recording))
	}, jobs.WorkerOptions{Timeout: 60 * time.Minute})
	jobs.Register(q, func(ctx context.Context, j *jobs.Job[repairArgs]) error {
		return s.workRepair(ctx, storage.RecordingID(j.Args.Recording))
	}, jobs.WorkerOptions{Timeout: 10 * time.Minute})
	jobs.Register(q, func(ctx context.Context, j *jobs.Job[compositeArgs]) error {
		return s.workComposite(ctx, storage.RecordingID(j.Args.Recording), j.Attempt >= j.MaxAttempts)
	}, jobs.WorkerOptions{Timeout: jobs.MaxTimeout})
	jobs.Register(q, func(ctx context.Context, j *jobs.Job[deleteArgs]) error {
		return s.workDelete(ctx, storage.RecordingID(j.Args.Recording))
	}, jobs.WorkerOptions{Timeout: 10 * time.Minute})
	jobs.Register(q, func(ctx context.Context, _ *jobs.Job[retentionArgs]) error {
		return s.applyRetention(ctx)
	}, jobs.WorkerOptions{Timeout: 10 * time.Minute})
	jobs.Register(q, func(ctx context.Context, _ *jobs.Job[stResultsArgs]) error {
		_, err := s.BackfillST(ctx)
		return err
	}, jobs.WorkerOptions{Timeout: 30 * time.Minute})
	jobs.Every(q, time.Hour, func() stResultsArgs { return stResultsArgs{} }, true)
	if s.p.Retention > 0 {
		jobs.Every(q, time.Hour, func() retentionArgs { return retentionArgs{} }, true)
	}
}

// enqueue adds a recording's job: on this node (its files are here), once
// (an equal job waiting, running or done is enough: each step is needed
// once per recording), in the recording's district for its
// administrators. A composite may be asked for again after it failed or
// was overtaken, so its jobs are not unique: the download's state keeps a
// second one from rendering again.
func (s *Service) enqueue(ctx context.Context, args jobs.Args, district storage.DistrictID, maxAttempts int) error {
	if s.p.Jobs == nil {
		return fmt.Errorf("recording: %s: no job queue", args.Kind())
	}
	_, unique := args.(compositeArgs)
	unique = !unique
	if _, err := s.p.Jobs.Enqueue(context.WithoutCancel(ctx), args, jobs.Options{Local: true, Unique: unique,
		District: district, MaxAttempts: maxAttempts}); err != nil {
		s.log.Error("job not queued", "kind", args.Kind(), "err", err)
		return err
	}
	return nil
}

// districtOf is a recording's district, for its jobs (0 when unknown).
func (s *Service) districtOf(ctx context.Context, id storage.RecordingID) storage.DistrictID {
	rec, err := s.p.Store.GetRecording(ctx, id)
	if err != nil {
		return 0
	}
	return rec.DistrictID
}

func (s *Service) enqueueUpload(ctx context.Context, id storage.RecordingID, district storage.DistrictID) error {
	return s.enqueue(ctx, uploadArgs{int64(id)}, district, 0)
}

// workUpload is the upload job: a recording still in progress (a finalize
// pending) waits.
func (s *Service) workUpload(ctx context.Context, id storage.RecordingID) error {
	rec, err := s.p.Store.GetRecording(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if rec.Status == storage.RecordingInProgress {
		return jobs.Snooze(30 * time.Second)
	}
	err = s.Upload(ctx, id)
	if errors.Is(err, blob.ErrBadKey) {
		return jobs.Permanent(err)
	}
	return err
}

// saveFinish keeps a stop's result beside the files for the finalize job.
func (s *Service) saveFinish(id storage.RecordingID, fin storage.RecordingFinish) error {
	b, err := json.Marshal(fin)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	dir := s.workDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	tmp := filepath.Join(dir, "."+finishFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, finishFile))
}

// savedFinish reads a stop's saved result (os.ErrNotExist: none).
func (s *Service) savedFinish(id storage.RecordingID) (storage.RecordingFinish, error) {
	var fin storage.RecordingFinish
	b, err := os.ReadFile(filepath.Join(s.workDir(id), finishFile))
	if err != nil {
		return fin, err
	}
	if err := json.Unmarshal(b, &fin); err != nil {
		return fin, fmt.Errorf("recording: %s of %d: %w", finishFile, id, err)
	}
	return fin, nil
}

// finalize files a stopped recording from its saved result, then queues
// its upload.
func (s *Service) finalize(ctx context.Context, id storage.RecordingID) error {
	fin, err := s.savedFinish(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil // filed already
	}
	if err != nil {
		return jobs.Permanent(err)
	}
	rec, err := s.p.Store.FinishRecording(ctx, storage.Actor{}, id, fin)
	switch {
	case errors.Is(err, storage.ErrClosed):
		rec, err = s.p.Store.GetRecording(ctx, id)
		if err != nil {
			return err
		}
	case errors.Is(err, storage.ErrNotFound):
		return jobs.Permanent(err)
	case err != nil:
		return err
	default:
		s.log.Info("recording filed after a retry", "recording", id, "status", fin.Status)
		if fin.Status != storage.RecordingFailed {
			s.keepAutoST(ctx, id)
		}
	}
	if err := s.enqueueUpload(ctx, id, rec.DistrictID); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(s.workDir(id), finishFile))
	return nil
}

// workRepair is the repair job: a recording still "recording" that this
// process is not recording was cut by a crash.
func (s *Service) workRepair(ctx context.Context, id storage.RecordingID) error {
	if s.isActive(id) {
		return nil
	}
	rec, err := s.p.Store.GetRecording(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if rec.Status != storage.RecordingInProgress {
		return s.enqueueUpload(ctx, id, rec.DistrictID)
	}
	if _, err := s.savedFinish(id); err == nil {
		return s.finalize(ctx, id) // stopped cleanly, filed late
	}
	if err := s.repair(ctx, rec); err != nil && !errors.Is(err, storage.ErrClosed) {
		return err
	}
	return s.enqueueUpload(ctx, id, rec.DistrictID)
}

// workComposite renders a composite when a renderer is free, and snoozes
// otherwise; a failure is retried, and shown as failed on the last attempt.
func (s *Service) workComposite(ctx context.Context, id storage.RecordingID, last bool) error {
	select {
	case s.renderers <- struct{}{}:
	default:
		return jobs.Snooze(compositeWait)
	}
	defer func() { <-s.renderers }()
	err := s.Composite(ctx, id)
	if err == nil {
		return nil
	}
	status := storage.DownloadQueued
	if last || errors.Is(err, exec.ErrNotFound) || errors.Is(err, errNoCamera) {
		status = storage.DownloadFailed
	}
	if serr := s.p.Store.SetRecordingDownload(context.WithoutCancel(ctx), id, storage.RecordingDownload{Kind: "composite",
		Status: status}, s.p.Now()); serr != nil {
		s.log.Warn("download state not saved", "recording", id, "err", serr)
	}
	if status == storage.DownloadFailed && !last {
		return jobs.Permanent(err)
	}
	return err
}

// workDelete removes a deleted recording's files: from the media store,
// then the working directory.
func (s *Service) workDelete(ctx context.Context, id storage.RecordingID) error {
	rec, err := s.p.Store.GetRecording(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if rec.Status != storage.RecordingDeleted {
		return jobs.Permanent(fmt.Errorf("recording: %d is %s, not deleted", id, rec.Status))
	}
	keys := []string{mediaKey(rec.ID, "download-camera.webm"), mediaKey(rec.ID, "download-composite.webm")}
	for _, t := range rec.Tracks {
		keys = append(keys, mediaKey(rec.ID, t.File))
	}
	var errs []error
	for _, k := range keys {
		if err := s.p.Media.Delete(ctx, k); err != nil && !errors.Is(err, blob.ErrNotFound) {
			errs = append(errs, fmt.Errorf("recording: delete %s: %w", k, err))
		}
	}
	if err := os.RemoveAll(s.workDir(rec.ID)); err != nil {
		errs = append(errs, fmt.Errorf("recording: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		s.log.Warn("recording files not all deleted; tried again later", "recording", id, "err", err)
		return err
	}
	s.log.Info("recording files deleted", "recording", id, "objects", len(keys))
	return nil
}

// retentionBatch is how many recordings one pass of the sweep deletes
// before it asks again.
const retentionBatch = 100

// applyRetention deletes, as the system, every finished recording that
// ended longer than Retention ago: its row says deleted (with its activity
// row) at once, so nothing serves it any more, and a job removes its files
// as an administrator's delete would.
func (s *Service) applyRetention(ctx context.Context) error {
	if s.p.Retention <= 0 {
		return nil
	}
	before := s.p.Now().Add(-s.p.Retention)
	for {
		refs, err := s.p.Store.ExpiredRecordings(ctx, before, retentionBatch)
		if err != nil {
			return fmt.Errorf("recording: retention: %w", err)
		}
		for _, r := range refs {
			err := s.p.Store.DeleteRecording(ctx, storage.Actor{}, r.ID, s.p.Now())
			if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrClosed) {
				continue // deleted or reopened meanwhile
			}
			if err != nil {
				return fmt.Errorf("recording: retention: %w", err)
			}
			if err := s.enqueue(ctx, deleteArgs{int64(r.ID)}, r.DistrictID, 0); err != nil {
				return fmt.Errorf("recording: retention: %w", err)
			}
			s.log.Info("recording past its retention deleted", "recording", r.ID)
		}
		if len(refs) < retentionBatch {
			return nil
		}
	}
}
