// Package backend serves the collections of mrl serve from a Weaviate
// cluster: its Store implements server.Store over a weaviate.Cluster, so
// that the same HTTP API (and the same models, embed and adaptive
// classification) runs with the collections on the cluster.
//
// What differs from the embedded store (package collection):
//
//   - Layout. A collection's Meta maps to a weaviate.Layout (MetaLayout):
//     one named vector per dim of its nesting below D (the first an HNSW
//     index, the later ones flat) and the full vector, flat for index kind
//     "flat" and HNSW for "hnsw" (its m, ef_construction and ef_search are
//     the graphs' options). A plan runs on the cluster when each of its
//     stage dims is one of the nesting's, so the nesting given at create is
//     the choice of stored prefixes: {"dim": 512, "nesting": [64, 512]}
//     stores p64 and full only. Kinds ivf, binary and int8, graph_dim and
//     seed are refused (400). The Meta is recorded with the layout in the
//     class description and read back when the server restarts. A class
//     made by mrl index push (no Meta recorded) is served with a Meta made
//     from its layout, named after its class.
//   - Names: a collection's Weaviate class is its name with the first
//     letter upper-cased, so names must start with a letter and hold only
//     letters, digits and _, and "docs" and "Docs" are the same collection.
//   - Seq. Weaviate has no write sequence. The seq an upsert or delete
//     returns counts the writes this server process acknowledged to the
//     collection since it started: it orders one server's writes, is not
//     persisted, and another server writing to the same collection has its
//     own. Info's snapshot_seq equals seq and pending is 0.
//   - Durability and snapshots. A write is acknowledged when the cluster
//     acknowledged it at the consistency level (Options.Consistency):
//     the replicas that answered hold it in their own logs, and Weaviate
//     persists them itself (how often a node fsyncs is Weaviate's
//     setting). The backend keeps no state to flush, so Snapshot is a
//     no-op, and memory_bytes and index_bytes are 0: the vectors are on
//     the cluster, not in this process.
//   - Plan "auto" (and target_recall) tunes against the cluster
//     (Collection.AutoPlan, weaviate.Collection.Tune): the smallest
//     shortlist on the first stored prefix reaching the target recall@10
//     on the collection's own points as queries, recorded on the class so
//     that every server reuses it until the count moves by a fifth.
//   - A cluster none of whose nodes answer gives 503 naming every node's
//     error (collection.ErrUnavailable), and /readyz reports it. So do
//     Weaviate's transient replica errors (weaviate.ErrTransient: a
//     replica down or rejoining, a shard loading), which pass when the
//     cluster settles.
//
// Point ids: integers and UUIDs, as the embedded store takes them, mapped
// to the cluster's object ids by weaviate.ObjectID (an integer to its
// UUID in a namespace of its own, a UUID to itself) and back by
// weaviate.PointIDOf. A UUID in the integers' namespace
// (6d726c00-0000-0000-…, version 0, which no UUID generator makes) is
// refused (400). Scroll pages follow the object ids' order: integers in
// increasing order as one run, UUIDs by their text before or after it
// (the embedded store puts every UUID after the integers).
package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/weaviate"
)

