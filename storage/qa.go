package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The Q&A centre: a student asks a question of a subject and grade; teachers
// (students too where the district allows) answer; the asker adopts one
// answer and rates it, or escalates the question to a tutoring request. A
// teacher claims a question for a while so that two do not write the same
// answer. Every step writes its activity row in the same transaction.

const questionCols = `q.id, q.author_id, u.name, q.district_id, q.school_id, q.subject_id, sub.code, q.grade, q.text,
	q.image_count, q.status, q.answer_count, q.adopted_answer_id, q.adopted_at, q.claimed_by, q.claim_expires_at,
	q.tutoring_request_id, q.first_answer_at, q.hidden_reason, q.created_at, q.updated_at,
	COALESCE((SELECT ts.teacher_id FROM tutoring_sessions ts WHERE ts.request_id = q.tutoring_request_id AND q.tutoring_request_id <> 0), 0)`

const questionFrom = ` FROM qa_questions q JOIN users u ON u.id = q.author_id JOIN subjects sub ON sub.id = q.subject_id`

func scanQuestion(r row) (Question, error) {
	var x Question
	var status string
	var adopted, claimExp, first, created, updated int64
	err := r.Scan(&x.ID, &x.AuthorID, &x.AuthorName, &x.DistrictID, &x.SchoolID, &x.SubjectID, &x.SubjectCode, &x.Grade,
		&x.Text, &x.ImageCount, &status, &x.AnswerCount, &x.AdoptedAnswerID, &adopted, &x.ClaimedBy, &claimExp,
		&x.TutoringRequestID, &first, &x.HiddenReason, &created, &updated, &x.TutorID)
	x.Status = QuestionStatus(status)
	x.AdoptedAt, x.ClaimExpiresAt, x.FirstAnswerAt = fromMSOrZero(adopted), fromMSOrZero(claimExp), fromMSOrZero(first)
	x.CreatedAt, x.UpdatedAt = fromMS(created), fromMS(updated)
	return x, err
}

func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// checkQAText validates the Markdown source of a question or an answer.
func checkQAText(text string, images int) error {
	switch {
	case !utf8.ValidString(text):
		return &FieldError{Field: "text", Message: "is not valid text"}
	case text == "" && images == 0:
		return &FieldError{Field: "text", Message: "write something or attach a picture"}
	case utf8.RuneCountInString(text) > MaxQAText:
		return &FieldError{Field: "text", Message: fmt.Sprintf("at most %d characters", MaxQAText)}
	}
	return nil
}

func checkQAImages(images []QAImage) error {
	if len(images) > MaxQAImages {
		return &FieldError{Field: "images", Message: fmt.Sprintf("at most %d pictures", MaxQAImages)}
	}
	for _, im := range images {
		if len(im.Data) > MaxQAImage {
			return &FieldError{Field: "images", Message: fmt.Sprintf("at most %d MiB a picture", MaxQAImage>>20)}
		}
		if !imageTypes[im.Type] || len(im.Data) == 0 {
			return &FieldError{Field: "images", Message: "must be PNG, JPEG or WebP pictures"}
		}
	}
	return nil
}

func insertQAImages(ctx context.Context, q querier, qid QuestionID, aid AnswerID, images []QAImage) error {
	for i, im := range images {
		if _, err := q.exec(ctx, `INSERT INTO qa_images (question_id, answer_id, n, type, data) VALUES ($1, $2, $3, $4, $5)`,
			int64(qid), int64(aid), i, im.Type, im.Data); err != nil {
			return err
		}
	}
	return nil
}

// userPlace is a user's district and school; an inactive or unknown user is a FieldError on field.
func userPlace(ctx context.Context, q querier, id UserID, field string) (district, school int64, err error) {
	var active bool
	err = q.queryRow(ctx, `SELECT COALESCE(district_id, 0), COALESCE(school_id, 0), active FROM users WHERE id = $1`,
		int64(id)).Scan(&district, &school, &active)
	if isNoRows(err) || (err == nil && !active) {
		return 0, 0, &FieldError{Field: field, Message: "no such user"}
	}
	return district, school, err
}

