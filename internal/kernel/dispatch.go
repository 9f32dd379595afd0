package kernel

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Level is an implementation level of the kernels: the pure-Go reference,
// or the assembly for a family of vector extensions. Every level computes
// the same functions (within float32 rounding: sums may be ordered
// differently); faster levels need a CPU and OS that support them.
//
// The level is chosen once at start-up: the widest the CPU supports
// (Levels), or the one the environment variable MRL_KERNEL names
// (generic, avx2 or avx512). A level the CPU lacks (or an unknown name)
// is refused: the widest supported level runs instead and EnvError
// reports why; the mrl command and the benchmarks stop with that error,
// and programs built on this module should do the same.
type Level uint8

// The levels, lowest first.
const (
	// Generic is the pure-Go reference, the only level under the noasm
	// build tag or on other architectures.
	Generic Level = iota
	// AVX2 is the amd64 assembly for AVX2 with FMA: 8-wide vectors, a
	// 6×16 SGEMM tile.
	AVX2
	// AVX512 adds the amd64 assembly for AVX-512 F, VL, BW and DQ: 16-wide
	// vectors and 32 registers, a 12×32 SGEMM tile (and AVX2's kernels
	// where it has no kernel of its own).
	AVX512
)

var levelNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the level's name as MRL_KERNEL spells it.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", l)
}

// MarshalText implements encoding.TextMarshaler.
func (l Level) MarshalText() ([]byte, error) {
	if int(l) >= len(levelNames) {
		return nil, fmt.Errorf("%w: %d", ErrUnknownLevel, l)
	}
	return []byte(l.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; see ParseLevel.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ErrUnknownLevel is returned for a level name that is not one of
// generic, avx2 and avx512.
var ErrUnknownLevel = errors.New("kernel: unknown kernel level")

// ErrUnsupportedLevel is returned for a level this CPU, OS or build
// cannot run.
var ErrUnsupportedLevel = errors.New("kernel: kernel level not supported here")

// ParseLevel parses a level name (case-insensitive): generic, avx2 or
// avx512.
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(s, name) {
			return Level(l), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want generic, avx2 or avx512)", ErrUnknownLevel, s)
}

// cpuLevel is the widest level this CPU, OS and build support (from the
// platform's detectLevel), level the one in use.
var (
	cpuLevel = detectLevel()
	level    = Generic
	envErr   error
)

// Levels returns the levels this CPU, OS and build support, lowest first.
func Levels() []Level {
	ls := make([]Level, 0, cpuLevel+1)
	for l := Generic; l <= cpuLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

// CurrentLevel returns the level in use.
func CurrentLevel() Level { return level }

// SetLevel switches every kernel to level l and returns the level that
// was in use. It refuses (ErrUnknownLevel, ErrUnsupportedLevel) a level
// this machine cannot run, leaving the level unchanged. It is for tests and
// benchmarks that compare the levels: it must not be called while kernels
// run on other goroutines.
func SetLevel(l Level) (Level, error) {
	prev := level
	if int(l) >= len(levelNames) {
		return prev, fmt.Errorf("%w: %d", ErrUnknownLevel, l)
	}
	if l > cpuLevel {
		return prev, fmt.Errorf("%w: %s (this machine runs up to %s: %s)", ErrUnsupportedLevel, l, cpuLevel, cpuFeatures())
	}
	useLevel(l)
	level = l
	return prev, nil
}

// EnvError reports a refused MRL_KERNEL setting (an unknown name, or a
// level this machine cannot run), or nil. When it is not nil the widest
// supported level runs instead; programs should stop and print it.
func EnvError() error { return envErr }

// LevelFromEnv is the name of the environment variable that overrides the
// level chosen at start-up.
const LevelFromEnv = "MRL_KERNEL"

func init() {
	level = cpuLevel
	if s, ok := os.LookupEnv(LevelFromEnv); ok && s != "" {
		l, err := ParseLevel(s)
		if err == nil && l > cpuLevel {
			err = fmt.Errorf("%w: %s=%s, but this machine runs up to %s (%s)", ErrUnsupportedLevel, LevelFromEnv, s, cpuLevel, cpuFeatures())
		} else if err != nil {
			err = fmt.Errorf("%s: %w", LevelFromEnv, err)
		}
		if err != nil {
			envErr = err
		} else {
			level = l
		}
	}
	useLevel(level)
}

// The implementations in use, set by useLevel. On amd64
// (dispatch_amd64.go) level AVX2 selects the assembly of kernel_amd64.s: a
// 6×16 SGEMM micro-kernel and its packing routines under a cache-blocked
// driver (gemm_amd64.go; on several threads split along n or m, or along
// m around a shared packed B in gemm_shared_amd64.go, or along k) and
// 8-wide Dot, Axpy and SqL2; level AVX512 the 12×32 micro-kernel of
// gemm512_amd64.s in the same driver and the 16-wide kernels. The scans
// (scan_amd64.go) and the element-wise kernels (elem_amd64.go) read the
// flags useAVX2 and useAVX512 where they are called.
var (
	// gemm accumulates C += alpha*op(A)*op(B) on at most t goroutines.
	gemm = gemmGeneric
	// gemmOver, if set, is gemm overwriting C (Sgemm's beta = 0) instead
	// of accumulating into a cleared C.
	gemmOver func(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)
	dot      = dotGeneric
	axpy     = axpyGeneric
	sqL2     = sqL2Generic
)

// Impl names the GEMM implementation in use, e.g. "generic" or
// "avx2-fma 6x16".
var Impl = "generic"

// Describe returns one line naming the kernel level in use, the GEMM
// micro-kernel and the CPU features it relies on, for benchmark and
// progress output.
func Describe() string {
	return fmt.Sprintf("kernels %s (%s; cpu: %s)", level, Impl, cpuFeatures())
}
