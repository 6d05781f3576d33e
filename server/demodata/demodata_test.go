package demodata_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"yunke/server/demodata"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// A stored hash of demodata.Password is not needed to generate; any
// non-empty string stands for it here.
const fakeHash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

func params(seed uint64) demodata.Params {
	return demodata.Params{Seed: seed, Scale: 0.01, Year: 2025, PasswordHash: fakeHash, TraineeCoverage: 1}
}

type backend struct {
	name   string
	params func(testing.TB) storage.OpenParams
}

var backends = []backend{{"sqlite", storagetest.SQLiteParams}, {"postgres", storagetest.PostgresParams}}

// open opens a fresh store and a plain SQL connection to the same
// database, to count rows with.
func open(t *testing.T, b backend) (*storage.Store, *sql.DB) {
	t.Helper()
	p := b.params(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	driver, dsn := "sqlite", p.Path
	if p.URL != "" {
		driver, dsn = "pgx", p.URL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return st, db
}

func count(t *testing.T, db *sql.DB, query string) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n.Int64
}

// TestGenerateKnownTotals: a small year with a fixed seed has exactly the
// totals the scaled seeds' figures give, counted back from the raw rows,
// and the activity rollup equals the log.
func TestGenerateKnownTotals(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, db := open(t, b)
			sum, err := demodata.Generate(ctx, st, params(42))
			if err != nil {
				t.Fatal(err)
			}
			// 1% of the seeds' figures.
			want := map[string]int64{
				"SELECT COUNT(*) FROM districts":                                            1,
				"SELECT COUNT(*) FROM schools WHERE kind <> 'kindergarten'":                 4,
				"SELECT COUNT(*) FROM schools WHERE kind = 'kindergarten'":                  2,
				"SELECT COUNT(*) FROM user_roles WHERE role = 'teacher'":                    120,
				"SELECT COUNT(*) FROM users WHERE trainee = TRUE":                           3,
				"SELECT COUNT(*) FROM user_roles WHERE role = 'student'":                    160,
				"SELECT COUNT(*) FROM classes":                                              160,
				"SELECT COUNT(*) FROM recordings WHERE status = 'ready'":                    112, // 56 a half-year
				"SELECT COUNT(*) FROM tutoring_sessions":                                    3304,
				"SELECT COUNT(*) FROM activity_log WHERE action = 'tutoring.session_end'":   3304,
				"SELECT COUNT(*) FROM qa_questions":                                         1334,
				"SELECT COUNT(*) FROM activity_log WHERE action = 'qa.ask'":                 1334,
				"SELECT COUNT(*) FROM qa_answers":                                           3817,
				"SELECT SUM(answer_count) FROM qa_questions":                                3817,
				"SELECT SUM(n) FROM activity_monthly WHERE action = 'qa.answer'":            3817,
				"SELECT COUNT(*) FROM microlessons WHERE status = 'published'":              13,
				"SELECT SUM(n) FROM activity_monthly WHERE action = 'microlesson.publish'":  13,
				"SELECT SUM(n) FROM activity_monthly WHERE action = 'tutoring.session_end'": 3304,
				// Every trainee recorded at least once: coverage 100 %.
				`SELECT COUNT(DISTINCT r.teacher_id) FROM recordings r JOIN users u ON u.id = r.teacher_id
					WHERE u.trainee = TRUE`: 3,
				// The rollup is the log summed up, key by key.
				`SELECT COUNT(*) FROM (SELECT district_id, month, school_id, subject_id, action, COUNT(*) AS n, SUM(value) AS total
					FROM activity_log GROUP BY district_id, month, school_id, subject_id, action) a
					LEFT JOIN activity_monthly m ON m.district_id = a.district_id AND m.month = a.month
					AND m.school_id = a.school_id AND m.subject_id = a.subject_id AND m.action = a.action
					WHERE m.n IS NULL OR m.n <> a.n OR m.total <> a.total`: 0,
				`SELECT COUNT(*) FROM activity_monthly m WHERE m.n <> (SELECT COUNT(*) FROM activity_log l
					WHERE l.district_id = m.district_id AND l.month = m.month AND l.school_id = m.school_id
					AND l.subject_id = m.subject_id AND l.action = m.action)`: 0,
				// Answers come after their question; ratings match their sessions.
				`SELECT COUNT(*) FROM qa_answers a JOIN qa_questions q ON q.id = a.question_id WHERE a.created_at < q.created_at`: 0,
				`SELECT COUNT(*) FROM tutoring_ratings r JOIN tutoring_sessions s ON s.id = r.session_id
					WHERE r.teacher_id <> s.teacher_id OR r.school_id <> s.school_id`: 0,
			}
			for q, n := range want {
				if got := count(t, db, q); got != n {
					t.Errorf("%s = %d, want %d", q, got, n)
				}
			}
			// The summary reports what is in the database.
			for q, n := range map[string]int{
				"SELECT COUNT(*) FROM qa_questions":                                                             sum.Questions,
				"SELECT COUNT(*) FROM qa_answers":                                                               sum.Answers,
				"SELECT COUNT(*) FROM qa_questions WHERE status = 'adopted'":                                    sum.AdoptedQuestions,
				"SELECT COUNT(*) FROM qa_ratings":                                                               sum.QARatings,
				"SELECT COUNT(*) FROM tutoring_ratings":                                                         sum.TutoringRatings,
				"SELECT COUNT(*) FROM class_attendance":                                                         sum.ClassAttendance,
				"SELECT COUNT(*) FROM class_ratings":                                                            sum.ClassRatings,
				"SELECT COUNT(*) FROM reviews WHERE status = 'submitted'":                                       sum.Reviews,
				"SELECT COUNT(DISTINCT teacher_id) FROM recordings":                                             sum.TeachersRecording,
				"SELECT COUNT(DISTINCT target) FROM review_assignments":                                         sum.RecordingsReviewed,
				"SELECT COUNT(*) FROM activity_log":                                                             int(sum.ActivityRows),
				"SELECT COUNT(*) FROM school_targets WHERE year = 2025":                                         sum.Targets,
				"SELECT COUNT(*) FROM users WHERE trainee = TRUE AND id IN (SELECT teacher_id FROM recordings)": sum.TraineesRecorded,
				"SELECT COUNT(*) FROM activity_log WHERE action = 'auth.signin'":                                sum.SignIns,
				"SELECT COUNT(*) FROM qa_votes":                                                                 sum.QAVotes,
				"SELECT SUM(votes) FROM qa_answers":                                                             sum.QAVotes,
				"SELECT COUNT(*) FROM activity_log WHERE action = 'qa.vote'":                                    sum.QAVotes,
				"SELECT COUNT(*) FROM qa_comments":                                                              sum.QAComments,
				"SELECT COUNT(*) FROM tutoring_requests":                                                        sum.TutoringRequests,
				"SELECT COUNT(*) FROM tutoring_requests WHERE status = 'cancelled' AND session_id = 0":          sum.TutoringUnmatched,
				"SELECT COUNT(*) FROM activity_log WHERE action = 'tutoring.cancel'":                            sum.TutoringUnmatched,
				"SELECT COUNT(*) FROM recording_speaking":                                                       sum.SpeakingIntervals,
				"SELECT COUNT(*) FROM recording_st WHERE mode <> ''":                                            sum.Recordings,
				"SELECT COUNT(*) FROM recording_st WHERE mode = 'lecture'":                                      sum.STModes["lecture"],
				"SELECT COUNT(*) FROM recording_st WHERE mode = 'dialogue'":                                     sum.STModes["dialogue"],
			} {
				if got := count(t, db, q); got != int64(n) {
					t.Errorf("%s = %d, summary says %d", q, got, n)
				}
			}
			if sum.Questions != 1334 || sum.Answers != 3817 || sum.TutoringSessions != 3304 || sum.Trainees != 3 || sum.TraineesRecorded != 3 {
				t.Errorf("summary %+v", sum)
			}
			// The accounts are usable: they sign in with the hash given.
			for user, role := range map[string]storage.Role{demodata.DistrictAdmin: storage.RoleDistrictAdmin,
				demodata.SchoolAdmin: storage.RoleSchoolAdmin, demodata.TeacherUser: storage.RoleTeacher} {
				cred, err := st.CredentialsByUsername(ctx, user)
				if err != nil {
					t.Fatalf("%s: %v", user, err)
				}
				if cred.PasswordHash != fakeHash || !cred.User.Active || cred.User.MustChangePassword || len(cred.User.Roles) != 1 ||
					cred.User.Roles[0] != role {
					t.Errorf("%s: %+v", user, cred.User)
				}
			}
			// A second run changes nothing.
			if _, err := demodata.Generate(ctx, st, params(43)); !errors.Is(err, demodata.ErrAlreadyLoaded) {
				t.Errorf("second run: %v, want ErrAlreadyLoaded", err)
			}
			if got := count(t, db, "SELECT COUNT(*) FROM qa_questions"); got != 1334 {
				t.Errorf("after the second run: %d questions", got)
			}
		})
	}
}

