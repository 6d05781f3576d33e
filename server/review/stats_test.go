package review

import (
	"math"
	"testing"

	"yunke/storage"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f", what, got, want)
	}
}

// TestICC21ShroutFleiss: the example of Shrout & Fleiss (1979), Table 2 —
// six targets, four judges — has ICC(2,1) = 0.29.
func TestICC21ShroutFleiss(t *testing.T) {
	x := [][]float64{
		{9, 2, 5, 8},
		{6, 1, 3, 2},
		{8, 4, 6, 8},
		{7, 1, 2, 6},
		{10, 5, 6, 9},
		{6, 2, 4, 7},
	}
	icc, ok := ICC21(x)
	if !ok {
		t.Fatal("ICC21 not computed")
	}
	near(t, "ICC(2,1)", icc, 0.2898, 0.0005)
	// Perfect agreement is 1; a ragged matrix and a single target are refused.
	if icc, ok := ICC21([][]float64{{1, 1}, {3, 3}, {5, 5}}); !ok || icc != 1 {
		t.Errorf("perfect agreement: %v %v", icc, ok)
	}
	if _, ok := ICC21([][]float64{{1, 2}, {3}}); ok {
		t.Error("ragged matrix accepted")
	}
	if _, ok := ICC21([][]float64{{1, 2}}); ok {
		t.Error("one target accepted")
	}
}

// TestAlphaKrippendorff: the reliability data of Krippendorff (2011),
// "Computing Krippendorff's Alpha-Reliability" — four observers, twelve
// units, values 1–5 with missing values — gives nominal α = 0.743,
// ordinal α = 0.815 and interval α = 0.849.
func TestAlphaKrippendorff(t *testing.T) {
	const m = -1 // missing
	obs := [][]float64{
		{1, 2, 3, 3, 2, 1, 4, 1, 2, m, m, m},
		{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, m, 3},
		{m, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, m},
		{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, m},
	}
	var units [][]float64
	for u := range obs[0] {
		var vs []float64
		for _, o := range obs {
			if o[u] != m {
				vs = append(vs, o[u])
			}
		}
		units = append(units, vs)
	}
	for _, c := range []struct {
		name string
		m    Metric
		want float64
	}{{"nominal", Nominal, 0.743}, {"ordinal", Ordinal, 0.815}, {"interval", Interval, 0.849}} {
		a, ok := Alpha(units, c.m)
		if !ok {
			t.Fatalf("%s alpha not computed", c.name)
		}
		near(t, c.name+" alpha", a, c.want, 0.0005)
	}
	if _, ok := Alpha([][]float64{{1}, {2}}, Ordinal); ok {
		t.Error("no pairable values, yet alpha computed")
	}
}

// TestWeightedKappa: two raters, five items on four levels, by hand:
// observed Σw·p = (0+0+1+0+1)/5 = 0.4; marginals a = (.2,.2,.4,.2),
// b = (.2,.4,.4,0), expected Σw·pa·pb = .4+.12+.48+.76 = 1.76 (row by
// row); κw = 1 − 0.4/1.76 = 0.7727.
func TestWeightedKappa(t *testing.T) {
	k, ok := WeightedKappa([]int{1, 2, 3, 3, 4}, []int{1, 2, 2, 3, 3}, 4)
	if !ok {
		t.Fatal("kappa not computed")
	}
	// expected: Σ_i Σ_j (i−j)² a_i b_j
	a := []float64{.2, .2, .4, .2}
	b := []float64{.2, .4, .4, 0}
	var e float64
	for i := range a {
		for j := range b {
			e += float64((i-j)*(i-j)) * a[i] * b[j]
		}
	}
	near(t, "expected disagreement", e, 1.76, 1e-9)
	near(t, "weighted kappa", k, 0.7727, 0.00005)
}

func scheme() storage.Scheme {
	lv := storage.RubricScale{Kind: storage.ScaleLevels, Levels: []storage.RubricLevel{{Value: 1, Label: "差"}, {Value: 2, Label: "中"}, {Value: 3, Label: "良"}, {Value: 4, Label: "优"}}}
	num := storage.RubricScale{Kind: storage.ScaleNumeric, Min: 0, Max: 10}
	return storage.Scheme{Criteria: []storage.SchemeCriterion{
		{Domain: "目标", RubricCriterion: storage.RubricCriterion{Code: "A", Name: "A", Weight: 30, Scale: lv}},
		{Domain: "过程", RubricCriterion: storage.RubricCriterion{Code: "B", Name: "B", Weight: 70, Scale: num}},
	}}
}

// TestWeightedTotal: a scheme with a 4-level criterion (weight 30) and a
// 0–10 numeric one (weight 70). Level 3 normalizes to (3−1)/(4−1) = 2/3,
// 7 to 0.7: total = (2/3·30 + 0.7·70) / 100 × 100 = 69.
func TestWeightedTotal(t *testing.T) {
	sc := scheme()
	tot, ok := WeightedTotal(sc, []storage.ReviewScore{{Criterion: "A", Value: 3}, {Criterion: "B", Value: 7}})
	if !ok {
		t.Fatal("total not computed")
	}
	near(t, "total", tot, 69, 1e-9)
	for _, bad := range [][]storage.ReviewScore{
		{{Criterion: "A", Value: 5}},   // no such level
		{{Criterion: "A", Value: 2.5}}, // between levels
		{{Criterion: "B", Value: 11}},  // off the range
		{{Criterion: "Z", Value: 1}},   // not in the scheme
		{},
	} {
		if _, ok := WeightedTotal(sc, bad); ok {
			t.Errorf("scores %v accepted", bad)
		}
	}
}

// TestAgreement: the master scored A = 3, B = 7. An expert with A = 4
// (within one level) and B = 8.5 (off by more than a tenth of 0–10) agrees
// on one criterion of two: 50 %.
func TestAgreement(t *testing.T) {
	sc := scheme()
	master := []storage.ReviewScore{{Criterion: "A", Value: 3}, {Criterion: "B", Value: 7}}
	near(t, "agreement", Agreement(sc, master, []storage.ReviewScore{{Criterion: "A", Value: 4}, {Criterion: "B", Value: 8.5}}), 50, 1e-9)
	near(t, "agreement", Agreement(sc, master, []storage.ReviewScore{{Criterion: "A", Value: 2}, {Criterion: "B", Value: 8}}), 100, 1e-9)
	near(t, "agreement", Agreement(sc, master, []storage.ReviewScore{{Criterion: "A", Value: 1}}), 0, 1e-9)
}
