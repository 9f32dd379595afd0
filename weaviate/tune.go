package weaviate

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server/api"
	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	"github.com/weaviate/weaviate/entities/models"
)

// Tuned is a plan tuned against the cluster for one target recall@K, as
// the class records it (Layout.Tuned).
type Tuned struct {
	api.TunedPlan
	K int `json:"k"`
}

// TuneOptions configures Collection.Tune. Zero fields take the defaults
// given; Target is required.
type TuneOptions struct {
	// Target is the mean recall@K the plan must reach on the calibration
	// queries, in (0, 1].
	Target float64
	// K is the number of results the plan is for. Default 10.
	K int
	// Queries is the number of calibration queries. Default 100.
	Queries int
	// Window is how many points, from the first in id order, the
	// calibration points are drawn from. Default 10000.
	Window int
	// Keeps are the candidate shortlist sizes, tried in increasing order;
	// sizes below K are dropped. Default 20, 50, 100, 200, 400, 800, 1600,
	// 3200.
	Keeps []int
	// Parallel is the number of queries in flight. Default 4.
	Parallel int
	// Seed seeds the choice of calibration points and their noise.
	Seed uint64
}

// WithDefaults returns o with zero fields set to their defaults.
func (o TuneOptions) WithDefaults() TuneOptions {
	o.K = cmp.Or(o.K, 10)
	o.Queries = cmp.Or(o.Queries, 100)
	o.Window = cmp.Or(o.Window, 10000)
	o.Parallel = cmp.Or(o.Parallel, 4)
	if len(o.Keeps) == 0 {
		o.Keeps = []int{20, 50, 100, 200, 400, 800, 1600, 3200}
	}
	return o
}

// Validate reports every problem of o (after WithDefaults) at once.
func (o TuneOptions) Validate() error {
	var p []string
	if !(o.Target > 0 && o.Target <= 1) {
		p = append(p, fmt.Sprintf("target %v: want 0 < target <= 1", o.Target))
	}
	if o.K < 1 {
		p = append(p, fmt.Sprintf("k %d: want >= 1", o.K))
	}
	if o.Queries < 1 {
		p = append(p, fmt.Sprintf("queries %d: want >= 1", o.Queries))
	}
	if o.Window < 1 {
		p = append(p, fmt.Sprintf("window %d: want >= 1", o.Window))
	}
	if o.Parallel < 1 {
		p = append(p, fmt.Sprintf("parallel %d: want >= 1", o.Parallel))
	}
	for _, k := range o.Keeps {
		if k < 1 {
			p = append(p, fmt.Sprintf("keep %d: want >= 1", k))
		}
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: tune: %s", ErrRequest, strings.Join(p, "; "))
	}
	return nil
}

// Tuned returns the plan recorded on the class for target recall@k, as
// the collection was last opened or tuned.
func (c *Collection) Tuned(target float64, k int) (Tuned, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tuned {
		if t.Target == target && t.K == k {
			return t, true
		}
	}
	return Tuned{}, false
}

// Tune picks the funnel plan "p:keep,D:K" (p the first prefix, whose
// HNSW graph makes the shortlist) with the smallest keep whose recall@K
// reaches o.Target on calibration queries, measured on the cluster as
// Search runs the plan, and records it on the class (Layout.Tuned, read
// back by every server that opens the collection).
//
// Calibration queries are o.Queries points of the collection's own, drawn
// at random from its first o.Window points in id order, each with
// Gaussian noise of 5% of its RMS added (as the embedded store's
// AutoPlan makes them, so a query is not its own nearest point). Their
// reference answers are full-dim searches without a plan: exact when the
// full vector has a flat index (the default), HNSW's answers otherwise.
// A keep meets the target when its recall is at least Target plus one
// standard error, sqrt(t(1-t)/(nq*K)), as index.Tune requires.
//
// The shortlist's HNSW ef is Weaviate's (dynamic by default: it grows
// with the limit, 8 x keep clamped to 100..500, unless the layout sets
// HNSW.Ef), so each keep is measured at the ef it runs with. If no keep
// meets the target, Tune records and returns the largest with Met false.
// A layout with no prefix has no plan to tune (ErrRequest).
func (c *Collection) Tune(ctx context.Context, o TuneOptions) (Tuned, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return Tuned{}, err
	}
	l := c.Layout()
	if len(l.Prefixes) == 0 {
		return Tuned{}, fmt.Errorf("%w: collection %s stores no prefix: there is no funnel plan to tune (search the full vector)", ErrRequest, c.name)
	}
	n, err := c.Count(ctx)
	if err != nil {
		return Tuned{}, err
	}
	if n == 0 {
		return Tuned{}, fmt.Errorf("%w: collection %s is empty: nothing to tune against", ErrRequest, c.name)
	}
	calib, err := c.calibration(ctx, o)
	if err != nil {
		return Tuned{}, err
	}
	nq := len(calib)
	// Reference answers.
	truth := make([][]api.Hit, nq)
	if err := parallel(ctx, nq, o.Parallel, func(i int) error {
		var err error
		truth[i], _, err = c.Search(ctx, calib[i], SearchOptions{K: o.K})
		return err
	}); err != nil {
		return Tuned{}, fmt.Errorf("weaviate: tune %s: reference searches: %w", c.name, err)
	}
	margin := math.Sqrt(o.Target * (1 - o.Target) / float64(nq*o.K))
	p := l.Prefixes[0]
	var best Tuned
	for _, keep := range o.Keeps {
		if keep < o.K {
			continue
		}
		plan := index.Plan{{Dim: p, Keep: keep}, {Dim: l.Dim, Keep: o.K}}
		found := make([]int, nq)
		if err := parallel(ctx, nq, o.Parallel, func(i int) error {
			hits, _, err := c.Search(ctx, calib[i], SearchOptions{K: o.K, Plan: plan})
			for _, h := range hits {
				if slices.ContainsFunc(truth[i], func(t api.Hit) bool { return t.ID == h.ID }) {
					found[i]++
				}
			}
			return err
		}); err != nil {
			return Tuned{}, fmt.Errorf("weaviate: tune %s: plan %s: %w", c.name, plan, err)
		}
		hit, want := 0, 0
		for i := range nq {
			hit += found[i]
			want += min(o.K, len(truth[i]))
		}
		recall := float64(hit) / float64(max(want, 1))
		best = Tuned{TunedPlan: api.TunedPlan{Plan: plan.String(), Target: o.Target, Recall: recall, Rows: n, Met: recall >= o.Target+margin}, K: o.K}
		if best.Met || keep >= n {
			break
		}
	}
	if best.Plan == "" {
		return Tuned{}, fmt.Errorf("%w: tune: no keep of %v is at least k %d", ErrRequest, o.Keeps, o.K)
	}
	if err := c.record(ctx, best); err != nil {
		return best, err
	}
	return best, nil
}

