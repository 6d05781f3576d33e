// Package microlessons runs micro-lessons (微课): short video lessons a
// teacher uploads, that reviewers take up and admins publish or return,
// and that everyone of the district then browses and watches.
//
// An upload arrives resumably through the tus protocol (tusd's handler,
// mounted behind the API's gate): its bytes wait in a staging directory,
// its row in storage says whose it is, and it expires if never finished.
// Filing a finished upload checks the file from its content (package
// probe: the container, the codecs, the duration), moves it into the
// media store (blob.Store: the local disk, or an object store) and
// records the micro-lesson. Every step of a micro-lesson is an activity
// row written in the same transaction as the change.
package microlessons

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"yunke/server/httpapi"
	"yunke/server/jobs"
	"yunke/server/microlessons/probe"
	"yunke/storage"
	"yunke/storage/blob"
)

// Store is what micro-lessons need of durable storage.
type Store interface {
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)

	CreateMicrolessonUpload(ctx context.Context, u storage.MicrolessonUpload, perUser int, totalBytes int64) error
	GetMicrolessonUpload(ctx context.Context, id string) (storage.MicrolessonUpload, error)
	ListMicrolessonUploads(ctx context.Context, user storage.UserID) ([]storage.MicrolessonUpload, error)
	ExpiredMicrolessonUploads(ctx context.Context, now time.Time, limit int) ([]storage.MicrolessonUpload, error)
	DeleteMicrolessonUpload(ctx context.Context, id string) error

	CheckMicrolessonInput(ctx context.Context, in storage.MicrolessonInput) error
	CreateMicrolesson(ctx context.Context, a storage.Actor, uploadID string, in storage.MicrolessonInput, media storage.MicrolessonMedia, at time.Time) (storage.Microlesson, error)
	GetMicrolesson(ctx context.Context, id storage.MicrolessonID) (storage.Microlesson, error)
	ListMicrolessons(ctx context.Context, f storage.MicrolessonFilter) ([]storage.Microlesson, int, error)
	UpdateMicrolesson(ctx context.Context, a storage.Actor, id storage.MicrolessonID, in storage.MicrolessonInput, version int64, editable []storage.MicrolessonStatus, at time.Time) (storage.Microlesson, error)
	SetMicrolessonStatus(ctx context.Context, a storage.Actor, id storage.MicrolessonID, from []storage.MicrolessonStatus, to storage.MicrolessonStatus, reason string, at time.Time) (storage.Microlesson, error)
	ChangeMicrolesson(ctx context.Context, a storage.Actor, id storage.MicrolessonID, c storage.MicrolessonChange, at time.Time) (storage.Microlesson, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	ListUsers(ctx context.Context, f storage.UserFilter) ([]storage.User, int, error)
}

var _ Store = (*storage.Store)(nil)

// Media is where finished videos are kept.
type Media interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	Open(ctx context.Context, key string) (blob.Object, error)
	Delete(ctx context.Context, key string) error
	SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error)
}

var _ Media = blob.Store(nil)

