// Package server is the HTTP API of mrl serve: collections of Matryoshka
// vectors searched by prefix dim, funnel plan (or a tuned "auto" plan) with
// payload filters, and trained models that embed inputs and classify them
// with the adaptive cascade. openapi.json documents every route; it is
// served at GET /v1/openapi.json.
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
// A Server is an http.Handler; Close flushes and closes the logs.
package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/internal/atomicfile"
)

//go:embed openapi.json
var openAPI []byte

// Options configures New. Zero fields take the defaults given.
type Options struct {
	// DataDir holds the collections (DataDir/collections/NAME). Required.
	DataDir string
	// Token, when set, is required as "Authorization: Bearer TOKEN" on every
	// route but /healthz and /readyz.
	Token string
	// MaxBodyBytes limits a request body. Default 64 MiB.
	MaxBodyBytes int64
	// Timeout bounds a request's handling; past it the client gets 503
	// timeout. Default 30 s.
	Timeout time.Duration
	// MaxPoints is the most points (or ids) in one upsert (delete).
	// Default 10000.
	MaxPoints int
	// MaxPayloadBytes is the largest payload of one point, as JSON (413
	// above it). The payloads of one request are bounded by MaxBodyBytes.
	// Default 64 KiB.
	MaxPayloadBytes int
	// MaxResults bounds the hits one search may ask for: queries × k
	// (400 above it). Default 100000.
	MaxResults int
	// MaxResponseBytes bounds the size of a search or embed response, hits
	// and payloads included; past it the request is refused with 413
	// instead of building the response in memory. Default 64 MiB.
	MaxResponseBytes int
	// SnapshotEvery writes a snapshot and starts a new log after this many
	// points written to a collection. Default 50000; negative: only on
	// request (POST .../snapshot) and at Close.
	SnapshotEvery int
	// RebuildMin is the fewest changes since the snapshot that trigger a
	// background rebuild of a collection's index (also at least an eighth
	// of its rows). Default 1024.
	RebuildMin int
	// TuneMinRows is the fewest rows for which "auto" tunes a plan; smaller
	// collections are searched exactly. Default 1000.
	TuneMinRows int
	// AutoRecall is the recall@10 target of plan "auto". Default 0.95.
	AutoRecall float64
	// ModelRoot is the directory POST /v1/models loads checkpoints from:
	// paths are relative to it, and neither ".." nor a symlink can leave it
	// (os.Root). Without it, loading models over HTTP is off (403).
	ModelRoot string
	// MaxModelBytes bounds the size of a checkpoint loaded over HTTP.
	// Default 1 GiB.
	MaxModelBytes int64
	// TrustedOrigins are browser origins ("https://app.example.com") whose
	// cross-origin requests are allowed. Requests that a browser marks as
	// cross-origin (Sec-Fetch-Site, or an Origin other than the Host) are
	// otherwise refused with 403 on every method but GET, HEAD and OPTIONS,
	// so that a web page cannot write to a server on the same machine.
	// Default none.
	TrustedOrigins []string
	// Recover makes New repair damage that it otherwise refuses to start
	// with (ErrCorrupt): the damaged files, and the log files after them,
	// are moved (never deleted) into DataDir/quarantine/<time>-<collection>/
	// and the collection serves what precedes the damage. A torn final log
	// record is cut with or without it. Default false.
	Recover bool
	// AccessLog logs one line per request at level Info: method, path,
	// route, status, response bytes, latency, the request id and the
	// client's address. Default false (mrl serve turns it on).
	AccessLog bool
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("server: invalid options")

// Validate reports every problem of o at once, wrapping ErrOptions. Zero
// (and negative) limits are not problems: they take their defaults.
func (o Options) Validate() error {
	var p []string
	if o.DataDir == "" {
		p = append(p, "DataDir is required")
	}
	if o.AutoRecall < 0 || o.AutoRecall > 1 || math.IsNaN(o.AutoRecall) {
		p = append(p, fmt.Sprintf("AutoRecall %v: want 0 (the default) or a recall in (0, 1]", o.AutoRecall))
	}
	cop := http.NewCrossOriginProtection()
	for _, origin := range o.TrustedOrigins {
		if err := cop.AddTrustedOrigin(origin); err != nil {
			p = append(p, fmt.Sprintf("TrustedOrigins %q: %v", origin, err))
		}
	}
	if o.ModelRoot != "" {
		if st, err := os.Stat(o.ModelRoot); err != nil {
			p = append(p, fmt.Sprintf("ModelRoot: %v", err))
		} else if !st.IsDir() {
			p = append(p, fmt.Sprintf("ModelRoot %s: not a directory", o.ModelRoot))
		}
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrOptions, strings.Join(p, "; "))
	}
	return nil
}

