// Package peerfile writes the files the bench programs hand to their
// peers (FAISS, hnswlib, numpy): one buffered writer per file, every error
// naming the file.
package peerfile

import (
	"bufio"
	"fmt"
	"os"
)

// Write creates path and fills it through fn with a 1 MiB buffer; an
// error from fn, the flush or the close names path.
func Write(path string, fn func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fn(w); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
