package server

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gomrl/mrl/collection"
)

// Options configures New. Zero fields take the defaults given.
type Options struct {
	// DataDir holds the collections (DataDir/collections/NAME) of the
	// embedded store (package collection). Required unless Store is set.
	DataDir string
	// Store, when set, holds the collections instead of an embedded store
	// opened from DataDir (whose options SnapshotEvery, RebuildMin,
	// TuneMinRows and Recover are then unused); Close closes it.
	Store Store
	// Token, when set, is required as "Authorization: Bearer TOKEN" on every
	// route but /healthz and /readyz.
	Token string
	// MaxBodyBytes limits a request body. Default 64 MiB.
	MaxBodyBytes int64
	// Timeout bounds a request's handling; past it the client gets 503
	// timeout. Default 30 s.
	Timeout time.Duration
	// MaxPoints is the most points (or ids) in one upsert (delete).
	// Default 10000.
	MaxPoints int
	// MaxPayloadBytes is the largest payload of one point, as JSON (413
	// above it). The payloads of one request are bounded by MaxBodyBytes.
	// Default 64 KiB.
	MaxPayloadBytes int
	// MaxResults bounds the hits one search may ask for: queries × k
	// (400 above it). Default 100000.
	MaxResults int
	// MaxResponseBytes bounds the size of a search or embed response, hits
	// and payloads included; past it the request is refused with 413
	// instead of building the response in memory. Default 64 MiB.
	MaxResponseBytes int
	// MaxTexts is the most texts one request gives a text model to
	// embed: the texts of an embed, the points of an upsert given as text,
	// or the queries of a search (400 above it). Default 4096.
	MaxTexts int
	// MaxTextBytes is the longest text, in bytes of UTF-8, that a text
	// model embeds (400 above it). Default 64 KiB.
	MaxTextBytes int
	// SnapshotEvery, RebuildMin, TuneMinRows, AutoRecall and Recover are
	// the embedded store's (collection.Options).
	//
	// SnapshotEvery writes a snapshot and starts a new log after this many
	// points written to a collection. Default 50000; negative: only on
	// request (POST .../snapshot) and at Close.
	SnapshotEvery int
	// RebuildMin is the fewest changes since the snapshot that trigger a
	// background rebuild of a collection's index (also at least an eighth
	// of its rows). Default 1024.
	RebuildMin int
	// TuneMinRows is the fewest rows for which "auto" tunes a plan; smaller
	// collections are searched exactly. Default 1000.
	TuneMinRows int
	// AutoRecall is the recall@10 target of plan "auto". Default 0.95.
	AutoRecall float64
	// ModelRoot is the directory POST /v1/models loads checkpoints from:
	// paths are relative to it, and neither ".." nor a symlink can leave it
	// (os.Root). Without it, loading models over HTTP is off (403).
	ModelRoot string
	// MaxModelBytes bounds the size of a checkpoint loaded over HTTP.
	// Default 1 GiB.
	MaxModelBytes int64
	// TrustedOrigins are browser origins ("https://app.example.com") whose
	// cross-origin requests are allowed. Requests that a browser marks as
	// cross-origin (Sec-Fetch-Site, or an Origin other than the Host) are
	// otherwise refused with 403 on every method but GET, HEAD and OPTIONS,
	// so that a web page cannot write to a server on the same machine.
	// Default none.
	TrustedOrigins []string
	// Recover makes New repair damage that it otherwise refuses to start
	// with (ErrCorrupt): the damaged files, and the log files after them,
	// are moved (never deleted) into DataDir/quarantine/<time>-<collection>/
	// and the collection serves what precedes the damage. A torn final log
	// record is cut with or without it. Default false.
	Recover bool
	// AccessLog logs one line per request at level Info: method, path,
	// route, status, response bytes, latency, the request id and the
	// client's address. Default false (mrl serve turns it on).
	AccessLog bool
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("server: invalid options")

// Validate reports every problem of o at once, wrapping ErrOptions. Zero
// (and negative) limits are not problems: they take their defaults.
func (o Options) Validate() error {
	var p []string
	if o.DataDir == "" && o.Store == nil {
		p = append(p, "DataDir is required")
	}
	if o.AutoRecall < 0 || o.AutoRecall > 1 || math.IsNaN(o.AutoRecall) {
		p = append(p, fmt.Sprintf("AutoRecall %v: want 0 (the default) or a recall in (0, 1]", o.AutoRecall))
	}
	cop := http.NewCrossOriginProtection()
	for _, origin := range o.TrustedOrigins {
		if err := cop.AddTrustedOrigin(origin); err != nil {
			p = append(p, fmt.Sprintf("TrustedOrigins %q: %v", origin, err))
		}
	}
	if o.ModelRoot != "" {
		if st, err := os.Stat(o.ModelRoot); err != nil {
			p = append(p, fmt.Sprintf("ModelRoot: %v", err))
		} else if !st.IsDir() {
			p = append(p, fmt.Sprintf("ModelRoot %s: not a directory", o.ModelRoot))
		}
	}
	if len(p) > 0 {
		return fmt.Errorf("%w: %s", ErrOptions, strings.Join(p, "; "))
	}
	return nil
}

func (o *Options) defaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxPayloadBytes <= 0 {
		o.MaxPayloadBytes = 64 << 10
	}
	if o.MaxResults <= 0 {
		o.MaxResults = 100000
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.MaxTexts <= 0 {
		o.MaxTexts = 4096
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 64 << 10
	}
	if o.MaxModelBytes <= 0 {
		o.MaxModelBytes = 1 << 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := o.collectionOptions().WithDefaults()
	o.SnapshotEvery, o.RebuildMin, o.TuneMinRows, o.AutoRecall = c.SnapshotEvery, c.RebuildMin, c.TuneMinRows, c.AutoRecall
}

// collectionOptions returns the embedded store's part of o.
func (o *Options) collectionOptions() collection.Options {
	return collection.Options{SnapshotEvery: o.SnapshotEvery, RebuildMin: o.RebuildMin, TuneMinRows: o.TuneMinRows,
		AutoRecall: o.AutoRecall, Recover: o.Recover, Logger: o.Logger}
}

// Server serves the API; see the package doc.
