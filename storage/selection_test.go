package storage_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// TestSelectionRoundToLibrary: a round is created, a school nominates
// within its quota (parallel nominations included), each nomination
// assigns the round's experts under the round's review tag, the selection
// is set and published to the library, plays count once per viewer and
// hour, and a school's consent is recorded — each with its activity row.
func TestSelectionRoundToLibrary(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReview(t, s)
		mw := seedMicroPoints(t, s)
		da := storage.Actor{UserID: w.expert.ID}
		now := time.Now()
		_, err := s.CreateSelectionRound(ctx, da, storage.SelectionRound{DistrictID: w.d.ID, Name: "x", SchemeID: w.scheme.ID,
			Experts: []storage.UserID{w.expert.ID}, PerSchool: 0, NominateBy: now.Add(time.Hour), ReviewBy: now.Add(2 * time.Hour)})
		wantField(t, err, "per_school")
		_, err = s.CreateSelectionRound(ctx, da, storage.SelectionRound{DistrictID: w.d.ID, Name: "x", SchemeID: w.scheme.ID,
			Experts: []storage.UserID{w.expert.ID}, PerSchool: 1, NominateBy: now.Add(time.Hour), ReviewBy: now})
		wantField(t, err, "review_by")
		round := must(s.CreateSelectionRound(ctx, da, storage.SelectionRound{DistrictID: w.d.ID, Name: "2026 优质课", SubjectID: w.math.ID,
			SchemeID: w.scheme.ID, Experts: []storage.UserID{w.expert.ID}, PerSchool: 2, NominateBy: now.Add(time.Hour),
			ReviewBy: now.Add(2 * time.Hour)}))(t)
		if round.Status != storage.RoundOpen || len(round.Experts) != 1 || round.ReviewRound() != "selection-"+itoaT(int64(round.ID)) {
			t.Fatalf("round = %+v", round)
		}
		if rs := must(s.ListSelectionRounds(ctx, w.d.ID))(t); len(rs) != 1 || rs[0].ID != round.ID {
			t.Fatalf("rounds = %+v", rs)
		}

		// Four recordings of school 2; the quota is two, nominated in parallel.
		var recs []storage.Recording
		for i := range 4 {
			r := must(s.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: "rr" + itoaT(int64(i)), Title: "函数 " + itoaT(int64(i)),
				TeacherID: w.teacher.ID, SubjectID: w.math.ID, Grade: 7, ActivityIntervalMS: 500, StartedAt: now,
				KnowledgePoints: []storage.KnowledgePointID{mw["M7.1.1"]}}))(t)
			recs = append(recs, r)
		}
		assign := func(r storage.Recording) []storage.AssignmentInput {
			return []storage.AssignmentInput{{SchemeID: w.scheme.ID, Target: "recording:" + itoaT(int64(r.ID)), Round: round.ReviewRound(),
				ExpertID: w.expert.ID, TeacherID: r.TeacherID, DistrictID: r.DistrictID, SchoolID: r.SchoolID, SubjectID: r.SubjectID, DueAt: round.ReviewBy}}
		}
		sa := storage.Actor{UserID: w.other.ID}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i, r := range recs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Nominate(ctx, sa, round, r, assign(r))
			}()
		}
		wg.Wait()
		ok, quota := 0, 0
		for _, err := range errs {
			var q *storage.QuotaError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &q) && q.Limit == 2:
				quota++
			default:
				t.Fatalf("nominate: %v", err)
			}
		}
		if ok != 2 || quota != 2 {
			t.Fatalf("parallel nominations: %d accepted, %d over quota; want 2 and 2", ok, quota)
		}
		entries := must(s.ListSelectionEntries(ctx, round.ID))(t)
		if len(entries) != 2 || entries[0].TeacherName != "tea" || entries[0].SchoolID != w.s2.ID || entries[0].Title == "" {
			t.Fatalf("entries = %+v", entries)
		}
		rr := round.ReviewRound()
		xs := must(s.ListAssignments(ctx, storage.AssignmentFilter{Round: &rr}))(t)
		if len(xs) != 2 || xs[0].ExpertID != w.expert.ID || !xs[0].DueAt.Equal(round.ReviewBy.Truncate(time.Millisecond)) {
			t.Fatalf("assignments of the round = %+v", xs)
		}
		if n := countActivity(t, s, "selection.nominate"); n != 2 {
			t.Fatalf("selection.nominate rows = %d", n)
		}
		if n := countActivity(t, s, "review.assign"); n != 2 {
			t.Fatalf("review.assign rows = %d (the quota-refused nominations left none)", n)
		}
		// The same recording twice is a duplicate, whatever the quota.
		var dup *storage.DuplicateError
		if _, err := s.Nominate(ctx, sa, round, must(s.GetRecording(ctx, entries[0].RecordingID))(t), nil); !errors.As(err, &dup) {
			t.Fatalf("nominating twice: %v", err)
		}

		// A nomination is taken back with its assignments, freeing the quota;
		// once an expert has started, it stays.
		if err := s.WithdrawEntry(ctx, sa, round, entries[0].ID+1000); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("withdrawing no entry: %v", err)
		}
		must0(t, s.WithdrawEntry(ctx, sa, round, entries[0].ID))
		if xs := must(s.ListAssignments(ctx, storage.AssignmentFilter{Round: &rr}))(t); len(xs) != 1 || countActivity(t, s, "selection.withdraw") != 1 ||
			countActivity(t, s, "review.unassign") != 1 {
			t.Fatalf("after withdrawing: assignments %+v", xs)
		}
		again := must(s.Nominate(ctx, sa, round, must(s.GetRecording(ctx, entries[0].RecordingID))(t), assign(must(s.GetRecording(ctx, entries[0].RecordingID))(t))))(t)
		xs = must(s.ListAssignments(ctx, storage.AssignmentFilter{Round: &rr, Target: "recording:" + itoaT(int64(again.RecordingID))}))(t)
		must(s.SaveReviewDraft(ctx, xs[0].ID, storage.ReviewBody{}))(t)
		if err := s.WithdrawEntry(ctx, sa, round, again.ID); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("withdrawing an entry under review: %v", err)
		}
		entries = must(s.ListSelectionEntries(ctx, round.ID))(t)
		if len(entries) != 2 {
			t.Fatalf("entries after withdrawing and nominating again: %+v", entries)
		}

		must0(t, s.SetSelection(ctx, da, round, []storage.SelectionEntryID{entries[1].ID}))
		must0(t, s.SetSelection(ctx, da, round, []storage.SelectionEntryID{entries[1].ID})) // idempotent
		entries = must(s.ListSelectionEntries(ctx, round.ID))(t)
		if entries[0].Selected || !entries[1].Selected || countActivity(t, s, "selection.select") != 1 {
			t.Fatalf("selection = %+v", entries)
		}
		e := entries[1]
		ids := must(s.PublishRound(ctx, da, round, []storage.LibraryLesson{{RecordingID: e.RecordingID, DistrictID: w.d.ID, SchoolID: e.SchoolID,
			TeacherID: e.TeacherID, SubjectID: e.SubjectID, Grade: e.Grade, Title: e.Title, Score: 87.5, Reviews: 3}}))(t)
		if len(ids) != 1 || countActivity(t, s, "library.publish") != 1 {
			t.Fatalf("published %v", ids)
		}
		if _, err := s.PublishRound(ctx, da, round, nil); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("publishing twice: %v", err)
		}
		if err := s.SetSelection(ctx, da, round, nil); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("selecting after publication: %v", err)
		}
		if _, err := s.Nominate(ctx, sa, round, recs[3], nil); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("nominating after publication: %v", err)
		}
		if r := must(s.GetSelectionRound(ctx, round.ID))(t); r.Status != storage.RoundPublished || r.PublishedAt.IsZero() {
			t.Fatalf("round after publication = %+v", r)
		}

		l := must(s.GetLibraryLesson(ctx, ids[0]))(t)
		if len(l.KnowledgePointIDs) != 1 || l.KnowledgePointIDs[0] != mw["M7.1.1"] {
			t.Fatalf("lesson's knowledge points = %v", l.KnowledgePointIDs)
		}
		if l.Score != 87.5 || l.Reviews != 3 || l.SubjectName == "" || l.TeacherName != "tea" || l.Plays != 0 {
			t.Fatalf("lesson = %+v", l)
		}
		for _, c := range []struct {
			f    storage.LibraryFilter
			want int
		}{
			{storage.LibraryFilter{DistrictID: w.d.ID}, 1},
			{storage.LibraryFilter{DistrictID: w.d.ID + 1000}, 0},
			{storage.LibraryFilter{DistrictID: w.d.ID, SubjectID: w.math.ID, Grade: 7}, 1},
			{storage.LibraryFilter{DistrictID: w.d.ID, Grade: 8}, 0},
			{storage.LibraryFilter{DistrictID: w.d.ID, Query: "函数"}, 1},
			{storage.LibraryFilter{DistrictID: w.d.ID, Query: "%"}, 0},
			{storage.LibraryFilter{DistrictID: w.d.ID, KnowledgePointID: 999999}, 0},
			{storage.LibraryFilter{DistrictID: w.d.ID, KnowledgePointID: mw["M7.1.1"]}, 1},
			{storage.LibraryFilter{DistrictID: w.d.ID, KnowledgePointID: mw["M7"]}, 1}, // a point above it
			{storage.LibraryFilter{DistrictID: w.d.ID, KnowledgePointID: mw["M7.2"]}, 0},
		} {
			if _, n := must2(s.ListLibrary(ctx, c.f))(t); n != c.want {
				t.Errorf("ListLibrary(%+v) = %d lessons; want %d", c.f, n, c.want)
			}
		}
		if m := must(s.LibraryRecordings(ctx, w.d.ID))(t); m[e.RecordingID] != l.ID || len(m) != 1 {
			t.Fatalf("library recordings = %v", m)
		}

		// Ten parallel plays by one viewer count once; another viewer once more; the next hour again.
		at := time.Date(2026, 12, 7, 9, 10, 0, 0, time.UTC)
		var counted sync.Map
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, _, err := s.CountPlay(ctx, storage.Actor{UserID: w.student.ID}, l, w.student.ID, at)
				if err != nil {
					t.Error(err)
				}
				counted.Store(i, c)
			}()
		}
		wg.Wait()
		n := 0
		counted.Range(func(_, v any) bool {
			if v.(bool) {
				n++
			}
			return true
		})
		if n != 1 {
			t.Fatalf("%d of 10 parallel plays counted; want 1", n)
		}
		if c, p := must2(s.CountPlay(ctx, storage.Actor{}, l, w.teacher.ID, at.Add(10*time.Minute)))(t); !c || p != 2 {
			t.Fatalf("another viewer: counted %v, plays %d", c, p)
		}
		if c, p := must2(s.CountPlay(ctx, storage.Actor{}, l, w.student.ID, at.Add(40*time.Minute)))(t); c || p != 2 {
			t.Fatalf("same viewer, same hour: counted %v, plays %d", c, p)
		}
		if c, p := must2(s.CountPlay(ctx, storage.Actor{}, l, w.student.ID, at.Add(time.Hour)))(t); !c || p != 3 {
			t.Fatalf("same viewer, next hour: counted %v, plays %d", c, p)
		}
		if n := countActivity(t, s, "library.play"); n != 3 {
			t.Fatalf("library.play rows = %d", n)
		}

		// Withdrawn: out of the listing and the suggestions at once, the row,
		// plays and reason kept; withdrawing twice is closed; published again
		// with its plays.
		if _, err := s.WithdrawLesson(ctx, da, l.ID, "  "); !errors.As(err, new(*storage.FieldError)) {
			t.Fatalf("withdrawing without a reason: %v", err)
		}
		if _, err := s.WithdrawLesson(ctx, da, l.ID+1000, "x"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("withdrawing no lesson: %v", err)
		}
		wl := must(s.WithdrawLesson(ctx, da, l.ID, " 版权问题 "))(t)
		if !wl.Withdrawn || wl.WithdrawReason != "版权问题" || wl.WithdrawnAt.IsZero() || wl.Plays != 3 {
			t.Fatalf("withdrawn lesson = %+v", wl)
		}
		if _, err := s.WithdrawLesson(ctx, da, l.ID, "again"); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("withdrawing twice: %v", err)
		}
		if _, n := must2(s.ListLibrary(ctx, storage.LibraryFilter{DistrictID: w.d.ID}))(t); n != 0 {
			t.Fatalf("the library lists %d lessons after the withdrawal", n)
		}
		if ls, n := must2(s.ListLibrary(ctx, storage.LibraryFilter{DistrictID: w.d.ID, Withdrawn: true}))(t); n != 1 || ls[0].WithdrawReason != "版权问题" {
			t.Fatalf("withdrawn lessons = %+v", ls)
		}
		if m := must(s.LibraryRecordings(ctx, w.d.ID))(t); len(m) != 0 {
			t.Fatalf("library recordings after the withdrawal = %v", m)
		}
		if n := countActivity(t, s, "library.withdraw"); n != 1 {
			t.Fatalf("library.withdraw rows = %d", n)
		}
		rl := must(s.RepublishLesson(ctx, da, l.ID))(t)
		if rl.Withdrawn || rl.WithdrawReason != "" || rl.Plays != 3 || countActivity(t, s, "library.republish") != 1 {
			t.Fatalf("republished lesson = %+v", rl)
		}
		if _, err := s.RepublishLesson(ctx, da, l.ID); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("republishing a published lesson: %v", err)
		}
		if _, n := must2(s.ListLibrary(ctx, storage.LibraryFilter{DistrictID: w.d.ID}))(t); n != 1 {
			t.Fatalf("the library lists %d lessons after publishing again", n)
		}

		if c := must(s.GetSchoolConsent(ctx, w.s2.ID))(t); c.Granted || !c.RecordedAt.IsZero() {
			t.Fatalf("consent before any = %+v", c)
		}
		c := must(s.SetSchoolConsent(ctx, sa, w.d.ID, storage.SchoolConsent{SchoolID: w.s2.ID, Granted: true, Note: "家长同意书 2026-09"}))(t)
		if !c.Granted || c.RecordedBy != w.other.ID || c.RecordedAt.IsZero() || c.Note != "家长同意书 2026-09" {
			t.Fatalf("consent = %+v", c)
		}
		c = must(s.SetSchoolConsent(ctx, sa, w.d.ID, storage.SchoolConsent{SchoolID: w.s2.ID, Granted: false, Note: "withdrawn"}))(t)
		if c.Granted || countActivity(t, s, "school.consent") != 2 {
			t.Fatalf("withdrawn consent = %+v", c)
		}
	})
}

func itoaT(v int64) string { return strconv.FormatInt(v, 10) }

// seedMicroPoints imports a small tree of grade-7 mathematics knowledge points.
func seedMicroPoints(t *testing.T, s *storage.Store) map[string]storage.KnowledgePointID {
	t.Helper()
	ctx := context.Background()
	must(s.ImportKnowledgePoints(ctx, admin, []storage.KnowledgePointRow{
		{SubjectCode: "math", Grade: 7, Code: "M7", Name: "七年级数学"},
		{SubjectCode: "math", Grade: 7, Code: "M7.1", ParentCode: "M7", Name: "有理数"},
		{SubjectCode: "math", Grade: 7, Code: "M7.1.1", ParentCode: "M7.1", Name: "正数和负数"},
		{SubjectCode: "math", Grade: 7, Code: "M7.2", ParentCode: "M7", Name: "整式"},
	}))(t)
	out := map[string]storage.KnowledgePointID{}
	for _, sub := range must(s.ListSubjects(ctx))(t) {
		for _, k := range must(s.ListKnowledgePoints(ctx, sub.ID, 0))(t) {
			out[k.Code] = k.ID
		}
	}
	return out
}
