// Package collection is an embedded, durable store of Matryoshka vectors:
// named collections of points (an id, an unsigned 64-bit integer or a
// UUID (PointID), a vector of the collection's
// dim, an optional payload of scalar fields) searched by prefix dim, by a
// funnel plan (or one the tuner picks for a target recall) and with
// payload filters. mrl serve is a thin HTTP layer over it (package
// server); a Go program can embed it without HTTP:
//
//	s, err := collection.Open(dir, collection.Options{})
//	c, err := s.Create(collection.Meta{Name: "docs", Dim: 768, Metric: "cosine"})
//	seq, err := c.Upsert([]collection.Point{{ID: api.IntID(1), Vector: v}})
//	res, err := c.Search(ctx, collection.Query{Vector: q, Dim: 64, K: 10})
//	err = s.Close()
//
// Conventions:
//
//   - A Store is a directory: DIR/collections/NAME/ holds a collection's
//     meta.json (its Meta), its write-ahead log files wal-<first
//     seq>.log and its newest snapshot, snapshot-<seq>.idx (the index
//     file format of package index, with the HNSW graph for kind hnsw)
//     beside snapshot-<seq>.json (payloads and the sequence number,
//     checksummed). DIR/quarantine/ receives damaged files (Recover).
//   - Writes are durable when they return: each batch is one log record,
//     fsynced before Upsert or Delete returns (concurrent writers share
//     fsyncs). A write that fails (a full disk) is undone and returned
//     as a *WriteError; it is never visible after. A write may be
//     visible to concurrent searches just before it returns.
//   - Searches see each batch whole or not at all: the snapshot's index
//     is searched and the changes since are scanned exactly and merged.
//     The snapshot is rebuilt in the background once enough changes pile
//     up (Options.RebuildMin), and persisted, with the log rotated, every
//     Options.SnapshotEvery points and on Snapshot.
//   - Recovery refuses before it guesses: Open cuts a torn final log
//     record (never acknowledged) and reports any other damage as
//     ErrCorrupt, naming the file and offset; with Options.Recover it
//     moves the damaged files to the quarantine (never deleting) and
//     serves what precedes the damage.
//   - Errors: ErrInvalid (a malformed Meta, point or query; its text
//     is the problem alone), ErrExists, ErrNotFound, ErrClosed,
//     ErrCorrupt, *WriteError.
//
// The files, by concern: store.go (the directory of collections),
// meta.go (a collection's shape and the checks of points), collection.go
// (writes, reads, undo), open.go and recovery.go (opening, log replay,
// quarantine), snapshot.go (rebuilds, snapshots, compaction of the log),
// search.go (search, plans, tuning), filter.go, wal.go and record.go (the
// log and its records).
package collection
