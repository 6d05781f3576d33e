package storage_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// classWorld is two schools of a district with teachers and students in
// different grades and school classes, and a student of another district.
type classWorld struct {
	tutoringWorld
	teacher1, assistant2            storage.User // teacher of s1, teacher of s2
	inClass, otherClass, otherGrade storage.User // students of s2: 7年级 1班, 7年级 2班, 8年级 1班
	s1Student, farStudent           storage.User
	d2                              storage.District
}

func seedClasses(t *testing.T, s *storage.Store) classWorld {
	t.Helper()
	ctx := context.Background()
	w := classWorld{tutoringWorld: seedTutoring(t, s)}
	mk := func(name string, school storage.School, role storage.Role, grade int, class string) storage.User {
		return must(s.CreateUser(ctx, admin, storage.UserInput{Username: name, Name: name, DistrictID: school.DistrictID, SchoolID: school.ID,
			Roles: []storage.Role{role}, Active: true, Grade: grade, Class: class}, "h", false))(t)
	}
	w.teacher1 = mk("t1", w.s1, storage.RoleTeacher, 0, "")
	w.assistant2 = mk("a2", w.s2, storage.RoleTeacher, 0, "")
	w.inClass = mk("c71", w.s2, storage.RoleStudent, 7, "1班")
	w.otherClass = mk("c72", w.s2, storage.RoleStudent, 7, "2班")
	w.otherGrade = mk("c81", w.s2, storage.RoleStudent, 8, "1班")
	w.s1Student = mk("s1s", w.s1, storage.RoleStudent, 7, "1班")
	w.d2 = must(s.CreateDistrict(ctx, admin, "D2", "朝阳区"))(t)
	far := must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: w.d2.ID, Code: "F1", Name: "远方", Kind: storage.KindPrimary, Active: true}))(t)
	w.farStudent = mk("far", far, storage.RoleStudent, 7, "1班")
	return w
}

func (w *classWorld) input(start time.Time) storage.ClassInput {
	return storage.ClassInput{DistrictID: w.d.ID, SchoolID: w.s2.ID, Title: " 一次函数 ", SubjectID: w.math.ID, Grade: 7,
		TeacherID: w.teacher.ID, Assistants: []storage.UserID{w.assistant2.ID}, Audience: storage.AudienceClasses,
		Groups: []string{"1班"}, StartsAt: start, PlannedMinutes: 45, Recording: true}
}

