package reports

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"yunke/server/demodata"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// The statistics at seed scale: a district's year from `yunke demo-data`
// (scale 1, seed 1, year 2025), generated once into a Postgres schema and
// an SQLite file that later runs reuse (docs/benchmarks.md). They run with
// YUNKE_BENCH_REPORTS=1 (make bench sets it): generating takes minutes.
// YUNKE_BENCH_REPORTS_SCALE changes the scale; YUNKE_BENCH_REPORTS_SQLITE=0
// leaves SQLite out.

const benchYear = 2025

func benchScale() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("YUNKE_BENCH_REPORTS_SCALE"), 64); err == nil && v > 0 {
		return v
	}
	return 1
}

// benchStores opens the seed-scale stores, generating their data the
// first time.
func benchStores(b *testing.B) map[string]*storage.Store {
	if os.Getenv("YUNKE_BENCH_REPORTS") != "1" {
		b.Skip("set YUNKE_BENCH_REPORTS=1 (make bench does) to measure the statistics at seed scale")
	}
	ctx := context.Background()
	scale := benchScale()
	tag := "bench_reports_s" + strconv.FormatFloat(scale, 'f', -1, 64)
	tag = filepathSafe(tag)
	out := map[string]*storage.Store{}
	// Postgres: a schema of the test database named after the scale.
	conn, err := pgx.Connect(ctx, storagetest.PostgresURL())
	if err != nil {
		b.Fatalf("postgres: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+tag); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	u, err := url.Parse(storagetest.PostgresURL())
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", tag)
	u.RawQuery = q.Encode()
	out["postgres"] = benchOpen(b, storage.OpenParams{URL: u.String()}, scale)
	if os.Getenv("YUNKE_BENCH_REPORTS_SQLITE") != "0" {
		out["sqlite"] = benchOpen(b, storage.OpenParams{Path: filepath.Join(os.TempDir(), "yunke-"+tag+".db")}, scale)
	}
	return out
}

func filepathSafe(s string) string {
	r := []rune(s)
	for i, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			r[i] = '_'
		}
	}
	return string(r)
}

// benchOpen opens a store and fills it with demonstration data unless a
// previous run did (the load is one transaction: all or nothing).
func benchOpen(b *testing.B, p storage.OpenParams, scale float64) *storage.Store {
	ctx := context.Background()
	s, err := storage.Open(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	start := time.Now()
	_, err = demodata.Generate(ctx, s, demodata.Params{Seed: 1, Scale: scale, Year: benchYear, PasswordHash: "x", TraineeCoverage: 1})
	switch {
	case errors.Is(err, demodata.ErrAlreadyLoaded):
	case err != nil:
		b.Fatal(err)
	default:
		b.Logf("%s: demo data generated in %v", s.Backend(), time.Since(start).Round(time.Second))
	}
	return s
}

// benchDistrict is the demo district's scope.
func benchDistrict(b *testing.B, s *storage.Store) Scope {
	rows, err := s.ReportFact(context.Background(), storage.FactQuery{Fact: "users.teachers", By: storage.DimDistrict})
	if err != nil || len(rows) == 0 {
		b.Fatalf("no district: %v", err)
	}
	id := storage.DistrictID(storage.ParseKey(rows[0].Key))
	return Scope{Level: "district", DistrictID: id, place: Place{DistrictID: id}}
}

// BenchmarkDistrictMonthDashboard: the district's dashboard of May (this
// month and April, every indicator), as GET /reports/dashboard computes it.
func BenchmarkDistrictMonthDashboard(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			svc := New(Params{Store: s})
			sc := benchDistrict(b, s)
			p, _ := PeriodOf(Month, time.Date(benchYear, time.May, 15, 0, 0, 0, 0, storage.Zone), nil)
			for b.Loop() {
				if _, err := svc.Dashboard(context.Background(), p, sc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDistrictYearXLSX: the district's yearly export (the year and
// the one before, every indicator) written as XLSX.
func BenchmarkDistrictYearXLSX(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			svc := New(Params{Store: s})
			sc := benchDistrict(b, s)
			p, _ := PeriodOf(Year, time.Date(benchYear, time.June, 1, 0, 0, 0, 0, storage.Zone), nil)
			for b.Loop() {
				d, err := svc.Dashboard(context.Background(), p, sc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := exportXLSX(ExportRows(d)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
