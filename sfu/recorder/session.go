package recorder

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"yunke/sfu"
)

// ErrStopped is returned when adding a track to a stopped Session.
var ErrStopped = errors.New("recorder: session stopped")

// Defaults of Params.
const (
	DefaultQueueSize        = 2048
	DefaultLayerTimeout     = 2 * time.Second
	DefaultActivityInterval = 500 * time.Millisecond
	DefaultSyncInterval     = 5 * time.Second
)

// KeyframeRequester asks a publisher for a keyframe on a simulcast layer;
// *sfu.Track is one.
type KeyframeRequester interface {
	RequestKeyframe(layer int)
}

// Source is a published track a Session records; *sfu.Track is one.
type Source interface {
	KeyframeRequester
	AddTap(tap sfu.Tap) (remove func())
}

var _ Source = (*sfu.Track)(nil)

// Role is a participant's role in the class.
type Role string

// Roles.
const (
	RoleTeacher Role = "teacher"
	RoleStudent Role = "student"
)

// TrackSource is what a track carries (LiveKit's TrackSource names).
type TrackSource string

// Track sources.
const (
	SourceCamera           TrackSource = "camera"
	SourceMicrophone       TrackSource = "microphone"
	SourceScreenShare      TrackSource = "screen_share"
	SourceScreenShareAudio TrackSource = "screen_share_audio"
)

// Status is the state of a recorded track or of a whole recording.
type Status string

// Statuses. Damaged: the file plays but misses media (packets dropped
// because the disk could not keep up). Failed: writing stopped on an error;
// the file holds what was written before it (see Repair).
const (
	StatusRecording Status = "recording"
	StatusOK        Status = "ok"
	StatusDamaged   Status = "damaged"
	StatusFailed    Status = "failed"
)

// TrackMeta describes a track to record.
type TrackMeta struct {
	TrackID     string      `json:"track_id"`
	Participant string      `json:"participant"` // identity
	Role        Role        `json:"role"`
	Source      TrackSource `json:"source"`
	// Codec is the track's MIME type (sfu.Track.Codec().MimeType).
	Codec string `json:"codec"`
	// AudioLevelExtID is the RFC 6464 header extension id negotiated with
	// the publisher; on a microphone track it turns on speaking-activity
	// sampling. 0: none.
	AudioLevelExtID uint8 `json:"-"`
}

// TrackInfo is one track's entry in the Manifest.
type TrackInfo struct {
	TrackMeta
	// File is the file's name inside the recording's directory; empty when
	// nothing was written (e.g. a camera that never sent a keyframe).
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
	// OffsetMS is when the file's first frame plays on the recording's
	// timeline (ms after Manifest.StartedAt); DurationMS how long it lasts.
	OffsetMS   int64  `json:"offset_ms"`
	DurationMS int64  `json:"duration_ms"`
	Frames     uint64 `json:"frames"`
	// Drops counts packets lost because the disk could not keep up;
	// Skipped frames not written while waiting for a keyframe.
	Drops         uint64 `json:"drops"`
	Skipped       uint64 `json:"skipped"`
	LayerSwitches int    `json:"layer_switches,omitempty"`
	Status        Status `json:"status"`
	Reason        string `json:"reason,omitempty"`
}

// Manifest describes a finished recording; it is JSON-serialisable and the
// caller persists it (Stop also writes it as manifest.json beside the files).
type Manifest struct {
	Dir        string      `json:"dir"`
	StartedAt  time.Time   `json:"started_at"`
	EndedAt    time.Time   `json:"ended_at"`
	DurationMS int64       `json:"duration_ms"`
	Status     Status      `json:"status"`
	Reason     string      `json:"reason,omitempty"`
	Tracks     []TrackInfo `json:"tracks"`
	// Activity is every microphone's speaking activity, sampled every
	// ActivityIntervalMS.
	ActivityIntervalMS int64                 `json:"activity_interval_ms"`
	Activity           []ParticipantActivity `json:"activity"`
}

// TrackEvent reports a track's status change (damaged or failed) as it happens.
type TrackEvent struct {
	TrackID string
	Status  Status
	Err     error
}

