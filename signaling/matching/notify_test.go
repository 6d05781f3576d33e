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

// testNotify: online teachers of the queue and grade are picked least
// recently notified first, a bounded number at a time, skipping those
// told already; two nodes picking at once never pick the same teacher.
func testNotify(t *testing.T, nodes func() matching.Matcher) {
	ctx := context.Background()
	a, b := nodes().(matching.Notifier), nodes().(matching.Notifier)
	m := nodes()
	now := time.Now()
	for _, id := range []string{"t1", "t2", "t3", "t4"} {
		if err := m.Heartbeat(ctx, teacher(id, math7), now); err != nil {
			t.Fatal(err)
		}
	}
	g9 := teacher("t5", math7)
	g9.Grades = []int{9}
	busy := teacher("t6", math7)
	busy.Available = false // online, not taking tutoring students: still told about questions
	other := teacher("t7", eng7)
	for _, x := range []matching.Teacher{g9, busy, other} {
		if err := m.Heartbeat(ctx, x, now); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.NotifyTeachers(ctx, math7, 7, "", 2, nil, now)
	if err != nil || !slices.Equal(got, []matching.TeacherID{"t1", "t2"}) {
		t.Fatalf("first batch %v %v", got, err)
	}
	// Widening: the next ones, skipping those told; t5 teaches grade 9 only, t7 English.
	got, _ = b.NotifyTeachers(ctx, math7, 7, "", 10, []matching.TeacherID{"t1", "t2"}, now.Add(time.Second))
	if !slices.Equal(got, []matching.TeacherID{"t3", "t4", "t6"}) {
		t.Fatalf("widened %v", got)
	}
	// A new question goes to the least recently notified first.
	got, _ = a.NotifyTeachers(ctx, math7, 7, "", 2, nil, now.Add(2*time.Second))
	if !slices.Equal(got, []matching.TeacherID{"t1", "t2"}) {
		t.Fatalf("second question %v", got)
	}
	got, _ = b.NotifyTeachers(ctx, math7, 7, "", 2, nil, now.Add(3*time.Second))
	if !slices.Equal(got, []matching.TeacherID{"t3", "t4"}) {
		t.Fatalf("third question %v", got)
	}
	// Teachers not heard from within the presence TTL are not online.
	if got, _ = a.NotifyTeachers(ctx, math7, 7, "", 10, nil, now.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("offline teachers told: %v", got)
	}

	// Two nodes picking one at a time together: each teacher once.
	later := now.Add(2 * time.Minute)
	for _, id := range []string{"t1", "t2", "t3", "t4", "t6"} {
		if err := m.Heartbeat(ctx, teacher(id, math7), later); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var all []matching.TeacherID
	var wg sync.WaitGroup
	for i := range 5 {
		n := a
		if i%2 == 1 {
			n = b
		}
		wg.Go(func() {
			got, err := n.NotifyTeachers(ctx, math7, 7, "", 1, nil, later)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			all = append(all, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	if !slices.Equal(all, []matching.TeacherID{"t1", "t2", "t3", "t4", "t6"}) {
		t.Fatalf("concurrent picks %v", all)
	}
}

// testNotifyScope: a required scope narrows the pick to the teachers whose
// heartbeat carried it (a school first, then the district); teachers of
// other scopes are neither picked nor marked as notified.
func testNotifyScope(t *testing.T, nodes func() matching.Matcher) {
	ctx := context.Background()
	m := nodes()
	n := nodes().(matching.Notifier)
	now := time.Now()
	for id, scopes := range map[string][]string{"t1": {"d1", "s1"}, "t2": {"d1", "s2"}, "t3": {"d1", "s1"}, "t4": {"d2", "s3"}, "t5": nil} {
		x := teacher(id, math7)
		x.Scopes = scopes
		if err := m.Heartbeat(ctx, x, now); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := n.NotifyTeachers(ctx, math7, 7, "s1", 5, nil, now); err != nil || !slices.Equal(got, []matching.TeacherID{"t1", "t3"}) {
		t.Fatalf("school s1: %v %v", got, err)
	}
	if got, _ := n.NotifyTeachers(ctx, math7, 7, "d1", 5, []matching.TeacherID{"t1", "t3"}, now); !slices.Equal(got, []matching.TeacherID{"t2"}) {
		t.Fatalf("district d1 widened: %v", got)
	}
	// t4 and t5 were never picked, so they are the least recently notified now.
	if got, _ := n.NotifyTeachers(ctx, math7, 7, "", 2, nil, now.Add(time.Second)); !slices.Equal(got, []matching.TeacherID{"t4", "t5"}) {
		t.Fatalf("any scope: %v", got)
	}
	if got, _ := n.NotifyTeachers(ctx, math7, 7, "s9", 5, nil, now); len(got) != 0 {
		t.Fatalf("unknown school: %v", got)
	}
	// A heartbeat without scopes clears them.
	if err := m.Heartbeat(ctx, teacher("t1", math7), now); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.NotifyTeachers(ctx, math7, 7, "s1", 5, nil, now.Add(2*time.Second)); !slices.Equal(got, []matching.TeacherID{"t3"}) {
		t.Fatalf("after t1 dropped its scopes: %v", got)
	}
}

// BenchmarkNotifyRedis: 1,000 online teachers across 9 subjects × 3 bands
// (about 37 a queue), 10,000 new questions picked for in batches of 5 by 8
// concurrent workers on the real Redis. It reports the p50/p99 time of one
// pick (the time from a posted question to its first batch being chosen).
func BenchmarkNotifyRedis(b *testing.B) { benchNotify(b, redisFactory) }

// BenchmarkNotifyMemory is the same on the single-node presence.
func BenchmarkNotifyMemory(b *testing.B) { benchNotify(b, memoryFactory) }

func benchNotify(b *testing.B, mk factory) {
	const questions, teachers, workers = 10_000, 1_000, 8
	subjects := []string{"chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography", "morality_law"}
	var keys []matching.Key
	for _, s := range subjects {
		for _, band := range []matching.Band{matching.BandPrimary, matching.BandJunior, matching.BandSenior} {
			keys = append(keys, matching.Key{Subject: s, Band: band})
		}
	}
	grade := map[matching.Band]int{matching.BandPrimary: 3, matching.BandJunior: 8, matching.BandSenior: 11}
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nodes := mk(b, testCfg, false)
		ctx := context.Background()
		now := time.Now()
		setup := nodes()
		for ti := range teachers {
			if err := setup.Heartbeat(ctx, matching.Teacher{ID: matching.TeacherID(fmt.Sprintf("t%04d", ti)),
				Keys: []matching.Key{keys[ti%len(keys)]}, Available: true}, now); err != nil {
				b.Fatal(err)
			}
		}
		var mu sync.Mutex
		var next atomic.Int64
		var wg sync.WaitGroup
		b.StartTimer()
		for range workers {
			n := nodes().(matching.Notifier)
			wg.Go(func() {
				var local []time.Duration
				for {
					qi := next.Add(1) - 1
					if qi >= questions {
						break
					}
					k := keys[qi%int64(len(keys))]
					start := time.Now()
					got, err := n.NotifyTeachers(ctx, k, grade[k.Band], "", 5, nil, now.Add(time.Duration(qi)*time.Millisecond))
					local = append(local, time.Since(start))
					if err != nil || len(got) != 5 {
						b.Errorf("question %d: %v %v", qi, got, err)
						return
					}
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
