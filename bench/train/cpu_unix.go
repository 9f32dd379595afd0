//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuSeconds is the user+system CPU time of the process so far (0 if the
// system does not say).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
