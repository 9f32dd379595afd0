package weaviate

// Integration tests against a real Weaviate cluster. They are skipped
// unless one is given:
//
//	MRL_WEAVIATE=127.0.0.1:8080/50051,...  a running cluster (the failure
//	                                       test also needs MRL_WEAVIATE_STATE,
//	                                       the state dir of the cluster script
//	                                       that started it)
//	MRL_WEAVIATE_IT=1                      the tests start a 3-node cluster
//	                                       with scripts/weaviate-cluster.sh
//	                                       (state in MRL_WEAVIATE_STATE, or a
//	                                       temporary dir) and stop it at the end
//
// The data are synthetic Matryoshka-like embeddings
// (indextest.MatryoshkaLike: Gaussian clusters whose leading dims carry
// most of the signal), not a trained model's: training on the shared CI
// cores would take longer than the cluster tests themselves.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/server/api"
	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate/entities/models"
)

var (
	itAddrs   Addrs
	itState   string // the cluster script's state dir, when it manages the cluster
	itSkipWhy = "set MRL_WEAVIATE=HOST:HTTP/GRPC,... (a running cluster) or MRL_WEAVIATE_IT=1 (start one with scripts/weaviate-cluster.sh) to run the Weaviate integration tests"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if s := os.Getenv("MRL_WEAVIATE"); s != "" {
		as, err := ParseAddrs(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "MRL_WEAVIATE:", err)
			return 2
		}
		itAddrs, itState = as, os.Getenv("MRL_WEAVIATE_STATE")
		return m.Run()
	}
	if os.Getenv("MRL_WEAVIATE_IT") != "1" {
		return m.Run()
	}
	dir := os.Getenv("MRL_WEAVIATE_STATE") // the caller may want to clean up after a crash
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "mrl-weaviate-it-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	itState = dir
	out, err := script("start", "3")
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the cluster: %v\n%s\n", err, out)
		script("stop")
		return 2
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if itAddrs, err = ParseAddrs(lines[len(lines)-1]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster addresses:", err)
		script("stop")
		return 2
	}
	code := m.Run()
	if out, err := script("stop"); err != nil {
		fmt.Fprintf(os.Stderr, "stop the cluster: %v\n%s\n", err, out)
		code = max(code, 1)
	}
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "cluster logs kept in", dir)
	}
	return code
}

