// Package proc reads what the bench programs report about their own
// process.
package proc

import (
	"os"
	"strconv"
	"strings"
)

// PeakRSSMiB returns the process's peak resident memory (VmHWM) in MiB,
// or 0 where /proc is missing.
func PeakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
