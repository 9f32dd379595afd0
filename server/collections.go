package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/index"
	"github.com/gomrl/mrl/server/api"
)

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
	for _, c := range s.store.Collections() {
		if err := c.Err(); err != nil {
			return errf(503, "not_ready", "collection %q cannot write: %v", c.Meta().Name, err)
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
	cols := s.store.Collections()
	infos := make([]CollectionInfo, len(cols))
	for i, c := range cols {
		infos[i] = c.Info()
	}
	return infos
}

func (s *Server) collection(r *http.Request) (Collection, error) {
	name := r.PathValue("name")
	c, ok := s.store.Collection(name)
	if !ok {
		return nil, errf(404, "not_found", "collection %q not found", name)
	}
	return c, nil
}

func (s *Server) createCollection(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeCreateRequest(requestBody(r), func(req *CreateCollectionRequest, m *Meta) error {
		return s.attachInput(r.Context(), req, m)
	})
	if err != nil {
		return err
	}
	c, err := s.store.Create(m)
	if err != nil {
		return storeErr(m.Name, err)
	}
	return writeJSON(w, 201, c.Info())
}

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, 200, map[string]any{"collections": s.infos()})
}

func (s *Server) collectionInfo(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, c.Info())
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	name := c.Meta().Name
	if err := s.store.Drop(name); err != nil {
		return storeErr(name, err)
	}
	return writeJSON(w, 200, map[string]any{"deleted": name})
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	if err := c.Snapshot(); err != nil {
		return fmt.Errorf("snapshot %s: %w", c.Meta().Name, err)
	}
	return writeJSON(w, 200, c.Info())
}

func (s *Server) upsert(w http.ResponseWriter, r *http.Request) error {
	c, err := s.collection(r)
	if err != nil {
		return err
	}
	in := s.inputOf(r.Context(), c)
	req, err := decodeUpsertRequest(requestBody(r), in.inputDim(), in.dimNote(), s.opt.MaxPoints)
	if err != nil {
		return err
	}
	if err := s.embedPoints(in, req.Points); err != nil {
		return err
	}
	if err := adaptPoints(in, req.Points); err != nil {
		return err
	}
	for i, p := range req.Points {
		if err := checkNorm(fmt.Sprintf("points[%d].vector", i), p.Vector, c.Metric()); err != nil {
			return err
		}
		if len(p.Payload) > 0 {
			if n := payloadBytes(p.Payload); n > s.opt.MaxPayloadBytes {
				return errf(413, "payload_too_large", "points[%d].payload: %d bytes of JSON, the limit is %d per point (--max-payload-bytes)", i, n, s.opt.MaxPayloadBytes)
			}
		}
	}
	seq, err := c.Upsert(req.Points)
	if err != nil {
		return storeErr(c.Meta().Name, err)
	}
	return writeJSON(w, 200, UpsertResponse{Upserted: len(req.Points), Seq: seq})
}

// embedPoints replaces the texts of points given as text by their vectors,
// through the collection's input transform.
func (s *Server) embedPoints(in inputTransform, pts []Point) error {
	var texts, whats []string
	var at []int
	for i, p := range pts {
		if p.Text != "" {
			texts = append(texts, p.Text)
			whats = append(whats, fmt.Sprintf("points[%d].text", i))
			at = append(at, i)
		}
	}
	if texts == nil {
		return nil
	}
	vecs, err := in.vectors(s, "points.text", texts, whats)
	if err != nil {
		return err
	}
	for j, i := range at {
		pts[i].Vector, pts[i].Text = vecs[j], ""
	}
	return nil
}

// adaptPoints maps the points' vectors (given, or embedded by
// embedPoints) through the collection's adapter, if it has one.
func adaptPoints(in inputTransform, pts []Point) error {
	if in.aref == nil {
		return nil
	}
	vecs := make([][]float32, len(pts))
	for i, p := range pts {
		vecs[i] = p.Vector
	}
	out, err := in.adapt(vecs, func(i int) string { return fmt.Sprintf("points[%d]", i) })
	if err != nil {
		return err
	}
	for i := range pts {
		pts[i].Vector = out[i]
	}
	return nil
}

// storeErr maps an error of the store (see Store) about collection name to
// the API's: a status and a code. Errors it does not know are 500s.
func storeErr(name string, err error) error {
	var ew *collection.WriteError
	switch {
	case errors.Is(err, collection.ErrClosed):
		return errf(404, "not_found", "collection %q was deleted or the server is closing", name)
	case errors.Is(err, collection.ErrNotFound):
		return errf(404, "not_found", "collection %q not found", name)
	case errors.Is(err, collection.ErrExists):
		return errf(409, "conflict", "%v", err)
	case errors.As(err, &ew):
		return errf(503, "unavailable", "collection %q: %v", name, err)
	case errors.Is(err, collection.ErrUnavailable):
		return errf(503, "unavailable", "collection %q: %v", name, err)
	case errors.Is(err, collection.ErrInvalid):
		return badRequest("%v", err)
	}
	return err
}

// pathID reads the {id} of a point's path: decimal digits (an integer id)
// or a UUID (api.ParseID).
func pathID(r *http.Request) (api.PointID, error) {
	s := r.PathValue("id")
	id, err := api.ParseID(s)
	if err != nil {
		return api.PointID{}, badRequest("point id %q: want an unsigned integer (0..18446744073709551615) or a UUID", s)
	}
	return id, nil
}