// script runs scripts/weaviate-cluster.sh on the test's cluster.
func script(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join("..", "scripts", "weaviate-cluster.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "MRL_WEAVIATE_STATE="+itState)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func cluster(t *testing.T, o Options) *Cluster {
	t.Helper()
	if len(itAddrs) == 0 {
		t.Skip(itSkipWhy)
	}
	o.Addrs = itAddrs
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func points(rng *rand.Rand, n, d int, idBase uint64) ([]api.Point, []float32) {
	data := indextest.MatryoshkaLike(rng, n, d)
	pts := make([]api.Point, n)
	for i := range pts {
		pts[i] = api.Point{
			ID:     api.IntID(idBase + uint64(i)*7),
			Vector: data[i*d : (i+1)*d],
			Payload: map[string]any{
				"class":       float64(i % 10),
				"split":       []string{"train", "test", "val"}[i%3],
				"odd":         i%2 == 1,
				"weird-key.x": float64(i % 4),
			},
		}
		if i%5 == 0 {
			delete(pts[i].Payload, "split")
		}
	}
	return pts, data
}

func recallAt(got []api.Hit, want []index.Hit) float64 {
	set := map[uint64]bool{}
	for _, h := range want {
		set[h.ID] = true
	}
	n := 0
	for _, h := range got {
		if set[num(h.ID)] {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

// TestClusterFunnel ingests Matryoshka-like embeddings with a funnel
// layout and checks the funnel's results against our embedded index on
// the same data: the rerank stage returns exactly our rerank of the same
// stage-1 candidates, the local rerank (one round trip) returns the same
// hits as the rerank run on the cluster (ClusterRerank), and recall@10
// against exact search is within 0.01 of our funnel's.
func TestClusterFunnel(t *testing.T) {
	cl := cluster(t, Options{})
	ctx := context.Background()
	const n, d, nq, k = 3000, 128, 60, 10
	plan, _ := index.ParsePlan("16:100,128:10")
	rng := rand.New(rand.NewPCG(7, 8))
	pts, data := points(rng, n, d, 1<<40)
	ids := make([]uint64, n)
	for i, p := range pts {
		ids[i] = num(p.ID)
	}
	name := "ItFunnel"
	if err := cl.Drop(ctx, name); err != nil {
		t.Fatal(err)
	}
	l := LayoutFor(d, mrl.Cosine, plan)
	l.HNSW = HNSWConfig{M: 16, EfConstruction: 128, Ef: 256}
	col, err := cl.Create(ctx, name, l)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if got, err := col.Upsert(ctx, pts, WriteOptions{}); err != nil || got != n {
		t.Fatalf("Upsert = %d, %v; want %d", got, err, n)
	}
	t.Logf("ingested %d points of %d dims in %v", n, d, time.Since(t0))
	if c, err := col.Count(ctx); err != nil || c != n {
		t.Fatalf("Count = %d, %v; want %d", c, err, n)
	}

	v, err := index.NewVectors(data, n, d, mrl.Cosine, ids)
	if err != nil {
		t.Fatal(err)
	}
	flat := index.NewFlat(v)
	ours, err := index.NewFunnel(v, plan, nil) // exact first stage: the plan's own recall
	if err != nil {
		t.Fatal(err)
	}
	queries := indextest.MatryoshkaLike(rand.New(rand.NewPCG(9, 10)), nq, d)
	var rOurs, rCluster float64
	mismatch, remoteMismatch := 0, 0
	for qi := range nq {
		q := queries[qi*d : (qi+1)*d]
		exact, _ := flat.Search(q, d, k, nil)
		mine, _ := ours.Search(q, d, k, nil)
		hits, stages, err := col.Search(ctx, q, SearchOptions{K: k, Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != k || len(stages) != 2 || stages[0].Out != 100 || stages[1].In != 100 {
			t.Fatalf("query %d: %d hits, stages %+v; want %d hits after a 100-row shortlist", qi, len(hits), stages, k)
		}
		// The same candidates, reranked by our index.
		short, _, err := col.Search(ctx, q, SearchOptions{K: 100, Dim: 16})
		if err != nil {
			t.Fatal(err)
		}
		var cand []index.Hit
		for _, h := range short {
			i, _ := v.Lookup(num(h.ID))
			cand = append(cand, index.Hit{ID: num(h.ID), Score: index.Score(mrl.Cosine, v.Row(i), q, d)})
		}
		slices.SortFunc(cand, func(a, b index.Hit) int {
			if a.Score != b.Score {
				if a.Score > b.Score {
					return -1
				}
				return 1
			}
			return int(a.ID) - int(b.ID)
		})
		for j := range k {
			if num(hits[j].ID) != cand[j].ID {
				diff := hits[j].Score - cand[j].Score
				if diff < -1e-5 || diff > 1e-5 {
					mismatch++
					t.Errorf("query %d rank %d: cluster id %v (%.6f), our rerank of its candidates id %d (%.6f)", qi, j, hits[j].ID, hits[j].Score, cand[j].ID, cand[j].Score)
				}
			}
			if s := cand[j].Score; hits[j].Score-s > 1e-4 || s-hits[j].Score > 1e-4 {
				t.Errorf("query %d rank %d: cluster score %.6f, ours %.6f", qi, j, hits[j].Score, s)
			}
		}
		// The rerank run on the cluster as a filtered query (two round
		// trips) returns the same hits as the local rerank of the
		// shortlist's full vectors (one round trip).
		remote, rstages, err := col.Search(ctx, q, SearchOptions{K: k, Plan: plan, ClusterRerank: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(remote) != k || len(rstages) != 2 || rstages[1].In != 100 {
			t.Fatalf("query %d, cluster rerank: %d hits, stages %+v; want %d hits after a 100-row shortlist", qi, len(remote), rstages, k)
		}
		for j := range k {
			ds := remote[j].Score - hits[j].Score
			if ds < -1e-5 || ds > 1e-5 || remote[j].ID != hits[j].ID && !tie(hits, j) {
				remoteMismatch++
				t.Errorf("query %d rank %d: cluster rerank id %v (%.6f), local rerank id %v (%.6f)", qi, j, remote[j].ID, remote[j].Score, hits[j].ID, hits[j].Score)
			}
		}
		rOurs += recallAt(toAPI(mine), exact)
		rCluster += recallAt(hits, exact)
	}
	rOurs /= nq
	rCluster /= nq
	t.Logf("funnel %s over %d points: recall@10 vs exact: cluster %.4f, embedded %.4f; mismatches of the local rerank against our rerank %d, against the cluster's rerank %d, of %d ranks", plan, n, rCluster, rOurs, mismatch, remoteMismatch, nq*k)
	if rCluster < rOurs-0.01 || rCluster > rOurs+0.01 {
		t.Errorf("cluster recall@10 %.4f is not within 0.01 of the embedded funnel's %.4f", rCluster, rOurs)
	}

	// Plain full-dim search (flat: exact).
	q := queries[:d]
	exact, _ := flat.Search(q, d, k, nil)
	hits, _, err := col.Search(ctx, q, SearchOptions{K: k})
	if err != nil {
		t.Fatal(err)
	}
	if r := recallAt(hits, exact); r != 1 {
		t.Errorf("full-dim flat search: recall %.2f, want 1 (exact)", r)
	}

	// Get, Scroll, Delete.
	p, ok, err := col.Get(ctx, pts[3].ID, ReadOptions{WithVector: true})
	if err != nil || !ok || p.ID != pts[3].ID || len(p.Vector) != d || p.Payload["class"] != pts[3].Payload["class"] || p.Payload["weird-key.x"] != pts[3].Payload["weird-key.x"] {
		t.Errorf("Get(%v) = %+v, %v, %v; want the point with its payload", pts[3].ID, p, ok, err)
	} else {
		for j := range d {
			if diff := p.Vector[j] - prefixVector(mrl.Cosine, pts[3].Vector, d)[j]; diff > 1e-6 || diff < -1e-6 {
				t.Fatalf("Get(%v).Vector[%d] = %v, want the stored (normalised) vector", pts[3].ID, j, p.Vector[j])
			}
		}
	}
	if _, ok, err := col.Get(ctx, api.IntID(12345), ReadOptions{}); ok || err != nil {
		t.Errorf("Get(absent) = %v, %v; want not found", ok, err)
	}
	var seen []uint64
	after, first := api.PointID{}, true
	for {
		page, more, err := col.Scroll(ctx, after, first, 700, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			seen = append(seen, num(p.ID))
		}
		if !more || len(page) == 0 {
			break
		}
		after, first = page[len(page)-1].ID, false
	}
	if !slices.IsSorted(seen) || len(seen) != n {
		t.Errorf("scroll returned %d ids (sorted %v), want %d in increasing order", len(seen), slices.IsSorted(seen), n)
	}
	if del, err := col.Delete(ctx, []api.PointID{pts[0].ID, pts[1].ID, api.IntID(999)}, WriteOptions{}); err != nil || del != 2 {
		t.Errorf("Delete = %d, %v; want 2", del, err)
	}
	if _, ok, _ := col.Get(ctx, pts[0].ID, ReadOptions{}); ok {
		t.Errorf("point %v still there after Delete", pts[0].ID)
	}
	if err := cl.Drop(ctx, name); err != nil {
		t.Error(err)
	}
}

// TestClusterMixedIDs stores integer and UUID ids side by side: each
// reads back as itself (get, search, scroll), searches agree with exact
// search over the same points, and deletes take either kind.
func TestClusterMixedIDs(t *testing.T) {
	cl := cluster(t, Options{})
	ctx := context.Background()
	const n, d = 400, 16
	rng := rand.New(rand.NewPCG(11, 12))
	data := indextest.MatryoshkaLike(rng, n, d)
	pts := make([]api.Point, n)
	ids := make([]uint64, n) // index.Vectors ids: the row numbers
	for i := range pts {
		id := api.IntID(uint64(i) * 3)
		if i%2 == 1 {
			var b [16]byte
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			b[6] = b[6]&0x0f | 0x40 // version 4
			b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
			id = api.UUIDFromBytes(b)
		}
		pts[i] = api.Point{ID: id, Vector: data[i*d : (i+1)*d], Payload: map[string]any{"row": float64(i)}}
		ids[i] = uint64(i)
	}
	name := "ItMixedIDs"
	if err := cl.Drop(ctx, name); err != nil {
		t.Fatal(err)
	}
	defer cl.Drop(ctx, name)
	col, err := cl.Create(ctx, name, Layout{Dim: d, Metric: mrl.Cosine, Prefixes: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := col.Upsert(ctx, pts, WriteOptions{}); err != nil || got != n {
		t.Fatalf("Upsert = %d, %v; want %d", got, err, n)
	}
	for _, i := range []int{0, 1, 2, 3, n - 1} {
		p, ok, err := col.Get(ctx, pts[i].ID, ReadOptions{WithVector: true})
		if err != nil || !ok || p.ID != pts[i].ID || p.Payload["row"] != float64(i) || len(p.Vector) != d {
			t.Errorf("Get(%v) = %+v, %v, %v; want the point of row %d", pts[i].ID, p, ok, err, i)
		}
	}
	v, err := index.NewVectors(data, n, d, mrl.Cosine, ids)
	if err != nil {
		t.Fatal(err)
	}
	flat := index.NewFlat(v)
	plan := mustPlan(t, "4:100,16:10")
	for qi := range 20 {
		q := data[qi*d : (qi+1)*d]
		exact, _ := flat.Search(q, d, 10, nil)
		for _, o := range []SearchOptions{{K: 10}, {K: 10, Plan: plan}, {K: 10, Plan: plan, ClusterRerank: true}} {
			hits, _, err := col.Search(ctx, q, o)
			if err != nil {
				t.Fatal(err)
			}
			if hits[0].ID != pts[qi].ID {
				t.Errorf("query = point %v (plan %v): first hit %v, want the point itself", pts[qi].ID, o.Plan, hits[0].ID)
			}
			want := make([]api.PointID, len(exact))
			for j, h := range exact {
				want[j] = pts[h.ID].ID
			}
			got := make([]api.PointID, len(hits))
			for j, h := range hits {
				got[j] = h.ID
			}
			if o.Plan == nil && !slices.Equal(got, want) {
				t.Errorf("query %d, exact: ids %v, want %v", qi, got, want)
			}
		}
	}
	seen := map[api.PointID]int{}
	after, first := api.PointID{}, true
	for {
		page, more, err := col.Scroll(ctx, after, first, 64, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			seen[p.ID]++
		}
		if !more || len(page) == 0 {
			break
		}
		after, first = page[len(page)-1].ID, false
	}
	for _, p := range pts {
		if seen[p.ID] != 1 {
			t.Errorf("scroll returned %v %d times, want once", p.ID, seen[p.ID])
		}
	}
	if len(seen) != n {
		t.Errorf("scroll returned %d ids, want %d", len(seen), n)
	}
	del := []api.PointID{pts[0].ID, pts[1].ID, api.MustUUID("00000000-0000-4000-8000-000000000000")}
	if got, err := col.Delete(ctx, del, WriteOptions{}); err != nil || got != 2 {
		t.Errorf("Delete(an integer, a UUID, an absent UUID) = %d, %v; want 2", got, err)
	}
	for _, id := range del[:2] {
		if _, ok, err := col.Get(ctx, id, ReadOptions{}); ok || err != nil {
			t.Errorf("Get(%v) after Delete = %v, %v; want not found", id, ok, err)
		}
	}
	if _, err := col.Upsert(ctx, []api.Point{{ID: api.MustUUID(UUID(7)), Vector: data[:d]}}, WriteOptions{}); !errors.Is(err, ErrPayload) {
		t.Errorf("Upsert of a UUID id in the integers' namespace = %v, want ErrPayload", err)
	}
}

// tie reports whether hits[j] scores within 1e-5 of a neighbour, where
// two exact rerankers may order differently by float rounding.
func tie(hits []api.Hit, j int) bool {
	near := func(i int) bool {
		if i < 0 || i >= len(hits) {
			return false
		}
		d := hits[i].Score - hits[j].Score
		return d > -1e-5 && d < 1e-5
	}
	return near(j-1) || near(j+1)
}

func toAPI(h []index.Hit) []api.Hit {
	out := make([]api.Hit, len(h))
	for i, x := range h {
		out[i] = api.Hit{ID: api.IntID(x.ID), Score: x.Score}
	}
	return out
}

// TestClusterFilters runs random payload filters on the cluster (an exact
// flat full-dim search asking for every point) and compares the ids with
// the server's filter semantics evaluated here.
func TestClusterFilters(t *testing.T) {
	cl := cluster(t, Options{})
	ctx := context.Background()
	const n, d = 300, 16
	pts, _ := points(rand.New(rand.NewPCG(3, 4)), n, d, 0)
	name := "ItFilters"
	cl.Drop(ctx, name)
	col, err := cl.Create(ctx, name, Layout{Dim: d, Metric: mrl.InnerProduct})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Drop(ctx, name)
	if _, err := col.Upsert(ctx, pts, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A type the collection does not hold is refused, naming the field.
	bad := []api.Point{{ID: api.IntID(1), Vector: pts[0].Vector, Payload: map[string]any{"class": "x"}}}
	if _, err := col.Upsert(ctx, bad, WriteOptions{}); !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), `field "class"`) {
		t.Errorf("Upsert of a string into a number field = %v, want ErrPayload naming the field", err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	fields := []string{"class", "split", "odd", "weird-key.x", "gone"}
	// A value of the field's own type three times in four.
	value := func(fld string) any {
		if r.IntN(4) > 0 {
			switch fld {
			case "class":
				return float64(r.IntN(10))
			case "split":
				return []string{"train", "test", "val"}[r.IntN(3)]
			case "odd":
				return r.IntN(2) == 0
			case "weird-key.x":
				return float64(r.IntN(4))
			}
		}
		switch r.IntN(4) {
		case 0:
			return float64(r.IntN(10))
		case 1:
			return []string{"train", "test", "val", "x"}[r.IntN(4)]
		case 2:
			return r.IntN(2) == 0
		}
		return float64(r.IntN(4))
	}
	var gen func(depth int) map[string]any
	gen = func(depth int) map[string]any {
		f := map[string]any{}
		switch x := r.IntN(8); {
		case x == 0 && depth < 2:
			f["$or"] = []any{gen(depth + 1), gen(depth + 1)}
		case x == 1 && depth < 2:
			f["$not"] = gen(depth + 1)
		case x == 2 && depth < 2:
			f["$and"] = []any{gen(depth + 1), gen(depth + 1)}
		default:
			fld := fields[r.IntN(len(fields))]
			if fld == "gone" && r.IntN(3) > 0 {
				fld = "class"
			}
			switch r.IntN(4) {
			case 0:
				f[fld] = value(fld)
			case 1:
				f[fld] = map[string]any{"in": []any{value(fld), value(fld)}}
			case 2:
				f[fld] = map[string]any{"ne": value(fld)}
			default:
				f[fld] = map[string]any{"gte": float64(r.IntN(5)), "lt": float64(3 + r.IntN(6))}
			}
		}
		return f
	}
	q := make([]float32, d)
	q[0] = 1
	none, all, nf := 0, 0, 80
	defer func() {
		t.Logf("%d random filters: %d selected no point, %d every point, %d some", nf, none, all, nf-none-all)
	}()
	for i := range nf {
		f := gen(0)
		var want []uint64
		for _, p := range pts {
			if collection.Matches(p.Payload, f) {
				want = append(want, num(p.ID))
			}
		}
		hits, _, err := col.Search(ctx, q, SearchOptions{K: n, Filter: f})
		if err != nil {
			t.Fatalf("filter %d %v: %v", i, f, err)
		}
		var got []uint64
		for _, h := range hits {
			got = append(got, num(h.ID))
		}
		slices.Sort(got)
		switch len(want) {
		case 0:
			none++
		case n:
			all++
		}
		if !slices.Equal(got, want) {
			t.Errorf("filter %v: cluster returned %d points, the server's semantics select %d", f, len(got), len(want))
		}
	}
	if _, _, err := col.Search(ctx, q, SearchOptions{Filter: map[string]any{"$xor": 1}}); !errors.Is(err, ErrFilter) {
		t.Errorf("a malformed filter gave %v, want ErrFilter", err)
	}
}

// TestClusterErrors checks the errors a user meets: an unreachable
// cluster, a collection whose layout does not match, a plan or dim the
// layout does not store.
func TestClusterErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Dial(ctx, Options{Addrs: Addrs{{"127.0.0.1", 1, 2}, {"127.0.0.1", 3, 4}}, Timeout: 2 * time.Second})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:1/2") || !strings.Contains(err.Error(), "127.0.0.1:3/4") {
		t.Errorf("Dial(closed ports) = %v, want ErrUnreachable naming both addresses", err)
	}
	cl := cluster(t, Options{})
	name := "ItErrors"
	cl.Drop(ctx, name)
	defer cl.Drop(ctx, name)
	plan, _ := index.ParsePlan("16:50,64:10")
	if _, err := cl.Create(ctx, name, LayoutFor(64, mrl.Cosine, plan)); err != nil {
		t.Fatal(err)
	}
	other, _ := index.ParsePlan("32:50,64:10")
	_, err = cl.Collection(ctx, name, &Layout{Dim: 64, Metric: mrl.Cosine, Prefixes: []int{32}, Replicas: 2})
	if !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "prefixes: want [32], got [16]") || !strings.Contains(err.Error(), "replicas: want 2, got 1") {
		t.Errorf("open with another layout = %v, want ErrLayout naming prefixes and replicas", err)
	}
	if _, err := cl.Create(ctx, name, LayoutFor(64, mrl.Cosine, other)); !errors.Is(err, ErrLayout) {
		t.Errorf("create over another layout = %v, want ErrLayout", err)
	}
	col, err := cl.Collection(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float32, 64)
	if _, _, err := col.Search(ctx, q, SearchOptions{Plan: other}); !errors.Is(err, ErrLayout) {
		t.Errorf("search with plan %s on a p16 layout = %v, want ErrLayout", other, err)
	}
	if _, _, err := col.Search(ctx, q, SearchOptions{Dim: 32}); !errors.Is(err, ErrLayout) {
		t.Errorf("search at dim 32 = %v, want ErrLayout", err)
	}
	if _, err := cl.Collection(ctx, "Nothere", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("open a missing collection = %v, want ErrNotFound", err)
	}
	if _, err := col.Upsert(ctx, []api.Point{{ID: api.IntID(1), Vector: q[:10]}}, WriteOptions{}); !errors.Is(err, ErrPayload) {
		t.Errorf("upsert of a short vector = %v, want ErrPayload", err)
	}

	// SetEf: refused values, then a fixed ef and the dynamic one again,
	// read back from the class.
	for _, ef := range []int{0, -2} {
		if err := col.SetEf(ctx, ef); !errors.Is(err, ErrRequest) {
			t.Errorf("SetEf(%d) = %v, want ErrRequest", ef, err)
		}
	}
	for _, ef := range []int{77, -1} {
		if err := col.SetEf(ctx, ef); err != nil {
			t.Fatalf("SetEf(%d): %v", ef, err)
		}
		var got *models.Class
		err := cl.do(ctx, "schema", func(ctx context.Context, c *wv.Client) error {
			var err error
			got, err = c.Schema().ClassGetter().WithClassName("ItErrors").Do(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := got.VectorConfig["p16"].VectorIndexConfig.(map[string]any)
		if e := intOf(cfg["ef"], 0); e != ef {
			t.Errorf("after SetEf(%d) the class's p16 ef is %v", ef, cfg["ef"])
		}
		if e := col.Layout().HNSW.Ef; e != ef {
			t.Errorf("after SetEf(%d) Layout().HNSW.Ef = %d", ef, e)
		}
	}
	if _, _, err := col.Search(ctx, q, SearchOptions{Plan: plan}); err != nil {
		t.Errorf("search after SetEf: %v", err)
	}
}

// TestClusterNodeFailure kills one node (kill -9: the first, which the
// client talks to) of a collection with replication factor 2, keeps searching and writing while it is down,
// restarts it with its data and checks that every acknowledged write is
// on both of its replicas.
func TestClusterNodeFailure(t *testing.T) {
	cl := cluster(t, Options{Timeout: 10 * time.Second})
	if itState == "" {
		t.Skip("the failure test kills a node with scripts/weaviate-cluster.sh: set MRL_WEAVIATE_STATE to the state dir of the cluster in MRL_WEAVIATE, or use MRL_WEAVIATE_IT=1")
	}
	if len(itAddrs) != 3 {
		t.Skipf("the failure test wants 3 nodes, the cluster has %d", len(itAddrs))
	}
	ctx := context.Background()
	const d = 32
	plan, _ := index.ParsePlan("8:50,32:10")
	name := "ItFailure"
	cl.Drop(ctx, name)
	l := LayoutFor(d, mrl.Cosine, plan)
	l.Replicas, l.Shards = 2, 3
	col, err := cl.Create(ctx, name, l)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	before, _ := points(rng, 600, d, 0)
	if n, err := col.Upsert(ctx, before, WriteOptions{Consistency: Quorum}); err != nil || n != len(before) {
		t.Fatalf("upsert before the failure = %d, %v", n, err)
	}
	acked := map[uint64]Consistency{}
	for _, p := range before {
		acked[num(p.ID)] = Quorum
	}

	// Searches all the time, at ONE.
	var searches, searchErrs atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		q := before[0].Vector
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			default:
			}
			_, _, err := col.Search(ctx, q, SearchOptions{K: 10, Plan: plan, Consistency: One})
			searches.Add(1)
			if err != nil {
				searchErrs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// The first node is the one the client talks to: its requests fail
	// over to the next address.
	if out, err := script("kill", "1"); err != nil {
		t.Fatalf("kill node 1: %v\n%s", err, out)
	}
	killed := time.Now()
	// Writes while it is down: at QUORUM (both replicas of the shards
	// that lost one cannot answer) and at ONE, in small batches so that
	// each batch's fate is known.
	during, _ := points(rng, 120, d, 1_000_000)
	ackQuorum, failQuorum, ackOne, failOne := 0, 0, 0, 0
	for i := 0; i < len(during); i += 10 {
		cons := Quorum
		if i/10%2 == 1 {
			cons = One
		}
		for _, p := range during[i : i+10] {
			n, err := col.Upsert(ctx, []api.Point{p}, WriteOptions{Consistency: cons})
			switch {
			case err == nil && n == 1 && cons == Quorum:
				ackQuorum++
				acked[num(p.ID)] = cons
			case err == nil && n == 1:
				ackOne++
				acked[num(p.ID)] = cons
			case cons == Quorum:
				failQuorum++
			default:
				failOne++
			}
		}
	}
	for time.Since(killed) < 5*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	outage := time.Since(killed)
	searchesDown, errsDown := searches.Load(), searchErrs.Load()

	// The writes acknowledged at ONE whose shard has a replica on the dead
	// node have one live copy: the restarted node must be repaired.
	single := 0
	for id, cons := range acked {
		if cons != One {
			continue
		}
		copies := 0
		for _, nd := range []string{"node2", "node3"} {
			if _, ok, err := col.GetFrom(ctx, nd, api.IntID(id)); err == nil && ok {
				copies++
			}
		}
		if copies == 1 {
			single++
		}
	}
	t.Logf("before the restart, %d of the %d writes acknowledged at ONE had a single live copy", single, ackOne)

	if out, err := script("restart", "1"); err != nil {
		t.Fatalf("restart node 1: %v\n%s", err, out)
	}
	close(stop)
	wg.Wait()
	t.Logf("outage of %v: %d searches, %d errors; writes while down: QUORUM %d acknowledged, %d refused; ONE %d acknowledged, %d refused", outage.Round(time.Millisecond), searchesDown, errsDown, ackQuorum, failQuorum, ackOne, failOne)
	if e := firstErr.Load(); e != nil {
		t.Logf("first search error: %v", e)
	}
	if searchErrs.Load() != 0 {
		t.Errorf("%d of %d searches failed during the outage and restart, want 0", searchErrs.Load(), searches.Load())
	}

	// The node rejoins.
	nodes, err := cl.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 || nodes["node1"] != "HEALTHY" {
		t.Errorf("after the restart the cluster sees %v, want 3 healthy nodes", nodes)
	}

	// Every acknowledged write ends up on both replicas (async
	// replication repairs the node that missed the writes at ONE).
	names := []string{"node1", "node2", "node3"}
	deadline := time.Now().Add(2 * time.Minute)
	restarted := time.Now()
	var missing []string
	firstMissing, rounds := -1, 0
	for {
		rounds++
		missing = missing[:0]
		for id, cons := range acked {
			copies := 0
			for _, nd := range names {
				if _, ok, err := col.GetFrom(ctx, nd, api.IntID(id)); err == nil && ok {
					copies++
				}
			}
			if copies < 2 {
				missing = append(missing, fmt.Sprintf("%d (%s: %d copies)", id, cons, copies))
			}
		}
		if firstMissing < 0 {
			firstMissing = len(missing)
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	lostQuorum := 0
	for _, m := range missing {
		if strings.Contains(m, "QUORUM") {
			lostQuorum++
		}
	}
	t.Logf("after the restart: %d acknowledged writes checked on every node; at the first check %d were still short of 2 copies, after %d checks in %v %d (%d of them at QUORUM)",
		len(acked), firstMissing, rounds, time.Since(restarted).Round(time.Second), len(missing), lostQuorum)
	t.Logf("searches during the outage and the restart: %d, errors %d", searches.Load(), searchErrs.Load())
	if len(missing) > 0 {
		t.Errorf("acknowledged writes missing a replica: %s", strings.Join(missing[:min(len(missing), 10)], ", "))
	}
	if c, err := col.Count(ctx); err != nil || c < len(acked) {
		t.Errorf("Count after the restart = %d, %v; want at least %d (every acknowledged write)", c, err, len(acked))
	} else {
		t.Logf("count after the restart %d (acknowledged %d; a refused write may still have landed)", c, len(acked))
	}
	cl.Drop(ctx, name)
}
