package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/weaviate"
)

// Collection is one collection on the cluster, as the server's handlers
// use it. It is safe for concurrent use.
type Collection struct {
	s      *Store
	wc     *weaviate.Collection
	meta   api.Meta
	metric mrl.Metric

	seq     atomic.Uint64 // writes this process acknowledged (see the package doc)
	dropped atomic.Bool
	checked atomic.Int64 // when the cluster last showed the class with this layout (UnixNano)

	mu    sync.Mutex
	count int // the last count the cluster gave, for Info when it does not answer

	tuneMu sync.Mutex // one tuning at a time
}

func sortCollections(cols []*Collection) {
	slices.SortFunc(cols, func(a, b *Collection) int {
		switch {
		case a.meta.Name < b.meta.Name:
			return -1
		case a.meta.Name > b.meta.Name:
			return 1
		}
		return 0
	})
}

// Meta returns the collection's shape.
func (c *Collection) Meta() api.Meta { return c.meta }

// Metric returns the collection's metric.
func (c *Collection) Metric() mrl.Metric { return c.metric }

// Layout returns how the collection lies on the cluster.
func (c *Collection) Layout() weaviate.Layout { return c.wc.Layout() }

// fail maps err (mapErr); when the cluster says the collection is gone
// (dropped by another server), it also forgets it, so that the next
// request reads the cluster's schema again instead of this stale entry.
func (c *Collection) fail(err error) error {
	if errors.Is(err, weaviate.ErrNotFound) {
		c.s.forget(c)
	}
	return mapErr(err)
}

// usable reports ErrClosed for a dropped collection or a closed store.
func (c *Collection) usable() error {
	if c.dropped.Load() || c.s.isClosed() {
		return collection.ErrClosed
	}
	return nil
}

// Info returns the collection's state with the count the cluster gives
// (the last one known when it does not answer). See the package doc for
// seq and the byte counts.
func (c *Collection) Info() api.CollectionInfo {
	ctx, cancel := c.s.call()
	defer cancel()
	n, err := c.wc.Count(ctx)
	c.mu.Lock()
	if err == nil {
		c.count = n
	} else {
		n = c.count
	}
	c.mu.Unlock()
	seq := c.seq.Load()
	return api.CollectionInfo{Meta: c.meta, Count: n, Seq: seq, SnapshotSeq: seq}
}

// Err reports a cluster none of whose nodes answers (checked at most once
// per Options.HealthEvery), or nil.
func (c *Collection) Err() error { return c.s.reachable() }

// Upsert writes pts to the cluster at the store's consistency level. They
// are checked as the embedded store checks them (vectors, payloads, no id
// twice: collection.ErrInvalid) before anything is sent. A batch the
// cluster refuses in part is an error; the points of earlier batches, and
// those of the failed one the cluster took, stay written (Weaviate does
// not undo them).
func (c *Collection) Upsert(pts []api.Point) (uint64, error) {
	if err := c.usable(); err != nil {
		return 0, err
	}
	if err := checkPoints(pts, c.meta.Dim, c.metric); err != nil {
		return 0, err
	}
	ctx, cancel := c.s.call()
	defer cancel()
	if _, err := c.wc.Upsert(ctx, pts, weaviate.WriteOptions{}); err != nil {
		return c.seq.Load(), c.fail(err)
	}
	return c.seq.Add(1), nil
}

