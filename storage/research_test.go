package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

func TestResearchActivityAndDiscussion(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		tea := storage.Actor{UserID: w.teacher.ID}
		mkRec := func(room string, teacher storage.UserID) storage.Recording {
			return must(s.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: room, Title: "二次函数",
				TeacherID: teacher, SubjectID: w.math.ID, Grade: 7, ActivityIntervalMS: 500, StartedAt: time.Now()}))(t)
		}
		r1, r2, r3 := mkRec("r1", w.teacher.ID), mkRec("r2", w.other.ID), mkRec("r3", w.other.ID)

		_, err := s.CreateResearchGroup(ctx, admin, storage.ResearchGroupInput{DistrictID: w.d.ID, SchoolID: w.s2.ID, Name: " "})
		wantField(t, err, "name")
		g := must(s.CreateResearchGroup(ctx, admin, storage.ResearchGroupInput{DistrictID: w.d.ID, SchoolID: w.s2.ID, SubjectID: w.math.ID,
			Name: "初中数学组", Members: []storage.UserID{w.teacher.ID, w.other.ID, w.teacher.ID}}))(t)
		if len(g.Members) != 2 || g.SchoolName == "" || g.Name != "初中数学组" {
			t.Fatalf("group = %+v", g)
		}
		if ok := must(s.IsResearchMember(ctx, g.ID, w.other.ID))(t); !ok {
			t.Fatal("other is not a member")
		}
		g = must(s.SetResearchMembers(ctx, admin, g.ID, []storage.UserID{w.teacher.ID}))(t)
		if ok := must(s.IsResearchMember(ctx, g.ID, w.other.ID))(t); ok || len(g.Members) != 1 {
			t.Fatalf("other still a member: %+v", g.Members)
		}
		g = must(s.SetResearchMembers(ctx, admin, g.ID, []storage.UserID{w.teacher.ID, w.other.ID}))(t)
		// District group elsewhere: listed only to its member or manager.
		g2 := must(s.CreateResearchGroup(ctx, admin, storage.ResearchGroupInput{DistrictID: w.d.ID, Name: "区数学组"}))(t)
		if gs := must(s.ListResearchGroups(ctx, storage.ResearchGroupFilter{MemberID: w.teacher.ID}))(t); len(gs) != 1 || gs[0].ID != g.ID {
			t.Fatalf("teacher's groups = %+v", gs)
		}
		if gs := must(s.ListResearchGroups(ctx, storage.ResearchGroupFilter{ManageSchools: []storage.SchoolID{w.s2.ID}}))(t); len(gs) != 1 || gs[0].ID != g.ID {
			t.Fatalf("school admin's groups = %+v", gs)
		}
		if gs := must(s.ListResearchGroups(ctx, storage.ResearchGroupFilter{ManageDistrict: w.d.ID}))(t); len(gs) != 2 || gs[0].ID != g2.ID {
			t.Fatalf("district admin's groups = %+v", gs)
		}

		_, err = s.CreateResearchActivity(ctx, tea, storage.ResearchActivityInput{GroupID: g.ID, Topic: strings.Repeat("题", storage.MaxResearchName+1)})
		wantField(t, err, "topic")
		_, err = s.CreateResearchActivity(ctx, tea, storage.ResearchActivityInput{GroupID: g.ID, Topic: "x",
			RecordingIDs: []storage.RecordingID{1, 2, 3, 4, 5, 6, 7}})
		wantField(t, err, "recording_ids")
		_, err = s.CreateResearchActivity(ctx, tea, storage.ResearchActivityInput{GroupID: 999999, Topic: "x"})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("activity of no group: %v", err)
		}
		act := must(s.CreateResearchActivity(ctx, tea, storage.ResearchActivityInput{GroupID: g.ID, Topic: "同课异构：二次函数",
			Description: "比较两节课", RecordingIDs: []storage.RecordingID{r1.ID, r2.ID}}))(t)
		if len(act.RecordingIDs) != 2 || act.CreatorName != w.teacher.Name || act.Topic != "同课异构：二次函数" {
			t.Fatalf("activity = %+v", act)
		}
		_, err = s.AddResearchRecording(ctx, tea, act.ID, r2.ID)
		if !errors.Is(err, storage.ErrDuplicate) {
			t.Fatalf("recording twice: %v", err)
		}
		act = must(s.AddResearchRecording(ctx, tea, act.ID, r3.ID))(t)
		if len(act.RecordingIDs) != 3 {
			t.Fatalf("recordings = %v", act.RecordingIDs)
		}
		if gs := must(s.ResearchGroupsWatching(ctx, w.teacher.ID, r2.ID))(t); len(gs) != 1 || gs[0] != g.ID {
			t.Fatalf("watching = %v", gs)
		}
		if gs := must(s.ResearchGroupsWatching(ctx, w.student.ID, r2.ID))(t); len(gs) != 0 {
			t.Fatalf("a non-member watches through %v", gs)
		}

		_, err = s.AddResearchComment(ctx, tea, storage.ResearchComment{ActivityID: act.ID, AuthorID: w.teacher.ID, Text: strings.Repeat("x", storage.MaxResearchText+1)})
		wantField(t, err, "text")
		_, err = s.AddResearchComment(ctx, tea, storage.ResearchComment{ActivityID: act.ID, AuthorID: w.teacher.ID, Text: "x", StartMS: 5000})
		wantField(t, err, "recording_id")
		_, err = s.AddResearchComment(ctx, tea, storage.ResearchComment{ActivityID: act.ID, AuthorID: w.teacher.ID, Text: "x", RecordingID: r1.ID, StartMS: 5000, EndMS: 4000})
		wantField(t, err, "end_ms")
		other := mkRec("r4", w.other.ID)
		_, err = s.AddResearchComment(ctx, tea, storage.ResearchComment{ActivityID: act.ID, AuthorID: w.teacher.ID, Text: "x", RecordingID: other.ID})
		wantField(t, err, "recording_id")
		c1 := must(s.AddResearchComment(ctx, tea, storage.ResearchComment{ActivityID: act.ID, AuthorID: w.teacher.ID, Text: "这里提问很好",
			RecordingID: r2.ID, StartMS: 12000, EndMS: 20000}))(t)
		c2 := must(s.AddResearchComment(ctx, storage.Actor{UserID: w.other.ID}, storage.ResearchComment{ActivityID: act.ID, AuthorID: w.other.ID, Text: "总体不错"}))(t)
		if c1.StartMS != 12000 || c1.EndMS != 20000 || c1.RecordingID != r2.ID || c1.AuthorName != w.teacher.Name {
			t.Fatalf("comment = %+v", c1)
		}
		if cs := must(s.ListResearchComments(ctx, act.ID, r2.ID))(t); len(cs) != 1 || cs[0].ID != c1.ID {
			t.Fatalf("pinned to r2 = %+v", cs)
		}
		if err := s.DeleteResearchComment(ctx, admin, c2.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteResearchComment(ctx, admin, c2.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted twice: %v", err)
		}
		cs := must(s.ListResearchComments(ctx, act.ID, 0))(t)
		if len(cs) != 2 || !cs[1].Deleted || cs[1].Text != "" || cs[0].Deleted {
			t.Fatalf("comments = %+v", cs)
		}
		if a := must(s.GetResearchActivity(ctx, act.ID))(t); a.Comments != 1 {
			t.Fatalf("comment count = %d", a.Comments)
		}

		// Parallel adds never pass the limit.
		empty := must(s.CreateResearchActivity(ctx, tea, storage.ResearchActivityInput{GroupID: g.ID, Topic: "并发"}))(t)
		var recs []storage.RecordingID
		for i := range storage.MaxResearchRecordings + 4 {
			recs = append(recs, mkRec(fmt.Sprintf("p%d", i), w.teacher.ID).ID)
		}
		var wg sync.WaitGroup
		var added atomic.Int32
		for _, id := range recs {
			wg.Go(func() {
				if _, err := s.AddResearchRecording(ctx, tea, empty.ID, id); err == nil {
					added.Add(1)
				} else if !errors.As(err, new(*storage.FieldError)) {
					t.Errorf("parallel add: %v", err)
				}
			})
		}
		wg.Wait()
		if n := len(must(s.GetResearchActivity(ctx, empty.ID))(t).RecordingIDs); n != storage.MaxResearchRecordings || int(added.Load()) != n {
			t.Fatalf("parallel adds: %d recordings, %d added; want %d", n, added.Load(), storage.MaxResearchRecordings)
		}

		// Editing: name, description and subject, checked; a deleted group
		// is gone for every read and write, its rows kept.
		_, err = s.UpdateResearchGroup(ctx, admin, g2.ID, storage.ResearchGroupEdit{Name: " "})
		wantField(t, err, "name")
		_, err = s.UpdateResearchGroup(ctx, admin, g2.ID, storage.ResearchGroupEdit{Name: "x", Description: strings.Repeat("述", storage.MaxResearchGroupText+1)})
		wantField(t, err, "description")
		g2 = must(s.UpdateResearchGroup(ctx, admin, g2.ID, storage.ResearchGroupEdit{Name: " 区初中数学组 ", Description: "每月一次", SubjectID: w.math.ID}))(t)
		if g2.Name != "区初中数学组" || g2.Description != "每月一次" || g2.SubjectID != w.math.ID {
			t.Fatalf("edited group = %+v", g2)
		}
		gone := must(s.CreateResearchGroup(ctx, admin, storage.ResearchGroupInput{DistrictID: w.d.ID, SchoolID: w.s2.ID, Name: "待删组",
			Description: "临时", Members: []storage.UserID{w.teacher.ID}}))(t)
		goneAct := must(s.CreateResearchActivity(ctx, tea, storage.ResearchActivityInput{GroupID: gone.ID, Topic: "x", RecordingIDs: []storage.RecordingID{r1.ID}}))(t)
		if gone.Description != "临时" {
			t.Fatalf("created group = %+v", gone)
		}
		must0(t, s.DeleteResearchGroup(ctx, admin, gone.ID))
		if err := s.DeleteResearchGroup(ctx, admin, gone.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted twice: %v", err)
		}
		if _, err := s.GetResearchGroup(ctx, gone.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("reading a deleted group: %v", err)
		}
		if _, err := s.UpdateResearchGroup(ctx, admin, gone.ID, storage.ResearchGroupEdit{Name: "x"}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("editing a deleted group: %v", err)
		}
		if _, err := s.SetResearchMembers(ctx, admin, gone.ID, nil); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("members of a deleted group: %v", err)
		}
		if _, err := s.AddResearchComment(ctx, tea, storage.ResearchComment{ActivityID: goneAct.ID, AuthorID: w.teacher.ID, Text: "x"}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("commenting in a deleted group: %v", err)
		}
		if gs := must(s.ListResearchGroups(ctx, storage.ResearchGroupFilter{MemberID: w.teacher.ID, ManageDistrict: w.d.ID}))(t); len(gs) != 2 {
			t.Fatalf("groups after the delete = %+v", gs)
		}
		if gs := must(s.ResearchGroupsWatching(ctx, w.teacher.ID, r1.ID))(t); len(gs) != 1 || gs[0] != g.ID {
			t.Fatalf("watching through a deleted group: %v", gs)
		}
		if ok := must(s.IsResearchMember(ctx, gone.ID, w.teacher.ID))(t); !ok {
			t.Fatal("the deleted group's members were dropped")
		}

		// Every change wrote its activity row in the group's school.
		rows := must(s.RecentActivity(ctx, w.d.ID, nil, 100))(t)
		count := map[string]int{}
		for _, r := range rows {
			if strings.HasPrefix(r.Action, "research.") {
				count[r.Action]++
				if r.Action != "research.group_create" && r.Action != "research.group_edit" && r.SchoolID != w.s2.ID {
					t.Fatalf("%s in school %d", r.Action, r.SchoolID)
				}
			}
		}
		want := map[string]int{"research.group_create": 3, "research.members": 2, "research.activity_create": 3,
			"research.recording_add": 1 + storage.MaxResearchRecordings, "research.comment": 2, "research.comment_delete": 1,
			"research.group_edit": 1, "research.group_delete": 1}
		for k, n := range want {
			if count[k] != n {
				t.Fatalf("activity rows = %v; want %v", count, want)
			}
		}
	})
}
