package main

import (
	"math"
	"testing"
	"time"
)

func TestParseStatBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, ok := parseStatBusy("cpu  100 5 50 1000 70 3 2 1 40 0")
	if !ok || busy != 1610*time.Millisecond {
		t.Errorf("busy = %v, %v; want 1.61s (idle, iowait and guest left out)", busy, ok)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 x 4 5 6 7 8", "cpu 1 2 3"} {
		if _, ok := parseStatBusy(bad); ok {
			t.Errorf("parseStatBusy(%q) accepted", bad)
		}
	}
}

func TestMachineBetween(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := machineSample{at: t0, busy: 10 * time.Second, ok: true}
	b := machineSample{at: t0.Add(2 * time.Second), busy: 13 * time.Second, ok: true}
	m := machineBetween(a, b, CPU{UserSeconds: 0.8, SysSeconds: 0.2}, 1000)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	if !near(m.BusyCores, 1.5) || !near(m.OtherCores, 1.0) || !near(m.OtherPerMailMicros, 2000) || !near(m.DaemonPerMailMicros, 1000) {
		t.Errorf("machineBetween = %+v; want 1.5 cores busy, 1.0 others, 2000 µs/mail others, 1000 µs/mail daemon", m)
	}
	if got := machineBetween(machineSample{}, b, CPU{}, 10); got != (Machine{}) {
		t.Errorf("a failed sample gave %+v, want nothing", got)
	}
	if s := sampleMachine(); !s.ok || s.busy <= 0 {
		t.Errorf("sampleMachine on Linux = %+v", s)
	}
}