func (o *Options) defaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxPayloadBytes <= 0 {
		o.MaxPayloadBytes = 64 << 10
	}
	if o.MaxResults <= 0 {
		o.MaxResults = 100000
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.MaxModelBytes <= 0 {
		o.MaxModelBytes = 1 << 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 10000
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 50000
	}
	if o.RebuildMin <= 0 {
		o.RebuildMin = 1024
	}
	if o.TuneMinRows <= 0 {
		o.TuneMinRows = 1000
	}
	if o.AutoRecall <= 0 || o.AutoRecall > 1 {
		o.AutoRecall = 0.95
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server serves the API; see the package doc.
type Server struct {
	opt     Options
	log     *slog.Logger
	root    string // DataDir/collections
	mux     *http.ServeMux
	handler http.Handler
	metrics *metrics
	ready   atomic.Bool
	cop     *http.CrossOriginProtection
	// modelRoot is Options.ModelRoot opened, or nil.
	modelRoot *os.Root

	mu     sync.RWMutex // guards cols, models
	cols   map[string]*collection
	models map[string]*loadedModel
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
// collection from its snapshot and log, and returns the server. It returns
// *Server rather than http.Handler so that callers can Close it.
func New(opt Options) (*Server, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt.defaults()
	s := &Server{opt: opt, log: opt.Logger, root: filepath.Join(opt.DataDir, "collections"), metrics: newMetrics(),
		cols: map[string]*collection{}, models: map[string]*loadedModel{}}
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
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("server: %w", err)
	}
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		dir := filepath.Join(s.root, name)
		if !e.IsDir() {
			continue
		}
		if strings.HasPrefix(name, ".deleted-") {
			s.log.Info("finishing the removal of a deleted collection", "dir", name)
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("server: %w", err)
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "meta.json")); errors.Is(err, os.ErrNotExist) {
			data, err := holdsData(dir)
			if err != nil {
				s.closeAll()
				return nil, fmt.Errorf("server: %w", err)
			}
			if !data {
				// createCollection writes meta.json before any log:
				// a directory without either is a creation that did
				// not finish, and holds nothing.
				s.log.Warn("removing a collection whose creation did not finish", "dir", name)
				if err := os.RemoveAll(dir); err != nil {
					return nil, fmt.Errorf("server: %w", err)
				}
				continue
			}
		}
		c, err := openCollection(dir, &s.opt, s.log)
		if err != nil && s.opt.Recover && errors.Is(err, errMeta) {
			// Without its meta the collection cannot be opened: move it
			// whole to the quarantine.
			q := newQuarantine(opt.DataDir, name, s.log)
			qerr := os.MkdirAll(filepath.Dir(q.dir), 0o755)
			if qerr == nil {
				qerr = os.Rename(dir, q.dir)
			}
			if qerr == nil {
				qerr = atomicfile.SyncDir(s.root)
			}
			if qerr != nil {
				s.closeAll()
				return nil, fmt.Errorf("server: collection %s: quarantine: %w", name, qerr)
			}
			s.log.Error("moved a collection without a readable meta.json to the quarantine folder", "dir", dir, "to", q.dir)
			continue
		}
		if errors.Is(err, errMeta) && errors.Is(err, os.ErrNotExist) {
			err = corruptf("%s is missing but the directory holds logs or snapshots", filepath.Join(dir, "meta.json"))
		}
		if err != nil {
			s.closeAll()
			return nil, fmt.Errorf("server: collection %s: %w", name, err)
		}
		s.cols[c.meta.Name] = c
		s.log.Info("opened collection", "name", c.meta.Name, "points", c.count, "seq", c.seq)
	}

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
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.modelRoot != nil {
		s.modelRoot.Close() // later loads fail; closing twice is harmless
	}
	for _, c := range s.cols {
		if err := c.close(); err != nil {
			errs = append(errs, fmt.Errorf("collection %s: %w", c.meta.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Snapshot persists every collection (used at shutdown so restarts replay
// little).
func (s *Server) Snapshot() error {
	s.mu.RLock()
	cols := make([]*collection, 0, len(s.cols))
	for _, c := range s.cols {
		cols = append(cols, c)
	}
	s.mu.RUnlock()
	var errs []error
	for _, c := range cols {
		if err := c.rebuild(true); err != nil && !errors.Is(err, errClosed) {
			errs = append(errs, fmt.Errorf("collection %s: %w", c.meta.Name, err))
		}
	}
	return errors.Join(errs...)
}

// --- middleware ---

// statusWriter records the status code and the bytes written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// requestIDHeader carries a request's id: the client's, if it sent a
// usable one, else one the server makes; it is echoed in the answer and
// logged.
const requestIDHeader = "X-Request-Id"

// requestID returns the client's X-Request-Id if it is 1 to 64 printable
// ASCII characters without spaces, else 16 random hex digits.
func requestID(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); id != "" && len(id) <= 64 &&
		!strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c > '~' }) {
		return id
	}
	return fmt.Sprintf("%016x", rand.Uint64())
}

// observe records each request's route, status and latency, gives it a
// request id and, with Options.AccessLog, logs it.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set(requestIDHeader, id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		_, pattern := s.mux.Handler(r)
		if pattern == "/" || pattern == "" {
			pattern = "unmatched"
		}
		if sw.code == 0 {
			sw.code = 200
		}
		took := time.Since(start)
		s.metrics.observe(pattern, sw.code, took)
		if s.opt.AccessLog {
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "route", pattern, "status", sw.code,
				"bytes", sw.bytes, "ms", float64(took.Microseconds())/1000, "request_id", id, "remote", r.RemoteAddr)
		}
	})
}

