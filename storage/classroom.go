package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Classroom controls: the chat of a room (every message kept, a deleted one
// hidden and kept for audit), polls and their answers (one per account,
// enforced by the key), hands raised and lowered, and the identities
// removed from a room and kept out of it. Rooms are named as signaling
// names them; the domain decides who may do what.

// ChatMessageID identifies a stored chat message.
type ChatMessageID int64

// PollID identifies a poll.
type PollID int64

// PollStatus is where a poll stands.
type PollStatus string

const (
	PollDraft   PollStatus = "draft"   // created, not yet asked
	PollRunning PollStatus = "running" // students may answer
	PollEnded   PollStatus = "ended"   // ended by the teacher or its time limit
)

// ClassroomPlace is where a room's activity is counted (0s when unknown).
type ClassroomPlace struct {
	DistrictID DistrictID
	SchoolID   SchoolID
}

// ChatMessage is one stored chat message.
type ChatMessage struct {
	ID        ChatMessageID `json:"id"`
	Room      string        `json:"room"`
	MsgID     string        `json:"msg_id"`
	Identity  string        `json:"identity"`
	UserID    UserID        `json:"user_id,omitempty"`
	Name      string        `json:"name"`
	Message   string        `json:"message"`
	SentAt    time.Time     `json:"sent_at"`
	Deleted   bool          `json:"deleted,omitempty"`
	DeletedAt *time.Time    `json:"deleted_at,omitempty"`
	DeletedBy UserID        `json:"deleted_by,omitempty"`
}

// Poll is a poll or quiz of a room.
type Poll struct {
	ID         PollID     `json:"id"`
	Room       string     `json:"room"`
	CreatedBy  UserID     `json:"created_by"`
	Question   string     `json:"question"`
	Options    []string   `json:"options"`
	Multiple   bool       `json:"multiple"`
	Correct    []int      `json:"correct,omitempty"`
	TimeLimitS int        `json:"time_limit_s"`
	Status     PollStatus `json:"status"`
	Shown      bool       `json:"shown"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndsAt     *time.Time `json:"ends_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
}

// PollAnswer is one account's answer to a poll.
type PollAnswer struct {
	UserID     UserID    `json:"user_id"`
	Identity   string    `json:"identity"`
	Choices    []int     `json:"choices"`
	AnsweredAt time.Time `json:"answered_at"`
}

// HandEvent is a hand raised or lowered, or a participant brought on stage or back.
type HandEvent struct {
	Room     string
	Identity string
	UserID   UserID
	Kind     string // raised, lowered, stage_on, stage_off
	ByUser   UserID
	At       time.Time
}

// participantSubject names a participant in activity: "user:<id>" for an
// account's identity (u<id>), else "participant:<identity>".
func participantSubject(identity string) string {
	if rest, ok := strings.CutPrefix(identity, "u"); ok {
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n > 0 && strconv.FormatInt(n, 10) == rest {
			return "user:" + rest
		}
	}
	return "participant:" + identity
}

func optTime(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := fromMS(v)
	return &t
}

// AddChatMessage stores a chat message as it was sent.
func (s *Store) AddChatMessage(ctx context.Context, m ChatMessage) (ChatMessageID, error) {
	var id ChatMessageID
	err := s.tx(ctx, func(q querier) error {
		return q.queryRow(ctx, `INSERT INTO classroom_chat (room, msg_id, identity, user_id, name, message, sent_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			m.Room, m.MsgID, m.Identity, int64(m.UserID), m.Name, m.Message, ms(m.SentAt)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("storage: add chat message: %w", err)
	}
	return id, nil
}

const chatCols = `id, room, msg_id, identity, user_id, name, message, sent_at, deleted_at, deleted_by`

func scanChat(r row) (ChatMessage, error) {
	var m ChatMessage
	var sent, deleted int64
	err := r.Scan(&m.ID, &m.Room, &m.MsgID, &m.Identity, &m.UserID, &m.Name, &m.Message, &sent, &deleted, &m.DeletedBy)
	m.SentAt, m.DeletedAt, m.Deleted = fromMS(sent), optTime(deleted), deleted != 0
	return m, err
}

// ChatHistory lists a room's messages sent at or after since with an id
// above after, oldest first, at most limit; deleted ones only when
// withDeleted.
func (s *Store) ChatHistory(ctx context.Context, room string, since time.Time, after ChatMessageID, limit int, withDeleted bool) ([]ChatMessage, error) {
	q := `SELECT ` + chatCols + ` FROM classroom_chat WHERE room = $1 AND id > $2 AND sent_at >= $3`
	if !withDeleted {
		q += ` AND deleted_at = 0`
	}
	q += ` ORDER BY id LIMIT $4`
	rs, err := s.r().query(ctx, q, room, int64(after), ms(since), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: chat history: %w", err)
	}
	defer rs.Close()
	out := []ChatMessage{}
	for rs.Next() {
		m, err := scanChat(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: chat history: %w", err)
		}
		out = append(out, m)
	}
	return out, rs.Err()
}

// GetChatMessage returns one message of a room (ErrNotFound otherwise).
func (s *Store) GetChatMessage(ctx context.Context, room string, id ChatMessageID) (ChatMessage, error) {
	m, err := scanChat(s.r().queryRow(ctx, `SELECT `+chatCols+` FROM classroom_chat WHERE id = $1 AND room = $2`, int64(id), room))
	if isNoRows(err) {
		return ChatMessage{}, ErrNotFound
	}
	if err != nil {
		return ChatMessage{}, fmt.Errorf("storage: get chat message: %w", err)
	}
	return m, nil
}

// DeleteChatMessage hides a room's message (it stays, for audit), with its
// activity row. Deleting a deleted message changes nothing.
func (s *Store) DeleteChatMessage(ctx context.Context, a Actor, where ClassroomPlace, room string, id ChatMessageID) (ChatMessage, error) {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE classroom_chat SET deleted_at = $1, deleted_by = $2 WHERE id = $3 AND room = $4 AND deleted_at = 0`,
			ms(s.now()), int64(a.UserID), int64(id), room)
		if err != nil || n == 0 {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "classroom.chat_delete", DistrictID: where.DistrictID, SchoolID: where.SchoolID,
			Subject: "chat:" + itoa(id), RoomID: room}, nil, nil)
	})
	if err != nil {
		return ChatMessage{}, fmt.Errorf("storage: delete chat message: %w", err)
	}
	return s.GetChatMessage(ctx, room, id)
}