// checkPoints is the embedded store's check of an upsert batch.
func checkPoints(pts []api.Point, dim int, metric mrl.Metric) error {
	seen := make(map[api.PointID]int, len(pts))
	for i, p := range pts {
		if _, err := weaviate.ObjectID(p.ID); err != nil {
			return invalidf("points[%d].id: %v", i, err)
		}
		if j, ok := seen[p.ID]; ok {
			return invalidf("points[%d].id: %v repeats points[%d].id", i, p.ID, j)
		}
		seen[p.ID] = i
		if err := collection.CheckVector(fmt.Sprintf("points[%d].vector", i), p.Vector, dim, metric); err != nil {
			return err
		}
		if err := collection.CheckPayload(fmt.Sprintf("points[%d].payload", i), p.Payload); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the points with the given ids and returns how many were
// present.
func (c *Collection) Delete(ids []api.PointID) (int, uint64, error) {
	if err := c.usable(); err != nil {
		return 0, 0, err
	}
	if len(ids) == 0 {
		return 0, c.seq.Load(), nil
	}
	ctx, cancel := c.s.call()
	defer cancel()
	n, err := c.wc.Delete(ctx, ids, weaviate.WriteOptions{})
	if err != nil {
		return n, c.seq.Load(), c.fail(err)
	}
	return n, c.seq.Add(1), nil
}

// Get is GetChecked without its error (a cluster that does not answer
// reads as a missing point); the server calls GetChecked.
func (c *Collection) Get(id api.PointID) (api.Point, bool) {
	p, ok, _ := c.GetChecked(id)
	return p, ok
}

// GetChecked returns point id with its vector and payload.
func (c *Collection) GetChecked(id api.PointID) (api.Point, bool, error) {
	if err := c.usable(); err != nil {
		return api.Point{}, false, err
	}
	ctx, cancel := c.s.call()
	defer cancel()
	p, ok, err := c.wc.Get(ctx, id, weaviate.ReadOptions{WithVector: true})
	return p, ok, c.fail(err)
}

// Scroll is ScrollChecked without its error (an empty last page when the
// cluster does not answer); the server calls ScrollChecked.
func (c *Collection) Scroll(o collection.ScrollOptions) ([]api.Point, bool) {
	pts, more, _ := c.ScrollChecked(o)
	return pts, more
}

// ScrollChecked returns up to o.Limit points (100 when 0) after o.After
// (all when o.First), and whether more follow; with o.MaxBytes the page
// is cut at that estimated JSON size, as the embedded store estimates it
// (the first point is always kept). The order is the cluster's object
// UUID order (weaviate.Collection.Scroll): integer ids in increasing
// order as one run, UUID ids by their text before or after it, so every
// point comes once but UUIDs need not all follow the integers as in the
// embedded store.
func (c *Collection) ScrollChecked(o collection.ScrollOptions) ([]api.Point, bool, error) {
	if err := c.usable(); err != nil {
		return nil, false, err
	}
	limit := o.Limit
	if limit <= 0 {
		limit = 100
	}
	if _, err := weaviate.ObjectID(o.After); err != nil && !o.First {
		return nil, false, invalidf("after: %v (no page of this collection ends with it)", err)
	}
	ctx, cancel := c.s.call()
	defer cancel()
	pts, more, err := c.wc.Scroll(ctx, o.After, o.First, limit, weaviate.ReadOptions{WithVector: o.WithVector})
	if err != nil {
		return nil, false, c.fail(err)
	}
	if o.MaxBytes > 0 {
		size := 0
		for i, p := range pts {
			size += 40 + 16*len(p.Vector) + collection.PayloadBytes(p.Payload)
			if i > 0 && size > o.MaxBytes {
				return pts[:i], true, nil
			}
		}
	}
	return pts, more, nil
}

// Search runs q on the cluster (weaviate.Collection.Search): the plan's
// stages as stage queries, the dim, k, the filter and payloads as asked.
// A query the server would refuse is collection.ErrInvalid, checked as
// the embedded store checks it; a plan whose stage dims the layout does
// not store is ErrInvalid too (400), naming the stored prefixes.
func (c *Collection) Search(ctx context.Context, q collection.Query) (collection.Result, error) {
	if err := c.usable(); err != nil {
		return collection.Result{}, err
	}
	o, err := c.searchOptions(q)
	if err != nil {
		return collection.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.opt.Timeout)
	defer cancel()
	hits, stages, err := c.wc.Search(ctx, q.Vector, o)
	if err != nil {
		return collection.Result{}, c.fail(err)
	}
	return collection.Result{Hits: hits, Stages: stages}, nil
}

// searchOptions checks q as the embedded store does and maps it to the
// cluster's search.
func (c *Collection) searchOptions(q collection.Query) (weaviate.SearchOptions, error) {
	d := c.meta.Dim
	dim, k := q.Dim, q.K
	if dim == 0 {
		dim = d
	}
	if k == 0 {
		k = 10
	}
	if dim < 0 || dim > d {
		return weaviate.SearchOptions{}, invalidf("dim: %d, want 1..%d (the collection dim)", dim, d)
	}
	if k < 0 {
		return weaviate.SearchOptions{}, invalidf("k: %d, want at least 1", k)
	}
	if err := collection.CheckVector("vector", q.Vector, d, c.metric); err != nil {
		return weaviate.SearchOptions{}, err
	}
	if q.Plan != nil {
		if err := q.Plan.Validate(d, 0); err != nil {
			return weaviate.SearchOptions{}, invalidf("plan %v: %v", q.Plan, err)
		}
	}
	if q.Filter != nil {
		if err := collection.ValidateFilter("filter", q.Filter); err != nil {
			return weaviate.SearchOptions{}, err
		}
	}
	return weaviate.SearchOptions{K: k, Dim: dim, Plan: q.Plan, Filter: q.Filter, WithPayload: q.WithPayload}, nil
}

// AutoPlan returns the plan tuned against the cluster for target
// recall@10 (weaviate.Collection.Tune: the smallest shortlist on the
// first stored prefix that reaches the target on the collection's own
// points as queries, against full-dim answers). A plan recorded on the
// class (by this server or another) is reused while the collection's
// count stays within a fifth of the count it was tuned at; otherwise the
// first search asking for it tunes again (seconds: a few hundred
// searches on the cluster) and records the new plan. It returns nil for
// a collection that stores no prefix (full-dim search is the plan) or
// holds fewer than 1000 points (exact search is cheap), as the embedded
// store does below its TuneMinRows.
func (c *Collection) AutoPlan(target float64) (*collection.TunedPlan, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if len(c.wc.Layout().Prefixes) == 0 {
		return nil, nil
	}
	const k, minRows = 10, 1000
	ctx, cancel := c.s.call()
	n, err := c.wc.Count(ctx)
	cancel()
	if err != nil {
		return nil, c.fail(err)
	}
	if n < minRows {
		return nil, nil
	}
	fresh := func(t weaviate.Tuned) bool { return math.Abs(float64(t.Rows-n)) <= 0.2*float64(t.Rows) }
	if t, ok := c.wc.Tuned(target, k); ok && fresh(t) {
		return tunedPlan(t)
	}
	c.tuneMu.Lock()
	defer c.tuneMu.Unlock()
	if t, ok := c.wc.Tuned(target, k); ok && fresh(t) {
		return tunedPlan(t) // tuned meanwhile by another request
	}
	// Tuning runs a few hundred searches: allow it ten request timeouts.
	ctx, cancel = context.WithTimeout(context.Background(), 10*c.s.opt.Timeout)
	defer cancel()
	t, err := c.wc.Tune(ctx, weaviate.TuneOptions{Target: target, K: k, Seed: uint64(n)})
	if err != nil {
		return nil, c.fail(err)
	}
	c.s.opt.Logger.Info("tuned plan on the cluster", "collection", c.meta.Name, "plan", t.Plan, "target", target, "recall", t.Recall, "rows", t.Rows, "met", t.Met)
	return tunedPlan(t)
}

func tunedPlan(t weaviate.Tuned) (*collection.TunedPlan, error) {
	p, err := index.ParsePlan(t.Plan)
	if err != nil {
		return nil, fmt.Errorf("tuned plan %q recorded on the class: %w", t.Plan, err)
	}
	return &collection.TunedPlan{TunedPlan: t.TunedPlan, Stages: p}, nil
}

// Snapshot does nothing (see Store.Snapshot).
func (c *Collection) Snapshot() error { return c.usable() }
