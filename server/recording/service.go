// Package recording records classes and tutoring sessions through the SFU
// and serves the catalogue of recordings: an Observer of signaling that
// starts a recording when a class's teacher is in its room — a scheduled
// class's ("class-<id>") when its class says so, filed under the class; a
// tutoring session's when configured — attaches every published track
// with sfu/recorder, sets the room's active_recording flag, saves the
// speaking activity as it goes, and stops when the room closes or a
// teacher or administrator stops it; then it files the result in storage.
// Everything after the stop runs as durable jobs of server/jobs on the
// node holding the files (jobs.go): uploading into the media store
// (blob.Store, the local copy deleted only once the store has confirmed
// it), filing a stop the database refused, repairing at startup the
// recordings a crash cut (marked interrupted), rendering composites, and
// deleting.
package recording

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"yunke/server/jobs"
	"yunke/server/stanalysis"
	"yunke/sfu/recorder"
	"yunke/signaling"
	"yunke/signaling/ids"
	"yunke/storage"
	"yunke/storage/blob"
)

// Store is what recordings need of durable storage.
type Store interface {
	CreateRecording(ctx context.Context, a storage.Actor, in storage.RecordingInput) (storage.Recording, error)
	AddRecordingTrack(ctx context.Context, id storage.RecordingID, t storage.RecordingTrackInput) (storage.RecordingTrackID, error)
	AddRecordingParticipant(ctx context.Context, id storage.RecordingID, p storage.RecordingParticipant) error
	FinishRecording(ctx context.Context, a storage.Actor, id storage.RecordingID, f storage.RecordingFinish) (storage.Recording, error)
	SetRecordingTrackStored(ctx context.Context, id storage.RecordingTrackID, key string, size int64) error
	SetRecordingDownload(ctx context.Context, id storage.RecordingID, d storage.RecordingDownload, at time.Time) error
	DeleteRecording(ctx context.Context, a storage.Actor, id storage.RecordingID, at time.Time) error
	GetRecording(ctx context.Context, id storage.RecordingID) (storage.Recording, error)
	RecordingTracks(ctx context.Context, id storage.RecordingID) ([]storage.RecordingTrack, error)
	RecordingSpeaking(ctx context.Context, id storage.RecordingID) ([]storage.SpeakingInterval, error)
	SaveRecordingSpeaking(ctx context.Context, id storage.RecordingID, sp []storage.SpeakingInterval) error
	UnfinishedRecordings(ctx context.Context) ([]storage.Recording, error)
	ListRecordings(ctx context.Context, f storage.RecordingFilter) ([]storage.Recording, int, error)
	ExpiredRecordings(ctx context.Context, endedBefore time.Time, limit int) ([]storage.RecordingRef, error)
	STCodes(ctx context.Context, id storage.RecordingID, intervalMS int64) ([]storage.STCode, error)
	SetSTCode(ctx context.Context, a storage.Actor, id storage.RecordingID, intervalMS int64, sample int, code, autoCode string, at time.Time) error
	SaveSTResult(ctx context.Context, r storage.STResult) error
	RecordingsWithoutST(ctx context.Context, limit int) ([]storage.RecordingID, error)

	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
	GetTutoringSession(ctx context.Context, id storage.TutoringSessionID) (storage.TutoringSession, error)
	GetClass(ctx context.Context, id storage.ClassID) (storage.Class, error)
	GetSchoolConsent(ctx context.Context, school storage.SchoolID) (storage.SchoolConsent, error)
}

var _ Store = (*storage.Store)(nil)

// Rooms is what recordings need of signaling: the rooms' recording flag.
type Rooms interface {
	SetActiveRecording(room signaling.RoomName, active bool) bool
}

// Params are what New needs.
type Params struct {
	Store Store
	// Media keeps the finished files under "recordings/<id>/…".
	Media blob.Store
	// Dir is this node's working directory: a recording is written to
	// Dir/<id>/ and its files removed once Media holds them.
	Dir string
	// Rooms sets the rooms' active_recording flag; it may be set after New
	// (signaling is built after the domains) with SetRooms.
	Rooms Rooms
	// Jobs runs the background steps — finalize, upload, repair,
	// composite, delete — as durable jobs; New registers their workers.
	Jobs *jobs.Queue
	// Composites bounds the composites this node renders at once
	// (default 1; each is an ffmpeg using about a core).
	Composites int
	// SpeakingFlush is how often the speaking activity of a recording in
	// progress is saved (default 10 s), so that a crash loses at most that.
	SpeakingFlush time.Duration
	// STInterval is the default sampling interval of the S-T analysis
	// (default 30 s).
	STInterval time.Duration
	// Retention: recordings that ended longer ago than this are deleted by
	// an hourly job (0: kept).
	Retention time.Duration
	// Classes records class rooms by default; Tutoring tutoring sessions.
	Classes, Tutoring bool
	// FFmpeg is the ffmpeg binary for composites ("": looked up on PATH;
	// "-": none).
	FFmpeg  string
	Metrics *recorder.Metrics
	Now     func() time.Time
	Logger  *slog.Logger
	// Egress, when set, hears each recording as LiveKit's egress events
	// (EgressStarted, EgressUpdated, EgressEnded); it must not block.
	Egress func(ctx context.Context, event string, info *livekit.EgressInfo)
	// Grants, when set, lets users watch recordings beyond their own
	// rules (a research group's members, the recordings its activities
	// study).
	Grants Grants
}

