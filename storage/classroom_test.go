package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// TestClassroomRecord: chat kept (a deleted message hidden but kept),
// a poll answered once per account even when answers race, removals.
func TestClassroomRecord(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		a := storage.Actor{UserID: 0}
		where := storage.ClassroomPlace{}
		now := time.Now()
		id1 := must(s.AddChatMessage(ctx, storage.ChatMessage{Room: "r", MsgID: "m1", Identity: "u1", UserID: 1, Message: "你好", SentAt: now}))(t)
		must(s.AddChatMessage(ctx, storage.ChatMessage{Room: "r", MsgID: "m2", Identity: "u2", UserID: 2, Message: "hi", SentAt: now}))(t)
		must(s.AddChatMessage(ctx, storage.ChatMessage{Room: "other", Identity: "u2", Message: "elsewhere", SentAt: now}))(t)
		must(s.DeleteChatMessage(ctx, a, where, "r", id1))(t)
		if h := must(s.ChatHistory(ctx, "r", now.Add(-time.Hour), 0, 10, false))(t); len(h) != 1 || h[0].Message != "hi" {
			t.Fatalf("history: %+v", h)
		}
		if h := must(s.ChatHistory(ctx, "r", now.Add(-time.Hour), 0, 10, true))(t); len(h) != 2 || !h[0].Deleted {
			t.Fatalf("history with deleted: %+v", h)
		}
		if _, err := s.DeleteChatMessage(ctx, a, where, "other", id1); err == nil {
			t.Fatal("a message deleted through another room")
		}

		p := must(s.CreatePoll(ctx, a, where, storage.Poll{Room: "r", Question: "q", Options: []string{"a", "b"}, Correct: []int{1}}))(t)
		wantErr(t, s.AnswerPoll(ctx, p.ID, storage.PollAnswer{UserID: 5, Identity: "u5", Choices: []int{1}, AnsweredAt: now}), storage.ErrClosed)
		must(s.StartPoll(ctx, a, where, p.ID, time.Time{}))(t)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.AnswerPoll(ctx, p.ID, storage.PollAnswer{UserID: 5, Identity: "u5", Choices: []int{i % 2}, AnsweredAt: now})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantErr(t, err, storage.ErrDuplicate)
			}
		}
		if ans := must(s.PollAnswers(ctx, p.ID))(t); ok != 1 || len(ans) != 1 {
			t.Fatalf("%d answers accepted, %d stored; want 1", ok, len(ans))
		}
		must(s.EndPoll(ctx, p.ID))(t)
		wantErr(t, s.AnswerPoll(ctx, p.ID, storage.PollAnswer{UserID: 6, Identity: "u6", Choices: []int{0}, AnsweredAt: now}), storage.ErrClosed)

		must0(t, s.BanFromRoom(ctx, a, where, "r", "u7"))
		must0(t, s.BanFromRoom(ctx, a, where, "r", "u7"))
		if b := must(s.IsBanned(ctx, "r", "u7", now.Add(-time.Hour)))(t); !b {
			t.Fatal("not banned")
		}
		if b := must(s.IsBanned(ctx, "other", "u7", now.Add(-time.Hour)))(t); b {
			t.Fatal("banned from another room")
		}
		if b := must(s.IsBanned(ctx, "r", "u7", time.Now().Add(time.Hour)))(t); b {
			t.Fatal("a ban older than the window still keeps out")
		}
		must0(t, s.UnbanFromRoom(ctx, "r", "u7"))
		wantErr(t, s.UnbanFromRoom(ctx, "r", "u7"), storage.ErrNotFound)
	})
}
