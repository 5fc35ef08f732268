package main

import "testing"

// TestMemoryLimit: the configured soft limit is set in bytes, unless the
// config says none or GOMEMLIMIT (applied by the runtime itself) is set.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		mb   int
		env  string
		want int64
		ok   bool
	}{
		{64, "", 64 << 20, true},
		{-1, "", 0, false},
		{64, "200MiB", 0, false},
	} {
		got, ok := memoryLimit(tc.mb, tc.env)
		if got != tc.want || ok != tc.ok {
			t.Errorf("memoryLimit(%d, %q) = %d, %v; want %d, %v", tc.mb, tc.env, got, ok, tc.want, tc.ok)
		}
	}
}