// Grants says whether u may watch rec through something other than their
// role and scope; it must not fail open. Someone who watches only through
// a grant and is not of the recording's school gets its teacher-only
// version unless the school has recorded its consent.
type Grants interface {
	MayWatch(ctx context.Context, u *storage.User, rec storage.Recording) (bool, error)
}

// A recording's life as LiveKit's egress events: started when it starts
// (EGRESS_ACTIVE), updated when it stops and its files are being stored
// (EGRESS_ENDING), ended once they are stored (EGRESS_COMPLETE; a recording
// a crash cut is EGRESS_ABORTED) or when it failed (EGRESS_FAILED).
const (
	EgressStarted = "egress_started"
	EgressUpdated = "egress_updated"
	EgressEnded   = "egress_ended"
)

// EgressID is a recording's id as an egress: EG_REC<id>.
func EgressID(id storage.RecordingID) string { return "EG_REC" + strconv.FormatInt(int64(id), 10) }

// Service records rooms and serves recordings.
type Service struct {
	p      Params
	log    *slog.Logger
	ffmpeg string
	// renderers holds a token per composite rendering on this node.
	renderers chan struct{}
	// retry: filing a stopped recording goes on in the background.
	retry   context.Context
	noRetry context.CancelFunc

	mu     sync.Mutex
	rooms  map[signaling.RoomName]*roomState
	closed bool
	wg     sync.WaitGroup

	dlMu sync.Mutex
	dl   map[storage.RecordingID]*sync.Mutex // one remux at a time per recording

	// sids are the room sids of recordings whose files are being stored,
	// for their egress_ended.
	sids map[storage.RecordingID]string
}

// roomState is what the service knows of an open room.
type roomState struct {
	present map[signaling.Identity]signaling.ParticipantEvent
	tracks  map[signaling.TrackID]signaling.TrackEvent
	rec     *active
	// starting: a recording is being created; stopped: a teacher or admin
	// stopped the recording, so it is not started again by itself.
	starting, stopped bool
	// emptySince: when the last participant left (zero while someone is in).
	emptySince time.Time
	// sid is the room's session id (RM_…).
	sid string
}

// active is a recording in progress.
type active struct {
	id       storage.RecordingID
	district storage.DistrictID
	// flushStop ends the saving of the speaking activity; flushDone is
	// closed once it ended.
	flushStop, flushDone chan struct{}
	sess                 *recorder.Session
	started              time.Time
	teacher              signaling.Identity // the identity of the teacher it is filed under
	tracks               map[signaling.TrackID]*activeTrack
	sid                  string // the room's sid
}

type activeTrack struct {
	h    *recorder.TrackHandle
	file string
	dbID chan storage.RecordingTrackID // filled once the row is written (0 on failure)
}

// New returns the service.
func New(p Params) *Service {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Metrics == nil {
		p.Metrics = new(recorder.Metrics)
	}
	s := &Service{p: p, log: p.Logger, rooms: map[signaling.RoomName]*roomState{}, dl: map[storage.RecordingID]*sync.Mutex{},
		sids: map[storage.RecordingID]string{}}
	switch p.FFmpeg {
	case "-":
	case "":
		s.ffmpeg, _ = exec.LookPath("ffmpeg")
	default:
		s.ffmpeg = p.FFmpeg
	}
	if p.Composites <= 0 {
		s.p.Composites = 1
	}
	if p.SpeakingFlush <= 0 {
		s.p.SpeakingFlush = 10 * time.Second
	}
	if p.STInterval <= 0 {
		s.p.STInterval = time.Duration(stanalysis.DefaultInterval) * time.Millisecond
	}
	s.renderers = make(chan struct{}, s.p.Composites)
	s.retry, s.noRetry = context.WithCancel(context.Background())
	if p.Jobs != nil {
		s.registerJobs(p.Jobs)
	}
	return s
}

// SetRooms sets the rooms' flag setter (signaling, built after New).
func (s *Service) SetRooms(r Rooms) {
	s.mu.Lock()
	s.p.Rooms = r
	s.mu.Unlock()
}

// Metrics are the recorder's counters.
func (s *Service) Metrics() *recorder.Metrics { return s.p.Metrics }

func (s *Service) setFlag(room signaling.RoomName, on bool) {
	s.mu.Lock()
	r := s.p.Rooms
	s.mu.Unlock()
	if r != nil {
		r.SetActiveRecording(room, on)
	}
}

// ---- room names

