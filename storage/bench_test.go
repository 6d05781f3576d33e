package storage_test

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// backends opens a fresh store of each kind for a benchmark.
var backends = []struct {
	name string
	open func(testing.TB) *storage.Store
}{
	{"sqlite", storagetest.OpenSQLite},
	{"postgres", storagetest.OpenPostgres},
}

// A district's year: 136 schools × 9 subjects × 12 months, ~840,000 rows.
const (
	benchSchools  = 136
	benchSubjects = 9
	benchMonths   = 12
	benchRows     = 840_000
)

func districtYear(d storage.DistrictID) iter.Seq[storage.Activity] {
	loc := time.FixedZone("CST", 8*60*60)
	return func(yield func(storage.Activity) bool) {
		for i := range benchRows {
			school := i % benchSchools
			subject := (i / benchSchools) % benchSubjects
			month := (i / (benchSchools * benchSubjects)) % benchMonths
			at := time.Date(2025, time.Month(month+1), 1+i%28, 8+i%10, 0, 0, 0, loc)
			if !yield(storage.Activity{At: at, ActorID: storage.UserID(1 + i%5000), Action: "tutoring.session_end",
				DistrictID: d, SchoolID: storage.SchoolID(1 + school), SubjectID: storage.SubjectID(1 + subject),
				Value: int64(600 + i%1800)}) {
				return
			}
		}
	}
}

func BenchmarkSummarizeActivityYear(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s := be.open(b)
			n, err := s.BulkLoadActivity(ctx, districtYear(1))
			if err != nil || n != benchRows {
				b.Fatalf("loaded %d rows: %v", n, err)
			}
			q := storage.ActivityQuery{FromMonth: 202501, ToMonth: 202512, DistrictID: 1}
			b.ResetTimer()
			for b.Loop() {
				got, err := s.SummarizeActivity(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != benchSchools*benchSubjects*benchMonths {
					b.Fatalf("%d buckets", len(got))
				}
			}
		})
	}
}

func BenchmarkRecordActivity(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s := be.open(b)
			at := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if err := s.RecordActivity(ctx, storage.Activity{At: at, Action: "tutoring.session_end", DistrictID: 1,
						SchoolID: storage.SchoolID(1 + i%benchSchools), SubjectID: storage.SubjectID(1 + i%benchSubjects), Value: 60}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkImport20kStudents(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				s := be.open(b)
				d, err := s.CreateDistrict(ctx, admin, fmt.Sprint("D", i), "d")
				if err != nil {
					b.Fatal(err)
				}
				batch := importBatch(d.ID, 20_000)
				b.StartTimer()
				res, err := s.Import(ctx, admin, batch)
				if err != nil || res.Students.Created != 20_000 {
					b.Fatalf("import %+v: %v", res, err)
				}
			}
		})
	}
}
