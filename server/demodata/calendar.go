package demodata

import (
	"math/rand/v2"
	"sort"
	"time"

	"yunke/storage"
)

// A calendar draws moments of one year with the rhythms of a school
// district: lessons on school days in school hours; tutoring and questions
// on evenings and weekends, fewer in the holidays.
type calendar struct {
	days []time.Time // midnight of each day of the year, Asia/Shanghai
	// cumulative weights of the days, for lessons and for home activity
	school, home []float64
}

// Hour weights: lessons in the morning and early afternoon; activity at
// home after school with its peak at 8 p.m., spread wider at weekends.
var (
	schoolHours  = hourWeights(map[int]float64{8: 1, 9: 1.2, 10: 1.2, 11: 0.8, 13: 0.3, 14: 1, 15: 1, 16: 0.5})
	eveningHours = hourWeights(map[int]float64{6: 0.05, 7: 0.1, 12: 0.15, 13: 0.1, 16: 0.2, 17: 0.5, 18: 0.9,
		19: 1.7, 20: 2.1, 21: 1.5, 22: 0.6, 23: 0.15})
	weekendHours = hourWeights(map[int]float64{8: 0.3, 9: 0.6, 10: 0.8, 11: 0.7, 12: 0.3, 13: 0.4, 14: 0.8, 15: 0.9,
		16: 0.8, 17: 0.6, 18: 0.7, 19: 1.2, 20: 1.4, 21: 1.0, 22: 0.4, 23: 0.1})
)

func hourWeights(m map[int]float64) []float64 {
	w := make([]float64, 24)
	sum := 0.0
	for h := range 24 {
		sum += m[h]
		w[h] = sum
	}
	return w
}

// holiday tells the school holidays of year (approximately as Chinese
// districts keep them): winter from late January to late February, summer
// in July and August, and the national holidays.
func holiday(d time.Time) (term bool, national bool) {
	m, day := d.Month(), d.Day()
	switch {
	case m == time.January && day >= 18, m == time.February && day <= 22:
		return true, false
	case m == time.July && day >= 8, m == time.August:
		return true, false
	case m == time.January && day == 1, m == time.May && day <= 5, m == time.October && day <= 7:
		return false, true
	}
	return false, false
}

func newCalendar(year int) *calendar {
	c := &calendar{}
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, storage.Zone); d.Year() == year; d = d.AddDate(0, 0, 1) {
		vacation, national := holiday(d)
		wd := d.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		school := 1.0
		switch {
		case vacation || national:
			school = 0.01
		case wd == time.Saturday:
			school = 0.08
		case wd == time.Sunday:
			school = 0.03
		case wd == time.Friday:
			school = 0.85
		}
		home := 1.0
		switch {
		case vacation:
			home = 0.35
		case national:
			home = 0.45
		case weekend:
			home = 1.3
		}
		if !vacation && (d.Month() == time.June || d.Month() == time.December) {
			home *= 1.2 // examinations
		}
		prevS, prevH := 0.0, 0.0
		if n := len(c.days); n > 0 {
			prevS, prevH = c.school[n-1], c.home[n-1]
		}
		c.days = append(c.days, d)
		c.school = append(c.school, prevS+school)
		c.home = append(c.home, prevH+home)
	}
	return c
}

func pick(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	return sort.SearchFloat64s(cum, x)
}

// lesson is a moment in school hours of a school day of the year.
func (c *calendar) lesson(r *rand.Rand) time.Time {
	d := c.days[pick(r, c.school)]
	h := pick(r, schoolHours)
	return d.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(12))*5*time.Minute)
}

// lessonIn is a lesson moment between days from (inclusive) and to.
func (c *calendar) lessonIn(r *rand.Rand, from, to int) time.Time {
	lo := 0.0
	if from > 0 {
		lo = c.school[from-1]
	}
	x := lo + r.Float64()*(c.school[to-1]-lo)
	d := c.days[min(sort.SearchFloat64s(c.school, x), to-1)]
	h := pick(r, schoolHours)
	return d.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(12))*5*time.Minute)
}

// atHome is a moment of activity from home: evenings on school days,
// spread over the day at weekends and in the holidays.
func (c *calendar) atHome(r *rand.Rand) time.Time {
	d := c.days[pick(r, c.home)]
	hours := eveningHours
	vacation, national := holiday(d)
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || vacation || national {
		hours = weekendHours
	}
	h := pick(r, hours)
	return d.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(3600))*time.Second)
}

// halfYear is the index of the first day of July: the first half-year is
// days [0, halfYear).
func (c *calendar) halfYear() int {
	for i, d := range c.days {
		if d.Month() == time.July {
			return i
		}
	}
	return len(c.days)
}

// randDuration is up to max minutes, drawn.
func randDuration(r *rand.Rand, maxMinutes int) time.Duration {
	return time.Duration(r.IntN(maxMinutes*60)) * time.Second
}