// schoolOfClass is the school of a class room ("s<school>-<name>", as the
// rooms domain names them) and the class's own name.
func schoolOfClass(room signaling.RoomName) (storage.SchoolID, string, bool) {
	rest, ok := strings.CutPrefix(string(room), "s")
	if !ok {
		return 0, "", false
	}
	num, name, ok := strings.Cut(rest, "-")
	if !ok || name == "" {
		return 0, "", false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num {
		return 0, "", false
	}
	return storage.SchoolID(n), name, true
}

// classOfRoom is the scheduled class of a room ("class-<id>").
func classOfRoom(room signaling.RoomName) (storage.ClassID, bool) {
	id, ok := ids.ClassOfRoom(ids.RoomName(room))
	return storage.ClassID(id), ok
}

// sessionOfTutoringRoom is the tutoring session of a room ("tutor-<id>").
func sessionOfTutoringRoom(room signaling.RoomName) (storage.TutoringSessionID, bool) {
	num, ok := strings.CutPrefix(string(room), "tutor-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num {
		return 0, false
	}
	return storage.TutoringSessionID(n), true
}

// accountOf is the account a room identity names ("u<id>").
func accountOf(identity signaling.Identity) (storage.UserID, bool) {
	num, ok := strings.CutPrefix(string(identity), "u")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num {
		return 0, false
	}
	return storage.UserID(n), true
}

// roleOf is a participant's role in a recording: the teacher it is filed
// under is the teacher (a tutoring session's peers are both "peer" in
// their tokens), others by their token's role attribute.
func roleOf(rec *active, p signaling.ParticipantEvent) string {
	if rec != nil && p.Identity == rec.teacher {
		return "teacher"
	}
	switch r := p.Attributes["role"]; r {
	case "teacher", "student", "observer", "assistant":
		return r
	}
	return "student"
}

// ---- signaling.Observer

var _ signaling.RoomObserver = (*Service)(nil)

// RoomOpened implements signaling.RoomObserver.
func (s *Service) RoomOpened(context.Context, signaling.RoomName) {}

// RoomClosed implements signaling.RoomObserver: the room's recording stops.
func (s *Service) RoomClosed(_ context.Context, room signaling.RoomName) {
	s.mu.Lock()
	rs := s.rooms[room]
	if rs == nil || len(rs.present) > 0 { // opened again meanwhile
		s.mu.Unlock()
		return
	}
	delete(s.rooms, room)
	rec, empty := rs.rec, rs.emptySince
	rs.rec = nil
	s.mu.Unlock()
	if rec != nil {
		// The class ended when its room emptied, not when the room was
		// given up waiting for someone to come back.
		_ = s.finishAt(context.Background(), room, rec, storage.Actor{}, empty)
	}
}

func (s *Service) roomLocked(room signaling.RoomName) *roomState {
	rs := s.rooms[room]
	if rs == nil {
		rs = &roomState{present: map[signaling.Identity]signaling.ParticipantEvent{}, tracks: map[signaling.TrackID]signaling.TrackEvent{}}
		s.rooms[room] = rs
	}
	return rs
}

// ParticipantJoined implements signaling.Observer: a class's recording
// starts when its teacher is in the room; a tutoring session's (when
// configured) when either of the pair is.
func (s *Service) ParticipantJoined(_ context.Context, ev signaling.ParticipantEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	rs := s.roomLocked(ev.Room)
	rs.present[ev.Identity] = ev
	rs.emptySince = time.Time{}
	if ev.RoomSID != "" {
		rs.sid = ev.RoomSID
	}
	if rs.rec != nil {
		rec := rs.rec
		s.goLocked(func() { s.addParticipant(rec, ev) })
		return
	}
	if rs.starting || rs.stopped || ev.Hidden {
		return
	}
	uid, ok := accountOf(ev.Identity)
	if !ok {
		return
	}
	if _, _, class := schoolOfClass(ev.Room); class && s.p.Classes && ev.Attributes["role"] == "teacher" {
		rs.starting = true
		s.goLocked(func() { _, _ = s.start(context.Background(), ev.Room, uid, storage.Actor{}) })
		return
	}
	if cid, class := classOfRoom(ev.Room); class && s.p.Classes && ev.Attributes["role"] == "teacher" {
		// A scheduled class is recorded when its record says so (the
		// default) and its own teacher is in the room.
		rs.starting = true
		s.goLocked(func() { s.startClass(ev.Room, cid, uid) })
		return
	}
	if _, tutoring := sessionOfTutoringRoom(ev.Room); tutoring && s.p.Tutoring {
		rs.starting = true
		s.goLocked(func() { _, _ = s.start(context.Background(), ev.Room, 0, storage.Actor{}) })
	}
}

// ParticipantLeft implements signaling.Observer.
func (s *Service) ParticipantLeft(_ context.Context, ev signaling.ParticipantEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.rooms[ev.Room]; rs != nil {
		delete(rs.present, ev.Identity)
		if len(rs.present) == 0 {
			rs.emptySince = s.p.Now()
		}
	}
}

// TrackPublished implements signaling.Observer: a track of a recorded room
// is attached at once; others are remembered for when recording starts.
func (s *Service) TrackPublished(_ context.Context, ev signaling.TrackEvent) {
	if ev.Track == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	rs := s.roomLocked(ev.Room)
	rs.tracks[ev.ID] = ev
	if rs.rec != nil {
		s.attachLocked(rs.rec, ev)
	}
}

// TrackUnpublished implements signaling.Observer: the track's file is finished.
func (s *Service) TrackUnpublished(_ context.Context, ev signaling.TrackEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.rooms[ev.Room]
	if rs == nil {
		return
	}
	delete(rs.tracks, ev.ID)
	if rs.rec != nil {
		if t := rs.rec.tracks[ev.ID]; t != nil {
			s.goLocked(func() { t.h.Stop() })
		}
	}
}

// goLocked runs f on a goroutine Close waits for.
func (s *Service) goLocked(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func sourceName(src livekit.TrackSource) recorder.TrackSource {
	switch src {
	case livekit.TrackSource_CAMERA:
		return recorder.SourceCamera
	case livekit.TrackSource_MICROPHONE:
		return recorder.SourceMicrophone
	case livekit.TrackSource_SCREEN_SHARE:
		return recorder.SourceScreenShare
	case livekit.TrackSource_SCREEN_SHARE_AUDIO:
		return recorder.SourceScreenShareAudio
	}
	return recorder.TrackSource(strings.ToLower(src.String()))
}

// attachLocked starts recording one track (once) and writes its row.
func (s *Service) attachLocked(rec *active, ev signaling.TrackEvent) {
	if rec.tracks[ev.ID] != nil {
		return
	}
	role := roleOf(rec, ev.Participant)
	rrole := recorder.RoleStudent
	if role == "teacher" {
		rrole = recorder.RoleTeacher
	}
	meta := recorder.TrackMeta{TrackID: string(ev.ID), Participant: string(ev.Participant.Identity), Role: rrole,
		Source: sourceName(ev.Source), Codec: ev.Track.Codec().MimeType, AudioLevelExtID: ev.AudioLevelExtension}
	h, err := rec.sess.AddTrack(meta, ev.Track)
	if err != nil {
		s.log.Warn("track not recorded", "recording", rec.id, "track", ev.ID, "codec", meta.Codec, "err", err)
		return
	}
	file := h.FileName()
	t := &activeTrack{h: h, file: file, dbID: make(chan storage.RecordingTrackID, 1)}
	rec.tracks[ev.ID] = t
	kind := "video"
	if strings.HasPrefix(strings.ToLower(meta.Codec), "audio/") {
		kind = "audio"
	}
	in := storage.RecordingTrackInput{TrackSID: string(ev.ID), Participant: meta.Participant, Name: ev.Participant.Name,
		Role: role, Source: string(meta.Source), Kind: kind, Codec: meta.Codec, File: file,
		OffsetMS: s.p.Now().Sub(rec.started).Milliseconds()}
	id := rec.id
	s.goLocked(func() {
		tid, err := s.p.Store.AddRecordingTrack(context.Background(), id, in)
		if err != nil {
			s.log.Warn("track row not written", "recording", id, "track", in.TrackSID, "err", err)
		}
		t.dbID <- tid
	})
}

func (s *Service) addParticipant(rec *active, ev signaling.ParticipantEvent) {
	id := rec.id
	if ev.Hidden {
		return // observers are not part of the lesson
	}
	uid, _ := accountOf(ev.Identity)
	if err := s.p.Store.AddRecordingParticipant(context.Background(), id, storage.RecordingParticipant{
		Identity: string(ev.Identity), UserID: uid, Name: ev.Name, Role: roleOf(rec, ev)}); err != nil {
		s.log.Warn("participant not recorded", "recording", id, "participant", ev.Identity, "err", err)
	}
}

// startClass records a scheduled class's room if its class is recorded
// and teacher is its teacher.
func (s *Service) startClass(room signaling.RoomName, id storage.ClassID, teacher storage.UserID) {
	c, err := s.p.Store.GetClass(context.Background(), id)
	if err != nil || !c.Recording || c.TeacherID != teacher {
		if err != nil {
			s.log.Warn("class not found for its room", "room", room, "err", err)
		}
		s.mu.Lock()
		if rs := s.rooms[room]; rs != nil {
			rs.starting = false
		}
		s.mu.Unlock()
		return
	}
	_, _ = s.start(context.Background(), room, teacher, storage.Actor{})
}

// Errors of starting and stopping.
var (
	ErrRoomNotOpen = errors.New("the room is not open")
	ErrNoTeacher   = errors.New("no teacher to file the recording under")
	ErrRecording   = errors.New("the room is already being recorded")
)

// start records room under teacher (0: the room's teacher, or the tutoring
// session's). Called with roomState.starting set, or by Start.
func (s *Service) start(ctx context.Context, room signaling.RoomName, teacher storage.UserID, a storage.Actor) (storage.RecordingID, error) {
	clear := func() {
		s.mu.Lock()
		if rs := s.rooms[room]; rs != nil {
			rs.starting = false
		}
		s.mu.Unlock()
	}
	in := storage.RecordingInput{Room: string(room), TeacherID: teacher, StartedAt: s.p.Now(),
		ActivityIntervalMS: int(recorder.DefaultActivityInterval.Milliseconds())}
	if _, name, ok := schoolOfClass(room); ok {
		in.Kind, in.Title = storage.RecordingClass, name
	} else if cid, ok := classOfRoom(room); ok {
		c, err := s.p.Store.GetClass(ctx, cid)
		if err != nil {
			clear()
			return 0, fmt.Errorf("recording: class of %s: %w", room, err)
		}
		// Filed under the class: its teacher (whoever started it), title,
		// subject, grade, knowledge points, school and district.
		in.Kind, in.ClassID, in.Title, in.TeacherID = storage.RecordingClass, c.ID, c.Title, c.TeacherID
		in.SubjectID, in.Grade, in.KnowledgePoints = c.SubjectID, c.Grade, c.KnowledgePoints
	} else if sid, ok := sessionOfTutoringRoom(room); ok {
		sess, err := s.p.Store.GetTutoringSession(ctx, sid)
		if err != nil {
			clear()
			return 0, fmt.Errorf("recording: tutoring session of %s: %w", room, err)
		}
		in.Kind, in.TutoringSessionID, in.SubjectID, in.Grade = storage.RecordingTutoring, sid, sess.SubjectID, sess.Grade
		in.TeacherID = sess.TeacherID
		in.Title = sess.StudentName
	} else {
		clear()
		return 0, fmt.Errorf("recording: %s is neither a class nor a tutoring room: %w", room, ErrRoomNotOpen)
	}
	if in.TeacherID == 0 {
		clear()
		return 0, ErrNoTeacher
	}
	rec, err := s.p.Store.CreateRecording(ctx, a, in)
	if err != nil {
		clear()
		s.log.Error("recording not started", "room", room, "err", err)
		return 0, err
	}
	sess, err := recorder.Start(recorder.Params{Dir: filepath.Join(s.p.Dir, strconv.FormatInt(int64(rec.ID), 10)),
		StartTime: in.StartedAt, Metrics: s.p.Metrics, Logger: s.log.With("recording", rec.ID),
		OnEvent: func(ev recorder.TrackEvent) {
			s.log.Warn("recorded track "+string(ev.Status), "recording", rec.ID, "track", ev.TrackID, "err", ev.Err)
		}})
	if err == nil {
		s.mu.Lock()
		rs := s.rooms[room]
		if rs == nil || s.closed || rs.rec != nil {
			err = ErrRoomNotOpen
			if rs != nil && rs.rec != nil {
				err = ErrRecording
			}
		} else {
			act := &active{id: rec.ID, district: rec.DistrictID, sess: sess, started: in.StartedAt, tracks: map[signaling.TrackID]*activeTrack{},
				teacher:   signaling.Identity("u" + strconv.FormatInt(int64(in.TeacherID), 10)),
				flushStop: make(chan struct{}), flushDone: make(chan struct{}), sid: rs.sid}
			rs.rec, rs.starting, rs.stopped = act, false, false
			s.goLocked(func() { s.flushSpeaking(act) })
			for _, ev := range rs.tracks {
				s.attachLocked(act, ev)
			}
			for _, p := range rs.present {
				s.goLocked(func() { s.addParticipant(act, p) })
			}
		}
		s.mu.Unlock()
		if err != nil {
			sess.Stop()
		}
	}
	if err != nil {
		clear()
		if _, ferr := s.p.Store.FinishRecording(context.Background(), storage.Actor{}, rec.ID, storage.RecordingFinish{
			Status: storage.RecordingFailed, Reason: err.Error(), EndedAt: s.p.Now()}); ferr != nil {
			s.log.Warn("recording not closed", "recording", rec.ID, "err", ferr)
		}
		return 0, err
	}
	s.setFlag(room, true)
	s.log.Info("recording started", "recording", rec.ID, "room", room, "teacher", in.TeacherID)
	info := s.egressInfo(rec.ID, string(room), s.sidOf(room), livekit.EgressStatus_EGRESS_ACTIVE, in.StartedAt)
	s.egress(ctx, EgressStarted, info)
	return rec.ID, nil
}

// Start starts recording an open room (teacher 0: the room's teacher).
func (s *Service) Start(ctx context.Context, a storage.Actor, room signaling.RoomName, teacher storage.UserID) (storage.RecordingID, error) {
	s.mu.Lock()
	rs := s.rooms[room]
	switch {
	case rs == nil || len(rs.present) == 0:
		s.mu.Unlock()
		return 0, ErrRoomNotOpen
	case rs.rec != nil:
		id := rs.rec.id
		s.mu.Unlock()
		return id, nil
	case rs.starting:
		s.mu.Unlock()
		return 0, ErrRecording
	}
	if teacher == 0 {
		for _, p := range rs.present {
			if uid, ok := accountOf(p.Identity); ok && p.Attributes["role"] == "teacher" {
				teacher = uid
				break
			}
		}
	}
	rs.starting = true
	s.mu.Unlock()
	return s.start(ctx, room, teacher, a)
}

// Stop stops the room's recording, if any, and keeps it from starting again
// by itself; it returns the recording stopped (0: none).
func (s *Service) Stop(ctx context.Context, a storage.Actor, room signaling.RoomName) (storage.RecordingID, error) {
	s.mu.Lock()
	rs := s.rooms[room]
	if rs == nil {
		s.mu.Unlock()
		return 0, nil
	}
	rs.stopped = true
	rec := rs.rec
	rs.rec = nil
	s.mu.Unlock()
	if rec == nil {
		return 0, nil
	}
	if err := s.finish(ctx, room, rec, a); err != nil {
		return rec.id, err
	}
	return rec.id, nil
}

// Active is the recording in progress in room (0: none).
func (s *Service) Active(room signaling.RoomName) storage.RecordingID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.rooms[room]; rs != nil && rs.rec != nil {
		return rs.rec.id
	}
	return 0
}

// finish stops a recording's files, files the result and queues the upload.
func (s *Service) finish(ctx context.Context, room signaling.RoomName, rec *active, a storage.Actor) error {
	return s.finishAt(ctx, room, rec, a, time.Time{})
}

// finishAt is finish with the recording ending at end, when the room
// emptied before it was closed (zero: now).
func (s *Service) finishAt(ctx context.Context, room signaling.RoomName, rec *active, a storage.Actor, end time.Time) error {
	s.setFlag(room, false)
	close(rec.flushStop)
	<-rec.flushDone
	m := rec.sess.Stop()
	fin := storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: m.EndedAt, DurationMS: m.DurationMS}
	if !end.IsZero() && end.After(rec.started) && end.Before(m.EndedAt) {
		fin.EndedAt, fin.DurationMS = end, end.Sub(rec.started).Milliseconds()
	}
	switch m.Status {
	case recorder.StatusFailed:
		fin.Status, fin.Reason = storage.RecordingFailed, m.Reason
	case recorder.StatusDamaged:
		fin.Reason = m.Reason
	}
	byFile := map[string]recorder.TrackInfo{}
	for _, ti := range m.Tracks {
		byFile[ti.File] = ti
	}
	for _, t := range rec.tracks {
		var tid storage.RecordingTrackID
		select {
		case tid = <-t.dbID:
		case <-time.After(30 * time.Second):
		}
		if tid == 0 {
			continue
		}
		ti := byFile[t.file]
		status := storage.TrackReady
		switch ti.Status {
		case recorder.StatusDamaged:
			status = storage.TrackDamaged
		case recorder.StatusFailed:
			status = storage.TrackFailed
		}
		fin.Tracks = append(fin.Tracks, storage.RecordingTrackResult{ID: tid, SizeBytes: ti.Bytes, OffsetMS: ti.OffsetMS,
			DurationMS: ti.DurationMS, Frames: int64(ti.Frames), Drops: int64(ti.Drops), Status: status, Reason: ti.Reason})
	}
	fin.Speaking = speakingOf(m.Activity)
	_, err := s.p.Store.FinishRecording(ctx, a, rec.id, fin)
	if errors.Is(err, storage.ErrClosed) {
		return nil // filed already
	}
	if err != nil {
		// The database refused: the result waits beside the files and a
		// job files it, so that the recording is not left "recording".
		s.log.Error("recording not filed; filing it again later", "recording", rec.id, "err", err)
		if serr := s.saveFinish(rec.id, fin); serr != nil {
			s.log.Error("recording result not saved; repaired at the next start", "recording", rec.id, "err", serr)
			return err
		}
		s.retryFinalize(rec.id, rec.district)
		return err
	}
	s.log.Info("recording finished", "recording", rec.id, "room", room, "status", fin.Status, "duration_ms", fin.DurationMS)
	if fin.Status != storage.RecordingFailed {
		s.keepAutoST(ctx, rec.id)
	}
	info := s.egressInfo(rec.id, string(room), rec.sid, livekit.EgressStatus_EGRESS_ENDING, rec.started)
	info.EndedAt = fin.EndedAt.UnixNano()
	if fin.Status == storage.RecordingFailed {
		info.Status, info.Error = livekit.EgressStatus_EGRESS_FAILED, fin.Reason
		s.egress(ctx, EgressEnded, info)
	} else {
		s.mu.Lock()
		s.sids[rec.id] = rec.sid
		s.mu.Unlock()
		s.egress(ctx, EgressUpdated, info)
	}
	return s.enqueueUpload(ctx, rec.id, rec.district)
}