// fingerprint digests the generated rows (the password hash aside).
func fingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	h := sha256.New()
	for _, q := range []string{
		"SELECT id, code, name FROM districts ORDER BY id",
		"SELECT id, code, name, kind FROM schools ORDER BY id",
		"SELECT id, username, name, school_id, grade, class, trainee FROM users ORDER BY id",
		"SELECT user_id, subject_id FROM user_subjects ORDER BY user_id, subject_id",
		"SELECT id, teacher_id, school_id, subject_id, grade, title, starts_at, started_at, ended_at, recording FROM classes ORDER BY id",
		"SELECT class_id, user_id, joined_at, left_at FROM class_attendance ORDER BY class_id, user_id",
		"SELECT id, teacher_id, started_at, duration_ms FROM recordings ORDER BY id",
		"SELECT assignment_id, body, total FROM reviews ORDER BY assignment_id",
		"SELECT id, student_id, teacher_id, created_at, started_at, duration_s FROM tutoring_sessions ORDER BY id",
		"SELECT session_id, score, solved FROM tutoring_ratings ORDER BY session_id",
		"SELECT id, author_id, text, status, adopted_answer_id, created_at FROM qa_questions ORDER BY id",
		"SELECT id, question_id, author_id, created_at FROM qa_answers ORDER BY id",
		"SELECT id, teacher_id, title, status, status_at FROM microlessons ORDER BY id",
		"SELECT recording_id, identity, role, start_ms, end_ms FROM recording_speaking ORDER BY recording_id, identity, start_ms",
		"SELECT recording_id, samples, mode FROM recording_st ORDER BY recording_id",
		"SELECT answer_id, teacher_id, voted_at FROM qa_votes ORDER BY answer_id, teacher_id",
		"SELECT id, question_id, answer_id, author_id, created_at FROM qa_comments ORDER BY id",
		"SELECT id, at_ms, actor_id, action, school_id, subject_id, subject, value, detail FROM activity_log ORDER BY id",
		"SELECT district_id, month, school_id, subject_id, action, n, total FROM activity_monthly ORDER BY district_id, month, school_id, subject_id, action",
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(h, vals...)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGenerateDeterministic: the same seed gives the same rows; another
// seed other rows.
func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var prints []string
			for _, seed := range []uint64{7, 7, 8} {
				st, db := open(t, b)
				if _, err := demodata.Generate(context.Background(), st, params(seed)); err != nil {
					t.Fatal(err)
				}
				prints = append(prints, fingerprint(t, db))
			}
			if prints[0] != prints[1] {
				t.Error("two runs with seed 7 differ")
			}
			if prints[0] == prints[2] {
				t.Error("seeds 7 and 8 gave the same rows")
			}
		})
	}
}

