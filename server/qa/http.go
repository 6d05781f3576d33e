package qa

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Routes are the Q&A API routes. Students and teachers see the questions
// of their own district (wider than their school scope) and read those of
// districts that share theirs; every handler checks the district of the
// question it touches, and only their own district's take answers,
// claims, comments, votes and adoptions.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	read := a(authz.QAAsk, authz.QAAnswer, authz.QAModerate)
	post := a(authz.QAAsk, authz.QAAnswer)
	return []httpapi.Route{
		{Method: "POST", Path: "/qa/questions", Actions: a(authz.QAAsk), Handle: s.handleAsk},
		{Method: "GET", Path: "/qa/questions", Actions: read, Handle: s.handleList},
		{Method: "GET", Path: "/qa/questions/{id}", Actions: read, Handle: s.handleGet},
		{Method: "PATCH", Path: "/qa/questions/{id}", Actions: a(authz.QAAsk), Handle: s.handleEdit},
		{Method: "DELETE", Path: "/qa/questions/{id}", Actions: a(authz.QAAsk), Handle: s.handleDelete},
		{Method: "GET", Path: "/qa/questions/{id}/images/{n}", Actions: read, Handle: s.handleImage},
		{Method: "POST", Path: "/qa/questions/{id}/claim", Actions: a(authz.QAAnswer), Handle: s.handleClaim},
		{Method: "POST", Path: "/qa/questions/{id}/answers", Actions: post, Handle: s.handleAnswer},
		{Method: "POST", Path: "/qa/questions/{id}/comments", Actions: post, Handle: s.handleComment},
		{Method: "PUT", Path: "/qa/questions/{id}/adoption", Actions: a(authz.QAAsk), Handle: s.handleAdopt},
		{Method: "PUT", Path: "/qa/questions/{id}/rating", Actions: a(authz.QAAsk), Handle: s.handleRate},
		{Method: "POST", Path: "/qa/questions/{id}/escalate", Actions: a(authz.QAAsk), Handle: s.handleEscalate},
		{Method: "PUT", Path: "/qa/questions/{id}/hidden", Actions: a(authz.QAModerate), Handle: s.handleHide},
		{Method: "GET", Path: "/qa/me/stats", Actions: a(authz.QAAnswer), Handle: s.handleMyStats},
		{Method: "GET", Path: "/qa/satisfaction", Actions: a(authz.QAReview), Handle: s.handleSatisfaction},
		{Method: "GET", Path: "/qa/metrics", Actions: a(authz.QAReview), Handle: s.handleMetrics},
		{Method: "GET", Path: "/qa/metrics/teachers", Actions: a(authz.QAReview), Handle: s.handleTeacherMetrics},
		{Method: "POST", Path: "/qa/answers/{id}/vote", Actions: a(authz.QAAnswer), Handle: s.handleVote},
		{Method: "GET", Path: "/districts/{id}/qa-settings", Actions: a(authz.QAConfigure), Handle: s.handleGetSettings},
		{Method: "PUT", Path: "/districts/{id}/qa-settings", Actions: a(authz.QAConfigure), Handle: s.handleSetSettings},
	}
}

// maxBody bounds a JSON body: the pictures (base64) and the text.
const maxBody = (storage.MaxQAImages*storage.MaxQAImage)*4/3 + 64<<10

type postBody struct {
	SubjectID       storage.SubjectID          `json:"subject_id"`
	Grade           int                        `json:"grade"`
	KnowledgePoints []storage.KnowledgePointID `json:"knowledge_points"`
	Text            string                     `json:"text"`
	Images          [][]byte                   `json:"images"` // base64 in JSON
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	return httpapi.DecodeJSON(w, r, v)
}

// question loads a question of the caller's district, or one the caller
// tutored after its escalation; another district's (or a deleted one, for
// anyone but its author) is not found.
func (s *Service) question(r *http.Request) (*httpapi.Principal, storage.Question, error) {
	p := httpapi.PrincipalFrom(r.Context())
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return p, storage.Question{}, err
	}
	q, err := s.p.Store.GetQuestion(r.Context(), storage.QuestionID(id))
	if err != nil {
		return p, q, err
	}
	// The tutor of the session an escalated question became reads it (and
	// posts the outcome) wherever their own school is.
	tutor := q.TutorID != 0 && q.TutorID == p.User.ID
	if q.DistrictID == 0 || (q.DistrictID != p.User.DistrictID && !tutor) || (q.Status == storage.QuestionDeleted && q.AuthorID != p.User.ID) {
		return p, q, httpapi.ErrNotFound
	}
	return p, q, nil
}

