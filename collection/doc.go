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
//   - Point ids are unsigned 64-bit integers or UUIDs (PointID, the
//     type of package api). Scroll orders them as PointID.Compare does:
//     every integer, then every UUID.
//   - Errors: ErrInvalid (a malformed Meta, point or query; its text
//     is the problem alone), ErrExists, ErrNotFound, ErrClosed,
//     ErrCorrupt, *WriteError.
//
// On-disk formats, and how UUID ids entered them without breaking data
// directories written before:
//
//   - Log records (wal.go has the framing: length, CRC-32C, sequence
//     number, op byte, body) are versioned by their op byte. Ops 1
//     (upsert) and 2 (delete) are the formats from before UUIDs, ids as
//     uint64; ops 3 and 4 are the same bodies with typed ids, each a kind
//     byte (0: an integer, 8 bytes follow; 1: a UUID, its 16 bytes
//     follow). A batch is written with ops 1 and 2 when all its ids are
//     integers, so such logs are byte for byte what older builds write
//     and read; older builds refuse ops 3 and 4 (an unknown op, reported
//     as damage) rather than misread them. record.go has the layouts.
//   - Snapshots: the index file (package index's format) holds integer
//     row ids when every id is an integer (index file version 1, as
//     before), else named rows (version 2), each named by its id's
//     canonical text ("42", "550e8400-e29b-41d4-a716-446655440000"). The
//     side file is format 2 for the first kind and format 3 for the
//     second, which older builds refuse; its payloads are keyed by the
//     ids' text. A side file whose format disagrees with its index file
//     (named rows in format 2 or integer rows in format 3), or a name
//     that is not an id in canonical form, is damage (ErrCorrupt).
//   - testdata/datadir-main is a data directory written by the store
//     before UUIDs; TestDataDirFromMain checks this build reads it
//     exactly and leaves its files as they are.
//
// The files, by concern: store.go (the directory of collections),
// meta.go (a collection's shape and the checks of points), collection.go
// (writes, reads, undo), open.go and recovery.go (opening, log replay,
// quarantine), snapshot.go (rebuilds, snapshots, compaction of the log),
// search.go (search, plans, tuning), filter.go, wal.go and record.go (the
// log and its records).
package collection
