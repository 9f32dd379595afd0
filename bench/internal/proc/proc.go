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
func PeakRSSMiB() float64 { return fieldMiB("/proc/self/status", "VmHWM:") }

// AnonHugeMiB returns the process's anonymous memory backed by transparent
// huge pages (AnonHugePages of /proc/self/smaps_rollup) in MiB, or 0 where
// it is missing.
func AnonHugeMiB() float64 { return fieldMiB("/proc/self/smaps_rollup", "AnonHugePages:") }

// THP returns the system's transparent huge page policy (the bracketed
// word of /sys/kernel/mm/transparent_hugepage/enabled: always, madvise or
// never), or "unknown".
func THP() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return "unknown"
	}
	s := string(b)
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return "unknown"
	}
	return s[i+1 : j]
}

// fieldMiB returns the "Name: N kB" field of a /proc file in MiB, or 0.
func fieldMiB(path, name string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