// CreateQuestion files a student's question; it starts open.
func (s *Store) CreateQuestion(ctx context.Context, a Actor, in QuestionInput) (Question, error) {
	in.Text = strings.TrimSpace(in.Text)
	if in.Grade < 1 || in.Grade > 12 {
		return Question{}, &FieldError{Field: "grade", Message: "must be 1–12"}
	}
	if err := checkQAText(in.Text, len(in.Images)); err != nil {
		return Question{}, err
	}
	if err := checkQAImages(in.Images); err != nil {
		return Question{}, err
	}
	if len(in.KnowledgePoints) > MaxQAPoints {
		return Question{}, &FieldError{Field: "knowledge_points", Message: fmt.Sprintf("at most %d", MaxQAPoints)}
	}
	var id QuestionID
	err := s.tx(ctx, func(q querier) error {
		district, school, err := userPlace(ctx, q, in.AuthorID, "author_id")
		if err != nil {
			return err
		}
		var subActive bool
		err = q.queryRow(ctx, `SELECT active FROM subjects WHERE id = $1`, int64(in.SubjectID)).Scan(&subActive)
		if isNoRows(err) || (err == nil && !subActive) {
			return &FieldError{Field: "subject_id", Message: "no such subject"}
		}
		if err != nil {
			return err
		}
		now := ms(s.now())
		if err := q.queryRow(ctx, `INSERT INTO qa_questions (author_id, district_id, school_id, subject_id, grade, text,
			image_count, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8) RETURNING id`,
			int64(in.AuthorID), district, school, int64(in.SubjectID), in.Grade, in.Text, len(in.Images), now).Scan(&id); err != nil {
			return err
		}
		if err := s.indexText(ctx, q, district, int64(id), in.Text); err != nil {
			return err
		}
		seen := map[KnowledgePointID]bool{}
		for _, kp := range in.KnowledgePoints {
			if seen[kp] {
				continue
			}
			seen[kp] = true
			var sub int64
			err := q.queryRow(ctx, `SELECT subject_id FROM knowledge_points WHERE id = $1`, int64(kp)).Scan(&sub)
			if isNoRows(err) || (err == nil && sub != int64(in.SubjectID)) {
				return &FieldError{Field: "knowledge_points", Message: "no such knowledge point in this subject"}
			}
			if err != nil {
				return err
			}
			if _, err := q.exec(ctx, `INSERT INTO qa_question_points (question_id, knowledge_point_id) VALUES ($1, $2)`,
				int64(id), int64(kp)); err != nil {
				return err
			}
		}
		if err := insertQAImages(ctx, q, id, 0, in.Images); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "qa.ask", DistrictID: DistrictID(district), SchoolID: SchoolID(school),
			SubjectID: in.SubjectID, Subject: "qa_question:" + itoa(id)}, map[string]any{"grade": in.Grade}, nil)
	})
	if err != nil {
		return Question{}, fmt.Errorf("storage: create question: %w", err)
	}
	return s.GetQuestion(ctx, id)
}

