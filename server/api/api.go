// Package api holds the JSON wire types of mrl serve's HTTP API (see
// server/openapi.json): the request bodies and the answers. The server
// (package server, which aliases them) and its Go client (server/client)
// both import it, so a program that only talks to a server does not link
// the engine; the embedded store (package collection) uses its plain data
// types (Meta, Point, Hit) too, so the server hands them through as they
// are.
package api

import mrl "github.com/gomrl/mrl"

// IndexSpec chooses the searcher of a collection's snapshot. Kind is "flat"
// (exact, the default), "hnsw", "ivf", or a quantised first stage,
// "binary" (sign bits) or "int8", whose codes stay in memory beside the
// vectors and whose best rescore·k candidates are re-scored exactly; the
// other fields are the options of that kind (zero means the index
// package's default) and must be zero for the other kinds.
type IndexSpec struct {
	Kind           string `json:"kind"`
	M              int    `json:"m,omitempty"`               // hnsw
	EfConstruction int    `json:"ef_construction,omitempty"` // hnsw
	EfSearch       int    `json:"ef_search,omitempty"`       // hnsw
	GraphDim       int    `json:"graph_dim,omitempty"`       // hnsw: prefix dim of the graph
	Lists          int    `json:"lists,omitempty"`           // ivf
	Probe          int    `json:"probe,omitempty"`           // ivf
	ClusterDim     int    `json:"cluster_dim,omitempty"`     // ivf
	Seed           uint64 `json:"seed,omitempty"`            // hnsw, ivf
	CodeDim        int    `json:"code_dim,omitempty"`        // binary, int8: coded prefix dim (default the collection dim)
	Rescore        int    `json:"rescore,omitempty"`         // binary, int8: candidates re-scored exactly, times k
}

// Meta is what meta.json holds: the fixed shape of a collection.
type Meta struct {
	Name    string      `json:"name"`
	Dim     int         `json:"dim"`
	Metric  string      `json:"metric"`
	Nesting mrl.Nesting `json:"nesting"`
	Index   IndexSpec   `json:"index"`
	// Input, when set, says what else than vectors the collection's
	// points and queries may be given as and how they become vectors
	// (an attached model embeds texts). Absent from the meta.json of a
	// collection without one, which reads and writes as before.
	Input *InputSpec `json:"input,omitempty"`
}

// InputSpec is a collection's input transform: the steps that turn what
// an upsert or a search gives into the vectors the collection stores and
// scores, in this order: Model, a loaded model that embeds texts; then
// Adapter, a Matryoshka adapter that maps every vector (given, or
// embedded by the model) from its input dim to the collection's dim.
// Either may be absent, not both.
type InputSpec struct {
	Model   *ModelRef   `json:"model,omitempty"`
	Adapter *AdapterRef `json:"adapter,omitempty"`
}

// AdapterRef names the Matryoshka adapter (package adapter) attached to a
// collection and pins which one it is: Path is its file, relative to the
// server's model root, and SHA256 the file's SHA-256; the server refuses
// the collection's upserts and searches (409) while the file at Path is
// missing or has another SHA-256, since another adapter would map into
// another space. InputDim is the dim of the vectors points and queries
// are given in (the adapter's input); the collection's dim is the
// adapter's output dim.
type AdapterRef struct {
	Path     string `json:"path"`
	SHA256   string `json:"sha256"`
	InputDim int    `json:"input_dim"`
}

// ModelRef names the model attached to a collection and pins which one
// it is: the server refuses a model loaded under Name whose checkpoint's
// SHA-256 is not SHA256 (a different model would put its vectors in
// another space). Path is where it was loaded from (relative to the
// server's model root), a hint for loading it again after a restart.
type ModelRef struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Arch   string `json:"arch"` // "text", or an image model's "mlp" or "cnn"
}

