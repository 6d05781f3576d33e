package storage

import (
	"context"
	"strconv"
	"strings"
)

// Imports create thousands of users in one transaction. Instead of a few
// statements per user they insert them, their roles, subjects and grades
// and their activity rows with multi-row INSERTs: 20,000 students then
// take a few hundred statements, not 60,000.

// chunkRows is how many rows of cols values one INSERT carries. SQLite's
// driver binds parameters in time quadratic in their number, so there a
// statement holds about 500 of them; Postgres takes up to 200 rows.
func (d *dialect) chunkRows(cols int) int {
	if d.postgres {
		return 200
	}
	return max(1, 500/cols)
}

// valuesList is "($1, $2), ($3, $4)" for rows × cols parameters numbered
// from first.
func valuesList(rows, cols, first int) string {
	var b strings.Builder
	n := first
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// insertMany inserts rows (each of the same length) with head
// "INSERT INTO t (a, b)" in chunks.
func insertMany(ctx context.Context, q querier, d *dialect, head string, rows [][]any) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), d.chunkRows(len(rows[0])))]
		rows = rows[len(chunk):]
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := q.exec(ctx, head+" VALUES "+valuesList(len(chunk), len(chunk[0]), 1), args...); err != nil {
			return err
		}
	}
	return nil
}

// insertUsers creates checked users (as imports do: active as given,
// with hash and must_change_password) and their activity rows, adding the
// rollup increments to acts.
func (s *Store) insertUsers(ctx context.Context, q querier, a Actor, ins []UserInput, hash string, acts activityBatch) error {
	now := s.now()
	const cols = 17
	var sets, roles, subjects, grades, log [][]any
	for len(ins) > 0 {
		chunk := ins[:min(len(ins), s.d.chunkRows(cols))]
		ins = ins[len(chunk):]
		args := make([]any, 0, len(chunk)*cols+1)
		byKey := make(map[string]int, len(chunk))
		for i, in := range chunk {
			key := strings.ToLower(in.Username)
			byKey[key] = i
			args = append(args, in.Username, key, in.Name, nullID(in.DistrictID), nullID(in.SchoolID), in.Active, true,
				hash, in.StudentNo, in.StaffNo, in.Grade, in.Class, in.Trainee, in.ExpertScope.District, userSearch(in), ms(now), ms(now))
		}
		// Each parameter used once, in order: SQLite binds those fastest.
		values := strings.ReplaceAll(valuesList(len(chunk), cols, 1), ")", ", 1)")
		r, err := q.query(ctx, `INSERT INTO users (username, username_key, name, district_id, school_id, active,
			must_change_password, password_hash, student_no, staff_no, grade, class, trainee, expert_district, search,
			created_at, updated_at, version) VALUES `+values+` RETURNING id, username_key`, args...)
		if err != nil {
			return mapErr(err, nil)
		}
		idOf := make([]UserID, len(chunk))
		for r.Next() {
			var id int64
			var key string
			if err := r.Scan(&id, &key); err != nil {
				r.Close()
				return err
			}
			idOf[byKey[key]] = UserID(id)
		}
		err = r.Err()
		r.Close()
		if err != nil {
			return mapErr(err, nil)
		}
		for i, in := range chunk {
			id := int64(idOf[i])
			for _, x := range in.Roles {
				roles = append(roles, []any{id, string(x)})
			}
			for _, x := range in.Subjects {
				subjects = append(subjects, []any{id, int64(x)})
			}
			for _, x := range in.Grades {
				grades = append(grades, []any{id, x})
			}
			for _, x := range in.ExpertScope.Schools {
				sets = append(sets, []any{id, int64(x)})
			}
			act := Activity{At: now, ActorID: a.UserID, Action: "user.create", DistrictID: in.DistrictID, SchoolID: in.SchoolID,
				Subject: "user:" + itoa(id), Detail: detailJSON(a, map[string]any{"username": in.Username, "roles": in.Roles, "import": true})}
			log = append(log, []any{ms(act.At), s.Month(act.At), int64(act.ActorID), act.Action, int64(act.DistrictID),
				int64(act.SchoolID), int64(0), act.Subject, "", "", int64(0), act.Detail})
			k := rollupKey{act.DistrictID, s.Month(act.At), act.SchoolID, 0, act.Action}
			sum := acts[k]
			sum.N++
			acts[k] = sum
		}
	}
	for _, step := range []struct {
		head string
		rows [][]any
	}{
		{"INSERT INTO user_roles (user_id, role)", roles},
		{"INSERT INTO user_subjects (user_id, subject_id)", subjects},
		{"INSERT INTO user_grades (user_id, grade)", grades},
		{"INSERT INTO expert_schools (user_id, school_id)", sets},
		{`INSERT INTO activity_log (at_ms, month, actor_id, action, district_id, school_id, subject_id, subject,
			room_id, session_id, value, detail)`, log},
	} {
		if len(step.rows) == 0 {
			continue
		}
		if err := insertMany(ctx, q, s.d, step.head, step.rows); err != nil {
			return mapErr(err, nil)
		}
	}
	return nil
}