func classIDs(cs []storage.Class) []storage.ClassID {
	var out []storage.ClassID
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestClassScheduleAndAudience(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedClasses(t, s)
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, storage.Zone)

		for field, bad := range map[string]func(*storage.ClassInput){
			"title":         func(in *storage.ClassInput) { in.Title = " " },
			"grade":         func(in *storage.ClassInput) { in.Grade = 13 },
			"audience":      func(in *storage.ClassInput) { in.Audience = storage.AudienceDistrict },
			"groups":        func(in *storage.ClassInput) { in.Groups = nil },
			"teacher_id":    func(in *storage.ClassInput) { in.TeacherID = w.teacher1.ID }, // another school's teacher
			"assistant_ids": func(in *storage.ClassInput) { in.Assistants = []storage.UserID{w.inClass.ID} },
			"school_id":     func(in *storage.ClassInput) { in.DistrictID = w.d2.ID },
			"subject_id":    func(in *storage.ClassInput) { in.SubjectID = 999999 },
		} {
			in := w.input(start)
			bad(&in)
			_, err := s.CreateClasses(ctx, admin, [][]storage.ClassInput{{in}})
			if field == "school_id" {
				// The school is not in the other district.
				wantField(t, err, "school_id")
				continue
			}
			wantField(t, err, field)
		}
		if n := countActivity(t, s, "class.schedule"); n != 0 {
			t.Fatalf("%d schedule rows after failures", n)
		}

		// A weekly series of three, and a district-wide premium class.
		var series []storage.ClassInput
		for i := range 3 {
			series = append(series, w.input(start.AddDate(0, 0, 7*i)))
		}
		district := w.input(start.Add(time.Hour))
		district.SchoolID, district.Audience, district.Groups, district.Premium = 0, storage.AudienceDistrict, nil, true
		district.TeacherID, district.Assistants = w.teacher1.ID, nil
		grade := w.input(start.Add(2 * time.Hour))
		grade.Audience, grade.Groups = storage.AudienceGrade, nil
		made := must(s.CreateClasses(ctx, storage.Actor{UserID: w.teacher.ID}, [][]storage.ClassInput{series, {district}, {grade}}))(t)
		if len(made) != 5 || made[0].SeriesID != made[0].ID || made[2].SeriesID != made[0].ID || made[3].SeriesID != 0 {
			t.Fatalf("created %+v", made)
		}
		c := made[0]
		if c.Title != "一次函数" || c.Status != storage.ClassScheduled || !c.Recording || c.TeacherName != "tea" ||
			!slices.Equal(c.Groups, []string{"1班"}) || !slices.Equal(c.Assistants, []storage.UserID{w.assistant2.ID}) ||
			!c.StartsAt.Equal(start) || c.RoleOf(w.assistant2.ID) != storage.ClassRoleAssistant {
			t.Fatalf("class %+v", c)
		}
		if n := countActivity(t, s, "class.schedule"); n != 5 {
			t.Fatalf("%d class.schedule rows, want 5", n)
		}

		week := func(u storage.User) []storage.ClassID {
			cs, _ := must2(s.ListClasses(ctx, storage.ClassFilter{From: start, To: start.AddDate(0, 0, 1), Student: &u}))(t)
			for _, c := range cs {
				if !c.InAudience(&u) {
					t.Errorf("class %d listed for %s, who is not in its audience", c.ID, u.Username)
				}
			}
			return classIDs(cs)
		}
		for u, want := range map[*storage.User][]storage.ClassID{
			&w.inClass:    {made[0].ID, made[3].ID, made[4].ID},
			&w.otherClass: {made[3].ID, made[4].ID},
			&w.otherGrade: {made[3].ID},
			&w.s1Student:  {made[3].ID},
			&w.farStudent: nil,
		} {
			if got := week(*u); !slices.Equal(got, want) {
				t.Errorf("%s sees %v, want %v", u.Username, got, want)
			}
		}
		mine, total := must2(s.ListClasses(ctx, storage.ClassFilter{Member: w.assistant2.ID}))(t)
		if total != 4 || len(mine) != 4 {
			t.Fatalf("the assistant's classes: %d", total)
		}
		school, _ := must2(s.ListClasses(ctx, storage.ClassFilter{SchoolIDs: []storage.SchoolID{w.s1.ID}}))(t)
		if len(school) != 0 {
			t.Fatalf("school 1 holds %v", classIDs(school))
		}
		dist, _ := must2(s.ListClasses(ctx, storage.ClassFilter{DistrictID: w.d.ID, SeriesID: made[0].ID}))(t)
		if len(dist) != 3 {
			t.Fatalf("series: %v", classIDs(dist))
		}

		// Edit with versions; cancel the rest of the series.
		in := w.input(start.Add(10 * time.Minute))
		in.Groups = []string{"1班", "2班", "1班"}
		up := must(s.UpdateClass(ctx, admin, c.ID, c.Version, in))(t)
		if up.Version != c.Version+1 || !slices.Equal(up.Groups, []string{"1班", "2班"}) {
			t.Fatalf("updated %+v", up)
		}
		if _, err := s.UpdateClass(ctx, admin, c.ID, c.Version, in); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		gone := must(s.CancelClass(ctx, admin, made[1].ID, true, start))(t)
		if !slices.Equal(gone, []storage.ClassID{made[1].ID, made[2].ID}) {
			t.Fatalf("cancelled %v", gone)
		}
		if _, err := s.CancelClass(ctx, admin, made[1].ID, false, start); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("cancel twice: %v", err)
		}
		if _, err := s.UpdateClass(ctx, admin, made[2].ID, made[2].Version+1, in); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("edit a cancelled class: %v", err)
		}
		if n := countActivity(t, s, "class.cancel"); n != 2 {
			t.Fatalf("%d class.cancel rows", n)
		}
	})
}

