package review

import (
	"encoding/json"
	"math"
	"testing"

	"yunke/storage"
)

// TestDefaultsAreValid: every shipped rubric passes the library's checks
// and uses both kinds of scale.
func TestDefaultsAreValid(t *testing.T) {
	ds, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, d := range ds {
		codes[d.Code] = true
		if err := d.Body.Check(); err != nil {
			t.Errorf("%s: %v", d.Code, err)
		}
		kinds := map[string]bool{}
		var w float64
		for _, c := range d.Body.Criteria() {
			kinds[c.Scale.Kind] = true
			w += c.Weight
		}
		if !kinds[storage.ScaleLevels] || !kinds[storage.ScaleNumeric] || w != 100 {
			t.Errorf("%s: scales %v, weights sum to %v (want both scales, 100)", d.Code, kinds, w)
		}
	}
	for _, c := range []string{"general-classroom", "kindergarten-activity", "trainee-standard"} {
		if !codes[c] {
			t.Errorf("no default rubric %s", c)
		}
	}
}

// TestXLSXRoundTrip: a rubric exported as a workbook and read back is the same rubric.
func TestXLSXRoundTrip(t *testing.T) {
	ds, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	rb := storage.Rubric{Code: ds[0].Code, Name: ds[0].Name, Body: ds[0].Body}
	data, err := WriteXLSX(rb)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadXLSX(data)
	if err != nil {
		t.Fatal(err)
	}
	a, b := jsonOf(t, rb.Body), jsonOf(t, back)
	if a != b {
		t.Fatalf("round trip changed the rubric:\n%s\n%s", a, b)
	}
	if _, err := ReadXLSX([]byte("not a workbook")); err == nil {
		t.Fatal("garbage read as a workbook")
	}
}

func review(target string, expert storage.UserID, total float64, scores ...storage.ReviewScore) storage.Review {
	return storage.Review{Assignment: storage.Assignment{Target: target, ExpertID: expert, Status: storage.AssignmentSubmitted, Total: total},
		Body: storage.ReviewBody{Scores: scores}}
}

// TestReliability: three targets, three experts; the third scores every
// target 30 points above the other two. By hand: row means 60, 70, 80,
// column means 60, 60, 90, grand mean 70; BMS = 3·200/2 = 300,
// JMS = 3·600/2 = 900, EMS = 0, so ICC(2,1) = 300 / (300 + 3·900/3) = 0.25.
// The third expert deviates by +30 from the others (flagged above 15), the
// first two by −15 (not flagged: at the limit).
func TestReliability(t *testing.T) {
	s := New(Params{})
	sc := scheme()
	lv := func(v float64) storage.ReviewScore { return storage.ReviewScore{Criterion: "A", Value: v} }
	var rvs []storage.Review
	for i, row := range [][3]float64{{50, 50, 80}, {60, 60, 90}, {70, 70, 100}} {
		tg := "recording:" + string(rune('1'+i))
		for e, tot := range row {
			rvs = append(rvs, review(tg, storage.UserID(e+1), tot, lv(float64(1+i)), storage.ReviewScore{Criterion: "B", Value: tot / 10}))
		}
	}
	rel := s.reliability(sc, "", rvs)
	if rel.Total == nil || math.Abs(rel.Total.Value-0.25) > 1e-9 || rel.Total.Targets != 3 || rel.Total.Raters != 3 {
		t.Fatalf("total reliability %+v", rel.Total)
	}
	// Criterion A: every expert gave each target the same level: alpha 1.
	if c := rel.Criteria[0].Coefficient; c == nil || c.Method != "alpha_ordinal" || math.Abs(c.Value-1) > 1e-9 {
		t.Fatalf("criterion A %+v", c)
	}
	if c := rel.Criteria[1].Coefficient; c == nil || c.Method != "icc21" || math.Abs(c.Value-0.25) > 1e-9 {
		t.Fatalf("criterion B %+v", c)
	}
	if len(rel.Experts) != 3 || rel.Experts[0].Flagged || rel.Experts[1].Flagged || !rel.Experts[2].Flagged ||
		math.Abs(rel.Experts[2].MeanDeviation-30) > 1e-9 || math.Abs(rel.Experts[0].MeanDeviation+15) > 1e-9 {
		t.Fatalf("experts %+v", rel.Experts)
	}

	// An expert who scored one target only is dropped from the ICC matrix
	// rather than shrinking it to one target.
	rvs = append(rvs, review("recording:9", 4, 10), review("recording:1", 4, 20))
	rel = s.reliability(sc, "", rvs)
	if rel.Total == nil || rel.Total.Raters != 3 || rel.Total.Targets != 3 {
		t.Fatalf("with a sparse rater %+v", rel.Total)
	}
}

// TestAggregate: two reviews, the levels criterion at 2 and 3, the numeric
// one at 4 and 9: means 2.5 and 6.5; normalized (1/3+2/3)/2 = 0.5 is below
// the 0.6 threshold, (0.4+0.9)/2 = 0.65 is not.
func TestAggregate(t *testing.T) {
	sc := scheme()
	sc.Threshold = 0.6
	ag := aggregate(sc, []storage.Review{
		review("recording:1", 1, 40, storage.ReviewScore{Criterion: "A", Value: 2}, storage.ReviewScore{Criterion: "B", Value: 4}),
		review("recording:1", 2, 80, storage.ReviewScore{Criterion: "A", Value: 3}, storage.ReviewScore{Criterion: "B", Value: 9}),
	})
	a, b := ag.Criteria[0], ag.Criteria[1]
	if ag.Reviews != 2 || ag.TotalMean != 60 || ag.TotalMedian != 60 || a.Mean != 2.5 || b.Mean != 6.5 || !a.Below || b.Below ||
		math.Abs(a.Normalized-0.5) > 1e-9 || math.Abs(b.Normalized-0.65) > 1e-9 || a.Min != 2 || b.Max != 9 {
		t.Fatalf("aggregate %+v", ag)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReliabilityKappa: two experts on five targets, levels as in
// TestWeightedKappa: the criterion's kappa is 0.7727.
func TestReliabilityKappa(t *testing.T) {
	s := New(Params{})
	sc := scheme()
	var rvs []storage.Review
	for i, pair := range [][2]float64{{1, 1}, {2, 2}, {3, 2}, {3, 3}, {4, 3}} {
		tg := "recording:" + string(rune('1'+i))
		rvs = append(rvs, review(tg, 1, 50, storage.ReviewScore{Criterion: "A", Value: pair[0]}),
			review(tg, 2, 50, storage.ReviewScore{Criterion: "A", Value: pair[1]}))
	}
	rel := s.reliability(sc, "", rvs)
	k := rel.Criteria[0].Kappa
	if k == nil || k.Method != "kappa_quadratic" || k.Targets != 5 || math.Abs(k.Value-0.7727) > 0.00005 {
		t.Fatalf("kappa %+v", k)
	}
}
