package weaviate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/index"
	"github.com/weaviate/weaviate/entities/models"
)

// Index kinds of a named vector.
const (
	HNSW = "hnsw"
	Flat = "flat"
)

// FullVector is the name of the named vector holding the full embedding;
// a prefix of dim m is the named vector "p<m>" (PrefixName).
const FullVector = "full"

// IDProperty is the integer property holding a point's id (exact below
// 2^53: the gRPC batch sends numbers as float64). The object's UUID (see
// UUID) is what the backend reads ids from.
const IDProperty = "mrl_id"

// layoutMarker starts the class description that records the layout.
const layoutMarker = "mrl layout "

// HNSWConfig is the graph of the first stage (and of the full vector
// when Layout.Full is HNSW). Zero fields take Weaviate's defaults.
type HNSWConfig struct {
	M              int `json:"m,omitempty"`               // maxConnections (Weaviate's default 32)
	EfConstruction int `json:"ef_construction,omitempty"` // efConstruction (default 128)
	Ef             int `json:"ef,omitempty"`              // ef at search (default -1: dynamic); may differ from the stored layout
	// Compression of the graph's in-memory vectors: "" (none, float32),
	// "bq" (1 bit a dim), "sq" (8 bits a dim, trained on the shard's
	// first SQTrainingLimit vectors) or "rq" (Weaviate's rotational
	// quantization, 8 bits a dim, no training). The graph then searches
	// the compressed vectors and rescores its best candidates with the
	// uncompressed ones, read from disk.
	Compression string `json:"compression,omitempty"`
}

// Compressions of an HNSW graph's vectors (HNSWConfig.Compression).
const (
	BQ = "bq"
	SQ = "sq"
	RQ = "rq"
)

// SQTrainingLimit is the number of vectors a shard holds when SQ
// compression trains its scales and starts compressing (Weaviate's
// default, 100000, would leave a smaller shard uncompressed).
const SQTrainingLimit = 10000

// Layout is how a collection of Matryoshka embeddings lies on the cluster:
// one named vector per plan stage. The first prefix (Prefixes[0]) has an
// HNSW index and is the funnel's shortlist; the later prefixes and the
// full vector have a flat index (exact, kept on disk) unless Full is HNSW,
// and are searched filtered to the previous stage's ids, which reranks
// exactly. With no prefixes the full vector alone is searched (a plain
// full-dim HNSW layout when Full is HNSW).
type Layout struct {
	Dim      int        // D, the full embedding dim
	Metric   mrl.Metric // cosine prefixes are stored re-normalised
	Prefixes []int      // increasing prefix dims below Dim, each a named vector "p<dim>"
	Full     string     // the full vector's index: Flat (default) or HNSW
	Shards   int        // shards (0: Weaviate's default, the number of nodes)
	Replicas int        // replication factor (default 1)
	HNSW     HNSWConfig // the graph options
	// Extra is JSON recorded with the layout in the class description and
	// read back by Collection and List, opaque to this package and not
	// compared by Diff (the server's backend keeps a collection's api.Meta
	// in it). Nil records nothing.
	Extra json.RawMessage
	// Tuned are the plans Collection.Tune chose and recorded, by target
	// recall and K; not compared by Diff.
	Tuned []Tuned
}

// LayoutFor returns the layout serving plan over embeddings of dim d: a
// named vector per stage dim below d.
func LayoutFor(d int, metric mrl.Metric, plan index.Plan) Layout {
	l := Layout{Dim: d, Metric: metric}
	for _, s := range plan {
		if s.Dim < d {
			l.Prefixes = append(l.Prefixes, s.Dim)
		}
	}
	return l
}

// WithDefaults returns l with zero fields set to their defaults.
func (l Layout) WithDefaults() Layout {
	if l.Full == "" {
		l.Full = Flat
	}
	if l.Replicas == 0 {
		l.Replicas = 1
	}
	l.Prefixes = slices.Clone(l.Prefixes)
	l.Extra = slices.Clone(l.Extra)
	l.Tuned = slices.Clone(l.Tuned)
	return l
}

