package classes

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/token"
	"yunke/storage"
)

// wsURL turns a node's http(s) base URL into the ws(s) URL of its signaling.
func wsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u.String()
}

// Routes are the classes API routes.
func (s *Service) Routes() []httpapi.Route {
	a := func(as ...authz.Action) []authz.Action { return as }
	anyone := a(authz.ClassAttend, authz.ClassTeach, authz.ClassSchedule, authz.ClassReview)
	return []httpapi.Route{
		{Method: "GET", Path: "/classes", Actions: anyone, Handle: s.handleTimetable},
		{Method: "POST", Path: "/classes", Actions: a(authz.ClassSchedule), Handle: s.handleCreate},
		{Method: "POST", Path: "/classes/import", Actions: a(authz.ClassSchedule), Handle: s.handleImport},
		{Method: "GET", Path: "/classes/satisfaction", Actions: a(authz.ClassReview), Handle: s.handleSatisfaction},
		{Method: "GET", Path: "/classes/{id}", Actions: anyone, Handle: s.handleGet},
		{Method: "PUT", Path: "/classes/{id}", Actions: a(authz.ClassSchedule), Handle: s.handleUpdate},
		{Method: "POST", Path: "/classes/{id}/cancel", Actions: a(authz.ClassSchedule), Handle: s.handleCancel},
		{Method: "POST", Path: "/classes/{id}/join", Actions: a(authz.ClassAttend, authz.ClassTeach, authz.ClassReview), Handle: s.handleJoin},
		{Method: "POST", Path: "/classes/{id}/end", Actions: a(authz.ClassTeach, authz.ClassSchedule), Handle: s.handleEnd},
		{Method: "GET", Path: "/classes/{id}/record", Actions: a(authz.ClassTeach, authz.ClassReview), Handle: s.handleRecord},
		{Method: "PUT", Path: "/classes/{id}/rating", Actions: a(authz.ClassAttend), Handle: s.handleRate},
	}
}

// access is what the caller is to one class.
type access struct {
	member   storage.ClassRole // teacher or assistant of the class (with class.teach)
	student  bool              // a student of its audience (with class.attend)
	review   bool              // class.review covers it
	schedule bool              // class.schedule covers it
}

func (x access) any() bool { return x.member != "" || x.student || x.review || x.schedule }

func place(c *storage.Class) httpapi.Place {
	return httpapi.Place{District: c.DistrictID, School: c.SchoolID}
}

func accessOf(r *http.Request, c *storage.Class) access {
	p := httpapi.PrincipalFrom(r.Context())
	var x access
	if p == nil {
		return x
	}
	if authz.Allows(p.User.Roles, authz.ClassTeach) && p.User.Active {
		x.member = c.RoleOf(p.User.ID)
	}
	x.student = authz.Allows(p.User.Roles, authz.ClassAttend) && p.User.Active && c.InAudience(&p.User)
	_, err := httpapi.Authorize(r, authz.ClassReview, place(c))
	x.review = err == nil
	_, err = httpapi.Authorize(r, authz.ClassSchedule, place(c))
	x.schedule = err == nil
	return x
}

// classFor loads the class of the path and what the caller is to it; a
// caller who is nothing to it is refused.
func (s *Service) classFor(r *http.Request) (storage.Class, access, error) {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Class{}, access{}, err
	}
	c, err := s.p.Store.GetClass(r.Context(), storage.ClassID(id))
	if err != nil {
		return c, access{}, err
	}
	x := accessOf(r, &c)
	if !x.any() {
		return c, x, httpapi.ErrForbidden
	}
	return c, x, nil
}

// View is a class as the timetable shows it to the caller.
type View struct {
	storage.Class
	Room        string               `json:"room"`
	JoinOpensAt time.Time            `json:"join_opens_at"`
	CanJoin     bool                 `json:"can_join"`
	MyRole      string               `json:"my_role,omitempty"` // teacher, assistant, student or observer
	MyRating    *storage.ClassRating `json:"my_rating,omitempty"`
}

func (s *Service) view(c storage.Class, x access, now time.Time) View {
	v := View{Class: c, Room: string(RoomName(c.ID)), JoinOpensAt: s.JoinOpensAt(&c)}
	switch {
	case x.member != "":
		v.MyRole = string(x.member)
	case x.student:
		v.MyRole = string(storage.ClassRoleStudent)
	case x.review:
		v.MyRole = string(storage.ClassRoleObserver)
	}
	v.CanJoin = v.MyRole != "" && s.joinable(&c, now) == nil
	return v
}

