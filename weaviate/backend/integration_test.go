package backend

// The integration test runs mrl serve's HTTP server with this backend
// against a real cluster. It is skipped unless one is given, as package
// weaviate's are:
//
//	MRL_WEAVIATE=127.0.0.1:8080/50051,...  a running cluster
//	MRL_WEAVIATE_IT=1                      start a 3-node cluster with
//	                                       scripts/weaviate-cluster.sh (state
//	                                       in MRL_WEAVIATE_STATE, or a
//	                                       temporary dir) and stop it at the end

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/weaviate"
)

var (
	itAddrs weaviate.Addrs
	itState string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if s := os.Getenv("MRL_WEAVIATE"); s != "" {
		as, err := weaviate.ParseAddrs(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "MRL_WEAVIATE:", err)
			return 2
		}
		itAddrs = as
		return m.Run()
	}
	if os.Getenv("MRL_WEAVIATE_IT") != "1" {
		return m.Run()
	}
	itState = os.Getenv("MRL_WEAVIATE_STATE")
	if itState == "" {
		dir, err := os.MkdirTemp("", "mrl-weaviate-backend-it-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		itState = dir
	}
	out, err := script("start", "3")
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the cluster: %v\n%s\n", err, out)
		script("stop")
		return 2
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if itAddrs, err = weaviate.ParseAddrs(lines[len(lines)-1]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster addresses:", err)
		script("stop")
		return 2
	}
	code := m.Run()
	if out, err := script("stop"); err != nil {
		fmt.Fprintf(os.Stderr, "stop the cluster: %v\n%s\n", err, out)
		code = max(code, 1)
	}
	return code
}

func script(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join("..", "..", "scripts", "weaviate-cluster.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "MRL_WEAVIATE_STATE="+itState)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// call sends one JSON request and decodes the answer into out (if not nil)
// when the status is want; otherwise the test fails with the body.
func call(t *testing.T, base, method, path string, in any, want int, out any) []byte {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, got, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, got, err)
		}
	}
	return got
}

