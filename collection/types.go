package collection

import (
	"errors"
	"fmt"

	"github.com/gomrl/mrl/server/api"
)

// The plain data types of the store are those of the HTTP API (package
// api imports nothing of the engine), so that the server hands them
// through without copying.
type (
	// Meta is the fixed shape of a collection, kept in its meta.json.
	Meta = api.Meta
	// IndexSpec chooses the searcher of a collection's snapshot.
	IndexSpec = api.IndexSpec
	// InputSpec is a collection's input transform (an attached model, an
	// attached adapter).
	InputSpec = api.InputSpec
	// ModelRef names and pins a collection's attached model.
	ModelRef = api.ModelRef
	// AdapterRef names and pins a collection's attached adapter.
	AdapterRef = api.AdapterRef
	// Info is the state of a collection.
	Info = api.CollectionInfo
	// Point is one stored vector with its id and optional payload.
	Point = api.Point
	// PointID is a point's id: an unsigned integer or a UUID
	// (api.IntID, api.UUID, api.ParseID).
	PointID = api.PointID
	// Hit is one search result.
	Hit = api.Hit
	// StageTiming is the work of one stage of a search.
	StageTiming = api.StageTiming
)

var (
	// ErrClosed reports a call on a closed (or dropped) collection.
	ErrClosed = errors.New("collection is closed")
	// ErrExists reports a Create whose name is taken.
	ErrExists = errors.New("collection: name taken")
	// ErrNotFound reports a name that no collection has.
	ErrNotFound = errors.New("collection: not found")
	// ErrInvalid reports a malformed argument: a Meta, a point, a query.
	ErrInvalid = errors.New("collection: invalid argument")
	// ErrUnavailable reports a store that could not be reached (a backend
	// over the network: its cluster did not answer). The embedded store
	// never returns it. A write that fails with it may or may not have
	// been applied.
	ErrUnavailable = errors.New("collection: store unavailable")
)

// WriteError is the error of a write that failed (e.g. on a full disk)
// and was undone: the store's state is as if it had not been asked.
type WriteError struct{ Err error }

func (e *WriteError) Error() string {
	return fmt.Sprintf("the write failed and was undone (not applied): %v", e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }
