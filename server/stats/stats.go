// Package stats holds the descriptive statistics several domains report
// (review aggregates, selection shortlists): mean, median and sample
// standard deviation of float64 values. Every function is pure and
// leaves its input unchanged.
package stats

import (
	"math"
	"slices"
)

// Mean of xs (0 for none).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Median of xs: the middle value, or the mean of the two middle ones (0
// for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// SD is the sample standard deviation (n − 1 in the denominator; 0 below
// two values).
func SD(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := Mean(xs)
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}
