package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// microWorld is tutoringWorld with a knowledge-point tree: M7 > M7.1 > M7.1.1
// in math, and C8 in Chinese.
type microWorld struct {
	tutoringWorld
	kp      map[string]storage.KnowledgePointID
	chinese storage.SubjectID
}

func seedMicro(t *testing.T, s *storage.Store) microWorld {
	t.Helper()
	ctx := context.Background()
	w := microWorld{tutoringWorld: seedTutoring(t, s), kp: map[string]storage.KnowledgePointID{}}
	must(s.ImportKnowledgePoints(ctx, admin, []storage.KnowledgePointRow{
		{SubjectCode: "math", Grade: 7, Code: "M7", Name: "七年级数学"},
		{SubjectCode: "math", Grade: 7, Code: "M7.1", ParentCode: "M7", Name: "有理数"},
		{SubjectCode: "math", Grade: 7, Code: "M7.1.1", ParentCode: "M7.1", Name: "正数和负数"},
		{SubjectCode: "math", Grade: 7, Code: "M7.2", ParentCode: "M7", Name: "整式"},
		{SubjectCode: "chinese", Grade: 8, Code: "C8", Name: "古诗"},
	}))(t)
	for _, sub := range must(s.ListSubjects(ctx))(t) {
		if sub.Code == "chinese" {
			w.chinese = sub.ID
		}
		for _, k := range must(s.ListKnowledgePoints(ctx, sub.ID, 0))(t) {
			w.kp[k.Code] = k.ID
		}
	}
	return w
}

func upload(id string, user storage.UserID, size int64, at time.Time) storage.MicrolessonUpload {
	return storage.MicrolessonUpload{ID: id, UserID: user, SizeBytes: size, Filename: id + ".mp4", CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
}

func TestMicrolessonUploads(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		now := time.Now()
		must0(t, s.CreateMicrolessonUpload(ctx, upload("a1", w.teacher.ID, 100, now), 2, 1000))
		must0(t, s.CreateMicrolessonUpload(ctx, upload("a2", w.teacher.ID, 100, now.Add(time.Second)), 2, 1000))
		wantErr(t, s.CreateMicrolessonUpload(ctx, upload("a3", w.teacher.ID, 100, now), 2, 1000), storage.ErrTooMany)
		// The shared allowance counts everyone's uploads.
		wantErr(t, s.CreateMicrolessonUpload(ctx, upload("b1", w.other.ID, 801, now), 2, 1000), storage.ErrFull)
		must0(t, s.CreateMicrolessonUpload(ctx, upload("b1", w.other.ID, 800, now.Add(-48*time.Hour)), 2, 1000))
		wantDup(t, s.CreateMicrolessonUpload(ctx, upload("b1", w.other.ID, 1, now), 0, 0), "code")

		got := must(s.GetMicrolessonUpload(ctx, "a1"))(t)
		if got.UserID != w.teacher.ID || got.SizeBytes != 100 || got.Filename != "a1.mp4" || got.ExpiresAt.UnixMilli() != now.Add(24*time.Hour).UnixMilli() {
			t.Fatalf("upload %+v", got)
		}
		if l := must(s.ListMicrolessonUploads(ctx, w.teacher.ID))(t); len(l) != 2 || l[0].ID != "a1" || l[1].ID != "a2" {
			t.Fatalf("teacher's uploads %+v", l)
		}
		if l := must(s.ExpiredMicrolessonUploads(ctx, now, 10))(t); len(l) != 1 || l[0].ID != "b1" {
			t.Fatalf("expired %+v", l)
		}
		must0(t, s.DeleteMicrolessonUpload(ctx, "a1"))
		wantErr(t, s.DeleteMicrolessonUpload(ctx, "a1"), storage.ErrNotFound)
		_, err := s.GetMicrolessonUpload(ctx, "a1")
		wantErr(t, err, storage.ErrNotFound)
		must0(t, s.CreateMicrolessonUpload(ctx, upload("a3", w.teacher.ID, 100, now), 2, 1000))
		// b1 has expired: it no longer counts against its user, but its
		// bytes still count against the shared allowance until removed.
		must0(t, s.CreateMicrolessonUpload(ctx, upload("b2", w.other.ID, 0, now), 1, 1000))
		wantErr(t, s.CreateMicrolessonUpload(ctx, upload("b3", w.student.ID, 1, now), 1, 1000), storage.ErrFull)
	})
}

