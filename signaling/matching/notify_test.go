package matching_test

import (
	"context"
	"slices"
	"sync"
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
	got, err := a.NotifyTeachers(ctx, math7, 7, 2, nil, now)
	if err != nil || !slices.Equal(got, []matching.TeacherID{"t1", "t2"}) {
		t.Fatalf("first batch %v %v", got, err)
	}
	// Widening: the next ones, skipping those told; t5 teaches grade 9 only, t7 English.
	got, _ = b.NotifyTeachers(ctx, math7, 7, 10, []matching.TeacherID{"t1", "t2"}, now.Add(time.Second))
	if !slices.Equal(got, []matching.TeacherID{"t3", "t4", "t6"}) {
		t.Fatalf("widened %v", got)
	}
	// A new question goes to the least recently notified first.
	got, _ = a.NotifyTeachers(ctx, math7, 7, 2, nil, now.Add(2*time.Second))
	if !slices.Equal(got, []matching.TeacherID{"t1", "t2"}) {
		t.Fatalf("second question %v", got)
	}
	got, _ = b.NotifyTeachers(ctx, math7, 7, 2, nil, now.Add(3*time.Second))
	if !slices.Equal(got, []matching.TeacherID{"t3", "t4"}) {
		t.Fatalf("third question %v", got)
	}
	// Teachers not heard from within the presence TTL are not online.
	if got, _ = a.NotifyTeachers(ctx, math7, 7, 10, nil, now.Add(time.Minute)); len(got) != 0 {
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
			got, err := n.NotifyTeachers(ctx, math7, 7, 1, nil, later)
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