// calibration draws the calibration queries (see Tune).
func (c *Collection) calibration(ctx context.Context, o TuneOptions) ([][]float32, error) {
	ids, err := c.firstIDs(ctx, o.Window)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6d726c))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), o.Queries)]
	pts, err := c.fetch(ctx, "tune sample", ReadOptions{WithVector: true}, func(s *graphql.Search) *graphql.Search {
		return s.WithWhere(idsFilter(ids)).WithLimit(len(ids))
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pts, func(a, b api.Point) int { return a.ID.Compare(b.ID) })
	d := c.layout.Dim
	out := make([][]float32, 0, len(pts))
	for _, p := range pts {
		if len(p.Vector) != d {
			return nil, fmt.Errorf("weaviate: tune %s: point %v has %d floats, want %d", c.name, p.ID, len(p.Vector), d)
		}
		var ss float64
		for _, x := range p.Vector {
			ss += float64(x) * float64(x)
		}
		sigma := 0.05 * math.Sqrt(ss/float64(d))
		q := make([]float32, d)
		for j, x := range p.Vector {
			q[j] = x + float32(sigma*rng.NormFloat64())
		}
		out = append(out, q)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: tune %s: no points to draw queries from", ErrRequest, c.name)
	}
	return out, nil
}

// firstIDs returns the object UUIDs of up to window points, from the
// first in object UUID order (see Scroll).
func (c *Collection) firstIDs(ctx context.Context, window int) ([]string, error) {
	var ids []string
	const page = 2000
	after, first := "", true
	for len(ids) < window {
		want := min(page, window-len(ids))
		pts, err := c.fetch(ctx, "tune ids", ReadOptions{}, func(s *graphql.Search) *graphql.Search {
			s = s.WithProperties(IDProperty).WithLimit(want)
			if !first {
				s = s.WithAfter(after)
			}
			return s
		})
		if err != nil {
			return nil, err
		}
		for _, p := range pts {
			oid, _ := ObjectID(p.ID) // made by PointIDOf
			ids = append(ids, oid)
		}
		if len(pts) < want {
			break
		}
		after, first = ids[len(ids)-1], false
	}
	return ids, nil
}

// record writes t into the class's recorded layout, replacing a plan of
// the same target and K, and into this Collection's layout.
func (c *Collection) record(ctx context.Context, t Tuned) error {
	put := func(list []Tuned) []Tuned {
		list = slices.DeleteFunc(slices.Clone(list), func(x Tuned) bool { return x.Target == t.Target && x.K == t.K })
		list = append(list, t)
		if len(list) > 16 {
			list = list[len(list)-16:]
		}
		return list
	}
	err := c.cl.do(ctx, "record tuned plan on "+c.class, func(ctx context.Context, wc *wv.Client) error {
		cls, err := wc.Schema().ClassGetter().WithClassName(c.class).Do(ctx)
		if err != nil {
			return err
		}
		j, err := recordedLayout(cls)
		if err != nil {
			return err
		}
		j.Tuned = put(j.Tuned)
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		cls.Description = layoutMarker + string(b)
		return wc.Schema().ClassUpdater().WithClass(cls).Do(ctx)
	})
	if err != nil {
		return fmt.Errorf("weaviate: record tuned plan %s on %s: %w", t.Plan, c.name, err)
	}
	c.mu.Lock()
	c.tuned = put(c.tuned)
	c.mu.Unlock()
	return nil
}

// recordedLayout reads the layout JSON a class description records.
func recordedLayout(cls *models.Class) (layoutJSON, error) {
	var j layoutJSON
	raw, ok := strings.CutPrefix(cls.Description, layoutMarker)
	if !ok {
		return j, fmt.Errorf("%w: class %s was not created by mrl (its description does not record a layout)", ErrLayout, cls.Class)
	}
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return j, fmt.Errorf("%w: class %s: recorded layout: %v", ErrLayout, cls.Class, err)
	}
	return j, nil
}

// parallel runs f(0..n-1) on up to par goroutines and returns the first
// error.
func parallel(ctx context.Context, n, par int, f func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range min(par, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}
