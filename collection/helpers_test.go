package collection

import (
	"io"
	"log/slog"
	"testing"

	"github.com/gomrl/mrl/server/api"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a store in dir (a temporary one when dir is "") with a
// quiet logger, and closes it when the test ends.
func openStore(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if opt.Logger == nil {
		opt.Logger = quietLogger()
	}
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustCreate creates a collection or fails the test.
func mustCreate(t testing.TB, s *Store, m Meta) *Collection {
	t.Helper()
	c, err := s.Create(m)
	if err != nil {
		t.Fatalf("Create(%+v): %v", m, err)
	}
	return c
}

// mustGet returns an open collection or fails the test.
func mustGet(t testing.TB, s *Store, name string) *Collection {
	t.Helper()
	c, ok := s.Collection(name)
	if !ok {
		t.Fatalf("collection %q not open", name)
	}
	return c
}

// mustUpsert upserts pts into collection name or fails the test.
func mustUpsert(t testing.TB, s *Store, name string, pts ...Point) {
	t.Helper()
	if _, err := mustGet(t, s, name).Upsert(pts); err != nil {
		t.Fatalf("Upsert into %s: %v", name, err)
	}
}

// mustDelete deletes ids from collection name or fails the test.
func mustDelete(t testing.TB, s *Store, name string, ids ...uint64) {
	t.Helper()
	if _, _, err := mustGet(t, s, name).Delete(intIDs(ids...)); err != nil {
		t.Fatalf("Delete from %s: %v", name, err)
	}
}

// iid is api.IntID, short for tests.
func iid(n uint64) PointID { return api.IntID(n) }

// intIDs returns the integer ids ns.
func intIDs(ns ...uint64) []PointID {
	ids := make([]PointID, len(ns))
	for i, n := range ns {
		ids[i] = api.IntID(n)
	}
	return ids
}

// delBody is the body of a delete record of integer ids (op opDelete).
func delBody(ns ...uint64) []byte {
	_, b := encodeDelete(nil, intIDs(ns...))
	return b
}