// GetQuestion reads one question (deleted ones too: the caller decides who sees them).
func (s *Store) GetQuestion(ctx context.Context, id QuestionID) (Question, error) {
	x, err := scanQuestion(s.r().queryRow(ctx, "SELECT "+questionCols+questionFrom+" WHERE q.id = $1", int64(id)))
	if isNoRows(err) {
		return Question{}, fmt.Errorf("storage: question %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Question{}, fmt.Errorf("storage: question %d: %w", id, err)
	}
	rs, err := s.r().query(ctx, `SELECT knowledge_point_id FROM qa_question_points WHERE question_id = $1 ORDER BY knowledge_point_id`, int64(id))
	if err != nil {
		return Question{}, fmt.Errorf("storage: question %d: %w", id, err)
	}
	defer rs.Close()
	x.KnowledgePoints = []KnowledgePointID{}
	for rs.Next() {
		var kp KnowledgePointID
		if err := rs.Scan(&kp); err != nil {
			return Question{}, fmt.Errorf("storage: question %d: %w", id, err)
		}
		x.KnowledgePoints = append(x.KnowledgePoints, kp)
	}
	return x, rs.Err()
}

// sharingDistricts selects the districts that share their questions.
const sharingDistricts = `SELECT district_id FROM qa_district_settings WHERE shares_questions`

// ListQuestions lists a district's questions (never deleted ones), newest
// first; with f.WithShared also the visible ones of districts that share.
func (s *Store) ListQuestions(ctx context.Context, f QuestionFilter) ([]Question, error) {
	where := []string{"q.district_id = $1", "q.status <> 'deleted'"}
	gramDistrict := "g.district_id = $1"
	if f.WithShared {
		where[0] = "(q.district_id = $1 OR (q.hidden_reason = '' AND q.district_id IN (" + sharingDistricts + ")))"
		gramDistrict = "(g.district_id = $1 OR g.district_id IN (" + sharingDistricts + "))"
	}
	args := []any{int64(f.DistrictID)}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.AuthorID != 0 {
		add("q.author_id = $%d", int64(f.AuthorID))
	}
	if f.AnsweredBy != 0 {
		add("EXISTS (SELECT 1 FROM qa_answers a WHERE a.question_id = q.id AND a.author_id = $%d)", int64(f.AnsweredBy))
	}
	if f.SubjectID != 0 {
		add("q.subject_id = $%d", int64(f.SubjectID))
	}
	if f.Grade != 0 {
		add("q.grade = $%d", f.Grade)
	}
	if f.BeforeID != 0 {
		add("q.id < $%d", int64(f.BeforeID))
	}
	if f.Unanswered {
		where = append(where, "q.status = 'open'")
	}
	if !f.WithHidden {
		where = append(where, "q.hidden_reason = ''")
	}
	if f.Status != "" && f.Status != QuestionDeleted {
		add("q.status = $%d", string(f.Status))
	}
	if f.KnowledgePoint != 0 {
		add("EXISTS (SELECT 1 FROM qa_question_points p WHERE p.question_id = q.id AND p.knowledge_point_id = $%d)", int64(f.KnowledgePoint))
	}
	if f.Search = strings.TrimSpace(f.Search); f.Search != "" {
		if grams := searchGrams(f.Search); len(grams) > 0 {
			args = append(args, s.d.listArg(grams))
			where = append(where, fmt.Sprintf(`q.id IN (SELECT g.question_id FROM qa_search_grams g
				WHERE %s AND %s GROUP BY g.question_id HAVING COUNT(*) = %d)`, gramDistrict, s.d.inList("g.gram", len(args)), len(grams)))
		}
		pat := likePattern(f.Search)
		add(`(LOWER(q.text) LIKE $%d ESCAPE '\'`, pat)
		args = append(args, pat)
		where[len(where)-1] += fmt.Sprintf(` OR EXISTS (SELECT 1 FROM qa_answers a WHERE a.question_id = q.id AND LOWER(a.text) LIKE $%d ESCAPE '\'))`, len(args))
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 50
	}
	order := "q.id DESC"
	if f.Similar {
		order = "CASE q.status WHEN 'adopted' THEN 0 WHEN 'answered' THEN 1 ELSE 2 END, q.id DESC"
	}
	rs, err := s.r().query(ctx, "SELECT "+questionCols+questionFrom+" WHERE "+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY %s LIMIT %d", order, f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list questions: %w", err)
	}
	defer rs.Close()
	out := []Question{}
	for rs.Next() {
		x, err := scanQuestion(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: list questions: %w", err)
		}
		out = append(out, x)
	}
	return out, rs.Err()
}

