package qa_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"yunke/server/qa"
	"yunke/signaling/events"
	"yunke/signaling/matching"
	"yunke/storage"
)

// BenchmarkRouteRedis: 1,000 teachers online on the Redis presence (9
// subjects × 3 grade bands, 20 schools of one district), 10,000 questions
// posted by 8 concurrent callers and left open. For each question it
// measures the time from posting (Router.QuestionAsked) until its first
// qa.question event arrives on the Redis event channel that every node
// delivers from — the pick of its first batch (own school first) and the
// publish included. It reports p50 and p99 of that time.
func BenchmarkRouteRedis(b *testing.B) {
	const questions, teachers, workers, schools = 10_000, 1_000, 8, 20
	addr := os.Getenv("TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 32})
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		b.Fatalf("Redis not reachable at %s: %v", addr, err)
	}
	subjects := []string{"chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography", "morality_law"}
	bands := map[matching.Band]int{matching.BandPrimary: 3, matching.BandJunior: 8, matching.BandSenior: 11}
	var keys []matching.Key
	for _, s := range subjects {
		for _, band := range []matching.Band{matching.BandPrimary, matching.BandJunior, matching.BandSenior} {
			keys = append(keys, matching.Key{Subject: s, Band: band})
		}
	}
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m := redisMatcher(b, matching.Config{PresenceTTL: time.Hour})
		now := time.Now()
		for ti := range teachers {
			if err := m.Heartbeat(ctx, matching.Teacher{ID: matching.TeacherID(fmt.Sprint(100_000 + ti)), Keys: []matching.Key{keys[ti%len(keys)]},
				Scopes: []string{"d1", fmt.Sprintf("s%d", ti%schools+1)}}, now); err != nil {
				b.Fatal(err)
			}
		}
		var rb [6]byte
		_, _ = rand.Read(rb[:])
		channel := "yunke-qa-bench-" + hex.EncodeToString(rb[:])
		bus, err := events.NewRedisBus(ctx, events.RedisBusParams{Client: client, Channel: channel, Hub: events.NewHub(events.HubParams{})})
		if err != nil {
			b.Fatal(err)
		}
		// Another node's view of the channel: when each question's first event arrives.
		sub := client.Subscribe(ctx, channel)
		if _, err := sub.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		posted := make([]atomic.Int64, questions)
		arrived := make([]int64, questions)
		var seen atomic.Int64
		allSeen := make(chan struct{})
		go func() {
			for msg := range sub.Channel(redis.WithChannelSize(4096)) {
				at := time.Now().UnixNano()
				var env struct {
					Event struct {
						QuestionID int64 `json:"question_id"`
					} `json:"event"`
				}
				if json.Unmarshal([]byte(msg.Payload), &env) != nil {
					continue
				}
				qi := env.Event.QuestionID - 1
				if qi >= 0 && qi < questions && arrived[qi] == 0 {
					arrived[qi] = at
					if seen.Add(1) == questions {
						close(allSeen)
					}
				}
			}
		}()
		r := qa.NewRouter(qa.RouterParams{Presence: m.(matching.Notifier), Bus: bus, Batch: 5,
			AfterFunc: func(time.Duration, func()) func() bool { return func() bool { return true } }})
		var next atomic.Int64
		var wg sync.WaitGroup
		b.StartTimer()
		for range workers {
			wg.Go(func() {
				for {
					qi := next.Add(1) - 1
					if qi >= questions {
						return
					}
					k := keys[qi%int64(len(keys))]
					q := storage.Question{ID: storage.QuestionID(qi + 1), AuthorID: 1, DistrictID: 1, SchoolID: storage.SchoolID(qi%schools + 1),
						SubjectCode: k.Subject, Grade: bands[k.Band], Text: "题", Status: storage.QuestionOpen}
					posted[qi].Store(time.Now().UnixNano())
					r.QuestionAsked(ctx, q)
				}
			})
		}
		wg.Wait()
		select {
		case <-allSeen:
		case <-time.After(30 * time.Second):
			b.Fatalf("only %d of %d questions reached a teacher", seen.Load(), questions)
		}
		b.StopTimer()
		r.Close()
		_ = sub.Close()
		bus.Close()
		for qi := range questions {
			lat = append(lat, time.Duration(arrived[qi]-posted[qi].Load()))
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