// ---- timetable -------------------------------------------------------------

// maxSpan bounds the time range of one timetable request.
const maxSpan = 120 * 24 * time.Hour

// parseDay reads a date (YYYY-MM-DD, the day's start in storage.Zone) or
// an RFC 3339 time.
func parseDay(v string) (time.Time, bool) {
	if t, err := time.ParseInLocation(time.DateOnly, v, storage.Zone); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// handleTimetable lists classes from ?from (default: today) to ?to
// (default: a week later): a student's of their audience, a teacher's own,
// an administrator's or expert's in scope (?school_id= narrows it). ?as=
// picks among a user's roles; the default follows the highest.
func (s *Service) handleTimetable(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	f := httpapi.Fields{}
	q := r.URL.Query()
	limit, offset := httpapi.ListPage(r, f)
	now := s.p.Now().In(storage.Zone)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, storage.Zone)
	if v := q.Get("from"); v != "" {
		var ok bool
		if from, ok = parseDay(v); !ok {
			f.Add("from", "must be YYYY-MM-DD or an RFC 3339 time")
		}
	}
	to := from.AddDate(0, 0, 7)
	if v := q.Get("to"); v != "" {
		var ok bool
		if to, ok = parseDay(v); !ok {
			f.Add("to", "must be YYYY-MM-DD or an RFC 3339 time")
		}
	}
	if !to.After(from) || to.Sub(from) > maxSpan {
		f.Add("to", "must be after from, and at most 120 days after it")
	}
	as := q.Get("as")
	if as == "" {
		switch {
		case authz.Allows(p.User.Roles, authz.ClassReview):
			as = "admin"
		case authz.Allows(p.User.Roles, authz.ClassTeach):
			as = "teacher"
		default:
			as = "student"
		}
	}
	filter := storage.ClassFilter{From: from, To: to, Limit: limit, Offset: offset}
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			switch x := storage.ClassStatus(strings.TrimSpace(st)); x {
			case storage.ClassScheduled, storage.ClassLive, storage.ClassEnded, storage.ClassCancelled:
				filter.Statuses = append(filter.Statuses, x)
			default:
				f.Add("status", "must be scheduled, live, ended or cancelled (comma-separated)")
			}
		}
	}
	switch {
	case as == "student" && authz.Allows(p.User.Roles, authz.ClassAttend):
		u := p.User
		filter.Student = &u
	case as == "teacher" && authz.Allows(p.User.Roles, authz.ClassTeach):
		filter.Member = p.User.ID
	case as == "admin" && authz.Allows(p.User.Roles, authz.ClassReview):
		school, err := httpapi.ExplicitSchool(r, s.p.Store, authz.ClassReview, "school_id", f)
		if err != nil {
			return err
		}
		if school != 0 {
			filter.SchoolIDs = []storage.SchoolID{school}
		} else if filter.DistrictID, filter.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), s.p.Store,
			authz.ScopeOf(&p.User, authz.ClassReview)); err != nil {
			return err
		}
	default:
		f.Add("as", "must be a role of yours: student, teacher or admin")
	}
	if err := f.Err(); err != nil {
		return err
	}
	items, total, err := s.p.Store.ListClasses(r.Context(), filter)
	if err != nil {
		return err
	}
	views := make([]View, len(items))
	for i, c := range items {
		views[i] = s.view(c, accessOf(r, &c), now)
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.List[View]{Items: views, Total: total})
	return nil
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	v := s.view(c, x, s.p.Now())
	if x.student {
		if cr, err := s.p.Store.GetClassRating(r.Context(), c.ID, httpapi.PrincipalFrom(r.Context()).User.ID); err == nil {
			v.MyRating = &cr
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// ---- scheduling ------------------------------------------------------------

// classBody creates (with weeks) or replaces (with version) a class.
type classBody struct {
	DistrictID      storage.DistrictID         `json:"district_id"`
	SchoolID        storage.SchoolID           `json:"school_id"`
	Title           string                     `json:"title"`
	SubjectID       storage.SubjectID          `json:"subject_id"`
	Grade           int                        `json:"grade"`
	KnowledgePoints []storage.KnowledgePointID `json:"knowledge_point_ids"`
	TeacherID       storage.UserID             `json:"teacher_id"`
	Assistants      []storage.UserID           `json:"assistant_ids"`
	Audience        storage.ClassAudience      `json:"audience"`
	Groups          []string                   `json:"groups"`
	StartsAt        time.Time                  `json:"starts_at"`
	PlannedMinutes  int                        `json:"planned_minutes"`
	Premium         bool                       `json:"premium"`
	Recording       *bool                      `json:"recording"` // default true
	Weeks           int                        `json:"weeks"`     // create: occurrences, a week apart (default 1)
	Version         int64                      `json:"version"`   // update: the version edited
}

// input turns b into a class input, resolving its place, which the caller
// must be allowed to schedule in.
func (s *Service) input(r *http.Request, b classBody) (storage.ClassInput, error) {
	p := httpapi.PrincipalFrom(r.Context())
	in := storage.ClassInput{DistrictID: b.DistrictID, SchoolID: b.SchoolID, Title: b.Title, SubjectID: b.SubjectID,
		Grade: b.Grade, KnowledgePoints: b.KnowledgePoints, TeacherID: b.TeacherID, Assistants: b.Assistants,
		Audience: b.Audience, Groups: b.Groups, StartsAt: b.StartsAt, PlannedMinutes: b.PlannedMinutes,
		Premium: b.Premium, Recording: b.Recording == nil || *b.Recording}
	// Without a school, a class is the caller's school's — unless it is
	// for the whole district.
	if in.SchoolID == 0 && in.Audience != storage.AudienceDistrict {
		if in.SchoolID = p.User.SchoolID; in.SchoolID == 0 {
			return in, httpapi.Invalid("school_id", "required, unless the audience is the district")
		}
	}
	if in.Audience == "" {
		in.Audience = storage.AudienceGrade
	}
	if in.SchoolID != 0 {
		sc, err := s.p.Store.GetSchool(r.Context(), in.SchoolID)
		if errors.Is(err, storage.ErrNotFound) {
			return in, httpapi.Invalid("school_id", "no such school")
		}
		if err != nil {
			return in, err
		}
		if in.DistrictID != 0 && in.DistrictID != sc.DistrictID {
			return in, httpapi.Invalid("district_id", "the school is in another district")
		}
		in.DistrictID = sc.DistrictID
	} else if in.DistrictID == 0 {
		in.DistrictID = p.User.DistrictID
		if in.DistrictID == 0 {
			return in, httpapi.Invalid("district_id", "required for a district-wide class")
		}
	}
	if _, err := httpapi.Authorize(r, authz.ClassSchedule, httpapi.Place{District: in.DistrictID, School: in.SchoolID}); err != nil {
		return in, err
	}
	return in, nil
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var b classBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	in, err := s.input(r, b)
	if err != nil {
		return err
	}
	occ, err := s.Series(in, max(b.Weeks, 1))
	if err != nil {
		return err
	}
	made, err := s.p.Store.CreateClasses(r.Context(), httpapi.Actor(r), [][]storage.ClassInput{occ})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, httpapi.Items[storage.Class]{Items: made})
	return nil
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	if !x.schedule {
		return httpapi.ErrForbidden
	}
	var b classBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	if b.Weeks != 0 {
		return httpapi.Invalid("weeks", "a class is edited alone; schedule more weeks with POST /classes")
	}
	in, err := s.input(r, b)
	if err != nil {
		return err
	}
	up, err := s.p.Store.UpdateClass(r.Context(), httpapi.Actor(r), c.ID, b.Version, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, up)
	return nil
}

type cancelBody struct {
	// Series: also cancel the later classes of its weekly series.
	Series bool `json:"series"`
}

func (s *Service) handleCancel(w http.ResponseWriter, r *http.Request) error {
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	if !x.schedule {
		return httpapi.ErrForbidden
	}
	var b cancelBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	gone, err := s.p.Store.CancelClass(r.Context(), httpapi.Actor(r), c.ID, b.Series, s.p.Now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"cancelled": httpapi.NonNil(gone)})
	return nil
}

