// Command embed measures mrl serve's embed throughput against the number of
// concurrent clients (issue 13: with 8 clients it should reach at least
// 1.6x the throughput of 1 client on 2 cores, since requests run their
// forward passes at the same time on model replicas). It starts the server
// in-process on a free 127.0.0.1 port (a real net/http server), loads an
// MLP with random weights (-hidden, -embed; 28×28 inputs, 10 classes) from
// a checkpoint it writes, then for each count in -clients runs that many
// clients posting embed requests of -batch random inputs for -duration,
// and prints a markdown table: requests/s, inputs/s, p50 and p99 latency,
// errors, and the throughput over the first count's, with the machine.
//
// Usage:
//
//	go run ./bench/serve/embed -clients 1,8 -duration 20s
//	go run ./bench/serve/embed -hidden 32 -embed 16 -duration 300ms   (smoke test)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
	"github.com/gomrl/mrl/train"
)

func main() {
	clients := flag.String("clients", "1,8", "comma-separated concurrent client counts, each run in turn")
	dur := flag.Duration("duration", 20*time.Second, "how long each client count posts requests")
	batch := flag.Int("batch", 16, "inputs per embed request")
	hidden := flag.Int("hidden", 1024, "the MLP's hidden width")
	embed := flag.Int("embed", 512, "the MLP's embedding size")
	flag.Parse()
	var counts []int
	for _, s := range strings.Split(*clients, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			log.Fatalf("-clients %q: want positive integers", *clients)
		}
		counts = append(counts, c)
	}
	if err := run(counts, *dur, *batch, *hidden, *embed); err != nil {
		log.Fatal(err)
	}
}

type result struct {
	clients       int
	reqs, errs    int
	elapsed       time.Duration
	p50, p99      time.Duration
	reqsPerSecond float64
}

func run(counts []int, dur time.Duration, batch, hidden, embed int) error {
	dir, err := os.MkdirTemp("", "mrl-bench-embed")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	m, err := model.New(model.Config{Arch: model.ArchMLP, InH: 28, InW: 28, InC: 1, Hidden: hidden, Embed: embed, Classes: 10}, 1)
	if err != nil {
		return err
	}
	if err := train.Save(filepath.Join(dir, "m.ckpt"), m, nil, "random", 1); err != nil {
		return err
	}
	srv, err := server.New(server.Options{DataDir: filepath.Join(dir, "data"), ModelRoot: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	maxC := slices.Max(counts)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: maxC + 4, MaxConnsPerHost: maxC + 4}}
	cl := &client.Client{BaseURL: "http://" + ln.Addr().String(), HTTP: hc}
	ctx := context.Background()
	if _, err := cl.LoadModel(ctx, "m", "m.ckpt"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := make([][]float32, batch)
	for i := range inputs {
		inputs[i] = make([]float32, 28*28)
		for j := range inputs[i] {
			inputs[i][j] = rng.Float32()
		}
	}
	req := api.EmbedRequest{Inputs: inputs}
	if _, err := cl.Embed(ctx, "m", req); err != nil { // warm up
		return err
	}

	var results []result
	for _, c := range counts {
		var mu sync.Mutex
		var lat []time.Duration
		r := result{clients: c}
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(dur)
		for range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				errs := 0
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if _, err := cl.Embed(ctx, "m", req); err != nil {
						errs++
						continue
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				r.errs += errs
				mu.Unlock()
			}()
		}
		wg.Wait()
		r.elapsed = time.Since(start)
		r.reqs = len(lat)
		if len(lat) > 0 {
			slices.Sort(lat)
			r.p50, r.p99 = lat[len(lat)/2], lat[min(len(lat)-1, (99*len(lat)+99)/100-1)]
		}
		r.reqsPerSecond = float64(r.reqs) / r.elapsed.Seconds()
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "%d clients: %d requests in %v\n", c, r.reqs, r.elapsed.Round(time.Millisecond))
	}

	host, _ := os.Hostname()
	fmt.Printf("embed throughput: MLP 784-%d-%d (random weights), %d inputs a request, %v per client count; %s, %d CPUs (GOMAXPROCS %d), %s, %s\n\n",
		hidden, embed, batch, dur, host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), time.Now().UTC().Format(time.RFC3339))
	fmt.Println("| clients | requests | requests/s | inputs/s | p50 | p99 | errors | vs first |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		ratio := 0.0
		if results[0].reqsPerSecond > 0 {
			ratio = r.reqsPerSecond / results[0].reqsPerSecond
		}
		fmt.Printf("| %d | %d | %.1f | %.0f | %v | %v | %d | %.2fx |\n", r.clients, r.reqs, r.reqsPerSecond, r.reqsPerSecond*float64(batch),
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errs, ratio)
	}
	return nil
}
