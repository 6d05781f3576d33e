package recording

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/sfu/recorder"
	"yunke/signaling"
	"yunke/storage"
	"yunke/storage/blob"
)

// signedURLFor is how long a signed media URL stays valid.
const signedURLFor = 10 * time.Minute

// Routes are the recording API routes.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	own, read, manage, del := authz.RecordingOwn, authz.RecordingRead, authz.RecordingManage, authz.RecordingDelete
	return []httpapi.Route{
		{Method: "GET", Path: "/recordings", Actions: a(own, read), Handle: s.handleList},
		{Method: "GET", Path: "/recordings/{id}", Actions: a(own, read), Handle: s.handleGet},
		{Method: "GET", Path: "/recordings/{id}/tracks/{track_id}/media", Actions: a(own, read), Handle: s.handleMedia},
		{Method: "GET", Path: "/recordings/{id}/speaking", Actions: a(own, read), Handle: s.handleSpeaking},
		{Method: "GET", Path: "/recordings/{id}/download", Actions: a(own, read), Handle: s.handleDownload},
		{Method: "POST", Path: "/recordings/{id}/download", Actions: a(own, read), Handle: s.handleComposite},
		{Method: "DELETE", Path: "/recordings/{id}", Actions: a(del), Handle: s.handleDelete},
		{Method: "GET", Path: "/recordings/{id}/st", Actions: a(own, read), Handle: s.handleST},
		{Method: "PUT", Path: "/recordings/{id}/st/samples/{sample}", Actions: a(authz.RecordingCode), Handle: s.handleSTCode},
		{Method: "GET", Path: "/recordings/st-trend", Actions: a(own, read), Handle: s.handleSTTrend},
		{Method: "POST", Path: "/rooms/{room}/recording", Actions: a(manage), Handle: s.handleRoomRecording},
	}
}

// ---- views

type ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type teacherRef struct {
	ID      storage.UserID `json:"id"`
	Name    string         `json:"name"`
	Trainee bool           `json:"trainee"`
}

type trackView struct {
	storage.RecordingTrack
	URL string `json:"url"`
}

type downloadView struct {
	Kind     string  `json:"kind"`
	Status   string  `json:"status"`
	Progress float64 `json:"progress"`
	URL      string  `json:"url"`
}

type recordingView struct {
	ID                storage.RecordingID        `json:"id"`
	Kind              storage.RecordingKind      `json:"kind"`
	Room              string                     `json:"room"`
	Title             string                     `json:"title"`
	Teacher           teacherRef                 `json:"teacher"`
	School            ref                        `json:"school"`
	DistrictID        storage.DistrictID         `json:"district_id"`
	Subject           *ref                       `json:"subject"`
	Grade             *int                       `json:"grade"`
	KnowledgePointIDs []storage.KnowledgePointID `json:"knowledge_point_ids"`
	ClassID           *storage.ClassID           `json:"class_id"`
	StartedAt         time.Time                  `json:"started_at"`
	EndedAt           *time.Time                 `json:"ended_at"`
	DurationMS        int64                      `json:"duration_ms"`
	Status            storage.RecordingStatus    `json:"status"`
	StatusReason      string                     `json:"status_reason"`
	Download          downloadView               `json:"download"`
}

// fullView is a recording with its participants and tracks, in the
// version the viewer gets.
type fullView struct {
	recordingView
	// Version is storage.VersionFull, or storage.VersionTeacherOnly: the
	// recording's teacher's tracks and the teacher among the participants.
	Version string `json:"version"`
	// FullAvailable: the viewer may have the full version.
	FullAvailable bool                           `json:"full_available"`
	Participants  []storage.RecordingParticipant `json:"participants"`
	Tracks        []trackView                    `json:"tracks"`
}

