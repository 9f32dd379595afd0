package index

import "errors"

// Errors returned by the package, wrapped with context.
var (
	// ErrDim reports a dim outside 1..D.
	ErrDim = errors.New("index: dimension out of range")
	// ErrDimMismatch reports a vector or query of the wrong length.
	ErrDimMismatch = errors.New("index: dimension mismatch")
	// ErrDuplicateID reports an external id given to two rows.
	ErrDuplicateID = errors.New("index: duplicate id")
	// ErrNotFinite reports a NaN or infinite value in a vector.
	ErrNotFinite = errors.New("index: value not finite")
	// ErrMetric reports an unknown metric.
	ErrMetric = errors.New("index: unknown metric")
	// ErrOptions reports invalid searcher options (see HNSWOptions.Validate).
	ErrOptions = errors.New("index: invalid options")
	// ErrPlan reports an invalid funnel plan.
	ErrPlan = errors.New("index: invalid plan")
	// ErrInput reports malformed ingest input (bad JSON, wrong NPY shape).
	ErrInput = errors.New("index: malformed input")
	// ErrFormat reports a file that is not an index file.
	ErrFormat = errors.New("index: not an index file")
	// ErrVersion reports an index file written by a newer version.
	ErrVersion = errors.New("index: unsupported file version")
	// ErrCorrupt reports an index file whose checksum or structure is wrong.
	ErrCorrupt = errors.New("index: corrupt file")
	// ErrTruncated reports an index file shorter than its header says.
	ErrTruncated = errors.New("index: truncated file")
)