// recoverer turns a panic into a logged 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				writeError(w, errf(500, "internal", "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// auth checks the bearer token, except on the health routes.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.opt.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.opt.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		got := r.Header.Get("Authorization")
		if got == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mrl"`)
			writeError(w, errf(401, "unauthorized", "missing Authorization header: want \"Bearer TOKEN\""))
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mrl"`)
			writeError(w, errf(401, "unauthorized", "invalid bearer token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses the cross-origin requests of browsers on every method
// but GET, HEAD and OPTIONS (http.CrossOriginProtection): with no token, a
// web page open on the same machine could otherwise post deletes.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cop.Check(r); err != nil {
			writeError(w, errf(403, "forbidden", "cross-origin request refused (Origin %q, Sec-Fetch-Site %q): %v; a browser page may write only from an origin the server trusts (--trusted-origins)",
				r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"), err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type bodyKey struct{}

// readBody reads the whole body up to MaxBodyBytes before the handler runs
// (so a timed-out handler never reads a finished request's body).
func (s *Server) readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opt.MaxBodyBytes {
			writeError(w, errf(413, "payload_too_large", "request body of %d bytes exceeds the limit of %d", r.ContentLength, s.opt.MaxBodyBytes))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				writeError(w, errf(413, "payload_too_large", "request body exceeds the limit of %d bytes", s.opt.MaxBodyBytes))
				return
			}
			writeError(w, badRequest("read request body: %v", err))
			return
		}
		if len(body) > 0 {
			// A browser sends text/plain, form and multipart bodies
			// cross-site without asking; application/json it does not.
			ct := r.Header.Get("Content-Type")
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				writeError(w, errf(415, "unsupported_media_type", "Content-Type %q: request bodies must be sent as application/json", ct))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)))
	})
}

