package server

import (
	"context"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/collection"
	"github.com/gomrl/mrl/server/api"
)

// Store is what the handlers need of a collection store: the embedded one
// (package collection, opened from Options.DataDir) or another backend set
// in Options.Store. Its methods must be safe for concurrent use, and its
// errors follow package collection's, which the handlers map to statuses:
// collection.ErrExists (409), collection.ErrNotFound and
// collection.ErrClosed (404), collection.ErrInvalid, index.ErrDim and
// index.ErrPlan (400), *collection.WriteError (503: the write was not
// applied), collection.ErrUnavailable (503: the backend could not be
// reached; a write may or may not have been applied); anything else is a
// 500. A backend whose reads can fail implements CheckedReads too.
type Store interface {
	// Create makes a collection of shape m (defaulted and checked with
	// collection.CheckMeta); a name taken or differing from a taken one
	// only in case is ErrExists. m.Input (an attached model) must be kept
	// and handed back by Meta, across restarts: the server applies it, and
	// the store only ever receives vectors.
	Create(m api.Meta) (Collection, error)
	// Collection returns an open collection by name.
	Collection(name string) (Collection, bool)
	// Collections returns the open collections in name order.
	Collections() []Collection
	// Drop closes a collection and removes it.
	Drop(name string) error
	// Snapshot persists every collection (at shutdown).
	Snapshot() error
	// Close closes every collection; later writes fail with ErrClosed.
	Close() error
}

// Collection is what the handlers need of one collection; see
// collection.Collection for the contract of each method.
type Collection interface {
	Meta() api.Meta
	Metric() mrl.Metric
	Info() api.CollectionInfo
	// Err reports why the collection cannot take writes (/readyz), or nil.
	Err() error
	Upsert(pts []api.Point) (seq uint64, err error)
	Delete(ids []api.PointID) (deleted int, seq uint64, err error)
	Get(id api.PointID) (api.Point, bool)
	Scroll(o collection.ScrollOptions) (page []api.Point, more bool)
	Search(ctx context.Context, q collection.Query) (collection.Result, error)
	// AutoPlan returns the plan tuned for a target recall, or nil when
	// exact search is used instead.
	AutoPlan(target float64) (*collection.TunedPlan, error)
	// Snapshot persists the collection.
	Snapshot() error
}

// CheckedReads is implemented by a Collection whose reads can fail (a
// backend over the network, whose cluster may not answer): the handlers
// then call GetChecked and ScrollChecked instead of Get and Scroll and map
// their errors as Store's, so that a cluster that does not answer is a
// 503 rather than "point not found" or an empty page.
type CheckedReads interface {
	GetChecked(id api.PointID) (api.Point, bool, error)
	ScrollChecked(o collection.ScrollOptions) ([]api.Point, bool, error)
}

// getPoint is c.Get, or GetChecked when c implements CheckedReads.
func getPoint(c Collection, id api.PointID) (api.Point, bool, error) {
	if cr, ok := c.(CheckedReads); ok {
		return cr.GetChecked(id)
	}
	p, ok := c.Get(id)
	return p, ok, nil
}

// scroll is c.Scroll, or ScrollChecked when c implements CheckedReads.
func scroll(c Collection, o collection.ScrollOptions) ([]api.Point, bool, error) {
	if cr, ok := c.(CheckedReads); ok {
		return cr.ScrollChecked(o)
	}
	pts, more := c.Scroll(o)
	return pts, more, nil
}

// ErrCorrupt reports damage in the data directory that New refuses to
// repair without Options.Recover (collection.ErrCorrupt).
var ErrCorrupt = collection.ErrCorrupt

// Compile-time checks that the embedded store serves the handlers.
var (
	_ Store      = embedded{}
	_ Collection = (*collection.Collection)(nil)
)

// embedded adapts *collection.Store to Store (its methods return the
// concrete *collection.Collection).
type embedded struct{ s *collection.Store }

func (e embedded) Create(m api.Meta) (Collection, error) {
	c, err := e.s.Create(m)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (e embedded) Collection(name string) (Collection, bool) {
	c, ok := e.s.Collection(name)
	if !ok {
		return nil, false
	}
	return c, true
}

func (e embedded) Collections() []Collection {
	cols := e.s.Collections()
	out := make([]Collection, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}

func (e embedded) Drop(name string) error { return e.s.Drop(name) }
func (e embedded) Snapshot() error        { return e.s.Snapshot() }
func (e embedded) Close() error           { return e.s.Close() }