// TestMicrolessonUploadLimitConcurrent: many uploads started at once by
// one user leave exactly the allowed number.
func TestMicrolessonUploadLimitConcurrent(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, tooMany := 0, 0
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.CreateMicrolessonUpload(ctx, upload(fmt.Sprintf("c%d", i), w.teacher.ID, 10, time.Now()), 3, 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, storage.ErrTooMany):
					tooMany++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 3 || tooMany != 13 {
			t.Fatalf("%d created, %d refused; want 3 and 13", ok, tooMany)
		}
	})
}

func media(key string) storage.MicrolessonMedia {
	return storage.MicrolessonMedia{FileKey: key, SizeBytes: 18984, Container: "mp4", VideoCodec: "h264", AudioCodec: "aac",
		Width: 160, Height: 120, DurationMS: 2000}
}

func TestMicrolessonLifecycle(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		tea := storage.Actor{UserID: w.teacher.ID, IP: "10.0.0.7"}
		now := time.Now()
		must0(t, s.CreateMicrolessonUpload(ctx, upload("u1", w.teacher.ID, 18984, now), 3, 0))
		in := storage.MicrolessonInput{SubjectID: w.math.ID, Grade: 7, Title: "  有理数的加法 ", Description: "第一课",
			KnowledgePoints: []storage.KnowledgePointID{w.kp["M7.1.1"], w.kp["M7.1.1"]}}

		// Bad input loses nothing: the upload stays the teacher's.
		bad := in
		bad.KnowledgePoints = []storage.KnowledgePointID{w.kp["C8"]}
		_, err := s.CreateMicrolesson(ctx, tea, "u1", bad, media("k1"), now)
		wantField(t, err, "knowledge_point_ids")
		bad = in
		bad.Title = " "
		_, err = s.CreateMicrolesson(ctx, tea, "u1", bad, media("k1"), now)
		wantField(t, err, "title")
		bad = in
		bad.SubjectID = 999
		_, err = s.CreateMicrolesson(ctx, tea, "u1", bad, media("k1"), now)
		wantField(t, err, "subject_id")
		// Another teacher cannot file this upload.
		_, err = s.CreateMicrolesson(ctx, storage.Actor{UserID: w.other.ID}, "u1", in, media("k1"), now)
		wantErr(t, err, storage.ErrNotFound)

		m := must(s.CreateMicrolesson(ctx, tea, "u1", in, media("microlessons/k1.mp4"), now))(t)
		if m.Status != storage.MicrolessonSubmitted || m.Title != "有理数的加法" || m.TeacherName != "tea" || m.SchoolID != w.s2.ID ||
			m.DistrictID != w.d.ID || m.SchoolName != "第二中学" || m.SubjectCode != "math" || m.DurationMS != 2000 || m.VideoCodec != "h264" ||
			len(m.KnowledgePoints) != 1 || m.KnowledgePoints[0].Code != "M7.1.1" || m.StatusBy != w.teacher.ID || m.Version != 1 {
			t.Fatalf("micro-lesson %+v", m)
		}
		// The upload is used up: it cannot be filed twice.
		_, err = s.CreateMicrolesson(ctx, tea, "u1", in, media("microlessons/k2.mp4"), now)
		wantErr(t, err, storage.ErrNotFound)
		if n := len(must(s.ListMicrolessonUploads(ctx, w.teacher.ID))(t)); n != 0 {
			t.Fatalf("%d uploads left", n)
		}

		// Edit while submitted; a stale version loses.
		in.Title, in.KnowledgePoints = "有理数的加法（修订）", []storage.KnowledgePointID{w.kp["M7.2"], w.kp["M7.1"]}
		editable := []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonReturned}
		m = must(s.UpdateMicrolesson(ctx, tea, m.ID, in, 1, editable, now))(t)
		if m.Version != 2 || m.Title != "有理数的加法（修订）" || len(m.KnowledgePoints) != 2 {
			t.Fatalf("updated %+v", m)
		}
		_, err = s.UpdateMicrolesson(ctx, tea, m.ID, in, 1, editable, now)
		wantErr(t, err, storage.ErrConflict)

		// Review, return with a reason, edit, file again, publish.
		rev := storage.Actor{UserID: 0}
		m = must(s.SetMicrolessonStatus(ctx, rev, m.ID, []storage.MicrolessonStatus{storage.MicrolessonSubmitted}, storage.MicrolessonInReview, "ignored", now))(t)
		if m.Status != storage.MicrolessonInReview || m.ReturnReason != "" {
			t.Fatalf("in review %+v", m)
		}
		_, err = s.UpdateMicrolesson(ctx, tea, m.ID, in, m.Version, editable, now)
		wantErr(t, err, storage.ErrClosed)
		m = must(s.SetMicrolessonStatus(ctx, rev, m.ID, []storage.MicrolessonStatus{storage.MicrolessonInReview}, storage.MicrolessonReturned, "声音太小", now))(t)
		if m.Status != storage.MicrolessonReturned || m.ReturnReason != "声音太小" {
			t.Fatalf("returned %+v", m)
		}
		_, err = s.SetMicrolessonStatus(ctx, rev, m.ID, []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonInReview}, storage.MicrolessonPublished, "", now)
		wantErr(t, err, storage.ErrClosed)
		m = must(s.UpdateMicrolesson(ctx, tea, m.ID, in, m.Version, editable, now))(t)
		m = must(s.SetMicrolessonStatus(ctx, tea, m.ID, []storage.MicrolessonStatus{storage.MicrolessonReturned}, storage.MicrolessonSubmitted, "", now))(t)
		if m.Status != storage.MicrolessonSubmitted || m.ReturnReason != "" {
			t.Fatalf("filed again %+v", m)
		}
		later := now.Add(time.Hour)
		m = must(s.SetMicrolessonStatus(ctx, rev, m.ID, []storage.MicrolessonStatus{storage.MicrolessonSubmitted, storage.MicrolessonInReview}, storage.MicrolessonPublished, "", later))(t)
		if m.Status != storage.MicrolessonPublished || m.PublishedAt.UnixMilli() != later.UnixMilli() || m.StatusAt.UnixMilli() != later.UnixMilli() {
			t.Fatalf("published %+v", m)
		}

		// Activity rows name the micro-lesson as media: "microlesson:<id>".
		for _, act := range must(s.RecentActivity(ctx, 0, nil, 500))(t) {
			if strings.HasPrefix(act.Action, "microlesson.") && (act.Subject != fmt.Sprintf("microlesson:%d", m.ID) ||
				act.SchoolID != w.s2.ID || act.DistrictID != w.d.ID || act.SubjectID != w.math.ID) {
				t.Errorf("activity %+v", act)
			}
		}
		for action, n := range map[string]int{"microlesson.submit": 2, "microlesson.update": 2, "microlesson.review": 1,
			"microlesson.return": 1, "microlesson.publish": 1, "microlesson.delete": 0} {
			if got := countActivity(t, s, action); got != n {
				t.Errorf("%d %s rows, want %d", got, action, n)
			}
		}

		// Deleted: gone from lists, refused by every change, still readable by id.
		m = must(s.SetMicrolessonStatus(ctx, rev, m.ID, []storage.MicrolessonStatus{storage.MicrolessonPublished}, storage.MicrolessonDeleted, "", later))(t)
		if m.Status != storage.MicrolessonDeleted || countActivity(t, s, "microlesson.delete") != 1 {
			t.Fatalf("deleted %+v", m)
		}
		_, err = s.SetMicrolessonStatus(ctx, rev, m.ID, []storage.MicrolessonStatus{storage.MicrolessonDeleted}, storage.MicrolessonPublished, "", later)
		wantErr(t, err, storage.ErrNotFound)
		if _, total := must2(s.ListMicrolessons(ctx, storage.MicrolessonFilter{}))(t); total != 0 {
			t.Fatalf("%d listed after delete", total)
		}
		_, err = s.GetMicrolesson(ctx, 99999)
		wantErr(t, err, storage.ErrNotFound)
	})
}

