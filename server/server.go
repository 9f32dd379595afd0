// Package server is the HTTP API of mrl serve: collections of Matryoshka
// vectors searched by prefix dim, funnel plan (or a tuned "auto" plan) with
// payload filters, and trained models that embed inputs and classify them
// with the adaptive cascade, or text models that embed texts. A collection
// may have a model attached (its input transform, input.go): its upserts
// and searches then give texts, which the model embeds on the way in; and
// a Matryoshka adapter (package adapter), which maps the vectors its
// upserts and searches give (or its model embeds) into the collection's
// space on the way in.
// openapi.json documents every route; it is served at GET
// /v1/openapi.json.
//
// Conventions:
//
//   - Requests and responses are JSON; request bodies must be sent as
//     application/json. Unknown fields, field names in another case, keys
//     repeated in one object and trailing data are rejected; errors have the body {"error": {"code", "message"}} with
//     codes bad_request (400), unauthorized (401), forbidden (403: a
//     browser's cross-origin request), not_found (404),
//     method_not_allowed (405), conflict (409), payload_too_large (413),
//     unsupported_media_type (415: a body not sent as application/json),
//     internal (500), unavailable (503: a write failed, e.g. on a full
//     disk, and was undone) and timeout (503).
//   - Point ids are uint64 (string ids are not supported). A payload is an
//     object of scalar fields (string, number, boolean); a filter keeps the
//     points whose payload equals every field it gives.
//   - Writes are durable when acknowledged: each collection has a
//     write-ahead log fsynced before the response (concurrent writers share
//     fsyncs), compacted into snapshots in the index file format. A write
//     may be visible to concurrent searches just before it is acknowledged.
//   - Searches see each batch whole or not at all.
//
// The collections live in a Store: by default the embedded durable store
// of package collection, opened from Options.DataDir (its conventions
// are the write and search ones above); Options.Store plugs in another.
// The server keeps routing, decoding (decode.go), error mapping and
// middleware (middleware.go); the handlers are in collections.go and
// models.go.
//
// A Server is an http.Handler; Close flushes and closes the logs.
package server

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gomrl/mrl/adapter"
	"github.com/gomrl/mrl/collection"
)

//go:embed openapi.json

//go:embed openapi.json
var openAPI []byte

type Server struct {
	opt     Options
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	metrics *metrics
	ready   atomic.Bool
	cop     *http.CrossOriginProtection
	// modelRoot is Options.ModelRoot opened, or nil.
	modelRoot *os.Root

	store Store // the collections

	mu     sync.RWMutex // guards models and adapters
	models map[string]*loadedModel
	// adapters are the adapters of collections read so far, by the
	// SHA-256 of their file (input.go).
	adapters map[string]*adapter.Adapter
}

type route struct {
	method, pattern string
	h               func(w http.ResponseWriter, r *http.Request) error
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", s.health},
		{"GET", "/readyz", s.readyz},
		{"GET", "/metrics", s.metricsHandler},
		{"GET", "/v1/openapi.json", s.openapi},
		{"POST", "/v1/collections", s.createCollection},
		{"GET", "/v1/collections", s.listCollections},
		{"GET", "/v1/collections/{name}", s.collectionInfo},
		{"DELETE", "/v1/collections/{name}", s.deleteCollection},
		{"POST", "/v1/collections/{name}/snapshot", s.snapshot},
		{"POST", "/v1/collections/{name}/points", s.upsert},
		{"GET", "/v1/collections/{name}/points", s.scrollPoints},
		{"GET", "/v1/collections/{name}/points/{id}", s.getPoint},
		{"DELETE", "/v1/collections/{name}/points/{id}", s.deletePoint},
		{"POST", "/v1/collections/{name}/points/delete", s.deletePoints},
		{"POST", "/v1/collections/{name}/search", s.search},
		{"POST", "/v1/models", s.loadModel},
		{"GET", "/v1/models", s.listModels},
		{"GET", "/v1/models/{name}", s.modelInfo},
		{"POST", "/v1/models/{name}/embed", s.embed},
		{"POST", "/v1/models/{name}/classify", s.classify},
	}
}

// New opens (creating if needed) the data directory, recovers every
// collection from its snapshot and log (collection.Open), reloads the
// models and adapters attached to collections (loadInputs), and
// returns the server. It returns *Server rather than http.Handler so that
// callers can Close it.
func New(opt Options) (*Server, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt.defaults()
	s := &Server{opt: opt, log: opt.Logger, metrics: newMetrics(), models: map[string]*loadedModel{}, adapters: map[string]*adapter.Adapter{}}
	s.cop = http.NewCrossOriginProtection()
	for _, o := range opt.TrustedOrigins {
		s.cop.AddTrustedOrigin(o) // checked by Validate
	}
	if opt.ModelRoot != "" {
		r, err := os.OpenRoot(opt.ModelRoot)
		if err != nil {
			return nil, fmt.Errorf("server: model root: %w", err)
		}
		s.modelRoot = r
	}
	s.store = opt.Store
	if s.store == nil {
		st, err := collection.Open(opt.DataDir, opt.collectionOptions())
		if err != nil {
			s.closeAll()
			return nil, fmt.Errorf("server: %w", err)
		}
		s.store = embedded{st}
	}
	s.loadInputs(context.Background())

	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt.h))
	}
	s.mux.Handle("/", s.wrap(s.notFound))
	s.handler = s.observe(s.recoverer(s.crossOrigin(s.auth(s.readBody(s.timeout(s.mux))))))
	s.ready.Store(true)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close marks the server not ready and flushes and closes every
// collection's log. Requests after Close fail.
func (s *Server) Close() error {
	s.ready.Store(false)
	return s.closeAll()
}

func (s *Server) closeAll() error {
	if s.modelRoot != nil {
		s.modelRoot.Close() // later loads fail; closing twice is harmless
	}
	if s.store == nil {
		return nil
	}
	return s.store.Close()
}

// Snapshot persists every collection (used at shutdown so restarts replay
// little).
func (s *Server) Snapshot() error { return s.store.Snapshot() }