// Validate reports every problem of l (after WithDefaults) at once.
func (l Layout) Validate() error {
	var p []string
	if l.Dim < 1 || l.Dim > 65535 {
		p = append(p, fmt.Sprintf("dim %d: want 1..65535", l.Dim))
	}
	if l.Metric.String() != "cosine" && l.Metric.String() != "ip" && l.Metric.String() != "l2" {
		p = append(p, fmt.Sprintf("metric %v: want cosine, ip or l2", l.Metric))
	}
	for i, d := range l.Prefixes {
		if d < 1 || d >= l.Dim {
			p = append(p, fmt.Sprintf("prefix %d: dim %d outside 1..%d", i+1, d, l.Dim-1))
		}
		if i > 0 && d <= l.Prefixes[i-1] {
			p = append(p, fmt.Sprintf("prefix %d: dim %d does not increase (previous %d)", i+1, d, l.Prefixes[i-1]))
		}
	}
	if l.Full != Flat && l.Full != HNSW {
		p = append(p, fmt.Sprintf("full index %q: want flat or hnsw", l.Full))
	}
	if l.Shards < 0 {
		p = append(p, fmt.Sprintf("shards %d: want 0 (one per node) or more", l.Shards))
	}
	if l.Replicas < 1 {
		p = append(p, fmt.Sprintf("replicas %d: want 1 or more", l.Replicas))
	}
	if l.HNSW.M < 0 || l.HNSW.EfConstruction < 0 || l.HNSW.Ef < -1 {
		p = append(p, fmt.Sprintf("hnsw %+v: want m, ef_construction >= 0 and ef >= -1", l.HNSW))
	}
	switch l.HNSW.Compression {
	case "", BQ, SQ, RQ:
	default:
		p = append(p, fmt.Sprintf("hnsw compression %q: want none (\"\"), bq, sq or rq", l.HNSW.Compression))
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrLayout, strings.Join(p, "; "))
	}
	return nil
}

// PrefixName is the named vector of the dim-m prefix: "p<m>", or
// FullVector at the full dim.
func (l Layout) PrefixName(m int) string {
	if m == l.Dim {
		return FullVector
	}
	return "p" + strconv.Itoa(m)
}

// Has reports whether the layout stores a vector at dim m.
func (l Layout) Has(m int) bool { return m == l.Dim || slices.Contains(l.Prefixes, m) }

