package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Recordings: the recording domain starts one when a class or tutoring room
// is recorded (activity "recording.start"), adds a row per track as its
// file is opened, and finishes it with the files' sizes and durations and
// the speaking activity ("recording.ready", ".interrupted" or ".failed").
// A recording left "recording" by a crash is finished as interrupted at the
// next start. Deleting keeps the row ("recording.delete").

// Limits of a recording's text.
const (
	MaxRecordingTitle  = 200
	MaxRecordingReason = 500
)

func truncRunes(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// CreateRecording starts a recording of a teacher's room at in.StartedAt;
// the district and school are the teacher's. Activity: "recording.start".
func (s *Store) CreateRecording(ctx context.Context, a Actor, in RecordingInput) (Recording, error) {
	switch {
	case in.Kind != RecordingClass && in.Kind != RecordingTutoring:
		return Recording{}, fmt.Errorf("storage: create recording: %w", &FieldError{Field: "kind", Message: "class or tutoring"})
	case in.Room == "":
		return Recording{}, fmt.Errorf("storage: create recording: %w", &FieldError{Field: "room", Message: "required"})
	case in.Grade < 0 || in.Grade > 12:
		return Recording{}, fmt.Errorf("storage: create recording: %w", &FieldError{Field: "grade", Message: "must be 0–12"})
	}
	if in.ActivityIntervalMS <= 0 || in.ActivityIntervalMS > MaxActivityIntervalMS {
		in.ActivityIntervalMS = 500
	}
	var id RecordingID
	err := s.tx(ctx, func(q querier) error {
		var district, school int64
		err := q.queryRow(ctx, `SELECT COALESCE(district_id, 0), COALESCE(school_id, 0) FROM users WHERE id = $1`,
			int64(in.TeacherID)).Scan(&district, &school)
		if isNoRows(err) {
			return &FieldError{Field: "teacher_id", Message: "no such teacher"}
		}
		if err != nil {
			return err
		}
		var class any // NULL without a class
		if in.ClassID != 0 {
			err := q.queryRow(ctx, `SELECT district_id, school_id FROM classes WHERE id = $1`, int64(in.ClassID)).Scan(&district, &school)
			if isNoRows(err) {
				return &FieldError{Field: "class_id", Message: "no such class"}
			}
			if err != nil {
				return err
			}
			class = int64(in.ClassID)
		}
		now := ms(in.StartedAt)
		if err := q.queryRow(ctx, `INSERT INTO recordings (kind, room, title, teacher_id, district_id, school_id, subject_id, grade,
			tutoring_session_id, started_at, status, activity_interval_ms, created_at, updated_at, class_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'recording', $11, $10, $10, $12) RETURNING id`,
			string(in.Kind), truncRunes(in.Room, 200), truncRunes(in.Title, MaxRecordingTitle), int64(in.TeacherID), district, school,
			int64(in.SubjectID), in.Grade, int64(in.TutoringSessionID), now, in.ActivityIntervalMS, class).Scan(&id); err != nil {
			return mapErr(err, nil)
		}
		var points []KnowledgePointID
		for _, kp := range in.KnowledgePoints {
			if !slices.Contains(points, kp) {
				points = append(points, kp)
			}
		}
		for _, kp := range points {
			if _, err := q.exec(ctx, `INSERT INTO recording_points (recording_id, knowledge_point_id) VALUES ($1, $2)`,
				int64(id), int64(kp)); err != nil {
				return mapErr(err, nil)
			}
		}
		return s.logChange(ctx, q, a, Activity{At: in.StartedAt, Action: "recording.start", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: in.SubjectID, Subject: recordingSubject(id), RoomID: in.Room},
			map[string]any{"teacher_id": int64(in.TeacherID), "kind": string(in.Kind), "class_id": int64(in.ClassID)}, nil)
	})
	if err != nil {
		return Recording{}, fmt.Errorf("storage: create recording: %w", err)
	}
	return s.GetRecording(ctx, id)
}

// AddRecordingTrack records that a track's file was opened in a recording
// still in progress (ErrClosed otherwise).
func (s *Store) AddRecordingTrack(ctx context.Context, id RecordingID, t RecordingTrackInput) (RecordingTrackID, error) {
	var tid RecordingTrackID
	err := s.tx(ctx, func(q querier) error {
		var st string
		err := q.queryRow(ctx, `SELECT status FROM recordings WHERE id = $1`, int64(id)).Scan(&st)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if st != string(RecordingInProgress) {
			return fmt.Errorf("recording %d is %s: %w", id, st, ErrClosed)
		}
		return mapErr(q.queryRow(ctx, `INSERT INTO recording_tracks (recording_id, track_sid, participant, name, role, source, kind,
			codec, file, offset_ms, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'recording') RETURNING id`,
			int64(id), t.TrackSID, t.Participant, truncRunes(t.Name, 100), t.Role, t.Source, t.Kind, t.Codec, t.File, t.OffsetMS).Scan(&tid),
			map[string]string{"recording_tracks_file": "file"})
	})
	if err != nil {
		return 0, fmt.Errorf("storage: recording %d: add track: %w", id, err)
	}
	return tid, nil
}

// AddRecordingParticipant records someone in the recorded room (a second
// call for the same identity updates the name and role).
func (s *Store) AddRecordingParticipant(ctx context.Context, id RecordingID, p RecordingParticipant) error {
	err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, `INSERT INTO recording_participants (recording_id, identity, user_id, name, role)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (recording_id, identity) DO UPDATE SET name = excluded.name, role = excluded.role, user_id = excluded.user_id`,
			int64(id), p.Identity, int64(p.UserID), truncRunes(p.Name, 100), p.Role)
		return mapErr(err, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: recording %d: add participant: %w", id, err)
	}
	return nil
}