// speakingOf is the speaking activity as rows.
func speakingOf(acts []recorder.ParticipantActivity) []storage.SpeakingInterval {
	var out []storage.SpeakingInterval
	for _, pa := range acts {
		for _, iv := range pa.Speaking {
			out = append(out, storage.SpeakingInterval{Identity: pa.Participant, Role: string(pa.Role),
				StartMS: iv.FromMS, EndMS: iv.ToMS, Level: float64(iv.Level)})
		}
	}
	return out
}

// flushSpeaking saves the speaking activity of a recording in progress
// every SpeakingFlush, so that a recording a crash cuts keeps all of it
// but the last seconds. Each save takes the intervals that ended since
// one period before the last save (a window may close late, after a
// silence), as upserts.
func (s *Service) flushSpeaking(rec *active) {
	defer close(rec.flushDone)
	t := time.NewTicker(s.p.SpeakingFlush)
	defer t.Stop()
	period := s.p.SpeakingFlush.Milliseconds()
	var since int64
	for {
		select {
		case <-rec.flushStop:
			return
		case <-t.C:
		}
		acts, now := rec.sess.Activity(since)
		if sp := speakingOf(acts); len(sp) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), s.p.SpeakingFlush)
			err := s.p.Store.SaveRecordingSpeaking(ctx, rec.id, sp)
			cancel()
			if err != nil {
				s.log.Warn("speaking activity not saved; saved with the next", "recording", rec.id, "err", err)
				continue
			}
		}
		since = max(now-period, 0)
	}
}

