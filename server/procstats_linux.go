package server

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processStats returns the process's CPU seconds (user + system, from
// getrusage) and resident memory (from /proc/self/statm).
func processStats() (cpu float64, rss int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	cpu = float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return cpu, pages * int64(os.Getpagesize()), true
}