var recordingEndActions = map[RecordingStatus]string{
	RecordingReady:       "recording.ready",
	RecordingInterrupted: "recording.interrupted",
	RecordingFailed:      "recording.failed",
}

// FinishRecording ends a recording in progress (ErrClosed once ended): its
// status, end and duration, each track's result and the speaking
// activity, in one transaction with its activity row ("recording.ready",
// ".interrupted" or ".failed", valued in seconds recorded).
func (s *Store) FinishRecording(ctx context.Context, a Actor, id RecordingID, f RecordingFinish) (Recording, error) {
	action, ok := recordingEndActions[f.Status]
	if !ok {
		return Recording{}, fmt.Errorf("storage: finish recording %d: %w", id, &FieldError{Field: "status", Message: "ready, interrupted or failed"})
	}
	err := s.tx(ctx, func(q querier) error {
		query := `SELECT status, district_id, school_id, subject_id, teacher_id, room FROM recordings WHERE id = $1`
		if s.d.postgres {
			query += " FOR UPDATE"
		}
		var st, room string
		var district, school, subject, teacher int64
		err := q.queryRow(ctx, query, int64(id)).Scan(&st, &district, &school, &subject, &teacher, &room)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if st != string(RecordingInProgress) {
			return fmt.Errorf("recording %d is %s: %w", id, st, ErrClosed)
		}
		at := ms(f.EndedAt)
		if _, err := q.exec(ctx, `UPDATE recordings SET status = $2, status_reason = $3, ended_at = $4, duration_ms = $5,
			updated_at = $4 WHERE id = $1`, int64(id), string(f.Status), truncRunes(f.Reason, MaxRecordingReason), at, max(f.DurationMS, 0)); err != nil {
			return err
		}
		for _, t := range f.Tracks {
			status := t.Status
			if status != TrackReady && status != TrackDamaged && status != TrackFailed {
				status = TrackFailed
			}
			if _, err := q.exec(ctx, `UPDATE recording_tracks SET size_bytes = $3, offset_ms = $4, duration_ms = $5, frames = $6,
				drops = $7, status = $8, reason = $9 WHERE id = $2 AND recording_id = $1`,
				int64(id), int64(t.ID), t.SizeBytes, t.OffsetMS, t.DurationMS, t.Frames, t.Drops, status,
				truncRunes(t.Reason, MaxRecordingReason)); err != nil {
				return err
			}
		}
		// Tracks the finish does not name were cut before they were finished.
		if _, err := q.exec(ctx, `UPDATE recording_tracks SET status = 'failed', reason = 'not finished'
			WHERE recording_id = $1 AND status = 'recording'`, int64(id)); err != nil {
			return err
		}
		for _, sp := range f.Speaking {
			if sp.EndMS <= sp.StartMS {
				continue
			}
			if _, err := q.exec(ctx, `INSERT INTO recording_speaking (recording_id, identity, role, start_ms, end_ms, level)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (recording_id, identity, start_ms)
				DO UPDATE SET end_ms = excluded.end_ms, level = excluded.level, role = excluded.role`,
				int64(id), sp.Identity, sp.Role, sp.StartMS, sp.EndMS, sp.Level); err != nil {
				return err
			}
		}
		detail := map[string]any{"teacher_id": teacher, "tracks": len(f.Tracks)}
		if f.Reason != "" {
			detail["reason"] = truncRunes(f.Reason, MaxRecordingReason)
		}
		return s.logChange(ctx, q, a, Activity{At: f.EndedAt, Action: action, DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: recordingSubject(id), RoomID: room,
			Value: max(f.DurationMS, 0) / 1000}, detail, nil)
	})
	if err != nil {
		return Recording{}, fmt.Errorf("storage: finish recording %d: %w", id, err)
	}
	return s.GetRecording(ctx, id)
}

