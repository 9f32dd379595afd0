package index

import (
	"maps"
	"sync"
	"sync/atomic"
)

// dimCache holds one []T per prefix dim (prefix norms, blocked copies,
// the int8 filter's row shifts), computed on first use and then read
// without locking: the map is replaced on every write, never changed
// (copy on write).
type dimCache[T any] struct {
	mu sync.Mutex // serialises computes
	m  atomic.Pointer[map[int][]T]
}

// get returns the slice cached at dim, or nil.
func (c *dimCache[T]) get(dim int) []T {
	if p := c.m.Load(); p != nil {
		return (*p)[dim]
	}
	return nil
}

// getOrCompute returns the slice cached at dim, computing and caching it
// with compute first if it is missing; compute runs at most once per dim.
func (c *dimCache[T]) getOrCompute(dim int, compute func() []T) []T {
	if s := c.get(dim); s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.get(dim); s != nil {
		return s
	}
	s := compute()
	m := make(map[int][]T, 1)
	if old := c.m.Load(); old != nil {
		maps.Copy(m, *old)
	}
	m[dim] = s
	c.m.Store(&m)
	return s
}

// elems returns the number of elements cached over all dims.
func (c *dimCache[T]) elems() int64 {
	var n int64
	if p := c.m.Load(); p != nil {
		for _, s := range *p {
			n += int64(len(s))
		}
	}
	return n
}