// CheckPlan reports whether plan can run on l: every stage dim is stored
// and the last is the full dim.
func (l Layout) CheckPlan(plan index.Plan) error {
	if err := plan.Validate(l.Dim, 0); err != nil {
		return err
	}
	var missing []string
	for _, s := range plan {
		if !l.Has(s.Dim) {
			missing = append(missing, strconv.Itoa(s.Dim))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: plan %s needs prefix dims %s, the collection stores %v and %d", ErrLayout, plan, strings.Join(missing, ","), l.Prefixes, l.Dim)
	}
	return nil
}

// Diff lists how got differs from l, "" when they agree. HNSW.Ef is a
// search-time knob and is not compared.
func (l Layout) Diff(got Layout) string {
	var p []string
	if l.Dim != got.Dim {
		p = append(p, fmt.Sprintf("dim: want %d, got %d", l.Dim, got.Dim))
	}
	if l.Metric != got.Metric {
		p = append(p, fmt.Sprintf("metric: want %v, got %v", l.Metric, got.Metric))
	}
	if !slices.Equal(l.Prefixes, got.Prefixes) {
		p = append(p, fmt.Sprintf("prefixes: want %v, got %v", l.Prefixes, got.Prefixes))
	}
	if l.Full != got.Full {
		p = append(p, fmt.Sprintf("full index: want %s, got %s", l.Full, got.Full))
	}
	if l.Shards != 0 && l.Shards != got.Shards {
		p = append(p, fmt.Sprintf("shards: want %d, got %d", l.Shards, got.Shards))
	}
	if l.Replicas != got.Replicas {
		p = append(p, fmt.Sprintf("replicas: want %d, got %d", l.Replicas, got.Replicas))
	}
	if l.HNSW.M != 0 && l.HNSW.M != got.HNSW.M || l.HNSW.EfConstruction != 0 && l.HNSW.EfConstruction != got.HNSW.EfConstruction {
		p = append(p, fmt.Sprintf("hnsw: want m %d ef_construction %d, got %d and %d", l.HNSW.M, l.HNSW.EfConstruction, got.HNSW.M, got.HNSW.EfConstruction))
	}
	if l.HNSW.Compression != got.HNSW.Compression {
		p = append(p, fmt.Sprintf("hnsw compression: want %q, got %q", l.HNSW.Compression, got.HNSW.Compression))
	}
	return strings.Join(p, "; ")
}

// distance is Weaviate's distance for a metric.
func distance(m mrl.Metric) string {
	switch m {
	case mrl.InnerProduct:
		return "dot"
	case mrl.L2:
		return "l2-squared"
	}
	return "cosine"
}

// Score converts a Weaviate distance to our score (higher is better, see
// package index): cosine 1-d, inner product -d, l2 -d (d is the squared
// distance).
func Score(m mrl.Metric, d float32) float32 {
	if m == mrl.Cosine {
		return 1 - d
	}
	return -d
}

// layoutJSON is the layout as the class description records it.
type layoutJSON struct {
	Dim      int             `json:"dim"`
	Metric   string          `json:"metric"`
	Prefixes []int           `json:"prefixes"`
	Full     string          `json:"full"`
	Shards   int             `json:"shards"`
	Replicas int             `json:"replicas"`
	HNSW     HNSWConfig      `json:"hnsw"`
	Extra    json.RawMessage `json:"extra,omitempty"`
	Tuned    []Tuned         `json:"tuned,omitempty"`
}

// ClassName is the Weaviate class of collection name: the name with its
// first letter upper-cased (Weaviate's rule), which must then be a letter
// followed by letters, digits and underscores.
func ClassName(name string) (string, error) {
	if name == "" || len(name) > 200 {
		return "", fmt.Errorf("%w: collection name %q: want 1 to 200 characters", ErrName, name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '_')
		if !ok {
			return "", fmt.Errorf("%w: collection name %q: want a letter, then letters, digits or _ (Weaviate's class names)", ErrName, name)
		}
	}
	return strings.ToUpper(name[:1]) + name[1:], nil
}

// classFor is the Weaviate class of a collection laid out as l (validated),
// without payload properties (they are added as points bring them).
func classFor(class string, l Layout) *models.Class {
	hnsw := func() map[string]any {
		c := map[string]any{"distance": distance(l.Metric)}
		if l.HNSW.M > 0 {
			c["maxConnections"] = l.HNSW.M
		}
		if l.HNSW.EfConstruction > 0 {
			c["efConstruction"] = l.HNSW.EfConstruction
		}
		if l.HNSW.Ef != 0 {
			c["ef"] = l.HNSW.Ef
		}
		switch l.HNSW.Compression {
		case BQ, RQ:
			c[l.HNSW.Compression] = map[string]any{"enabled": true}
		case SQ:
			c[SQ] = map[string]any{"enabled": true, "trainingLimit": SQTrainingLimit}
		}
		return c
	}
	flat := func() map[string]any { return map[string]any{"distance": distance(l.Metric)} }
	none := map[string]any{"none": map[string]any{}}
	vc := map[string]models.VectorConfig{}
	for i, d := range l.Prefixes {
		if i == 0 {
			vc[l.PrefixName(d)] = models.VectorConfig{Vectorizer: none, VectorIndexType: HNSW, VectorIndexConfig: hnsw()}
		} else {
			vc[l.PrefixName(d)] = models.VectorConfig{Vectorizer: none, VectorIndexType: Flat, VectorIndexConfig: flat()}
		}
	}
	if l.Full == HNSW {
		vc[FullVector] = models.VectorConfig{Vectorizer: none, VectorIndexType: HNSW, VectorIndexConfig: hnsw()}
	} else {
		vc[FullVector] = models.VectorConfig{Vectorizer: none, VectorIndexType: Flat, VectorIndexConfig: flat()}
	}
	desc, _ := json.Marshal(layoutJSON{Dim: l.Dim, Metric: l.Metric.String(), Prefixes: l.Prefixes, Full: l.Full, Shards: l.Shards, Replicas: l.Replicas, HNSW: l.HNSW, Extra: l.Extra, Tuned: l.Tuned})
	c := &models.Class{
		Class:        class,
		Description:  layoutMarker + string(desc),
		VectorConfig: vc,
		Properties: []*models.Property{{
			Name: IDProperty, DataType: []string{"int"},
		}},
		// IsNull filters (a missing payload field) need the null state.
		InvertedIndexConfig: &models.InvertedIndexConfig{IndexNullState: true},
		ReplicationConfig:   &models.ReplicationConfig{Factor: int64(l.Replicas), AsyncEnabled: true},
	}
	if l.Shards > 0 {
		c.ShardingConfig = map[string]any{"desiredCount": l.Shards}
	}
	return c
}

// layoutOf reads the layout of an existing class: the one its description
// records, checked against the class's named vectors and replication (so
// that a class changed by hand, or not made by this package, is reported).
func layoutOf(c *models.Class) (Layout, error) {
	raw, ok := strings.CutPrefix(c.Description, layoutMarker)
	if !ok {
		return Layout{}, fmt.Errorf("%w: class %s was not created by mrl (its description does not record a layout)", ErrLayout, c.Class)
	}
	var j layoutJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return Layout{}, fmt.Errorf("%w: class %s: recorded layout: %v", ErrLayout, c.Class, err)
	}
	met, err := mrl.ParseMetric(j.Metric)
	if err != nil {
		return Layout{}, fmt.Errorf("%w: class %s: recorded layout: %v", ErrLayout, c.Class, err)
	}
	l := Layout{Dim: j.Dim, Metric: met, Prefixes: j.Prefixes, Full: j.Full, Shards: j.Shards, Replicas: j.Replicas, HNSW: j.HNSW, Extra: j.Extra, Tuned: j.Tuned}
	if err := l.Validate(); err != nil {
		return Layout{}, fmt.Errorf("class %s: recorded layout: %w", c.Class, err)
	}
	// What the cluster actually holds.
	var p []string
	want := classFor(c.Class, l)
	for name, w := range want.VectorConfig {
		g, ok := c.VectorConfig[name]
		if !ok {
			p = append(p, fmt.Sprintf("named vector %s missing", name))
			continue
		}
		if g.VectorIndexType != w.VectorIndexType {
			p = append(p, fmt.Sprintf("named vector %s: index %s, want %s", name, g.VectorIndexType, w.VectorIndexType))
		}
		if gc, ok := g.VectorIndexConfig.(map[string]any); ok {
			if d, _ := gc["distance"].(string); d != "" && d != distance(l.Metric) {
				p = append(p, fmt.Sprintf("named vector %s: distance %s, want %s", name, d, distance(l.Metric)))
			}
			if name == l.PrefixName(firstDim(l)) && w.VectorIndexType == HNSW {
				l.HNSW.M = intOf(gc["maxConnections"], l.HNSW.M)
				l.HNSW.EfConstruction = intOf(gc["efConstruction"], l.HNSW.EfConstruction)
				if got := compressionOf(gc); got != l.HNSW.Compression {
					p = append(p, fmt.Sprintf("named vector %s: compression %q, want %q", name, got, l.HNSW.Compression))
				}
			}
		}
	}
	for name := range c.VectorConfig {
		if _, ok := want.VectorConfig[name]; !ok {
			p = append(p, fmt.Sprintf("named vector %s is not in the recorded layout", name))
		}
	}
	if c.ReplicationConfig != nil {
		if int(c.ReplicationConfig.Factor) != l.Replicas {
			p = append(p, fmt.Sprintf("replication factor %d, recorded %d", c.ReplicationConfig.Factor, l.Replicas))
		}
	}
	if sc, ok := c.ShardingConfig.(map[string]any); ok {
		if n := intOf(sc["desiredCount"], 0); n > 0 {
			l.Shards = n
		}
	}
	if len(p) > 0 {
		return Layout{}, fmt.Errorf("%w: class %s differs from its recorded layout: %s", ErrLayout, c.Class, strings.Join(p, "; "))
	}
	return l, nil
}

