//go:build !linux

package main

// pinned runs fn: binding a thread to a CPU is only implemented on Linux.
func pinned(cpu int, fn func()) { fn() }
