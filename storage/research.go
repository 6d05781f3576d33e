package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Teaching research (网络教研): research groups and their members, research
// activities with the recordings they study, and each activity's
// discussion, whose comments may pin to a moment of one of its recordings.
// Creating, editing or deleting a group, changing its members, creating an
// activity, adding a recording, commenting and deleting a comment write
// their activity rows in the same transaction, in the group's district and
// school. A deleted group keeps its rows (deleted_at) and is served no more:
// reads answer ErrNotFound and writes into it fail.

func checkResearchText(field string, s string, min, max int) error {
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	if !utf8.ValidString(s) || n < min || n > max {
		if min > 0 {
			return &FieldError{Field: field, Message: fmt.Sprintf("%d to %d characters", min, max)}
		}
		return &FieldError{Field: field, Message: fmt.Sprintf("at most %d characters", max)}
	}
	return nil
}

// CreateResearchGroup stores a group with its first members.
func (s *Store) CreateResearchGroup(ctx context.Context, a Actor, in ResearchGroupInput) (ResearchGroup, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	if err := checkResearchText("name", in.Name, 1, MaxResearchName); err != nil {
		return ResearchGroup{}, err
	}
	if err := checkResearchText("description", in.Description, 0, MaxResearchGroupText); err != nil {
		return ResearchGroup{}, err
	}
	if in.DistrictID == 0 {
		return ResearchGroup{}, &FieldError{Field: "district_id", Message: "required"}
	}
	members := uniqueIDs(in.Members)
	if len(members) > MaxResearchMembers {
		return ResearchGroup{}, &FieldError{Field: "members", Message: fmt.Sprintf("at most %d members", MaxResearchMembers)}
	}
	var id ResearchGroupID
	err := s.tx(ctx, func(q querier) error {
		now := ms(s.now())
		if err := q.queryRow(ctx, `INSERT INTO research_groups (district_id, school_id, subject_id, name, description, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, int64(in.DistrictID), int64(in.SchoolID), int64(in.SubjectID), in.Name,
			in.Description, int64(a.UserID), now).Scan(&id); err != nil {
			return err
		}
		for _, m := range members {
			if _, err := q.exec(ctx, `INSERT INTO research_members (group_id, user_id, added_at) VALUES ($1, $2, $3)`, int64(id), int64(m), now); err != nil {
				return err
			}
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.group_create", DistrictID: in.DistrictID, SchoolID: in.SchoolID,
			SubjectID: in.SubjectID, Value: int64(len(members))}, map[string]any{"group": id}, nil)
	})
	if err != nil {
		return ResearchGroup{}, fmt.Errorf("storage: create research group: %w", err)
	}
	return s.GetResearchGroup(ctx, id)
}

func uniqueIDs[T comparable](v []T) []T {
	out := make([]T, 0, len(v))
	for _, x := range v {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// SetResearchMembers replaces a group's members.
func (s *Store) SetResearchMembers(ctx context.Context, a Actor, id ResearchGroupID, members []UserID) (ResearchGroup, error) {
	members = uniqueIDs(members)
	if len(members) > MaxResearchMembers {
		return ResearchGroup{}, &FieldError{Field: "members", Message: fmt.Sprintf("at most %d members", MaxResearchMembers)}
	}
	err := s.tx(ctx, func(q querier) error {
		d, sc, subj, err := groupPlace(ctx, q, id)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM research_members WHERE group_id = $1`, int64(id)); err != nil {
			return err
		}
		now := ms(s.now())
		for _, m := range members {
			if _, err := q.exec(ctx, `INSERT INTO research_members (group_id, user_id, added_at) VALUES ($1, $2, $3)`, int64(id), int64(m), now); err != nil {
				return err
			}
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.members", DistrictID: d, SchoolID: sc,
			SubjectID: subj, Value: int64(len(members))}, map[string]any{"group": id}, nil)
	})
	if err != nil {
		return ResearchGroup{}, fmt.Errorf("storage: research group %d members: %w", id, err)
	}
	return s.GetResearchGroup(ctx, id)
}