// readable loads a question as question does, or, for a student or a
// teacher, a visible question of another district that shares its
// questions: read-only (only get and pictures use it).
func (s *Service) readable(r *http.Request) (*httpapi.Principal, storage.Question, error) {
	p, q, err := s.question(r)
	if !errors.Is(err, httpapi.ErrNotFound) || q.ID == 0 || !readsShared(p) || p.User.DistrictID == 0 ||
		q.DistrictID == 0 || q.Status == storage.QuestionDeleted || q.HiddenReason != "" {
		return p, q, err
	}
	shares, serr := s.p.Store.SharesQuestions(r.Context(), q.DistrictID)
	if serr != nil {
		return p, q, serr
	}
	if !shares {
		return p, q, err
	}
	return p, q, nil
}

// readsShared: students and teachers read the questions other districts share.
func readsShared(p *httpapi.Principal) bool {
	return slices.Contains(p.User.Roles, storage.RoleStudent) || slices.Contains(p.User.Roles, storage.RoleTeacher)
}

// own loads a question the caller asked.
func (s *Service) own(r *http.Request) (*httpapi.Principal, storage.Question, error) {
	p, q, err := s.question(r)
	if err == nil && q.AuthorID != p.User.ID {
		err = httpapi.ErrForbidden
	}
	return p, q, err
}

func (s *Service) handleAsk(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	var b postBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	if b.SubjectID <= 0 {
		f.Add("subject_id", "required")
	}
	if p.User.DistrictID == 0 {
		f.Add("district", "your account belongs to no district")
	}
	if err := f.Err(); err != nil {
		return err
	}
	images, err := s.Images(b.Images)
	if err != nil {
		return err
	}
	if err := s.limit(r.Context(), "questions", p.User.ID, s.p.MaxQuestions); err != nil {
		return err
	}
	q, err := s.Ask(r.Context(), httpapi.Actor(r), storage.QuestionInput{AuthorID: p.User.ID, SubjectID: b.SubjectID,
		Grade: b.Grade, KnowledgePoints: b.KnowledgePoints, Text: b.Text, Images: images})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, s.view(q, p.User.ID, s.moderator(r)))
	return nil
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	f := httpapi.Fields{}
	flt := storage.QuestionFilter{DistrictID: p.User.DistrictID,
		SubjectID:  storage.SubjectID(httpapi.QueryID(r, "subject_id", f)),
		BeforeID:   storage.QuestionID(httpapi.QueryID(r, "before", f)),
		Grade:      int(httpapi.QueryID(r, "grade", f)),
		Limit:      int(httpapi.QueryID(r, "limit", f)),
		Unanswered: boolOf(httpapi.QueryBool(r, "unanswered", f)),
		Search:     httpapi.QuerySearch(r, f),
		Status:     storage.QuestionStatus(r.URL.Query().Get("status")),

		KnowledgePoint: storage.KnowledgePointID(httpapi.QueryID(r, "knowledge_point_id", f)),
	}
	switch flt.Status {
	case "waiting": // the and the web's word for open
		flt.Status = storage.QuestionOpen
	case "", storage.QuestionOpen, storage.QuestionAnswered, storage.QuestionAdopted, storage.QuestionEscalated:
	default:
		f.Add("status", "must be waiting (open), answered, adopted or escalated")
	}
	flt.Similar = boolOf(httpapi.QueryBool(r, "similar", f))
	flt.WithHidden = boolOf(httpapi.QueryBool(r, "with_hidden", f)) && s.moderator(r)
	// Other districts' shared questions are for reading and searching, not
	// for the feed of open questions a teacher takes.
	flt.WithShared = readsShared(p) && !flt.Unanswered
	if boolOf(httpapi.QueryBool(r, "mine", f)) {
		flt.AuthorID = p.User.ID
	}
	switch r.URL.Query().Get("answered_by") {
	case "":
	case "me":
		flt.AnsweredBy = p.User.ID
	default:
		f.Add("answered_by", "must be me")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if p.User.DistrictID == 0 {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"questions": []View{}})
		return nil
	}
	if flt.Search != "" {
		// Typing asks often (the client waits for a pause); a cap per user
		// keeps a script from turning search into a load test.
		if err := s.limit(r.Context(), "searches", p.User.ID, s.p.MaxSearches); err != nil {
			return err
		}
	}
	qs, err := s.p.Store.ListQuestions(r.Context(), flt)
	if err != nil {
		return err
	}
	allowed, err := s.mayAnswer(r.Context(), p, p.User.DistrictID)
	if err != nil {
		return err
	}
	out := make([]View, 0, len(qs))
	for _, q := range qs {
		if q.DistrictID != p.User.DistrictID {
			v := s.view(q, p.User.ID, false)
			v.OtherDistrict = true
			out = append(out, v)
			continue
		}
		v := s.view(q, p.User.ID, s.moderator(r))
		v.CanAnswer = takesAnswer(q, p.User.ID, allowed)
		out = append(out, v)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"questions": out})
	return nil
}