// Params configure a Service. Zero limits take the defaults.
type Params struct {
	Store Store
	// Media keeps the finished videos (blob.Local until an object store is
	// configured), under keys starting with KeyPrefix ("" or e.g.
	// "microlessons/" in a store shared with recordings).
	Media     Media
	KeyPrefix string
	// Dir is the staging directory of uploads in progress.
	Dir string
	// MaxBytes is the largest video accepted (default 2 GiB).
	MaxBytes int64
	// MaxDuration is the longest video accepted (default 30 minutes).
	MaxDuration time.Duration
	// UploadsPerUser caps a user's uploads in progress (default 3).
	UploadsPerUser int
	// StagingBytes caps the sizes all uploads in progress announce
	// together (default 50 GiB; negative: no cap).
	StagingBytes int64
	// UploadTTL is how long an upload may take, from its start to being
	// filed as a micro-lesson; then it is removed (default 24 hours).
	UploadTTL time.Duration
	// SweepEvery is how often expired and orphaned uploads are removed (default 10 minutes).
	SweepEvery time.Duration
	// Jobs, when set, retries removing a video the media store failed to
	// remove at once (an object store out of reach), as a durable job;
	// without it such a failure is only logged.
	Jobs   *jobs.Queue
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults of Params.
const (
	DefaultMaxBytes       = 2 << 30
	DefaultMaxDuration    = 30 * time.Minute
	DefaultUploadsPerUser = 3
	DefaultStagingBytes   = 50 << 30
	DefaultUploadTTL      = 24 * time.Hour
)

// Service is the micro-lessons domain: its rules, its routes, its tus endpoint.
type Service struct {
	p      Params
	log    *slog.Logger
	files  filestore.FileStore
	locker *memorylocker.MemoryLocker
	// The tus handlers behind tusd's middleware (protocol checks, deadlines).
	tusPost, tusHead, tusPatch, tusDelete http.Handler
}

// uploadsPath is where the tus endpoint lives, below the API prefix.
const uploadsPath = "/microlessons/uploads"

// New returns a Service; it creates the staging directory.
func New(p Params) (*Service, error) {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Store == nil || p.Media == nil || p.Dir == "" {
		return nil, errors.New("microlessons: a store, a media store and a staging directory are needed")
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	if p.MaxDuration <= 0 {
		p.MaxDuration = DefaultMaxDuration
	}
	if p.UploadsPerUser <= 0 {
		p.UploadsPerUser = DefaultUploadsPerUser
	}
	switch {
	case p.StagingBytes == 0:
		p.StagingBytes = DefaultStagingBytes
	case p.StagingBytes < 0:
		p.StagingBytes = 0 // the store's "no limit"
	}
	if p.UploadTTL <= 0 {
		p.UploadTTL = DefaultUploadTTL
	}
	if p.SweepEvery <= 0 {
		p.SweepEvery = 10 * time.Minute
	}
	if err := os.MkdirAll(p.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("microlessons: staging directory: %w", err)
	}
	s := &Service{p: p, log: p.Logger, locker: memorylocker.New()}
	if p.Jobs != nil {
		jobs.Register(p.Jobs, s.workRemoveVideo, jobs.WorkerOptions{Timeout: time.Minute})
	}
	s.files = filestore.New(p.Dir)
	s.files.DirModePerm, s.files.FileModePerm = 0o750, 0o640
	// Only the core and termination: no concatenation (it would let one
	// upload take in others by id) and no deferred length (every upload
	// says its size first, and is held to it).
	composer := handler.NewStoreComposer()
	composer.UseCore(s.files)
	composer.UseTerminater(s.files)
	s.locker.UseIn(composer)
	tus, err := handler.NewUnroutedHandler(handler.Config{
		StoreComposer:           composer,
		BasePath:                httpapi.Prefix + uploadsPath + "/",
		MaxSize:                 p.MaxBytes,
		DisableDownload:         true,
		DisableConcatenation:    true,
		Cors:                    &handler.CorsConfig{Disable: true}, // same origin only
		PreUploadCreateCallback: s.preCreate,
		// tusd holds each request's context open this long after the
		// request ends, for stores that finish writing remotely; the file
		// store writes synchronously, so a moment is enough (and no
		// goroutine outlives its request by more).
		GracefulRequestCompletionTimeout: 10 * time.Millisecond,
		Logger:                           tusLogger(p.Logger),
	})
	if err != nil {
		return nil, fmt.Errorf("microlessons: tus handler: %w", err)
	}
	s.tusPost = tus.Middleware(http.HandlerFunc(tus.PostFile))
	s.tusHead = tus.Middleware(http.HandlerFunc(tus.HeadFile))
	s.tusPatch = tus.Middleware(http.HandlerFunc(tus.PatchFile))
	s.tusDelete = tus.Middleware(http.HandlerFunc(tus.DelFile))
	return s, nil
}

// Limits are what the web client checks before it uploads.
type Limits struct {
	MaxBytes       int64    `json:"max_bytes"`
	MaxMinutes     int      `json:"max_minutes"`
	UploadsPerUser int      `json:"uploads_per_user"`
	UploadHours    int      `json:"upload_hours"`
	Formats        []string `json:"formats"`
}

// Limits reports the service's limits.
func (s *Service) Limits() Limits {
	return Limits{MaxBytes: s.p.MaxBytes, MaxMinutes: int(s.p.MaxDuration / time.Minute), UploadsPerUser: s.p.UploadsPerUser,
		UploadHours: int(s.p.UploadTTL / time.Hour), Formats: []string{"mp4: H.264 video, AAC audio", "webm: VP8 or VP9 video, Opus or Vorbis audio"}}
}

// ---- uploads in progress

// uploadID is the form of the ids the service gives uploads: 128 random bits in hex.
var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// binPath and infoPath are the staging files of an upload (tusd's filestore layout).
func (s *Service) binPath(id string) string  { return filepath.Join(s.p.Dir, id) }
func (s *Service) infoPath(id string) string { return filepath.Join(s.p.Dir, id+".info") }

// ownUpload is the caller's upload in progress; any other (someone
// else's, expired, unknown, malformed id) is ErrNotFound, so that an id
// reveals nothing.
func (s *Service) ownUpload(ctx context.Context, user storage.UserID, id string) (storage.MicrolessonUpload, error) {
	if !uploadID.MatchString(id) {
		return storage.MicrolessonUpload{}, errNoUpload
	}
	u, err := s.p.Store.GetMicrolessonUpload(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (u.UserID != user || !s.p.Now().Before(u.ExpiresAt))) {
		return storage.MicrolessonUpload{}, errNoUpload
	}
	return u, err
}

var errNoUpload = &httpapi.Error{Status: http.StatusNotFound, Code: "not_found",
	Message: "no such upload of yours (an upload not filed as a micro-lesson within its time is removed)"}

// offset is how many bytes of an upload have arrived.
func (s *Service) offset(ctx context.Context, id string) (int64, error) {
	up, err := s.files.GetUpload(ctx, id)
	if err != nil {
		return 0, err
	}
	info, err := up.GetInfo(ctx)
	if err != nil {
		return 0, err
	}
	return info.Offset, nil
}

// discard removes an upload: its staging files, then its row. The tus
// lock is taken first, so that a PATCH still writing is stopped.
func (s *Service) discard(ctx context.Context, id string) error {
	lock, err := s.locker.NewLock(id)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := lock.Lock(lctx, func() {}); err != nil {
		return fmt.Errorf("microlessons: lock upload %s: %w", id, err)
	}
	defer lock.Unlock()
	s.removeFiles(id)
	if err := s.p.Store.DeleteMicrolessonUpload(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

func (s *Service) removeFiles(id string) {
	for _, p := range []string{s.binPath(id), s.infoPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("remove staged upload", "upload", id, "err", err)
		}
	}
}

// removeVideoArgs is the job that removes a video of the media store.
type removeVideoArgs struct {
	Key string `json:"key"`
}

func (removeVideoArgs) Kind() string { return "microlessons.remove_video" }

// removeVideo removes a video that no micro-lesson holds any more; when
// the media store fails, a job tries again until it succeeds, so that no
// video stays behind its deleted micro-lesson.
func (s *Service) removeVideo(ctx context.Context, key string, district storage.DistrictID) {
	ctx = context.WithoutCancel(ctx)
	err := s.p.Media.Delete(ctx, key)
	if err == nil {
		return
	}
	if s.p.Jobs == nil {
		s.log.Warn("remove video", "key", key, "err", err)
		return
	}
	if _, jerr := s.p.Jobs.Enqueue(ctx, removeVideoArgs{Key: key}, jobs.Options{Unique: true, District: district}); jerr != nil {
		s.log.Error("remove video: not removed, nor queued for later", "key", key, "err", err, "queue_err", jerr)
		return
	}
	s.log.Warn("remove video: tried again later", "key", key, "err", err)
}

// workRemoveVideo is the job of removeVideo.
func (s *Service) workRemoveVideo(ctx context.Context, j *jobs.Job[removeVideoArgs]) error {
	if !strings.HasPrefix(j.Args.Key, s.p.KeyPrefix+"videos/") {
		return jobs.Permanent(fmt.Errorf("microlessons: %q is not a micro-lesson video", j.Args.Key))
	}
	err := s.p.Media.Delete(ctx, j.Args.Key)
	if errors.Is(err, blob.ErrBadKey) {
		return jobs.Permanent(err)
	}
	return err
}

// Run removes expired and orphaned uploads now and every SweepEvery,
// until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.p.SweepEvery)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep uploads", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// orphanAge is how old a staging file without a row must be to be removed:
// a row is written before its files, so an older file has lost its row.
const orphanAge = 10 * time.Minute

// Sweep removes the uploads that expired, and staging files whose upload
// is gone.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.p.Now()
	removed := 0
	for {
		batch, err := s.p.Store.ExpiredMicrolessonUploads(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, u := range batch {
			if err := s.discard(ctx, u.ID); err != nil {
				return err
			}
			removed++
		}
		if len(batch) < 100 {
			break
		}
	}
	entries, err := os.ReadDir(s.p.Dir)
	if err != nil {
		return fmt.Errorf("microlessons: sweep: %w", err)
	}
	orphans := 0
	for _, e := range entries {
		id := strings.TrimSuffix(e.Name(), ".info")
		if e.IsDir() || !uploadID.MatchString(id) {
			continue
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) < orphanAge {
			continue
		}
		_, err = s.p.Store.GetMicrolessonUpload(ctx, id)
		if !errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err := os.Remove(filepath.Join(s.p.Dir, e.Name())); err == nil {
			orphans++
		}
	}
	if removed > 0 || orphans > 0 {
		s.log.Info("swept uploads", "expired", removed, "orphaned_files", orphans)
	}
	return nil
}

// ---- what a micro-lesson may be

// mediaError is a file refused for what it is: 422 with one of the codes
// unsupported_media, damaged_media or media_too_long.
func mediaError(code, format string, args ...any) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: code, Message: fmt.Sprintf(format, args...)}
}

// probeError is the refusal of a file the probe could not describe.
func probeError(pe *probe.Error) *httpapi.Error {
	if pe.Kind == probe.Damaged {
		return mediaError("damaged_media", "%s", pe.Reason)
	}
	return mediaError("unsupported_media", "%s", pe.Reason)
}

var codecNames = map[string]string{
	"h264": "H.264", "hevc": "HEVC (H.265)", "av1": "AV1", "vp8": "VP8", "vp9": "VP9", "mpeg4": "MPEG-4 Part 2",
	"mpeg2": "MPEG-2", "h263": "H.263", "mjpeg": "Motion JPEG", "theora": "Theora",
	"aac": "AAC", "mp3": "MP3", "opus": "Opus", "vorbis": "Vorbis", "flac": "FLAC", "ac3": "AC-3 (Dolby Digital)",
	"eac3": "E-AC-3 (Dolby Digital Plus)", "pcm": "uncompressed PCM", "alac": "Apple Lossless", "amr": "AMR",
}

func codecName(c string) string {
	if n, ok := codecNames[c]; ok {
		return n
	}
	return c
}

// accept applies the rules of a micro-lesson's file: MP4 with H.264
// video and AAC audio, or WebM with VP8/VP9 video and Opus/Vorbis audio
// (browsers play both without plugins); a video track; a duration above
// zero and at most MaxDuration.
func (s *Service) accept(info probe.Info) *httpapi.Error {
	videos, audios := 0, 0
	for _, t := range info.Tracks {
		if t.Encrypted {
			return mediaError("unsupported_media", "the %s track is encrypted (DRM): export the video without protection", t.Type)
		}
		switch {
		case t.Type == "video" && info.Container == "mp4" && t.Codec != "h264":
			return mediaError("unsupported_media", "%s video is not supported in MP4: export the video as H.264 (MP4), or as VP9 (WebM)", codecName(t.Codec))
		case t.Type == "video" && info.Container == "webm" && t.Codec != "vp8" && t.Codec != "vp9":
			return mediaError("unsupported_media", "%s video is not supported in WebM: export the video as VP8 or VP9 (WebM), or as H.264 (MP4)", codecName(t.Codec))
		case t.Type == "audio" && info.Container == "mp4" && t.Codec != "aac":
			return mediaError("unsupported_media", "%s audio is not supported in MP4: export the sound as AAC", codecName(t.Codec))
		case t.Type == "audio" && info.Container == "webm" && t.Codec != "opus" && t.Codec != "vorbis":
			return mediaError("unsupported_media", "%s audio is not supported in WebM: export the sound as Opus or Vorbis", codecName(t.Codec))
		}
		if t.Type == "video" {
			videos++
		} else {
			audios++
		}
	}
	switch {
	case videos == 0 && audios > 0:
		return mediaError("unsupported_media", "the file holds only sound, no video track")
	case videos == 0:
		return mediaError("unsupported_media", "the file has no video track")
	case info.Duration <= 0:
		return mediaError("damaged_media", "the video has no duration: it is empty or damaged")
	case info.Duration > s.p.MaxDuration:
		return mediaError("media_too_long", "the video is %s long; a micro-lesson may be at most %s", minSec(info.Duration), minSec(s.p.MaxDuration))
	}
	return nil
}

// minSec writes a duration as "42 min 10 s".
func minSec(d time.Duration) string {
	d = d.Round(time.Second)
	m, sec := int64(d/time.Minute), int64(d%time.Minute/time.Second)
	switch {
	case m == 0:
		return fmt.Sprintf("%d s", sec)
	case sec == 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d min %d s", m, sec)
}

// contentType is the media type a container is served as.
func contentType(container string) string {
	if container == "webm" {
		return "video/webm"
	}
	return "video/mp4"
}