// SaveRecordingSpeaking saves speaking intervals of a recording in
// progress as they stand (ErrClosed once it ended): an interval saved
// before and grown since is updated, so that saving the activity again
// and again as the recording goes on keeps all of it but the last moments
// should the server die.
func (s *Store) SaveRecordingSpeaking(ctx context.Context, id RecordingID, sp []SpeakingInterval) error {
	err := s.tx(ctx, func(q querier) error {
		var st string
		err := q.queryRow(ctx, `SELECT status FROM recordings WHERE id = $1`, int64(id)).Scan(&st)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if st != string(RecordingInProgress) {
			return fmt.Errorf("recording %d is %s: %w", id, st, ErrClosed)
		}
		for _, iv := range sp {
			if iv.EndMS <= iv.StartMS {
				continue
			}
			if _, err := q.exec(ctx, `INSERT INTO recording_speaking (recording_id, identity, role, start_ms, end_ms, level)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (recording_id, identity, start_ms)
				DO UPDATE SET end_ms = excluded.end_ms, level = excluded.level, role = excluded.role`,
				int64(id), iv.Identity, iv.Role, iv.StartMS, iv.EndMS, iv.Level); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: speaking of recording %d: %w", id, err)
	}
	return nil
}

// SetRecordingTrackStored records that the media store confirmed a track's
// file under key.
func (s *Store) SetRecordingTrackStored(ctx context.Context, id RecordingTrackID, key string, size int64) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE recording_tracks SET stored = TRUE, file_key = $2, size_bytes = $3 WHERE id = $1`,
			int64(id), key, size)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: track %d stored: %w", id, err)
	}
	return nil
}

// SetRecordingDownload records the state of a recording's download.
func (s *Store) SetRecordingDownload(ctx context.Context, id RecordingID, d RecordingDownload, at time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE recordings SET download_kind = $2, download_status = $3, download_progress = $4,
			download_key = $5, updated_at = $6 WHERE id = $1 AND status <> 'deleted'`,
			int64(id), d.Kind, d.Status, min(max(d.Progress, 0), 1), d.Key, ms(at))
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: recording %d download: %w", id, err)
	}
	return nil
}

