//go:build !amd64 || noasm

package kernel

import "time"

// FMAPeakGFLOPS would measure one core's peak fp32 FMA throughput; without
// the assembly kernels there is no such measurement and it returns 0.
func FMAPeakGFLOPS(d time.Duration) float64 { return 0 }

// FMAPeakAt would measure the FMA throughput of level l's vectors; without
// the assembly kernels it returns 0.
func FMAPeakAt(l Level, d time.Duration) float64 { return 0 }