// maxScrollLimit bounds a scroll page.
const maxScrollLimit = 10000

// scrollPoints pages through a collection in increasing id order (every
// integer id, then every UUID): ?limit= (1..10000, default 100), ?after=
// (the last id of the previous page, an integer or a UUID; omit for the
// first), ?with_vector= (default true). The answer's next_after is the
// cursor of the next page, absent after the last.
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
	var after api.PointID
	first := true
	if v := q.Get("after"); v != "" {
		if after, err = api.ParseID(v); err != nil {
			return badRequest("after %q: want a point id (an unsigned integer or a UUID)", v)
		}
		first = false
	}
	withVector := true
	if v := q.Get("with_vector"); v != "" {
		if withVector, err = strconv.ParseBool(v); err != nil {
			return badRequest("with_vector %q: want true or false", v)
		}
	}
	pts, more, err := scroll(c, collection.ScrollOptions{After: after, First: first, Limit: limit, WithVector: withVector, MaxBytes: s.opt.MaxResponseBytes})
	if err != nil {
		return storeErr(c.Meta().Name, err)
	}
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
	p, ok, err := getPoint(c, id)
	if err != nil {
		return storeErr(c.Meta().Name, err)
	}
	if !ok {
		return errf(404, "not_found", "point %v not found in collection %q", id, c.Meta().Name)
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
	if _, ok, err := getPoint(c, id); err != nil {
		return storeErr(c.Meta().Name, err)
	} else if !ok {
		return errf(404, "not_found", "point %v not found in collection %q", id, c.Meta().Name)
	}
	n, seq, err := c.Delete([]api.PointID{id})
	if err != nil {
		return storeErr(c.Meta().Name, err)
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
	n, seq, err := c.Delete(req.IDs)
	if err != nil {
		return storeErr(c.Meta().Name, err)
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
func payloadBytes(p map[string]any) int { return collection.PayloadBytes(p) }

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
	meta := c.Meta()
	d := meta.Dim
	dim := req.Dim
	if dim == 0 {
		dim = d
	}
	if dim > d {
		return badRequest("dim: %d, want 1..%d (the collection dim)", dim, d)
	}
	// qs[i] is named what(i) in errors: vector, vectors[i], text, texts[i].
	in := s.inputOf(r.Context(), c)
	qs, field, one := req.Vectors, "vectors", ""
	switch {
	case req.Vector != nil:
		qs, one = [][]float32{req.Vector}, "vector"
	case req.Text != "":
		one = "text"
		if qs, err = in.vectors(s, "text", []string{req.Text}, []string{"text"}); err != nil {
			return err
		}
	case req.Texts != nil:
		field = "texts"
		if qs, err = in.vectors(s, "texts", req.Texts, nil); err != nil {
			return err
		}
	}
	what := func(i int) string {
		if one != "" {
			return one
		}
		return fmt.Sprintf("%s[%d]", field, i)
	}
	for i, q := range qs {
		if err := checkVectorOf(what(i), q, in.inputDim(), in.dimNote()); err != nil {
			return err
		}
	}
	if qs, err = in.adapt(qs, what); err != nil {
		return err
	}
	for i, q := range qs {
		if err := checkNorm(what(i), q, c.Metric()); err != nil {
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
	size, sizes := 0, map[api.PointID]int{}
	var plan index.Plan
	switch {
	case req.Plan == "auto" || req.TargetRecall > 0:
		target := s.opt.AutoRecall
		if req.TargetRecall > 0 {
			target = req.TargetRecall
		}
		t, err := c.AutoPlan(target)
		if err != nil {
			if errors.Is(err, collection.ErrInvalid) || errors.Is(err, collection.ErrUnavailable) || errors.Is(err, collection.ErrNotFound) || errors.Is(err, collection.ErrClosed) {
				return storeErr(meta.Name, err)
			}
			return fmt.Errorf("tune plan for %s: %w", meta.Name, err)
		}
		if t != nil {
			plan, resp.Plan, resp.TunedRecall = t.Stages, t.Plan, t.Recall
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
	sq := collection.Query{Dim: dim, K: req.K, Plan: plan, Filter: req.Filter, WithPayload: !req.NoPayload}
	for i, q := range qs {
		if err := r.Context().Err(); err != nil {
			return errf(503, "timeout", "search cancelled after %d of %d queries: %v", i, len(qs), err)
		}
		sq.Vector = q
		res, err := c.Search(r.Context(), sq)
		hits, stages := res.Hits, res.Stages
		if err != nil {
			if errors.Is(err, collection.ErrClosed) || errors.Is(err, collection.ErrNotFound) || errors.Is(err, collection.ErrUnavailable) {
				return storeErr(meta.Name, err)
			}
			if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
				return errf(503, "timeout", "search cancelled after %d of %d queries: %v", i, len(qs), err)
			}
			if errors.Is(err, collection.ErrInvalid) || errors.Is(err, index.ErrDim) || errors.Is(err, index.ErrDimMismatch) || errors.Is(err, index.ErrPlan) {
				return badRequest("search %s: %v", meta.Name, err)
			}
			return fmt.Errorf("search %s: %w", meta.Name, err)
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

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