// retryFinalize queues the finalize job of a recording whose result the
// database refused; while the queue (in the same database) refuses too, it
// tries again in the background, and at the next start the repair job
// finds the saved result.
func (s *Service) retryFinalize(id storage.RecordingID, district storage.DistrictID) {
	if s.enqueue(s.retry, finalizeArgs{int64(id)}, district, 0) == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.goLocked(func() {
		wait := time.Second
		for {
			select {
			case <-s.retry.Done():
				return
			case <-time.After(wait):
			}
			if s.enqueue(s.retry, finalizeArgs{int64(id)}, district, 0) == nil {
				return
			}
			wait = min(2*wait, time.Minute)
		}
	})
}

// isActive reports whether this process is recording id.
func (s *Service) isActive(id storage.RecordingID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range s.rooms {
		if rs.rec != nil && rs.rec.id == id {
			return true
		}
	}
	return false
}

// mediaKey is the key of a recording's file in the media store.
func mediaKey(id storage.RecordingID, file string) string {
	return "recordings/" + strconv.FormatInt(int64(id), 10) + "/" + file
}

func (s *Service) workDir(id storage.RecordingID) string {
	return filepath.Join(s.p.Dir, strconv.FormatInt(int64(id), 10))
}

// Upload moves a finished recording's files into the media store: each
// file is put, checked by its size, marked stored, and only then removed
// from the working directory. It is idempotent, so retries and a restart
// are safe.
func (s *Service) Upload(ctx context.Context, id storage.RecordingID) error {
	rec, err := s.p.Store.GetRecording(ctx, id)
	if err != nil {
		return err
	}
	dir := s.workDir(id)
	if rec.Status == storage.RecordingDeleted {
		return os.RemoveAll(dir)
	}
	if rec.Status == storage.RecordingInProgress {
		return nil
	}
	for _, t := range rec.Tracks {
		path := filepath.Join(dir, t.File)
		if t.Stored {
			_ = os.Remove(path) // confirmed before a crash
			continue
		}
		if err := s.put(ctx, path, mediaKey(id, t.File), t); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(dir, "manifest.json"))
	_ = os.Remove(dir) // only when empty
	if s.p.Egress != nil {
		if rec, err = s.p.Store.GetRecording(ctx, id); err != nil {
			return err
		}
		s.uploaded(ctx, rec)
	}
	return nil
}