func boolOf(b *bool) bool { return b != nil && *b }

// detail is a question with its answers and comments.
type detail struct {
	View
	Answers  []AnswerView      `json:"answers"`
	Comments []storage.Comment `json:"comments"`
}

func (s *Service) detail(r *http.Request, q storage.Question) (detail, error) {
	p := httpapi.PrincipalFrom(r.Context())
	// Another district's shared question: read-only, and its moderators'
	// hidden content stays hidden from this district's.
	other := q.DistrictID != p.User.DistrictID && (q.TutorID == 0 || q.TutorID != p.User.ID)
	mod := s.moderator(r) && !other
	d := detail{View: s.view(q, p.User.ID, mod), Answers: []AnswerView{}}
	d.OtherDistrict = other
	allowed, err := s.mayAnswer(r.Context(), p, q.DistrictID)
	if err != nil {
		return d, err
	}
	d.CanAnswer = !other && takesAnswer(q, p.User.ID, allowed)
	if q.AuthorID == p.User.ID && q.Status == storage.QuestionAdopted {
		rt, err := s.p.Store.QuestionRating(r.Context(), q.ID)
		switch {
		case err == nil:
			d.Rating = &rt
		case !errors.Is(err, storage.ErrNotFound):
			return d, err
		}
	}
	as, err := s.p.Store.ListAnswers(r.Context(), q.ID)
	if err != nil {
		return d, err
	}
	for _, a := range as {
		d.Answers = append(d.Answers, s.answerView(a, p.User.ID, mod))
	}
	d.Comments, err = s.p.Store.ListComments(r.Context(), q.ID)
	return d, err
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	_, q, err := s.readable(r)
	if err != nil {
		return err
	}
	d, err := s.detail(r, q)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) handleEdit(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.own(r)
	if err != nil {
		return err
	}
	var b struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	q, err = s.p.Store.EditQuestion(r.Context(), httpapi.Actor(r), q.ID, b.Text, s.p.EditWindow)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.view(q, p.User.ID, s.moderator(r)))
	return nil
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	_, q, err := s.own(r)
	if err != nil {
		return err
	}
	if err := s.p.Store.DeleteQuestion(r.Context(), httpapi.Actor(r), q.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleImage serves picture n of the question, or of its answer ?answer_id=.
// Pictures of hidden content are served only to moderators whose scope
// covers the question and to the hidden content's author (the asker, for
// a hidden question's pictures and those of its answers); anyone else gets
// 404, as if there were none.
func (s *Service) handleImage(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.readable(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= storage.MaxQAImages {
		return httpapi.ErrNotFound
	}
	f := httpapi.Fields{}
	aid := storage.AnswerID(httpapi.QueryID(r, "answer_id", f))
	if err := f.Err(); err != nil {
		return err
	}
	_, modErr := httpapi.Authorize(r, authz.QAModerate, httpapi.Place{District: q.DistrictID, School: q.SchoolID})
	moderates := modErr == nil
	var answerAuthor storage.UserID
	if aid != 0 {
		a, err := s.p.Store.GetAnswer(r.Context(), aid)
		if err != nil {
			return err
		}
		if a.QuestionID != q.ID || (a.HiddenReason != "" && !moderates && a.AuthorID != p.User.ID) {
			return httpapi.ErrNotFound
		}
		answerAuthor = a.AuthorID
	}
	if q.HiddenReason != "" && !moderates && q.AuthorID != p.User.ID && answerAuthor != p.User.ID {
		return httpapi.ErrNotFound
	}
	im, err := s.p.Store.QuestionImage(r.Context(), q.ID, aid, n)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", im.Type)
	// Content can be hidden at any time: the browser asks again each time.
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write(im.Data)
	return nil
}

// mayAnswer: teachers answer; students only where the district (the
// asker's, which is the caller's) allows it.
func (s *Service) mayAnswer(ctx context.Context, p *httpapi.Principal, d storage.DistrictID) (bool, error) {
	if slices.Contains(p.User.Roles, storage.RoleTeacher) {
		return true, nil
	}
	if !slices.Contains(p.User.Roles, storage.RoleStudent) {
		return false, nil
	}
	set, err := s.p.Store.QASettings(ctx, d, s.defaults())
	return set.StudentsAnswer, err
}

// takesAnswer: a caller whom mayAnswer allows can answer q now: not their
// own, not withdrawn, and once escalated only as the tutor of the session
// it became (the outcome). Storage decides the rest (another's claim).
func takesAnswer(q storage.Question, caller storage.UserID, allowed bool) bool {
	switch {
	case !allowed || q.AuthorID == caller || q.Status == storage.QuestionDeleted:
		return false
	case q.Status == storage.QuestionEscalated:
		return q.TutorID != 0 && q.TutorID == caller
	}
	return true
}

func (s *Service) defaults() storage.QASettings {
	return storage.QASettings{StudentsAnswer: s.p.StudentsAnswer}
}

// settingsDistrict is the district of a settings route, checked against
// the caller's qa.configure scope: another district's is forbidden.
func (s *Service) settingsDistrict(r *http.Request) (storage.DistrictID, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return 0, err
	}
	d := storage.DistrictID(id)
	if _, err := httpapi.Authorize(r, authz.QAConfigure, httpapi.Place{District: d}); err != nil {
		return 0, err
	}
	if _, err := s.p.Store.GetDistrict(r.Context(), d); err != nil {
		return 0, err
	}
	return d, nil
}

func (s *Service) handleGetSettings(w http.ResponseWriter, r *http.Request) error {
	d, err := s.settingsDistrict(r)
	if err != nil {
		return err
	}
	set, err := s.p.Store.QASettings(r.Context(), d, s.defaults())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, set)
	return nil
}