// DeleteRecording marks a finished recording deleted (ErrClosed while it is
// still recording, ErrNotFound once deleted) and forgets its speaking
// activity; the caller removes the files. Activity: "recording.delete".
func (s *Store) DeleteRecording(ctx context.Context, a Actor, id RecordingID, at time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		query := `SELECT status, district_id, school_id, subject_id, teacher_id, room FROM recordings WHERE id = $1`
		if s.d.postgres {
			query += " FOR UPDATE"
		}
		var st, room string
		var district, school, subject, teacher int64
		err := q.queryRow(ctx, query, int64(id)).Scan(&st, &district, &school, &subject, &teacher, &room)
		switch {
		case isNoRows(err) || st == string(RecordingDeleted):
			return ErrNotFound
		case err != nil:
			return err
		case st == string(RecordingInProgress):
			return fmt.Errorf("recording %d is still recording: %w", id, ErrClosed)
		}
		if _, err := q.exec(ctx, `UPDATE recordings SET status = 'deleted', deleted_by = $2, download_status = 'none',
			download_key = '', updated_at = $3 WHERE id = $1`, int64(id), int64(a.UserID), ms(at)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM recording_speaking WHERE recording_id = $1`, int64(id)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: "recording.delete", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: recordingSubject(id), RoomID: room},
			map[string]any{"teacher_id": teacher, "from": st}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: delete recording %d: %w", id, err)
	}
	return nil
}

const recordingCols = `r.id, r.kind, r.room, r.title, r.teacher_id, u.name, u.trainee, r.district_id, r.school_id, COALESCE(sc.name, ''),
	r.subject_id, COALESCE(sub.name, ''), r.grade, r.tutoring_session_id, r.started_at, r.ended_at, r.duration_ms, r.status,
	r.status_reason, r.activity_interval_ms, r.download_kind, r.download_status, r.download_progress, r.download_key,
	r.deleted_by, r.created_at, r.updated_at, COALESCE(r.class_id, 0)`

const recordingFrom = ` FROM recordings r
	JOIN users u ON u.id = r.teacher_id
	LEFT JOIN schools sc ON sc.id = r.school_id
	LEFT JOIN subjects sub ON sub.id = r.subject_id`

func scanRecording(rw row) (Recording, error) {
	var r Recording
	var kind, status string
	var started, ended, created, updated int64
	err := rw.Scan(&r.ID, &kind, &r.Room, &r.Title, &r.TeacherID, &r.TeacherName, &r.TeacherTrainee, &r.DistrictID, &r.SchoolID,
		&r.SchoolName, &r.SubjectID, &r.SubjectName, &r.Grade, &r.TutoringSessionID, &started, &ended, &r.DurationMS, &status,
		&r.StatusReason, &r.ActivityIntervalMS, &r.Download.Kind, &r.Download.Status, &r.Download.Progress, &r.Download.Key,
		&r.DeletedBy, &created, &updated, &r.ClassID)
	r.Kind, r.Status = RecordingKind(kind), RecordingStatus(status)
	r.StartedAt, r.CreatedAt, r.UpdatedAt = fromMS(started), fromMS(created), fromMS(updated)
	if ended != 0 {
		r.EndedAt = fromMS(ended)
	}
	r.KnowledgePointIDs = []KnowledgePointID{}
	return r, err
}

// readRecordings reads recordings with their knowledge points.
func (s *Store) readRecordings(ctx context.Context, where string, args ...any) ([]Recording, error) {
	rs, err := s.r().query(ctx, "SELECT "+recordingCols+recordingFrom+" WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	out := []Recording{}
	idx := map[RecordingID]int{}
	var list []int64
	for rs.Next() {
		r, err := scanRecording(rs)
		if err != nil {
			rs.Close()
			return nil, err
		}
		idx[r.ID] = len(out)
		list = append(list, int64(r.ID))
		out = append(out, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ps, err := s.r().query(ctx, `SELECT recording_id, knowledge_point_id FROM recording_points WHERE `+
		s.d.inList("recording_id", 1)+` ORDER BY recording_id, knowledge_point_id`, s.d.listArg(list))
	if err != nil {
		return nil, err
	}
	defer ps.Close()
	for ps.Next() {
		var id RecordingID
		var kp KnowledgePointID
		if err := ps.Scan(&id, &kp); err != nil {
			return nil, err
		}
		out[idx[id]].KnowledgePointIDs = append(out[idx[id]].KnowledgePointIDs, kp)
	}
	return out, ps.Err()
}

// GetRecording reads one recording (deleted ones included) with its
// participants and tracks.
func (s *Store) GetRecording(ctx context.Context, id RecordingID) (Recording, error) {
	out, err := s.readRecordings(ctx, "r.id = $1", int64(id))
	if err != nil {
		return Recording{}, fmt.Errorf("storage: recording %d: %w", id, err)
	}
	if len(out) == 0 {
		return Recording{}, fmt.Errorf("storage: recording %d: %w", id, ErrNotFound)
	}
	r := out[0]
	if r.Participants, err = s.recordingParticipants(ctx, id); err != nil {
		return Recording{}, fmt.Errorf("storage: recording %d: %w", id, err)
	}
	if r.Tracks, err = s.RecordingTracks(ctx, id); err != nil {
		return Recording{}, err
	}
	return r, nil
}

func (s *Store) recordingParticipants(ctx context.Context, id RecordingID) ([]RecordingParticipant, error) {
	rs, err := s.r().query(ctx, `SELECT identity, user_id, name, role FROM recording_participants WHERE recording_id = $1
		ORDER BY CASE role WHEN 'teacher' THEN 0 ELSE 1 END, identity`, int64(id))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []RecordingParticipant{}
	for rs.Next() {
		var p RecordingParticipant
		if err := rs.Scan(&p.Identity, &p.UserID, &p.Name, &p.Role); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rs.Err()
}

// RecordingTracks lists a recording's tracks in the order they were added.
func (s *Store) RecordingTracks(ctx context.Context, id RecordingID) ([]RecordingTrack, error) {
	rs, err := s.r().query(ctx, `SELECT id, recording_id, track_sid, participant, name, role, source, kind, codec, file, file_key,
		stored, size_bytes, duration_ms, offset_ms, frames, drops, status, reason FROM recording_tracks WHERE recording_id = $1
		ORDER BY id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("storage: tracks of recording %d: %w", id, err)
	}
	defer rs.Close()
	out := []RecordingTrack{}
	for rs.Next() {
		var t RecordingTrack
		if err := rs.Scan(&t.ID, &t.RecordingID, &t.TrackSID, &t.Participant, &t.Name, &t.Role, &t.Source, &t.Kind, &t.Codec,
			&t.File, &t.FileKey, &t.Stored, &t.SizeBytes, &t.DurationMS, &t.OffsetMS, &t.Frames, &t.Drops, &t.Status,
			&t.Reason); err != nil {
			return nil, fmt.Errorf("storage: tracks of recording %d: %w", id, err)
		}
		out = append(out, t)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: tracks of recording %d: %w", id, err)
	}
	return out, nil
}