// uploaded tells of a recording whose files are all stored: egress_ended.
func (s *Service) uploaded(ctx context.Context, rec storage.Recording) {
	if s.p.Egress == nil || (rec.Status != storage.RecordingReady && rec.Status != storage.RecordingInterrupted) {
		return
	}
	s.mu.Lock()
	sid := s.sids[rec.ID]
	delete(s.sids, rec.ID)
	s.mu.Unlock()
	info := s.egressInfo(rec.ID, rec.Room, sid, livekit.EgressStatus_EGRESS_COMPLETE, rec.StartedAt)
	info.EndedAt = rec.EndedAt.UnixNano()
	if rec.Status == storage.RecordingInterrupted {
		info.Status, info.Error = livekit.EgressStatus_EGRESS_ABORTED, rec.StatusReason
	}
	var latest *livekit.FileInfo
	for _, t := range rec.Tracks {
		if !t.Stored {
			continue
		}
		start := rec.StartedAt.Add(time.Duration(t.OffsetMS) * time.Millisecond)
		fi := &livekit.FileInfo{Filename: t.File, Location: t.FileKey, Size: t.SizeBytes,
			StartedAt: start.UnixNano(), EndedAt: start.Add(time.Duration(t.DurationMS) * time.Millisecond).UnixNano(),
			Duration: (time.Duration(t.DurationMS) * time.Millisecond).Nanoseconds()}
		info.FileResults = append(info.FileResults, fi)
		latest = fi
	}
	if latest != nil {
		info.Result = &livekit.EgressInfo_File{File: latest}
	}
	s.egress(ctx, EgressEnded, info)
}