// searchGrams are the distinct two-character pieces of text, lower-cased:
// the n-gram index search uses, which finds Chinese words (written without
// spaces) without segmenting them.
func searchGrams(text string) []string {
	r := []rune(strings.ToLower(text))
	seen := map[string]bool{}
	out := []string{}
	for i := 0; i+1 < len(r); i++ {
		if g := string(r[i : i+2]); !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// indexText adds text's pieces to the search index of question qid.
func (s *Store) indexText(ctx context.Context, q querier, district, qid int64, text string) error {
	grams := searchGrams(text)
	if len(grams) == 0 {
		return nil
	}
	var err error
	if s.d.postgres {
		_, err = q.exec(ctx, `INSERT INTO qa_search_grams (district_id, gram, question_id)
			SELECT $1, g, $2 FROM unnest($3::text[]) AS g ON CONFLICT DO NOTHING`, district, qid, grams)
	} else {
		_, err = q.exec(ctx, `INSERT INTO qa_search_grams (district_id, gram, question_id)
			SELECT $1, value, $2 FROM json_each($3) WHERE true ON CONFLICT DO NOTHING`, district, qid, s.d.listArg(grams))
	}
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	return nil
}

// SharesQuestions reports whether district d shares its questions with
// other districts' students and teachers.
func (s *Store) SharesQuestions(ctx context.Context, d DistrictID) (bool, error) {
	var n int
	if err := s.r().queryRow(ctx, `SELECT COUNT(*) FROM qa_district_settings WHERE district_id = $1 AND shares_questions`,
		int64(d)).Scan(&n); err != nil {
		return false, fmt.Errorf("storage: does district %d share questions: %w", d, err)
	}
	return n > 0, nil
}

// QuestionImage returns picture n of a question (answer 0) or of one of its answers.
func (s *Store) QuestionImage(ctx context.Context, qid QuestionID, aid AnswerID, n int) (QAImage, error) {
	var im QAImage
	err := s.r().queryRow(ctx, `SELECT type, data FROM qa_images WHERE question_id = $1 AND answer_id = $2 AND n = $3`,
		int64(qid), int64(aid), n).Scan(&im.Type, &im.Data)
	if isNoRows(err) {
		return QAImage{}, fmt.Errorf("storage: picture %d of question %d: %w", n, qid, ErrNotFound)
	}
	if err != nil {
		return QAImage{}, fmt.Errorf("storage: picture %d of question %d: %w", n, qid, err)
	}
	return im, nil
}

type questionKeys struct {
	author, district, school, subject int64
	status                            string
	created, adoptedAt                int64
	adopted                           int64
}

func lockQuestion(ctx context.Context, q querier, id QuestionID) (questionKeys, error) {
	var k questionKeys
	err := q.queryRow(ctx, `SELECT author_id, district_id, school_id, subject_id, status, created_at, adopted_at, adopted_answer_id
		FROM qa_questions WHERE id = $1`, int64(id)).
		Scan(&k.author, &k.district, &k.school, &k.subject, &k.status, &k.created, &k.adoptedAt, &k.adopted)
	if isNoRows(err) || (err == nil && k.status == string(QuestionDeleted)) {
		return k, fmt.Errorf("question %d: %w", id, ErrNotFound)
	}
	return k, err
}

func (k questionKeys) activity(action string, id QuestionID) Activity {
	return Activity{Action: action, DistrictID: DistrictID(k.district), SchoolID: SchoolID(k.school),
		SubjectID: SubjectID(k.subject), Subject: "qa_question:" + itoa(id)}
}

// EditQuestion replaces a question's text while it is open and younger than window.
func (s *Store) EditQuestion(ctx context.Context, a Actor, id QuestionID, text string, window time.Duration) (Question, error) {
	text = strings.TrimSpace(text)
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, id)
		if err != nil {
			return err
		}
		now := s.now()
		if k.status != string(QuestionOpen) || now.After(fromMS(k.created).Add(window)) {
			return fmt.Errorf("question %d can no longer be edited: %w", id, ErrClosed)
		}
		var images int
		if err := q.queryRow(ctx, `SELECT image_count FROM qa_questions WHERE id = $1`, int64(id)).Scan(&images); err != nil {
			return err
		}
		if err := checkQAText(text, images); err != nil {
			return err
		}
		n, err := q.exec(ctx, `UPDATE qa_questions SET text = $2, updated_at = $3 WHERE id = $1 AND status = 'open'`,
			int64(id), text, ms(now))
		if err != nil {
			return err
		}
		// The old text's pieces stay: they only widen the candidates the
		// substring match then confirms.
		if err := s.indexText(ctx, q, k.district, int64(id), text); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("question %d was answered meanwhile: %w", id, ErrClosed)
		}
		return s.logChange(ctx, q, a, k.activity("qa.edit", id), nil, nil)
	})
	if err != nil {
		return Question{}, fmt.Errorf("storage: edit question: %w", err)
	}
	return s.GetQuestion(ctx, id)
}

// DeleteQuestion withdraws a question that has no answer yet.
func (s *Store) DeleteQuestion(ctx context.Context, a Actor, id QuestionID) error {
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, id)
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, `UPDATE qa_questions SET status = 'deleted', claimed_by = 0, claim_expires_at = 0, updated_at = $2
			WHERE id = $1 AND status = 'open' AND answer_count = 0`, int64(id), ms(s.now()))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("question %d has answers: %w", id, ErrClosed)
		}
		return s.logChange(ctx, q, a, k.activity("qa.delete", id), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: delete question: %w", err)
	}
	return nil
}

