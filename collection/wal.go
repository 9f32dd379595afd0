package collection

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomrl/mrl/internal/atomicfile"
)

// The write-ahead log of a collection is a sequence of files
// wal-<first seq, 20 digits>.log, each a sequence of records (little endian):
//
//	 0  length uint32: the bytes after this 8-byte header (9 + len(body))
//	 4  CRC-32C (Castagnoli) of those bytes
//	 8  sequence number uint64, one more than the previous record's
//	16  op byte: opUpsert or opDelete (integer ids, the format from
//	    before UUID ids), opUpsertIDs or opDeleteIDs (typed ids)
//	17  body (see record.go: encodeUpsert, encodeDelete)
//
// A record is acknowledged only after it is fsynced. Concurrent writers share
// fsyncs (group commit): each appends under the collection's lock, then waits
// until some fsync covers its sequence number. Recovery replays the files in
// order; only a torn final record (short, or failing its CRC with no valid
// record after it) is cut, any other damage stops the start (recovery.go).
const (
	opUpsert    byte = 1
	opDelete    byte = 2
	opUpsertIDs byte = 3
	opDeleteIDs byte = 4

	walHeader = 8
	// maxRecord bounds a record's length so that a corrupt length field
	// cannot make recovery allocate gigabytes.
	maxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func walName(first uint64) string { return fmt.Sprintf("wal-%020d.log", first) }

// walFiles returns the first sequence numbers of the log files in dir, sorted.
func walFiles(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "wal-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "wal-"), ".log"), 10, 64)
		if err != nil {
			continue
		}
		firsts = append(firsts, n)
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	return firsts, nil
}

// wal is the open log file of a collection.
type wal struct {
	dir string

	mu      sync.Mutex // guards f, first, pending, last
	f       *os.File
	first   uint64
	pending []byte // appended records not yet written to f
	last    uint64 // sequence number of the last appended record

	syncMu sync.Mutex    // one fsync at a time; waiters batch behind it
	synced atomic.Uint64 // every record up to this seq is durable
	err    error         // I/O error until rollback, guarded by syncMu
	broken atomic.Bool   // rollback failed too: err stays (set under syncMu)
	size   int64         // durable bytes of f; guarded by syncMu
	spare  []byte

	// gen counts rollbacks: a record is named by its sequence number and
	// the generation it was appended in, since a rollback reuses the
	// numbers of the records it discards. genBase[g] is the last durable
	// record when generation g ended (guarded by syncMu).
	gen     atomic.Uint64
	genBase []uint64

	// write and truncate are the file operations, replaceable by tests
	// to act out a full disk.
	write    func(f *os.File, b []byte) (int, error)
	truncate func(f *os.File, size int64) error
}

// errLost reports a record that a rollback discarded: it was never
// acknowledged and its change has been undone.
var errLost = errors.New("write ahead log: the write failed and was rolled back")

// openWAL opens (creating if needed) the log file starting at first for
// appending; last is the sequence number of the last record already in the
// logs (durable).
func openWAL(dir string, first, last uint64) (*wal, error) {
	path := filepath.Join(dir, walName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &wal{dir: dir, f: f, first: first, last: last, size: st.Size(),
		write:    func(f *os.File, b []byte) (int, error) { return f.Write(b) },
		truncate: func(f *os.File, size int64) error { return f.Truncate(size) }}
	w.synced.Store(last)
	return w, nil
}

// append adds a record with the next sequence number to the pending buffer
// and returns that number and the generation. The caller holds the
// collection's write lock, so records enter the log in the order their
// changes are applied.
func (w *wal) append(op byte, body []byte) (seq, gen uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last++
	w.pending = appendRecord(w.pending, w.last, op, body)
	return w.last, w.gen.Load()
}

// appendRecord appends one encoded record to b.
func appendRecord(b []byte, seq uint64, op byte, body []byte) []byte {
	n := 9 + len(body)
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, op)
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+walHeader:], castagnoli))
	return b
}