// Params configure a Session.
type Params struct {
	// Dir receives the files; it is created if missing.
	Dir string
	// Clock is the clock of sfu.Packet.Arrival (default sfu.Now); the
	// recording's timeline starts at Clock() when Start is called.
	Clock func() int64
	// StartTime is the wall-clock instant the recording starts (default now).
	StartTime time.Time
	// QueueSize bounds each track's queue in packets (default 2048).
	QueueSize int
	// LayerTimeout: a simulcast layer silent this long is given up for a
	// lower one (default 2 s).
	LayerTimeout time.Duration
	// ActivityInterval is the speaking-activity resolution (default 500 ms).
	ActivityInterval time.Duration
	// SyncInterval: files are fsynced every this much media time (default
	// 5 s; negative: never).
	SyncInterval time.Duration
	// OnEvent, if set, is told when a track becomes damaged or fails. It is
	// called on the track's writer goroutine (never the forwarding loop) and
	// must not block for long.
	OnEvent func(TrackEvent)
	Metrics *Metrics
	Logger  *slog.Logger
}

// Session is one recording of a room: one file per recorded track.
type Session struct {
	p     Params
	log   *slog.Logger
	start int64 // Clock() at Start

	mu       sync.Mutex
	tracks   []*TrackHandle
	names    map[string]bool
	activity *activityLog
	stopped  bool
	manifest Manifest
}