// ClaimQuestion holds an open or answered question for teacher until the
// given time, unless another teacher's claim still holds (ErrConflict). A
// teacher may renew their own claim. One conditional UPDATE: two racing
// claims cannot both win.
func (s *Store) ClaimQuestion(ctx context.Context, a Actor, id QuestionID, teacher UserID, until time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, id)
		if err != nil {
			return err
		}
		if k.status != string(QuestionOpen) && k.status != string(QuestionAnswered) {
			return fmt.Errorf("question %d is %s: %w", id, k.status, ErrClosed)
		}
		now := ms(s.now())
		n, err := q.exec(ctx, `UPDATE qa_questions SET claimed_by = $2, claim_expires_at = $3
			WHERE id = $1 AND status IN ('open', 'answered') AND (claimed_by = 0 OR claimed_by = $2 OR claim_expires_at <= $4)`,
			int64(id), int64(teacher), ms(until), now)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("question %d is claimed by another teacher: %w", id, ErrConflict)
		}
		return s.logChange(ctx, q, a, k.activity("qa.claim", id), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: claim question: %w", err)
	}
	return nil
}

// ReleaseClaim drops teacher's claim on a question, if they hold it.
func (s *Store) ReleaseClaim(ctx context.Context, id QuestionID, teacher UserID) error {
	if err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, `UPDATE qa_questions SET claimed_by = 0, claim_expires_at = 0 WHERE id = $1 AND claimed_by = $2`,
			int64(id), int64(teacher))
		return err
	}); err != nil {
		return fmt.Errorf("storage: release claim: %w", err)
	}
	return nil
}

// AddAnswer answers a question that is open, answered or adopted — or
// escalated, by the tutor of the session it became (the outcome). Another
// teacher's live claim refuses it (ErrConflict); the author's own claim ends.
func (s *Store) AddAnswer(ctx context.Context, a Actor, qid QuestionID, author UserID, text string, images []QAImage) (Answer, error) {
	text = strings.TrimSpace(text)
	if err := checkQAText(text, len(images)); err != nil {
		return Answer{}, err
	}
	if err := checkQAImages(images); err != nil {
		return Answer{}, err
	}
	var id AnswerID
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		if k.status == string(QuestionEscalated) {
			// Only the tutor of the session it became posts the outcome.
			var tutor int64
			err := q.queryRow(ctx, `SELECT s.teacher_id FROM tutoring_sessions s JOIN qa_questions x ON x.tutoring_request_id = s.request_id
				WHERE x.id = $1`, int64(qid)).Scan(&tutor)
			if isNoRows(err) || (err == nil && tutor != int64(author)) {
				return fmt.Errorf("question %d went to tutoring: %w", qid, ErrClosed)
			}
			if err != nil {
				return err
			}
		}
		if int64(author) == k.author {
			return &FieldError{Field: "question_id", Message: "you cannot answer your own question"}
		}
		now := ms(s.now())
		n, err := q.exec(ctx, `UPDATE qa_questions SET answer_count = answer_count + 1,
			status = CASE WHEN status = 'open' THEN 'answered' ELSE status END,
			first_answer_at = CASE WHEN first_answer_at = 0 THEN $3 ELSE first_answer_at END,
			claimed_by = CASE WHEN claimed_by = $2 THEN 0 ELSE claimed_by END,
			claim_expires_at = CASE WHEN claimed_by = $2 THEN 0 ELSE claim_expires_at END,
			updated_at = $3
			WHERE id = $1 AND (claimed_by = 0 OR claimed_by = $2 OR claim_expires_at <= $3)`, int64(qid), int64(author), now)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("question %d is claimed by another teacher: %w", qid, ErrConflict)
		}
		if err := q.queryRow(ctx, `INSERT INTO qa_answers (question_id, author_id, text, image_count, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, int64(qid), int64(author), text, len(images), now).Scan(&id); err != nil {
			return err
		}
		if err := s.indexText(ctx, q, k.district, int64(qid), text); err != nil {
			return err
		}
		if err := insertQAImages(ctx, q, qid, id, images); err != nil {
			return err
		}
		act := k.activity("qa.answer", qid)
		act.Value = (now - k.created) / 1000 // seconds from question to this answer
		return s.logChange(ctx, q, a, act, map[string]any{"answer_id": int64(id)}, nil)
	})
	if err != nil {
		return Answer{}, fmt.Errorf("storage: add answer: %w", err)
	}
	return s.GetAnswer(ctx, id)
}

const answerCols = `a.id, a.question_id, a.author_id, u.name, a.text, a.image_count, a.votes, a.id = q.adopted_answer_id,
	a.hidden_reason, a.created_at`
const answerFrom = ` FROM qa_answers a JOIN users u ON u.id = a.author_id JOIN qa_questions q ON q.id = a.question_id`

func scanAnswer(r row) (Answer, error) {
	var x Answer
	var created int64
	err := r.Scan(&x.ID, &x.QuestionID, &x.AuthorID, &x.AuthorName, &x.Text, &x.ImageCount, &x.Votes, &x.Adopted, &x.HiddenReason, &created)
	x.CreatedAt = fromMS(created)
	return x, err
}

// GetAnswer reads one answer.
func (s *Store) GetAnswer(ctx context.Context, id AnswerID) (Answer, error) {
	x, err := scanAnswer(s.r().queryRow(ctx, "SELECT "+answerCols+answerFrom+" WHERE a.id = $1", int64(id)))
	if isNoRows(err) {
		return Answer{}, fmt.Errorf("storage: answer %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("storage: answer %d: %w", id, err)
	}
	return x, nil
}

// ListAnswers lists a question's answers, oldest first.
func (s *Store) ListAnswers(ctx context.Context, qid QuestionID) ([]Answer, error) {
	rs, err := s.r().query(ctx, "SELECT "+answerCols+answerFrom+" WHERE a.question_id = $1 ORDER BY a.id", int64(qid))
	if err != nil {
		return nil, fmt.Errorf("storage: answers of question %d: %w", qid, err)
	}
	defer rs.Close()
	out := []Answer{}
	for rs.Next() {
		x, err := scanAnswer(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: answers of question %d: %w", qid, err)
		}
		out = append(out, x)
	}
	return out, rs.Err()
}

// VoteAnswer records teacher's up-vote; a second vote by the same teacher is ErrDuplicate.
func (s *Store) VoteAnswer(ctx context.Context, a Actor, id AnswerID, teacher UserID) (Answer, error) {
	err := s.tx(ctx, func(q querier) error {
		var qid QuestionID
		if err := q.queryRow(ctx, `SELECT question_id FROM qa_answers WHERE id = $1`, int64(id)).Scan(&qid); err != nil {
			if isNoRows(err) {
				return fmt.Errorf("answer %d: %w", id, ErrNotFound)
			}
			return err
		}
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, `INSERT INTO qa_votes (answer_id, teacher_id, voted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			int64(id), int64(teacher), ms(s.now()))
		if err != nil {
			return err
		}
		if n == 0 {
			return &DuplicateError{Field: "vote", Value: itoa(id)}
		}
		if _, err := q.exec(ctx, `UPDATE qa_answers SET votes = votes + 1 WHERE id = $1`, int64(id)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, k.activity("qa.vote", qid), map[string]any{"answer_id": int64(id)}, nil)
	})
	if err != nil {
		return Answer{}, fmt.Errorf("storage: vote: %w", err)
	}
	return s.GetAnswer(ctx, id)
}

