package kernel

import (
	"errors"
	"testing"
)

// forLevels runs f once for every kernel level as a subtest named after
// it, switching the kernels with SetLevel; levels this machine cannot run
// are skipped with a message saying so. Tests that use it must not run in
// parallel with other tests of the package.
func forLevels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for l := Generic; l <= AVX512; l++ {
		t.Run(l.String(), func(t *testing.T) {
			if l > cpuLevel {
				t.Skipf("%s not tested: this machine runs up to %s (%s)", l, cpuLevel, cpuFeatures())
			}
			prev, err := SetLevel(l)
			if err != nil {
				t.Fatal(err)
			}
			defer SetLevel(prev)
			f(t)
		})
	}
}

func TestLevels(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Level
		err  error
	}{
		{"generic", Generic, nil}, {"AVX2", AVX2, nil}, {"avx512", AVX512, nil},
		{"", 0, ErrUnknownLevel}, {"sse", 0, ErrUnknownLevel}, {"avx-512", 0, ErrUnknownLevel},
	} {
		got, err := ParseLevel(c.in)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, %v", c.in, got, err, c.want, c.err)
		}
		if err == nil {
			var l Level
			b, _ := got.MarshalText()
			if err := l.UnmarshalText(b); err != nil || l != got {
				t.Errorf("text round trip of %v: %v, %v", got, l, err)
			}
		}
	}
	ls := Levels()
	if len(ls) == 0 || ls[0] != Generic || ls[len(ls)-1] != cpuLevel {
		t.Fatalf("Levels() = %v, want generic..%v", ls, cpuLevel)
	}
	if CurrentLevel() > cpuLevel {
		t.Fatalf("CurrentLevel() = %v beyond the CPU's %v", CurrentLevel(), cpuLevel)
	}
	if cpuLevel < AVX512 {
		prev := CurrentLevel()
		if _, err := SetLevel(AVX512); !errors.Is(err, ErrUnsupportedLevel) {
			t.Errorf("SetLevel(avx512) on a %v machine: err = %v, want ErrUnsupportedLevel", cpuLevel, err)
		}
		if CurrentLevel() != prev {
			t.Errorf("a refused SetLevel changed the level to %v", CurrentLevel())
		}
	}
	if _, err := SetLevel(Level(9)); !errors.Is(err, ErrUnknownLevel) {
		t.Errorf("SetLevel(9): err = %v, want ErrUnknownLevel", err)
	}
}
