package index

import (
	"maps"
	"sync"
	"sync/atomic"
)

// dimCache holds one []float32 per prefix dim (prefix norms, blocked
// copies), computed on first use and then read without locking: the map
// is replaced on every write, never changed (copy on write).
type dimCache struct {
	mu sync.Mutex // serialises computes
	m  atomic.Pointer[map[int][]float32]
}

// get returns the slice cached at dim, or nil.
func (c *dimCache) get(dim int) []float32 {
	if p := c.m.Load(); p != nil {
		return (*p)[dim]
	}
	return nil
}

// getOrCompute returns the slice cached at dim, computing and caching it
// with compute first if it is missing; compute runs at most once per dim.
func (c *dimCache) getOrCompute(dim int, compute func() []float32) []float32 {
	if s := c.get(dim); s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.get(dim); s != nil {
		return s
	}
	s := compute()
	m := make(map[int][]float32, 1)
	if old := c.m.Load(); old != nil {
		maps.Copy(m, *old)
	}
	m[dim] = s
	c.m.Store(&m)
	return s
}

// floats returns the number of floats cached over all dims.
func (c *dimCache) floats() int64 {
	var n int64
	if p := c.m.Load(); p != nil {
		for _, s := range *p {
			n += int64(len(s))
		}
	}
	return n
}
