package review

import (
	"math"
	"slices"

	"yunke/storage"
)

// The formulas of docs/review.md. Every function here is pure, and
// stats_test.go checks each against values computed by hand or published
// with their method.

// WeightedTotal is a review's total on 0..100: Σ normalized score × weight
// / Σ weight × 100, over the scheme's criteria that were scored. ok is
// false when nothing was scored or a score is off its scale.
func WeightedTotal(sc storage.Scheme, scores []storage.ReviewScore) (total float64, ok bool) {
	var sum, weights float64
	for _, s := range scores {
		c, found := sc.Criterion(s.Criterion)
		if !found {
			return 0, false
		}
		norm, valid := c.Scale.Normalize(s.Value)
		if !valid {
			return 0, false
		}
		sum += norm * c.Weight
		weights += c.Weight
	}
	if weights == 0 {
		return 0, false
	}
	return sum / weights * 100, true
}

// ICC21 is the intraclass correlation ICC(2,1) of Shrout & Fleiss (1979):
// two-way random effects, absolute agreement, single rater. x[i][j] is
// target i's score by rater j; every row has the same k ≥ 2 scores and
// there are n ≥ 2 rows. ok is false otherwise or when the scores do not
// vary at all.
//
//	ICC(2,1) = (BMS − EMS) / (BMS + (k−1)·EMS + k·(JMS − EMS)/n)
func ICC21(x [][]float64) (icc float64, ok bool) {
	n := len(x)
	if n < 2 {
		return 0, false
	}
	k := len(x[0])
	if k < 2 {
		return 0, false
	}
	var grand float64
	rows := make([]float64, n)
	cols := make([]float64, k)
	for i, r := range x {
		if len(r) != k {
			return 0, false
		}
		for j, v := range r {
			rows[i] += v / float64(k)
			cols[j] += v / float64(n)
			grand += v / float64(n*k)
		}
	}
	var ssr, ssc, sse float64
	for i := range x {
		ssr += (rows[i] - grand) * (rows[i] - grand)
	}
	for j := range cols {
		ssc += (cols[j] - grand) * (cols[j] - grand)
	}
	for i, r := range x {
		for j, v := range r {
			e := v - rows[i] - cols[j] + grand
			sse += e * e
		}
	}
	bms := float64(k) * ssr / float64(n-1)
	jms := float64(n) * ssc / float64(k-1)
	ems := sse / float64((n-1)*(k-1))
	den := bms + float64(k-1)*ems + float64(k)*(jms-ems)/float64(n)
	if den == 0 {
		return 0, false
	}
	return (bms - ems) / den, true
}

// Metric is how Krippendorff's alpha weighs a disagreement.
type Metric int

const (
	Nominal  Metric = iota // any two different values disagree equally
	Ordinal                // by how many values lie between them
	Interval               // by their squared difference
)

// Alpha is Krippendorff's alpha: 1 − observed / expected disagreement,
// from the coincidence matrix of values within units. units[u] holds the
// values given to unit u (missing ones left out); units with fewer than two
// values are not pairable and are skipped. ok is false with fewer than two
// pairable values in all or no expected disagreement.
func Alpha(units [][]float64, m Metric) (alpha float64, ok bool) {
	vals := []float64{}
	for _, u := range units {
		if len(u) < 2 {
			continue
		}
		for _, v := range u {
			if !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
	}
	slices.Sort(vals)
	idx := func(v float64) int { i, _ := slices.BinarySearch(vals, v); return i }
	V := len(vals)
	o := make([][]float64, V)
	for i := range o {
		o[i] = make([]float64, V)
	}
	for _, u := range units {
		mu := len(u)
		if mu < 2 {
			continue
		}
		for a := range u {
			for b := range u {
				if a != b {
					o[idx(u[a])][idx(u[b])] += 1 / float64(mu-1)
				}
			}
		}
	}
	nc := make([]float64, V)
	var n float64
	for c := range o {
		for k := range o[c] {
			nc[c] += o[c][k]
		}
		n += nc[c]
	}
	if n < 2 {
		return 0, false
	}
	delta := func(c, k int) float64 {
		switch m {
		case Ordinal:
			lo, hi := min(c, k), max(c, k)
			var s float64
			for g := lo; g <= hi; g++ {
				s += nc[g]
			}
			s -= (nc[c] + nc[k]) / 2
			return s * s
		case Interval:
			d := vals[c] - vals[k]
			return d * d
		}
		if c == k {
			return 0
		}
		return 1
	}
	var do, de float64
	for c := 0; c < V; c++ {
		for k := 0; k < V; k++ {
			d := delta(c, k)
			do += o[c][k] * d
			de += nc[c] * nc[k] * d
		}
	}
	if de == 0 {
		return 0, false
	}
	return 1 - (n-1)*do/de, true
}

// WeightedKappa is Cohen's kappa with quadratic weights for two raters
// scoring the same items on levels 1..q: 1 − Σ w·observed / Σ w·expected,
// w = (i−j)². ok is false with no items or no expected disagreement.
func WeightedKappa(a, b []int, q int) (kappa float64, ok bool) {
	if len(a) == 0 || len(a) != len(b) || q < 2 {
		return 0, false
	}
	n := float64(len(a))
	obs := make([][]float64, q)
	for i := range obs {
		obs[i] = make([]float64, q)
	}
	ra, rb := make([]float64, q), make([]float64, q)
	for i := range a {
		if a[i] < 1 || a[i] > q || b[i] < 1 || b[i] > q {
			return 0, false
		}
		obs[a[i]-1][b[i]-1] += 1 / n
		ra[a[i]-1] += 1 / n
		rb[b[i]-1] += 1 / n
	}
	var num, den float64
	for i := 0; i < q; i++ {
		for j := 0; j < q; j++ {
			w := float64((i - j) * (i - j))
			num += w * obs[i][j]
			den += w * ra[i] * rb[j]
		}
	}
	if den == 0 {
		return 0, false
	}
	return 1 - num/den, true
}

// Agreement is the percent of the master's criteria on which an expert's
// score agrees with the master's: a level within one of the master's (as
// observation systems such as CLASS count agreement), a number within a
// tenth of its range. Criteria the expert left unscored disagree.
func Agreement(sc storage.Scheme, master, expert []storage.ReviewScore) float64 {
	if len(master) == 0 {
		return 0
	}
	got := map[string]float64{}
	for _, s := range expert {
		got[s.Criterion] = s.Value
	}
	agree := 0
	for _, m := range master {
		v, scored := got[m.Criterion]
		c, found := sc.Criterion(m.Criterion)
		if !scored || !found {
			continue
		}
		switch c.Scale.Kind {
		case storage.ScaleLevels:
			if math.Abs(v-m.Value) <= 1 {
				agree++
			}
		case storage.ScaleNumeric:
			if math.Abs(v-m.Value) <= (c.Scale.Max-c.Scale.Min)/10+1e-9 {
				agree++
			}
		}
	}
	return float64(agree) / float64(len(master)) * 100
}
