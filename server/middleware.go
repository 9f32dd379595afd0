package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

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
