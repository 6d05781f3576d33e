package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The rest of a class's record: talk time (written by the node hosting the
// room as people speak) and, counted from the classroom tables of the
// class's room, hands raised, chat messages and poll answers.

// TalkDelta is speaking time heard from one person in a class since the
// last write.
type TalkDelta struct {
	ClassID ClassID
	UserID  UserID
	Talk    time.Duration
	At      time.Time
}

// AddClassTalk adds speaking time to people's totals in classes, in one
// transaction; deltas of unknown classes or accounts are skipped.
func (s *Store) AddClassTalk(ctx context.Context, ds []TalkDelta) error {
	if len(ds) == 0 {
		return nil
	}
	err := s.tx(ctx, func(q querier) error {
		for _, d := range ds {
			if d.Talk <= 0 {
				continue
			}
			if _, err := q.exec(ctx, `INSERT INTO class_talk (class_id, user_id, talk_ms, updated_at)
				SELECT CAST($1 AS BIGINT), CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS BIGINT)
				WHERE EXISTS (SELECT 1 FROM classes WHERE id = $1) AND EXISTS (SELECT 1 FROM users WHERE id = $2)
				ON CONFLICT (class_id, user_id) DO UPDATE SET talk_ms = class_talk.talk_ms + excluded.talk_ms,
					updated_at = excluded.updated_at`,
				int64(d.ClassID), int64(d.UserID), d.Talk.Milliseconds(), ms(d.At)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: add class talk: %w", err)
	}
	return nil
}

// Participation is what one account did in a class besides being there.
type Participation struct {
	Talk        time.Duration
	Hands       int // hands raised
	Messages    int // chat messages sent (deleted ones too)
	PollAnswers int // polls answered
	QuizAnswers int // answers to polls with a correct answer
	Correct     int // of those, the correct ones
}

// ClassParticipation sums up, per account, the talk time of a class and
// what its room saw from the class's actual start until its end (zero
// until: no end yet): hands raised, messages sent and poll answers. A
// class that never started has only its talk time.
func (s *Store) ClassParticipation(ctx context.Context, id ClassID, room string, from, until time.Time) (map[UserID]*Participation, error) {
	out := map[UserID]*Participation{}
	get := func(u UserID) *Participation {
		p := out[u]
		if p == nil {
			p = &Participation{}
			out[u] = p
		}
		return p
	}
	wrap := func(err error) error { return fmt.Errorf("storage: participation in class %d: %w", id, err) }
	rs, err := s.r().query(ctx, `SELECT user_id, talk_ms FROM class_talk WHERE class_id = $1`, int64(id))
	if err != nil {
		return nil, wrap(err)
	}
	for rs.Next() {
		var u UserID
		var talk int64
		if err := rs.Scan(&u, &talk); err != nil {
			rs.Close()
			return nil, wrap(err)
		}
		get(u).Talk = time.Duration(talk) * time.Millisecond
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, wrap(err)
	}
	if from.IsZero() {
		return out, nil
	}
	end := int64(1<<62 - 1)
	if !until.IsZero() {
		end = ms(until)
	}
	counts := []struct {
		sql string
		add func(*Participation, int)
	}{
		{`SELECT user_id, COUNT(*) FROM classroom_hand_events WHERE room = $1 AND kind = 'raised' AND at >= $2 AND at <= $3
			AND user_id <> 0 GROUP BY user_id`, func(p *Participation, n int) { p.Hands = n }},
		{`SELECT user_id, COUNT(*) FROM classroom_chat WHERE room = $1 AND sent_at >= $2 AND sent_at <= $3
			AND user_id <> 0 GROUP BY user_id`, func(p *Participation, n int) { p.Messages = n }},
	}
	for _, c := range counts {
		rs, err := s.r().query(ctx, c.sql, room, ms(from), end)
		if err != nil {
			return nil, wrap(err)
		}
		for rs.Next() {
			var u UserID
			var n int
			if err := rs.Scan(&u, &n); err != nil {
				rs.Close()
				return nil, wrap(err)
			}
			c.add(get(u), n)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, wrap(err)
		}
	}
	rs, err = s.r().query(ctx, `SELECT a.user_id, a.choices, p.correct FROM classroom_poll_answers a
		JOIN classroom_polls p ON p.id = a.poll_id
		WHERE p.room = $1 AND a.answered_at >= $2 AND a.answered_at <= $3`, room, ms(from), end)
	if err != nil {
		return nil, wrap(err)
	}
	defer rs.Close()
	for rs.Next() {
		var u UserID
		var choices, correct string
		if err := rs.Scan(&u, &choices, &correct); err != nil {
			return nil, wrap(err)
		}
		var got, want []int
		if err := json.Unmarshal([]byte(choices), &got); err != nil {
			return nil, wrap(err)
		}
		if err := json.Unmarshal([]byte(correct), &want); err != nil {
			return nil, wrap(err)
		}
		p := get(u)
		p.PollAnswers++
		if len(want) == 0 {
			continue
		}
		p.QuizAnswers++
		slices.Sort(got)
		slices.Sort(want)
		if slices.Equal(slices.Compact(got), slices.Compact(want)) {
			p.Correct++
		}
	}
	if err := rs.Err(); err != nil {
		return nil, wrap(err)
	}
	return out, nil
}