func (s *Service) view(r storage.Recording) recordingView {
	base := httpapi.Prefix + "/recordings/" + strconv.FormatInt(int64(r.ID), 10)
	v := recordingView{ID: r.ID, Kind: r.Kind, Room: r.Room, Title: r.Title,
		Teacher: teacherRef{r.TeacherID, r.TeacherName, r.TeacherTrainee},
		School:  ref{int64(r.SchoolID), r.SchoolName}, DistrictID: r.DistrictID,
		KnowledgePointIDs: r.KnowledgePointIDs, StartedAt: r.StartedAt, DurationMS: r.DurationMS,
		Status: r.Status, StatusReason: r.StatusReason}
	if r.SubjectID != 0 {
		v.Subject = &ref{int64(r.SubjectID), r.SubjectName}
	}
	if r.ClassID != 0 {
		c := r.ClassID
		v.ClassID = &c
	}
	if r.Grade != 0 {
		g := r.Grade
		v.Grade = &g
	}
	if !r.EndedAt.IsZero() {
		e := r.EndedAt
		v.EndedAt = &e
	}
	if r.Status == storage.RecordingInProgress {
		v.DurationMS = s.p.Now().Sub(r.StartedAt).Milliseconds()
	}
	d := r.Download
	v.Download = downloadView{Kind: "camera", Status: storage.DownloadNone, URL: base + "/download"}
	if d.Kind == "composite" && d.Status != storage.DownloadNone {
		v.Download.Kind, v.Download.Status, v.Download.Progress = "composite", d.Status, d.Progress
	} else if d.Status == storage.DownloadReady {
		v.Download.Status, v.Download.Progress = storage.DownloadReady, 1
	}
	return v
}

// full is the recording with its participants and tracks in version
// (storage.VersionFull or storage.VersionTeacherOnly).
func (s *Service) full(r storage.Recording, version string) fullView {
	if version != storage.VersionFull {
		version, r = storage.VersionTeacherOnly, r.TeacherOnly()
	}
	v := fullView{recordingView: s.view(r), Version: version, FullAvailable: version == storage.VersionFull,
		Participants: httpapi.NonNil(r.Participants), Tracks: []trackView{}}
	base := httpapi.Prefix + "/recordings/" + strconv.FormatInt(int64(r.ID), 10)
	for _, t := range r.Tracks {
		v.Tracks = append(v.Tracks, trackView{t, base + "/tracks/" + strconv.FormatInt(int64(t.ID), 10) + "/media"})
	}
	return v
}

// ---- access

func isAdmin(u *storage.User) bool {
	return u.Has(storage.RoleSchoolAdmin) || u.Has(storage.RoleDistrictAdmin) || u.Has(storage.RoleSystemAdmin)
}

// mayRead: the recording's teacher, or experts and admins in scope.
func mayRead(u *storage.User, rec storage.Recording) bool {
	if rec.TeacherID == u.ID && !authz.ScopeOf(u, authz.RecordingOwn).Empty() {
		return true
	}
	return authz.ScopeOf(u, authz.RecordingRead).Covers(rec.DistrictID, rec.SchoolID)
}

// mayWatch says which version of rec u may watch: the full one when
// mayRead; through a grant (a research group's member), the full one when
// u is of the recording's school or the school has recorded its consent,
// else the teacher-only one (the students are minors: docs/library.md);
// "" when u may not watch it at all.
func (s *Service) mayWatch(ctx context.Context, u *storage.User, rec storage.Recording) (string, error) {
	if mayRead(u, rec) {
		return storage.VersionFull, nil
	}
	if s.p.Grants == nil || !u.Active {
		return "", nil
	}
	if ok, err := s.p.Grants.MayWatch(ctx, u, rec); err != nil || !ok {
		return "", err
	}
	if u.SchoolID != 0 && u.SchoolID == rec.SchoolID {
		return storage.VersionFull, nil
	}
	c, err := s.p.Store.GetSchoolConsent(ctx, rec.SchoolID)
	if err != nil {
		return "", err
	}
	if c.Granted {
		return storage.VersionFull, nil
	}
	return storage.VersionTeacherOnly, nil
}

