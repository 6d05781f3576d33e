package storage_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// TestKeptReports: a report is kept once per kind, period and place; the
// scope filters select a district's own and its schools', listed schools'
// only, or both; files are kept and replaced; a request again is logged.
func TestKeptReports(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		d1 := must(s.CreateDistrict(ctx, storage.Actor{}, "k1", "区一"))(t)
		d2 := must(s.CreateDistrict(ctx, storage.Actor{}, "k2", "区二"))(t)
		a := must(s.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d1.ID, Code: "ka", Name: "甲", Kind: storage.KindPrimary, Active: true}))(t)
		b := must(s.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d1.ID, Code: "kb", Name: "乙", Kind: storage.KindPrimary, Active: true}))(t)
		c := must(s.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d2.ID, Code: "kc", Name: "丙", Kind: storage.KindPrimary, Active: true}))(t)
		start := time.Date(2026, 11, 30, 0, 0, 0, 0, storage.Zone)
		week := func(d storage.DistrictID, sc storage.SchoolID) storage.KeptPeriod {
			return storage.KeptPeriod{Kind: "week", Label: "2026-W49", Start: start, End: start.AddDate(0, 0, 7), DistrictID: d, SchoolID: sc}
		}
		ps := []storage.KeptPeriod{week(d1.ID, 0), week(d1.ID, a.ID), week(d1.ID, b.ID), week(d2.ID, 0), week(d2.ID, c.ID)}
		if n := must(s.AddKeptReports(ctx, ps))(t); n != 5 {
			t.Fatalf("added %d; want 5", n)
		}
		if n := must(s.AddKeptReports(ctx, ps))(t); n != 0 {
			t.Fatalf("added %d again; want 0", n)
		}
		places := func(f storage.KeptReportFilter) map[[2]int64]storage.KeptReport {
			t.Helper()
			list, total, err := s.ListKeptReports(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := map[[2]int64]storage.KeptReport{}
			for _, k := range list {
				out[[2]int64{int64(k.DistrictID), int64(k.SchoolID)}] = k
			}
			if len(out) != total {
				t.Errorf("%+v: %d listed, total %d", f, len(out), total)
			}
			return out
		}
		if got := places(storage.KeptReportFilter{District: d1.ID}); len(got) != 3 || got[[2]int64{int64(d1.ID), 0}].DistrictName != "区一" {
			t.Errorf("district 1: %v", got)
		}
		if got := places(storage.KeptReportFilter{Schools: []storage.SchoolID{a.ID, c.ID}}); len(got) != 2 || got[[2]int64{int64(d2.ID), int64(c.ID)}].SchoolName != "丙" {
			t.Errorf("schools A and C: %v", got)
		}
		if got := places(storage.KeptReportFilter{District: d2.ID, Schools: []storage.SchoolID{a.ID}}); len(got) != 3 {
			t.Errorf("district 2 and school A: %v", got)
		}
		if got := places(storage.KeptReportFilter{}); len(got) != 0 {
			t.Errorf("nowhere: %v", got)
		}
		if got := places(storage.KeptReportFilter{All: true, Kind: "month"}); len(got) != 0 {
			t.Errorf("months: %v", got)
		}
		if got := places(storage.KeptReportFilter{All: true, Label: "2026-W49", Status: storage.KeptPending}); len(got) != 5 {
			t.Errorf("pending W49: %v", got)
		}

		k := places(storage.KeptReportFilter{Schools: []storage.SchoolID{a.ID}})[[2]int64{int64(d1.ID), int64(a.ID)}]
		_, err := s.KeptReportFile(ctx, k.ID, "csv")
		wantErr(t, err, storage.ErrNotFound)
		at := time.Date(2026, 12, 7, 1, 0, 0, 0, storage.Zone)
		if err := s.FinishKeptReport(ctx, k.ID, []byte("PK.."), []byte("a,b\n"), at); err != nil {
			t.Fatal(err)
		}
		got := must(s.GetKeptReport(ctx, k.ID))(t)
		if got.Status != storage.KeptReady || !got.GeneratedAt.Equal(at) || got.XLSXSize != 4 || got.CSVSize != 4 {
			t.Errorf("finished: %+v", got)
		}
		if b := must(s.KeptReportFile(ctx, k.ID, "xlsx"))(t); !bytes.Equal(b, []byte("PK..")) {
			t.Errorf("xlsx %q", b)
		}
		if err := s.FailKeptReport(ctx, k.ID, "boom"); err != nil {
			t.Fatal(err)
		}
		if got := must(s.GetKeptReport(ctx, k.ID))(t); got.Status != storage.KeptFailed || got.Error != "boom" || got.CSVSize != 4 {
			t.Errorf("failed, files kept: %+v", got)
		}
		got = must(s.RequestKeptReport(ctx, storage.Actor{}, k.ID))(t)
		if got.Status != storage.KeptPending || got.Error != "" {
			t.Errorf("asked again: %+v", got)
		}
		_, err = s.GetKeptReport(ctx, 999999)
		wantErr(t, err, storage.ErrNotFound)
		_, err = s.RequestKeptReport(ctx, storage.Actor{}, 999999)
		wantErr(t, err, storage.ErrNotFound)

		if n := must(s.DeleteKeptReports(ctx, "week", start.AddDate(0, 0, 7)))(t); n != 0 {
			t.Errorf("deleted %d weeks ending at the cut; want 0", n)
		}
		if n := must(s.DeleteKeptReports(ctx, "week", start.AddDate(0, 0, 8)))(t); n != 5 {
			t.Errorf("deleted %d weeks; want 5", n)
		}
	})
}
