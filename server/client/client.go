// Package client is a typed Go client of the mrl serve HTTP API (package
// server). It uses the wire types of package server/api, which the server
// decodes and encodes too, so a request that compiles is shaped as the
// server decodes it; it does not link the engine.
//
// Errors the server answers with are *Error, carrying the HTTP status and the
// API's code and message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gomrl/mrl/server/api"
)

// Client calls one server. Its fields may be set before first use; it is
// safe for concurrent use afterwards.
type Client struct {
	// BaseURL is the server's address, e.g. "http://127.0.0.1:7700".
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// HTTP sends the requests. Default http.DefaultClient.
	HTTP *http.Client
}

// New returns a client of the server at baseURL with an optional token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token}
}

// Error is an error answer of the server.
type Error struct {
	Status  int    // HTTP status
	Code    string // API code: bad_request, not_found, conflict, ...
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("mrl server: %d %s: %s", e.Status, e.Code, e.Message)
}

// do sends a JSON request (in may be nil) and decodes a JSON answer into
// out (may be nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("mrl client: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("mrl client: read %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return &Error{Status: resp.StatusCode, Code: "http", Message: string(bytes.TrimSpace(b))}
		}
		return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("mrl client: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

func coll(name string, rest ...string) string {
	p := "/v1/collections/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Health returns nil when the server answers /healthz.
func (c *Client) Health(ctx context.Context) error { return c.do(ctx, "GET", "/healthz", nil, nil) }

// Ready returns nil when the server is ready (/readyz).
func (c *Client) Ready(ctx context.Context) error { return c.do(ctx, "GET", "/readyz", nil, nil) }

// CreateCollection creates a collection.
func (c *Client) CreateCollection(ctx context.Context, req api.CreateCollectionRequest) (api.CollectionInfo, error) {
	var out api.CollectionInfo
	return out, c.do(ctx, "POST", "/v1/collections", req, &out)
}

// Collections lists the collections.
func (c *Client) Collections(ctx context.Context) ([]api.CollectionInfo, error) {
	var out struct {
		Collections []api.CollectionInfo `json:"collections"`
	}
	return out.Collections, c.do(ctx, "GET", "/v1/collections", nil, &out)
}

// Collection returns a collection's info.
func (c *Client) Collection(ctx context.Context, name string) (api.CollectionInfo, error) {
	var out api.CollectionInfo
	return out, c.do(ctx, "GET", coll(name), nil, &out)
}

// DeleteCollection deletes a collection and its files.
func (c *Client) DeleteCollection(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", coll(name), nil, nil)
}

// Snapshot writes a snapshot of the collection now.
func (c *Client) Snapshot(ctx context.Context, name string) (api.CollectionInfo, error) {
	var out api.CollectionInfo
	return out, c.do(ctx, "POST", coll(name, "snapshot"), nil, &out)
}

// Upsert inserts or replaces points; it returns once they are durable.
func (c *Client) Upsert(ctx context.Context, name string, pts []api.Point) (api.UpsertResponse, error) {
	var out api.UpsertResponse
	return out, c.do(ctx, "POST", coll(name, "points"), api.UpsertRequest{Points: pts}, &out)
}

// Get returns one point.
func (c *Client) Get(ctx context.Context, name string, id uint64) (api.Point, error) {
	var out api.Point
	return out, c.do(ctx, "GET", coll(name, "points", strconv.FormatUint(id, 10)), nil, &out)
}

// ScrollOptions select a page of Scroll.
type ScrollOptions struct {
	// After is the NextAfter of the previous page (nil: the first page).
	After *uint64
	// Limit is the number of points per page (0: the server's 100).
	Limit int
	// NoVector leaves the vectors out (ids and payloads only).
	NoVector bool
}

// Scroll returns one page of a collection's points in increasing id
// order; pass its NextAfter as the next call's After until it is nil.
func (c *Client) Scroll(ctx context.Context, name string, opt ScrollOptions) (api.ScrollResponse, error) {
	q := url.Values{}
	if opt.After != nil {
		q.Set("after", strconv.FormatUint(*opt.After, 10))
	}
	if opt.Limit > 0 {
		q.Set("limit", strconv.Itoa(opt.Limit))
	}
	if opt.NoVector {
		q.Set("with_vector", "false")
	}
	path := coll(name, "points")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.ScrollResponse
	return out, c.do(ctx, "GET", path, nil, &out)
}

// All calls fn on every point of a collection in increasing id order,
// page by page (pageSize points a request; 0: 1000), and stops at the
// first error fn or a request returns.
func (c *Client) All(ctx context.Context, name string, pageSize int, fn func(api.Point) error) error {
	if pageSize <= 0 {
		pageSize = 1000
	}
	opt := ScrollOptions{Limit: pageSize}
	for {
		page, err := c.Scroll(ctx, name, opt)
		if err != nil {
			return err
		}
		for _, p := range page.Points {
			if err := fn(p); err != nil {
				return err
			}
		}
		if page.NextAfter == nil {
			return nil
		}
		opt.After = page.NextAfter
	}
}

// Delete deletes points; absent ids are ignored.
func (c *Client) Delete(ctx context.Context, name string, ids ...uint64) (api.DeleteResponse, error) {
	var out api.DeleteResponse
	return out, c.do(ctx, "POST", coll(name, "points", "delete"), api.DeleteRequest{IDs: ids}, &out)
}

// Search runs one or more queries.
func (c *Client) Search(ctx context.Context, name string, req api.SearchRequest) (api.SearchResponse, error) {
	var out api.SearchResponse
	return out, c.do(ctx, "POST", coll(name, "search"), req, &out)
}

// LoadModel loads a checkpoint under name. path is relative to the
// server's model root (mrl serve --model-root); a server without one
// answers 403.
func (c *Client) LoadModel(ctx context.Context, name, path string) (api.ModelInfo, error) {
	var out api.ModelInfo
	return out, c.do(ctx, "POST", "/v1/models", api.LoadModelRequest{Name: name, Path: path}, &out)
}

// Models lists the loaded models.
func (c *Client) Models(ctx context.Context) ([]api.ModelInfo, error) {
	var out struct {
		Models []api.ModelInfo `json:"models"`
	}
	return out.Models, c.do(ctx, "GET", "/v1/models", nil, &out)
}

// Embed returns the model's embeddings of the inputs.
func (c *Client) Embed(ctx context.Context, model string, req api.EmbedRequest) (api.EmbedResponse, error) {
	var out api.EmbedResponse
	return out, c.do(ctx, "POST", "/v1/models/"+url.PathEscape(model)+"/embed", req, &out)
}

// Classify classifies the inputs with the adaptive cascade.
func (c *Client) Classify(ctx context.Context, model string, req api.ClassifyRequest) (api.ClassifyResponse, error) {
	var out api.ClassifyResponse
	return out, c.do(ctx, "POST", "/v1/models/"+url.PathEscape(model)+"/classify", req, &out)
}

// EmbedTexts returns a text model's embeddings of texts, truncated to dim
// (0: the full embedding).
func (c *Client) EmbedTexts(ctx context.Context, model string, texts []string, dim int) ([][]float32, error) {
	out, err := c.Embed(ctx, model, api.EmbedRequest{Texts: texts, Dim: dim})
	return out.Embeddings, err
}

// SearchText runs one query given as text in a collection with a text
// model attached (api.CreateCollectionRequest.Model), which embeds it; req
// gives the other fields of the search (k, dim, plan, filter, ...) and
// must not give a query of its own.
func (c *Client) SearchText(ctx context.Context, name, text string, req api.SearchRequest) (api.SearchResult, error) {
	req.Text = text
	out, err := c.Search(ctx, name, req)
	if err != nil {
		return api.SearchResult{}, err
	}
	if len(out.Results) != 1 {
		return api.SearchResult{}, fmt.Errorf("mrl client: search %s: %d results for one query", name, len(out.Results))
	}
	return out.Results[0], nil
}
