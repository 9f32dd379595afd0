package weaviate

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/weaviate/weaviate/entities/models"
)

func mustPlan(t *testing.T, s string) index.Plan {
	t.Helper()
	p, err := index.ParsePlan(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLayoutFor(t *testing.T) {
	tests := []struct {
		plan     string
		prefixes []int
	}{
		{"64:100,512:10", []int{64}},
		{"16:200,64:50,512:10", []int{16, 64}},
		{"512:10", nil},
	}
	for _, tt := range tests {
		l := LayoutFor(512, mrl.Cosine, mustPlan(t, tt.plan)).WithDefaults()
		if err := l.Validate(); err != nil {
			t.Errorf("LayoutFor(%s): %v", tt.plan, err)
		}
		if len(l.Prefixes) != len(tt.prefixes) || len(tt.prefixes) > 0 && l.Prefixes[0] != tt.prefixes[0] {
			t.Errorf("LayoutFor(%s).Prefixes = %v, want %v", tt.plan, l.Prefixes, tt.prefixes)
		}
		if err := l.CheckPlan(mustPlan(t, tt.plan)); err != nil {
			t.Errorf("CheckPlan(%s) on its own layout: %v", tt.plan, err)
		}
	}
	l := LayoutFor(512, mrl.Cosine, mustPlan(t, "64:100,512:10"))
	if err := l.CheckPlan(mustPlan(t, "32:100,512:10")); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "needs prefix dims 32") {
		t.Errorf("CheckPlan(32:100,512:10) on a p64 layout = %v, want ErrLayout naming dim 32", err)
	}
}

func TestLayoutValidate(t *testing.T) {
	l := Layout{Dim: 0, Metric: mrl.Metric(7), Prefixes: []int{64, 32, 900}, Full: "ivf", Shards: -1, Replicas: 0, HNSW: HNSWConfig{Compression: "pq"}}
	err := l.Validate()
	if !errors.Is(err, ErrLayout) {
		t.Fatalf("Validate = %v, want ErrLayout", err)
	}
	for _, want := range []string{"dim 0", "metric", "does not increase", "full index", "shards -1", "replicas 0", `compression "pq"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not mention %q", err, want)
		}
	}
}

// TestClassRoundTrip builds the class of a layout, passes it through JSON
// (as the cluster returns it) and reads the layout back.
func TestClassRoundTrip(t *testing.T) {
	for _, l := range []Layout{
		{Dim: 512, Metric: mrl.Cosine, Prefixes: []int{16, 64}, Shards: 3, Replicas: 2, HNSW: HNSWConfig{M: 16, EfConstruction: 64}},
		{Dim: 128, Metric: mrl.InnerProduct, Full: HNSW, Replicas: 1},
		{Dim: 8, Metric: mrl.L2, Prefixes: []int{4}, Extra: json.RawMessage(`{"name":"x","dim":8}`)},
		{Dim: 512, Metric: mrl.Cosine, Prefixes: []int{64}, HNSW: HNSWConfig{Compression: BQ}},
		{Dim: 512, Metric: mrl.Cosine, Prefixes: []int{64}, HNSW: HNSWConfig{M: 8, Compression: SQ}},
		{Dim: 256, Metric: mrl.InnerProduct, Full: HNSW, HNSW: HNSWConfig{Compression: RQ}},
	} {
		l = l.WithDefaults()
		c := classFor("Test", l)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back models.Class
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := layoutOf(&back)
		if err != nil {
			t.Fatalf("layoutOf(classFor(%+v)): %v", l, err)
		}
		if d := l.Diff(got); d != "" {
			t.Errorf("layout %+v read back differs: %s", l, d)
		}
		if string(got.Extra) != string(l.Extra) {
			t.Errorf("layout %+v read back with Extra %s, want %s", l, got.Extra, l.Extra)
		}
		want := map[string]string{FullVector: l.Full}
		for i, m := range l.Prefixes {
			want[l.PrefixName(m)] = Flat
			if i == 0 {
				want[l.PrefixName(m)] = HNSW
			}
		}
		for name, kind := range want {
			if back.VectorConfig[name].VectorIndexType != kind {
				t.Errorf("named vector %s: index %q, want %q", name, back.VectorConfig[name].VectorIndexType, kind)
			}
		}
		if !back.ReplicationConfig.AsyncEnabled || back.ReplicationConfig.Factor != int64(l.Replicas) || !back.InvertedIndexConfig.IndexNullState {
			t.Errorf("class %+v: want async replication, factor %d and the null state index", back, l.Replicas)
		}
	}
}

func TestLayoutOfErrors(t *testing.T) {
	l := Layout{Dim: 64, Metric: mrl.Cosine, Prefixes: []int{16}}.WithDefaults()
	foreign := &models.Class{Class: "X"}
	if _, err := layoutOf(foreign); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "not created by mrl") {
		t.Errorf("layoutOf(a foreign class) = %v", err)
	}
	changed := classFor("X", l)
	delete(changed.VectorConfig, "p16")
	changed.VectorConfig["p32"] = changed.VectorConfig[FullVector]
	if _, err := layoutOf(changed); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "p16 missing") || !strings.Contains(err.Error(), "p32 is not") {
		t.Errorf("layoutOf(a changed class) = %v", err)
	}
	squeezed := Layout{Dim: 64, Metric: mrl.Cosine, Prefixes: []int{16}, HNSW: HNSWConfig{Compression: BQ}}.WithDefaults()
	recompressed := classFor("X", squeezed)
	recompressed.VectorConfig["p16"] = classFor("X", l).VectorConfig["p16"]
	if _, err := layoutOf(recompressed); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), `p16: compression "", want "bq"`) {
		t.Errorf("layoutOf(a class whose graph lost its compression) = %v", err)
	}
	other := Layout{Dim: 64, Metric: mrl.L2, Prefixes: []int{32}, Replicas: 2, HNSW: HNSWConfig{Compression: RQ}}.WithDefaults()
	d := l.Diff(other)
	for _, want := range []string{"metric", "prefixes: want [16], got [32]", "replicas: want 1, got 2", `compression: want "", got "rq"`} {
		if !strings.Contains(d, want) {
			t.Errorf("Diff = %q, want it to mention %q", d, want)
		}
	}
}

func TestScoreAndPrefix(t *testing.T) {
	x := []float32{3, 4, 12}
	p := prefixVector(mrl.Cosine, x, 2)
	if math.Abs(float64(p[0])-0.6) > 1e-6 || math.Abs(float64(p[1])-0.8) > 1e-6 || len(p) != 2 {
		t.Errorf("prefixVector(cosine, %v, 2) = %v, want [0.6 0.8]", x, p)
	}
	if p := prefixVector(mrl.InnerProduct, x, 2); p[0] != 3 || p[1] != 4 {
		t.Errorf("prefixVector(ip) = %v, want the prefix as is", p)
	}
	if x[0] != 3 {
		t.Error("prefixVector changed its input")
	}
	if z := prefixVector(mrl.Cosine, []float32{0, 0, 1}, 2); z[0] != 0 || z[1] != 0 {
		t.Errorf("prefixVector of a zero prefix = %v", z)
	}
	for _, tt := range []struct {
		m    mrl.Metric
		d    float32
		want float32
	}{{mrl.Cosine, 0.25, 0.75}, {mrl.InnerProduct, -3, 3}, {mrl.L2, 2, -2}} {
		if got := Score(tt.m, tt.d); got != tt.want {
			t.Errorf("Score(%v, %v) = %v, want %v", tt.m, tt.d, got, tt.want)
		}
	}
}

func TestClassName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{{"docs", "Docs"}, {"MyCol_2", "MyCol_2"}, {"x", "X"}} {
		if got, err := ClassName(tt.in); err != nil || got != tt.want {
			t.Errorf("ClassName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "2docs", "_x", "a-b", "é", strings.Repeat("a", 201)} {
		if _, err := ClassName(bad); !errors.Is(err, ErrName) {
			t.Errorf("ClassName(%q) = %v, want ErrName", bad, err)
		}
	}
}

func TestStageQueries(t *testing.T) {
	p := mustPlan(t, "16:200,64:50,512:10")
	tests := []struct {
		dim, k int
		want   string
	}{
		{512, 10, "16:200,64:50,512:10"},
		{512, 100, "16:200,64:100,512:100"},
		{64, 10, "16:200,64:10"},
		{32, 5, "16:200,32:5"},
		{16, 10, "16:10"},
		{8, 10, "8:10"},
	}
	for _, tt := range tests {
		if got := index.Plan(stageQueries(p, tt.dim, tt.k)).String(); got != tt.want {
			t.Errorf("stageQueries(%s, dim %d, k %d) = %s, want %s", p, tt.dim, tt.k, got, tt.want)
		}
	}
	if got := index.Plan(stageQueries(nil, 64, 3)).String(); got != "64:3" {
		t.Errorf("stageQueries(no plan) = %s, want 64:3", got)
	}
}