func TestClassAttendanceAndRatings(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedClasses(t, s)
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, storage.Zone)
		c := must(s.CreateClasses(ctx, admin, [][]storage.ClassInput{{w.input(start)}}))(t)[0]
		const node = "http://node-1"
		if h := must(s.HostClass(ctx, c.ID, node))(t); h != node {
			t.Fatal(h)
		}
		if h := must(s.HostClass(ctx, c.ID, "http://node-2"))(t); h != node {
			t.Fatalf("second host %s", h)
		}
		at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
		ev := func(u storage.UserID, role storage.ClassRole, join bool, m int) storage.PresenceEvent {
			return storage.PresenceEvent{ClassID: c.ID, UserID: u, Role: role, Join: join, At: at(m)}
		}
		// The student arrives early, the teacher starts the class, the
		// student drops out and returns; unknown classes and people are skipped.
		must0(t, s.RecordClassPresence(ctx, []storage.PresenceEvent{
			ev(w.inClass.ID, storage.ClassRoleStudent, true, -2),
			ev(w.teacher.ID, storage.ClassRoleTeacher, true, 1),
			{ClassID: 999999, UserID: w.inClass.ID, Role: storage.ClassRoleStudent, Join: true, At: at(1)},
			ev(999999, storage.ClassRoleStudent, true, 1),
		}))
		started, ok := must2(s.StartClass(ctx, c.ID, at(1)))(t)
		if !ok || started.Status != storage.ClassLive || !started.StartedAt.Equal(at(1)) {
			t.Fatalf("started %+v %v", started, ok)
		}
		if _, again := must2(s.StartClass(ctx, c.ID, at(2)))(t); again {
			t.Fatal("started twice")
		}
		must0(t, s.RecordClassPresence(ctx, []storage.PresenceEvent{
			ev(w.inClass.ID, storage.ClassRoleStudent, true, 5), // a reconnect: same stay
			ev(w.inClass.ID, storage.ClassRoleStudent, false, 10),
			ev(w.inClass.ID, storage.ClassRoleStudent, true, 12),
		}))
		must0(t, s.TouchClassAttendance(ctx, []storage.ClassID{c.ID}, at(20)))
		last, open := must2(s.ClassLastSeen(ctx, c.ID))(t)
		if !last.Equal(at(20)) || open != 2 {
			t.Fatalf("last seen %v, %d open", last, open)
		}
		// The node dies; when it starts again the open stays close where
		// they were last seen.
		if n := must(s.CloseStaleClassAttendance(ctx, "http://node-2"))(t); n != 0 {
			t.Fatalf("another node closed %d", n)
		}
		if n := must(s.CloseStaleClassAttendance(ctx, node))(t); n != 2 {
			t.Fatalf("closed %d stale stays", n)
		}
		rows := must(s.ClassAttendance(ctx, c.ID))(t)
		var mine []storage.AttendanceRow
		for _, r := range rows {
			if r.UserID == w.inClass.ID {
				mine = append(mine, r)
			}
		}
		if len(rows) != 3 || len(mine) != 2 || !mine[0].JoinedAt.Equal(at(-2)) || !mine[0].LeftAt.Equal(at(10)) ||
			!mine[1].JoinedAt.Equal(at(12)) || !mine[1].LeftAt.Equal(at(20)) || mine[0].Name != "c71" {
			t.Fatalf("attendance %+v", rows)
		}
		// Back: the student rejoins; ending the class closes the stay.
		must0(t, s.RecordClassPresence(ctx, []storage.PresenceEvent{ev(w.inClass.ID, storage.ClassRoleStudent, true, 25)}))
		ended, ok := must2(s.EndClass(ctx, storage.Actor{UserID: w.teacher.ID}, c.ID, at(46), "teacher"))(t)
		if !ok || ended.Status != storage.ClassEnded || !ended.EndedAt.Equal(at(46)) || ended.EndReason != "teacher" {
			t.Fatalf("ended %+v", ended)
		}
		if _, again := must2(s.EndClass(ctx, admin, c.ID, at(50), "teacher"))(t); again {
			t.Fatal("ended twice")
		}
		rows = must(s.ClassAttendance(ctx, c.ID))(t)
		for _, r := range rows {
			if r.LeftAt.IsZero() {
				t.Fatalf("open stay after the end: %+v", r)
			}
		}
		if n := countActivity(t, s, "class.join"); n != 4 {
			t.Fatalf("%d class.join rows, want 4 (the student three times, the teacher once)", n)
		}
		for _, a := range []string{"class.start", "class.end"} {
			if n := countActivity(t, s, a); n != 1 {
				t.Fatalf("%d %s rows", n, a)
			}
		}
		if ok := must(s.AttendedClass(ctx, c.ID, w.inClass.ID))(t); !ok {
			t.Fatal("the student did not attend")
		}
		if ok := must(s.AttendedClass(ctx, c.ID, w.otherClass.ID))(t); ok {
			t.Fatal("an absent student attended")
		}

		// Ratings and satisfaction.
		stu := storage.Actor{UserID: w.inClass.ID}
		if _, err := s.SaveClassRating(ctx, stu, c.ID, w.inClass.ID, 0, "", at(50)); err == nil {
			t.Fatal("score 0 accepted")
		}
		must(s.SaveClassRating(ctx, stu, c.ID, w.inClass.ID, 3, "", at(50)))(t)
		r := must(s.SaveClassRating(ctx, stu, c.ID, w.inClass.ID, 5, "清楚", at(52)))(t)
		if r.Score != 5 || !r.RatedAt.Equal(at(50)) || !r.UpdatedAt.Equal(at(52)) {
			t.Fatalf("rating %+v", r)
		}
		must(s.SaveClassRating(ctx, storage.Actor{UserID: w.otherClass.ID}, c.ID, w.otherClass.ID, 2, "", at(53)))(t)
		if rs := must(s.ListClassRatings(ctx, c.ID))(t); len(rs) != 2 {
			t.Fatalf("ratings %+v", rs)
		}
		if countActivity(t, s, "class.rate") != 2 || countActivity(t, s, "class.rate_update") != 1 {
			t.Fatal("rating activity")
		}
		for _, g := range []storage.SatisfactionGroup{storage.ByMonth, storage.ByTeacher, storage.BySchool, storage.BySubject, storage.ByPremium} {
			sat := must(s.ClassSatisfaction(ctx, storage.SatisfactionQuery{DistrictID: w.d.ID, GroupBy: g}))(t)
			if len(sat) != 1 || sat[0].Ratings != 2 || sat[0].Satisfied != 1 || sat[0].Share != 0.5 || sat[0].Mean != 3.5 ||
				sat[0].Distribution != [5]int{0, 1, 0, 0, 1} {
				t.Fatalf("by %s: %+v", g, sat)
			}
		}
		if sat := must(s.ClassSatisfaction(ctx, storage.SatisfactionQuery{SchoolIDs: []storage.SchoolID{w.s1.ID}}))(t); len(sat) != 0 {
			t.Fatalf("school 1: %+v", sat)
		}
	})
}

