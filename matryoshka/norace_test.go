//go:build !race

package matryoshka

const raceEnabled = false