// ---- the room --------------------------------------------------------------

// handleJoin hands out a token for the class's room with the caller's role
// in it: its teacher and assistants as such, a student of its audience as
// a student, an expert or administrator in scope as a hidden observer.
func (s *Service) handleJoin(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	var role token.Role
	switch {
	case x.member == storage.ClassRoleTeacher:
		role = token.RoleTeacher
	case x.member == storage.ClassRoleAssistant:
		role = token.RoleAssistant
	case x.student:
		role = token.RoleStudent
	case x.review:
		role = token.RoleObserver
	default:
		return httpapi.ErrForbidden
	}
	j, err := s.JoinAs(r.Context(), &p.User, c, role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, j)
	return nil
}

// handleEnd ends a live class: its teacher's, or an administrator's in scope.
func (s *Service) handleEnd(w http.ResponseWriter, r *http.Request) error {
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	if x.member != storage.ClassRoleTeacher && !x.schedule {
		return httpapi.ErrForbidden
	}
	ended, err := s.End(r.Context(), httpapi.Actor(r), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ended)
	return nil
}

// ---- the record ------------------------------------------------------------

// Record is a class's attendance and ratings.
type Record struct {
	Class     storage.Class         `json:"class"`
	Attendees []Attendee            `json:"attendees"`
	Ratings   []storage.ClassRating `json:"ratings"`
	// Satisfaction sums the ratings up as the satisfaction figures do.
	Satisfaction storage.Satisfaction `json:"satisfaction"`
}