// AddComment adds a follow-up to a question, or to one of its answers (answer non-zero).
func (s *Store) AddComment(ctx context.Context, a Actor, qid QuestionID, answer AnswerID, author UserID, text string) (Comment, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "" || !utf8.ValidString(text):
		return Comment{}, &FieldError{Field: "text", Message: "write the comment"}
	case utf8.RuneCountInString(text) > MaxComment:
		return Comment{}, &FieldError{Field: "text", Message: fmt.Sprintf("at most %d characters", MaxComment)}
	}
	var id CommentID
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		if answer != 0 {
			var owner QuestionID
			err := q.queryRow(ctx, `SELECT question_id FROM qa_answers WHERE id = $1`, int64(answer)).Scan(&owner)
			if isNoRows(err) || (err == nil && owner != qid) {
				return &FieldError{Field: "answer_id", Message: "no such answer to this question"}
			}
			if err != nil {
				return err
			}
		}
		if err := q.queryRow(ctx, `INSERT INTO qa_comments (question_id, answer_id, author_id, text, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, int64(qid), int64(answer), int64(author), text, ms(s.now())).Scan(&id); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, k.activity("qa.comment", qid), nil, nil)
	})
	if err != nil {
		return Comment{}, fmt.Errorf("storage: add comment: %w", err)
	}
	cs, err := s.ListComments(ctx, qid)
	if err != nil {
		return Comment{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return Comment{}, fmt.Errorf("storage: comment %d: %w", id, ErrNotFound)
}

// ListComments lists the comments on a question and its answers, oldest first.
func (s *Store) ListComments(ctx context.Context, qid QuestionID) ([]Comment, error) {
	rs, err := s.r().query(ctx, `SELECT c.id, c.question_id, c.answer_id, c.author_id, u.name, c.text, c.created_at
		FROM qa_comments c JOIN users u ON u.id = c.author_id WHERE c.question_id = $1 ORDER BY c.id`, int64(qid))
	if err != nil {
		return nil, fmt.Errorf("storage: comments of question %d: %w", qid, err)
	}
	defer rs.Close()
	out := []Comment{}
	for rs.Next() {
		var c Comment
		var created int64
		if err := rs.Scan(&c.ID, &c.QuestionID, &c.AnswerID, &c.AuthorID, &c.AuthorName, &c.Text, &created); err != nil {
			return nil, fmt.Errorf("storage: comments of question %d: %w", qid, err)
		}
		c.CreatedAt = fromMS(created)
		out = append(out, c)
	}
	return out, rs.Err()
}

// AdoptAnswer marks one answer of the question as the asker's choice. The
// adoption may be changed until window after it was first made; a rating
// given to the previous choice is dropped.
func (s *Store) AdoptAnswer(ctx context.Context, a Actor, qid QuestionID, answer AnswerID, window time.Duration) (Question, error) {
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case k.status == string(QuestionEscalated) || k.status == string(QuestionOpen):
			return fmt.Errorf("question %d is %s: %w", qid, k.status, ErrClosed)
		case k.adoptedAt != 0 && now.After(fromMS(k.adoptedAt).Add(window)):
			return fmt.Errorf("the adoption of question %d can no longer change: %w", qid, ErrClosed)
		case k.adopted == int64(answer):
			return nil
		}
		var owner QuestionID
		err = q.queryRow(ctx, `SELECT question_id FROM qa_answers WHERE id = $1`, int64(answer)).Scan(&owner)
		if isNoRows(err) || (err == nil && owner != qid) {
			return &FieldError{Field: "answer_id", Message: "no such answer to this question"}
		}
		if err != nil {
			return err
		}
		first := k.adoptedAt
		if first == 0 {
			first = ms(now)
		}
		if _, err := q.exec(ctx, `UPDATE qa_questions SET status = 'adopted', adopted_answer_id = $2, adopted_at = $3,
			claimed_by = 0, claim_expires_at = 0, updated_at = $4 WHERE id = $1`, int64(qid), int64(answer), first, ms(now)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM qa_ratings WHERE question_id = $1`, int64(qid)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, k.activity("qa.adopt", qid), map[string]any{"answer_id": int64(answer), "changed": k.adopted != 0}, nil)
	})
	if err != nil {
		return Question{}, fmt.Errorf("storage: adopt answer: %w", err)
	}
	return s.GetQuestion(ctx, qid)
}

