package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/storage"
)

// shanghai is the time zone years and months are counted in.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// ---- subjects

func (s *Server) handleListSubjects(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.SubjectList); err != nil {
		return err
	}
	subs, err := s.catalog.ListSubjects(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemsAnswer[storage.Subject]{Items: nonNil(subs)})
	return nil
}

type subjectBody struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	Sort   int    `json:"sort"`
}

func checkSubject(f fieldErrors, sub *storage.Subject) {
	checkText(f, "name", &sub.Name, 1, 32)
	checkText(f, "name_en", &sub.NameEn, 0, 64)
	if sub.Sort < 0 || sub.Sort > 1_000_000 {
		f.add("sort", "must be 0 to 1000000")
	}
}

func (s *Server) handleCreateSubject(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.SubjectCreate, place{}); err != nil {
		return err
	}
	var b subjectBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	sub := storage.Subject{Code: b.Code, Name: b.Name, NameEn: b.NameEn, Sort: b.Sort, Active: true}
	f := fieldErrors{}
	checkCode(f, "code", &sub.Code, 32)
	checkSubject(f, &sub)
	if err := f.err(); err != nil {
		return err
	}
	out, err := s.catalog.CreateSubject(r.Context(), actor(r), sub)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

type patchSubjectBody struct {
	Name   *string `json:"name"`
	NameEn *string `json:"name_en"`
	Sort   *int    `json:"sort"`
	Active *bool   `json:"active"`
}

func (s *Server) handleUpdateSubject(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.SubjectUpdate, place{}); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	subs, err := s.catalog.ListSubjects(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(subs, func(x storage.Subject) bool { return x.ID == storage.SubjectID(id) })
	if i < 0 {
		return errNotFound
	}
	var b patchSubjectBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	sub := subs[i]
	setIf(&sub.Name, b.Name)
	setIf(&sub.NameEn, b.NameEn)
	setIf(&sub.Sort, b.Sort)
	setIf(&sub.Active, b.Active)
	f := fieldErrors{}
	checkSubject(f, &sub)
	if err := f.err(); err != nil {
		return err
	}
	out, err := s.catalog.UpdateSubject(r.Context(), actor(r), sub)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ---- knowledge points

func (s *Server) handleListKnowledgePoints(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.KnowledgeList); err != nil {
		return err
	}
	f := fieldErrors{}
	subject := queryID(r, "subject_id", f)
	if subject == 0 {
		f.add("subject_id", "required")
	}
	grade := 0
	if v := r.URL.Query().Get("grade"); v != "" {
		g, err := strconv.Atoi(v)
		if err != nil || g < 1 || g > 12 {
			f.add("grade", "must be 1 to 12")
		}
		grade = g
	}
	if err := f.err(); err != nil {
		return err
	}
	kps, err := s.catalog.ListKnowledgePoints(r.Context(), storage.SubjectID(subject), grade)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemsAnswer[storage.KnowledgePoint]{Items: nonNil(kps)})
	return nil
}

// ---- targets

type targetItem struct {
	storage.Target
	SchoolName string `json:"school_name"`
}

func (s *Server) handleListTargets(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.TargetRead)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	year := s.now().In(shanghai).Year()
	if v := r.URL.Query().Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 2000 || y > 2100 {
			f.add("year", "must be a year from 2000 to 2100")
		}
		year = y
	}
	if err := f.err(); err != nil {
		return err
	}
	district, schools, err := s.scopeFilter(r.Context(), authz.ScopeOf(&p.user, authz.TargetRead))
	if err != nil {
		return err
	}
	if district != 0 {
		if schools, err = s.districtSchoolIDs(r.Context(), district); err != nil {
			return err
		}
	}
	ts, err := s.stats.ListTargets(r.Context(), year, schools)
	if err != nil {
		return err
	}
	items := make([]targetItem, 0, len(ts))
	names := map[storage.SchoolID]string{}
	for _, t := range ts {
		name, ok := names[t.SchoolID]
		if !ok {
			sc, err := s.directory.GetSchool(r.Context(), t.SchoolID)
			if err != nil {
				return fmt.Errorf("target's school: %w", err)
			}
			name, names[t.SchoolID] = sc.Name, sc.Name
		}
		items = append(items, targetItem{Target: t, SchoolName: name})
	}
	writeJSON(w, http.StatusOK, itemsAnswer[targetItem]{Items: items})
	return nil
}