func requestBody(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

// bufferedWriter holds a handler's response until it finishes in time.
type bufferedWriter struct {
	mu       sync.Mutex
	h        http.Header
	code     int
	buf      bytes.Buffer
	timedOut bool
}

func (b *bufferedWriter) Header() http.Header { return b.h }

func (b *bufferedWriter) WriteHeader(code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	if b.code == 0 {
		b.code = 200
	}
	return b.buf.Write(p)
}

// timeout runs the handler with a deadline; a handler still running at the
// deadline is answered 503 timeout (its context is cancelled; its output
// is discarded). Panics in the handler are logged and answered 500.
func (s *Server) timeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		bw := &bufferedWriter{h: make(http.Header)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.recoverer(next).ServeHTTP(bw, r)
		}()
		select {
		case <-done:
			maps := w.Header()
			for k, v := range bw.h {
				maps[k] = v
			}
			if bw.code == 0 {
				bw.code = 200
			}
			w.WriteHeader(bw.code)
			w.Write(bw.buf.Bytes())
		case <-ctx.Done():
			bw.mu.Lock()
			bw.timedOut = true
			bw.mu.Unlock()
			writeError(w, errf(503, "timeout", "request took longer than the %v limit", s.opt.Timeout))
		}
	})
}

// wrap adapts a handler that returns an error.
func (s *Server) wrap(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
				ae = errf(500, "internal", "internal error: %v", err)
			}
			writeError(w, ae)
		}
	})
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.message
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// --- handlers ---

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "POST", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errf(405, "method_not_allowed", "method %s not allowed on %s: want %s", r.Method, r.URL.Path, strings.Join(allow, " or "))
	}
	return errf(404, "not_found", "no route %s %s (see /v1/openapi.json)", r.Method, r.URL.Path)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, 200, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		return errf(503, "not_ready", "server is shutting down")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name, c := range s.cols {
		if err := c.wal.writeErr(); err != nil {
			return errf(503, "not_ready", "collection %q cannot write: %v", name, err)
		}
	}
	return writeJSON(w, 200, map[string]string{"status": "ready"})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
	return nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	infos := s.infos()
	s.mu.RLock()
	nm := len(s.models)
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.metrics.write(w, infos, nm)
	writeRuntime(w)
	return nil
}

func (s *Server) infos() []CollectionInfo {
	s.mu.RLock()
	cols := make([]*collection, 0, len(s.cols))
	for _, c := range s.cols {
		cols = append(cols, c)
	}
	s.mu.RUnlock()
	infos := make([]CollectionInfo, len(cols))
	for i, c := range cols {
		infos[i] = c.info()
	}
	slices.SortFunc(infos, func(a, b CollectionInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos
}

func (s *Server) collection(r *http.Request) (*collection, error) {
	name := r.PathValue("name")
	s.mu.RLock()
	c := s.cols[name]
	s.mu.RUnlock()
	if c == nil {
		return nil, errf(404, "not_found", "collection %q not found", name)
	}
	return c, nil
}

func (s *Server) createCollection(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeCreateRequest(requestBody(r))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cols[m.Name]; ok {
		return errf(409, "conflict", "collection %q already exists", m.Name)
	}
	for name := range s.cols {
		// Each collection is a directory: on a case-insensitive file
		// system (macOS, Windows) "Docs" would open "docs".
		if strings.EqualFold(name, m.Name) {
			return errf(409, "conflict", "collection %q differs from the existing %q only in case: names must differ in more than case", m.Name, name)
		}
	}
	c, err := createCollection(s.root, m, &s.opt, s.log)
	if err != nil {
		return fmt.Errorf("create collection %s: %w", m.Name, err)
	}
	s.cols[m.Name] = c
	return writeJSON(w, 201, c.info())
}

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, 200, map[string]any{"collections": s.infos()})
}

