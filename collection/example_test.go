package collection_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/server/api"
)

// A Go program embedding the store, without HTTP: create a collection,
// write points (ids are integers or UUIDs), search a prefix with a filter, and reopen the directory
// to find the points again.
func Example() {
	dir, err := os.MkdirTemp("", "collection-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)

	s, err := collection.Open(dir, collection.Options{Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	c, err := s.Create(collection.Meta{Name: "docs", Dim: 4, Metric: "l2", Nesting: []int{2, 4}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Upsert([]collection.Point{
		{ID: api.IntID(1), Vector: []float32{0, 0, 0, 0}, Payload: map[string]any{"lang": "en"}},
		{ID: api.IntID(2), Vector: []float32{1, 0, 5, 5}, Payload: map[string]any{"lang": "fr"}},
		{ID: api.MustUUID("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"), Vector: []float32{1, 1, 0, 0}, Payload: map[string]any{"lang": "en"}},
	}); err != nil {
		log.Fatal(err)
	}
	// On the 2-dim prefix point 2 is the nearest to the query but the
	// filter keeps only the English ones. l2 scores are negated squared
	// distances, best first.
	res, err := c.Search(context.Background(), collection.Query{
		Vector: []float32{0.5, 0, 0, 0}, Dim: 2, K: 2, Filter: map[string]any{"lang": "en"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range res.Hits {
		fmt.Printf("id %v score %.2f\n", h.ID, h.Score)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	// The log makes the writes durable: a new Open replays them.
	s, err = collection.Open(dir, collection.Options{Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	c, _ = s.Collection("docs")
	p, ok := c.Get(api.IntID(2))
	fmt.Println(c.Info().Count, ok, p.Vector, p.Payload["lang"])
	// Output:
	// id 1 score -0.25
	// id 6ba7b810-9dad-11d1-80b4-00c04fd430c8 score -1.25
	// 3 true [1 0 5 5] fr
}
