package collection

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
)

// Options configures Open. Zero fields take the defaults given; WithDefaults
// fills them and Validate reports what no default can fix.
type Options struct {
	// SnapshotEvery writes a snapshot and starts a new log after this many
	// points written to a collection. Default 50000; negative: only on
	// request (Collection.Snapshot, Store.Snapshot).
	SnapshotEvery int
	// RebuildMin is the fewest changes since the snapshot that trigger a
	// background rebuild of a collection's index (also at least an eighth
	// of its rows). Default 1024.
	RebuildMin int
	// TuneMinRows is the fewest rows for which AutoPlan tunes a plan;
	// smaller collections are searched exactly. Default 1000.
	TuneMinRows int
	// AutoRecall is the recall@10 target whose tuned plan Info reports.
	// Default 0.95.
	AutoRecall float64
	// Recover makes Open repair damage that it otherwise refuses to open
	// with (ErrCorrupt): the damaged files, and the log files after them,
	// are moved (never deleted) into DIR/quarantine/<time>-<collection>/
	// and the collection serves what precedes the damage. A torn final log
	// record is cut with or without it. Default false.
	Recover bool
	// Logger receives the store's logs. Default slog.Default().
	Logger *slog.Logger
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("collection: invalid options")

// WithDefaults returns o with its zero (and negative, where negative has
// no meaning) fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 50000
	}
	if o.RebuildMin <= 0 {
		o.RebuildMin = 1024
	}
	if o.TuneMinRows <= 0 {
		o.TuneMinRows = 1000
	}
	if o.AutoRecall <= 0 || o.AutoRecall > 1 {
		o.AutoRecall = 0.95
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports every problem of o at once, wrapping ErrOptions. Zero
// (and negative) limits are not problems: they take their defaults.
func (o Options) Validate() error {
	var p []string
	if o.AutoRecall < 0 || o.AutoRecall > 1 || math.IsNaN(o.AutoRecall) {
		p = append(p, fmt.Sprintf("AutoRecall %v: want 0 (the default) or a recall in (0, 1]", o.AutoRecall))
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrOptions, strings.Join(p, "; "))
	}
	return nil
}