func (s *Server) collectionInfo(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, c.info())
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	// Close first (waiting for a running rebuild) without holding the
	// server's lock, which every request takes.
	if err := c.close(); err != nil {
		s.log.Warn("closing a deleted collection", "name", c.meta.Name, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cols[c.meta.Name] != c {
		return errf(404, "not_found", "collection %q not found", c.meta.Name)
	}
	// Rename first (durable), then remove: a crash in between finishes
	// the removal at the next start.
	tomb := filepath.Join(s.root, fmt.Sprintf(".deleted-%s-%d", c.meta.Name, time.Now().UnixNano()))
	if err := os.Rename(c.dir, tomb); err != nil {
		return fmt.Errorf("delete collection %s: %w", c.meta.Name, err)
	}
	if err := atomicfile.SyncDir(s.root); err != nil {
		return fmt.Errorf("delete collection %s: %w", c.meta.Name, err)
	}
	delete(s.cols, c.meta.Name)
	if err := os.RemoveAll(tomb); err != nil {
		s.log.Warn("removing a deleted collection's files", "dir", tomb, "err", err)
	}
	return writeJSON(w, 200, map[string]any{"deleted": c.meta.Name})
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	if err := c.rebuild(true); err != nil {
		return fmt.Errorf("snapshot %s: %w", c.meta.Name, err)
	}
	return writeJSON(w, 200, c.info())
}

func (s *Server) upsert(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	req, err := decodeUpsertRequest(requestBody(r), c.meta.Dim, s.opt.MaxPoints)
	if err != nil {
		return err
	}
	for i, p := range req.Points {
		if err := checkNorm(fmt.Sprintf("points[%d].vector", i), p.Vector, c.metric); err != nil {
			return err
		}
		if len(p.Payload) > 0 {
			if n := payloadBytes(p.Payload); n > s.opt.MaxPayloadBytes {
				return errf(413, "payload_too_large", "points[%d].payload: %d bytes of JSON, the limit is %d per point (--max-payload-bytes)", i, n, s.opt.MaxPayloadBytes)
			}
		}
	}
	seq, err := c.upsert(req.Points)
	if err != nil {
		return writeErr(c, err)
	}
	return writeJSON(w, 200, UpsertResponse{Upserted: len(req.Points), Seq: seq})
}

func writeErr(c *collection, err error) error {
	if errors.Is(err, errClosed) {
		return errf(404, "not_found", "collection %q was deleted or the server is closing", c.meta.Name)
	}
	var ew *errWrite
	if errors.As(err, &ew) {
		return errf(503, "unavailable", "collection %q: %v", c.meta.Name, err)
	}
	return err
}

func pathID(r *http.Request) (uint64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, badRequest("point id %q: want an unsigned integer (0..18446744073709551615)", s)
	}
	return id, nil
}

// maxScrollLimit bounds a scroll page.
const maxScrollLimit = 10000

// scrollPoints pages through a collection in increasing id order:
// ?limit= (1..10000, default 100), ?after= (the last id of the previous
// page; omit for the first), ?with_vector= (default true). The answer's
// next_after is the cursor of the next page, absent after the last.
func (s *Server) scrollPoints(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for k := range q {
		if k != "limit" && k != "after" && k != "with_vector" {
			return badRequest("query parameter %q: want limit, after or with_vector", k)
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxScrollLimit {
			return badRequest("limit %q: want an integer from 1 to %d", v, maxScrollLimit)
		}
		limit = n
	}
	var after uint64
	first := true
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return badRequest("after %q: want a point id (an unsigned integer)", v)
		}
		first = false
	}
	withVector := true
	if v := q.Get("with_vector"); v != "" {
		if withVector, err = strconv.ParseBool(v); err != nil {
			return badRequest("with_vector %q: want true or false", v)
		}
	}
	pts, more := c.scroll(after, first, limit, withVector, s.opt.MaxResponseBytes)
	resp := ScrollResponse{Points: pts}
	if pts == nil {
		resp.Points = []Point{}
	}
	if more && len(pts) > 0 {
		last := pts[len(pts)-1].ID
		resp.NextAfter = &last
	}
	return writeJSON(w, 200, resp)
}

func (s *Server) getPoint(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ok := c.get(id)
	if !ok {
		return errf(404, "not_found", "point %d not found in collection %q", id, c.meta.Name)
	}
	return writeJSON(w, 200, p)
}

func (s *Server) deletePoint(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, ok := c.get(id); !ok {
		return errf(404, "not_found", "point %d not found in collection %q", id, c.meta.Name)
	}
	n, seq, err := c.remove([]uint64{id})
	if err != nil {
		return writeErr(c, err)
	}
	return writeJSON(w, 200, DeleteResponse{Deleted: n, Seq: seq})
}

func (s *Server) deletePoints(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	req, err := decodeDeleteRequest(requestBody(r), s.opt.MaxPoints)
	if err != nil {
		return err
	}
	n, seq, err := c.remove(req.IDs)
	if err != nil {
		return writeErr(c, err)
	}
	return writeJSON(w, 200, DeleteResponse{Deleted: n, Seq: seq})
}

