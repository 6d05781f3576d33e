package reports

import (
	"fmt"
	"time"

	"yunke/storage"
)

// PeriodKind is a calendar period statistics are counted over.
type PeriodKind string

const (
	Week  PeriodKind = "week"  // Monday 00:00 to the next Monday, Asia/Shanghai
	Month PeriodKind = "month" // the calendar month
	Term  PeriodKind = "term"  // from one configured term start to the next
	Year  PeriodKind = "year"  // the calendar year
)

// Period is one calendar period: [Start, End) in storage.Zone.
type Period struct {
	Kind  PeriodKind `json:"kind"`
	Start time.Time  `json:"start"`
	End   time.Time  `json:"end"`
	Label string     `json:"label"` // 2026-W49, 2026-12, 2026-09-01 term, 2026
}

// Terms are the starts of the terms of every year, as month and day.
type Terms []MonthDay

// MonthDay is a day of the year.
type MonthDay struct {
	Month time.Month
	Day   int
}

// ParseTerms reads "MM-DD" term starts (config.ValidTermStarts checked
// them); none gives nil, which New takes as the default terms.
func ParseTerms(starts []string) (Terms, error) {
	if len(starts) == 0 {
		return nil, nil
	}
	out := Terms{}
	for _, s := range starts {
		t, err := time.Parse("01-02", s)
		if err != nil {
			return nil, fmt.Errorf("reports: term start %q: %w", s, err)
		}
		out = append(out, MonthDay{t.Month(), t.Day()})
	}
	return out, nil
}

// PeriodOf is the period of kind k that contains t.
func PeriodOf(k PeriodKind, t time.Time, terms Terms) (Period, error) {
	t = t.In(storage.Zone)
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, storage.Zone)
	switch k {
	case Week:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start := day.AddDate(0, 0, -back)
		iy, iw := start.ISOWeek()
		return Period{Week, start, start.AddDate(0, 0, 7), fmt.Sprintf("%d-W%02d", iy, iw)}, nil
	case Month:
		start := time.Date(y, m, 1, 0, 0, 0, 0, storage.Zone)
		return Period{Month, start, start.AddDate(0, 1, 0), start.Format("2006-01")}, nil
	case Year:
		start := time.Date(y, 1, 1, 0, 0, 0, 0, storage.Zone)
		return Period{Year, start, start.AddDate(1, 0, 0), start.Format("2006")}, nil
	case Term:
		if len(terms) == 0 {
			return Period{}, fmt.Errorf("reports: no terms configured")
		}
		// The term starts of last, this and next year, in order; t lies
		// between two consecutive ones.
		var starts []time.Time
		for _, yy := range []int{y - 1, y, y + 1} {
			for _, md := range terms {
				starts = append(starts, time.Date(yy, md.Month, md.Day, 0, 0, 0, 0, storage.Zone))
			}
		}
		for i := 0; i+1 < len(starts); i++ {
			if !day.Before(starts[i]) && day.Before(starts[i+1]) {
				return Period{Term, starts[i], starts[i+1], starts[i].Format("2006-01-02") + " term"}, nil
			}
		}
		return Period{}, fmt.Errorf("reports: no term holds %s", day.Format(time.DateOnly))
	}
	return Period{}, fmt.Errorf("reports: unknown period %q", k)
}

// Previous is the period of the same kind just before p.
func (p Period) Previous(terms Terms) Period {
	prev, _ := PeriodOf(p.Kind, p.Start.Add(-time.Hour), terms) // p was built, so its kind is known
	return prev
}

// Elapsed is how much of p has passed at now: 0 before it, 1 after it.
func (p Period) Elapsed(now time.Time) float64 {
	switch {
	case !now.After(p.Start):
		return 0
	case !now.Before(p.End):
		return 1
	}
	return float64(now.Sub(p.Start)) / float64(p.End.Sub(p.Start))
}
