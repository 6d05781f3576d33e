package microlessons

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/server/jobs"
	"yunke/storage"
	"yunke/storage/blob"
	"yunke/storage/storagetest"
)

// unreachable is a media store whose deletes fail a number of times, as
// an object store out of reach would.
type unreachable struct {
	*blob.Local
	mu    sync.Mutex
	fails int
}

func (u *unreachable) Delete(ctx context.Context, key string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fails > 0 {
		u.fails--
		return errors.New("dial tcp: connection refused")
	}
	return u.Local.Delete(ctx, key)
}

// A video the media store fails to remove is removed by a job, retried
// until the store answers.
func TestRemoveVideoRetries(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		q, err := jobs.New(ctx, jobs.Params{Store: st, PollInterval: 20 * time.Millisecond,
			Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
		if err != nil {
			t.Fatal(err)
		}
		media := &unreachable{Local: &blob.Local{Dir: t.TempDir()}, fails: 3}
		s := must(New(Params{Store: st, Media: media, Dir: t.TempDir(), Jobs: q, Logger: discard()}))(t)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })

		key := "videos/7/abc.mp4"
		if err := media.Put(ctx, key, strings.NewReader("video"), 5, "video/mp4"); err != nil {
			t.Fatal(err)
		}
		s.removeVideo(ctx, key, 4)
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := media.Stat(ctx, key); errors.Is(err, blob.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the video is still there after 20 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		list, err := q.List(ctx, jobs.Filter{Kind: "microlessons.remove_video", District: 4})
		if err != nil || len(list) != 1 || list[0].Attempt != 3 || len(list[0].Errors) != 2 {
			t.Fatalf("the job: %+v, %v", list, err)
		}

		// A key outside the micro-lessons' videos is never removed.
		if _, err := q.Enqueue(ctx, removeVideoArgs{Key: "recordings/1/x.webm"}, jobs.Options{}); err != nil {
			t.Fatal(err)
		}
		for {
			list, err := q.List(ctx, jobs.Filter{Kind: "microlessons.remove_video", State: "cancelled"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the foreign key's job was not cancelled")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