// Upper bounds of the JSON of a hit without its payload and of a stage,
// for counting a response's size before it is encoded.
const (
	hitBytes   = 80
	stageBytes = 100
)

// payloadBytes is the size of a payload's JSON.
func payloadBytes(p map[string]any) int {
	b, err := json.Marshal(p)
	if err != nil {
		return 0 // payloads are validated scalars
	}
	return len(b)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	req, err := decodeSearchRequest(requestBody(r))
	if err != nil {
		return err
	}
	d := c.meta.Dim
	dim := req.Dim
	if dim == 0 {
		dim = d
	}
	if dim > d {
		return badRequest("dim: %d, want 1..%d (the collection dim)", dim, d)
	}
	qs := req.Vectors
	if req.Vector != nil {
		qs = [][]float32{req.Vector}
	}
	for i, q := range qs {
		what := "vector"
		if req.Vectors != nil {
			what = fmt.Sprintf("vectors[%d]", i)
		}
		if err := checkVector(what, q, d); err != nil {
			return err
		}
		if err := checkNorm(what, q, c.metric); err != nil {
			return err
		}
	}
	if len(qs)*req.K > s.opt.MaxResults {
		return badRequest("%d queries × k %d = %d hits, at most %d per request (--max-results): send fewer queries or a smaller k", len(qs), req.K, len(qs)*req.K, s.opt.MaxResults)
	}
	resp := SearchResponse{Dim: dim, Results: make([]SearchResult, len(qs))}
	// The response's size is counted as it is built (a hit's fields, its
	// payload's JSON) so that a few small queries over large payloads
	// are refused rather than built in memory.
	size, sizes := 0, map[uint64]int{}
	var plan index.Plan
	switch {
	case req.Plan == "auto" || req.TargetRecall > 0:
		target := s.opt.AutoRecall
		if req.TargetRecall > 0 {
			target = req.TargetRecall
		}
		t, err := c.autoPlan(target)
		if err != nil {
			return fmt.Errorf("tune plan for %s: %w", c.meta.Name, err)
		}
		if t != nil {
			plan, resp.Plan, resp.TunedRecall = t.plan, t.Plan, t.Recall
		} else {
			resp.Plan = "exact"
		}
	case req.Plan != "":
		plan, err = index.ParsePlan(req.Plan)
		if err == nil {
			err = plan.Validate(d, 0)
		}
		if err != nil {
			return badRequest("plan %q: %v (want dim:keep stages with increasing dims ending at the collection dim %d, or \"auto\")", req.Plan, err, d)
		}
		resp.Plan = plan.String()
	}
	sr := searchReq{dim: dim, k: req.K, plan: plan, filter: req.Filter}
	for i, q := range qs {
		if err := r.Context().Err(); err != nil {
			return errf(503, "timeout", "search cancelled after %d of %d queries: %v", i, len(qs), err)
		}
		sr.q = q
		hits, stages, err := c.search(sr, !req.NoPayload)
		if err != nil {
			if errors.Is(err, errClosed) {
				return writeErr(c, err)
			}
			if errors.Is(err, index.ErrDim) || errors.Is(err, index.ErrDimMismatch) || errors.Is(err, index.ErrPlan) {
				return badRequest("search %s: %v", c.meta.Name, err)
			}
			return fmt.Errorf("search %s: %w", c.meta.Name, err)
		}
		if hits == nil {
			hits = []Hit{}
		}
		size += hitBytes*len(hits) + stageBytes*len(stages)
		for _, h := range hits {
			if h.Payload == nil {
				continue
			}
			n, ok := sizes[h.ID]
			if !ok {
				n = payloadBytes(h.Payload)
				sizes[h.ID] = n
			}
			size += n
		}
		if size > s.opt.MaxResponseBytes {
			return errf(413, "payload_too_large", "the response would exceed %d bytes (--max-response-bytes) at query %d of %d: ask for fewer queries, a smaller k or no_payload", s.opt.MaxResponseBytes, i+1, len(qs))
		}
		resp.Results[i] = SearchResult{Hits: hits, Stages: stages}
	}
	resp.TookUS = us(time.Since(start))
	return writeJSON(w, 200, resp)
}