func (s *Service) handleRecord(w http.ResponseWriter, r *http.Request) error {
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	if x.member == "" && !x.review {
		return httpapi.ErrForbidden
	}
	rec, err := s.Record(r.Context(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rec)
	return nil
}

// Record is the class's record now: everyone's attendance with their
// talk time, hands, messages and poll answers (those of its room between
// its actual start and end), and the ratings.
func (s *Service) Record(ctx context.Context, c storage.Class) (Record, error) {
	rows, err := s.p.Store.ClassAttendance(ctx, c.ID)
	if err != nil {
		return Record{}, err
	}
	part, err := s.p.Store.ClassParticipation(ctx, c.ID, string(RoomName(c.ID)), c.StartedAt, c.EndedAt)
	if err != nil {
		return Record{}, err
	}
	ratings, err := s.p.Store.ListClassRatings(ctx, c.ID)
	if err != nil {
		return Record{}, err
	}
	sat := storage.Satisfaction{Key: itoa(int64(c.ID))}
	sum := 0
	for _, cr := range ratings {
		sat.Ratings++
		sat.Distribution[cr.Score-1]++
		sum += cr.Score
	}
	sat.Satisfied = sat.Distribution[3] + sat.Distribution[4]
	if sat.Ratings > 0 {
		sat.Share = float64(sat.Satisfied) / float64(sat.Ratings)
		sat.Mean = float64(sum) / float64(sat.Ratings)
	}
	att := Summarize(&c, rows, s.p.Now())
	Participate(att, part)
	return Record{Class: c, Attendees: httpapi.NonNil(att), Ratings: httpapi.NonNil(ratings), Satisfaction: sat}, nil
}

type ratingBody struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func (s *Service) handleRate(w http.ResponseWriter, r *http.Request) error {
	c, x, err := s.classFor(r)
	if err != nil {
		return err
	}
	if !x.student {
		return httpapi.ErrForbidden
	}
	var b ratingBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	if b.Score < 1 || b.Score > 5 {
		f.Add("score", "must be 1–5")
	}
	httpapi.CheckText(f, "comment", &b.Comment, 0, storage.MaxRatingText)
	if err := f.Err(); err != nil {
		return err
	}
	cr, err := s.Rate(r.Context(), httpapi.Actor(r), c, b.Score, b.Comment)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, cr)
	return nil
}

// handleSatisfaction reports satisfaction with classes in the caller's
// scope, grouped by month, teacher, school, subject or premium.
func (s *Service) handleSatisfaction(w http.ResponseWriter, r *http.Request) error {
	sq, err := httpapi.SatisfactionQuery(r, s.p.Store, authz.ClassReview, s.p.Now(), storage.ByMonth, storage.ByTeacher, storage.BySchool, storage.BySubject, storage.ByPremium)
	if err != nil {
		return err
	}
	items, err := s.p.Store.ClassSatisfaction(r.Context(), sq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Satisfaction]{Items: httpapi.NonNil(items)})
	return nil
}
