package server

import (
	"slices"
	"testing"
)

// TestFilteredSearch: searches with range, in and logical filters return
// exactly the best matching points (flat, so exact).
func TestFilteredSearch(t *testing.T) {
	s := newServer(t, Options{})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "f", "dim": 2, "metric": "ip"}, 201, nil)
	var pts []Point
	for i := 0; i < 40; i++ {
		pts = append(pts, Point{ID: iid(uint64(i + 1)), Vector: []float32{float32(i), 1},
			Payload: map[string]any{"year": float64(2000 + i%10), "lang": []string{"en", "fr", "de"}[i%3]}})
	}
	mustDo(t, s, "POST", "/v1/collections/f/points", UpsertRequest{Points: pts}, 200, nil)
	for _, c := range []struct {
		filter map[string]any
		keep   func(p Point) bool
	}{
		{map[string]any{"year": map[string]any{"gte": 2003.0, "lt": 2006.0}}, func(p Point) bool {
			y := p.Payload["year"].(float64)
			return y >= 2003 && y < 2006
		}},
		{map[string]any{"lang": map[string]any{"in": []any{"en", "de"}}}, func(p Point) bool { return p.Payload["lang"] != "fr" }},
		{map[string]any{"$or": []any{map[string]any{"lang": "fr"}, map[string]any{"year": 2009.0}}}, func(p Point) bool {
			return p.Payload["lang"] == "fr" || p.Payload["year"] == 2009.0
		}},
		{map[string]any{"$not": map[string]any{"lang": "en"}, "year": map[string]any{"ne": 2001.0}}, func(p Point) bool {
			return p.Payload["lang"] != "en" && p.Payload["year"] != 2001.0
		}},
	} {
		var want []uint64
		for i := len(pts) - 1; i >= 0 && len(want) < 5; i-- { // ip with (1, 0): the largest x first
			if c.keep(pts[i]) {
				want = append(want, num(pts[i].ID))
			}
		}
		var sr SearchResponse
		mustDo(t, s, "POST", "/v1/collections/f/search", SearchRequest{Vector: []float32{1, 0}, K: 5, Filter: c.filter}, 200, &sr)
		if got := hitIDs(sr.Results[0].Hits); !slices.Equal(got, want) {
			t.Errorf("filter %v: hits %v, want %v", c.filter, got, want)
		}
	}
}