// handleSetSettings stores the district's choices; a field left out keeps
// its current value (or the installation's default).
func (s *Service) handleSetSettings(w http.ResponseWriter, r *http.Request) error {
	d, err := s.settingsDistrict(r)
	if err != nil {
		return err
	}
	var b struct {
		StudentsAnswer  *bool `json:"students_answer"`
		SharesQuestions *bool `json:"shares_questions"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.StudentsAnswer == nil && b.SharesQuestions == nil {
		return &storage.FieldError{Field: "students_answer", Message: "give students_answer, shares_questions or both (true or false)"}
	}
	set, err := s.p.Store.QASettings(r.Context(), d, s.defaults())
	if err != nil {
		return err
	}
	if b.StudentsAnswer != nil {
		set.StudentsAnswer = *b.StudentsAnswer
	}
	if b.SharesQuestions != nil {
		set.SharesQuestions = *b.SharesQuestions
	}
	set, err = s.p.Store.SetQASettings(r.Context(), httpapi.Actor(r), storage.QASettings{DistrictID: d,
		StudentsAnswer: set.StudentsAnswer, SharesQuestions: set.SharesQuestions})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, set)
	return nil
}

func (s *Service) handleClaim(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.question(r)
	if err != nil {
		return err
	}
	until := s.p.Now().Add(s.p.ClaimFor)
	if err := s.p.Store.ClaimQuestion(r.Context(), httpapi.Actor(r), q.ID, p.User.ID, until); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"question_id": q.ID, "claimed_by": p.User.ID, "expires_at": until.UTC()})
	return nil
}

func (s *Service) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.question(r)
	if err != nil {
		return err
	}
	if ok, err := s.mayAnswer(r.Context(), p, q.DistrictID); err != nil {
		return err
	} else if !ok {
		return &httpapi.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "only teachers answer questions in this district"}
	}
	var b postBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	images, err := s.Images(b.Images)
	if err != nil {
		return err
	}
	if err := s.limit(r.Context(), "answers", p.User.ID, s.p.MaxAnswers); err != nil {
		return err
	}
	a, err := s.p.Store.AddAnswer(r.Context(), httpapi.Actor(r), q.ID, p.User.ID, b.Text, images)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, AnswerView{Answer: a, HTML: s.Render(a.Text)})
	return nil
}

func (s *Service) handleComment(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.question(r)
	if err != nil {
		return err
	}
	var b struct {
		AnswerID storage.AnswerID `json:"answer_id"`
		Text     string           `json:"text"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := s.limit(r.Context(), "comments", p.User.ID, s.p.MaxComments); err != nil {
		return err
	}
	c, err := s.p.Store.AddComment(r.Context(), httpapi.Actor(r), q.ID, b.AnswerID, p.User.ID, b.Text)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Service) handleAdopt(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.own(r)
	if err != nil {
		return err
	}
	var b struct {
		AnswerID storage.AnswerID `json:"answer_id"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.AnswerID <= 0 {
		return httpapi.Invalid("answer_id", "required")
	}
	q, err = s.p.Store.AdoptAnswer(r.Context(), httpapi.Actor(r), q.ID, b.AnswerID, s.p.AdoptWindow)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.view(q, p.User.ID, s.moderator(r)))
	return nil
}

func (s *Service) handleRate(w http.ResponseWriter, r *http.Request) error {
	_, q, err := s.own(r)
	if err != nil {
		return err
	}
	var b struct {
		Score int `json:"score"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	rt, err := s.p.Store.RateAdopted(r.Context(), httpapi.Actor(r), q.ID, b.Score)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rt)
	return nil
}

func (s *Service) handleEscalate(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.own(r)
	if err != nil {
		return err
	}
	q, err = s.Escalate(r.Context(), httpapi.Actor(r), q)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.view(q, p.User.ID, s.moderator(r)))
	return nil
}