// Start begins a recording in p.Dir.
func Start(p Params) (*Session, error) {
	if p.Clock == nil {
		p.Clock = sfu.Now
	}
	if p.StartTime.IsZero() {
		p.StartTime = time.Now()
	}
	if p.QueueSize <= 0 {
		p.QueueSize = DefaultQueueSize
	}
	if p.LayerTimeout <= 0 {
		p.LayerTimeout = DefaultLayerTimeout
	}
	if p.ActivityInterval <= 0 {
		p.ActivityInterval = DefaultActivityInterval
	}
	if p.SyncInterval == 0 {
		p.SyncInterval = DefaultSyncInterval
	}
	if p.Metrics == nil {
		p.Metrics = new(Metrics)
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(p.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording directory: %w", err)
	}
	s := &Session{p: p, log: p.Logger.With("recording", p.Dir), start: p.Clock(), names: map[string]bool{}}
	s.activity = newActivityLog(s.start, p.ActivityInterval)
	p.Metrics.Sessions.Add(1)
	return s, nil
}

// StartTime is the wall-clock instant the recording's timeline starts at.
func (s *Session) StartTime() time.Time { return s.p.StartTime }

// AddTrack starts recording src to a new file; meta describes it. Stop the
// returned handle when the track is unpublished (or let the track's end
// stop it); Session.Stop stops every track still recording.
func (s *Session) AddTrack(meta TrackMeta, src Source) (*TrackHandle, error) {
	spec, err := specFor(meta.Codec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil, ErrStopped
	}
	name := s.fileNameLocked(meta, spec.ext)
	s.mu.Unlock()

	f, err := os.OpenFile(filepath.Join(s.p.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return s.addTrack(meta, spec, src, f, name)
}

// addTrack records src to f, opened as name in the directory.
func (s *Session) addTrack(meta TrackMeta, spec codecSpec, src Source, f *os.File, name string) (*TrackHandle, error) {
	r := newTrackRecorder(s, meta, spec, name, f, src)
	go r.run()
	h := &TrackHandle{r: r}
	h.remove = src.AddTap(r)
	if meta.Source == SourceMicrophone && meta.AudioLevelExtID != 0 {
		h.removeActivity = src.AddTap(s.activity.tap(meta.Participant, meta.Role, meta.AudioLevelExtID))
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		h.Stop()
		return nil, ErrStopped
	}
	s.tracks = append(s.tracks, h)
	s.mu.Unlock()
	return h, nil
}

// fileNameLocked picks a file name: participant, source and track id,
// reduced to safe characters, unique in the directory.
func (s *Session) fileNameLocked(meta TrackMeta, ext string) string {
	base := safeName(meta.Participant) + "_" + safeName(string(meta.Source)) + "_" + safeName(meta.TrackID)
	name := base + "." + ext
	for i := 2; s.names[name] || exists(filepath.Join(s.p.Dir, name)); i++ {
		name = fmt.Sprintf("%s-%d.%s", base, i, ext)
	}
	s.names[name] = true
	return name
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 48 {
			break
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// Activity is the speaking activity so far, for saving it while the
// recording goes on: each participant's runs that end at or after sinceMS
// (ms from the start; a run may still grow), and the time it stands at,
// in ms from the start.
func (s *Session) Activity(sinceMS int64) ([]ParticipantActivity, int64) {
	now := s.p.Clock()
	return s.activity.snapshot(now, sinceMS), (now - s.start) / int64(time.Millisecond)
}

// Stop ends the recording: every track still recording is finished (its
// queue written out, Cues and Duration added), the Manifest is written to
// manifest.json in the directory and returned. It waits for the files to
// be written; later calls return the same Manifest.
func (s *Session) Stop() Manifest {
	s.mu.Lock()
	if s.stopped {
		m := s.manifest
		s.mu.Unlock()
		return m
	}
	s.stopped = true
	tracks := s.tracks
	s.mu.Unlock()

	end := s.p.Clock()
	m := Manifest{
		Dir:                s.p.Dir,
		StartedAt:          s.p.StartTime,
		EndedAt:            s.p.StartTime.Add(time.Duration(end - s.start)),
		DurationMS:         (end - s.start) / int64(time.Millisecond),
		ActivityIntervalMS: s.p.ActivityInterval.Milliseconds(),
	}
	infos := make([]TrackInfo, len(tracks))
	var wg sync.WaitGroup
	for i, h := range tracks {
		wg.Go(func() { infos[i] = h.Stop() })
	}
	wg.Wait()
	m.Tracks = infos
	m.Activity = s.activity.close(end)
	m.Status, m.Reason = overallStatus(infos)
	s.p.Metrics.Sessions.Add(-1)

	if err := writeManifest(s.p.Dir, m); err != nil {
		s.log.Warn("manifest not written", "err", err)
	}
	s.mu.Lock()
	s.manifest = m
	s.mu.Unlock()
	return m
}

// overallStatus: failed when every track failed, damaged when any track is
// damaged or failed, ok otherwise.
func overallStatus(tracks []TrackInfo) (Status, string) {
	failed, damaged := 0, 0
	var reason string
	for _, t := range tracks {
		switch t.Status {
		case StatusFailed:
			failed++
			if reason == "" {
				reason = t.TrackID + ": " + t.Reason
			}
		case StatusDamaged:
			damaged++
		}
	}
	switch {
	case failed > 0 && failed == len(tracks):
		return StatusFailed, reason
	case failed > 0 || damaged > 0:
		if reason == "" {
			reason = fmt.Sprintf("%d track(s) damaged", damaged)
		}
		return StatusDamaged, reason
	}
	return StatusOK, ""
}

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".manifest.json.tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "manifest.json"))
}

// TrackHandle controls one recorded track.
type TrackHandle struct {
	r              *trackRecorder
	remove         func()
	removeActivity func()
	once           sync.Once
	info           TrackInfo
}

// Stop detaches the recorder from the track, writes out what is queued and
// finishes the file. It waits for the writer; later calls return the same.
func (h *TrackHandle) Stop() TrackInfo {
	h.once.Do(func() {
		if h.removeActivity != nil {
			h.removeActivity()
		}
		if h.remove != nil {
			h.remove()
		}
		h.r.stop()
		<-h.r.done
		h.info = h.r.snapshot()
	})
	return h.info
}

// FileName is the name of the track's file in the recording's directory,
// fixed when the track was added (the file exists only once a frame was
// written).
func (h *TrackHandle) FileName() string { return h.r.name }

// Info is the track's state so far.
func (h *TrackHandle) Info() TrackInfo { return h.r.snapshot() }
