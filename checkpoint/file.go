package checkpoint

import (
	"fmt"
	"io"
	"os"

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

// Load reads and decodes the checkpoint at path. Its errors name the path
// and wrap ErrCorrupt, ErrFormat or ErrVersion as Decode's do.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: load: %w", err) // err names path
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return f, nil
}
