package hugepage

import "syscall"

const supported = true

// advise asks for huge pages over b's whole 2 MiB pages (b starts on one).
// An error (an old kernel without transparent huge pages) leaves small
// pages, which is what the advice's absence would give.
func advise(b []byte) {
	if n := len(b) &^ (Size - 1); n > 0 {
		_ = syscall.Madvise(b[:n], syscall.MADV_HUGEPAGE)
	}
}
