// Command serve load-tests mrl serve over loopback: it starts the server
// in-process on a free 127.0.0.1 port (a real net/http server, so requests
// go through the kernel's TCP stack and the full middleware), creates a flat
// cosine collection of -n synthetic Matryoshka-like vectors of dim -d
// (index/indextest.MatryoshkaLike) ingested through the API in batches of
// 1000, takes a snapshot so searches run on the built index, then runs -c
// concurrent clients searching for -duration with -plan (k = -k) and prints
// a markdown table: QPS, p50, p99 and max latency, errors, the recall@k of
// the plan against exact search on 100 queries, and the machine (date,
// CPU, cores, load average, Go version). -write also writes it to -out.
//
// Usage:
//
//	go run ./bench/serve -n 100000 -d 512 -c 16 -duration 60s -plan 64:200,512:10 -write
//	go run ./bench/serve -n 5000 -duration 5s     (smoke test)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomrl/mrl/index/indextest"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
)

func main() {
	n := flag.Int("n", 100000, "vectors in the collection")
	d := flag.Int("d", 512, "vector dim")
	c := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("duration", 60*time.Second, "how long the clients search")
	k := flag.Int("k", 10, "results per search")
	plan := flag.String("plan", "64:200,512:10", `funnel plan ("" for the index's exact search, "auto" for the tuner's)`)
	seed := flag.Uint64("seed", 1, "seed of the synthetic vectors")
	write := flag.Bool("write", false, "also write the table to -out")
	out := flag.String("out", "bench/serve/RESULTS.md", "file -write writes")
	flag.Parse()
	if err := run(*n, *d, *c, *k, *dur, *plan, *seed, *write, *out); err != nil {
		log.Fatal(err)
	}
}

func run(n, d, conc, k int, dur time.Duration, plan string, seed uint64, write bool, out string) error {
	dir, err := os.MkdirTemp("", "mrl-bench-serve")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := server.New(server.Options{DataDir: dir, SnapshotEvery: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc + 4, MaxConnsPerHost: conc + 4}}
	cl := &client.Client{BaseURL: url, HTTP: hc}
	ctx := context.Background()

	rng := rand.New(rand.NewPCG(seed, 2))
	const nq = 1000
	data := indextest.MatryoshkaLike(rng, n+nq, d)
	queries := data[n*d:]
	if _, err := cl.CreateCollection(ctx, server.CreateCollectionRequest{Name: "bench", Dim: d}); err != nil {
		return err
	}
	t0 := time.Now()
	for lo := 0; lo < n; lo += 1000 {
		hi := min(lo+1000, n)
		pts := make([]server.Point, hi-lo)
		for i := range pts {
			pts[i] = server.Point{ID: api.IntID(uint64(lo + i)), Vector: data[(lo+i)*d : (lo+i+1)*d]}
		}
		if _, err := cl.Upsert(ctx, "bench", pts); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	ingest := time.Since(t0)
	t0 = time.Now()
	if _, err := cl.Snapshot(ctx, "bench"); err != nil {
		return err
	}
	snap := time.Since(t0)
	fmt.Fprintf(os.Stderr, "ingested %d×%d in %v, snapshot in %v\n", n, d, ingest.Round(time.Millisecond), snap.Round(time.Millisecond))

	// Recall of the plan against exact search, and the plan auto picks.
	planRun := plan
	var hits, total int
	for i := range 100 {
		q := queries[i*d : (i+1)*d]
		exact, err := cl.Search(ctx, "bench", server.SearchRequest{Vector: q, K: k, NoPayload: true})
		if err != nil {
			return err
		}
		got, err := cl.Search(ctx, "bench", server.SearchRequest{Vector: q, K: k, Plan: plan, NoPayload: true})
		if err != nil {
			return err
		}
		planRun = got.Plan
		for _, h := range got.Results[0].Hits {
			for _, e := range exact.Results[0].Hits {
				if h.ID == e.ID {
					hits++
				}
			}
		}
		total += len(exact.Results[0].Hits)
	}
	recall := float64(hits) / float64(total)

	// Pre-encode the request bodies: the clients measure the server.
	bodies := make([][]byte, nq)
	for i := range bodies {
		bodies[i], _ = json.Marshal(server.SearchRequest{Vector: queries[i*d : (i+1)*d], K: k, Plan: plan, NoPayload: true})
	}
	load0 := loadavg()
	deadline := time.Now().Add(dur)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var firstErr string
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myErrs := 0
			var myFirst string
			for i := w; time.Now().Before(deadline); i += conc {
				t := time.Now()
				resp, err := hc.Post(url+"/v1/collections/bench/search", "application/json", bytes.NewReader(bodies[i%nq]))
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
					}
				}
				mine = append(mine, time.Since(t))
				if err != nil {
					myErrs++
					if myFirst == "" {
						myFirst = err.Error()
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			if firstErr == "" {
				firstErr = myFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	load1 := loadavg()
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }

	var b strings.Builder
	fmt.Fprintf(&b, "# mrl serve load test\n\n")
	fmt.Fprintf(&b, "`go run ./bench/serve -n %d -d %d -c %d -duration %v -k %d -plan %q`\n\n", n, d, conc, dur, k, plan)
	fmt.Fprintf(&b, "| date | CPU | cores | load avg before / after | go |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %s | %s | %d | %s / %s | %s |\n\n", time.Now().UTC().Format(time.RFC3339), cpuModel(), runtime.NumCPU(), load0, load1, runtime.Version())
	fmt.Fprintf(&b, "| vectors | dim | clients | plan run | recall@%d vs exact | searches | QPS | p50 | p99 | max | errors |\n|---|---|---|---|---|---|---|---|---|---|---|\n", k)
	fmt.Fprintf(&b, "| %d | %d | %d | %s | %.3f | %d | %.0f | %v | %v | %v | %d |\n\n", n, d, conc, planRun, recall, len(lat),
		float64(len(lat))/elapsed.Seconds(), q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), errs)
	fmt.Fprintf(&b, "Ingest of %d vectors through the API (batches of 1000, fsynced): %v; snapshot: %v. Server and clients share the machine over loopback.\n",
		n, ingest.Round(time.Millisecond), snap.Round(time.Millisecond))
	if errs > 0 {
		fmt.Fprintf(&b, "\nFirst error: %s\n", firstErr)
	}
	fmt.Print(b.String())
	if write {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if errs > 0 {
		return fmt.Errorf("%d errors", errs)
	}
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