// RateAdopted records (or replaces) the asker's 1–5 rating of the adopted answer.
func (s *Store) RateAdopted(ctx context.Context, a Actor, qid QuestionID, score int) (QARating, error) {
	if score < 1 || score > 5 {
		return QARating{}, &FieldError{Field: "score", Message: "must be 1–5"}
	}
	var r QARating
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		if k.status != string(QuestionAdopted) {
			return fmt.Errorf("question %d has no adopted answer: %w", qid, ErrClosed)
		}
		var teacher int64
		if err := q.queryRow(ctx, `SELECT author_id FROM qa_answers WHERE id = $1`, k.adopted).Scan(&teacher); err != nil {
			return err
		}
		now := s.now()
		if _, err := q.exec(ctx, `DELETE FROM qa_ratings WHERE question_id = $1`, int64(qid)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO qa_ratings (question_id, answer_id, teacher_id, district_id, school_id, subject_id, month, score, rated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, int64(qid), k.adopted, teacher, k.district, k.school, k.subject,
			s.Month(fromMS(k.created)), score, ms(now)); err != nil {
			return err
		}
		r = QARating{QuestionID: qid, AnswerID: AnswerID(k.adopted), TeacherID: UserID(teacher), Score: score, RatedAt: fromMS(ms(now))}
		act := k.activity("qa.rate", qid)
		act.Value = int64(score)
		return s.logChange(ctx, q, a, act, map[string]any{"answer_id": k.adopted}, nil)
	})
	if err != nil {
		return QARating{}, fmt.Errorf("storage: rate answer: %w", err)
	}
	return r, nil
}