// readable loads a recording the caller may watch, with the version they
// get; anything else is 404.
func (s *Service) readable(r *http.Request) (storage.Recording, string, error) {
	p := httpapi.PrincipalFrom(r.Context())
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Recording{}, "", err
	}
	rec, err := s.p.Store.GetRecording(r.Context(), storage.RecordingID(id))
	if err != nil {
		return rec, "", err
	}
	if rec.Status == storage.RecordingDeleted || p == nil {
		return storage.Recording{}, "", httpapi.ErrNotFound
	}
	version, err := s.mayWatch(r.Context(), &p.User, rec)
	if err != nil || version == "" {
		return storage.Recording{}, "", cmp.Or(err, error(httpapi.ErrNotFound))
	}
	return rec, version, nil
}

// errTeacherOnly: the caller watches the recording in its teacher-only
// version, which has no full version and no download for them.
var errTeacherOnly = &httpapi.Error{Status: http.StatusForbidden, Code: "teacher_only",
	Message: "this recording is shared with you in its teacher-only version (the students are minors); " +
		"the full version and the download need the school's recorded consent"}

// ---- catalogue

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	q := r.URL.Query()
	f := httpapi.Fields{}
	var filter storage.RecordingFilter
	filter.SchoolID = storage.SchoolID(httpapi.QueryID(r, "school_id", f))
	filter.TeacherID = storage.UserID(httpapi.QueryID(r, "teacher_id", f))
	filter.SubjectID = storage.SubjectID(httpapi.QueryID(r, "subject_id", f))
	filter.ClassID = storage.ClassID(httpapi.QueryID(r, "class_id", f))
	if v := q.Get("grade"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 12 {
			f.Add("grade", "must be 1–12")
		}
		filter.Grade = n
	}
	if v := q.Get("kind"); v != "" {
		if v != string(storage.RecordingClass) && v != string(storage.RecordingTutoring) {
			f.Add("kind", "class or tutoring")
		}
		filter.Kind = storage.RecordingKind(v)
	}
	if v := q.Get("status"); v != "" {
		st := storage.RecordingStatus(v)
		if !st.Valid() || st == storage.RecordingDeleted {
			f.Add("status", "recording, ready, interrupted or failed")
		}
		filter.Statuses = []storage.RecordingStatus{st}
	}
	day := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01-02", v, storage.Zone)
		if err != nil {
			f.Add(name, "a date, YYYY-MM-DD")
		}
		return t
	}
	filter.From = day("from")
	if to := day("to"); !to.IsZero() {
		filter.To = to.AddDate(0, 0, 1) // the whole day
	}
	filter.Trainee = httpapi.QueryBool(r, "trainee", f)
	pageN, size := 1, 20
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			f.Add("page", "a number from 1")
		}
		pageN = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			f.Add("page_size", "a number from 1 to 200")
		}
		size = n
	}
	if err := f.Err(); err != nil {
		return err
	}
	filter.Limit, filter.Offset = size, (pageN-1)*size
	// Scope: experts and admins their scope; a teacher only their own.
	sc := authz.ScopeOf(&p.User, authz.RecordingRead)
	if sc.Empty() {
		filter.TeacherID = p.User.ID
		if q.Get("teacher_id") != "" && storage.UserID(httpapi.QueryID(r, "teacher_id", f)) != p.User.ID ||
			filter.SchoolID != 0 && filter.SchoolID != p.User.SchoolID {
			return httpapi.ErrForbidden
		}
	} else {
		district, schools, err := httpapi.ScopeFilter(r.Context(), s.p.Store, sc)
		if err != nil {
			return err
		}
		filter.DistrictID, filter.SchoolIDs = district, schools
		if filter.SchoolID != 0 && !sc.All {
			scl, err := s.p.Store.GetSchool(r.Context(), filter.SchoolID)
			if err == nil && !sc.Covers(scl.DistrictID, scl.ID) {
				return httpapi.ErrForbidden
			}
		}
	}
	items, total, err := s.p.Store.ListRecordings(r.Context(), filter)
	if err != nil {
		return err
	}
	out := make([]recordingView, 0, len(items))
	for _, rec := range items {
		out = append(out, s.view(rec))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": out, "total": total})
	return nil
}

