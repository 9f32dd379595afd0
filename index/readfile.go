package index

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
)

// ReadMapped calls fn with the contents of the file at path and returns
// fn's error. On Unix systems the bytes are a read-only memory mapping of
// the file, unmapped when fn returns, so reading an index file costs no
// heap copy of it: Load's peak memory is the decoded index, not the file
// plus the index (a 1M × 2048 file is 8 GB). Elsewhere, or if mapping
// fails, the file is read into memory. fn must not keep b or any slice of
// it. If the file shrinks while fn reads it (someone truncated it in
// place; Save never does, it renames a new file over the old one), the
// fault is returned as an error wrapping ErrTruncated instead of crashing
// the process.
func ReadMapped(path string, fn func(b []byte) error) (err error) {
	b, release, err := mapFile(path)
	if err != nil {
		return err
	}
	defer release()
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if f, ok := r.(interface{ Addr() uintptr }); ok {
			err = fmt.Errorf("%w: the file changed while it was read (fault at %#x)", ErrTruncated, f.Addr())
			return
		}
		panic(r)
	}()
	return fn(b)
}

// readWhole is mapFile's fallback: the file read into memory.
func readWhole(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}

var errNotRegular = errors.New("not a regular file")