// TestClassConcurrentWrites: starts, ends and first ratings that race
// each other are each recorded once.
func TestClassConcurrentWrites(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedClasses(t, s)
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, storage.Zone)
		c := must(s.CreateClasses(ctx, admin, [][]storage.ClassInput{{w.input(start)}}))(t)[0]
		must0(t, s.RecordClassPresence(ctx, []storage.PresenceEvent{{ClassID: c.ID, UserID: w.inClass.ID, Role: storage.ClassRoleStudent, Join: true, At: start}}))
		race := func(f func(i int) (bool, error)) int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for i := range 8 {
				wg.Go(func() {
					ok, err := f(i)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					defer mu.Unlock()
					if ok {
						won++
					}
				})
			}
			wg.Wait()
			return won
		}
		if n := race(func(i int) (bool, error) {
			_, ok, err := s.StartClass(ctx, c.ID, start.Add(time.Duration(i)*time.Second))
			return ok, err
		}); n != 1 {
			t.Fatalf("%d starts", n)
		}
		if n := race(func(i int) (bool, error) {
			_, ok, err := s.EndClass(ctx, admin, c.ID, start.Add(time.Hour), "teacher")
			return ok, err
		}); n != 1 {
			t.Fatalf("%d ends", n)
		}
		race(func(i int) (bool, error) {
			_, err := s.SaveClassRating(ctx, storage.Actor{UserID: w.inClass.ID}, c.ID, w.inClass.ID, 1+i%5, "", start.Add(2*time.Hour))
			return err == nil, err
		})
		if countActivity(t, s, "class.start") != 1 || countActivity(t, s, "class.end") != 1 || countActivity(t, s, "class.rate") != 1 ||
			countActivity(t, s, "class.rate_update") != 7 {
			t.Fatal("activity of the races")
		}
	})
}
