package collection

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomrl/mrl/internal/atomicfile"
)

// Store is a directory of collections: DIR/collections/NAME, one directory
// each, and DIR/quarantine for damaged files moved aside by Recover. Its
// methods are safe for concurrent use.
type Store struct {
	dir  string // the data directory
	root string // dir/collections
	opt  Options
	log  *slog.Logger

	mu   sync.RWMutex // guards cols
	cols map[string]*Collection
}

// Open opens (creating if needed) the data directory dir and recovers every
// collection in it from its snapshot and log. Unfinished creations and
// drops are cleaned up; damage is ErrCorrupt, or with Options.Recover is
// moved to the quarantine folder (a collection without a readable
// meta.json goes there whole).
func Open(dir string, opt Options) (*Store, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.WithDefaults()
	s := &Store{dir: dir, root: filepath.Join(dir, "collections"), opt: opt, log: opt.Logger, cols: map[string]*Collection{}}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name := e.Name()
		dir := filepath.Join(s.root, name)
		if !e.IsDir() {
			continue
		}
		if strings.HasPrefix(name, ".deleted-") {
			s.log.Info("finishing the removal of a deleted collection", "dir", name)
			if err := os.RemoveAll(dir); err != nil {
				s.Close()
				return nil, err
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "meta.json")); errors.Is(err, os.ErrNotExist) {
			data, err := holdsData(dir)
			if err != nil {
				s.Close()
				return nil, err
			}
			if !data {
				// Create writes meta.json before any log: a directory
				// without either is a creation that did not finish, and
				// holds nothing.
				s.log.Warn("removing a collection whose creation did not finish", "dir", name)
				if err := os.RemoveAll(dir); err != nil {
					s.Close()
					return nil, err
				}
				continue
			}
		}
		c, err := openCollection(dir, s.dir, opt)
		if err != nil && opt.Recover && errors.Is(err, errMeta) {
			// Without its meta the collection cannot be opened: move it
			// whole to the quarantine.
			q := newQuarantine(s.dir, name, s.log)
			qerr := os.MkdirAll(filepath.Dir(q.dir), 0o755)
			if qerr == nil {
				qerr = os.Rename(dir, q.dir)
			}
			if qerr == nil {
				qerr = atomicfile.SyncDir(s.root)
			}
			if qerr != nil {
				s.Close()
				return nil, fmt.Errorf("collection %s: quarantine: %w", name, qerr)
			}
			s.log.Error("moved a collection without a readable meta.json to the quarantine folder", "dir", dir, "to", q.dir)
			continue
		}
		if errors.Is(err, errMeta) && errors.Is(err, os.ErrNotExist) {
			err = corruptf("%s is missing but the directory holds logs or snapshots", filepath.Join(dir, "meta.json"))
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("collection %s: %w", name, err)
		}
		s.cols[c.meta.Name] = c
		s.log.Info("opened collection", "name", c.meta.Name, "points", c.count, "seq", c.seq)
	}
	return s, nil
}

// Create makes a collection of shape m (checked and defaulted by CheckMeta)
// durably. A name that is taken, or that differs from a taken one only in
// case (each collection is a directory, and a case-insensitive file system
// would open the other), is ErrExists.
func (s *Store) Create(m Meta) (*Collection, error) {
	if err := CheckMeta(&m); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cols == nil {
		return nil, ErrClosed
	}
	if _, ok := s.cols[m.Name]; ok {
		return nil, fmt.Errorf("%w: collection %q already exists", ErrExists, m.Name)
	}
	for name := range s.cols {
		if strings.EqualFold(name, m.Name) {
			return nil, fmt.Errorf("%w: collection %q differs from the existing %q only in case: names must differ in more than case", ErrExists, m.Name, name)
		}
	}
	c, err := createCollection(s.root, s.dir, m, s.opt)
	if err != nil {
		return nil, fmt.Errorf("create collection %s: %w", m.Name, err)
	}
	s.cols[m.Name] = c
	return c, nil
}

// Collection returns the open collection name, or nil and false.
func (s *Store) Collection(name string) (*Collection, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.cols[name]
	return c, ok
}

// Collections returns the open collections in name order.
func (s *Store) Collections() []*Collection {
	s.mu.RLock()
	cols := make([]*Collection, 0, len(s.cols))
	for _, c := range s.cols {
		cols = append(cols, c)
	}
	s.mu.RUnlock()
	slices.SortFunc(cols, func(a, b *Collection) int { return strings.Compare(a.meta.Name, b.meta.Name) })
	return cols
}

// Drop closes collection name (waiting for a running rebuild) and removes
// its files. The directory is renamed first, durably, then removed: a
// crash in between finishes the removal at the next Open.
func (s *Store) Drop(name string) error {
	c, ok := s.Collection(name)
	if !ok {
		return fmt.Errorf("%w: collection %q not found", ErrNotFound, name)
	}
	// Close first without holding the store's lock, which every lookup
	// takes.
	if err := c.Close(); err != nil {
		s.log.Warn("closing a deleted collection", "name", name, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cols[name] != c {
		return fmt.Errorf("%w: collection %q not found", ErrNotFound, name)
	}
	tomb := filepath.Join(s.root, fmt.Sprintf(".deleted-%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(c.dir, tomb); err != nil {
		return fmt.Errorf("delete collection %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(s.root); err != nil {
		return fmt.Errorf("delete collection %s: %w", name, err)
	}
	delete(s.cols, name)
	if err := os.RemoveAll(tomb); err != nil {
		s.log.Warn("removing a deleted collection's files", "dir", tomb, "err", err)
	}
	return nil
}

// Snapshot persists every collection (at shutdown, so that the next Open
// replays little).
func (s *Store) Snapshot() error {
	var errs []error
	for _, c := range s.Collections() {
		if err := c.Snapshot(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, fmt.Errorf("collection %s: %w", c.meta.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close flushes and closes every collection's log; it persists nothing
// (call Snapshot first for that). Calls after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.cols {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("collection %s: %w", c.meta.Name, err))
		}
	}
	return errors.Join(errs...)
}
