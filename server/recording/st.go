package recording

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/stanalysis"
	"yunke/storage"
)

// S-T analysis of a recording: the samples coded automatically from the
// speaking intervals, the experts' hand codes beside them, the summary of
// each, and trends per teacher and per school over a term.

// stSample is one sample with its automatic and, when an expert re-coded
// it, its hand code; Code is the one that counts (the hand code if any).
type stSample struct {
	stanalysis.Sample
	Auto   stanalysis.Code `json:"auto"`
	Manual *storage.STCode `json:"manual"`
}

type stView struct {
	RecordingID storage.RecordingID `json:"recording_id"`
	IntervalS   int64               `json:"interval_s"`
	DurationMS  int64               `json:"duration_ms"`
	Samples     []stSample          `json:"samples"`
	// Auto sums up the automatic codes; Result the codes that count.
	Auto   stanalysis.Result  `json:"auto"`
	Result stanalysis.Result  `json:"result"`
	Curve  []stanalysis.Point `json:"curve"`
	// CanCode: the caller may re-code samples.
	CanCode bool `json:"can_code"`
}

// stInterval reads ?interval_s (5–600), or the configured default.
func (s *Service) stInterval(r *http.Request, given string) (int64, error) {
	if given == "" {
		return s.p.STInterval.Milliseconds(), nil
	}
	n, err := strconv.ParseInt(given, 10, 64)
	if err != nil || n*1000 < stanalysis.MinIntervalMS || n*1000 > stanalysis.MaxIntervalMS {
		return 0, httpapi.Invalid("interval_s", "a number of seconds from 5 to 600")
	}
	return n * 1000, nil
}

// analyse codes a recording at intervalMS and lays the hand codes over.
func (s *Service) analyse(ctx context.Context, rec storage.Recording, intervalMS int64) (stView, error) {
	sp, err := s.p.Store.RecordingSpeaking(ctx, rec.ID)
	if err != nil {
		return stView{}, err
	}
	codes, err := s.p.Store.STCodes(ctx, rec.ID, intervalMS)
	if err != nil {
		return stView{}, err
	}
	iv := make([]stanalysis.Interval, len(sp))
	for i, x := range sp {
		iv[i] = stanalysis.Interval{Teacher: x.Role == "teacher", StartMS: x.StartMS, EndMS: x.EndMS}
	}
	duration := rec.DurationMS
	if rec.Status == storage.RecordingInProgress {
		duration = s.p.Now().Sub(rec.StartedAt).Milliseconds()
	}
	samples := stanalysis.Analyse(iv, duration, intervalMS)
	v := stView{RecordingID: rec.ID, IntervalS: intervalMS / 1000, DurationMS: duration, Samples: make([]stSample, len(samples))}
	auto := make([]stanalysis.Code, len(samples))
	eff := make([]stanalysis.Code, len(samples))
	for i, sm := range samples {
		v.Samples[i] = stSample{Sample: sm, Auto: sm.Code}
		auto[i], eff[i] = sm.Code, sm.Code
	}
	for i := range codes {
		c := codes[i]
		if c.Sample < 0 || c.Sample >= len(samples) {
			continue // a sample past the end of a shorter analysis
		}
		v.Samples[c.Sample].Manual = &c
		v.Samples[c.Sample].Code = stanalysis.Code(c.Code)
		eff[c.Sample] = stanalysis.Code(c.Code)
	}
	v.Auto, v.Result, v.Curve = stanalysis.Summarise(auto), stanalysis.Summarise(eff), stanalysis.Curve(eff)
	return v, nil
}

// stRecording loads the recording of the path for the S-T routes: 404 for
// none (or a deleted one), 403 for one the caller may not read.
func (s *Service) stRecording(r *http.Request) (storage.Recording, error) {
	p := httpapi.PrincipalFrom(r.Context())
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.Recording{}, err
	}
	rec, err := s.p.Store.GetRecording(r.Context(), storage.RecordingID(id))
	if err != nil {
		return rec, err
	}
	if rec.Status == storage.RecordingDeleted {
		return storage.Recording{}, httpapi.ErrNotFound
	}
	// Either version: the S-T analysis names nobody (samples, the
	// teacher's and the students' speaking time, the experts' codes).
	if version, err := s.mayWatch(r.Context(), &p.User, rec); err != nil {
		return storage.Recording{}, err
	} else if version == "" {
		return storage.Recording{}, httpapi.ErrForbidden
	}
	return rec, nil
}

