package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"

	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/server/api"
	"github.com/gomrl/mrl/server/client"
)

func Example() {
	dir, err := os.MkdirTemp("", "mrl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := server.New(server.Options{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	ctx := context.Background()
	c := client.New(ts.URL, "")
	if _, err := c.CreateCollection(ctx, server.CreateCollectionRequest{Name: "docs", Dim: 4, Metric: "cosine", Nesting: []int{2, 4}}); err != nil {
		log.Fatal(err)
	}
	_, err = c.Upsert(ctx, "docs", []server.Point{
		{ID: api.IntID(1), Vector: []float32{1, 0, 0, 0}, Payload: map[string]any{"lang": "en"}},
		{ID: api.IntID(2), Vector: []float32{0.9, 0.1, 0.5, 0}, Payload: map[string]any{"lang": "fr"}},
		{ID: api.MustUUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), Vector: []float32{0, 1, 0, 0}, Payload: map[string]any{"lang": "en"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Search(ctx, "docs", server.SearchRequest{Vector: []float32{1, 0, 0.4, 0}, K: 2, Plan: "2:3,4:2"})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range res.Results[0].Hits {
		fmt.Printf("id %v score %.3f lang %v\n", h.ID, h.Score, h.Payload["lang"])
	}
	res, _ = c.Search(ctx, "docs", server.SearchRequest{Vector: []float32{1, 0, 0.4, 0}, K: 1, Filter: map[string]any{"lang": "en"}})
	fmt.Println("filtered:", res.Results[0].Hits[0].ID)

	_, err = c.Get(ctx, "docs", api.IntID(42))
	fmt.Println(err)
	// Output:
	// id 2 score 0.987 lang fr
	// id 1 score 0.928 lang en
	// filtered: 1
	// mrl server: 404 not_found: point 42 not found in collection "docs"
}