// CollectionInfo is the state of a collection.
type CollectionInfo struct {
	Meta
	Count       int        `json:"count"`
	Pending     int        `json:"pending"`               // changes not yet merged into the snapshot's index
	MemoryBytes int64      `json:"memory_bytes"`          // the vectors
	IndexBytes  int64      `json:"index_bytes,omitempty"` // an HNSW graph with its prefix copy, or the binary/int8 codes
	Seq         uint64     `json:"seq"`
	SnapshotSeq uint64     `json:"snapshot_seq"`
	AutoPlan    *TunedPlan `json:"auto_plan,omitempty"`
}

// Hit is one search result.
type Hit struct {
	ID      PointID        `json:"id"`
	Score   float32        `json:"score"`
	Payload map[string]any `json:"payload,omitempty"`
}

// StageTiming is the work of one stage of a search.
type StageTiming struct {
	Stage     string  `json:"stage"` // "scan", "rerank", "delta" (recent writes) or "filter_scan"
	Dim       int     `json:"dim,omitempty"`
	In        int     `json:"in"`
	Out       int     `json:"out"`
	ElapsedUS float64 `json:"elapsed_us"`
}

// Point is one stored vector: an external id (an integer or a UUID), D
// floats and an optional payload of scalar fields.
type Point struct {
	ID      PointID        `json:"id"`
	Vector  []float32      `json:"vector,omitempty"` // absent only in a scroll page with with_vector=false
	Payload map[string]any `json:"payload,omitempty"`
	// Text, in an upsert to a collection with a text model attached, is
	// embedded by that model instead of giving Vector. It is not stored
	// (put it in the payload to get it back).
	Text string `json:"text,omitempty"`
}

// UpsertResponse answers an upsert.
type UpsertResponse struct {
	Upserted int    `json:"upserted"`
	Seq      uint64 `json:"seq"`
}

// DeleteResponse answers a delete.
type DeleteResponse struct {
	Deleted int    `json:"deleted"`
	Seq     uint64 `json:"seq"`
}

// SearchResult is the answer to one query.
type SearchResult struct {
	Hits   []Hit         `json:"hits"`
	Stages []StageTiming `json:"stages"`
}

// SearchResponse answers a search: one result per query, the plan run
// ("" for the index's own search) and, for auto or target_recall, the
// tuner's recall on its calibration queries.
type SearchResponse struct {
	Results     []SearchResult `json:"results"`
	Plan        string         `json:"plan"`
	TunedRecall float64        `json:"tuned_recall,omitempty"`
	Dim         int            `json:"dim"`
	TookUS      float64        `json:"took_us"`
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	Describe  string `json:"describe"`
	InputDim  int    `json:"input_dim"`
	Embed     int    `json:"embed"`
	Nesting   []int  `json:"nesting"`
	Classes   int    `json:"classes"`
	NumParams int    `json:"num_params"`
	// Arch is "text" for a text model (embed takes texts, no classify),
	// else "mlp" or "cnn".
	Arch string `json:"arch"`
	// SHA256 is the hex SHA-256 of the checkpoint file, which pins the
	// model a collection is attached to.
	SHA256 string `json:"sha256"`
}

// EmbedResponse answers an embed request.
type EmbedResponse struct {
	Dim        int         `json:"dim"`
	Embeddings [][]float32 `json:"embeddings"`
}

// Classification is the cascade's answer for one input.
type Classification struct {
	Label      int     `json:"label"`
	Confidence float32 `json:"confidence"`
	Dim        int     `json:"dim"`
}

// ClassifyResponse answers a classify request, with the thresholds used.
type ClassifyResponse struct {
	Results    []Classification `json:"results"`
	Nesting    []int            `json:"nesting"`
	Thresholds []float64        `json:"thresholds"`
}