// CreatePoll stores a new poll (a draft) with its activity row.
func (s *Store) CreatePoll(ctx context.Context, a Actor, where ClassroomPlace, p Poll) (Poll, error) {
	opts, _ := json.Marshal(p.Options)
	correct, _ := json.Marshal(append([]int{}, p.Correct...))
	var id PollID
	err := s.tx(ctx, func(q querier) error {
		if err := q.queryRow(ctx, `INSERT INTO classroom_polls (room, created_by, question, options, multiple, correct, time_limit_s, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8) RETURNING id`,
			p.Room, int64(a.UserID), p.Question, string(opts), p.Multiple, string(correct), p.TimeLimitS, ms(s.now())).Scan(&id); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "classroom.poll_create", DistrictID: where.DistrictID, SchoolID: where.SchoolID,
			Subject: "poll:" + itoa(id), RoomID: p.Room}, map[string]any{"options": len(p.Options), "quiz": len(p.Correct) > 0}, nil)
	})
	if err != nil {
		return Poll{}, fmt.Errorf("storage: create poll: %w", err)
	}
	return s.GetPoll(ctx, id)
}

const pollCols = `id, room, created_by, question, options, multiple, correct, time_limit_s, status, shown, created_at, started_at, ends_at, ended_at`

func scanPoll(r row) (Poll, error) {
	var p Poll
	var opts, correct, status string
	var created, started, ends, ended int64
	if err := r.Scan(&p.ID, &p.Room, &p.CreatedBy, &p.Question, &opts, &p.Multiple, &correct, &p.TimeLimitS, &status, &p.Shown,
		&created, &started, &ends, &ended); err != nil {
		return Poll{}, err
	}
	if err := json.Unmarshal([]byte(opts), &p.Options); err != nil {
		return Poll{}, fmt.Errorf("poll %d options: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(correct), &p.Correct); err != nil {
		return Poll{}, fmt.Errorf("poll %d correct: %w", p.ID, err)
	}
	p.Status = PollStatus(status)
	p.CreatedAt, p.StartedAt, p.EndsAt, p.EndedAt = fromMS(created), optTime(started), optTime(ends), optTime(ended)
	return p, nil
}

// GetPoll returns a poll.
func (s *Store) GetPoll(ctx context.Context, id PollID) (Poll, error) {
	p, err := scanPoll(s.r().queryRow(ctx, `SELECT `+pollCols+` FROM classroom_polls WHERE id = $1`, int64(id)))
	if isNoRows(err) {
		return Poll{}, ErrNotFound
	}
	if err != nil {
		return Poll{}, fmt.Errorf("storage: get poll: %w", err)
	}
	return p, nil
}

// ListPolls lists a room's polls created at or after since, oldest first.
func (s *Store) ListPolls(ctx context.Context, room string, since time.Time) ([]Poll, error) {
	rs, err := s.r().query(ctx, `SELECT `+pollCols+` FROM classroom_polls WHERE room = $1 AND created_at >= $2 ORDER BY id LIMIT 500`, room, ms(since))
	if err != nil {
		return nil, fmt.Errorf("storage: list polls: %w", err)
	}
	defer rs.Close()
	out := []Poll{}
	for rs.Next() {
		p, err := scanPoll(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: list polls: %w", err)
		}
		out = append(out, p)
	}
	return out, rs.Err()
}

// TimedPolls lists the running polls with a time limit, in every room,
// soonest ending first (at most 1000): a starting server ends them on time.
func (s *Store) TimedPolls(ctx context.Context) ([]Poll, error) {
	rs, err := s.r().query(ctx, `SELECT `+pollCols+` FROM classroom_polls WHERE status = 'running' AND ends_at > 0 ORDER BY ends_at, id LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("storage: timed polls: %w", err)
	}
	defer rs.Close()
	out := []Poll{}
	for rs.Next() {
		p, err := scanPoll(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: timed polls: %w", err)
		}
		out = append(out, p)
	}
	return out, rs.Err()
}

// StartPoll opens a draft poll for answers until endsAt (zero: until it is
// ended); ErrClosed when it is not a draft.
func (s *Store) StartPoll(ctx context.Context, a Actor, where ClassroomPlace, id PollID, endsAt time.Time) (Poll, error) {
	err := s.tx(ctx, func(q querier) error {
		var ends int64
		if !endsAt.IsZero() {
			ends = ms(endsAt)
		}
		n, err := q.exec(ctx, `UPDATE classroom_polls SET status = 'running', started_at = $1, ends_at = $2 WHERE id = $3 AND status = 'draft'`,
			ms(s.now()), ends, int64(id))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		var room string
		if err := q.queryRow(ctx, `SELECT room FROM classroom_polls WHERE id = $1`, int64(id)).Scan(&room); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "classroom.poll_start", DistrictID: where.DistrictID, SchoolID: where.SchoolID,
			Subject: "poll:" + itoa(id), RoomID: room}, nil, nil)
	})
	if err != nil {
		return Poll{}, fmt.Errorf("storage: start poll: %w", err)
	}
	return s.GetPoll(ctx, id)
}

// EndPoll ends a running poll (ErrClosed when it is not running).
func (s *Store) EndPoll(ctx context.Context, id PollID) (Poll, error) {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE classroom_polls SET status = 'ended', ended_at = $1 WHERE id = $2 AND status = 'running'`, ms(s.now()), int64(id))
		if err == nil && n == 0 {
			err = ErrClosed
		}
		return err
	})
	if err != nil {
		return Poll{}, fmt.Errorf("storage: end poll: %w", err)
	}
	return s.GetPoll(ctx, id)
}

