package collection

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomrl/mrl/internal/atomicfile"
)

// Recovery refuses before it guesses. On start a collection is rebuilt from
// its newest complete snapshot and the log records after it. Only one kind
// of damage is repaired silently: a torn final record of the last log file
// (short, or failing its checksum with no valid record after it), which is
// what a crash during a write leaves and which was never acknowledged.
// Anything else (a bad record followed by valid ones, a sequence gap, a
// missing or unreadable snapshot part, a collection directory with data but
// no meta.json) is ErrCorrupt: Open refuses and names the file, the offset
// and what the operator can do.
//
// With Options.Recover, Open instead moves the damaged files into
// DataDir/quarantine/<time>-<collection>/ (renames, never deletes), keeps
// what precedes the damage and serves that.

// ErrCorrupt reports damage that recovery refuses to repair on its own.
var ErrCorrupt = errors.New("collection: damaged data directory")

// errSeq reports a record whose checksum is right but whose sequence number
// does not follow the previous record's: never the result of a torn write.
var errSeq = errors.New("sequence break")

const recoverAdvice = "refusing to start rather than serve less than was acknowledged; " +
	"restore the directory from a backup, or start with --recover (Options.Recover) to move the damaged files to " +
	"DATA_DIR/quarantine and serve what precedes the damage"

// corruptf returns an ErrCorrupt error with the given details and the advice.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s; %s", ErrCorrupt, fmt.Sprintf(format, args...), recoverAdvice)
}

// quarantine moves damaged files of one collection aside, into a folder
// created on first use.
type quarantine struct {
	dir string // DataDir/quarantine/<time>-<collection>
	log *slog.Logger
}

func newQuarantine(dataDir, name string, log *slog.Logger) *quarantine {
	stamp := time.Now().UTC().Format("20060102T150405.000000000Z")
	return &quarantine{dir: filepath.Join(dataDir, "quarantine", stamp+"-"+name), log: log}
}

// move renames path into the quarantine folder.
func (q *quarantine) move(path, why string) error {
	if err := os.MkdirAll(q.dir, 0o755); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	dst := filepath.Join(q.dir, filepath.Base(path))
	if err := os.Rename(path, dst); err != nil {
		return fmt.Errorf("quarantine %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(q.dir); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	q.log.Error("moved a damaged file to the quarantine folder", "file", path, "to", dst, "why", why)
	return nil
}

// keepPrefix moves path into the quarantine folder and writes its first n
// bytes (the valid records) back under the same name.
func (q *quarantine) keepPrefix(path string, data []byte, n int, why string) error {
	if err := q.move(path, why); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(data[:n]); return err })
}

// validAfter reports whether a record that passes its checksum starts
// anywhere in b after offset off, with a sequence number after prev. A bad
// record followed by a valid one is corruption, not a torn write.
func validAfter(b []byte, off int, prev uint64) (int, bool) {
	for p := off + 1; p+walHeader+9 <= len(b); p++ {
		n := int(binary.LittleEndian.Uint32(b[p:]))
		if n < 9 || n > len(b)-p-walHeader {
			continue
		}
		rec := b[p+walHeader : p+walHeader+n]
		if seq := binary.LittleEndian.Uint64(rec); seq <= prev || seq-prev > 1<<40 {
			continue
		}
		if !knownOp(rec[8]) {
			continue
		}
		if crc32.Checksum(rec, castagnoli) == binary.LittleEndian.Uint32(b[p+4:]) {
			return p, true
		}
	}
	return 0, false
}

// removeTemps removes the temporary files of atomic writes that a crash
// interrupted (".snapshot-….idx.tmp123", ".meta.json.tmp…"): they were
// never renamed into place, so nothing refers to them.
func removeTemps(dir string, log *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".") || !strings.Contains(name, ".tmp") {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
		log.Info("removed the temporary file of an interrupted write", "file", filepath.Join(dir, name))
	}
	return nil
}

// holdsData reports whether a collection directory holds a log or a
// snapshot (anything but temporary files).
func holdsData(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "wal-") || strings.HasPrefix(n, "snapshot-") {
			return true, nil
		}
	}
	return false, nil
}

// The snapshot side file (payloads and the sequence number) is
//
//	{"format":F,"crc32c":N,"body":{"seq":…,"rows":…,"payloads":{…}}}
//
// where N is the CRC-32C (Castagnoli) of the body's bytes exactly as they
// are in the file and payloads are keyed by their point's id as text
// (PointID.String). F is 2 for a snapshot whose ids are all integers (its
// index file has integer row ids, as before UUIDs, so older builds read
// it) and 3 for one holding a UUID id (its index file has named rows, each
// named by its id's canonical text; builds from before UUIDs refuse
// format 3 rather than misread it). Files without "format" (written
// before the checksum) are read as the bare body of format 2.
const (
	sidecarFormat     = 2
	sidecarFormatUUID = 3
)

func writeSidecar(path string, side snapshotSidecar) error {
	body, err := json.Marshal(side)
	if err != nil {
		return err
	}
	format := side.Format
	if format == 0 {
		format = sidecarFormat
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "{\"format\":%d,\"crc32c\":%d,\"body\":%s}\n", format, crc32.Checksum(body, castagnoli), body)
		return err
	})
}

// readSidecar reads and verifies a snapshot side file.
func readSidecar(path string) (*snapshotSidecar, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wrap struct {
		Format *int            `json:"format"`
		CRC    uint32          `json:"crc32c"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(b, &wrap); err != nil {
		return nil, fmt.Errorf("not a snapshot side file: %v", err)
	}
	body := b
	format := 1
	switch {
	case wrap.Format == nil: // before format 2: no checksum
	case *wrap.Format != sidecarFormat && *wrap.Format != sidecarFormatUUID:
		return nil, fmt.Errorf("format %d, this build reads %d and %d", *wrap.Format, sidecarFormat, sidecarFormatUUID)
	case crc32.Checksum(wrap.Body, castagnoli) != wrap.CRC:
		return nil, fmt.Errorf("checksum mismatch (stored %d, computed %d)", wrap.CRC, crc32.Checksum(wrap.Body, castagnoli))
	default:
		body, format = wrap.Body, *wrap.Format
	}
	var side snapshotSidecar
	if err := json.Unmarshal(body, &side); err != nil {
		return nil, fmt.Errorf("payloads: %v", err)
	}
	side.Format = format
	return &side, nil
}
