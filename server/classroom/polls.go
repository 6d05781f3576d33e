package classroom

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"yunke/server/httpapi"
	"yunke/signaling"
	"yunke/storage"
)

// Limits of a poll.
const (
	MaxPollQuestion  = 500 // characters
	MaxPollOption    = 200 // characters
	MinPollOptions   = 2
	MaxPollOptions   = 10
	MaxPollTimeLimit = 3600 // seconds
)

// pollInput is a poll as the teacher writes it.
type pollInput struct {
	Question   string   `json:"question"`
	Options    []string `json:"options"`
	Multiple   bool     `json:"multiple"`
	Correct    []int    `json:"correct"`
	TimeLimitS int      `json:"time_limit_s"`
}

// check validates in.
func (in *pollInput) check() error {
	f := httpapi.Fields{}
	in.Question = strings.TrimSpace(in.Question)
	httpapi.CheckText(f, "question", &in.Question, 1, MaxPollQuestion)
	if len(in.Options) < MinPollOptions || len(in.Options) > MaxPollOptions {
		f.Add("options", fmt.Sprintf("give %d to %d options", MinPollOptions, MaxPollOptions))
	}
	for i := range in.Options {
		in.Options[i] = strings.TrimSpace(in.Options[i])
		if in.Options[i] == "" || utf8.RuneCountInString(in.Options[i]) > MaxPollOption || !utf8.ValidString(in.Options[i]) {
			f.Add("options", fmt.Sprintf("each option is 1 to %d characters", MaxPollOption))
			break
		}
	}
	if err := checkChoices(in.Correct, len(in.Options), in.Multiple, true); err != "" {
		f.Add("correct", err)
	}
	if in.TimeLimitS < 0 || in.TimeLimitS > MaxPollTimeLimit {
		f.Add("time_limit_s", fmt.Sprintf("0 (none) to %d seconds", MaxPollTimeLimit))
	}
	return f.Err()
}

// checkChoices says what is wrong with choices of n options ("" if nothing).
func checkChoices(choices []int, n int, multiple, mayBeEmpty bool) string {
	switch {
	case len(choices) == 0 && mayBeEmpty:
		return ""
	case len(choices) == 0:
		return "choose at least one option"
	case !multiple && len(choices) > 1:
		return "choose one option"
	case len(choices) > n:
		return "too many choices"
	}
	seen := map[int]bool{}
	for _, c := range choices {
		if c < 0 || c >= n || seen[c] {
			return "each choice is the index of a different option"
		}
		seen[c] = true
	}
	return ""
}

// PollView is a poll as a participant sees it: the correct answer only
// once the results are shown (or to the teacher).
type PollView struct {
	storage.Poll
	// MyChoices are the caller's answer, if any.
	MyChoices []int `json:"my_choices,omitempty"`
}

// Results are a poll's answers counted.
type Results struct {
	Poll    storage.Poll `json:"poll"`
	Answers int          `json:"answers"`
	// Counts holds, per option, how many chose it.
	Counts []int `json:"counts"`
	// CorrectAnswers is how many chose exactly the correct options (quizzes).
	CorrectAnswers int `json:"correct_answers"`
}

func (s *Service) results(ctx context.Context, p storage.Poll) (Results, error) {
	answers, err := s.store.PollAnswers(ctx, p.ID)
	if err != nil {
		return Results{}, err
	}
	res := Results{Poll: p, Answers: len(answers), Counts: make([]int, len(p.Options))}
	want := slices.Sorted(slices.Values(p.Correct))
	for _, a := range answers {
		for _, c := range a.Choices {
			if c >= 0 && c < len(res.Counts) {
				res.Counts[c]++
			}
		}
		if len(want) > 0 && slices.Equal(slices.Sorted(slices.Values(a.Choices)), want) {
			res.CorrectAnswers++
		}
	}
	return res, nil
}

// hideAnswer is p without its correct answer, for students.
func hideAnswer(p storage.Poll) storage.Poll {
	if !p.Shown {
		p.Correct = nil
	}
	return p
}