// sync returns once record seq of generation gen is written and fsynced,
// or errLost if a rollback discarded it, or the write's error (then the
// caller must call the collection's rollback).
func (w *wal) sync(seq, gen uint64) error {
	// synced is read before gen: if gen is still ours, synced was
	// reached in our generation.
	if w.synced.Load() >= seq && w.gen.Load() == gen {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if gen != w.gen.Load() {
		if seq > w.genBase[gen] {
			return errLost
		}
		return nil // durable before the rollback
	}
	if w.synced.Load() >= seq {
		return nil // a flush before the one that failed covered it
	}
	if w.err != nil {
		return w.err
	}
	return w.flushLocked()
}

// rollback undoes a failed write: it cuts the file back to its last
// durable record, drops the pending records and starts a new generation
// whose records continue after the last durable one, so that writes go on
// once the disk has room again. It reports whether there was a failure to
// roll back, the last durable record and the generation that ended; if
// the cut fails too, the log stays failed (writeErr) until a restart.
func (w *wal) rollback() (did bool, durable, gen uint64, err error) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	durable = w.synced.Load()
	if w.err == nil || w.broken.Load() {
		return false, durable, w.gen.Load(), nil
	}
	err = w.truncate(w.f, w.size)
	if err == nil {
		err = w.f.Sync()
	}
	w.mu.Lock()
	gen = w.gen.Load()
	w.genBase = append(w.genBase, durable)
	w.gen.Add(1)
	w.pending = w.pending[:0]
	w.last = durable
	w.mu.Unlock()
	if err != nil {
		w.broken.Store(true)
		w.err = fmt.Errorf("%w; cutting the log back to its last durable record failed too: %v; writes need a restart (reopening the store)", w.err, err)
		return true, durable, gen, w.err
	}
	w.err = nil
	return true, durable, gen, nil
}

// writeErr returns the error that stops writes until a restart, if any.
// It does not wait for a running fsync (writers call it under the
// collection's lock).
func (w *wal) writeErr() error {
	if !w.broken.Load() {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	return w.err
}

// flushLocked writes and fsyncs everything pending; syncMu is held.
func (w *wal) flushLocked() error {
	w.mu.Lock()
	buf, last, f := w.pending, w.last, w.f
	w.pending = w.spare[:0]
	w.mu.Unlock()
	// pending now uses spare's array: buf's array becomes the next spare,
	// also when the write fails (rollback lets writes go on).
	defer func() { w.spare = buf[:0] }()
	if len(buf) > 0 {
		if _, err := w.write(f, buf); err != nil {
			w.err = fmt.Errorf("write ahead log: %w", err)
			return w.err
		}
		if err := f.Sync(); err != nil {
			w.err = fmt.Errorf("write ahead log fsync: %w", err)
			return w.err
		}
		w.size += int64(len(buf))
	}
	w.synced.Store(last)
	return nil
}

// rotate makes every appended record durable, closes the file and starts a
// new one whose first record will be last+1. The caller holds the
// collection's write lock, so nothing is appended meanwhile.
func (w *wal) rotate() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	next := w.last + 1
	f, err := os.OpenFile(filepath.Join(w.dir, walName(next)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.err = fmt.Errorf("rotate write ahead log: %w", err)
		return w.err
	}
	if err := atomicfile.SyncDir(w.dir); err != nil {
		f.Close()
		w.err = fmt.Errorf("rotate write ahead log: %w", err)
		return w.err
	}
	w.mu.Lock()
	old := w.f
	w.f, w.first, w.size = f, next, 0
	w.mu.Unlock()
	return old.Close()
}

// close flushes and closes the log.
func (w *wal) close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	ferr := w.err
	if ferr == nil {
		ferr = w.flushLocked()
	}
	cerr := w.f.Close()
	w.err = errors.New("write ahead log closed")
	if ferr != nil {
		return ferr
	}
	return cerr
}

// errTorn reports a record that is short or fails its checksum: what a
// torn write leaves (but also what damage leaves; see replayLogs).
var errTorn = errors.New("torn or corrupt record")

// readRecords calls fn for each valid record of b in order, whose sequence
// numbers must follow prev. It returns the length of the valid prefix, the
// last sequence number and, if a bad record ends the data early, errTorn or
// errSeq (wrapped, with the offset); an error from fn is returned as is.
func readRecords(b []byte, prev uint64, fn func(seq uint64, op byte, body []byte) error) (int, uint64, error) {
	off := 0
	for off < len(b) {
		if len(b)-off < walHeader {
			return off, prev, fmt.Errorf("%w at offset %d: %d header bytes of %d", errTorn, off, len(b)-off, walHeader)
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n < 9 || n > maxRecord || n > len(b)-off-walHeader {
			return off, prev, fmt.Errorf("%w at offset %d: length %d with %d bytes left", errTorn, off, n, len(b)-off-walHeader)
		}
		rec := b[off+walHeader : off+walHeader+n]
		if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(b[off+4:]) {
			return off, prev, fmt.Errorf("%w at offset %d: checksum mismatch", errTorn, off)
		}
		seq := binary.LittleEndian.Uint64(rec)
		if seq != prev+1 {
			return off, prev, fmt.Errorf("%w at offset %d: record %d after %d", errSeq, off, seq, prev)
		}
		if err := fn(seq, rec[8], rec[9:]); err != nil {
			return off, prev, err
		}
		prev = seq
		off += walHeader + n
	}
	return off, prev, nil
}

// readFile reads a whole log file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