// Options configures Open. Zero fields take the defaults given.
type Options struct {
	// Addrs are the cluster's nodes (required).
	Addrs weaviate.Addrs
	// Consistency of reads and writes. Default QUORUM.
	Consistency weaviate.Consistency
	// Replicas is the replication factor of collections created. Default 1.
	Replicas int
	// Shards of collections created; 0 means one per node (Weaviate's
	// default).
	Shards int
	// Timeout bounds each call to the cluster made by a method that takes
	// no context (all but Search), and each request of Search. Default 30 s.
	Timeout time.Duration
	// BatchSize is the points per batch request of an upsert. Default 512.
	BatchSize int
	// HealthEvery is how long a reachability check (Err, for /readyz) is
	// reused. Default 1 s.
	HealthEvery time.Duration
	// Logger receives the backend's logs. Default slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Consistency == "" {
		o.Consistency = weaviate.Quorum
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.BatchSize == 0 {
		o.BatchSize = 512
	}
	if o.HealthEvery == 0 {
		o.HealthEvery = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("backend: invalid options")

// Validate reports every problem of o (after WithDefaults) at once.
func (o Options) Validate() error {
	var p []string
	if len(o.Addrs) == 0 {
		p = append(p, "addrs: want at least one HOST:HTTP[/GRPC]")
	}
	if _, err := weaviate.ParseConsistency(string(o.Consistency)); err != nil {
		p = append(p, err.Error())
	}
	if o.Replicas < 1 {
		p = append(p, fmt.Sprintf("replicas %d: want 1 or more", o.Replicas))
	}
	if o.Shards < 0 {
		p = append(p, fmt.Sprintf("shards %d: want 0 (one per node) or more", o.Shards))
	}
	if o.Timeout <= 0 {
		p = append(p, fmt.Sprintf("timeout %v: want > 0", o.Timeout))
	}
	if o.BatchSize < 1 || o.BatchSize > 10000 {
		p = append(p, fmt.Sprintf("batch size %d: want 1..10000", o.BatchSize))
	}
	if o.HealthEvery < 0 {
		p = append(p, fmt.Sprintf("health every %v: want >= 0", o.HealthEvery))
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrOptions, strings.Join(p, "; "))
	}
	return nil
}

// Compile-time checks that the backend serves the handlers.
var (
	_ server.Store        = (*Store)(nil)
	_ server.Collection   = (*Collection)(nil)
	_ server.CheckedReads = (*Collection)(nil)
)

// Store is the collections on one cluster. It keeps the collections it
// has seen (created, listed or opened by name) and reads the cluster's
// schema again on Collections, so collections that another server made
// appear; a collection seen is checked against the cluster's schema when
// opened by name more than HealthEvery after its last check, and
// forgotten when the cluster says its class is gone, so one that another
// server dropped (or re-made with another layout) is not served stale. It is safe for concurrent use.
type Store struct {
	opt Options
	cl  *weaviate.Cluster

	mu     sync.Mutex
	cols   map[string]*Collection // by class name
	closed bool

	health struct {
		sync.Mutex
		at  time.Time
		err error
	}
}

// Open connects to the cluster (failing with an error that is
// collection.ErrUnavailable when no node answers) and lists the
// collections on it.
func Open(ctx context.Context, opt Options) (*Store, error) {
	opt = opt.WithDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	cl, err := weaviate.Dial(ctx, weaviate.Options{Addrs: opt.Addrs, Consistency: opt.Consistency, Timeout: opt.Timeout, BatchSize: opt.BatchSize})
	if err != nil {
		return nil, mapErr(err)
	}
	s := &Store{opt: opt, cl: cl, cols: map[string]*Collection{}}
	if _, err := s.list(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Describe says which cluster the store uses, for the server's start line.
func (s *Store) Describe() string {
	return fmt.Sprintf("weaviate %s, consistency %s, replicas %d, shards %s", s.opt.Addrs, s.opt.Consistency, s.opt.Replicas, shardsText(s.opt.Shards))
}

func shardsText(n int) string {
	if n == 0 {
		return "one per node"
	}
	return fmt.Sprint(n)
}

// call returns a context bounded by Options.Timeout.
func (s *Store) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.opt.Timeout)
}

// list reads the cluster's collections, adds those not seen yet and
// forgets those dropped; it returns them in name order. A class whose
// layout cannot be read is logged and left out.
func (s *Store) list(ctx context.Context) ([]*Collection, error) {
	wcs, err := s.cl.List(ctx)
	if err != nil && len(wcs) == 0 {
		return nil, mapErr(err)
	}
	if err != nil {
		s.opt.Logger.Warn("weaviate classes left out", "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, collection.ErrClosed
	}
	seen := map[string]*Collection{}
	out := make([]*Collection, 0, len(wcs))
	for _, wc := range wcs {
		c, ok := s.cols[wc.Name()]
		if !ok {
			m, err := LayoutMeta(wc.Layout(), wc.Name())
			if err != nil {
				s.opt.Logger.Warn("weaviate class left out", "class", wc.Name(), "err", err)
				continue
			}
			c = s.newCollection(wc, m)
		}
		seen[wc.Name()] = c
		out = append(out, c)
	}
	for class, c := range s.cols {
		if _, ok := seen[class]; !ok {
			c.dropped.Store(true) // dropped by another server
		}
	}
	s.cols = seen
	return out, nil
}

func (s *Store) newCollection(wc *weaviate.Collection, m api.Meta) *Collection {
	met, _ := mrl.ParseMetric(m.Metric) // checked by CheckMeta or LayoutMeta
	c := &Collection{s: s, wc: wc, meta: m, metric: met}
	c.checked.Store(time.Now().UnixNano())
	return c
}

// Create makes a collection of shape m on the cluster (see MetaLayout).
// A name taken on the cluster is collection.ErrExists.
func (s *Store) Create(m api.Meta) (server.Collection, error) {
	if err := collection.CheckMeta(&m); err != nil {
		return nil, err
	}
	l, err := MetaLayout(m)
	if err != nil {
		return nil, err
	}
	l.Replicas, l.Shards = s.opt.Replicas, s.opt.Shards
	class, _ := weaviate.ClassName(m.Name) // checked by MetaLayout
	ctx, cancel := s.call()
	defer cancel()
	if s.isClosed() {
		return nil, collection.ErrClosed
	}
	switch _, err := s.cl.Collection(ctx, m.Name, nil); {
	case err == nil:
		return nil, fmt.Errorf("%w: %q (Weaviate class %s exists on the cluster)", collection.ErrExists, m.Name, class)
	case !errors.Is(err, weaviate.ErrNotFound):
		return nil, mapErr(err)
	}
	wc, err := s.cl.Create(ctx, m.Name, l)
	if err != nil {
		return nil, mapErr(err)
	}
	c := s.newCollection(wc, m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, collection.ErrClosed
	}
	s.cols[class] = c
	return c, nil
}

// Collection returns the collection name: one seen before, else the
// cluster's (a schema read). A cluster that does not answer is reported
// as not found here; the collection's calls report it as 503.
func (s *Store) Collection(name string) (server.Collection, bool) {
	class, err := weaviate.ClassName(name)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	c, ok := s.cols[class]
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, false
	}
	if ok && time.Since(time.Unix(0, c.checked.Load())) < s.opt.HealthEvery {
		return c, true
	}
	// Not seen, or seen longer ago than HealthEvery: another server may
	// have dropped (or dropped and re-made) the class meanwhile.
	ctx, cancel := s.call()
	defer cancel()
	wc, err := s.cl.Collection(ctx, name, nil)
	if errors.Is(err, weaviate.ErrNotFound) && ok {
		s.forget(c)
		return nil, false
	}
	if err != nil {
		if ok {
			return c, true // the cluster does not answer: the collection's calls report it
		}
		return nil, false
	}
	if ok && c.wc.Layout().Diff(wc.Layout()) == "" {
		c.checked.Store(time.Now().UnixNano())
		return c, true
	}
	m, err := LayoutMeta(wc.Layout(), wc.Name())
	if err != nil {
		s.opt.Logger.Warn("weaviate class not served", "class", class, "err", err)
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.cols[class]; ok && cur != c {
		return cur, true // opened meanwhile by another request
	}
	if c != nil {
		c.dropped.Store(true) // re-made with another layout by another server
	}
	c = s.newCollection(wc, m)
	s.cols[class] = c
	return c, true
}

// forget drops c from the collections seen (it is gone from the
// cluster); later calls on c answer ErrClosed.
func (s *Store) forget(c *Collection) {
	c.dropped.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, x := range s.cols {
		if x == c {
			delete(s.cols, k)
		}
	}
}

// Collections returns the cluster's collections in name order; when the
// cluster does not answer, those seen before (whose Err then reports it).
func (s *Store) Collections() []server.Collection {
	ctx, cancel := s.call()
	defer cancel()
	cols, err := s.list(ctx)
	if err != nil {
		s.mu.Lock()
		cols = make([]*Collection, 0, len(s.cols))
		for _, c := range s.cols {
			cols = append(cols, c)
		}
		s.mu.Unlock()
		sortCollections(cols)
	}
	out := make([]server.Collection, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}

// Drop deletes the collection and its points from the cluster.
func (s *Store) Drop(name string) error {
	class, err := weaviate.ClassName(name)
	if err != nil {
		return fmt.Errorf("%w: %q", collection.ErrNotFound, name)
	}
	if s.isClosed() {
		return collection.ErrClosed
	}
	ctx, cancel := s.call()
	defer cancel()
	if err := s.cl.Drop(ctx, name); err != nil {
		return mapErr(err)
	}
	s.mu.Lock()
	if c, ok := s.cols[class]; ok {
		c.dropped.Store(true)
		delete(s.cols, class)
	}
	s.mu.Unlock()
	return nil
}

// Snapshot does nothing: the cluster persists acknowledged writes itself
// and the backend holds no state (see the package doc).
func (s *Store) Snapshot() error { return nil }

// Close makes later calls fail with collection.ErrClosed. The cluster's
// collections are left as they are.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// reachable reports whether a node of the cluster answers (a node status
// call), reusing the answer for Options.HealthEvery.
func (s *Store) reachable() error {
	h := &s.health
	h.Lock()
	defer h.Unlock()
	if !h.at.IsZero() && time.Since(h.at) < s.opt.HealthEvery {
		return h.err
	}
	ctx, cancel := s.call()
	defer cancel()
	_, err := s.cl.Nodes(ctx)
	h.at, h.err = time.Now(), mapErr(err)
	return h.err
}

// mapErr maps package weaviate's errors onto package collection's, which
// the server turns into statuses: ErrNotFound (404), ErrLayout, ErrName,
// ErrPayload, ErrFilter and ErrRequest (ErrInvalid: 400), ErrUnreachable
// and ErrTransient (ErrUnavailable: 503, which a client may retry). The
// message stays weaviate's; other errors pass as they are (500).
func mapErr(err error) error {
	var to error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, weaviate.ErrUnreachable), errors.Is(err, weaviate.ErrTransient):
		to = collection.ErrUnavailable
	case errors.Is(err, weaviate.ErrNotFound):
		to = collection.ErrNotFound
	case errors.Is(err, weaviate.ErrLayout), errors.Is(err, weaviate.ErrName), errors.Is(err, weaviate.ErrPayload),
		errors.Is(err, weaviate.ErrFilter), errors.Is(err, weaviate.ErrRequest):
		to = collection.ErrInvalid
	default:
		return err
	}
	return &mappedError{err: err, to: to}
}

// invalidError is a collection.ErrInvalid whose text is its message
// alone, as the embedded store's are.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == collection.ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// mappedError is err (its message, its chain) that is also the sentinel to.
type mappedError struct {
	err, to error
}

func (e *mappedError) Error() string        { return e.err.Error() }
func (e *mappedError) Unwrap() error        { return e.err }
func (e *mappedError) Is(target error) bool { return target == e.to }

// MetaLayout is the layout of a collection of shape m (checked by
// collection.CheckMeta): a named vector per nesting dim below m.Dim, the
// full vector flat (kind "flat") or HNSW (kind "hnsw", with m,
// ef_construction and ef_search for the graphs), and m recorded in
// Layout.Extra. What the cluster cannot hold is collection.ErrInvalid,
// every problem at once. Shards and replicas are the store's.
func MetaLayout(m api.Meta) (weaviate.Layout, error) {
	var p []string
	if _, err := weaviate.ClassName(m.Name); err != nil {
		p = append(p, fmt.Sprintf("name %q: the weaviate backend wants a letter, then letters, digits or _ (a Weaviate class name)", m.Name))
	}
	met, err := mrl.ParseMetric(m.Metric)
	if err != nil {
		p = append(p, fmt.Sprintf("metric %q: want cosine, ip or l2", m.Metric))
	}
	l := weaviate.Layout{Dim: m.Dim, Metric: met, Full: weaviate.Flat}
	for _, d := range m.Nesting {
		if d < m.Dim {
			l.Prefixes = append(l.Prefixes, d)
		}
	}
	ix := m.Index
	switch ix.Kind {
	case "flat", "":
	case "hnsw":
		l.Full = weaviate.HNSW
		l.HNSW = weaviate.HNSWConfig{M: ix.M, EfConstruction: ix.EfConstruction, Ef: ix.EfSearch}
		if ix.GraphDim != 0 && ix.GraphDim != m.Dim {
			p = append(p, fmt.Sprintf("index: graph_dim %d: the weaviate backend has a graph on the first nesting dim below the collection dim and, with kind hnsw, on the full vector; choose the prefixes with the nesting", ix.GraphDim))
		}
		if ix.Seed != 0 {
			p = append(p, "index: seed: Weaviate builds its graphs without our seed")
		}
	default:
		p = append(p, fmt.Sprintf("index: kind %q: the weaviate backend serves flat and hnsw", ix.Kind))
	}
	extra, err := json.Marshal(m)
	if err != nil {
		p = append(p, fmt.Sprintf("meta: %v", err))
	}
	l.Extra = extra
	if len(p) == 0 {
		if err := l.WithDefaults().Validate(); err != nil {
			p = append(p, err.Error())
		}
	}
	if len(p) > 0 {
		return weaviate.Layout{}, invalidf("%s", strings.Join(p, "; "))
	}
	return l, nil
}

// LayoutMeta is the Meta of a collection laid out as l on class class:
// the one recorded in l.Extra (checked against l), or for a class without
// one (made by mrl index push) a Meta made from l: named class, nesting
// the prefixes and the dim, index kind flat or hnsw as the full vector's.
func LayoutMeta(l weaviate.Layout, class string) (api.Meta, error) {
	if len(l.Extra) > 0 {
		var m api.Meta
		if err := json.Unmarshal(l.Extra, &m); err != nil {
			return api.Meta{}, fmt.Errorf("class %s: recorded meta: %w", class, err)
		}
		if err := collection.CheckMeta(&m); err != nil {
			return api.Meta{}, fmt.Errorf("class %s: recorded meta: %w", class, err)
		}
		want, err := MetaLayout(m)
		if err != nil {
			return api.Meta{}, fmt.Errorf("class %s: recorded meta: %w", class, err)
		}
		want.Replicas, want.Shards = l.Replicas, 0
		if d := want.WithDefaults().Diff(l); d != "" {
			return api.Meta{}, fmt.Errorf("%w: class %s: recorded meta %+v does not match its layout: %s", weaviate.ErrLayout, class, m, d)
		}
		return m, nil
	}
	m := api.Meta{Name: class, Dim: l.Dim, Metric: l.Metric.String(), Index: api.IndexSpec{Kind: "flat"}}
	m.Nesting = append(append(mrl.Nesting{}, l.Prefixes...), l.Dim)
	if l.Full == weaviate.HNSW {
		m.Index = api.IndexSpec{Kind: "hnsw", M: l.HNSW.M, EfConstruction: l.HNSW.EfConstruction}
	}
	if err := collection.CheckMeta(&m); err != nil {
		return api.Meta{}, fmt.Errorf("class %s: %w", class, err)
	}
	return m, nil
}
