package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/gomrl/mrl/internal/atomicfile"
)

// Save writes f to path atomically: it encodes f into a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory, so that after a crash path holds the old checkpoint or the
// new one, whole. The file is created with mode 0644. On error the
// temporary file is removed and path is untouched.
func Save(path string, f *File) error {
	if err := save(path, f); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	return nil
}

func save(path string, f *File) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, f) })
}

// MaxFileBytes bounds the size of a checkpoint file that Load reads.
const MaxFileBytes = 8 << 30

// ErrNotRegular reports a path that is not a regular file (a device, a
// FIFO, a directory): Load refuses it rather than read without end or block.
var ErrNotRegular = errors.New("checkpoint: not a regular file")

// ErrTooLarge reports a file larger than the bound Read was given.
var ErrTooLarge = errors.New("checkpoint: file too large")

// Load reads and decodes the checkpoint at path. Its errors name the path
// and wrap ErrCorrupt, ErrFormat or ErrVersion as Decode's do, ErrNotRegular
// or ErrTooLarge (above MaxFileBytes).
func Load(path string) (*File, error) { return LoadContext(context.Background(), path) }

// LoadContext is Load with a read that ctx cancels.
func LoadContext(ctx context.Context, path string) (*File, error) {
	// Stat before opening: opening a FIFO blocks until it has a writer.
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: load: %w", err) // err names path
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("load %s: %w (mode %v)", path, ErrNotRegular, st.Mode().Type())
	}
	// O_NONBLOCK: should path become a FIFO after the Stat, opening it
	// returns at once instead of waiting for a writer (Read then refuses
	// it); it changes nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: load: %w", err)
	}
	defer f.Close()
	b, err := Read(ctx, f, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	f2, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return f2, nil
}

// Read reads the whole of f, which must be a regular file of at most max
// bytes, checking ctx between chunks. It reads no more than the size the
// file had when Read started, so a file that grows meanwhile cannot make
// it read without end.
func Read(ctx context.Context, f *os.File, max int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (mode %v)", ErrNotRegular, st.Mode().Type())
	}
	size := st.Size()
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, size, max)
	}
	b := make([]byte, size)
	const chunk = 4 << 20
	for off := 0; off < len(b); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := f.Read(b[off:min(off+chunk, len(b))])
		off += n
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the file shrank from %d to %d bytes while it was read", ErrCorrupt, size, off)
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}
