// Package hugepage allocates the large slices that searches read at random
// (an HNSW graph's node blocks, its visited marks) so that the kernel can
// back them with 2 MiB transparent huge pages instead of 4 KiB pages.
//
// A beam search over a million-node graph touches a few hundred nodes
// scattered over hundreds of megabytes: with 4 KiB pages nearly every
// touch misses the TLB and walks the page table, which costs about as much
// as the cache miss it accompanies. Linux backs anonymous memory with huge
// pages when its policy (/sys/kernel/mm/transparent_hugepage/enabled) is
// "always", or is "madvise" and the range was advised MADV_HUGEPAGE; Go's
// heap is not advised, so under "madvise" (the default of many
// distributions) a Go program gets 4 KiB pages.
//
// Conventions: Make returns a zeroed slice like make does. A slice of at
// least MinBytes is over-allocated by 2 MiB, aligned to 2 MiB and advised
// MADV_HUGEPAGE before it is first touched (advice is a hint: the kernel
// may still use small pages, and nothing changes under the policies
// "always" and "never"). Smaller slices, other systems and
// MRL_HUGEPAGES=off get plain make. The element types hold no pointers, so
// the slices are ordinary Go memory for the garbage collector.
package hugepage

import (
	"os"
	"sync"
	"unsafe"
)

// Size is the huge page size slices are aligned to.
const Size = 2 << 20

// MinBytes is the smallest slice, in bytes, that Make aligns and advises:
// below it the 2 MiB of padding would cost more than the TLB misses saved.
const MinBytes = 4 << 20

// Env is the environment variable that turns the advice off
// (MRL_HUGEPAGES=off), for comparisons.
const Env = "MRL_HUGEPAGES"

// Elem is the element types Make allocates: fixed-size types without
// pointers.
type Elem interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64 | ~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

var enabled = sync.OnceValue(func() bool { return os.Getenv(Env) != "off" })

// Enabled reports whether Make advises large slices: true unless
// MRL_HUGEPAGES=off (read once) or the system has no such advice.
func Enabled() bool { return supported && enabled() }

// Make returns a zeroed slice of n elements, laid out for huge pages when
// it is at least MinBytes long (see the package doc). n < 0 panics as
// make does.
func Make[T Elem](n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n*size < MinBytes || !Enabled() {
		return make([]T, n)
	}
	pad := Size / size
	raw := make([]T, n+pad)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	off := int((base+Size-1)&^(Size-1)-base) / size
	s := raw[off : off+n : off+n]
	advise(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n*size))
	return s
}