func (s *Service) handleVote(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.p.Store.GetAnswer(r.Context(), storage.AnswerID(id))
	if err != nil {
		return err
	}
	q, err := s.p.Store.GetQuestion(r.Context(), a.QuestionID)
	if err != nil {
		return err
	}
	if q.DistrictID == 0 || q.DistrictID != p.User.DistrictID {
		return httpapi.ErrNotFound
	}
	if a.AuthorID == p.User.ID {
		return httpapi.Invalid("answer_id", "you cannot up-vote your own answer")
	}
	a, err = s.p.Store.VoteAnswer(r.Context(), httpapi.Actor(r), a.ID, p.User.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, s.answerView(a, p.User.ID, false))
	return nil
}

// moderator: the caller may hide content somewhere (where exactly is checked per question).
func (s *Service) moderator(r *http.Request) bool {
	_, err := httpapi.Authorize(r, authz.QAModerate)
	return err == nil
}

// handleHide hides (or, with an empty reason, shows again) a question or one
// of its answers; the moderator's scope must cover the asker's school.
func (s *Service) handleHide(w http.ResponseWriter, r *http.Request) error {
	_, q, err := s.question(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.QAModerate, httpapi.Place{District: q.DistrictID, School: q.SchoolID}); err != nil {
		return err
	}
	var b struct {
		AnswerID storage.AnswerID `json:"answer_id"`
		Reason   string           `json:"reason"`
	}
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if err := s.p.Store.HideQuestion(r.Context(), httpapi.Actor(r), q.ID, b.AnswerID, b.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleSatisfaction reports Q&A satisfaction in the caller's scope, in
// the shape of tutoring's: the share of rated adopted answers scored 4 or
// 5, by month, teacher, school, subject or grade band.
func (s *Service) handleSatisfaction(w http.ResponseWriter, r *http.Request) error {
	sq, err := httpapi.SatisfactionQuery(r, s.p.Store, authz.QAReview, s.p.Now(),
		storage.ByMonth, storage.ByTeacher, storage.BySchool, storage.BySubject, storage.ByBand)
	if err != nil {
		return err
	}
	items, err := s.p.Store.QASatisfaction(r.Context(), sq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Satisfaction]{Items: httpapi.NonNil(items)})
	return nil
}

// handleMetrics reports the figures of the questions asked in the months
// and scope asked for (from, to, school_id as for satisfaction).
func (s *Service) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	sq, err := httpapi.SatisfactionQuery(r, s.p.Store, authz.QAReview, s.p.Now(), "")
	if err != nil {
		return err
	}
	m, err := s.p.Store.QAMetrics(r.Context(), sq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// handleTeacherMetrics reports, per answering teacher, the figures over
// the questions asked in the months and scope asked for.
func (s *Service) handleTeacherMetrics(w http.ResponseWriter, r *http.Request) error {
	sq, err := httpapi.SatisfactionQuery(r, s.p.Store, authz.QAReview, s.p.Now(), "")
	if err != nil {
		return err
	}
	items, err := s.p.Store.QATeacherMetrics(r.Context(), sq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.QATeacherStats]{Items: httpapi.NonNil(items)})
	return nil
}

// handleMyStats reports the calling teacher's answers, adoptions and median answer time.
func (s *Service) handleMyStats(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	st, err := s.p.Store.QATeacherStats(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}