// pollEvent is what the classroom sends about a poll on Topic.
type pollEvent struct {
	Type    string        `json:"type"` // poll_started, poll_ended, poll_results, chat_deleted
	Poll    *storage.Poll `json:"poll,omitempty"`
	Results *Results      `json:"results,omitempty"`
	// ChatID and MsgID name a deleted chat message.
	ChatID storage.ChatMessageID `json:"chat_id,omitempty"`
	MsgID  string                `json:"msg_id,omitempty"`
}

// pushResults sends the live results to the room's teacher and assistants
// (and to everyone once they are shown).
func (s *Service) pushResults(ctx context.Context, p storage.Poll) {
	res, err := s.results(ctx, p)
	if err != nil {
		s.log.Error("poll results", "poll", p.ID, "err", err)
		return
	}
	room := signaling.RoomName(p.Room)
	if p.Shown {
		s.send(room, pollEvent{Type: "poll_results", Poll: &res.Poll, Results: &res})
		return
	}
	if to := s.moderators(room); len(to) > 0 {
		s.send(room, pollEvent{Type: "poll_results", Poll: &res.Poll, Results: &res}, to...)
	}
}

// startPoll opens a draft and ends it at its time limit.
func (s *Service) startPoll(ctx context.Context, c caller, a storage.Actor, p storage.Poll) (storage.Poll, error) {
	var ends time.Time
	if p.TimeLimitS > 0 {
		ends = s.now().Add(time.Duration(p.TimeLimitS) * time.Second)
	}
	p, err := s.store.StartPoll(ctx, a, c.place, p.ID, ends)
	if errors.Is(err, storage.ErrClosed) {
		return storage.Poll{}, errPollState
	}
	if err != nil {
		return storage.Poll{}, err
	}
	if p.TimeLimitS > 0 {
		s.armPoll(p.ID, time.Duration(p.TimeLimitS)*time.Second)
	}
	view := hideAnswer(p)
	s.send(signaling.RoomName(p.Room), pollEvent{Type: "poll_started", Poll: &view})
	return p, nil
}

// armPoll ends the running poll id after d.
func (s *Service) armPoll(id storage.PollID, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.pollTimers[id]; t != nil {
		t.Stop()
	}
	s.pollTimers[id] = time.AfterFunc(max(d, 0), func() {
		s.mu.Lock()
		delete(s.pollTimers, id)
		s.mu.Unlock()
		if _, err := s.endPoll(context.Background(), id); err != nil && !errors.Is(err, errPollState) {
			s.log.Error("poll not ended at its time limit", "poll", id, "err", err)
		}
	})
}

// Restore arms again the time limits of the polls that were running when
// the server stopped: one whose time is up ends now.
func (s *Service) Restore(ctx context.Context) error {
	ps, err := s.store.TimedPolls(ctx)
	if err != nil {
		return fmt.Errorf("restore poll timers: %w", err)
	}
	now := s.now()
	for _, p := range ps {
		if p.EndsAt != nil {
			s.armPoll(p.ID, p.EndsAt.Sub(now))
		}
	}
	return nil
}

// endPoll closes a running poll and tells the room.
func (s *Service) endPoll(ctx context.Context, id storage.PollID) (storage.Poll, error) {
	p, err := s.store.EndPoll(ctx, id)
	if errors.Is(err, storage.ErrClosed) {
		return storage.Poll{}, errPollState
	}
	if err != nil {
		return storage.Poll{}, err
	}
	s.mu.Lock()
	if t := s.pollTimers[id]; t != nil {
		t.Stop()
		delete(s.pollTimers, id)
	}
	s.mu.Unlock()
	view := hideAnswer(p)
	s.send(signaling.RoomName(p.Room), pollEvent{Type: "poll_ended", Poll: &view})
	s.pushResults(ctx, p)
	return p, nil
}

// answer records a student's answer, once.
func (s *Service) answer(ctx context.Context, p storage.Poll, user storage.UserID, choices []int) error {
	if msg := checkChoices(choices, len(p.Options), p.Multiple, false); msg != "" {
		return (httpapi.Fields{"choices": msg}).Err()
	}
	err := s.store.AnswerPoll(ctx, p.ID, storage.PollAnswer{UserID: user, Identity: string(identityOf(user)), Choices: choices, AnsweredAt: s.now()})
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		return errAnswered
	case errors.Is(err, storage.ErrClosed):
		return errPollClosed
	case err != nil:
		return err
	}
	s.pushResults(ctx, p)
	return nil
}
