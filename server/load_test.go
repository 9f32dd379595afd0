package server_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
)

// TestLoad is a bounded load test over loopback: 4 clients search a
// 5000×64 collection with a funnel plan for 2 s or 20000 searches, whichever
// comes first, while one writer upserts; every request must succeed. It logs QPS and latency percentiles (noisy on
// a shared machine; bench/serve measures the full size).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const n, d, clients, maxSearches = 5000, 64, 4, 20000
	dur := 2 * time.Second
	srv, err := server.New(server.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx := context.Background()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients + 1}}
	c := &client.Client{BaseURL: ts.URL, HTTP: hc}
	if _, err := c.CreateCollection(ctx, server.CreateCollectionRequest{Name: "load", Dim: d}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	data := indextest.MatryoshkaLike(rng, n+1000, d)
	for lo := 0; lo < n; lo += 1000 {
		pts := make([]server.Point, 1000)
		for i := range pts {
			pts[i] = server.Point{ID: api.IntID(uint64(lo + i)), Vector: data[(lo+i)*d : (lo+i+1)*d]}
		}
		if _, err := c.Upsert(ctx, "load", pts); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(dur)
	var mu sync.Mutex
	var lat []time.Duration
	var errs []error
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			var mine []time.Duration
			for j := 0; j < maxSearches/clients && time.Now().Before(deadline); j++ {
				i := r.IntN(n)
				t0 := time.Now()
				res, err := c.Search(ctx, "load", server.SearchRequest{Vector: data[i*d : (i+1)*d], K: 10, Plan: "16:200,64:10", NoPayload: true})
				mine = append(mine, time.Since(t0))
				if err == nil && (len(res.Results[0].Hits) != 10 || res.Results[0].Hits[0].ID != api.IntID(uint64(i))) {
					err = errors.New("query row is not its own nearest neighbour")
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Add(1)
	writes := 0
	go func() {
		defer wg.Done()
		for i := n; time.Now().Before(deadline) && i < n+1000; i += 10 {
			pts := make([]server.Point, 10)
			for j := range pts {
				pts[j] = server.Point{ID: api.IntID(uint64(i + j)), Vector: data[(i+j)*d : (i+j+1)*d]}
			}
			if _, err := c.Upsert(ctx, "load", pts); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			writes += 10
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	elapsed := time.Since(deadline.Add(-dur))
	t.Logf("load: %d searches by %d clients in %v: %.0f QPS, p50 %v, p99 %v, %d points written, %d errors",
		len(lat), clients, elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), q(0.5), q(0.99), writes, len(errs))
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	if len(lat) < 100 {
		t.Fatalf("only %d searches in %v", len(lat), dur)
	}
}