func TestListMicrolessons(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		// A teacher of school 1 besides the two of school 2.
		t1 := must(s.CreateUser(ctx, admin, storage.UserInput{Username: "t1", Name: "t1", DistrictID: w.d.ID, SchoolID: w.s1.ID,
			Roles: []storage.Role{storage.RoleTeacher}, Active: true}, "h", false))(t)
		now := time.Now()
		mk := func(u storage.User, title string, subject storage.SubjectID, grade int, kp string, publish bool) storage.Microlesson {
			t.Helper()
			id := fmt.Sprintf("up-%s", title)
			now = now.Add(time.Second)
			must0(t, s.CreateMicrolessonUpload(ctx, upload(id, u.ID, 1, now), 0, 0))
			var kps []storage.KnowledgePointID
			if kp != "" {
				kps = append(kps, w.kp[kp])
			}
			m := must(s.CreateMicrolesson(ctx, storage.Actor{UserID: u.ID}, id, storage.MicrolessonInput{SubjectID: subject, Grade: grade,
				Title: title, KnowledgePoints: kps}, media("microlessons/"+id), now))(t)
			if publish {
				m = must(s.SetMicrolessonStatus(ctx, admin, m.ID, []storage.MicrolessonStatus{storage.MicrolessonSubmitted},
					storage.MicrolessonPublished, "", now))(t)
			}
			return m
		}
		a := mk(w.teacher, "Alpha 有理数", w.math.ID, 7, "M7.1.1", true)
		b := mk(w.teacher, "Beta 整式", w.math.ID, 7, "M7.2", true)
		c := mk(w.other, "Gamma", w.math.ID, 8, "", false)
		d := mk(t1, "Delta 古诗", w.chinese, 8, "C8", true)

		list := func(f storage.MicrolessonFilter) []storage.MicrolessonID {
			t.Helper()
			items, total := must2(s.ListMicrolessons(ctx, f))(t)
			var out []storage.MicrolessonID
			for _, m := range items {
				out = append(out, m.ID)
			}
			if total < len(out) {
				t.Fatalf("total %d < %d items", total, len(out))
			}
			return out
		}
		pub := []storage.MicrolessonStatus{storage.MicrolessonPublished}
		for name, c := range map[string]struct {
			f    storage.MicrolessonFilter
			want []storage.MicrolessonID
		}{
			"published, newest first":   {storage.MicrolessonFilter{Statuses: pub}, []storage.MicrolessonID{d.ID, b.ID, a.ID}},
			"every status":              {storage.MicrolessonFilter{}, []storage.MicrolessonID{d.ID, c.ID, b.ID, a.ID}},
			"submitted":                 {storage.MicrolessonFilter{Statuses: []storage.MicrolessonStatus{storage.MicrolessonSubmitted}}, []storage.MicrolessonID{c.ID}},
			"school 1":                  {storage.MicrolessonFilter{SchoolIDs: []storage.SchoolID{w.s1.ID}}, []storage.MicrolessonID{d.ID}},
			"no schools":                {storage.MicrolessonFilter{SchoolIDs: []storage.SchoolID{}}, nil},
			"other district":            {storage.MicrolessonFilter{DistrictID: 9999}, nil},
			"teacher":                   {storage.MicrolessonFilter{TeacherID: w.teacher.ID}, []storage.MicrolessonID{b.ID, a.ID}},
			"subject and grade":         {storage.MicrolessonFilter{SubjectID: w.math.ID, Grade: 8}, []storage.MicrolessonID{c.ID}},
			"knowledge point and below": {storage.MicrolessonFilter{KnowledgePointID: w.kp["M7"]}, []storage.MicrolessonID{b.ID, a.ID}},
			"a leaf knowledge point":    {storage.MicrolessonFilter{KnowledgePointID: w.kp["M7.1.1"]}, []storage.MicrolessonID{a.ID}},
			"title search":              {storage.MicrolessonFilter{Query: "alpha"}, []storage.MicrolessonID{a.ID}},
			"search escapes %":          {storage.MicrolessonFilter{Query: "%"}, nil},
			"paged":                     {storage.MicrolessonFilter{Limit: 2, Offset: 1}, []storage.MicrolessonID{c.ID, b.ID}},
		} {
			if got := list(c.f); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v, want %v", name, got, c.want)
			}
		}
		items, total := must2(s.ListMicrolessons(ctx, storage.MicrolessonFilter{Limit: 1}))(t)
		if total != 4 || len(items) != 1 || len(items[0].KnowledgePoints) != 1 || items[0].KnowledgePoints[0].Name != "古诗" {
			t.Fatalf("page %+v total %d", items, total)
		}
	})
}
