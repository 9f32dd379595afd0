//go:build !linux

package server

// processStats is not implemented outside Linux.
func processStats() (cpu float64, rss int64, ok bool) { return 0, 0, false }
