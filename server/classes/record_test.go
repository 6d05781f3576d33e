package classes_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"yunke/server/classes"
	"yunke/sfu"
	"yunke/signaling"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// mic is a published microphone whose packets carry an RFC 6464 audio
// level the test sets: it feeds a real sfu.Track, as a publisher's
// connection does.
type mic struct {
	track *sfu.Track
	level atomic.Uint32
	pkts  chan []byte
	stop  chan struct{}
	done  chan struct{}
}

const levelExt = 1

func (m *mic) Read(b []byte) (int, interceptor.Attributes, error) {
	p, ok := <-m.pkts
	if !ok {
		return 0, nil, io.EOF
	}
	return copy(b, p), nil, nil
}

func (m *mic) SSRC() webrtc.SSRC { return 1 }

func newMic(t *testing.T, id string) *mic {
	t.Helper()
	m := &mic{track: sfu.NewTrack(sfu.TrackParams{ID: id, Kind: webrtc.RTPCodecTypeAudio,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}),
		pkts: make(chan []byte, 16), stop: make(chan struct{}), done: make(chan struct{})}
	m.level.Store(127)
	if err := m.track.AddLayer(0, m); err != nil {
		t.Fatal(err)
	}
	go func() { // 20 ms packets, as Opus sends them
		defer close(m.done)
		defer close(m.pkts)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i * 960), SSRC: 1},
				Payload: []byte{0xfc, 1, 2}}
			_ = p.Header.SetExtension(levelExt, []byte{byte(m.level.Load())})
			b, err := p.Marshal()
			if err != nil {
				panic(err)
			}
			select {
			case m.pkts <- b:
			case <-m.stop:
				return
			}
			select {
			case <-tk.C:
			case <-m.stop:
				return
			}
		}
	}()
	t.Cleanup(m.close)
	return m
}

func (m *mic) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
		<-m.done
		m.track.Close()
	}
}

func (m *mic) event(c storage.ClassID, u storage.UserID, role string) signaling.TrackEvent {
	pe := event(c, u, role)
	return signaling.TrackEvent{Room: pe.Room, Participant: pe, ID: signaling.TrackID(m.track.ID()), Source: livekit.TrackSource_MICROPHONE,
		Track: m.track, AudioLevelExtension: levelExt}
}

func speaking(svc *classes.Service, c storage.ClassID, u storage.UserID) bool {
	for _, s := range svc.Speaking(c) {
		if s == u {
			return true
		}
	}
	return false
}

