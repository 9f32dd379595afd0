package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

func TestMake(t *testing.T) {
	big := MinBytes / 4
	for _, tc := range []struct {
		name    string
		n       int
		on      bool
		aligned bool
	}{
		{"empty", 0, true, false},
		{"small", 1000, true, false},
		{"just below MinBytes", big - 1, true, false},
		{"MinBytes", big, true, supported},
		{"odd size above", 3*big + 7, true, supported},
		{"off", 3 * big, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(f func() bool) { enabled = f }(enabled)
			enabled = func() bool { return tc.on }
			s := Make[float32](tc.n)
			if len(s) != tc.n || cap(s) != tc.n {
				t.Fatalf("len %d cap %d, want %d", len(s), cap(s), tc.n)
			}
			for i, x := range s {
				if x != 0 {
					t.Fatalf("s[%d] = %v, want 0", i, x)
				}
			}
			if tc.n == 0 {
				return
			}
			addr := uintptr(unsafe.Pointer(&s[0]))
			if got := addr%Size == 0; tc.aligned && !got {
				t.Errorf("address %#x not aligned to %d", addr, Size)
			}
			// Writing the whole slice stays inside its allocation (the race
			// detector and the GC would see an overrun of the padding).
			for i := range s {
				s[i] = float32(i)
			}
		})
	}
}

func TestMakeTypes(t *testing.T) {
	if s := Make[uint16](MinBytes/2 + 1); len(s) != MinBytes/2+1 {
		t.Fatalf("uint16: len %d", len(s))
	}
	if s := Make[int32](MinBytes / 4); uintptr(unsafe.Pointer(&s[0]))%Size != 0 && Enabled() {
		t.Fatal("int32 slice of MinBytes not aligned")
	}
}

// TestAdviceRecorded checks, on Linux with transparent huge pages, that the
// kernel recorded the advice for the slice's range: its mapping's VmFlags
// in /proc/self/smaps carry "hg". Whether huge pages then back it depends
// on the kernel's free memory, which a test cannot control.
func TestAdviceRecorded(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge page advice is Linux only")
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("this kernel has no transparent huge pages")
	}
	defer func(f func() bool) { enabled = f }(enabled)
	enabled = func() bool { return true }
	s := Make[float32](2 * MinBytes / 4)
	addr := uintptr(unsafe.Pointer(&s[0]))
	flags, err := vmFlags(addr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("mapping of %#x has VmFlags %q, want hg (MADV_HUGEPAGE)", addr, flags)
	}
	runtime.KeepAlive(s)
}

// vmFlags returns the VmFlags of the mapping holding addr.
func vmFlags(addr uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header is "lo-hi perms offset dev inode [path]";
		// its fields are "Name: value" lines.
		if f := strings.Fields(line); len(f) > 0 && !strings.HasSuffix(f[0], ":") {
			var lo, hi uintptr
			if _, err := fmt.Sscanf(f[0], "%x-%x", &lo, &hi); err != nil {
				return "", fmt.Errorf("smaps header %q: %v", f[0], err)
			}
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no mapping holds %#x", addr)
}