// RecordingSpeaking lists a recording's speaking intervals by participant,
// then time.
func (s *Store) RecordingSpeaking(ctx context.Context, id RecordingID) ([]SpeakingInterval, error) {
	rs, err := s.r().query(ctx, `SELECT identity, role, start_ms, end_ms, level FROM recording_speaking WHERE recording_id = $1
		ORDER BY identity, start_ms`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("storage: speaking of recording %d: %w", id, err)
	}
	defer rs.Close()
	out := []SpeakingInterval{}
	for rs.Next() {
		var sp SpeakingInterval
		if err := rs.Scan(&sp.Identity, &sp.Role, &sp.StartMS, &sp.EndMS, &sp.Level); err != nil {
			return nil, fmt.Errorf("storage: speaking of recording %d: %w", id, err)
		}
		out = append(out, sp)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: speaking of recording %d: %w", id, err)
	}
	return out, nil
}

// UnfinishedRecordings lists the recordings still "recording": at startup,
// those a crash cut.
func (s *Store) UnfinishedRecordings(ctx context.Context) ([]Recording, error) {
	out, err := s.readRecordings(ctx, "r.status = $1 ORDER BY r.id", string(RecordingInProgress))
	if err != nil {
		return nil, fmt.Errorf("storage: unfinished recordings: %w", err)
	}
	return out, nil
}

