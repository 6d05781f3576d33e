package loadtest

// The class scenario (--class): a Yunke interactive class with its
// controls in use. Instead of tokens signed with an API key, everyone comes
// in the way the web app does: a setup step through the HTTP API (as an
// administrator) makes a school, a teacher and the students (once: later
// runs sign the same accounts in), schedules a class for them, and each
// account asks POST /classes/{id}/join for its room token. In the steady
// window the students chat (data packets on the "chat" topic, as the web
// client sends them), some raise a hand (PUT /classroom/rooms/{room}/hand),
// the teacher brings one of them on stage (a permission change every
// participant hears as a ParticipantUpdate) and starts a poll (a data
// packet from the server) that every student answers over HTTP. The run
// measures how long the permission change and the poll's start take to
// reach each student, and checks the class's record afterwards.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"

	"yunke/signaling/client"
)

// classTopic is the topic of the classroom's own data packets (classroom.Topic).
const classTopic = "yunke.classroom"

// session is one signed-in account's HTTP client: cookies and the CSRF token.
type session struct {
	base string
	hc   *http.Client
	csrf string
}

// apiError is an unexpected HTTP answer.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

func newSession(base string) *session {
	jar, _ := cookiejar.New(nil)
	return &session{base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends body as JSON and decodes a 2xx answer into out (if not nil).
func (s *session) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %w", method, path, &apiError{resp.StatusCode, strings.TrimSpace(string(b))})
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// signIn signs in; it reports whether the account must change its password.
func (s *session) signIn(ctx context.Context, username, password string) (userID int64, mustChange bool, err error) {
	var me struct {
		User struct {
			ID                 int64 `json:"id"`
			MustChangePassword bool  `json:"must_change_password"`
		} `json:"user"`
		CSRFToken string `json:"csrf_token"`
	}
	if err := s.do(ctx, "POST", "/api/v1/auth/signin", map[string]string{"username": username, "password": password}, &me); err != nil {
		return 0, false, err
	}
	s.csrf = me.CSRFToken
	return me.User.ID, me.User.MustChangePassword, nil
}

// member is an account in the class.
type member struct {
	username string
	id       int64
	s        *session
	token    string
	identity string // in the room
}

// classRun is the class scenario's state.
type classRun struct {
	r        *run
	admin    *session
	teacher  *member
	students []*member
	classID  int64
	room     string
	tokens   map[string]string // the load tool's identity → the account's room token
	setup    time.Duration

	// Measurements, in time since the run's epoch (0: not yet).
	stageTarget atomic.Pointer[string]
	stageAt     atomic.Int64
	stageSeen   []atomic.Int64
	pollID      atomic.Int64
	pollAt      atomic.Int64
	pollSeen    []atomic.Int64

	handsRaised, handsFailed     atomic.Int64
	answered, answerFailed       atomic.Int64
	chatSent, chatFailed         atomic.Int64
	chatReceived                 atomic.Int64
	recordPollAnswers            atomic.Int64
	firstErrMu                   sync.Mutex
	firstErrs                    []string
	answers                      sync.WaitGroup
	recordErr                    error
	stageP, pollP                []time.Duration
	stageReached, pollReachedCnt int
}

func (c *classRun) fail(what string, err error) {
	c.firstErrMu.Lock()
	defer c.firstErrMu.Unlock()
	if len(c.firstErrs) < 5 {
		c.firstErrs = append(c.firstErrs, what+": "+err.Error())
	}
	c.r.log.Warn("class scenario", "step", what, "err", err)
}

// httpBase is the server's HTTP base URL.
func httpBase(u string) string {
	switch {
	case strings.HasPrefix(u, "ws://"):
		u = "http://" + strings.TrimPrefix(u, "ws://")
	case strings.HasPrefix(u, "wss://"):
		u = "https://" + strings.TrimPrefix(u, "wss://")
	}
	return strings.TrimRight(u, "/")
}

// setupClass makes (or finds) the school, the teacher and the students,
// schedules a class and gets everyone's room token.
func setupClass(ctx context.Context, r *run) (*classRun, error) {
	start := time.Now()
	cfg := r.cfg
	base := httpBase(cfg.URL)
	c := &classRun{r: r, admin: newSession(base), tokens: map[string]string{},
		stageSeen: make([]atomic.Int64, cfg.Subscribers), pollSeen: make([]atomic.Int64, cfg.Subscribers)}
	if _, must, err := c.admin.signIn(ctx, cfg.AdminUser, cfg.AdminPassword); err != nil {
		return nil, fmt.Errorf("sign in as %s: %w", cfg.AdminUser, err)
	} else if must {
		return nil, fmt.Errorf("the administrator %s must change their password first", cfg.AdminUser)
	}
	type idCode struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
	}
	var ds struct{ Items []idCode }
	if err := c.admin.do(ctx, "GET", "/api/v1/districts", nil, &ds); err != nil || len(ds.Items) == 0 {
		return nil, fmt.Errorf("list districts: %v", err)
	}
	district := ds.Items[0].ID
	var ss struct{ Items []idCode }
	if err := c.admin.do(ctx, "GET", "/api/v1/schools?q=LOADTEST&page_size=200", nil, &ss); err != nil {
		return nil, err
	}
	var school int64
	for _, s := range ss.Items {
		if s.Code == "LOADTEST" {
			school = s.ID
		}
	}
	if school == 0 {
		var sc idCode
		if err := c.admin.do(ctx, "POST", "/api/v1/schools", map[string]any{"code": "LOADTEST", "name": "压测学校",
			"kind": "primary", "district_id": district}, &sc); err != nil {
			return nil, err
		}
		school = sc.ID
	}
	var subs struct{ Items []idCode }
	if err := c.admin.do(ctx, "GET", "/api/v1/subjects", nil, &subs); err != nil || len(subs.Items) == 0 {
		return nil, fmt.Errorf("list subjects: %v", err)
	}
	subject := subs.Items[0].ID

	// account makes the account unless it exists (a sign-in that fails
	// would count against the address's sign-in limit), then signs it in.
	account := func(username string, body map[string]any) (*member, error) {
		m := &member{username: username, s: newSession(base)}
		const initial = "Loadtest-initial-1"
		body["username"], body["name"], body["password"] = username, username, initial
		var made struct {
			ID int64 `json:"id"`
		}
		err := c.admin.do(ctx, "POST", "/api/v1/users", body, &made)
		switch {
		case statusOf(err) == http.StatusConflict: // made by an earlier run
			id, must, err := m.s.signIn(ctx, username, cfg.StudentPassword)
			if err != nil {
				return nil, err
			}
			if must {
				return nil, fmt.Errorf("%s must change its password", username)
			}
			m.id = id
			return m, nil
		case err != nil:
			return nil, err
		}
		m.id = made.ID
		if _, _, err := m.s.signIn(ctx, username, initial); err != nil {
			return nil, err
		}
		if err := m.s.do(ctx, "POST", "/api/v1/me/password", map[string]string{"current_password": initial,
			"new_password": cfg.StudentPassword}, nil); err != nil {
			return nil, err
		}
		return m, nil
	}
	var err error
	c.teacher, err = account("lt.teacher", map[string]any{"roles": []string{"teacher"}, "school_id": school, "staff_no": "LT-T-1",
		"subject_ids": []int64{subject}, "grades": []int{3}})
	if err != nil {
		return nil, fmt.Errorf("the teacher's account: %w", err)
	}
	c.students = make([]*member, cfg.Subscribers)
	if err := parallel(ctx, cfg.Subscribers, 4, func(i int) error {
		m, err := account(fmt.Sprintf("lt.s%03d", i), map[string]any{"roles": []string{"student"}, "school_id": school,
			"student_no": fmt.Sprintf("LT-S-%03d", i), "grade": 3, "class": "1班"})
		c.students[i] = m
		if err != nil {
			return fmt.Errorf("student %d's account: %w", i, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var made struct {
		Items []struct {
			ID int64 `json:"id"`
		}
	}
	if err := c.admin.do(ctx, "POST", "/api/v1/classes", map[string]any{"title": "压测课 " + r.prefix, "subject_id": subject,
		"grade": 3, "teacher_id": c.teacher.id, "audience": "grade", "school_id": school, "planned_minutes": 90, "recording": false,
		"starts_at": time.Now().Add(time.Minute).Truncate(time.Minute).Format(time.RFC3339)}, &made); err != nil || len(made.Items) != 1 {
		return nil, fmt.Errorf("schedule the class: %v", err)
	}
	c.classID = made.Items[0].ID
	join := func(m *member) error {
		var j struct {
			Token, Identity, Room string
		}
		if err := m.s.do(ctx, "POST", fmt.Sprintf("/api/v1/classes/%d/join", c.classID), map[string]any{}, &j); err != nil {
			return fmt.Errorf("%s joins class %d: %w", m.username, c.classID, err)
		}
		m.token, m.identity, c.room = j.Token, j.Identity, j.Room
		return nil
	}
	if err := join(c.teacher); err != nil {
		return nil, err
	}
	if err := parallel(ctx, len(c.students), 8, func(i int) error { return join(c.students[i]) }); err != nil {
		return nil, err
	}
	c.tokens[fmt.Sprintf("%s-pub-0", r.prefix)] = c.teacher.token
	for i, m := range c.students {
		c.tokens[fmt.Sprintf("%s-sub-%d", r.prefix, i)] = m.token
	}
	c.setup = time.Since(start)
	r.log.Info("class set up", "class", c.classID, "room", c.room, "students", len(c.students), "took", c.setup.Round(time.Millisecond))
	return c, nil
}

// parallel runs f(0..n-1) on workers goroutines; the first error stops it.
func parallel(ctx context.Context, n, workers int, f func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

func (c *classRun) now() int64 { return int64(time.Since(c.r.epoch)) }

// onSignal watches student i's signal messages for the stage change.
func (c *classRun) onSignal(i int) func(*livekit.SignalResponse) {
	return func(m *livekit.SignalResponse) {
		u := m.GetUpdate()
		target := c.stageTarget.Load()
		if u == nil || target == nil || c.stageSeen[i].Load() != 0 {
			return
		}
		for _, p := range u.Participants {
			if p.Identity == *target && p.Permission.GetCanPublish() {
				c.stageSeen[i].Store(c.now())
				return
			}
		}
	}
}

// watchData reads student i's data packets: the poll's start (answered at
// once over HTTP) and chat.
func (c *classRun) watchData(ctx context.Context, i int, cl *client.Client) {
	for {
		var pkt *livekit.DataPacket
		select {
		case <-ctx.Done():
			return
		case pkt = <-cl.Data():
		}
		u := pkt.GetUser()
		switch u.GetTopic() {
		case "chat":
			c.chatReceived.Add(1)
		case classTopic:
			var ev struct {
				Type string `json:"type"`
				Poll struct {
					ID int64 `json:"id"`
				} `json:"poll"`
			}
			if json.Unmarshal(u.GetPayload(), &ev) != nil || ev.Type != "poll_started" || ev.Poll.ID != c.pollID.Load() {
				continue
			}
			if !c.pollSeen[i].CompareAndSwap(0, c.now()) {
				continue
			}
			c.answers.Add(1)
			go func() {
				defer c.answers.Done()
				err := c.students[i].s.do(ctx, "POST", fmt.Sprintf("/api/v1/classroom/polls/%d/answer", ev.Poll.ID),
					map[string]any{"choices": []int{i % 3}}, nil)
				if err != nil {
					c.answerFailed.Add(1)
					c.fail("answer the poll", err)
					return
				}
				c.answered.Add(1)
			}()
		}
	}
}

// chatters is how many students chat.
const chatters = 20

// chat sends message n from s.
func (c *classRun) chat(ctx context.Context, s *subscriber, n int) {
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("%s-%d", c.r.prefix, n), "message": fmt.Sprintf("消息 %d", n),
		"timestamp": time.Now().UnixMilli()})
	if err := s.c.SendData(ctx, b, client.DataOptions{Reliable: true, Topic: "chat"}); err != nil {
		c.chatFailed.Add(1)
		c.fail("chat", err)
		return
	}
	c.chatSent.Add(1)
}

// prepareChat has each chatting student say hello before the steady
// window: a client's first data packet negotiates its publisher
// connection, as a browser's first chat message does.
func (c *classRun) prepareChat(ctx context.Context, subs []*subscriber) {
	if c.r.cfg.ChatRate <= 0 {
		return
	}
	_ = parallel(ctx, min(len(subs), chatters), chatters, func(i int) error {
		c.chat(ctx, subs[i], -1-i)
		return nil
	})
}

// drive runs the class's controls over the steady window: chat at
// ChatRate from the students, hands, the stage, a poll.
func (c *classRun) drive(ctx context.Context, subs []*subscriber) {
	cfg := c.r.cfg
	var wg sync.WaitGroup
	if cfg.ChatRate > 0 && len(subs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := time.NewTicker(time.Duration(float64(time.Second) / cfg.ChatRate))
			defer tk.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				wg.Add(1)
				go func() { // a slow send does not hold the next one up
					defer wg.Done()
					c.chat(ctx, subs[n%min(len(subs), chatters)], n)
				}()
			}
		}()
	}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	defer wg.Wait()
	teacher := c.teacher.s
	room := "/api/v1/classroom/rooms/" + c.room
	if !sleep(time.Second) {
		return
	}
	_ = parallel(ctx, min(cfg.Hands, len(c.students)), 8, func(i int) error {
		if err := c.students[i].s.do(ctx, "PUT", room+"/hand", map[string]any{"raised": true}, nil); err != nil {
			c.handsFailed.Add(1)
			c.fail("raise a hand", err)
		} else {
			c.handsRaised.Add(1)
		}
		return nil
	})
	if !sleep(time.Second) {
		return
	}
	// The first hand comes on stage.
	target := c.students[0].identity
	c.stageTarget.Store(&target)
	c.stageAt.Store(c.now())
	if err := teacher.do(ctx, "PUT", room+"/participants/"+target+"/stage", map[string]any{"on_stage": true}, nil); err != nil {
		c.fail("bring a student on stage", err)
	}
	if !sleep(2 * time.Second) {
		return
	}
	var poll struct {
		ID int64 `json:"id"`
	}
	if err := teacher.do(ctx, "POST", room+"/polls", map[string]any{"question": "1/2 + 1/3 = ?", "options": []string{"5/6", "2/5", "1/6"},
		"correct": []int{0}}, &poll); err != nil {
		c.fail("create a poll", err)
		return
	}
	c.pollID.Store(poll.ID)
	c.pollAt.Store(c.now())
	if err := teacher.do(ctx, "POST", fmt.Sprintf("/api/v1/classroom/polls/%d/start", poll.ID), map[string]any{}, nil); err != nil {
		c.fail("start the poll", err)
		return
	}
}

// finish waits for the answers, ends the class and reads its record.
func (c *classRun) finish(ctx context.Context) {
	c.answers.Wait()
	if id := c.pollID.Load(); id != 0 {
		if err := c.teacher.s.do(ctx, "POST", fmt.Sprintf("/api/v1/classroom/polls/%d/end", id), map[string]any{}, nil); err != nil {
			c.fail("end the poll", err)
		}
	}
	if err := c.teacher.s.do(ctx, "POST", fmt.Sprintf("/api/v1/classes/%d/end", c.classID), map[string]any{}, nil); err != nil {
		c.fail("end the class", err)
	}
	var rec struct {
		Attendees []struct {
			PollAnswers int64 `json:"poll_answers"`
			Hands       int64 `json:"hands"`
		} `json:"attendees"`
	}
	if err := c.teacher.s.do(ctx, "GET", fmt.Sprintf("/api/v1/classes/%d/record", c.classID), nil, &rec); err != nil {
		c.recordErr = err
		return
	}
	for _, a := range rec.Attendees {
		c.recordPollAnswers.Add(a.PollAnswers)
	}
}

// ClassSummary is what the class scenario measured.
type ClassSummary struct {
	ClassID      int64    `json:"class_id"`
	Students     int      `json:"students"`
	SetupSeconds float64  `json:"setup_seconds"`
	HandsRaised  int64    `json:"hands_raised"`
	HandsFailed  int64    `json:"hands_failed"`
	StageReached int      `json:"stage_reached"`
	StageP50Ms   float64  `json:"stage_p50_ms"`
	StageP95Ms   float64  `json:"stage_p95_ms"`
	StageMaxMs   float64  `json:"stage_max_ms"`
	PollReached  int      `json:"poll_reached"`
	PollP50Ms    float64  `json:"poll_p50_ms"`
	PollP95Ms    float64  `json:"poll_p95_ms"`
	PollMaxMs    float64  `json:"poll_max_ms"`
	PollAnswered int64    `json:"poll_answered"`
	PollFailed   int64    `json:"poll_answer_failed"`
	RecordPolls  int64    `json:"record_poll_answers"`
	RecordError  string   `json:"record_error,omitempty"`
	ChatSent     int64    `json:"chat_sent"`
	ChatFailed   int64    `json:"chat_failed"`
	ChatReceived int64    `json:"chat_received"`
	ChatExpected int64    `json:"chat_expected"`
	DataDropped  uint64   `json:"data_dropped"`
	Errors       []string `json:"errors,omitempty"`
}

// reach sums up when an event sent at at reached each student (0: never).
func reach(at int64, seen []atomic.Int64) (n int, p50, p95, maxD time.Duration) {
	var ds []time.Duration
	for i := range seen {
		if v := seen[i].Load(); v != 0 && at != 0 {
			ds = append(ds, time.Duration(v-at))
		}
	}
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(ds)
	q := func(f float64) time.Duration { return ds[min(len(ds)-1, int(f*float64(len(ds))))] }
	return len(ds), q(0.5), q(0.95), ds[len(ds)-1]
}

func (c *classRun) summary(subs []*subscriber) *ClassSummary {
	s := &ClassSummary{ClassID: c.classID, Students: len(c.students), SetupSeconds: c.setup.Seconds(),
		HandsRaised: c.handsRaised.Load(), HandsFailed: c.handsFailed.Load(),
		PollAnswered: c.answered.Load(), PollFailed: c.answerFailed.Load(), RecordPolls: c.recordPollAnswers.Load(),
		ChatSent: c.chatSent.Load(), ChatFailed: c.chatFailed.Load(), ChatReceived: c.chatReceived.Load()}
	var p50, p95, mx time.Duration
	s.StageReached, p50, p95, mx = reach(c.stageAt.Load(), c.stageSeen)
	s.StageP50Ms, s.StageP95Ms, s.StageMaxMs = ms(p50), ms(p95), ms(mx)
	s.PollReached, p50, p95, mx = reach(c.pollAt.Load(), c.pollSeen)
	s.PollP50Ms, s.PollP95Ms, s.PollMaxMs = ms(p50), ms(p95), ms(mx)
	// Every chat message reaches every other student (not the teacher's
	// load-tool client, which does not read data).
	s.ChatExpected = s.ChatSent * int64(max(len(subs)-1, 0))
	for _, sub := range subs {
		s.DataDropped += sub.c.DataDropped()
	}
	if c.recordErr != nil {
		s.RecordError = c.recordErr.Error()
	}
	c.firstErrMu.Lock()
	s.Errors = c.firstErrs
	c.firstErrMu.Unlock()
	return s
}

func (s *ClassSummary) print(w io.Writer) {
	fmt.Fprintf(w, "class %d: %d students (set up in %.1fs); hands raised %d (%d failed)\n",
		s.ClassID, s.Students, s.SetupSeconds, s.HandsRaised, s.HandsFailed)
	fmt.Fprintf(w, "stage (permission change) reached %d students: p50 %.1f ms, p95 %.1f ms, max %.1f ms\n",
		s.StageReached, s.StageP50Ms, s.StageP95Ms, s.StageMaxMs)
	fmt.Fprintf(w, "poll start reached %d students: p50 %.1f ms, p95 %.1f ms, max %.1f ms; answered %d (%d failed), %d in the record\n",
		s.PollReached, s.PollP50Ms, s.PollP95Ms, s.PollMaxMs, s.PollAnswered, s.PollFailed, s.RecordPolls)
	fmt.Fprintf(w, "chat: %d sent (%d failed), %d of %d deliveries received, %d data packets dropped by full client buffers\n",
		s.ChatSent, s.ChatFailed, s.ChatReceived, s.ChatExpected, s.DataDropped)
	if s.RecordError != "" {
		fmt.Fprintf(w, "record: %s\n", s.RecordError)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
}
