package server

import (
	"fmt"
	"io"
	"runtime"
	rtmetrics "runtime/metrics"
	"slices"
	"strings"
	"sync"
	"time"
)

// metrics counts requests by route and status and their latencies, written
// in the Prometheus text exposition format (version 0.0.4).
type metrics struct {
	mu       sync.Mutex
	requests map[routeCode]uint64
	latency  map[string]*histogram
}

type routeCode struct {
	route string
	code  int
}

// latencyBuckets are the histogram's upper bounds in seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[routeCode]uint64{}, latency: map[string]*histogram{}}
}

func (m *metrics) observe(route string, code int, d time.Duration) {
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[routeCode{route, code}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.latency[route] = h
	}
	for i, b := range latencyBuckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
}

// escape quotes a label value.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// write prints the request metrics and the collections' gauges.
func (m *metrics) write(w io.Writer, cols []CollectionInfo, models int) {
	m.mu.Lock()
	keys := make([]routeCode, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b routeCode) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		return a.code - b.code
	})
	fmt.Fprintln(w, "# HELP mrl_http_requests_total HTTP requests by route and status code.")
	fmt.Fprintln(w, "# TYPE mrl_http_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "mrl_http_requests_total{route=\"%s\",code=\"%d\"} %d\n", escape(k.route), k.code, m.requests[k])
	}
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	fmt.Fprintln(w, "# HELP mrl_http_request_duration_seconds HTTP request latency by route.")
	fmt.Fprintln(w, "# TYPE mrl_http_request_duration_seconds histogram")
	for _, r := range routes {
		h := m.latency[r]
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "mrl_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %d\n", escape(r), b, cum)
		}
		fmt.Fprintf(w, "mrl_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %d\n", escape(r), h.n)
		fmt.Fprintf(w, "mrl_http_request_duration_seconds_sum{route=\"%s\"} %g\n", escape(r), h.sum)
		fmt.Fprintf(w, "mrl_http_request_duration_seconds_count{route=\"%s\"} %d\n", escape(r), h.n)
	}
	m.mu.Unlock()

	fmt.Fprintln(w, "# HELP mrl_collection_points Live points per collection.")
	fmt.Fprintln(w, "# TYPE mrl_collection_points gauge")
	for _, c := range cols {
		fmt.Fprintf(w, "mrl_collection_points{collection=\"%s\"} %d\n", escape(c.Name), c.Count)
	}
	fmt.Fprintln(w, "# HELP mrl_collection_pending Changes not yet merged into a collection's index.")
	fmt.Fprintln(w, "# TYPE mrl_collection_pending gauge")
	for _, c := range cols {
		fmt.Fprintf(w, "mrl_collection_pending{collection=\"%s\"} %d\n", escape(c.Name), c.Pending)
	}
	fmt.Fprintln(w, "# HELP mrl_collection_vector_bytes Bytes of vectors held per collection.")
	fmt.Fprintln(w, "# TYPE mrl_collection_vector_bytes gauge")
	for _, c := range cols {
		fmt.Fprintf(w, "mrl_collection_vector_bytes{collection=\"%s\"} %d\n", escape(c.Name), c.MemoryBytes)
	}
	fmt.Fprintln(w, "# HELP mrl_collection_index_bytes Bytes of a collection's index beside its vectors (an HNSW graph with its prefix copy; 0 for flat).")
	fmt.Fprintln(w, "# TYPE mrl_collection_index_bytes gauge")
	for _, c := range cols {
		fmt.Fprintf(w, "mrl_collection_index_bytes{collection=\"%s\"} %d\n", escape(c.Name), c.IndexBytes)
	}
	fmt.Fprintln(w, "# HELP mrl_models_loaded Models loaded.")
	fmt.Fprintln(w, "# TYPE mrl_models_loaded gauge")
	fmt.Fprintf(w, "mrl_models_loaded %d\n", models)
}

// startTime is when the process started serving metrics, for
// process_start_time_seconds.
var startTime = time.Now()

// writeRuntime prints the Go runtime's and the process's standard
// families (the names the Prometheus Go client uses), read from
// runtime/metrics and, on Linux, /proc/self.
func writeRuntime(w io.Writer) {
	samples := []rtmetrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/goal:bytes"},
	}
	rtmetrics.Read(samples)
	val := func(i int) uint64 {
		if samples[i].Value.Kind() == rtmetrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0
	}
	gauge := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %v\n", name, help, name, name, v)
	}
	gauge("go_goroutines", "Number of goroutines that currently exist.", val(0))
	gauge("go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", val(1))
	gauge("go_memstats_sys_bytes", "Bytes of memory obtained from the OS by the Go runtime.", val(2))
	gauge("go_gc_heap_goal_bytes", "Heap size target of the next GC cycle.", val(4))
	fmt.Fprintf(w, "# HELP go_gc_cycles_total Completed GC cycles.\n# TYPE go_gc_cycles_total counter\ngo_gc_cycles_total %d\n", val(3))
	fmt.Fprintf(w, "# HELP go_info Information about the Go environment.\n# TYPE go_info gauge\ngo_info{version=\"%s\"} 1\n", escape(runtime.Version()))
	gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", startTime.Unix())
	if cpu, rss, ok := processStats(); ok {
		fmt.Fprintf(w, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", cpu)
		gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss)
	}
}
