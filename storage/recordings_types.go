package storage

import (
	"slices"
	"strconv"
	"time"
)

// RecordingID identifies a recording; ids are never reused.
type RecordingID int64

// RecordingTrackID identifies one recorded track (one file).
type RecordingTrackID int64

// RecordingKind is what was recorded.
type RecordingKind string

const (
	RecordingClass    RecordingKind = "class"
	RecordingTutoring RecordingKind = "tutoring"
)

// RecordingStatus is where a recording stands.
type RecordingStatus string

const (
	RecordingInProgress  RecordingStatus = "recording"   // being written
	RecordingReady       RecordingStatus = "ready"       // finished, its files kept
	RecordingInterrupted RecordingStatus = "interrupted" // cut by a crash, repaired at the next start
	RecordingFailed      RecordingStatus = "failed"      // stopped on an error (disk full, …)
	RecordingDeleted     RecordingStatus = "deleted"     // removed by an administrator; its row stays
)

// Valid reports whether s is a known status.
func (s RecordingStatus) Valid() bool {
	switch s {
	case RecordingInProgress, RecordingReady, RecordingInterrupted, RecordingFailed, RecordingDeleted:
		return true
	}
	return false
}

// Track statuses.
const (
	TrackRecording = "recording"
	TrackReady     = "ready"
	TrackDamaged   = "damaged"
	TrackFailed    = "failed"
)

// Download states of a recording's one-file download.
const (
	DownloadNone    = "none"
	DownloadQueued  = "queued"
	DownloadRunning = "running"
	DownloadReady   = "ready"
	DownloadFailed  = "failed"
)

// MaxActivityIntervalMS is the coarsest speaking-activity resolution kept.
const MaxActivityIntervalMS = 1000

// recordingSubject names a recording in activity rows, and as media a
// review points at: "recording:<id>".
func recordingSubject(id RecordingID) string {
	return "recording:" + strconv.FormatInt(int64(id), 10)
}

// RecordingInput starts a recording.
type RecordingInput struct {
	Kind              RecordingKind
	Room              string
	Title             string
	TeacherID         UserID
	SubjectID         SubjectID // 0: not known
	Grade             int       // 0: not known
	TutoringSessionID TutoringSessionID
	// ClassID links a scheduled class's recording to its class, whose
	// district and school it is filed under (0: none; the teacher's).
	ClassID         ClassID
	KnowledgePoints []KnowledgePointID
	// ActivityIntervalMS is the speaking-activity resolution (1..1000).
	ActivityIntervalMS int
	StartedAt          time.Time
}

// RecordingTrackInput is a track as it starts being recorded.
type RecordingTrackInput struct {
	TrackSID    string
	Participant string
	Name        string
	Role        string
	Source      string
	Kind        string // video, audio
	Codec       string
	File        string // name in the working directory
	OffsetMS    int64
}

// RecordingTrackResult is what a track's file holds once finished.
type RecordingTrackResult struct {
	ID         RecordingTrackID
	SizeBytes  int64
	OffsetMS   int64
	DurationMS int64
	Frames     int64
	Drops      int64
	Status     string // ready, damaged, failed
	Reason     string
}

// RecordingParticipant is someone who was in the recorded room.
type RecordingParticipant struct {
	Identity string `json:"identity"`
	UserID   UserID `json:"-"`
	Name     string `json:"name"`
	Role     string `json:"role"`
}

// SpeakingInterval is a stretch of one participant's speech, in ms from the
// recording's start.
type SpeakingInterval struct {
	Identity string  `json:"-"`
	Role     string  `json:"-"`
	StartMS  int64   `json:"start_ms"`
	EndMS    int64   `json:"end_ms"`
	Level    float64 `json:"level"`
}

// RecordingFinish is how a recording ended.
type RecordingFinish struct {
	Status     RecordingStatus // ready, interrupted or failed
	Reason     string
	EndedAt    time.Time
	DurationMS int64
	Tracks     []RecordingTrackResult
	Speaking   []SpeakingInterval
}

// RecordingTrack is one recorded file.
type RecordingTrack struct {
	ID          RecordingTrackID `json:"id"`
	RecordingID RecordingID      `json:"-"`
	TrackSID    string           `json:"-"`
	Participant string           `json:"participant"`
	Name        string           `json:"name"`
	Role        string           `json:"role"`
	Source      string           `json:"source"`
	Kind        string           `json:"kind"`
	Codec       string           `json:"codec"`
	File        string           `json:"-"`
	FileKey     string           `json:"-"`
	Stored      bool             `json:"-"`
	SizeBytes   int64            `json:"size_bytes"`
	DurationMS  int64            `json:"duration_ms"`
	OffsetMS    int64            `json:"offset_ms"`
	Frames      int64            `json:"-"`
	Drops       int64            `json:"-"`
	Status      string           `json:"status"`
	Reason      string           `json:"-"`
}

