package weaviate

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server/api"
	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/filters"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/schema"
	"github.com/weaviate/weaviate/entities/models"
	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// Collection is a collection of points on the cluster, laid out by its
// Layout. Its methods mirror the embedded store's (upsert, delete, get,
// scroll, search) with a context, since each is a network call. A
// Collection is safe for concurrent use.
type Collection struct {
	cl     *Cluster
	name   string
	class  string
	layout Layout

	mu    sync.Mutex
	types map[string]string // property -> data type, as last read or written
	tuned []Tuned           // plans recorded on the class (layout.Tuned is not kept up to date)
	ef    int               // the ef SetEf set last (0: none; layout.HNSW.Ef is as opened)
}

// Create makes collection name laid out as l. It fails with ErrLayout if a
// collection of that name exists with another layout (one with the same
// layout is opened as it is).
func (cl *Cluster) Create(ctx context.Context, name string, l Layout) (*Collection, error) {
	l = l.WithDefaults()
	if err := l.Validate(); err != nil {
		return nil, err
	}
	class, err := ClassName(name)
	if err != nil {
		return nil, err
	}
	if c, err := cl.Collection(ctx, name, &l); err == nil {
		return c, nil
	} else if !isNotFound(err) {
		return nil, err
	}
	// A class dropped a moment ago may still exist on the schema leader
	// (the node answering has applied the drop, the leader's log has not
	// caught up): "already exists" is then retried for a few seconds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = cl.do(ctx, "create "+class, func(ctx context.Context, c *wv.Client) error {
			return c.Schema().ClassCreator().WithClass(classFor(class, l)).Do(ctx)
		})
		if err == nil || !strings.Contains(err.Error(), "already exists") || time.Now().After(deadline) {
			break
		}
		if col, oerr := cl.Collection(ctx, name, &l); oerr == nil {
			return col, nil // created meanwhile by another writer, with this layout
		} else if !isNotFound(oerr) {
			return nil, oerr
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("weaviate: create collection %s: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("weaviate: create collection %s: %w", name, err)
	}
	return cl.Collection(ctx, name, &l)
}