// compressionOf is the compression enabled in an HNSW index config ("" for
// none; pq, which this package does not make, reads as "pq").
func compressionOf(gc map[string]any) string {
	for _, k := range []string{BQ, SQ, RQ, "pq"} {
		if m, ok := gc[k].(map[string]any); ok {
			if on, _ := m["enabled"].(bool); on {
				return k
			}
		}
	}
	return ""
}

// firstDim is the dim of the first stage: the first prefix, else Dim.
func firstDim(l Layout) int {
	if len(l.Prefixes) > 0 {
		return l.Prefixes[0]
	}
	return l.Dim
}

// intOf reads a JSON number (float64 or json.Number), else def.
func intOf(v any, def int) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return int(n)
		}
	case int:
		return x
	case int64:
		return int(x)
	}
	return def
}

// prefixVector returns the stored form of x's dim-m prefix: re-normalised
// for cosine (as package index scores it), as is otherwise.
func prefixVector(metric mrl.Metric, x []float32, m int) []float32 {
	v := slices.Clone(x[:m])
	if metric != mrl.Cosine {
		return v
	}
	var s float64
	for _, e := range v {
		s += float64(e) * float64(e)
	}
	if s == 0 {
		return v
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// Errors, tested with errors.Is.
var (
	// ErrLayout reports a layout that is invalid, that does not match the
	// plan or the collection, or a class not made by this package.
	ErrLayout = errors.New("weaviate: layout mismatch")
	// ErrName reports a collection name Weaviate cannot hold.
	ErrName = errors.New("weaviate: invalid collection name")
	// ErrUnreachable reports that no node of the cluster answered.
	ErrUnreachable = errors.New("weaviate: cluster unreachable")
	// ErrTransient reports an error of the cluster's state that passes
	// when it settles (a replica down or rejoining, a shard loading):
	// the request may succeed if retried.
	ErrTransient = errors.New("weaviate: transient cluster error")
	// ErrNotFound reports a collection that does not exist.
	ErrNotFound = errors.New("weaviate: no such collection")
	// ErrPayload reports a payload the collection cannot hold.
	ErrPayload = errors.New("weaviate: invalid payload")
	// ErrFilter reports a malformed filter.
	ErrFilter = errors.New("weaviate: invalid filter")
	// ErrRequest reports an invalid argument (a vector of the wrong
	// length, a dim the layout does not store).
	ErrRequest = errors.New("weaviate: invalid request")
)