func (s *Service) handleST(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.stRecording(r)
	if err != nil {
		return err
	}
	interval, err := s.stInterval(r, r.URL.Query().Get("interval_s"))
	if err != nil {
		return err
	}
	v, err := s.analyse(r.Context(), rec, interval)
	if err != nil {
		return err
	}
	p := httpapi.PrincipalFrom(r.Context())
	v.CanCode = authz.ScopeOf(&p.User, authz.RecordingCode).Covers(rec.DistrictID, rec.SchoolID)
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

type stCodeBody struct {
	IntervalS int64  `json:"interval_s"`
	Code      string `json:"code"`
}

// handleSTCode: an expert in scope re-codes one sample (code S or T), or
// gives it back to the automatic coding (code ""). It answers the analysis.
func (s *Service) handleSTCode(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	rec, err := s.p.Store.GetRecording(r.Context(), storage.RecordingID(id))
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.RecordingCode, httpapi.Place{District: rec.DistrictID, School: rec.SchoolID}); err != nil {
		return err
	}
	if rec.Status == storage.RecordingDeleted {
		return httpapi.ErrNotFound
	}
	sample, err := strconv.Atoi(r.PathValue("sample"))
	if err != nil || sample < 0 {
		return httpapi.ErrNotFound
	}
	var b stCodeBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	given := ""
	if b.IntervalS != 0 {
		given = strconv.FormatInt(b.IntervalS, 10)
	}
	interval, err := s.stInterval(r, given)
	if err != nil {
		return err
	}
	if c := stanalysis.Code(b.Code); b.Code != "" && !c.Valid() {
		return httpapi.Invalid("code", "S, T, or empty to go back to the automatic code")
	}
	v, err := s.analyse(r.Context(), rec, interval)
	if err != nil {
		return err
	}
	if sample >= len(v.Samples) {
		return httpapi.ErrNotFound
	}
	if err := s.p.Store.SetSTCode(r.Context(), httpapi.Actor(r), rec.ID, interval, sample, b.Code,
		string(v.Samples[sample].Auto), s.p.Now()); err != nil {
		return err
	}
	if v, err = s.analyse(r.Context(), rec, interval); err != nil {
		return err
	}
	v.CanCode = true
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// maxTrend bounds the recordings one trend analyses.
const maxTrend = 200

type trendPoint struct {
	RecordingID storage.RecordingID `json:"recording_id"`
	Title       string              `json:"title"`
	TeacherID   storage.UserID      `json:"teacher_id"`
	TeacherName string              `json:"teacher_name"`
	StartedAt   time.Time           `json:"started_at"`
	stanalysis.Result
}

type trendMonth struct {
	Month string  `json:"month"` // YYYY-MM
	N     int     `json:"recordings"`
	Rt    float64 `json:"rt"` // mean
	Ch    float64 `json:"ch"` // mean
}

// trendTeacher is one teacher's share of a trend: their recordings, the
// means of Rt and Ch, and the mode those means describe.
type trendTeacher struct {
	TeacherID   storage.UserID  `json:"teacher_id"`
	TeacherName string          `json:"teacher_name"`
	N           int             `json:"recordings"`
	Rt          float64         `json:"rt"`
	Ch          float64         `json:"ch"`
	Mode        stanalysis.Mode `json:"mode"`
}

type trendView struct {
	From   string                  `json:"from"`
	To     string                  `json:"to"`
	Points []trendPoint            `json:"points"` // oldest first
	Months []trendMonth            `json:"months"`
	Modes  map[stanalysis.Mode]int `json:"modes"`
	// Teachers: per teacher, most recordings first (one row for a teacher's trend).
	Teachers []trendTeacher `json:"teachers"`
	Rt       float64        `json:"rt"` // mean over the recordings
	Ch       float64        `json:"ch"`
	// Truncated: more recordings matched than maxTrend; the latest were analysed.
	Truncated bool `json:"truncated"`
}

// term is the school term around t: autumn from August 1 to February 1,
// spring from February 1 to August 1 (in storage.Zone).
func term(t time.Time) (time.Time, time.Time) {
	t = t.In(storage.Zone)
	y := t.Year()
	switch m := t.Month(); {
	case m >= time.August:
		return time.Date(y, time.August, 1, 0, 0, 0, 0, storage.Zone), time.Date(y+1, time.February, 1, 0, 0, 0, 0, storage.Zone)
	case m == time.January:
		return time.Date(y-1, time.August, 1, 0, 0, 0, 0, storage.Zone), time.Date(y, time.February, 1, 0, 0, 0, 0, storage.Zone)
	}
	return time.Date(y, time.February, 1, 0, 0, 0, 0, storage.Zone), time.Date(y, time.August, 1, 0, 0, 0, 0, storage.Zone)
}

// handleSTTrend is the S-T trend of one teacher (teacher_id) or one school
// (school_id) over a term (from, to: YYYY-MM-DD; default the current term):
// each class recording's Rt, Ch and mode (hand codes counted), the means
// per month and overall. A teacher sees their own; experts and admins
// those in scope.
func (s *Service) handleSTTrend(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	q := r.URL.Query()
	f := httpapi.Fields{}
	teacher := storage.UserID(httpapi.QueryID(r, "teacher_id", f))
	school := storage.SchoolID(httpapi.QueryID(r, "school_id", f))
	if (teacher == 0) == (school == 0) {
		f.Add("teacher_id", "give a teacher_id or a school_id")
	}
	from, to := term(s.p.Now())
	day := func(name string, dflt time.Time) time.Time {
		v := q.Get(name)
		if v == "" {
			return dflt
		}
		t, err := time.ParseInLocation("2006-01-02", v, storage.Zone)
		if err != nil {
			f.Add(name, "a date, YYYY-MM-DD")
		}
		return t
	}
	from = day("from", from)
	if v := q.Get("to"); v != "" {
		to = day("to", to).AddDate(0, 0, 1) // the whole day
	}
	if !to.After(from) || to.Sub(from) > 400*24*time.Hour {
		f.Add("to", "after from, at most about a year later")
	}
	interval, err := s.stInterval(r, q.Get("interval_s"))
	if err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	read := authz.ScopeOf(&p.User, authz.RecordingRead)
	filter := storage.RecordingFilter{Kind: storage.RecordingClass, From: from, To: to, Limit: maxTrend,
		Statuses: []storage.RecordingStatus{storage.RecordingReady, storage.RecordingInterrupted}}
	if teacher != 0 {
		u, err := s.p.Store.GetUser(r.Context(), teacher)
		if err != nil {
			return err
		}
		own := teacher == p.User.ID && !authz.ScopeOf(&p.User, authz.RecordingOwn).Empty()
		if !own && !read.Covers(u.DistrictID, u.SchoolID) {
			return httpapi.ErrForbidden
		}
		filter.TeacherID = teacher
		if !own && !read.All {
			// The teacher's recordings in the caller's scope only.
			if filter.DistrictID, filter.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), s.p.Store, read); err != nil {
				return err
			}
		}
	} else {
		sc, err := s.p.Store.GetSchool(r.Context(), school)
		if err != nil {
			return err
		}
		if !read.Covers(sc.DistrictID, sc.ID) {
			return httpapi.ErrForbidden
		}
		filter.SchoolID = school
	}
	recs, total, err := s.p.Store.ListRecordings(r.Context(), filter)
	if err != nil {
		return err
	}
	v := trendView{From: from.Format("2006-01-02"), To: to.AddDate(0, 0, -1).Format("2006-01-02"), Points: []trendPoint{},
		Months: []trendMonth{}, Modes: map[stanalysis.Mode]int{}, Teachers: []trendTeacher{}, Truncated: total > len(recs)}
	byTeacher := map[storage.UserID]int{} // index in v.Teachers
	for i := len(recs) - 1; i >= 0; i-- { // oldest first
		rec := recs[i]
		a, err := s.analyse(r.Context(), rec, interval)
		if err != nil {
			return err
		}
		if a.Result.N == 0 {
			continue
		}
		v.Points = append(v.Points, trendPoint{RecordingID: rec.ID, Title: rec.Title, TeacherID: rec.TeacherID,
			TeacherName: rec.TeacherName, StartedAt: rec.StartedAt, Result: a.Result})
		v.Modes[a.Result.Mode]++
		month := rec.StartedAt.In(storage.Zone).Format("2006-01")
		if k := len(v.Months) - 1; k < 0 || v.Months[k].Month != month {
			v.Months = append(v.Months, trendMonth{Month: month})
		}
		k, ok := byTeacher[rec.TeacherID]
		if !ok {
			k = len(v.Teachers)
			byTeacher[rec.TeacherID] = k
			v.Teachers = append(v.Teachers, trendTeacher{TeacherID: rec.TeacherID, TeacherName: rec.TeacherName})
		}
		tt := &v.Teachers[k]
		tt.N++
		tt.Rt += a.Result.Rt
		tt.Ch += a.Result.Ch
		m := &v.Months[len(v.Months)-1]
		m.N++
		m.Rt += a.Result.Rt
		m.Ch += a.Result.Ch
		v.Rt += a.Result.Rt
		v.Ch += a.Result.Ch
	}
	for i := range v.Months {
		v.Months[i].Rt /= float64(v.Months[i].N)
		v.Months[i].Ch /= float64(v.Months[i].N)
	}
	for i := range v.Teachers {
		tt := &v.Teachers[i]
		tt.Rt /= float64(tt.N)
		tt.Ch /= float64(tt.N)
		tt.Mode = stanalysis.ModeOf(tt.Rt, tt.Ch)
	}
	slices.SortStableFunc(v.Teachers, func(a, b trendTeacher) int { return b.N - a.N })
	if n := len(v.Points); n > 0 {
		v.Rt /= float64(n)
		v.Ch /= float64(n)
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// AutoST computes a finished recording's automatic S-T result from its
// speaking intervals at the configured sampling interval: what the
// analysis shows without hand codes. A recording without any speaking
// interval has mode "" (no speech was heard), not "practice".
func (s *Service) AutoST(ctx context.Context, id storage.RecordingID) (storage.STResult, error) {
	rec, err := s.p.Store.GetRecording(ctx, id)
	if err != nil {
		return storage.STResult{}, err
	}
	sp, err := s.p.Store.RecordingSpeaking(ctx, id)
	if err != nil {
		return storage.STResult{}, err
	}
	interval := s.p.STInterval.Milliseconds()
	out := storage.STResult{RecordingID: id, IntervalMS: interval, ComputedAt: s.p.Now()}
	iv := make([]stanalysis.Interval, len(sp))
	for i, x := range sp {
		iv[i] = stanalysis.Interval{Teacher: x.Role == "teacher", StartMS: x.StartMS, EndMS: x.EndMS}
	}
	res := stanalysis.Summarise(stanalysis.Codes(stanalysis.Analyse(iv, rec.DurationMS, interval)))
	out.Samples = res.N
	if len(sp) > 0 {
		out.Mode, out.Rt, out.Ch = string(res.Mode), res.Rt, res.Ch
	}
	return out, nil
}

// keepAutoST stores a just-finished recording's automatic S-T result; on
// failure the hourly sweep (BackfillST) stores it later.
func (s *Service) keepAutoST(ctx context.Context, id storage.RecordingID) {
	r, err := s.AutoST(ctx, id)
	if err == nil {
		err = s.p.Store.SaveSTResult(context.WithoutCancel(ctx), r)
	}
	if err != nil {
		s.log.Warn("S-T result not stored; the sweep stores it later", "recording", id, "err", err)
	}
}

// stBatch is how many recordings one step of BackfillST reads.
const stBatch = 200

// BackfillST stores the automatic S-T result of every finished recording
// that lacks one (recorded before results were stored, or whose storing
// failed) and returns how many it stored. It is idempotent: a recording
// with a result is not analysed again.
func (s *Service) BackfillST(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := s.p.Store.RecordingsWithoutST(ctx, stBatch)
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			r, err := s.AutoST(ctx, id)
			if err != nil {
				return n, err
			}
			if err := s.p.Store.SaveSTResult(ctx, r); err != nil {
				return n, err
			}
			n++
		}
		if len(ids) < stBatch {
			if n > 0 {
				s.log.Info("S-T results stored", "recordings", n)
			}
			return n, nil
		}
	}
}
