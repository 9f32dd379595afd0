package server

import (
	"errors"
	"testing"

	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/server/api"
)

// brokenStore wraps a Store so that its collections cannot write: the
// handlers must map what a backend reports (Err, *collection.WriteError)
// to statuses, whatever the backend.
type brokenStore struct {
	Store
	err error
}

type brokenCollection struct {
	Collection
	err error
}

func (b brokenCollection) Err() error { return b.err }

func (b brokenCollection) Upsert([]api.Point) (uint64, error) {
	return 0, &collection.WriteError{Err: b.err}
}

func (b brokenStore) Collection(name string) (Collection, bool) {
	c, ok := b.Store.Collection(name)
	if !ok {
		return nil, false
	}
	return brokenCollection{c, b.err}, true
}

func (b brokenStore) Collections() []Collection {
	cols := b.Store.Collections()
	for i, c := range cols {
		cols[i] = brokenCollection{c, b.err}
	}
	return cols
}

// TestPluggedStore serves a Store given in Options.Store: the handlers go
// through the interface only, and a backend's write failures become 503
// unavailable and /readyz 503 not_ready.
func TestPluggedStore(t *testing.T) {
	st, err := collection.Open(t.TempDir(), collection.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{Store: brokenStore{embedded{st}, errors.New("disk on fire")}})
	mustDo(t, s, "POST", "/v1/collections", map[string]any{"name": "c", "dim": 2}, 201, nil)
	runHostile(t, s, []hostileCase{
		{"upsert", "POST", "/v1/collections/c/points", `{"points":[{"id":1,"vector":[0,1]}]}`, nil, 503, "undone"},
		{"not ready", "GET", "/readyz", "", nil, 503, "cannot write: disk on fire"},
		{"reads go on", "GET", "/v1/collections/c", "", nil, 200, `"count":0`},
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
