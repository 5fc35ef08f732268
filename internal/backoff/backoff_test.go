package backoff

import (
	"math"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
		want   time.Duration
	}{
		{-1, time.Second, time.Minute, time.Second},
		{0, time.Second, time.Minute, time.Second},
		{3, time.Second, time.Minute, 8 * time.Second},
		{6, time.Second, time.Minute, time.Minute},
		{1000, time.Second, time.Minute, time.Minute},
		{1000, time.Duration(math.MaxInt64 / 3), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)},
	} {
		if got := Ceiling(tc.n, tc.lo, tc.hi); got != tc.want {
			t.Errorf("Ceiling(%d, %v, %v) = %v, want %v", tc.n, tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestFullAndEqualStayWithinTheCeiling(t *testing.T) {
	lo, hi := 10*time.Second, 30*time.Minute
	for n := range 12 {
		c := Ceiling(n, lo, hi)
		if d := Full(n, lo, hi, func() float64 { return 0.999999 }); d > c || d < c*99/100 {
			t.Errorf("Full(%d) at the top = %v, want just under %v", n, d, c)
		}
		if d := Full(n, lo, hi, func() float64 { return 0 }); d != 0 {
			t.Errorf("Full(%d) at the bottom = %v, want 0", n, d)
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := Equal(n, lo, hi)
			if d < c/2 || d > c {
				t.Fatalf("Equal(%d) = %v, want within [%v, %v]", n, d, c/2, c)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Equal(%d) has no jitter", n)
		}
	}
}
