package matching_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yunke/signaling/matching"
)

var benchSubjects = []string{"chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography", "morality_law"}

// BenchmarkMatchingRedis is the tutoring load of a busy evening: 10,000
// students waiting across 9 subjects × 3 grade bands against 1,000
// available teachers, matched by 8 concurrent workers (as if on several
// nodes) against the real Redis. Each worker takes an offer, has the teacher
// accept, ends the session and matches again, until every request is served.
// It reports matches per second and the p50/p99 latency of one match (the
// time from a free teacher and a waiting student to the offer), and fails
// if any teacher or student is ever double-booked.
func BenchmarkMatchingRedis(b *testing.B) {
	benchMatching(b, redisFactory)
}

// BenchmarkMatchingMemory is the same load on the single-node matcher.
func BenchmarkMatchingMemory(b *testing.B) {
	benchMatching(b, memoryFactory)
}

func benchMatching(b *testing.B, mk factory) {
	const requests, teachers, workers = 10_000, 1_000, 8
	var keys []matching.Key
	for _, s := range benchSubjects {
		for _, band := range []matching.Band{matching.BandPrimary, matching.BandJunior, matching.BandSenior} {
			keys = append(keys, matching.Key{Subject: s, Band: band})
		}
	}
	var lat []time.Duration
	var matched int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nodes := mk(b, testCfg, false) // fresh state (for Redis, a fresh key prefix) each round
		ctx := context.Background()
		setup := nodes()
		now := time.Now()
		for ti := range teachers {
			k := keys[ti%len(keys)]
			if err := setup.Heartbeat(ctx, matching.Teacher{ID: matching.TeacherID(fmt.Sprintf("t%04d", ti)), Keys: []matching.Key{k}, Capacity: 1, Available: true}, now); err != nil {
				b.Fatal(err)
			}
		}
		for ri := range requests {
			k := keys[ri%len(keys)]
			if err := setup.Enqueue(ctx, matching.Request{ID: matching.RequestID(fmt.Sprintf("r%05d", ri)), Student: matching.StudentID(fmt.Sprintf("s%05d", ri)), Key: k, EnqueuedAt: now.Add(time.Duration(ri) * time.Millisecond)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		var (
			mu      sync.Mutex
			wg      sync.WaitGroup
			next    atomic.Int64
			seen    sync.Map
			failure atomic.Value
		)
		for w := range workers {
			node := nodes()
			wg.Go(func() {
				var local []time.Duration
				idle := 0
				for idle < len(keys) {
					k := keys[(int(next.Add(1))+w)%len(keys)]
					t0 := time.Now()
					o, ok, err := node.Next(ctx, k, time.Now())
					d := time.Since(t0)
					if err != nil {
						failure.Store(err)
						return
					}
					if !ok {
						idle++
						if idle == len(keys) && anyWaiting(ctx, node, keys) {
							// Every queue looked empty of free teachers, but
							// other workers were still holding them: go round again.
							idle = 0
						}
						continue
					}
					idle = 0
					local = append(local, d)
					if _, dup := seen.LoadOrStore(o.Request, o.Teacher); dup {
						failure.Store(fmt.Errorf("request %s offered twice", o.Request))
						return
					}
					if _, err := node.Accept(ctx, o.Request, o.Teacher, time.Now()); err != nil {
						failure.Store(err)
						return
					}
					if err := node.Finish(ctx, o.Teacher, o.Request, time.Now()); err != nil {
						failure.Store(err)
						return
					}
				}
				mu.Lock()
				lat = append(lat, local...)
				matched += int64(len(local))
				mu.Unlock()
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		b.StopTimer()
		if err, _ := failure.Load().(error); err != nil {
			b.Fatal(err)
		}
		for _, k := range keys {
			if n, err := setup.Waiting(ctx, k); err != nil || n != 0 {
				b.Fatalf("queue %s still has %d waiting (%v)", k, n, err)
			}
		}
		b.StartTimer()
	}
	if matched != int64(b.N)*requests {
		b.Fatalf("matched %d of %d requests", matched, int64(b.N)*requests)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(matched)/elapsed.Seconds(), "matches/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// anyWaiting reports whether some queue still has a waiting request.
func anyWaiting(ctx context.Context, m matching.Matcher, keys []matching.Key) bool {
	for _, k := range keys {
		if n, err := m.Waiting(ctx, k); err != nil || n > 0 {
			return err == nil
		}
	}
	return false
}
