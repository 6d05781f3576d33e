package classroom

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"yunke/signaling"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// closedRooms is signaling with no room open: events to rooms go nowhere.
type closedRooms struct{ Rooms }

func (closedRooms) SendData(signaling.RoomName, *livekit.DataPacket) error {
	return signaling.ErrNoRoom
}
func (closedRooms) Members(signaling.RoomName) ([]signaling.Member, error) {
	return nil, signaling.ErrNoRoom
}

// TestRestoreEndsTimedPolls: polls that were running when the server
// stopped still end at their time limit (at once when it passed while the
// server was down); a poll without one keeps running.
func TestRestoreEndsTimedPolls(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		now := time.Now()
		start := func(question string, endsAt time.Time) storage.PollID {
			t.Helper()
			p, err := st.CreatePoll(ctx, storage.Actor{}, storage.ClassroomPlace{}, storage.Poll{Room: "s1-math", Question: question,
				Options: []string{"a", "b"}, TimeLimitS: 60})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.StartPoll(ctx, storage.Actor{}, storage.ClassroomPlace{}, p.ID, endsAt); err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		passed := start("time up while the server was down", now.Add(-time.Second))
		soon := start("ends soon", now.Add(300*time.Millisecond))
		open := start("no time limit", time.Time{})

		s := New(Params{Store: st, Rooms: closedRooms{}})
		defer s.Close()
		if err := s.Restore(ctx); err != nil {
			t.Fatal(err)
		}
		status := func(id storage.PollID) storage.PollStatus {
			p, err := st.GetPoll(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return p.Status
		}
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for status(passed) != storage.PollEnded || status(soon) != storage.PollEnded {
			if time.Now().After(deadline) {
				t.Fatalf("polls not ended: %s, %s", status(passed), status(soon))
			}
			<-tick.C
		}
		if got := status(open); got != storage.PollRunning {
			t.Fatalf("the poll without a time limit is %s", got)
		}
	})
}