// ListRecordings lists one page of recordings, the latest first, and the
// number of matches.
func (s *Store) ListRecordings(ctx context.Context, f RecordingFilter) ([]Recording, int, error) {
	if f.SchoolIDs != nil && len(f.SchoolIDs) == 0 {
		return []Recording{}, 0, nil
	}
	c := &filter{d: s.d}
	if f.Statuses == nil {
		c.add("r.status <> $%d", string(RecordingDeleted))
	} else {
		var st []string
		for _, x := range f.Statuses {
			st = append(st, string(x))
		}
		c.in("r.status", st)
	}
	if f.DistrictID != 0 {
		c.add("r.district_id = $%d", int64(f.DistrictID))
	}
	if f.SchoolIDs != nil {
		c.in("r.school_id", ids(f.SchoolIDs))
	}
	if f.SchoolID != 0 {
		c.add("r.school_id = $%d", int64(f.SchoolID))
	}
	if f.TeacherID != 0 {
		c.add("r.teacher_id = $%d", int64(f.TeacherID))
	}
	if f.SubjectID != 0 {
		c.add("r.subject_id = $%d", int64(f.SubjectID))
	}
	if f.Grade != 0 {
		c.add("r.grade = $%d", f.Grade)
	}
	if f.Kind != "" {
		c.add("r.kind = $%d", string(f.Kind))
	}
	if f.ClassID != 0 {
		c.add("r.class_id = $%d", int64(f.ClassID))
	}
	if !f.From.IsZero() {
		c.add("r.started_at >= $%d", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("r.started_at < $%d", ms(f.To))
	}
	if f.Trainee != nil {
		c.add("r.teacher_id IN (SELECT id FROM users WHERE trainee = $%d)", *f.Trainee)
	}
	where := whereClause(c.where)
	var total int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM recordings r"+where, c.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: list recordings: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	n := len(c.args)
	args := append(c.args, limit, offset)
	cond := strings.TrimPrefix(where, " WHERE ")
	if cond == "" {
		cond = "1 = 1"
	}
	out, err := s.readRecordings(ctx, fmt.Sprintf("%s ORDER BY r.started_at DESC, r.id DESC LIMIT $%d OFFSET $%d", cond, n+1, n+2), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list recordings: %w", err)
	}
	return out, total, nil
}

// RecordingRef names a recording and its district.
type RecordingRef struct {
	ID         RecordingID
	DistrictID DistrictID
}

// ExpiredRecordings lists up to limit finished recordings (ready,
// interrupted or failed; not deleted) that ended before endedBefore,
// oldest first.
func (s *Store) ExpiredRecordings(ctx context.Context, endedBefore time.Time, limit int) ([]RecordingRef, error) {
	rows, err := s.r().query(ctx, `SELECT id, district_id FROM recordings
		WHERE status IN ('ready', 'interrupted', 'failed') AND ended_at > 0 AND ended_at < $1
		ORDER BY ended_at, id LIMIT $2`, ms(endedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: expired recordings: %w", err)
	}
	defer rows.Close()
	var out []RecordingRef
	for rows.Next() {
		var id, district int64
		if err := rows.Scan(&id, &district); err != nil {
			return nil, fmt.Errorf("storage: expired recordings: %w", err)
		}
		out = append(out, RecordingRef{ID: RecordingID(id), DistrictID: DistrictID(district)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: expired recordings: %w", err)
	}
	return out, nil
}