type targetBody struct {
	LessonsRecorded       int    `json:"lessons_recorded"`
	TeachersParticipating int    `json:"teachers_participating"`
	TraineeCoveragePct    int    `json:"trainee_coverage_pct"`
	Version               *int64 `json:"version"`
}

func (s *Server) handleSetTarget(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.getSchool(r)
	if err != nil {
		return err
	}
	if _, err := s.authorize(r, authz.TargetWrite, schoolPlace(sc)); err != nil {
		return err
	}
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil || year < 2000 || year > 2100 {
		return errNotFound
	}
	var b targetBody
	if err := decodeJSON(w, r, &b); err != nil {
		return err
	}
	f := fieldErrors{}
	if b.LessonsRecorded < 0 || b.LessonsRecorded > 1_000_000 {
		f.add("lessons_recorded", "must be 0 to 1000000")
	}
	if b.TeachersParticipating < 0 || b.TeachersParticipating > 1_000_000 {
		f.add("teachers_participating", "must be 0 to 1000000")
	}
	if b.TraineeCoveragePct < 0 || b.TraineeCoveragePct > 100 {
		f.add("trainee_coverage_pct", "must be 0 to 100")
	}
	if b.Version == nil {
		f.add("version", "required (0 for a new target)")
	} else if *b.Version < 0 {
		f.add("version", "must be 0 or more")
	}
	if err := f.err(); err != nil {
		return err
	}
	t, err := s.stats.SetTarget(r.Context(), actor(r), storage.Target{
		SchoolID: sc.ID, Year: year, LessonsRecorded: b.LessonsRecorded,
		TeachersParticipating: b.TeachersParticipating, TraineeCoveragePct: b.TraineeCoveragePct, Version: *b.Version,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// ---- activity

// parseMonth reads YYYY-MM as the integer yyyymm.
func parseMonth(v string) (int, bool) {
	t, err := time.Parse("2006-01", v)
	if err != nil {
		return 0, false
	}
	return t.Year()*100 + int(t.Month()), true
}

func (s *Server) handleActivity(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.ActivityRead)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	q := r.URL.Query()
	now := s.now().In(shanghai)
	aq := storage.ActivityQuery{FromMonth: now.Year()*100 + 1, ToMonth: now.Year()*100 + int(now.Month())}
	if v := q.Get("from"); v != "" {
		if aq.FromMonth, _ = parseMonth(v); aq.FromMonth == 0 {
			f.add("from", "must be YYYY-MM")
		}
	}
	if v := q.Get("to"); v != "" {
		if aq.ToMonth, _ = parseMonth(v); aq.ToMonth == 0 {
			f.add("to", "must be YYYY-MM")
		}
	}
	if aq.FromMonth != 0 && aq.ToMonth != 0 && aq.FromMonth > aq.ToMonth {
		f.add("to", "must not be before from")
	}
	for _, v := range q["action"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				if len(a) > 64 {
					f.add("action", "at most 64 characters")
				}
				aq.Actions = append(aq.Actions, a)
			}
		}
	}
	school, err := s.explicitSchool(r, authz.ActivityRead, "school_id", f)
	if err != nil {
		return err
	}
	if err := f.err(); err != nil {
		return err
	}
	if school != 0 {
		aq.SchoolIDs = []storage.SchoolID{school}
	} else if aq.DistrictID, aq.SchoolIDs, err = s.scopeFilter(r.Context(), authz.ScopeOf(&p.user, authz.ActivityRead)); err != nil {
		return err
	}
	bs, err := s.stats.SummarizeActivity(r.Context(), aq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemsAnswer[storage.ActivityBucket]{Items: nonNil(bs)})
	return nil
}

func (s *Server) handleRecentActivity(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.ActivityRead)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	limit, _ := listPage(r, f)
	if err := f.err(); err != nil {
		return err
	}
	district, schools, err := s.scopeFilter(r.Context(), authz.ScopeOf(&p.user, authz.ActivityRead))
	if err != nil {
		return err
	}
	acts, err := s.stats.RecentActivity(r.Context(), district, schools, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemsAnswer[storage.Activity]{Items: nonNil(acts)})
	return nil
}