// egressInfo describes recording id of room as an egress.
func (s *Service) egressInfo(id storage.RecordingID, room, sid string, status livekit.EgressStatus, started time.Time) *livekit.EgressInfo {
	return &livekit.EgressInfo{EgressId: EgressID(id), RoomId: sid, RoomName: room, Status: status,
		SourceType: livekit.EgressSourceType_EGRESS_SOURCE_TYPE_SDK, StartedAt: started.UnixNano(), UpdatedAt: s.p.Now().UnixNano(),
		Request: &livekit.EgressInfo_RoomComposite{RoomComposite: &livekit.RoomCompositeEgressRequest{RoomName: room}}}
}

func (s *Service) egress(ctx context.Context, event string, info *livekit.EgressInfo) {
	if s.p.Egress != nil {
		s.p.Egress(ctx, event, info)
	}
}

// sidOf is the sid of an open room ("" when unknown).
func (s *Service) sidOf(room signaling.RoomName) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.rooms[room]; rs != nil {
		return rs.sid
	}
	return ""
}

func (s *Service) put(ctx context.Context, path, key string, t storage.RecordingTrack) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing was written (no keyframe) or lost with the disk
	}
	if err != nil {
		return fmt.Errorf("recording: upload %s: %w", key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("recording: upload %s: %w", key, err)
	}
	ct := "video/webm"
	if t.Kind == "audio" {
		ct = "audio/webm"
	}
	if strings.HasSuffix(t.File, ".mkv") {
		ct = "video/x-matroska"
	}
	if err := s.p.Media.Put(ctx, key, f, st.Size(), ct); err != nil {
		return fmt.Errorf("recording: upload %s: %w", key, err)
	}
	info, err := s.p.Media.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("recording: upload %s: %w", key, err)
	}
	if info.Size != st.Size() {
		return fmt.Errorf("recording: upload %s: the store holds %d of %d bytes", key, info.Size, st.Size())
	}
	if err := s.p.Store.SetRecordingTrackStored(ctx, t.ID, key, st.Size()); err != nil {
		return err
	}
	f.Close()
	if err := os.Remove(path); err != nil {
		s.log.Warn("uploaded file not removed", "path", path, "err", err)
	}
	return nil
}