func ids(hits []api.Hit) []api.PointID {
	out := make([]api.PointID, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// TestClusterServe runs the HTTP server with the weaviate backend against
// the cluster and an embedded-store server beside it, sends both the same
// requests (create, upsert, searches with a plan and a filter, scroll,
// delete, get) and compares the answers: the same pages, the same points,
// and the same top-10 ids. Only a search of the flat full vector is exact
// on the cluster, so only that one must agree query by query; a search
// through an HNSW graph is approximate even with an ef above the number of
// points (a node the graph does not reach is never found: one run on a
// loaded machine missed the last point inserted in 5 of 120 searches), so
// those must agree in at least minAgree of the searches.
func TestClusterServe(t *testing.T) {
	for _, tt := range []struct {
		name     string
		index    map[string]any
		minAgree float64
	}{
		{"hnsw_ef4096", map[string]any{"kind": "hnsw", "ef_search": 4096}, 0.9},
		{"flat", map[string]any{"kind": "flat"}, 0.9},
	} {
		t.Run(tt.name, func(t *testing.T) { testServe(t, tt.index, tt.minAgree) })
	}
}

func testServe(t *testing.T, wIndex map[string]any, minAgree float64) {
	if len(itAddrs) == 0 {
		t.Skip("set MRL_WEAVIATE=HOST:HTTP/GRPC,... (a running cluster) or MRL_WEAVIATE_IT=1 to run the Weaviate integration tests")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	st, err := Open(ctx, Options{Addrs: itAddrs, Replicas: 2, Timeout: 30 * time.Second, Logger: log})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	wsrv, err := server.New(server.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer wsrv.Close()
	esrv, err := server.New(server.Options{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer esrv.Close()
	wts, ets := httptest.NewServer(wsrv), httptest.NewServer(esrv)
	defer wts.Close()
	defer ets.Close()
	both := []string{wts.URL, ets.URL}

	name := fmt.Sprintf("ItServe%d", time.Now().UnixNano()%1e6)
	const n, d, nq = 2000, 64, 30
	create := map[string]any{"name": name, "dim": d, "nesting": []int{16, 64}}
	call(t, ets.URL, "POST", "/v1/collections", create, 201, nil)
	create["index"] = wIndex
	call(t, wts.URL, "POST", "/v1/collections", create, 201, nil)
	defer func() {
		call(t, wts.URL, "DELETE", "/v1/collections/"+name, nil, 200, nil)
		call(t, wts.URL, "GET", "/v1/collections/"+name, nil, 404, nil)
	}()
	// A second server over the same cluster lists the collection with its
	// Meta (read back from the class).
	st2, err := Open(context.Background(), Options{Addrs: itAddrs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := st2.Collection(name); !ok || !slices.Equal(c.Meta().Nesting, []int{16, 64}) || c.Meta().Name != name || c.Meta().Index.Kind != wIndex["kind"] {
		t.Errorf("a second store opens %s: %v (found %v); want the Meta created", name, c, ok)
	}
	call(t, wts.URL, "POST", "/v1/collections", create, 409, nil)

	data := indextest.MatryoshkaLike(rand.New(rand.NewPCG(3, 4)), n, d)
	pts := make([]api.Point, n)
	for i := range pts {
		pts[i] = api.Point{ID: api.IntID(uint64(i*7 + 1)), Vector: data[i*d : (i+1)*d], Payload: map[string]any{"c": fmt.Sprint(i % 3), "i": float64(i)}}
	}
	for lo := 0; lo < n; lo += 500 {
		for _, base := range both {
			call(t, base, "POST", "/v1/collections/"+name+"/points", map[string]any{"points": pts[lo : lo+500]}, 200, nil)
		}
	}
	// The cluster applies a filter inside every stage of a plan (the first
	// stage keeps the best points that pass); the embedded store filters
	// an over-fetched funnel's results. The reference of a filtered plan
	// is then the embedded store's plan over the points that pass.
	var ones []api.Point
	for _, p := range pts {
		if p.Payload["c"] == "1" {
			ones = append(ones, p)
		}
	}
	call(t, ets.URL, "POST", "/v1/collections", map[string]any{"name": name + "_c1", "dim": d, "nesting": []int{16, 64}}, 201, nil)
	call(t, ets.URL, "POST", "/v1/collections/"+name+"_c1/points", map[string]any{"points": ones}, 200, nil)
	var info api.CollectionInfo
	call(t, wts.URL, "GET", "/v1/collections/"+name, nil, 200, &info)
	if info.Count != n || info.Seq != 4 {
		t.Errorf("info = count %d seq %d, want %d and 4 (one per upsert)", info.Count, info.Seq, n)
	}

	queries := indextest.MatryoshkaLike(rand.New(rand.NewPCG(5, 6)), nq, d)
	searches := []map[string]any{
		{"k": 10},                         // exact (flat full vector on both)
		{"k": 10, "plan": "16:200,64:10"}, // the funnel
		{"k": 10, "plan": "16:200,64:10", "filter": map[string]any{"c": "1"}}, // compared with the plan over the points that pass
		{"k": 10, "dim": 16, "filter": map[string]any{"i": map[string]any{"lt": 1000.0}, "$not": map[string]any{"c": "2"}}},
	}
	const prefiltered = 2
	// The embedded store runs a plan on its snapshot and scans the
	// changes since exactly: snapshot it so that both servers run the
	// funnel on every point.
	compare := func(when string) {
		t.Helper()
		call(t, ets.URL, "POST", "/v1/collections/"+name+"/snapshot", nil, 200, nil)
		call(t, ets.URL, "POST", "/v1/collections/"+name+"_c1/snapshot", nil, 200, nil)
		same, total := 0, 0
		for si, s := range searches {
			for qi := range nq {
				req := map[string]any{"vector": queries[qi*d : (qi+1)*d]}
				for k, v := range s {
					req[k] = v
				}
				var got [2]api.SearchResponse
				call(t, wts.URL, "POST", "/v1/collections/"+name+"/search", req, 200, &got[0])
				if si == prefiltered {
					delete(req, "filter")
					call(t, ets.URL, "POST", "/v1/collections/"+name+"_c1/search", req, 200, &got[1])
				} else {
					call(t, ets.URL, "POST", "/v1/collections/"+name+"/search", req, 200, &got[1])
				}
				w, e := got[0].Results[0].Hits, got[1].Results[0].Hits
				total++
				if slices.Equal(ids(w), ids(e)) {
					same++
				} else if _, plan := s["plan"]; wIndex["kind"] == "flat" && !plan && s["dim"] == nil {
					t.Errorf("%s: search %d (%v), query %d: weaviate top-10 %v, embedded %v", when, si, s, qi, ids(w), ids(e))
				}
				for i := range min(len(w), len(e)) {
					if w[i].ID == e[i].ID && math.Abs(float64(w[i].Score-e[i].Score)) > 1e-4 {
						t.Errorf("%s: search %d query %d hit %d: score %v, embedded %v", when, si, qi, i, w[i].Score, e[i].Score)
						break
					}
				}
				if fmt.Sprint(w[0].Payload) != fmt.Sprint(e[0].Payload) {
					t.Errorf("%s: search %d query %d: payload %v, embedded %v", when, si, qi, w[0].Payload, e[0].Payload)
				}
			}
		}
		t.Logf("%s: %d of %d searches returned the same top-10 ids on both servers", when, same, total)
		if float64(same) < minAgree*float64(total) {
			t.Errorf("%s: %d of %d searches agree, want at least %.0f%%", when, same, total, 100*minAgree)
		}
	}
	compare("after the upserts")

	// Scroll: the same pages on both.
	scrollAll := func(base string) []api.PointID {
		var all []api.PointID
		path := "/v1/collections/" + name + "/points?limit=300&with_vector=false"
		for {
			var page api.ScrollResponse
			call(t, base, "GET", path, nil, 200, &page)
			for _, p := range page.Points {
				all = append(all, p.ID)
			}
			if page.NextAfter == nil {
				return all
			}
			path = fmt.Sprintf("/v1/collections/%s/points?limit=300&with_vector=false&after=%v", name, *page.NextAfter)
		}
	}
	wIDs, eIDs := scrollAll(wts.URL), scrollAll(ets.URL)
	if len(wIDs) != n || !slices.Equal(wIDs, eIDs) {
		t.Errorf("scroll: %d ids, embedded %d (equal: %v), want %d in the same order", len(wIDs), len(eIDs), slices.Equal(wIDs, eIDs), n)
	}

	// Delete ten points (one by the single-point route), then get.
	del := []uint64{1, 8, 15, 22, 29, 36, 43, 50, 57}
	for _, base := range both {
		var r api.DeleteResponse
		call(t, base, "POST", "/v1/collections/"+name+"/points/delete", map[string]any{"ids": del}, 200, &r)
		if r.Deleted != len(del) {
			t.Errorf("%s: deleted %d, want %d", base, r.Deleted, len(del))
		}
		call(t, base, "DELETE", "/v1/collections/"+name+"/points/64", nil, 200, nil)
		call(t, base, "GET", "/v1/collections/"+name+"/points/8", nil, 404, nil)
	}
	call(t, ets.URL, "POST", "/v1/collections/"+name+"_c1/points/delete", map[string]any{"ids": append(del, 64)}, 200, nil)
	var wp, ep api.Point
	call(t, wts.URL, "GET", "/v1/collections/"+name+"/points/71", nil, 200, &wp)
	call(t, ets.URL, "GET", "/v1/collections/"+name+"/points/71", nil, 200, &ep)
	if fmt.Sprint(wp.Payload) != fmt.Sprint(ep.Payload) || len(wp.Vector) != d {
		t.Errorf("get 71: %v with %d floats, embedded %v", wp.Payload, len(wp.Vector), ep.Payload)
	}
	// Cosine vectors are stored normalised on the cluster.
	var norm float64
	for _, x := range ep.Vector {
		norm += float64(x) * float64(x)
	}
	for i := range wp.Vector {
		if math.Abs(float64(wp.Vector[i])-float64(ep.Vector[i])/math.Sqrt(norm)) > 1e-5 {
			t.Errorf("get 71: vector[%d] = %v, want the normalised %v", i, wp.Vector[i], float64(ep.Vector[i])/math.Sqrt(norm))
			break
		}
	}
	call(t, wts.URL, "GET", "/v1/collections/"+name, nil, 200, &info)
	if info.Count != n-len(del)-1 {
		t.Errorf("count after deletes = %d, want %d", info.Count, n-len(del)-1)
	}
	compare("after the deletes")

	// What the backend refuses, with the server's statuses.
	q := queries[:d]
	for _, c := range []struct {
		req  map[string]any
		want string
	}{
		{map[string]any{"vector": q, "plan": "32:100,64:10"}, "needs prefix dims 32"},
	} {
		body := call(t, wts.URL, "POST", "/v1/collections/"+name+"/search", c.req, 400, nil)
		if !strings.Contains(string(body), c.want) {
			t.Errorf("search %v: %s, want it to name %q", c.req, body, c.want)
		}
	}

	// auto and target_recall tune against the cluster, record the plan on
	// the class, and a new server reuses it.
	for _, target := range []float64{0.95, 0.9} {
		req := map[string]any{"vector": q, "target_recall": target}
		t0 := time.Now()
		var r api.SearchResponse
		call(t, wts.URL, "POST", "/v1/collections/"+name+"/search", req, 200, &r)
		t.Logf("target_recall %v: plan %s (tuned recall %.3f) in %v", target, r.Plan, r.TunedRecall, time.Since(t0))
		plan, err := index.ParsePlan(r.Plan)
		if err != nil || len(plan) != 2 || plan[0].Dim != 16 || plan[1] != (index.Stage{Dim: 64, Keep: 10}) || r.TunedRecall < target || len(r.Results[0].Hits) != 10 {
			t.Errorf("target_recall %v: plan %q (%v), tuned recall %v, %d hits; want a plan 16:keep,64:10 meeting the target", target, r.Plan, err, r.TunedRecall, len(r.Results[0].Hits))
		}
		st3, err := Open(context.Background(), Options{Addrs: itAddrs, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		c3, ok := st3.Collection(name)
		if !ok {
			t.Fatalf("a new store does not find %s", name)
		}
		rec, ok := c3.(*Collection).wc.Tuned(target, 10)
		if !ok || rec.Plan != r.Plan || rec.Rows != n-len(del)-1 {
			t.Errorf("a new store reads the recorded plan for %v as %+v (%v), want %s at %d rows", target, rec, ok, r.Plan, n-len(del)-1)
		}
	}
	var auto api.SearchResponse
	call(t, wts.URL, "POST", "/v1/collections/"+name+"/search", map[string]any{"vector": q, "plan": "auto"}, 200, &auto)
	if auto.Plan == "" || auto.Plan == "exact" {
		t.Errorf("plan auto ran %q, want the tuned plan", auto.Plan)
	}
	// Recording the plan rewrote the class: its payload properties stay.
	var filtered api.SearchResponse
	call(t, wts.URL, "POST", "/v1/collections/"+name+"/search", map[string]any{"vector": q, "filter": map[string]any{"c": "1"}}, 200, &filtered)
	if hs := filtered.Results[0].Hits; len(hs) != 10 || hs[0].Payload["c"] != "1" {
		t.Errorf("filtered search after tuning: %v, want 10 hits with c = 1", hs)
	}

	// UUID ids beside the integer ones.
	u := "550e8400-e29b-41d4-a716-446655440000"
	call(t, wts.URL, "POST", "/v1/collections/"+name+"/points", map[string]any{"points": []map[string]any{{"id": u, "vector": q, "payload": map[string]any{"c": "u"}}}}, 200, nil)
	var up api.Point
	call(t, wts.URL, "GET", "/v1/collections/"+name+"/points/"+u, nil, 200, &up)
	if up.ID.String() != u || up.Payload["c"] != "u" {
		t.Errorf("get %s = %v %v, want the point", u, up.ID, up.Payload)
	}
	var hit api.SearchResponse
	call(t, wts.URL, "POST", "/v1/collections/"+name+"/search", map[string]any{"vector": q, "k": 1}, 200, &hit)
	if hs := hit.Results[0].Hits; len(hs) != 1 || hs[0].ID.String() != u {
		t.Errorf("search with the UUID point's vector: %v, want %s first", hs, u)
	}
	call(t, wts.URL, "DELETE", "/v1/collections/"+name+"/points/"+u, nil, 200, nil)
	call(t, wts.URL, "GET", "/v1/collections/"+name+"/points/"+u, nil, 404, nil)
	call(t, wts.URL, "GET", "/readyz", nil, 200, nil)
}
