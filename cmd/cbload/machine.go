package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// machineSample is the whole machine's busy CPU time at one moment, from
// /proc/stat: the daemon, Postfix, Dovecot and cbload share the cores, so
// the report says how busy the machine was and who else used it.
type machineSample struct {
	at   time.Time
	busy time.Duration // user+nice+system+irq+softirq+steal of all cores
	ok   bool
}

func sampleMachine() machineSample {
	s := machineSample{at: time.Now()}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(data), "\n")
	s.busy, s.ok = parseStatBusy(line)
	return s
}

// parseStatBusy reads the busy ticks of the aggregate "cpu" line of
// /proc/stat: every field but idle and iowait (guest time is already
// counted in user).
func parseStatBusy(line string) (time.Duration, bool) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, name := range []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"} {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return 0, false
		}
		if name != "idle" && name != "iowait" {
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

// Machine is how busy the whole machine was in a phase, and how much of
// that was not the daemon (Postfix, Dovecot, cbload and anything else).
type Machine struct {
	WallSeconds         float64 `json:"wall_seconds"`
	BusyCores           float64 `json:"busy_cores"`        // all processes
	OtherCores          float64 `json:"other_cores"`       // all but the daemon
	OtherPerMailMicros  float64 `json:"other_per_mail_us"` // other CPU per mail of the phase
	DaemonPerMailMicros float64 `json:"daemon_per_mail_us"`
}

// machineBetween is the machine between a and b, with the daemon's CPU in
// the same span and the number of mails the phase moved.
func machineBetween(a, b machineSample, daemon CPU, mails int) Machine {
	if !a.ok || !b.ok {
		return Machine{}
	}
	wall := b.at.Sub(a.at).Seconds()
	busy := (b.busy - a.busy).Seconds()
	own := daemon.UserSeconds + daemon.SysSeconds
	m := Machine{WallSeconds: wall}
	if wall > 0 {
		m.BusyCores, m.OtherCores = busy/wall, max(busy-own, 0)/wall
	}
	if mails > 0 {
		m.OtherPerMailMicros = max(busy-own, 0) / float64(mails) * 1e6
		m.DaemonPerMailMicros = own / float64(mails) * 1e6
	}
	return m
}
