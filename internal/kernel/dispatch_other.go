//go:build !amd64 || noasm

package kernel

import "runtime"

func detectLevel() Level { return Generic }

// useLevel has only the generic level to select here.
func useLevel(Level) {}

func cpuFeatures() string {
	if runtime.GOARCH == "amd64" {
		return "assembly disabled by the noasm build tag"
	}
	return "no assembly for " + runtime.GOARCH
}