// ShowPoll marks a poll's results as shown to the room.
func (s *Store) ShowPoll(ctx context.Context, id PollID) (Poll, error) {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE classroom_polls SET shown = TRUE WHERE id = $1 AND status <> 'draft'`, int64(id))
		if err == nil && n == 0 {
			err = ErrClosed
		}
		return err
	})
	if err != nil {
		return Poll{}, fmt.Errorf("storage: show poll: %w", err)
	}
	return s.GetPoll(ctx, id)
}

// AnswerPoll records an account's answer: ErrClosed when the poll is not
// running or its time is up, ErrDuplicate when the account has answered.
func (s *Store) AnswerPoll(ctx context.Context, id PollID, ans PollAnswer) error {
	choices, _ := json.Marshal(ans.Choices)
	err := s.tx(ctx, func(q querier) error {
		var status string
		var ends int64
		err := q.queryRow(ctx, `SELECT status, ends_at FROM classroom_polls WHERE id = $1`, int64(id)).Scan(&status, &ends)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if PollStatus(status) != PollRunning || (ends != 0 && ms(ans.AnsweredAt) >= ends) {
			return ErrClosed
		}
		n, err := q.exec(ctx, `INSERT INTO classroom_poll_answers (poll_id, user_id, identity, choices, answered_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (poll_id, user_id) DO NOTHING`,
			int64(id), int64(ans.UserID), ans.Identity, string(choices), ms(ans.AnsweredAt))
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: this poll has been answered by this account", ErrDuplicate)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: answer poll: %w", err)
	}
	return nil
}

// PollAnswers lists a poll's answers, first answered first.
func (s *Store) PollAnswers(ctx context.Context, id PollID) ([]PollAnswer, error) {
	rs, err := s.r().query(ctx, `SELECT user_id, identity, choices, answered_at FROM classroom_poll_answers WHERE poll_id = $1 ORDER BY answered_at, user_id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("storage: poll answers: %w", err)
	}
	defer rs.Close()
	out := []PollAnswer{}
	for rs.Next() {
		var a PollAnswer
		var choices string
		var at int64
		if err := rs.Scan(&a.UserID, &a.Identity, &choices, &at); err != nil {
			return nil, fmt.Errorf("storage: poll answers: %w", err)
		}
		if err := json.Unmarshal([]byte(choices), &a.Choices); err != nil {
			return nil, fmt.Errorf("storage: poll answers: %w", err)
		}
		a.AnsweredAt = fromMS(at)
		out = append(out, a)
	}
	return out, rs.Err()
}