// CreateCollectionRequest is the body of POST /v1/collections.
type CreateCollectionRequest struct {
	Name    string    `json:"name"`
	Dim     int       `json:"dim"`
	Metric  string    `json:"metric,omitempty"`
	Nesting []int     `json:"nesting,omitempty"`
	Index   IndexSpec `json:"index,omitzero"`
	// Model attaches a loaded model by name: its embedding size must be
	// Dim, and a text model's nesting is the default nesting. Upserts and
	// searches may then give texts, which it embeds.
	Model string `json:"model,omitempty"`
	// Adapter attaches the Matryoshka adapter file at this path (relative
	// to the server's model root), pinned by its SHA-256: points and
	// queries are then given as vectors of the adapter's input dim (or as
	// texts, with Model, whose embedding size must be that input dim) and
	// mapped through it on the way in. Dim, if given, must be the
	// adapter's output dim; the adapter's nesting is the default nesting.
	Adapter string `json:"adapter,omitempty"`
}

// UpsertRequest is the body of POST /v1/collections/{name}/points.
type UpsertRequest struct {
	Points []Point `json:"points"`
}

// DeleteRequest is the body of POST /v1/collections/{name}/points/delete.
type DeleteRequest struct {
	IDs []PointID `json:"ids"`
}

// SearchRequest is the body of POST /v1/collections/{name}/search. Exactly
// one of Vector and Vectors is given. Plan is a funnel plan such as
// "16:200,64:50,512:10" whose last dim is the collection dim, or "auto"
// for the tuner's plan at the server's default recall target; TargetRecall
// asks the tuner for a plan meeting that recall instead. Without either the
// collection's index searches at Dim. Filter keeps the points whose payload
// equals every given field.
type SearchRequest struct {
	Vector       []float32      `json:"vector,omitempty"`
	Vectors      [][]float32    `json:"vectors,omitempty"`
	K            int            `json:"k,omitempty"`
	Dim          int            `json:"dim,omitempty"`
	Plan         string         `json:"plan,omitempty"`
	TargetRecall float64        `json:"target_recall,omitempty"`
	Filter       map[string]any `json:"filter,omitempty"`
	NoPayload    bool           `json:"no_payload,omitempty"`
	// Text and Texts replace Vector and Vectors in a collection with a
	// text model attached: the model embeds them into the queries.
	Text  string   `json:"text,omitempty"`
	Texts []string `json:"texts,omitempty"`
}

// LoadModelRequest is the body of POST /v1/models.
type LoadModelRequest struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// EmbedRequest is the body of POST /v1/models/{name}/embed: inputs of the
// model's input size (flattened images) for an image model, or texts for a
// text model; Dim truncates the embeddings to a prefix (0: the full
// embedding), and Normalize scales each (truncated) embedding to unit L2
// norm.
type EmbedRequest struct {
	Inputs    [][]float32 `json:"inputs,omitempty"`
	Dim       int         `json:"dim,omitempty"`
	Texts     []string    `json:"texts,omitempty"`
	Normalize bool        `json:"normalize,omitempty"`
}

// ClassifyRequest is the body of POST /v1/models/{name}/classify. The
// adaptive cascade answers with the smallest nesting dim whose maximum
// softmax probability reaches its threshold, else with the largest dim.
// Thresholds gives one per nesting dim; otherwise Confidence (default 0.9)
// is used for every dim.
type ClassifyRequest struct {
	Inputs     [][]float32 `json:"inputs"`
	Confidence *float64    `json:"confidence,omitempty"`
	Thresholds []float64   `json:"thresholds,omitempty"`
}

// TunedPlan is the tuner's answer for one recall target on one snapshot
// size: the plan, the recall it reached on the calibration queries, the
// rows it was tuned on and whether it met the target.
type TunedPlan struct {
	Plan   string  `json:"plan"`
	Target float64 `json:"target_recall"`
	Recall float64 `json:"recall"`
	Rows   int     `json:"rows"`
	Met    bool    `json:"met"`
}

// ScrollResponse is a page of GET /v1/collections/{name}/points: points in
// increasing id order (integers, then UUIDs: PointID.Compare) and, unless
// this was the last page, the cursor of the next one (the last id of this
// page; pass its text as ?after=).
type ScrollResponse struct {
	Points    []Point  `json:"points"`
	NextAfter *PointID `json:"next_after,omitempty"`
}
