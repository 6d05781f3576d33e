package selection

import (
	"testing"
	"time"

	"yunke/storage"
)

// TestShortlist: the mean weighted total ranks; ties go to the higher
// median, then more reviews, then the earlier nomination; entries without
// a submitted review come last, unranked; overdue counts late assignments.
func TestShortlist(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	entries := []storage.SelectionEntry{{ID: 1, RecordingID: 11}, {ID: 2, RecordingID: 12}, {ID: 3, RecordingID: 13}, {ID: 4, RecordingID: 14}, {ID: 5, RecordingID: 15}}
	sub := func(rec int64, total float64) storage.Assignment {
		return storage.Assignment{Target: target(storage.RecordingID(rec)), Status: storage.AssignmentSubmitted, Total: total}
	}
	late := storage.Assignment{Target: target(15), Status: storage.AssignmentDraft, DueAt: now.Add(-time.Hour)}
	xs := []storage.Assignment{
		sub(11, 80), sub(11, 80), // mean 80, median 80, 2 reviews
		sub(12, 70), sub(12, 90), sub(12, 80), // mean 80, median 80, 3 reviews: before entry 1
		sub(13, 90), sub(13, 60), sub(13, 90), // mean 80, median 90: first
		sub(14, 85), // mean 85: highest of all
		late,
	}
	got := Shortlist(entries, xs, now)
	want := []storage.SelectionEntryID{4, 3, 2, 1, 5}
	for i, r := range got {
		if r.ID != want[i] {
			t.Fatalf("order %v; want %v", ids(got), want)
		}
	}
	if got[0].Rank != 1 || got[3].Rank != 4 || got[4].Rank != 0 || got[4].Overdue != 1 || got[4].Assigned != 1 {
		t.Fatalf("ranks %+v", got)
	}
	if got[1].Mean != 80 || got[1].Median != 90 || got[1].Reviews != 3 || !got[1].Submitted {
		t.Fatalf("entry 3: %+v", got[1])
	}
}

func ids(rs []Ranked) []storage.SelectionEntryID {
	var out []storage.SelectionEntryID
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