// QuestionRating reads the rating of a question's adopted answer.
func (s *Store) QuestionRating(ctx context.Context, qid QuestionID) (QARating, error) {
	var r QARating
	var at int64
	err := s.r().queryRow(ctx, `SELECT question_id, answer_id, teacher_id, score, rated_at FROM qa_ratings WHERE question_id = $1`,
		int64(qid)).Scan(&r.QuestionID, &r.AnswerID, &r.TeacherID, &r.Score, &at)
	if isNoRows(err) {
		return QARating{}, fmt.Errorf("storage: rating of question %d: %w", qid, ErrNotFound)
	}
	if err != nil {
		return QARating{}, fmt.Errorf("storage: rating of question %d: %w", qid, err)
	}
	r.RatedAt = fromMS(at)
	return r, nil
}

// MarkEscalated links a question to the tutoring request it became; only
// an open or answered question escalates, and only once.
func (s *Store) MarkEscalated(ctx context.Context, a Actor, qid QuestionID, req TutoringRequestID) (Question, error) {
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, `UPDATE qa_questions SET status = 'escalated', tutoring_request_id = $2, claimed_by = 0,
			claim_expires_at = 0, updated_at = $3 WHERE id = $1 AND status IN ('open', 'answered')`, int64(qid), int64(req), ms(s.now()))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("question %d is %s: %w", qid, k.status, ErrClosed)
		}
		return s.logChange(ctx, q, a, k.activity("qa.escalate", qid), map[string]any{"tutoring_request_id": int64(req)}, nil)
	})
	if err != nil {
		return Question{}, fmt.Errorf("storage: escalate question: %w", err)
	}
	return s.GetQuestion(ctx, qid)
}

// QuestionImages returns all pictures of a question (answer 0) or answer, in order.
func (s *Store) QuestionImages(ctx context.Context, qid QuestionID, aid AnswerID) ([]QAImage, error) {
	rs, err := s.r().query(ctx, `SELECT type, data FROM qa_images WHERE question_id = $1 AND answer_id = $2 ORDER BY n`, int64(qid), int64(aid))
	if err != nil {
		return nil, fmt.Errorf("storage: pictures of question %d: %w", qid, err)
	}
	defer rs.Close()
	var out []QAImage
	for rs.Next() {
		var im QAImage
		if err := rs.Scan(&im.Type, &im.Data); err != nil {
			return nil, fmt.Errorf("storage: pictures of question %d: %w", qid, err)
		}
		out = append(out, im)
	}
	return out, rs.Err()
}

// MaxHideReason bounds a moderator's reason.
const MaxHideReason = 500

// HideQuestion hides a question (answer 0) or one of its answers with a
// moderator's reason; the text stays stored for audit, and the activity row
// keeps who and why. An empty reason unhides.
func (s *Store) HideQuestion(ctx context.Context, a Actor, qid QuestionID, answer AnswerID, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxHideReason || !utf8.ValidString(reason) {
		return &FieldError{Field: "reason", Message: fmt.Sprintf("at most %d characters", MaxHideReason)}
	}
	err := s.tx(ctx, func(q querier) error {
		k, err := lockQuestion(ctx, q, qid)
		if err != nil {
			return err
		}
		var n int64
		if answer == 0 {
			n, err = q.exec(ctx, `UPDATE qa_questions SET hidden_reason = $2, hidden_by = $3 WHERE id = $1`, int64(qid), reason, int64(a.UserID))
		} else {
			n, err = q.exec(ctx, `UPDATE qa_answers SET hidden_reason = $3, hidden_by = $4 WHERE id = $2 AND question_id = $1`,
				int64(qid), int64(answer), reason, int64(a.UserID))
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return &FieldError{Field: "answer_id", Message: "no such answer to this question"}
		}
		action := "qa.hide"
		if reason == "" {
			action = "qa.unhide"
		}
		return s.logChange(ctx, q, a, k.activity(action, qid), map[string]any{"answer_id": int64(answer), "reason": reason}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: hide: %w", err)
	}
	return nil
}

// RecentOpenQuestions lists the open questions (not hidden) asked since,
// oldest first, across districts: what a restarted node routes again.
func (s *Store) RecentOpenQuestions(ctx context.Context, since time.Time, limit int) ([]Question, error) {
	rs, err := s.r().query(ctx, "SELECT "+questionCols+questionFrom+
		" WHERE q.status = 'open' AND q.hidden_reason = '' AND q.created_at >= $1 ORDER BY q.id LIMIT $2", ms(since), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: recent open questions: %w", err)
	}
	defer rs.Close()
	out := []Question{}
	for rs.Next() {
		x, err := scanQuestion(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: recent open questions: %w", err)
		}
		out = append(out, x)
	}
	return out, rs.Err()
}