// UpdateResearchGroup changes a group's name, description and subject.
func (s *Store) UpdateResearchGroup(ctx context.Context, a Actor, id ResearchGroupID, in ResearchGroupEdit) (ResearchGroup, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	if err := checkResearchText("name", in.Name, 1, MaxResearchName); err != nil {
		return ResearchGroup{}, err
	}
	if err := checkResearchText("description", in.Description, 0, MaxResearchGroupText); err != nil {
		return ResearchGroup{}, err
	}
	err := s.tx(ctx, func(q querier) error {
		d, sc, _, err := groupPlace(ctx, q, id)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE research_groups SET name = $2, description = $3, subject_id = $4 WHERE id = $1`,
			int64(id), in.Name, in.Description, int64(in.SubjectID)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.group_edit", DistrictID: d, SchoolID: sc, SubjectID: in.SubjectID},
			map[string]any{"group": id, "name": in.Name}, nil)
	})
	if err != nil {
		return ResearchGroup{}, fmt.Errorf("storage: edit research group %d: %w", id, err)
	}
	return s.GetResearchGroup(ctx, id)
}

// DeleteResearchGroup deletes a group softly: its row, members, activities
// and discussion stay, marked with who deleted it, and the
// research.group_delete activity row names it. A group deleted already is
// ErrNotFound.
func (s *Store) DeleteResearchGroup(ctx context.Context, a Actor, id ResearchGroupID) error {
	err := s.tx(ctx, func(q querier) error {
		d, sc, subj, err := groupPlace(ctx, q, id)
		if err != nil {
			return err
		}
		var name string
		var acts int64
		if err := q.queryRow(ctx, `SELECT g.name, (SELECT COUNT(*) FROM research_activities a WHERE a.group_id = g.id)
			FROM research_groups g WHERE g.id = $1`, int64(id)).Scan(&name, &acts); err != nil {
			return err
		}
		n, err := q.exec(ctx, `UPDATE research_groups SET deleted_at = $2, deleted_by = $3 WHERE id = $1 AND deleted_at = 0`,
			int64(id), ms(s.now()), int64(a.UserID))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound // deleted meanwhile
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.group_delete", DistrictID: d, SchoolID: sc, SubjectID: subj, Value: acts},
			map[string]any{"group": id, "name": name}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: delete research group %d: %w", id, err)
	}
	return nil
}

const researchGroupCols = `g.id, g.district_id, g.school_id, COALESCE(sc.name, ''), g.subject_id, g.name, g.description, g.created_by, g.created_at
	FROM research_groups g LEFT JOIN schools sc ON sc.id = g.school_id`

func scanResearchGroup(row interface{ Scan(...any) error }) (ResearchGroup, error) {
	var g ResearchGroup
	var at int64
	err := row.Scan(&g.ID, &g.DistrictID, &g.SchoolID, &g.SchoolName, &g.SubjectID, &g.Name, &g.Description, &g.CreatedBy, &at)
	g.CreatedAt = fromMS(at)
	return g, err
}

// GetResearchGroup reads a group with its members; a deleted group is ErrNotFound.
func (s *Store) GetResearchGroup(ctx context.Context, id ResearchGroupID) (ResearchGroup, error) {
	g, err := scanResearchGroup(s.r().queryRow(ctx, `SELECT `+researchGroupCols+` WHERE g.id = $1 AND g.deleted_at = 0`, int64(id)))
	if isNoRows(err) {
		return g, fmt.Errorf("storage: research group %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return g, fmt.Errorf("storage: research group %d: %w", id, err)
	}
	rs, err := s.r().query(ctx, `SELECT u.id, u.name, u.school_id FROM research_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = $1 ORDER BY u.id`, int64(id))
	if err != nil {
		return g, fmt.Errorf("storage: research group %d members: %w", id, err)
	}
	defer rs.Close()
	g.Members = []ResearchMember{}
	for rs.Next() {
		var m ResearchMember
		if err := rs.Scan(&m.UserID, &m.Name, &m.SchoolID); err != nil {
			return g, fmt.Errorf("storage: research group %d members: %w", id, err)
		}
		g.Members = append(g.Members, m)
	}
	return g, rs.Err()
}

// ListResearchGroups lists the groups of f (without their members), newest first; at most 500.
func (s *Store) ListResearchGroups(ctx context.Context, f ResearchGroupFilter) ([]ResearchGroup, error) {
	args := []any{int64(f.MemberID)}
	or := []string{`g.id IN (SELECT group_id FROM research_members WHERE user_id = $1)`}
	if f.ManageAll {
		or = append(or, "TRUE")
	}
	if f.ManageDistrict != 0 {
		args = append(args, int64(f.ManageDistrict))
		or = append(or, fmt.Sprintf("g.district_id = $%d", len(args)))
	}
	if len(f.ManageSchools) > 0 {
		args = append(args, s.d.listArg(ids(f.ManageSchools)))
		or = append(or, "(g.school_id <> 0 AND "+s.d.inList("g.school_id", len(args))+")")
	}
	rs, err := s.r().query(ctx, `SELECT `+researchGroupCols+` WHERE g.deleted_at = 0 AND (`+strings.Join(or, " OR ")+`) ORDER BY g.id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: research groups: %w", err)
	}
	defer rs.Close()
	out := []ResearchGroup{}
	for rs.Next() {
		g, err := scanResearchGroup(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: research groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rs.Err()
}

// IsResearchMember reports whether user is a member of group.
func (s *Store) IsResearchMember(ctx context.Context, group ResearchGroupID, user UserID) (bool, error) {
	var n int
	err := s.r().queryRow(ctx, `SELECT COUNT(*) FROM research_members WHERE group_id = $1 AND user_id = $2`, int64(group), int64(user)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storage: research member: %w", err)
	}
	return n > 0, nil
}

// ResearchGroupsWatching lists the groups whose member user is and one of
// whose activities studies recording: through them user may watch it.
func (s *Store) ResearchGroupsWatching(ctx context.Context, user UserID, rec RecordingID) ([]ResearchGroupID, error) {
	rs, err := s.r().query(ctx, `SELECT DISTINCT a.group_id FROM research_activity_recordings ar
		JOIN research_activities a ON a.id = ar.activity_id
		JOIN research_members m ON m.group_id = a.group_id AND m.user_id = $1
		JOIN research_groups g ON g.id = a.group_id AND g.deleted_at = 0
		WHERE ar.recording_id = $2 ORDER BY a.group_id`, int64(user), int64(rec))
	if err != nil {
		return nil, fmt.Errorf("storage: research recordings: %w", err)
	}
	defer rs.Close()
	var out []ResearchGroupID
	for rs.Next() {
		var id ResearchGroupID
		if err := rs.Scan(&id); err != nil {
			return nil, fmt.Errorf("storage: research recordings: %w", err)
		}
		out = append(out, id)
	}
	return out, rs.Err()
}

// groupPlace reads a group's district, school and subject inside q; a
// deleted group is ErrNotFound, so nothing is written into it.
func groupPlace(ctx context.Context, q querier, id ResearchGroupID) (d DistrictID, sc SchoolID, subj SubjectID, err error) {
	err = q.queryRow(ctx, `SELECT district_id, school_id, subject_id FROM research_groups WHERE id = $1 AND deleted_at = 0`, int64(id)).Scan(&d, &sc, &subj)
	if isNoRows(err) {
		err = ErrNotFound
	}
	return d, sc, subj, err
}

// CreateResearchActivity stores an activity with the recordings it studies.
func (s *Store) CreateResearchActivity(ctx context.Context, a Actor, in ResearchActivityInput) (ResearchActivity, error) {
	in.Topic, in.Description = strings.TrimSpace(in.Topic), strings.TrimSpace(in.Description)
	if err := checkResearchText("topic", in.Topic, 1, MaxResearchName); err != nil {
		return ResearchActivity{}, err
	}
	if err := checkResearchText("description", in.Description, 0, MaxResearchText); err != nil {
		return ResearchActivity{}, err
	}
	recs := uniqueIDs(in.RecordingIDs)
	if len(recs) > MaxResearchRecordings {
		return ResearchActivity{}, &FieldError{Field: "recording_ids", Message: fmt.Sprintf("at most %d recordings", MaxResearchRecordings)}
	}
	var id ResearchActivityID
	err := s.tx(ctx, func(q querier) error {
		d, sc, subj, err := groupPlace(ctx, q, in.GroupID)
		if err != nil {
			return err
		}
		now := ms(s.now())
		if err := q.queryRow(ctx, `INSERT INTO research_activities (group_id, topic, description, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, int64(in.GroupID), in.Topic, in.Description, int64(a.UserID), now).Scan(&id); err != nil {
			return err
		}
		for _, r := range recs {
			if _, err := q.exec(ctx, `INSERT INTO research_activity_recordings (activity_id, recording_id, added_by, added_at) VALUES ($1, $2, $3, $4)`,
				int64(id), int64(r), int64(a.UserID), now); err != nil {
				return err
			}
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.activity_create", DistrictID: d, SchoolID: sc, SubjectID: subj,
			Value: int64(len(recs))}, map[string]any{"group": in.GroupID, "activity": id}, nil)
	})
	if err != nil {
		return ResearchActivity{}, fmt.Errorf("storage: create research activity: %w", err)
	}
	return s.GetResearchActivity(ctx, id)
}

// AddResearchRecording adds a recording to an activity (at most
// MaxResearchRecordings; adding one twice is a duplicate).
func (s *Store) AddResearchRecording(ctx context.Context, a Actor, id ResearchActivityID, rec RecordingID) (ResearchActivity, error) {
	err := s.tx(ctx, func(q querier) error {
		// The activity's row is locked (Postgres; SQLite writes one at a
		// time) so that parallel adds cannot pass the limit together.
		query := `SELECT group_id FROM research_activities WHERE id = $1`
		if s.d.postgres {
			query += " FOR UPDATE"
		}
		var group ResearchGroupID
		if err := q.queryRow(ctx, query, int64(id)).Scan(&group); err != nil {
			if isNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		d, sc, subj, err := groupPlace(ctx, q, group)
		if err != nil {
			return err
		}
		var n, dup int
		if err := q.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN recording_id = $2 THEN 1 ELSE 0 END), 0)
			FROM research_activity_recordings WHERE activity_id = $1`, int64(id), int64(rec)).Scan(&n, &dup); err != nil {
			return err
		}
		if dup > 0 {
			return &DuplicateError{Field: "recording_id"}
		}
		if n >= MaxResearchRecordings {
			return &FieldError{Field: "recording_id", Message: fmt.Sprintf("an activity studies at most %d recordings", MaxResearchRecordings)}
		}
		if _, err := q.exec(ctx, `INSERT INTO research_activity_recordings (activity_id, recording_id, added_by, added_at) VALUES ($1, $2, $3, $4)`,
			int64(id), int64(rec), int64(a.UserID), ms(s.now())); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.recording_add", DistrictID: d, SchoolID: sc, SubjectID: subj,
			Subject: fmt.Sprintf("recording:%d", rec)}, map[string]any{"activity": id}, nil)
	})
	if err != nil {
		return ResearchActivity{}, fmt.Errorf("storage: research activity %d recording: %w", id, err)
	}
	return s.GetResearchActivity(ctx, id)
}

const researchActivityCols = `a.id, a.group_id, a.topic, a.description, a.created_by, COALESCE(u.name, ''), a.created_at,
	(SELECT COUNT(*) FROM research_comments c WHERE c.activity_id = a.id AND c.deleted_at = 0)
	FROM research_activities a LEFT JOIN users u ON u.id = a.created_by`

func (s *Store) readResearchActivities(ctx context.Context, where string, arg any) ([]ResearchActivity, error) {
	rs, err := s.r().query(ctx, `SELECT `+researchActivityCols+` WHERE `+where+` ORDER BY a.id DESC LIMIT 500`, arg)
	if err != nil {
		return nil, err
	}
	var out []ResearchActivity
	for rs.Next() {
		var v ResearchActivity
		var at int64
		if err := rs.Scan(&v.ID, &v.GroupID, &v.Topic, &v.Description, &v.CreatedBy, &v.CreatorName, &at, &v.Comments); err != nil {
			rs.Close()
			return nil, err
		}
		v.CreatedAt = fromMS(at)
		v.RecordingIDs = []RecordingID{}
		out = append(out, v)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		recs, err := s.r().query(ctx, `SELECT recording_id FROM research_activity_recordings WHERE activity_id = $1 ORDER BY added_at, recording_id`, int64(out[i].ID))
		if err != nil {
			return nil, err
		}
		for recs.Next() {
			var id RecordingID
			if err := recs.Scan(&id); err != nil {
				recs.Close()
				return nil, err
			}
			out[i].RecordingIDs = append(out[i].RecordingIDs, id)
		}
		recs.Close()
		if err := recs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetResearchActivity reads an activity with its recordings.
func (s *Store) GetResearchActivity(ctx context.Context, id ResearchActivityID) (ResearchActivity, error) {
	out, err := s.readResearchActivities(ctx, "a.id = $1", int64(id))
	if err != nil {
		return ResearchActivity{}, fmt.Errorf("storage: research activity %d: %w", id, err)
	}
	if len(out) == 0 {
		return ResearchActivity{}, fmt.Errorf("storage: research activity %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// ListResearchActivities lists a group's activities, newest first; at most 500.
func (s *Store) ListResearchActivities(ctx context.Context, group ResearchGroupID) ([]ResearchActivity, error) {
	out, err := s.readResearchActivities(ctx, "a.group_id = $1", int64(group))
	if err != nil {
		return nil, fmt.Errorf("storage: research activities: %w", err)
	}
	if out == nil {
		out = []ResearchActivity{}
	}
	return out, nil
}

// AddResearchComment stores a comment of an activity's discussion. A
// pinned comment's recording must be one of the activity's, its start at
// or after 0 and its end (0: none) after its start.
func (s *Store) AddResearchComment(ctx context.Context, a Actor, c ResearchComment) (ResearchComment, error) {
	c.Text = strings.TrimSpace(c.Text)
	if err := checkResearchText("text", c.Text, 1, MaxResearchText); err != nil {
		return c, err
	}
	switch {
	case c.RecordingID == 0 && (c.StartMS != 0 || c.EndMS != 0):
		return c, &FieldError{Field: "recording_id", Message: "a moment needs its recording"}
	case c.StartMS < 0:
		return c, &FieldError{Field: "start_ms", Message: "must be 0 or more"}
	case c.EndMS != 0 && c.EndMS <= c.StartMS:
		return c, &FieldError{Field: "end_ms", Message: "must be after the start"}
	}
	var id ResearchCommentID
	err := s.tx(ctx, func(q querier) error {
		var group ResearchGroupID
		if err := q.queryRow(ctx, `SELECT group_id FROM research_activities WHERE id = $1`, int64(c.ActivityID)).Scan(&group); err != nil {
			if isNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		if c.RecordingID != 0 {
			var n int
			if err := q.queryRow(ctx, `SELECT COUNT(*) FROM research_activity_recordings WHERE activity_id = $1 AND recording_id = $2`,
				int64(c.ActivityID), int64(c.RecordingID)).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return &FieldError{Field: "recording_id", Message: "not a recording of this activity"}
			}
		}
		d, sc, subj, err := groupPlace(ctx, q, group)
		if err != nil {
			return err
		}
		if err := q.queryRow(ctx, `INSERT INTO research_comments (activity_id, author_id, text, recording_id, start_ms, end_ms, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, int64(c.ActivityID), int64(c.AuthorID), c.Text, int64(c.RecordingID),
			c.StartMS, c.EndMS, ms(s.now())).Scan(&id); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.comment", DistrictID: d, SchoolID: sc, SubjectID: subj},
			map[string]any{"activity": c.ActivityID, "comment": id}, nil)
	})
	if err != nil {
		return c, fmt.Errorf("storage: research comment: %w", err)
	}
	return s.GetResearchComment(ctx, id)
}

const researchCommentCols = `c.id, c.activity_id, c.author_id, COALESCE(u.name, ''), c.text, c.recording_id, c.start_ms, c.end_ms,
	c.created_at, c.deleted_at, c.deleted_by FROM research_comments c LEFT JOIN users u ON u.id = c.author_id`

func scanResearchComment(row interface{ Scan(...any) error }) (ResearchComment, error) {
	var c ResearchComment
	var at, del int64
	err := row.Scan(&c.ID, &c.ActivityID, &c.AuthorID, &c.AuthorName, &c.Text, &c.RecordingID, &c.StartMS, &c.EndMS, &at, &del, &c.DeletedBy)
	c.CreatedAt = fromMS(at)
	if del != 0 {
		c.Deleted, c.Text = true, ""
	}
	return c, err
}

// GetResearchComment reads one comment (a deleted one without its text).
func (s *Store) GetResearchComment(ctx context.Context, id ResearchCommentID) (ResearchComment, error) {
	c, err := scanResearchComment(s.r().queryRow(ctx, `SELECT `+researchCommentCols+` WHERE c.id = $1`, int64(id)))
	if isNoRows(err) {
		return c, fmt.Errorf("storage: research comment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("storage: research comment %d: %w", id, err)
	}
	return c, nil
}

// ListResearchComments lists an activity's discussion in order (deleted
// comments keep their place without their text); recording, when set,
// keeps only the comments pinned to it. At most 2000.
func (s *Store) ListResearchComments(ctx context.Context, activity ResearchActivityID, recording RecordingID) ([]ResearchComment, error) {
	rs, err := s.r().query(ctx, `SELECT `+researchCommentCols+` WHERE c.activity_id = $1 AND ($2 = 0 OR c.recording_id = $2)
		ORDER BY c.id LIMIT 2000`, int64(activity), int64(recording))
	if err != nil {
		return nil, fmt.Errorf("storage: research comments: %w", err)
	}
	defer rs.Close()
	out := []ResearchComment{}
	for rs.Next() {
		c, err := scanResearchComment(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: research comments: %w", err)
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

// DeleteResearchComment deletes a comment softly: the row stays, its text
// is no longer served, and the activity row says who deleted it. A comment
// deleted already is ErrNotFound.
func (s *Store) DeleteResearchComment(ctx context.Context, a Actor, id ResearchCommentID) error {
	err := s.tx(ctx, func(q querier) error {
		var activity ResearchActivityID
		var group ResearchGroupID
		var author UserID
		err := q.queryRow(ctx, `SELECT c.activity_id, a.group_id, c.author_id FROM research_comments c
			JOIN research_activities a ON a.id = c.activity_id WHERE c.id = $1 AND c.deleted_at = 0`, int64(id)).Scan(&activity, &group, &author)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		d, sc, subj, err := groupPlace(ctx, q, group)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE research_comments SET deleted_at = $1, deleted_by = $2 WHERE id = $3`, ms(s.now()), int64(a.UserID), int64(id)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "research.comment_delete", DistrictID: d, SchoolID: sc, SubjectID: subj},
			map[string]any{"activity": activity, "comment": id, "author": author}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: delete research comment %d: %w", id, err)
	}
	return nil
}