// orphanAfter: a recording still "recording" this long after its start,
// whose files no node has, is repaired by whichever node starts.
const orphanAfter = 24 * time.Hour

// Recover queues what a crash left: a repair job for every recording
// still "recording" (its files are repaired with recorder.Repair and it is
// marked interrupted at the time of the cut, or filed from the result its
// stop saved), and an upload job for every finished recording whose files
// are still in the working directory. Call it before recording anything.
func (s *Service) Recover(ctx context.Context) error {
	recs, err := s.p.Store.UnfinishedRecordings(ctx)
	if err != nil {
		return err
	}
	seen := map[storage.RecordingID]bool{}
	for _, rec := range recs {
		seen[rec.ID] = true
		// Another node's recording in progress has no directory here: it
		// is that node's to repair when it restarts — unless it started
		// longer ago than any class lasts (its node and disk are gone).
		if _, err := os.Stat(s.workDir(rec.ID)); err != nil && s.p.Now().Sub(rec.StartedAt) < orphanAfter {
			s.log.Info("recording in progress elsewhere, or its files are lost; left to its node", "recording", rec.ID)
			continue
		}
		if err := s.enqueue(ctx, repairArgs{int64(rec.ID)}, rec.DistrictID, 0); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(s.p.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	for _, e := range entries {
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || !e.IsDir() || seen[storage.RecordingID(n)] {
			continue
		}
		id := storage.RecordingID(n)
		if err := s.enqueueUpload(ctx, id, s.districtOf(ctx, id)); err != nil {
			return err
		}
	}
	return nil
}

// repair repairs one cut recording's files and marks it interrupted.
func (s *Service) repair(ctx context.Context, rec storage.Recording) error {
	tracks, err := s.p.Store.RecordingTracks(ctx, rec.ID)
	if err != nil {
		return err
	}
	dir := s.workDir(rec.ID)
	fin := storage.RecordingFinish{Status: storage.RecordingInterrupted}
	var end int64 // ms after the start of the last media kept
	var lastWrite time.Time
	for _, t := range tracks {
		path := filepath.Join(dir, t.File)
		// The offset is the file's first frame's, from its tag; the row's
		// (when the track was attached) only without one.
		res := storage.RecordingTrackResult{ID: t.ID, OffsetMS: t.OffsetMS, Status: storage.TrackReady}
		if st, err := os.Stat(path); err == nil && st.ModTime().After(lastWrite) {
			lastWrite = st.ModTime()
		}
		rr, err := recorder.Repair(path)
		if err != nil {
			res.Status, res.Reason = storage.TrackFailed, err.Error()
			if errors.Is(err, os.ErrNotExist) {
				res.Reason = "no file"
			}
		} else {
			res.SizeBytes, res.DurationMS, res.Frames = rr.Size, rr.DurationMS, rr.Frames
			if rr.HasOffset {
				res.OffsetMS = rr.OffsetMS
			}
			end = max(end, res.OffsetMS+rr.DurationMS)
		}
		fin.Tracks = append(fin.Tracks, res)
	}
	fin.DurationMS = end
	fin.EndedAt = rec.StartedAt.Add(time.Duration(end) * time.Millisecond)
	if !lastWrite.IsZero() && lastWrite.After(fin.EndedAt) && lastWrite.Sub(rec.StartedAt) < 48*time.Hour {
		// The files were written until the cut; media ends a moment before.
		fin.EndedAt = lastWrite
	}
	fin.Reason = "the server stopped while recording; the files were repaired up to " + fin.EndedAt.UTC().Format(time.RFC3339)
	if _, err := s.p.Store.FinishRecording(ctx, storage.Actor{}, rec.ID, fin); err != nil {
		return err
	}
	s.log.Warn("recording interrupted by a crash, repaired", "recording", rec.ID, "duration_ms", end, "tracks", len(tracks))
	s.keepAutoST(ctx, rec.ID)
	return nil
}

// Close stops every recording in progress (each is filed and its upload
// queued) and waits for the service's work.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	type stop struct {
		room signaling.RoomName
		rec  *active
	}
	var stops []stop
	for name, rs := range s.rooms {
		if rs.rec != nil {
			stops = append(stops, stop{name, rs.rec})
			rs.rec = nil
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, st := range stops {
		wg.Go(func() { _ = s.finish(context.Background(), st.room, st.rec, storage.Actor{}) })
	}
	wg.Wait()
	s.noRetry()
	s.wg.Wait()
}

// copyObject copies a stored object (or the local file while it is not
// stored) to path.
func (s *Service) copyTrack(ctx context.Context, t storage.RecordingTrack, path string) error {
	var src io.ReadCloser
	if t.Stored {
		obj, err := s.p.Media.Open(ctx, t.FileKey)
		if err != nil {
			return err
		}
		src = obj
	} else {
		f, err := os.Open(filepath.Join(s.workDir(t.RecordingID), t.File))
		if err != nil {
			return fmt.Errorf("recording: track %d: %w", t.ID, err)
		}
		src = f
	}
	defer src.Close()
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return fmt.Errorf("recording: copy track %d: %w", t.ID, err)
	}
	return out.Close()
}