// handleGet answers the recording in the version the caller gets;
// ?version=teacher_only asks for the teacher-only version anyway, and
// ?version=full is 403 teacher_only for someone who may not have it.
func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	rec, version, err := s.readable(r)
	if err != nil {
		return err
	}
	v := s.full(rec, version)
	switch r.URL.Query().Get("version") {
	case "":
	case storage.VersionFull:
		if version != storage.VersionFull {
			return errTeacherOnly
		}
	case storage.VersionTeacherOnly:
		v = s.full(rec, storage.VersionTeacherOnly)
		v.FullAvailable = version == storage.VersionFull
	default:
		return httpapi.Invalid("version", "teacher_only or full")
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// ---- media

func contentType(t storage.RecordingTrack) string {
	switch {
	case strings.HasSuffix(t.File, ".mkv"):
		return "video/x-matroska"
	case t.Kind == "audio":
		return "audio/webm"
	}
	return "video/webm"
}

func (s *Service) handleMedia(w http.ResponseWriter, r *http.Request) error {
	rec, version, err := s.readable(r)
	if err != nil {
		return err
	}
	tid, err := httpapi.PathID(r, "track_id")
	if err != nil {
		return err
	}
	tracks := rec.Tracks
	if version != storage.VersionFull {
		tracks = rec.TeacherTracks() // a student's track is not part of this viewer's version
	}
	i := slices.IndexFunc(tracks, func(t storage.RecordingTrack) bool { return int64(t.ID) == tid })
	if i < 0 {
		return httpapi.ErrNotFound
	}
	return s.ServeTrack(w, r, rec, tracks[i])
}

// ServeTrack answers with one track's file of rec (the caller has checked
// that the viewer may have it): from the working directory while it is not
// yet stored, else by a short-lived signed URL or from the media store.
func (s *Service) ServeTrack(w http.ResponseWriter, r *http.Request, rec storage.Recording, t storage.RecordingTrack) error {
	w.Header().Set("Cache-Control", "private, max-age=300")
	if !t.Stored {
		// Still in the working directory: being recorded, or not yet uploaded.
		f, err := os.Open(filepath.Join(s.workDir(rec.ID), t.File))
		if errors.Is(err, os.ErrNotExist) {
			return httpapi.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("recording: open track %d: %w", t.ID, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("recording: open track %d: %w", t.ID, err)
		}
		w.Header().Set("Content-Type", contentType(t))
		http.ServeContent(w, r, t.File, st.ModTime(), f)
		return nil
	}
	if signed, err := s.p.Media.SignedURL(r.Context(), t.FileKey, signedURLFor); err != nil {
		return err
	} else if signed != "" {
		http.Redirect(w, r, signed, http.StatusFound)
		return nil
	}
	obj, err := s.p.Media.Open(r.Context(), t.FileKey)
	if err != nil {
		return fmt.Errorf("recording: open track %d: %w", t.ID, err)
	}
	defer obj.Close()
	w.Header().Set("Content-Type", contentType(t))
	http.ServeContent(w, r, t.File, obj.Info().ModTime, obj)
	return nil
}

type speakingParticipant struct {
	Identity  string                     `json:"identity"`
	Name      string                     `json:"name"`
	Role      string                     `json:"role"`
	Intervals []storage.SpeakingInterval `json:"intervals"`
}

// handleSpeaking answers who spoke when, by participant. In the
// teacher-only version only the teacher's speech is listed: the others'
// identities and names are left out (the S-T analysis names nobody).
func (s *Service) handleSpeaking(w http.ResponseWriter, r *http.Request) error {
	rec, version, err := s.readable(r)
	if err != nil {
		return err
	}
	sp, err := s.p.Store.RecordingSpeaking(r.Context(), rec.ID)
	if err != nil {
		return err
	}
	if version != storage.VersionFull {
		rec = rec.TeacherOnly()
	}
	names := map[string]string{}
	for _, p := range rec.Participants {
		names[p.Identity] = p.Name
	}
	out := []*speakingParticipant{}
	byID := map[string]*speakingParticipant{}
	for _, iv := range sp {
		if _, ok := names[iv.Identity]; !ok && version != storage.VersionFull {
			continue
		}
		p := byID[iv.Identity]
		if p == nil {
			p = &speakingParticipant{Identity: iv.Identity, Name: names[iv.Identity], Role: iv.Role, Intervals: []storage.SpeakingInterval{}}
			byID[iv.Identity] = p
			out = append(out, p)
		}
		p.Intervals = append(p.Intervals, iv)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"interval_ms": rec.ActivityIntervalMS, "participants": out})
	return nil
}

// ---- download

// errNoCamera: the recording has no camera and microphone of its teacher to
// remux.
var errNoCamera = &httpapi.Error{Status: http.StatusConflict, Code: "no_camera",
	Message: "this recording has no camera and microphone of its teacher to download"}

var errFFmpegMissing = &httpapi.Error{Status: http.StatusConflict, Code: "ffmpeg_missing",
	Message: "the server has no ffmpeg to render a composite; the camera download is available"}

var errNotFinished = &httpapi.Error{Status: http.StatusConflict, Code: "recording",
	Message: "the recording is still in progress"}

func (s *Service) handleDownload(w http.ResponseWriter, r *http.Request) error {
	rec, version, err := s.readable(r)
	if err != nil {
		return err
	}
	if version != storage.VersionFull {
		return errTeacherOnly
	}
	if rec.Status == storage.RecordingInProgress {
		return errNotFinished
	}
	key := ""
	if rec.Download.Kind == "composite" && rec.Download.Status == storage.DownloadReady && rec.Download.Key != "" {
		key = rec.Download.Key
	} else {
		if key, err = s.cameraDownload(r.Context(), rec); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("recording-%d.webm", rec.ID)
	disposition := fmt.Sprintf("attachment; filename=%q", name)
	w.Header().Set("Content-Disposition", disposition)
	// From an object store: a short-lived signed URL whose answer says
	// "attachment" too, so that the browser saves the file.
	var signed string
	if ds, ok := s.p.Media.(blob.DownloadSigner); ok {
		signed, err = ds.SignedDownloadURL(r.Context(), key, signedURLFor, disposition)
	} else {
		signed, err = s.p.Media.SignedURL(r.Context(), key, signedURLFor)
	}
	if err != nil {
		return err
	} else if signed != "" {
		http.Redirect(w, r, signed, http.StatusFound)
		return nil
	}
	obj, err := s.p.Media.Open(r.Context(), key)
	if err != nil {
		return fmt.Errorf("recording: download of %d: %w", rec.ID, err)
	}
	defer obj.Close()
	w.Header().Set("Content-Type", "video/webm")
	http.ServeContent(w, r, name, obj.Info().ModTime, obj)
	return nil
}

// teacherAV picks the teacher's camera and microphone (the longest of each).
func teacherAV(rec storage.Recording) (cam, mic *storage.RecordingTrack) {
	for i := range rec.Tracks {
		t := &rec.Tracks[i]
		if t.Status == storage.TrackFailed || t.Status == storage.TrackRecording || t.Role != "teacher" {
			continue
		}
		switch {
		case t.Source == string(recorder.SourceCamera) && (strings.EqualFold(t.Codec, "video/VP8") || strings.EqualFold(t.Codec, "video/VP9")):
			if cam == nil || t.DurationMS > cam.DurationMS {
				cam = t
			}
		case t.Source == string(recorder.SourceMicrophone) && strings.EqualFold(t.Codec, "audio/opus"):
			if mic == nil || t.DurationMS > mic.DurationMS {
				mic = t
			}
		}
	}
	return cam, mic
}

// cameraDownload remuxes the teacher's camera and microphone into one WebM,
// once, kept in the media store; it returns its key.
func (s *Service) cameraDownload(ctx context.Context, rec storage.Recording) (string, error) {
	key := mediaKey(rec.ID, "download-camera.webm")
	s.dlMu.Lock()
	mu := s.dl[rec.ID]
	if mu == nil {
		mu = new(sync.Mutex)
		s.dl[rec.ID] = mu
	}
	s.dlMu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if _, err := s.p.Media.Stat(ctx, key); err == nil {
		return key, nil
	}
	cam, mic := teacherAV(rec)
	if cam == nil || mic == nil {
		return "", errNoCamera
	}
	tmp, err := os.MkdirTemp(s.p.Dir, ".download-*")
	if err != nil {
		return "", fmt.Errorf("recording: %w", err)
	}
	defer os.RemoveAll(tmp)
	v, a, out := filepath.Join(tmp, "v.webm"), filepath.Join(tmp, "a.webm"), filepath.Join(tmp, "out.webm")
	if err := s.copyTrack(ctx, *cam, v); err != nil {
		return "", err
	}
	if err := s.copyTrack(ctx, *mic, a); err != nil {
		return "", err
	}
	if _, err := recorder.Remux(v, a, out); err != nil {
		return "", fmt.Errorf("recording: remux %d: %w", rec.ID, err)
	}
	f, err := os.Open(out)
	if err != nil {
		return "", fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if err := s.p.Media.Put(ctx, key, f, st.Size(), "video/webm"); err != nil {
		return "", fmt.Errorf("recording: store download of %d: %w", rec.ID, err)
	}
	if rec.Download.Kind != "composite" || rec.Download.Status == storage.DownloadNone {
		if err := s.p.Store.SetRecordingDownload(ctx, rec.ID, storage.RecordingDownload{Kind: "camera", Status: storage.DownloadReady,
			Progress: 1, Key: key}, s.p.Now()); err != nil {
			s.log.Warn("download state not saved", "recording", rec.ID, "err", err)
		}
	}
	return key, nil
}

func (s *Service) handleComposite(w http.ResponseWriter, r *http.Request) error {
	rec, version, err := s.readable(r)
	if err != nil {
		return err
	}
	if version != storage.VersionFull {
		return errTeacherOnly
	}
	if rec.Status == storage.RecordingInProgress {
		return errNotFinished
	}
	if s.ffmpeg == "" {
		return errFFmpegMissing
	}
	d := rec.Download
	if d.Kind != "composite" || d.Status == storage.DownloadFailed || d.Status == storage.DownloadNone {
		d = storage.RecordingDownload{Kind: "composite", Status: storage.DownloadQueued}
		if err := s.p.Store.SetRecordingDownload(r.Context(), rec.ID, d, s.p.Now()); err != nil {
			return err
		}
		// At most three attempts: a render that failed thrice is shown as
		// failed, and may be asked for again.
		if err := s.enqueue(r.Context(), compositeArgs{int64(rec.ID)}, rec.DistrictID, 3); err != nil {
			return err
		}
		rec.Download = d
	}
	httpapi.WriteJSON(w, http.StatusAccepted, s.view(rec).Download)
	return nil
}

// ---- delete

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	rec, _, err := s.readable(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.RecordingDelete, httpapi.Place{District: rec.DistrictID, School: rec.SchoolID}); err != nil {
		return err
	}
	if err := s.p.Store.DeleteRecording(r.Context(), httpapi.Actor(r), rec.ID, s.p.Now()); err != nil {
		return err
	}
	// The row says deleted first: nothing serves the files any more. A
	// job removes them, tried again until the media store confirms.
	if err := s.enqueue(r.Context(), deleteArgs{int64(rec.ID)}, rec.DistrictID, 0); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- start and stop

type roomRecordingBody struct {
	Action string `json:"action"`
}

// mayManage: for a scheduled class, its teacher and assistants or an
// admin in its scope; for a room a teacher opened, a teacher of its school
// or an admin in its scope; for a tutoring room, its teacher or an admin
// in scope of the session.
func (s *Service) mayManage(r *http.Request, room signaling.RoomName) error {
	p := httpapi.PrincipalFrom(r.Context())
	if cid, ok := classOfRoom(room); ok {
		c, err := s.p.Store.GetClass(r.Context(), cid)
		if errors.Is(err, storage.ErrNotFound) {
			return httpapi.ErrNotFound
		}
		if err != nil {
			return err
		}
		if c.RoleOf(p.User.ID) != "" && !authz.ScopeOf(&p.User, authz.RecordingManage).Empty() {
			return nil
		}
		if !isAdmin(&p.User) {
			return httpapi.ErrForbidden
		}
		_, err = httpapi.Authorize(r, authz.RecordingManage, httpapi.Place{District: c.DistrictID, School: c.SchoolID})
		return err
	}
	if school, _, ok := schoolOfClass(room); ok {
		sc, err := s.p.Store.GetSchool(r.Context(), school)
		if err != nil {
			return err
		}
		if p.User.Has(storage.RoleTeacher) && !isAdmin(&p.User) && p.User.SchoolID != sc.ID {
			return httpapi.ErrForbidden
		}
		_, err = httpapi.Authorize(r, authz.RecordingManage, httpapi.SchoolPlace(sc))
		return err
	}
	if sid, ok := sessionOfTutoringRoom(room); ok {
		sess, err := s.p.Store.GetTutoringSession(r.Context(), sid)
		if err != nil {
			return err
		}
		if sess.TeacherID == p.User.ID {
			return nil
		}
		if !isAdmin(&p.User) {
			return httpapi.ErrForbidden
		}
		t, err := s.p.Store.GetUser(r.Context(), sess.TeacherID)
		if err != nil {
			return err
		}
		_, err = httpapi.Authorize(r, authz.RecordingManage, httpapi.Place{District: t.DistrictID, School: t.SchoolID})
		return err
	}
	return httpapi.ErrNotFound
}

var errRoomNotOpen = &httpapi.Error{Status: http.StatusConflict, Code: "room_not_open", Message: "the room is not open"}
var errNoTeacher = &httpapi.Error{Status: http.StatusConflict, Code: "no_teacher",
	Message: "no teacher is in the room to file the recording under"}

func (s *Service) handleRoomRecording(w http.ResponseWriter, r *http.Request) error {
	room := signaling.RoomName(r.PathValue("room"))
	if err := s.mayManage(r, room); err != nil {
		return err
	}
	var b roomRecordingBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	p := httpapi.PrincipalFrom(r.Context())
	var id storage.RecordingID
	var err error
	switch b.Action {
	case "start":
		var teacher storage.UserID
		if p.User.Has(storage.RoleTeacher) {
			if _, _, class := schoolOfClass(room); class {
				teacher = p.User.ID
			}
		}
		id, err = s.Start(r.Context(), httpapi.Actor(r), room, teacher)
	case "stop":
		id, err = s.Stop(r.Context(), httpapi.Actor(r), room)
	default:
		return httpapi.Invalid("action", "start or stop")
	}
	switch {
	case errors.Is(err, ErrRoomNotOpen):
		return errRoomNotOpen
	case errors.Is(err, ErrNoTeacher):
		return errNoTeacher
	case errors.Is(err, ErrRecording):
		return &httpapi.Error{Status: http.StatusConflict, Code: "starting", Message: "the recording is starting; try again"}
	case err != nil:
		return err
	}
	active := s.Active(room)
	if active != 0 {
		id = active
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"active": active != 0, "recording_id": id})
	return nil
}
