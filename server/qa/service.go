// Package qa runs the Q&A centre: students ask questions of a subject and
// grade (Markdown text, pictures, knowledge points); teachers of the
// district claim and answer them; the asker adopts an answer and rates it,
// or escalates the question to a one-to-one tutoring request.
//
// Text is stored as its Markdown source and served as HTML rendered by
// goldmark and sanitized by bluemonday, so neither raw HTML nor script
// links reach a browser. Pictures are sniffed from their content and JPEG
// metadata segments (EXIF, with any location) are dropped before storing.
package qa

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"

	"yunke/server/imagecheck"
	"yunke/storage"
)

// Store is what the Q&A centre needs of durable storage.
type Store interface {
	CreateQuestion(ctx context.Context, a storage.Actor, in storage.QuestionInput) (storage.Question, error)
	GetQuestion(ctx context.Context, id storage.QuestionID) (storage.Question, error)
	ListQuestions(ctx context.Context, f storage.QuestionFilter) ([]storage.Question, error)
	EditQuestion(ctx context.Context, a storage.Actor, id storage.QuestionID, text string, window time.Duration) (storage.Question, error)
	DeleteQuestion(ctx context.Context, a storage.Actor, id storage.QuestionID) error
	ClaimQuestion(ctx context.Context, a storage.Actor, id storage.QuestionID, teacher storage.UserID, until time.Time) error
	AddAnswer(ctx context.Context, a storage.Actor, qid storage.QuestionID, author storage.UserID, text string, images []storage.QAImage) (storage.Answer, error)
	GetAnswer(ctx context.Context, id storage.AnswerID) (storage.Answer, error)
	ListAnswers(ctx context.Context, qid storage.QuestionID) ([]storage.Answer, error)
	VoteAnswer(ctx context.Context, a storage.Actor, id storage.AnswerID, teacher storage.UserID) (storage.Answer, error)
	AddComment(ctx context.Context, a storage.Actor, qid storage.QuestionID, answer storage.AnswerID, author storage.UserID, text string) (storage.Comment, error)
	ListComments(ctx context.Context, qid storage.QuestionID) ([]storage.Comment, error)
	AdoptAnswer(ctx context.Context, a storage.Actor, qid storage.QuestionID, answer storage.AnswerID, window time.Duration) (storage.Question, error)
	RateAdopted(ctx context.Context, a storage.Actor, qid storage.QuestionID, score int) (storage.QARating, error)
	QATeacherStats(ctx context.Context, teacher storage.UserID) (storage.QATeacherStats, error)
	QASatisfaction(ctx context.Context, q storage.SatisfactionQuery) ([]storage.Satisfaction, error)
	QAMetrics(ctx context.Context, q storage.SatisfactionQuery) (storage.QAMetrics, error)
	QATeacherMetrics(ctx context.Context, q storage.SatisfactionQuery) ([]storage.QATeacherStats, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
	HideQuestion(ctx context.Context, a storage.Actor, qid storage.QuestionID, answer storage.AnswerID, reason string) error
	MarkEscalated(ctx context.Context, a storage.Actor, qid storage.QuestionID, req storage.TutoringRequestID) (storage.Question, error)
	QuestionImage(ctx context.Context, qid storage.QuestionID, aid storage.AnswerID, n int) (storage.QAImage, error)
	QuestionImages(ctx context.Context, qid storage.QuestionID, aid storage.AnswerID) ([]storage.QAImage, error)
	QuestionRating(ctx context.Context, qid storage.QuestionID) (storage.QARating, error)
	QASettings(ctx context.Context, d storage.DistrictID, def storage.QASettings) (storage.QASettings, error)
	SetQASettings(ctx context.Context, a storage.Actor, in storage.QASettings) (storage.QASettings, error)
	GetDistrict(ctx context.Context, id storage.DistrictID) (storage.District, error)
	SharesQuestions(ctx context.Context, d storage.DistrictID) (bool, error)
}

var _ Store = (*storage.Store)(nil)

// Tutoring turns a question into a one-to-one tutoring request; the
// composition root satisfies it with the tutoring service.
type Tutoring interface {
	Ask(ctx context.Context, a storage.Actor, in storage.TutoringRequestInput) (storage.TutoringRequest, error)
}

// Notifier hears of new questions (the router that offers them to online teachers).
type Notifier interface {
	QuestionAsked(ctx context.Context, q storage.Question)
}

// Params configure a Service. Zero values take the defaults.
type Params struct {
	Store    Store
	Tutoring Tutoring
	Notifier Notifier // optional
	Logger   *slog.Logger
	Now      func() time.Time

	// MaxImages bounds the pictures of a question or an answer (default and ceiling storage.MaxQAImages).
	MaxImages int
	// EditWindow is how long the asker may edit an unanswered question (default 15 minutes).
	EditWindow time.Duration
	// AdoptWindow is how long after adopting the asker may change the choice (default 24 hours).
	AdoptWindow time.Duration
	// ClaimFor is how long a claim holds a question (default 5 minutes).
	ClaimFor time.Duration
	// StudentsAnswer is whether students answer in a district whose
	// administrator has not chosen (default off).
	StudentsAnswer bool

	// Limiter bounds each user's questions, answers and comments per
	// LimitWindow (default 10 minutes): at most MaxQuestions (default 10),
	// MaxAnswers (default 60) and MaxComments (default 60). Nil: no limits.
	Limiter                               Limiter
	LimitWindow                           time.Duration
	MaxQuestions, MaxAnswers, MaxComments int
	// MaxSearches bounds a user's searches (q=) per LimitWindow (default 300).
	MaxSearches int
}

// Service is the Q&A centre.
type Service struct {
	p      Params
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// New builds a Service.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.Logger = p.Logger.With("domain", "qa")
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxImages <= 0 || p.MaxImages > storage.MaxQAImages {
		p.MaxImages = storage.MaxQAImages
	}
	if p.EditWindow <= 0 {
		p.EditWindow = 15 * time.Minute
	}
	if p.AdoptWindow <= 0 {
		p.AdoptWindow = 24 * time.Hour
	}
	if p.LimitWindow <= 0 {
		p.LimitWindow = 10 * time.Minute
	}
	p.MaxQuestions = cmp.Or(p.MaxQuestions, 10)
	p.MaxAnswers = cmp.Or(p.MaxAnswers, 60)
	p.MaxComments = cmp.Or(p.MaxComments, 60)
	p.MaxSearches = cmp.Or(p.MaxSearches, 300)
	if p.ClaimFor <= 0 {
		p.ClaimFor = 5 * time.Minute
	}
	// goldmark's default escapes raw HTML (no WithUnsafe); bluemonday's UGC
	// policy then keeps only safe tags and http(s)/mailto links.
	pol := bluemonday.UGCPolicy()
	pol.RequireNoFollowOnLinks(true)
	pol.AllowURLSchemes("http", "https", "mailto")
	return &Service{p: p, md: goldmark.New(), policy: pol}
}

// Render turns Markdown source into sanitized HTML.
func (s *Service) Render(src string) string {
	var buf bytes.Buffer
	if err := s.md.Convert([]byte(src), &buf); err != nil {
		return s.policy.Sanitize("<p>" + bluemonday.StrictPolicy().Sanitize(src) + "</p>")
	}
	return s.policy.Sanitize(buf.String())
}

// tooMany is more pictures than a question or an answer may carry (400 too_many_images).
type tooMany struct{ max int }

func (e tooMany) Error() string   { return fmt.Sprintf("at most %d pictures", e.max) }
func (e tooMany) HTTPStatus() int { return http.StatusBadRequest }
func (e tooMany) Code() string    { return "too_many_images" }

// Images checks uploaded pictures: the count, the size, the type sniffed
// from the content (PNG, JPEG, WebP; never SVG or HTML), and drops JPEG
// metadata.
func (s *Service) Images(raw [][]byte) ([]storage.QAImage, error) {
	if len(raw) > s.p.MaxImages {
		return nil, tooMany{s.p.MaxImages}
	}
	out := make([]storage.QAImage, 0, len(raw))
	for i, data := range raw {
		if len(data) > storage.MaxQAImage {
			return nil, &storage.FieldError{Field: "images", Message: fmt.Sprintf("picture %d is over %d MiB", i+1, storage.MaxQAImage>>20)}
		}
		typ := http.DetectContentType(data)
		switch typ {
		case "image/png", "image/webp":
		case "image/jpeg":
			var ok bool
			if data, ok = imagecheck.StripJPEGMetadata(data); !ok {
				return nil, &storage.FieldError{Field: "images", Message: fmt.Sprintf("picture %d is not a readable JPEG", i+1)}
			}
		default:
			return nil, &storage.FieldError{Field: "images", Message: fmt.Sprintf("picture %d is not a PNG, JPEG or WebP picture", i+1)}
		}
		out = append(out, storage.QAImage{Type: typ, Data: data})
	}
	return out, nil
}

// View is a question as the API serves it: the source and the sanitized
// HTML, the deadlines of the asker's edit and adoption change, whether the
// caller may answer it, and (for the asker) the rating they gave.
type View struct {
	storage.Question
	HTML string `json:"html"`
	// EditUntil is when the asker's edit window closes (while it is open).
	EditUntil time.Time `json:"edit_until,omitzero"`
	// AdoptChangeUntil is until when the asker may change the adoption.
	AdoptChangeUntil time.Time `json:"adopt_change_until,omitzero"`
	// CanAnswer: the caller may answer it now.
	CanAnswer bool `json:"can_answer"`
	// OtherDistrict: the question is of another district, which shares its
	// questions; the caller reads it and nothing more.
	OtherDistrict bool `json:"other_district"`
	// Rating is the asker's rating of the adopted answer, sent to the asker only.
	Rating *storage.QARating `json:"rating,omitempty"`
}

// AnswerView is an answer with its sanitized HTML.
type AnswerView struct {
	storage.Answer
	HTML string `json:"html"`
}

// view is q as viewer sees it: a deleted question, or one a moderator hid,
// has no text for anyone but moderators and (when hidden) its author.
func (s *Service) view(q storage.Question, viewer storage.UserID, moderator bool) View {
	if q.Status == storage.QuestionDeleted || (q.HiddenReason != "" && !moderator && q.AuthorID != viewer) {
		q.Text, q.ImageCount = "", 0
	}
	v := View{Question: q, HTML: s.Render(q.Text)}
	if q.Status == storage.QuestionOpen {
		v.EditUntil = q.CreatedAt.Add(s.p.EditWindow).UTC()
	}
	if q.Status == storage.QuestionAdopted && !q.AdoptedAt.IsZero() {
		v.AdoptChangeUntil = q.AdoptedAt.Add(s.p.AdoptWindow).UTC()
	}
	return v
}

func (s *Service) answerView(a storage.Answer, viewer storage.UserID, moderator bool) AnswerView {
	if a.HiddenReason != "" && !moderator && a.AuthorID != viewer {
		a.Text, a.ImageCount = "", 0
	}
	return AnswerView{Answer: a, HTML: s.Render(a.Text)}
}

// Ask files a question and tells the router.
func (s *Service) Ask(ctx context.Context, a storage.Actor, in storage.QuestionInput) (storage.Question, error) {
	q, err := s.p.Store.CreateQuestion(ctx, a, in)
	if err != nil {
		return q, err
	}
	if s.p.Notifier != nil {
		s.p.Notifier.QuestionAsked(ctx, q)
	}
	s.p.Logger.Info("question asked", "question", q.ID, "subject", q.SubjectCode, "grade", q.Grade)
	return q, nil
}

// Escalate turns the question into a tutoring request with its text, first
// picture and first knowledge point, and links the two.
func (s *Service) Escalate(ctx context.Context, a storage.Actor, q storage.Question) (storage.Question, error) {
	if q.Status != storage.QuestionOpen && q.Status != storage.QuestionAnswered {
		return q, fmt.Errorf("qa: escalate question %d: %w", q.ID, storage.ErrClosed)
	}
	in := storage.TutoringRequestInput{StudentID: q.AuthorID, SubjectID: q.SubjectID, Grade: q.Grade, Text: q.Text}
	if r := []rune(in.Text); len(r) > storage.MaxRequestText {
		in.Text = string(r[:storage.MaxRequestText])
	}
	if len(q.KnowledgePoints) > 0 {
		in.KnowledgePointID = q.KnowledgePoints[0]
	}
	if q.ImageCount > 0 {
		ims, err := s.p.Store.QuestionImages(ctx, q.ID, 0)
		if err != nil {
			return q, fmt.Errorf("qa: escalate question %d: %w", q.ID, err)
		}
		if len(ims) > 0 {
			in.Image, in.ImageType = ims[0].Data, ims[0].Type
		}
	}
	req, err := s.p.Tutoring.Ask(ctx, a, in)
	if err != nil {
		return q, fmt.Errorf("qa: escalate question %d: %w", q.ID, err)
	}
	return s.p.Store.MarkEscalated(ctx, a, q.ID, req.ID)
}
