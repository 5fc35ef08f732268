package main

import (
	"os"
	"strings"
)

// loadAvg is the machine's 1-minute load average: other work on the two
// cores makes every figure worse, so the report shows it.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