// List opens every collection on the cluster that this package created
// (a class whose description records a layout), in class name order; a
// class of another program is skipped, one whose recorded layout does not
// match the class is reported (ErrLayout) with the others listed.
func (cl *Cluster) List(ctx context.Context) ([]*Collection, error) {
	var dump *schema.Dump
	err := cl.do(ctx, "schema", func(ctx context.Context, c *wv.Client) error {
		var err error
		dump, err = c.Schema().Getter().Do(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("weaviate: list collections: %w", err)
	}
	var cols []*Collection
	var errs []error
	for _, c := range dump.Classes {
		if c == nil || !strings.HasPrefix(c.Description, layoutMarker) {
			continue
		}
		l, err := layoutOf(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cols = append(cols, &Collection{cl: cl, name: c.Class, class: c.Class, layout: l, types: propTypes(c), tuned: l.Tuned})
	}
	slices.SortFunc(cols, func(a, b *Collection) int { return cmp.Compare(a.class, b.class) })
	return cols, errors.Join(errs...)
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Collection opens an existing collection. With want, it checks that the
// collection is laid out as want (Layout.Diff) and fails with ErrLayout
// naming every difference otherwise; ErrNotFound if it does not exist.
func (cl *Cluster) Collection(ctx context.Context, name string, want *Layout) (*Collection, error) {
	class, err := ClassName(name)
	if err != nil {
		return nil, err
	}
	var got *models.Class
	err = cl.do(ctx, "schema of "+class, func(ctx context.Context, c *wv.Client) error {
		var err error
		got, err = c.Schema().ClassGetter().WithClassName(class).Do(ctx)
		return err
	})
	if status404(err) {
		return nil, fmt.Errorf("%w: %s (class %s)", ErrNotFound, name, class)
	}
	if err != nil {
		return nil, fmt.Errorf("weaviate: open collection %s: %w", name, err)
	}
	l, err := layoutOf(got)
	if err != nil {
		return nil, err
	}
	if want != nil {
		w := want.WithDefaults()
		if d := w.Diff(l); d != "" {
			return nil, fmt.Errorf("%w: collection %s: %s", ErrLayout, name, d)
		}
		l.HNSW.Ef = w.HNSW.Ef
	}
	col := &Collection{cl: cl, name: name, class: class, layout: l, tuned: l.Tuned}
	col.types = propTypes(got)
	return col, nil
}

// Drop deletes collection name and all its points; a missing one is not
// an error.
func (cl *Cluster) Drop(ctx context.Context, name string) error {
	class, err := ClassName(name)
	if err != nil {
		return err
	}
	err = cl.do(ctx, "drop "+class, func(ctx context.Context, c *wv.Client) error {
		return c.Schema().ClassDeleter().WithClassName(class).Do(ctx)
	})
	if err != nil && !status404(err) {
		return fmt.Errorf("weaviate: drop collection %s: %w", name, err)
	}
	return nil
}

func propTypes(c *models.Class) map[string]string {
	t := map[string]string{}
	for _, p := range c.Properties {
		if p != nil && len(p.DataType) == 1 {
			t[p.Name] = p.DataType[0]
		}
	}
	return t
}

// Name returns the collection's name.
func (c *Collection) Name() string { return c.name }

// Layout returns the collection's layout.
func (c *Collection) Layout() Layout {
	l := c.layout.WithDefaults()
	c.mu.Lock()
	l.Tuned = slices.Clone(c.tuned)
	if c.ef != 0 {
		l.HNSW.Ef = c.ef
	}
	c.mu.Unlock()
	return l
}

// schema reads the collection's class from the cluster; a class dropped
// meanwhile is ErrNotFound.
func (c *Collection) schema(ctx context.Context) (*models.Class, error) {
	var got *models.Class
	err := c.cl.do(ctx, "schema of "+c.class, func(ctx context.Context, wc *wv.Client) error {
		var err error
		got, err = wc.Schema().ClassGetter().WithClassName(c.class).Do(ctx)
		return err
	})
	if status404(err) {
		return nil, fmt.Errorf("%w: %s (class %s, dropped meanwhile)", ErrNotFound, c.name, c.class)
	}
	return got, err
}

// refreshTypes reads the collection's property types from the cluster.
func (c *Collection) refreshTypes(ctx context.Context) (map[string]string, error) {
	got, err := c.schema(ctx)
	if err != nil {
		return nil, err
	}
	t := propTypes(got)
	c.mu.Lock()
	c.types = t
	c.mu.Unlock()
	return maps.Clone(t), nil
}

func (c *Collection) typesNow() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.types)
}

// ensureProps adds the properties that the payload fields need (text
// with whole-string tokenization, number or boolean), and reports a
// field whose value type differs from its property's.
func (c *Collection) ensureProps(ctx context.Context, need map[string]string, example map[string]string) error {
	types := c.typesNow()
	missing := false
	for p := range need {
		if _, ok := types[p]; !ok {
			missing = true
		}
	}
	if missing {
		var err error
		if types, err = c.refreshTypes(ctx); err != nil {
			return err
		}
	}
	var bad []string
	for _, p := range slices.Sorted(maps.Keys(need)) {
		t := need[p]
		have, ok := types[p]
		if ok {
			if have != t {
				k, _ := KeyOf(p)
				bad = append(bad, fmt.Sprintf("field %q: the collection holds %s values, point %s has %s", k, have, example[p], t))
			}
			continue
		}
		prop := &models.Property{Name: p, DataType: []string{t}}
		if t == "text" {
			prop.Tokenization = models.PropertyTokenizationField
		}
		err := c.cl.do(ctx, "add property "+p, func(ctx context.Context, wc *wv.Client) error {
			return wc.Schema().PropertyCreator().WithClassName(c.class).WithProperty(prop).Do(ctx)
		})
		if err != nil {
			// Another writer may have added it meanwhile.
			types, rerr := c.refreshTypes(ctx)
			if rerr != nil || types[p] != t {
				return fmt.Errorf("weaviate: add property %s (%s) to %s: %w", p, t, c.class, err)
			}
			continue
		}
		c.mu.Lock()
		c.types[p] = t
		c.mu.Unlock()
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s (a field keeps one type in a Weaviate collection)", ErrPayload, strings.Join(bad, "; "))
	}
	return nil
}

// object converts a point (checked) to a Weaviate object.
func (c *Collection) object(p api.Point, props map[string]any) *models.Object {
	l := c.layout
	vecs := models.Vectors{FullVector: prefixVector(l.Metric, p.Vector, l.Dim)}
	for _, m := range l.Prefixes {
		vecs[l.PrefixName(m)] = prefixVector(l.Metric, p.Vector, m)
	}
	oid, _ := ObjectID(p.ID) // checked by checkPoints
	return &models.Object{Class: c.class, ID: strfmt.UUID(oid), Properties: props, Vectors: vecs}
}

// checkPoints validates a batch and returns each point's properties and
// the data types of the fields they carry.
func (c *Collection) checkPoints(pts []api.Point) ([]map[string]any, map[string]string, map[string]string, error) {
	var bad []string
	need := map[string]string{}
	example := map[string]string{}
	props := make([]map[string]any, len(pts))
	for i, p := range pts {
		if _, err := ObjectID(p.ID); err != nil {
			bad = append(bad, fmt.Sprintf("point %d (id %v): %v", i, p.ID, err))
			continue
		}
		if len(p.Vector) != c.layout.Dim {
			bad = append(bad, fmt.Sprintf("point %d (id %v): vector of %d floats, want %d", i, p.ID, len(p.Vector), c.layout.Dim))
			continue
		}
		for j, x := range p.Vector {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				bad = append(bad, fmt.Sprintf("point %d (id %v): vector[%d] = %v is not finite", i, p.ID, j, x))
				break
			}
		}
		m := map[string]any{}
		if n, ok := p.ID.Uint64(); ok {
			m[IDProperty] = int64(n)
		}
		for k, v := range p.Payload {
			t, ok := dataType(v)
			if !ok {
				bad = append(bad, fmt.Sprintf("point %d (id %v): payload field %q is %s: want a string, number or boolean", i, p.ID, k, kindOf(v)))
				continue
			}
			name, err := PropertyName(k)
			if err != nil {
				bad = append(bad, fmt.Sprintf("point %d (id %v): %v", i, p.ID, err))
				continue
			}
			if prev, ok := need[name]; ok && prev != t {
				bad = append(bad, fmt.Sprintf("point %d (id %v): payload field %q is %s, point %s has %s (a field keeps one type)", i, p.ID, k, t, example[name], prev))
				continue
			}
			need[name] = t
			example[name] = fmt.Sprint(p.ID)
			m[name] = v
		}
		props[i] = m
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return nil, nil, nil, fmt.Errorf("%w: %s", ErrPayload, strings.Join(bad, "; "))
	}
	return props, need, example, nil
}

// WriteOptions are the knobs of one write.
type WriteOptions struct {
	Consistency Consistency // "" means the cluster's default
}

// Upsert writes pts (replacing points with the same ids), in batches of
// the cluster's batch size, at the consistency level given (or the
// default). It returns how many points were acknowledged; on an error,
// the points of the batches before the failed one were acknowledged and
// the ones of the failed batch are named.
func (c *Collection) Upsert(ctx context.Context, pts []api.Point, o WriteOptions) (int, error) {
	props, need, example, err := c.checkPoints(pts)
	if err != nil {
		return 0, err
	}
	if err := c.ensureProps(ctx, need, example); err != nil {
		return 0, err
	}
	cons := cmp.Or(o.Consistency, c.cl.opt.Consistency)
	done := 0
	for lo := 0; lo < len(pts); lo += c.cl.opt.BatchSize {
		hi := min(lo+c.cl.opt.BatchSize, len(pts))
		objs := make([]*models.Object, 0, hi-lo)
		for i := lo; i < hi; i++ {
			objs = append(objs, c.object(pts[i], props[i]))
		}
		var res []models.ObjectsGetResponse
		err := c.cl.do(ctx, "batch upsert", func(ctx context.Context, wc *wv.Client) error {
			var err error
			res, err = wc.Batch().ObjectsBatcher().WithObjects(objs...).WithConsistencyLevel(string(cons)).Do(ctx)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("weaviate: upsert points %d..%d of %d into %s: %w", lo, hi-1, len(pts), c.name, err)
		}
		var failed []string
		for i, r := range res {
			if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
				failed = append(failed, fmt.Sprintf("id %v: %s", pts[lo+i].ID, r.Result.Errors.Error[0].Message))
			}
		}
		if len(failed) > 0 {
			n := len(failed)
			if n > 3 {
				failed = append(failed[:3], "...")
			}
			return done + (hi - lo - n), fmt.Errorf("weaviate: upsert into %s at %s: %d of %d points failed: %s", c.name, cons, n, hi-lo, strings.Join(failed, "; "))
		}
		done += hi - lo
	}
	return done, nil
}

// Delete removes the points with the given ids and returns how many were
// present.
func (c *Collection) Delete(ctx context.Context, pids []api.PointID, o WriteOptions) (int, error) {
	cons := cmp.Or(o.Consistency, c.cl.opt.Consistency)
	ids := make([]string, 0, len(pids))
	for _, id := range pids {
		if oid, err := ObjectID(id); err == nil {
			ids = append(ids, oid) // a refused UUID is never present
		}
	}
	n := 0
	for lo := 0; lo < len(ids); lo += c.cl.opt.BatchSize {
		hi := min(lo+c.cl.opt.BatchSize, len(ids))
		var r *models.BatchDeleteResponse
		err := c.cl.do(ctx, "batch delete", func(ctx context.Context, wc *wv.Client) error {
			var err error
			r, err = wc.Batch().ObjectsBatchDeleter().WithClassName(c.class).WithWhere(idsFilter(ids[lo:hi])).
				WithConsistencyLevel(string(cons)).WithOutput("minimal").Do(ctx)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("weaviate: delete %d ids from %s: %w", hi-lo, c.name, err)
		}
		if r.Results != nil {
			n += int(r.Results.Successful)
			if r.Results.Failed > 0 {
				return n, fmt.Errorf("weaviate: delete from %s at %s: %d of %d deletes failed", c.name, cons, r.Results.Failed, r.Results.Matches)
			}
		}
	}
	return n, nil
}

// ReadOptions are the knobs of one read.
type ReadOptions struct {
	Consistency Consistency // "" means the cluster's default
	WithVector  bool        // return the full vector
}

// Get returns the point with id; ok is false if there is none.
func (c *Collection) Get(ctx context.Context, id api.PointID, o ReadOptions) (api.Point, bool, error) {
	oid, err := ObjectID(id)
	if err != nil {
		return api.Point{}, false, nil // a refused UUID is never present
	}
	pts, err := c.fetch(ctx, "get", o, func(s *graphql.Search) *graphql.Search {
		return s.WithWhere(filters.Where().WithOperator(filters.Equal).WithPath([]string{"_id"}).WithValueText(oid)).WithLimit(1)
	})
	if err != nil || len(pts) == 0 {
		return api.Point{}, false, err
	}
	return pts[0], true, nil
}

// GetFrom reads point id from node (a name as Cluster.Nodes returns)
// alone (a node-local read: no consistency level, no repair): whether
// that node's replica holds it. A node that holds no replica of the
// point's shard answers not found. It is how a test checks every replica
// after a failure.
func (c *Collection) GetFrom(ctx context.Context, node string, id api.PointID) (api.Point, bool, error) {
	oid, err := ObjectID(id)
	if err != nil {
		return api.Point{}, false, nil // a refused UUID is never present
	}
	var objs []*models.Object
	err = c.cl.do(ctx, "get from "+node, func(ctx context.Context, wc *wv.Client) error {
		var err error
		objs, err = wc.Data().ObjectsGetter().WithClassName(c.class).WithID(oid).
			WithNodeName(node).WithVector().Do(ctx)
		return err
	})
	if status404(err) {
		return api.Point{}, false, nil
	}
	if err != nil {
		return api.Point{}, false, fmt.Errorf("weaviate: get %v from node %s: %w", id, node, err)
	}
	if len(objs) == 0 || objs[0] == nil {
		return api.Point{}, false, nil
	}
	o := objs[0]
	p := api.Point{ID: id}
	if v, ok := o.Vectors[FullVector].([]float32); ok {
		p.Vector = v
	} else if raw, ok := o.Vectors[FullVector].([]any); ok {
		for _, x := range raw {
			f, _ := x.(float64)
			p.Vector = append(p.Vector, float32(f))
		}
	}
	if m, ok := o.Properties.(map[string]any); ok {
		p.Payload = payloadOf(m)
	}
	return p, true, nil
}

// Scroll returns up to limit points whose object UUIDs (ObjectID) sort
// after after's (every point when first), in object UUID order, and
// whether more may follow. Integer ids sort among themselves as the
// integers do (their UUIDs encode them big-endian) and come as one run;
// UUID ids sort as their text, before or after that run.
func (c *Collection) Scroll(ctx context.Context, after api.PointID, first bool, limit int, o ReadOptions) ([]api.Point, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("%w: scroll limit %d: want >= 1", ErrRequest, limit)
	}
	cursor, err := ObjectID(after)
	if err != nil && !first {
		return nil, false, fmt.Errorf("%w: scroll cursor: %v", ErrRequest, err)
	}
	pts, err := c.fetch(ctx, "scroll", o, func(s *graphql.Search) *graphql.Search {
		if !first {
			s = s.WithAfter(cursor)
		}
		return s.WithLimit(limit + 1)
	})
	if err != nil {
		return nil, false, err
	}
	more := len(pts) > limit
	if more {
		pts = pts[:limit]
	}
	return pts, more, nil
}

// fetch runs a gRPC search without a vector and returns points with
// payloads (and full vectors when asked).
func (c *Collection) fetch(ctx context.Context, what string, o ReadOptions, build func(*graphql.Search) *graphql.Search) ([]api.Point, error) {
	cons := cmp.Or(o.Consistency, c.cl.opt.Consistency)
	md := &graphql.Metadata{ID: true}
	if o.WithVector {
		md.Vectors = []string{FullVector}
	}
	var res []graphql.SearchResult
	err := c.cl.do(ctx, what, func(ctx context.Context, wc *wv.Client) error {
		var err error
		s := wc.Experimental().Search().WithCollection(c.class).WithConsistencyLevel(string(cons)).WithMetadata(md)
		res, err = build(s).Do(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("weaviate: %s in %s: %w", what, c.name, err)
	}
	pts := make([]api.Point, 0, len(res))
	for _, r := range res {
		id, err := PointIDOf(r.ID)
		if err != nil {
			return nil, err
		}
		p := api.Point{ID: id, Payload: payloadOf(r.Properties)}
		if o.WithVector {
			p.Vector = r.Vectors[FullVector].GetVector()
		}
		pts = append(pts, p)
	}
	return pts, nil
}

// payloadOf maps properties back to payload keys; null and foreign
// properties are left out.
func payloadOf(props map[string]any) map[string]any {
	var p map[string]any
	for name, v := range props {
		k, ok := KeyOf(name)
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string, float64, bool:
		case int64:
			v = float64(x)
		case structpb.NullValue, nil:
			continue
		default:
			continue
		}
		if p == nil {
			p = map[string]any{}
		}
		p[k] = v
	}
	return p
}

// SearchOptions are the knobs of one search.
type SearchOptions struct {
	K           int            // results wanted (default 10)
	Dim         int            // the prefix dim ranked by (default the full dim); the layout must store it
	Plan        index.Plan     // run as stage queries; nil searches the vector at Dim alone
	Filter      map[string]any // payload filter (see the package doc)
	WithPayload bool
	Consistency Consistency // "" means the cluster's default
	// ClusterRerank runs each stage after the first as a query on the
	// cluster, filtered to the previous stage's ids (one round trip per
	// stage), instead of the default: the first stage's query returns the
	// shortlist with its full vectors, and the later stages rerank them
	// here with package index's scores (one round trip). Both are exact
	// reranks of the same shortlist.
	ClusterRerank bool
}

// Search returns the best K points for query q (at least Dim floats).
// With a plan, it runs package index's funnel: the first stage is a
// nearVector query on the first stage's prefix (HNSW) limited to its
// keep, and the later stages rerank that shortlist exactly, the last at
// Dim. By default the first query also returns the shortlist's full
// vectors and the later stages are scored here (index.Score on their
// prefixes, as index.Funnel scores them): one round trip per search.
// With ClusterRerank each later stage is a nearVector query on its
// prefix filtered to the previous stage's ids, which scores every
// candidate exactly on the cluster (a flat index, or a small allow-list
// under HNSW's flat-search cutoff). As in index.Funnel, stages whose dim
// is not below Dim are skipped and each keeps max(Keep, K). Hits are
// best first (ties by lower id), with scores as package index defines
// them.
func (c *Collection) Search(ctx context.Context, q []float32, o SearchOptions) ([]api.Hit, []api.StageTiming, error) {
	l := c.layout
	k := cmp.Or(o.K, 10)
	dim := cmp.Or(o.Dim, l.Dim)
	if k < 1 {
		return nil, nil, fmt.Errorf("%w: k %d: want >= 1", ErrRequest, k)
	}
	if dim < 1 || dim > l.Dim || len(q) < dim {
		return nil, nil, fmt.Errorf("%w: dim %d with a query of %d floats: want 1 <= dim <= %d and at least dim floats", ErrRequest, dim, len(q), l.Dim)
	}
	if !l.Has(dim) {
		return nil, nil, fmt.Errorf("%w: collection %s stores prefixes %v and the full dim %d, not dim %d", ErrLayout, c.name, l.Prefixes, l.Dim, dim)
	}
	if o.Plan != nil {
		if err := l.CheckPlan(o.Plan); err != nil {
			return nil, nil, err
		}
	}
	stages := stageQueries(o.Plan, dim, k)
	var user *filters.WhereBuilder
	if o.Filter != nil {
		fc, err := c.filter(ctx, o.Filter)
		if err != nil {
			return nil, nil, err
		}
		if fc.isConst(false) {
			return []api.Hit{}, nil, nil
		}
		if !fc.isConst(true) {
			user = fc.where()
		}
	}
	cons := cmp.Or(o.Consistency, c.cl.opt.Consistency)
	if len(stages) > 1 && !o.ClusterRerank {
		return c.searchLocal(ctx, q, stages, user, cons, o.WithPayload)
	}
	var hits []api.Hit
	var timing []api.StageTiming
	var prev []string // the previous stage's object UUIDs
	for i, s := range stages {
		last := i == len(stages)-1
		where := user
		if i > 0 {
			if len(prev) == 0 {
				break
			}
			ids := idsFilter(prev)
			if user != nil {
				where = filters.Where().WithOperator(filters.And).WithOperands([]*filters.WhereBuilder{user, ids})
			} else {
				where = ids
			}
		}
		t0 := time.Now()
		res, err := c.nearVector(ctx, q, s, where, cons, last && o.WithPayload, false)
		if err != nil {
			return nil, nil, fmt.Errorf("weaviate: search %s, stage %d (%s, keep %d): %w", c.name, i+1, l.PrefixName(s.Dim), s.Keep, err)
		}
		hits = hits[:0]
		for _, r := range res {
			id, err := PointIDOf(r.ID)
			if err != nil {
				return nil, nil, err
			}
			h := api.Hit{ID: id, Score: Score(l.Metric, r.Metadata.Distance)}
			if last && o.WithPayload {
				h.Payload = payloadOf(r.Properties)
			}
			hits = append(hits, h)
		}
		slices.SortFunc(hits, hitLess)
		stage := "scan"
		in := len(hits)
		if i > 0 {
			stage, in = "rerank", len(prev)
		}
		timing = append(timing, api.StageTiming{Stage: stage, Dim: s.Dim, In: in, Out: len(hits), ElapsedUS: float64(time.Since(t0).Nanoseconds()) / 1e3})
		prev = prev[:0]
		for _, h := range hits {
			oid, _ := ObjectID(h.ID) // made by PointIDOf above
			prev = append(prev, oid)
		}
	}
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, timing, nil
}

// nearVector runs one stage query: q's stored form at s.Dim against that
// dim's named vector, limited to s.Keep, filtered by where (nil: none),
// with every property when payload (else mrl_id alone) and the full
// vector when full.
func (c *Collection) nearVector(ctx context.Context, q []float32, s index.Stage, where *filters.WhereBuilder, cons Consistency, payload, full bool) ([]graphql.SearchResult, error) {
	l := c.layout
	name := l.PrefixName(s.Dim)
	vec := prefixVector(l.Metric, q, s.Dim)
	md := &graphql.Metadata{ID: true, Distance: true}
	if full {
		md.Vectors = []string{FullVector}
	}
	var res []graphql.SearchResult
	err := c.cl.do(ctx, "search", func(ctx context.Context, wc *wv.Client) error {
		nv := (&graphql.NearVectorArgumentBuilder{}).WithVector(vec).WithTargetVectors(name)
		srch := wc.Experimental().Search().WithCollection(c.class).WithNearVector(nv).WithLimit(s.Keep).
			WithConsistencyLevel(string(cons)).WithMetadata(md)
		if where != nil {
			srch = srch.WithWhere(where)
		}
		if !payload {
			srch = srch.WithProperties(IDProperty)
		}
		var err error
		res, err = srch.Do(ctx)
		return err
	})
	return res, err
}

// cand is a shortlisted point with its full vector.
type cand struct {
	hit api.Hit
	vec []float32
}

// shortlistPayload runs the first stage s with payloads, through the
// client library's search (which decodes the properties).
func (c *Collection) shortlistPayload(ctx context.Context, q []float32, s index.Stage, user *filters.WhereBuilder, cons Consistency) ([]cand, error) {
	l := c.layout
	res, err := c.nearVector(ctx, q, s, user, cons, true, true)
	if err != nil {
		return nil, fmt.Errorf("weaviate: search %s, stage 1 (%s, keep %d, with full vectors): %w", c.name, l.PrefixName(s.Dim), s.Keep, err)
	}
	cands := make([]cand, 0, len(res))
	for _, r := range res {
		id, err := PointIDOf(r.ID)
		if err != nil {
			return nil, err
		}
		v := r.Vectors[FullVector].GetVector()
		if len(v) != l.Dim {
			return nil, fmt.Errorf("weaviate: search %s: object %s came back with a full vector of %d floats, want %d", c.name, r.ID, len(v), l.Dim)
		}
		cands = append(cands, cand{api.Hit{ID: id, Score: Score(l.Metric, r.Metadata.Distance), Payload: payloadOf(r.Properties)}, v})
	}
	return cands, nil
}

// shortlist runs the first stage s without payloads as a plain gRPC
// search: no properties (Weaviate then decodes none of the objects'
// properties), the object id, the distance and the full vector as bytes,
// decoded here into *buf (grown as needed), which the candidates' vectors
// share: they are valid while the caller holds *buf.
func (c *Collection) shortlist(ctx context.Context, q []float32, s index.Stage, user *filters.WhereBuilder, cons Consistency, buf *[]float32) ([]cand, error) {
	l := c.layout
	name := l.PrefixName(s.Dim)
	vec := prefixVector(l.Metric, q, s.Dim)
	qb := make([]byte, 4*len(vec))
	for i, x := range vec {
		binary.LittleEndian.PutUint32(qb[4*i:], math.Float32bits(x))
	}
	req := &pb.SearchRequest{
		Collection:       c.class,
		Limit:            uint32(s.Keep),
		ConsistencyLevel: consistencyPB(cons),
		NearVector: &pb.NearVector{
			Vectors: []*pb.Vectors{{VectorBytes: qb, Type: pb.Vectors_VECTOR_TYPE_SINGLE_FP32}},
			Targets: &pb.Targets{TargetVectors: []string{name}},
		},
		Properties:  &pb.PropertiesRequest{},
		Metadata:    &pb.MetadataRequest{Uuid: true, Distance: true, Vectors: []string{FullVector}},
		Uses_123Api: true,
		Uses_125Api: true,
		Uses_127Api: true,
	}
	if user != nil {
		req.Filters = user.ToGRPC()
	}
	var reply *pb.SearchReply
	err := c.cl.doRPC(ctx, "search", func(ctx context.Context, rc pb.WeaviateClient) error {
		var err error
		reply, err = rc.Search(ctx, req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("weaviate: search %s, stage 1 (%s, keep %d, with full vectors): %w", c.name, name, s.Keep, err)
	}
	res := reply.GetResults()
	cands := make([]cand, len(res))
	if cap(*buf) < len(res)*l.Dim {
		*buf = make([]float32, len(res)*l.Dim)
	}
	vecs := (*buf)[:len(res)*l.Dim]
	for i, r := range res {
		md := r.GetMetadata()
		id, err := PointIDOf(md.GetId())
		if err != nil {
			return nil, err
		}
		var b []byte
		for _, v := range md.GetVectors() {
			if v.GetName() == FullVector {
				b = v.GetVectorBytes()
			}
		}
		v := vecs[i*l.Dim : (i+1)*l.Dim : (i+1)*l.Dim]
		if err := decodeFP32(v, b); err != nil {
			return nil, fmt.Errorf("weaviate: search %s: object %s came back with a full vector of %w", c.name, md.GetId(), err)
		}
		cands[i] = cand{api.Hit{ID: id, Score: Score(l.Metric, md.GetDistance())}, v}
	}
	return cands, nil
}

// decodeFP32 decodes b, float32s little-endian as Weaviate's gRPC API
// sends vectors, into dst, which must hold exactly len(b)/4 of them.
func decodeFP32(dst []float32, b []byte) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("%d bytes, want %d (%d float32s)", len(b), 4*len(dst), len(dst))
	}
	for j := range dst {
		dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
	}
	return nil
}

// vecPool holds the buffers of shortlisted full vectors (searchLocal):
// a shortlist of 100 full vectors of 512 dims is 200 KB, which a fresh
// allocation per search would make the garbage collector and the page
// allocator handle again and again.
var vecPool = sync.Pool{New: func() any { return new([]float32) }}

// consistencyPB is a consistency level as the gRPC API names it.
func consistencyPB(c Consistency) *pb.ConsistencyLevel {
	switch c {
	case One:
		return pb.ConsistencyLevel_CONSISTENCY_LEVEL_ONE.Enum()
	case All:
		return pb.ConsistencyLevel_CONSISTENCY_LEVEL_ALL.Enum()
	case Quorum:
		return pb.ConsistencyLevel_CONSISTENCY_LEVEL_QUORUM.Enum()
	}
	return nil
}

// searchLocal runs stages (two or more) in one round trip: the first
// stage's query returns the shortlist with its full vectors, which the
// later stages rerank here as index.Funnel does (index.Score at each
// stage's dim, best first, ties by lower id, keeping each stage's Keep).
// Without payloads the first query is a plain gRPC search (shortlist).
func (c *Collection) searchLocal(ctx context.Context, q []float32, stages []index.Stage, user *filters.WhereBuilder, cons Consistency, payload bool) ([]api.Hit, []api.StageTiming, error) {
	l := c.layout
	s0 := stages[0]
	t0 := time.Now()
	var cands []cand
	var err error
	if payload {
		cands, err = c.shortlistPayload(ctx, q, s0, user, cons)
	} else {
		buf := vecPool.Get().(*[]float32)
		defer vecPool.Put(buf)
		cands, err = c.shortlist(ctx, q, s0, user, cons, buf)
	}
	if err != nil {
		return nil, nil, err
	}
	byHit := func(a, b cand) int { return hitLess(a.hit, b.hit) }
	slices.SortFunc(cands, byHit)
	timing := []api.StageTiming{{Stage: "scan", Dim: s0.Dim, In: len(cands), Out: len(cands), ElapsedUS: float64(time.Since(t0).Nanoseconds()) / 1e3}}
	for _, s := range stages[1:] {
		t1 := time.Now()
		in := len(cands)
		for i := range cands {
			cands[i].hit.Score = index.Score(l.Metric, cands[i].vec, q, s.Dim)
		}
		slices.SortFunc(cands, byHit)
		cands = cands[:min(len(cands), s.Keep)]
		timing = append(timing, api.StageTiming{Stage: "rerank", Dim: s.Dim, In: in, Out: len(cands), ElapsedUS: float64(time.Since(t1).Nanoseconds()) / 1e3})
	}
	hits := make([]api.Hit, len(cands))
	for i, x := range cands {
		hits[i] = x.hit
	}
	return hits, timing, nil
}

// stageQueries is the queries a search at dim for k results runs with
// plan, as index.Funnel runs it: the stages whose dim is below dim, each
// keeping max(Keep, k), then dim keeping k.
func stageQueries(plan index.Plan, dim, k int) []index.Stage {
	var st []index.Stage
	for _, s := range plan {
		if s.Dim < dim {
			st = append(st, index.Stage{Dim: s.Dim, Keep: max(s.Keep, k)})
		}
	}
	return append(st, index.Stage{Dim: dim, Keep: k})
}

// filter translates a payload filter against the collection's property
// types, reading them again when the filter names a field not seen yet.
func (c *Collection) filter(ctx context.Context, f map[string]any) (*cond, error) {
	types := c.typesNow()
	b := filterBuilder{types: types}
	fc, err := b.translate("filter", f, 0, false)
	if err != nil {
		return nil, err
	}
	if unknownFields(f, types) {
		if types, err = c.refreshTypes(ctx); err != nil {
			return nil, err
		}
		return filterBuilder{types: types}.translate("filter", f, 0, false)
	}
	return fc, nil
}

// unknownFields reports whether filter f names a field without a property.
func unknownFields(f map[string]any, types map[string]string) bool {
	for k, v := range f {
		switch k {
		case "$and", "$or":
			list, _ := v.([]any)
			for _, e := range list {
				if sub, ok := e.(map[string]any); ok && unknownFields(sub, types) {
					return true
				}
			}
		case "$not":
			if sub, ok := v.(map[string]any); ok && unknownFields(sub, types) {
				return true
			}
		default:
			if p, err := PropertyName(k); err == nil {
				if _, ok := types[p]; !ok {
					return true
				}
			}
		}
	}
	return false
}

func hitLess(a, b api.Hit) int {
	if a.Score != b.Score {
		if a.Score > b.Score {
			return -1
		}
		return 1
	}
	return a.ID.Compare(b.ID)
}

// Count returns the number of points (Weaviate's aggregate count).
func (c *Collection) Count(ctx context.Context) (int, error) {
	var r *models.GraphQLResponse
	err := c.cl.do(ctx, "count", func(ctx context.Context, wc *wv.Client) error {
		var err error
		r, err = wc.GraphQL().Aggregate().WithClassName(c.class).
			WithFields(graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}).Do(ctx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("weaviate: count %s: %w", c.name, err)
	}
	if len(r.Errors) > 0 {
		return 0, fmt.Errorf("weaviate: count %s: %s", c.name, r.Errors[0].Message)
	}
	agg, _ := r.Data["Aggregate"].(map[string]any)
	rows, _ := agg[c.class].([]any)
	if len(rows) == 0 {
		return 0, fmt.Errorf("weaviate: count %s: no aggregate in the answer", c.name)
	}
	row, _ := rows[0].(map[string]any)
	meta, _ := row["meta"].(map[string]any)
	return intOf(meta["count"], 0), nil
}

// SetEf sets the search-time ef of the collection's HNSW indexes (the
// first prefix's, and the full vector's when Layout.Full is HNSW): ef >= 1
// fixes it, -1 restores Weaviate's dynamic ef (8 x the query's limit,
// clamped to 100..500). Weaviate takes ef from the class, not from the
// query, so this is a class update (one schema change through Raft) that
// every later search of every client meets: a knob for tuning and
// benchmarks, not for one query. The layout recorded on the class is
// left as it was (HNSW.Ef is not compared by Diff).
func (c *Collection) SetEf(ctx context.Context, ef int) error {
	if ef == 0 || ef < -1 {
		return fmt.Errorf("%w: ef %d: want >= 1, or -1 for the dynamic ef", ErrRequest, ef)
	}
	var names []string
	if len(c.layout.Prefixes) > 0 {
		names = append(names, c.layout.PrefixName(c.layout.Prefixes[0]))
	}
	if c.layout.Full == HNSW {
		names = append(names, FullVector)
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: collection %s has no HNSW index", ErrRequest, c.name)
	}
	got, err := c.schema(ctx)
	if err != nil {
		return fmt.Errorf("weaviate: set ef of %s: %w", c.name, err)
	}
	for _, name := range names {
		vc, ok := got.VectorConfig[name]
		cfg, isMap := vc.VectorIndexConfig.(map[string]any)
		if !ok || !isMap {
			return fmt.Errorf("%w: collection %s: named vector %s has no index config on the class", ErrLayout, c.name, name)
		}
		cfg["ef"] = ef
		got.VectorConfig[name] = vc
	}
	err = c.cl.do(ctx, "update "+c.class, func(ctx context.Context, wc *wv.Client) error {
		return wc.Schema().ClassUpdater().WithClass(got).Do(ctx)
	})
	if err != nil {
		return fmt.Errorf("weaviate: set ef %d on %s (%s): %w", ef, c.name, strings.Join(names, ", "), err)
	}
	c.mu.Lock()
	c.ef = ef
	c.mu.Unlock()
	return nil
}