// TestRecordCountsTalkHandsMessagesPolls: a student in a class for two
// stays speaks on stage in both (their microphone's audio levels), raises
// a hand, chats and answers polls in each; the teacher speaks too. The
// record has each person's talk time (by the class's clock), and the
// hands, messages and poll answers of the class's room between its actual
// start and end, each counted once however many stays there were —
// nothing from before the start or after the end.
func TestRecordCountsTalkHandsMessagesPolls(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, storage.Zone)
		clk := &clock{t: start.Add(-3 * time.Minute)}
		w := setup(t, st, start)
		svc := classes.New(classes.Params{Store: st, NodeURL: "http://n", Now: clk.Now, Tick: 5 * time.Millisecond})
		if err := svc.Restore(ctx); err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { svc.Run(runCtx); close(done) }()
		defer func() { stop(); <-done }()

		room := string(classes.RoomName(w.class.ID))
		sid := string(classes.Identity(w.student.ID))
		hand := func() {
			t.Helper()
			if err := st.AddHandEvent(ctx, storage.ClassroomPlace{}, storage.HandEvent{Room: room, Identity: sid, UserID: w.student.ID,
				Kind: "raised", At: clk.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := st.AddHandEvent(ctx, storage.ClassroomPlace{}, storage.HandEvent{Room: room, Identity: sid, UserID: w.student.ID,
				Kind: "lowered", At: clk.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		chat := func(text string) {
			t.Helper()
			if _, err := st.AddChatMessage(ctx, storage.ChatMessage{Room: room, Identity: sid, UserID: w.student.ID, Name: "s",
				Message: text, SentAt: clk.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		quiz := func(correct []int, answers ...[]int) {
			t.Helper()
			p := must(st.CreatePoll(ctx, storage.Actor{UserID: w.teacher.ID}, storage.ClassroomPlace{}, storage.Poll{Room: room,
				Question: "?", Options: []string{"a", "b", "c"}, Multiple: true, Correct: correct}))(t)
			must(st.StartPoll(ctx, storage.Actor{UserID: w.teacher.ID}, storage.ClassroomPlace{}, p.ID, time.Time{}))(t)
			for i, a := range answers {
				err := st.AnswerPoll(ctx, p.ID, storage.PollAnswer{UserID: w.student.ID, Identity: sid, Choices: a, AnsweredAt: clk.Now()})
				if i == 0 && err != nil {
					t.Fatal(err)
				}
				if i > 0 && !errors.Is(err, storage.ErrDuplicate) {
					t.Fatalf("a second answer: %v", err)
				}
			}
		}
		talk := func(m *mic, u storage.UserID, d time.Duration, unpublish bool, ev signaling.TrackEvent) {
			t.Helper()
			m.level.Store(10) // -10 dBov: speech
			poll(t, "speech to be heard", func() bool { return speaking(svc, w.class.ID, u) })
			clk.Advance(d)
			if unpublish { // the student goes off stage while speaking
				svc.TrackUnpublished(ctx, ev)
			} else {
				m.level.Store(127)
			}
			poll(t, "silence to be heard", func() bool { return !speaking(svc, w.class.ID, u) })
		}

		// Before the class starts: a hand and a message that do not count.
		svc.ParticipantJoined(ctx, event(w.class.ID, w.student.ID, "student"))
		hand()
		chat("early")
		clk.Advance(3 * time.Minute)
		svc.ParticipantJoined(ctx, event(w.class.ID, w.teacher.ID, "teacher")) // 08:00: live
		poll(t, "the class to go live", func() bool { return must(st.GetClass(ctx, w.class.ID))(t).Status == storage.ClassLive })

		// First stay: on stage, 30 s of speech; a hand, a message, a quiz
		// answered right (a second answer refused).
		m1 := newMic(t, "TR_a")
		ev1 := m1.event(w.class.ID, w.student.ID, "student")
		svc.TrackPublished(ctx, ev1)
		talk(m1, w.student.ID, 30*time.Second, false, ev1)
		svc.TrackUnpublished(ctx, ev1)
		hand()
		chat("one")
		quiz([]int{2, 0}, []int{0, 2}, []int{1})
		svc.ParticipantLeft(ctx, event(w.class.ID, w.student.ID, "student"))
		clk.Advance(time.Minute)

		// Second stay: 10 s of speech cut by leaving the stage; a hand, a
		// message, a quiz answered wrong and a poll without a correct answer.
		svc.ParticipantJoined(ctx, event(w.class.ID, w.student.ID, "student"))
		m2 := newMic(t, "TR_b")
		ev2 := m2.event(w.class.ID, w.student.ID, "student")
		svc.TrackPublished(ctx, ev2)
		talk(m2, w.student.ID, 10*time.Second, true, ev2)
		hand()
		chat("two")
		quiz([]int{1}, []int{0})
		quiz(nil, []int{2}, []int{2})

		// The teacher speaks for 20 s.
		m3 := newMic(t, "TR_c")
		ev3 := m3.event(w.class.ID, w.teacher.ID, "teacher")
		svc.TrackPublished(ctx, ev3)
		talk(m3, w.teacher.ID, 20*time.Second, false, ev3)

		clk.Advance(time.Minute)
		c := must(svc.End(ctx, storage.Actor{UserID: w.teacher.ID}, must(st.GetClass(ctx, w.class.ID))(t)))(t)
		clk.Advance(time.Minute)
		chat("after the end")

		rec := must(svc.Record(ctx, c))(t)
		var student, teacher *classes.Attendee
		for i, a := range rec.Attendees {
			switch a.UserID {
			case w.student.ID:
				student = &rec.Attendees[i]
			case w.teacher.ID:
				teacher = &rec.Attendees[i]
			}
		}
		if student == nil || teacher == nil {
			t.Fatalf("attendees %+v", rec.Attendees)
		}
		if student.Joins != 2 || student.TalkS != 40 || student.Hands != 2 || student.Messages != 2 || student.PollAnswers != 3 ||
			student.QuizAnswers != 2 || student.Correct != 1 {
			t.Fatalf("student's record %+v", *student)
		}
		if teacher.TalkS != 20 || teacher.Hands != 0 || teacher.Messages != 0 || teacher.PollAnswers != 0 {
			t.Fatalf("teacher's record %+v", *teacher)
		}
	})
}