// AddHandEvent records a hand raised or lowered, or a stage change; a
// stage change made by someone (ByUser) also writes its activity row.
func (s *Store) AddHandEvent(ctx context.Context, where ClassroomPlace, e HandEvent) error {
	err := s.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `INSERT INTO classroom_hand_events (room, identity, user_id, kind, by_user, at) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.Room, e.Identity, int64(e.UserID), e.Kind, int64(e.ByUser), ms(e.At)); err != nil {
			return err
		}
		if e.Kind != "stage_on" && e.Kind != "raised" {
			return nil
		}
		return s.appendActivity(ctx, q, Activity{At: e.At, ActorID: e.ByUser, Action: "classroom." + e.Kind, DistrictID: where.DistrictID,
			SchoolID: where.SchoolID, Subject: participantSubject(e.Identity), RoomID: e.Room}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: hand event: %w", err)
	}
	return nil
}

// HandEvents lists a room's hand events at or after since, in order.
func (s *Store) HandEvents(ctx context.Context, room string, since time.Time) ([]HandEvent, error) {
	rs, err := s.r().query(ctx, `SELECT room, identity, user_id, kind, by_user, at FROM classroom_hand_events WHERE room = $1 AND at >= $2 ORDER BY id LIMIT 10000`, room, ms(since))
	if err != nil {
		return nil, fmt.Errorf("storage: hand events: %w", err)
	}
	defer rs.Close()
	var out []HandEvent
	for rs.Next() {
		var e HandEvent
		var at int64
		if err := rs.Scan(&e.Room, &e.Identity, &e.UserID, &e.Kind, &e.ByUser, &at); err != nil {
			return nil, fmt.Errorf("storage: hand events: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rs.Err()
}

// BanFromRoom keeps identity out of room from now on (a second ban renews
// the first), with its activity row.
func (s *Store) BanFromRoom(ctx context.Context, a Actor, where ClassroomPlace, room, identity string) error {
	err := s.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `INSERT INTO classroom_bans (room, identity, by_user, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (room, identity) DO UPDATE SET at = excluded.at, by_user = excluded.by_user`,
			room, identity, int64(a.UserID), ms(s.now())); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "classroom.remove", DistrictID: where.DistrictID, SchoolID: where.SchoolID,
			Subject: participantSubject(identity), RoomID: room}, nil, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: ban from room: %w", err)
	}
	return nil
}

// UnbanFromRoom lets identity into room again (ErrNotFound when it was not kept out).
func (s *Store) UnbanFromRoom(ctx context.Context, room, identity string) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `DELETE FROM classroom_bans WHERE room = $1 AND identity = $2`, room, identity)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: unban from room: %w", err)
	}
	return nil
}

// IsBanned reports whether identity was kept out of room at or after since.
func (s *Store) IsBanned(ctx context.Context, room, identity string, since time.Time) (bool, error) {
	var n int
	if err := s.r().queryRow(ctx, `SELECT COUNT(*) FROM classroom_bans WHERE room = $1 AND identity = $2 AND at >= $3`,
		room, identity, ms(since)).Scan(&n); err != nil {
		return false, fmt.Errorf("storage: is banned: %w", err)
	}
	return n > 0, nil
}