// RecordingDownload is the state of a recording's one-file download.
type RecordingDownload struct {
	Kind     string  `json:"kind"` // camera, composite
	Status   string  `json:"status"`
	Progress float64 `json:"progress"`
	Key      string  `json:"-"`
}

// Recording is a recorded class or tutoring session.
type Recording struct {
	ID                RecordingID
	Kind              RecordingKind
	Room              string
	Title             string
	TeacherID         UserID
	TeacherName       string
	TeacherTrainee    bool
	DistrictID        DistrictID
	SchoolID          SchoolID
	SchoolName        string
	SubjectID         SubjectID
	SubjectName       string
	Grade             int
	TutoringSessionID TutoringSessionID
	ClassID           ClassID // 0: not a scheduled class's
	KnowledgePointIDs []KnowledgePointID
	StartedAt         time.Time
	EndedAt           time.Time
	DurationMS        int64
	Status            RecordingStatus
	StatusReason      string
	// ActivityIntervalMS is the speaking-activity resolution.
	ActivityIntervalMS int
	Download           RecordingDownload
	DeletedBy          UserID
	CreatedAt          time.Time
	UpdatedAt          time.Time

	// Filled by GetRecording only.
	Participants []RecordingParticipant
	Tracks       []RecordingTrack
}

// RecordingFilter selects recordings. Zero fields select everything; a
// nil Statuses means every status but deleted.
type RecordingFilter struct {
	Statuses []RecordingStatus
	// DistrictID bounds the list to a district; SchoolIDs, when not nil,
	// to those schools (empty: none).
	DistrictID DistrictID
	SchoolIDs  []SchoolID

	SchoolID  SchoolID
	TeacherID UserID
	SubjectID SubjectID
	Grade     int
	Kind      RecordingKind
	ClassID   ClassID
	// From and To bound started_at (From inclusive, To exclusive).
	From, To time.Time
	// Trainee, when set, keeps only recordings of trainee teachers (true)
	// or of the others (false).
	Trainee *bool
	Limit   int
	Offset  int
}

// Versions of a recording one viewer gets. The students in a class are
// minors: beyond its school, a recording is played in its teacher-only
// version unless the school has recorded its consent or the viewer may
// read the recording in their own right (docs/library.md, "Minors: the
// teacher-only version"; the shared library and research groups apply it).
const (
	VersionFull        = "full"
	VersionTeacherOnly = "teacher_only"
)

// teacherSources are the tracks a teacher-only version keeps.
var teacherSources = []string{"camera", "microphone", "screen_share", "screen_share_audio"}

// isTeacher reports whether p is the recording's own teacher.
func (r Recording) isTeacher(p RecordingParticipant) bool {
	return p.UserID == r.TeacherID && p.UserID != 0 && p.Role == "teacher"
}

// TeacherTracks keeps the tracks of the recording's own teacher — camera,
// microphone, screen share — and drops everybody else's (students'
// pictures and voices, and any other participant's). A track counts as the
// teacher's when its role is teacher and its participant is the
// recording's teacher by user id; a track of an unknown participant is
// dropped.
func (r Recording) TeacherTracks() []RecordingTrack {
	teacher := map[string]bool{}
	for _, p := range r.Participants {
		if r.isTeacher(p) {
			teacher[p.Identity] = true
		}
	}
	out := []RecordingTrack{}
	for _, t := range r.Tracks {
		if t.Role == "teacher" && teacher[t.Participant] && slices.Contains(teacherSources, t.Source) {
			out = append(out, t)
		}
	}
	return out
}

// TeacherParticipants keeps the recording's teacher among its participants.
func (r Recording) TeacherParticipants() []RecordingParticipant {
	out := []RecordingParticipant{}
	for _, p := range r.Participants {
		if r.isTeacher(p) {
			out = append(out, p)
		}
	}
	return out
}

// TeacherOnly is r in its teacher-only version: its tracks and
// participants cut down to the teacher's.
func (r Recording) TeacherOnly() Recording {
	r.Tracks, r.Participants = r.TeacherTracks(), r.TeacherParticipants()
	return r
}
