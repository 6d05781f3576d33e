package stats

import (
	"math"
	"testing"
)

func TestByHand(t *testing.T) {
	// 60, 70, 90 → mean 73.33, median 70, SD 15.275.
	xs := []float64{90, 60, 70}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v; want %v", what, got, want)
		}
	}
	near("mean", Mean(xs), 220.0/3)
	near("median", Median(xs), 70)
	near("median of four", Median([]float64{1, 4, 2, 3}), 2.5)
	near("sd", SD(xs), math.Sqrt(((90-220.0/3)*(90-220.0/3)+(60-220.0/3)*(60-220.0/3)+(70-220.0/3)*(70-220.0/3))/2))
	near("mean of none", Mean(nil), 0)
	near("median of none", Median(nil), 0)
	near("sd of one", SD([]float64{5}), 0)
	if xs[0] != 90 || xs[1] != 60 {
		t.Errorf("Median sorted its input: %v", xs)
	}
}