// TestGenerateRefusesRealData: a database with a district of its own is
// left alone unless forced; forced, demo data goes in beside it. The
// system administrator a first start creates is no reason to refuse.
func TestGenerateRefusesRealData(t *testing.T) {
	t.Parallel()
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		if _, err := st.CreateUser(ctx, storage.Actor{}, storage.UserInput{Username: "admin", Name: "admin", Active: true,
			Roles: []storage.Role{storage.RoleSystemAdmin}}, fakeHash, true); err != nil {
			t.Fatal(err)
		}
		if have, err := st.DataPresence(ctx); err != nil || have.Real() {
			t.Fatalf("with only a system administrator: %+v, %v", have, err)
		}
		if _, err := st.CreateDistrict(ctx, storage.Actor{}, "D1", "城关区"); err != nil {
			t.Fatal(err)
		}
		if _, err := demodata.Generate(ctx, st, params(1)); !errors.Is(err, demodata.ErrRealData) {
			t.Fatalf("err = %v, want ErrRealData", err)
		}
		if have, err := st.DataPresence(ctx); err != nil || have.DemoDistricts != 0 {
			t.Fatalf("after refusing: %+v, %v", have, err)
		}
		p := params(1)
		p.Force = true
		sum, err := demodata.Generate(ctx, st, p)
		if err != nil {
			t.Fatal(err)
		}
		have, err := st.DataPresence(ctx)
		if err != nil || have.DemoDistricts != 1 || have.RealDistricts != 1 || sum.Questions != 1334 {
			t.Errorf("forced: %+v, %v, %d questions", have, err, sum.Questions)
		}
	})
}

// TestTraineeCoverage: with a coverage below 1, exactly that share of the
// trainees record.
func TestTraineeCoverage(t *testing.T) {
	t.Parallel()
	st := storagetest.OpenSQLite(t)
	p := params(5)
	p.Scale = 0.1 // 35 trainees
	p.TraineeCoverage = 0.6
	sum, err := demodata.Generate(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trainees != 35 || sum.TraineesRecorded != 21 {
		t.Errorf("%d trainees, %d recorded; want 35 and 21", sum.Trainees, sum.TraineesRecorded)
	}
}
