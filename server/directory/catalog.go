package directory

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// ---- subjects

func (h *Handler) handleListSubjects(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.SubjectList); err != nil {
		return err
	}
	subs, err := h.store.ListSubjects(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Subject]{Items: httpapi.NonNil(subs)})
	return nil
}

type subjectBody struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	Sort   int    `json:"sort"`
}

func checkSubject(f httpapi.Fields, sub *storage.Subject) {
	httpapi.CheckText(f, "name", &sub.Name, 1, 32)
	httpapi.CheckText(f, "name_en", &sub.NameEn, 0, 64)
	if sub.Sort < 0 || sub.Sort > 1_000_000 {
		f.Add("sort", "must be 0 to 1000000")
	}
}

func (h *Handler) handleCreateSubject(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.SubjectCreate, httpapi.Place{}); err != nil {
		return err
	}
	var b subjectBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	sub := storage.Subject{Code: b.Code, Name: b.Name, NameEn: b.NameEn, Sort: b.Sort, Active: true}
	f := httpapi.Fields{}
	httpapi.CheckCode(f, "code", &sub.Code, 32)
	checkSubject(f, &sub)
	if err := f.Err(); err != nil {
		return err
	}
	out, err := h.store.CreateSubject(r.Context(), httpapi.Actor(r), sub)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, out)
	return nil
}

type patchSubjectBody struct {
	Name   *string `json:"name"`
	NameEn *string `json:"name_en"`
	Sort   *int    `json:"sort"`
	Active *bool   `json:"active"`
}

func (h *Handler) handleUpdateSubject(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.SubjectUpdate, httpapi.Place{}); err != nil {
		return err
	}
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return err
	}
	subs, err := h.store.ListSubjects(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(subs, func(x storage.Subject) bool { return x.ID == storage.SubjectID(id) })
	if i < 0 {
		return httpapi.ErrNotFound
	}
	var b patchSubjectBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	sub := subs[i]
	httpapi.SetIf(&sub.Name, b.Name)
	httpapi.SetIf(&sub.NameEn, b.NameEn)
	httpapi.SetIf(&sub.Sort, b.Sort)
	httpapi.SetIf(&sub.Active, b.Active)
	f := httpapi.Fields{}
	checkSubject(f, &sub)
	if err := f.Err(); err != nil {
		return err
	}
	out, err := h.store.UpdateSubject(r.Context(), httpapi.Actor(r), sub)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ---- knowledge points

func (h *Handler) handleListKnowledgePoints(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.KnowledgeList); err != nil {
		return err
	}
	f := httpapi.Fields{}
	subject := httpapi.QueryID(r, "subject_id", f)
	if subject == 0 {
		f.Add("subject_id", "required")
	}
	grade := 0
	if v := r.URL.Query().Get("grade"); v != "" {
		g, err := strconv.Atoi(v)
		if err != nil || g < 1 || g > 12 {
			f.Add("grade", "must be 1 to 12")
		}
		grade = g
	}
	if err := f.Err(); err != nil {
		return err
	}
	kps, err := h.store.ListKnowledgePoints(r.Context(), storage.SubjectID(subject), grade)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.KnowledgePoint]{Items: httpapi.NonNil(kps)})
	return nil
}

// ---- targets

type targetItem struct {
	storage.Target
	SchoolName string `json:"school_name"`
}

func (h *Handler) handleListTargets(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.TargetRead)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	year := h.now().In(storage.Zone).Year()
	if v := r.URL.Query().Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 2000 || y > 2100 {
			f.Add("year", "must be a year from 2000 to 2100")
		}
		year = y
	}
	if err := f.Err(); err != nil {
		return err
	}
	district, schools, err := httpapi.ScopeFilter(r.Context(), h.store, authz.ScopeOf(&p.User, authz.TargetRead))
	if err != nil {
		return err
	}
	if district != 0 {
		if schools, err = httpapi.DistrictSchoolIDs(r.Context(), h.store, district); err != nil {
			return err
		}
	}
	ts, err := h.store.ListTargets(r.Context(), year, schools)
	if err != nil {
		return err
	}
	items := make([]targetItem, 0, len(ts))
	names := map[storage.SchoolID]string{}
	for _, t := range ts {
		name, ok := names[t.SchoolID]
		if !ok {
			sc, err := h.store.GetSchool(r.Context(), t.SchoolID)
			if err != nil {
				return fmt.Errorf("target's school: %w", err)
			}
			name, names[t.SchoolID] = sc.Name, sc.Name
		}
		items = append(items, targetItem{Target: t, SchoolName: name})
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[targetItem]{Items: items})
	return nil
}

type targetBody struct {
	LessonsRecorded       int `json:"lessons_recorded"`
	TeachersParticipating int `json:"teachers_participating"`
	TraineeCoveragePct    int `json:"trainee_coverage_pct"`
	// LessonsReviewed absent keeps the stored value (clients that predate it).
	LessonsReviewed *int   `json:"lessons_reviewed"`
	Version         *int64 `json:"version"`
}

func (h *Handler) handleSetTarget(w http.ResponseWriter, r *http.Request) error {
	sc, err := h.getSchool(r)
	if err != nil {
		return err
	}
	if _, err := httpapi.Authorize(r, authz.TargetWrite, httpapi.SchoolPlace(sc)); err != nil {
		return err
	}
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil || year < 2000 || year > 2100 {
		return httpapi.ErrNotFound
	}
	var b targetBody
	if err := httpapi.DecodeJSON(w, r, &b); err != nil {
		return err
	}
	f := httpapi.Fields{}
	if b.LessonsRecorded < 0 || b.LessonsRecorded > 1_000_000 {
		f.Add("lessons_recorded", "must be 0 to 1000000")
	}
	if b.TeachersParticipating < 0 || b.TeachersParticipating > 1_000_000 {
		f.Add("teachers_participating", "must be 0 to 1000000")
	}
	if b.TraineeCoveragePct < 0 || b.TraineeCoveragePct > 100 {
		f.Add("trainee_coverage_pct", "must be 0 to 100")
	}
	if b.LessonsReviewed != nil && (*b.LessonsReviewed < 0 || *b.LessonsReviewed > 1_000_000) {
		f.Add("lessons_reviewed", "must be 0 to 1000000")
	}
	if b.Version == nil {
		f.Add("version", "required (0 for a new target)")
	} else if *b.Version < 0 {
		f.Add("version", "must be 0 or more")
	}
	if err := f.Err(); err != nil {
		return err
	}
	reviewed := 0
	if b.LessonsReviewed != nil {
		reviewed = *b.LessonsReviewed
	} else {
		ts, err := h.store.ListTargets(r.Context(), year, []storage.SchoolID{sc.ID})
		if err != nil {
			return err
		}
		if len(ts) == 1 {
			reviewed = ts[0].LessonsReviewed
		}
	}
	t, err := h.store.SetTarget(r.Context(), httpapi.Actor(r), storage.Target{
		SchoolID: sc.ID, Year: year, LessonsRecorded: b.LessonsRecorded,
		TeachersParticipating: b.TeachersParticipating, TraineeCoveragePct: b.TraineeCoveragePct,
		LessonsReviewed: reviewed, Version: *b.Version,
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
	return nil
}
