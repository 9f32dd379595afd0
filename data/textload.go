package data

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pierrec/lz4/v4"
)

// DebianDescriptions is the name of the Debian package descriptions text
// set accepted by [LoadText].
const DebianDescriptions = "debian-descriptions"

// EnvAptListsDir overrides where [LoadText] looks for apt's lists.
const EnvAptListsDir = "MRL_APT_LISTS_DIR"

// AptListsDir is where apt keeps the lists it downloads.
const AptListsDir = "/var/lib/apt/lists"

// TextOptions control how a text set is read and split. The zero value
// means the defaults noted on each field.
type TextOptions struct {
	// Seed chooses the split (default 1). See [SplitOf].
	Seed uint64
	// ValFrac and TestFrac are the expected fractions of pairs put in the
	// validation and test splits (defaults 0.1 and 0.2; a negative value
	// means none). Their sum must be below 1. They apply when the data
	// comes as one set; separate files keep their own split.
	ValFrac, TestFrac float64
	// Dir is the directory of apt's lists for debian-descriptions (default
	// $MRL_APT_LISTS_DIR, else /var/lib/apt/lists).
	Dir string
	// MaxLineBytes bounds one line of an input file (default
	// DefaultMaxLineBytes, 1 MiB).
	MaxLineBytes int
	// MaxFileBytes bounds the decompressed size of one input file (default
	// 1 GiB), so a compression bomb ends in an error, not in memory
	// exhaustion.
	MaxFileBytes int64
}

// Defaults of TextOptions.
const (
	DefaultTextSeed     = 1
	DefaultValFrac      = 0.1
	DefaultTestFrac     = 0.2
	DefaultMaxFileBytes = 1 << 30
)

// WithDefaults returns o with its zero fields set to their defaults and
// negative fractions set to 0.
func (o TextOptions) WithDefaults() TextOptions {
	o.Seed = cmp.Or(o.Seed, DefaultTextSeed)
	frac := func(f *float64, def float64) {
		switch {
		case *f == 0:
			*f = def
		case *f < 0:
			*f = 0
		}
	}
	frac(&o.ValFrac, DefaultValFrac)
	frac(&o.TestFrac, DefaultTestFrac)
	if o.Dir == "" {
		o.Dir = cmp.Or(os.Getenv(EnvAptListsDir), AptListsDir)
	}
	o.MaxLineBytes = cmp.Or(o.MaxLineBytes, DefaultMaxLineBytes)
	o.MaxFileBytes = cmp.Or(o.MaxFileBytes, DefaultMaxFileBytes)
	return o
}

// Validate reports every problem of o (after WithDefaults) at once.
func (o TextOptions) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"ValFrac", o.ValFrac}, {"TestFrac", o.TestFrac}} {
		if !(f.v >= 0 && f.v < 1) {
			errs = append(errs, fmt.Errorf("data: text options: %s = %v, want [0,1)", f.name, f.v))
		}
	}
	if !(o.ValFrac+o.TestFrac < 1) {
		errs = append(errs, fmt.Errorf("data: text options: ValFrac + TestFrac = %v, want < 1 (train needs pairs)", o.ValFrac+o.TestFrac))
	}
	if o.MaxLineBytes < 1 {
		errs = append(errs, fmt.Errorf("data: text options: MaxLineBytes = %d, want ≥ 1", o.MaxLineBytes))
	}
	if o.MaxFileBytes < 1 {
		errs = append(errs, fmt.Errorf("data: text options: MaxFileBytes = %d, want ≥ 1", o.MaxFileBytes))
	}
	return errors.Join(errs...)
}

// Split indices of SplitOf.
const (
	SplitTrain = 0
	SplitVal   = 1
	SplitTest  = 2
)

// SplitOf assigns the item with the given key to a split: u, the first 8
// bytes of SHA-256(seed as 8 little-endian bytes ‖ key) read as a uint64
// over 2^64, is uniform in [0,1); the item goes to test when u < testFrac,
// to validation when u < testFrac+valFrac, else to train. An item's split
// depends only on its key and the seed, not on the other items, so when
// Debian's lists change between point releases a description that stays
// keeps its split, and the split sizes are only expected to match the
// fractions (binomially distributed).
func SplitOf(seed uint64, key string, valFrac, testFrac float64) int {
	h := sha256.New()
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	h.Write(s[:])
	io.WriteString(h, key)
	u := float64(binary.BigEndian.Uint64(h.Sum(nil)[:8])) / math.Exp2(64)
	switch {
	case u < testFrac:
		return SplitTest
	case u < testFrac+valFrac:
		return SplitVal
	}
	return SplitTrain
}

// LoadText loads a named text set: "debian-descriptions" (see
// [LoadDebianDescriptions]) or "jsonl:FILE" or "jsonl:TRAIN,VAL,TEST"
// (see [LoadPairs]).
func LoadText(ctx context.Context, name string, opts TextOptions) (*TextSet, error) {
	switch {
	case name == DebianDescriptions:
		return LoadDebianDescriptions(ctx, opts)
	case strings.HasPrefix(name, "jsonl:"):
		return LoadPairs(ctx, strings.TrimPrefix(name, "jsonl:"), opts)
	}
	return nil, fmt.Errorf("data: unknown text set %q; want %q, \"jsonl:FILE\" or \"jsonl:TRAIN,VAL,TEST\"", name, DebianDescriptions)
}

// ResolveText is what a command's --data and --pairs flags resolve to:
// exactly one of dataName (a name for [LoadText]) and pairs (a JSONL pairs
// file, or three comma-separated files TRAIN,VAL,TEST; see [LoadPairs])
// must be set.
func ResolveText(ctx context.Context, dataName, pairs string, opts TextOptions) (*TextSet, error) {
	switch {
	case dataName != "" && pairs != "":
		return nil, fmt.Errorf("data: give a text set (--data %s) or a pairs file (--pairs %s), not both", dataName, pairs)
	case pairs != "":
		return LoadPairs(ctx, pairs, opts)
	case dataName != "":
		return LoadText(ctx, dataName, opts)
	}
	return nil, fmt.Errorf("data: no text data: give --data %s or --pairs FILE.jsonl", DebianDescriptions)
}

// DebianLists returns the Translation-en and Packages lists in dir (plain,
// .lz4 or .gz), each sorted by name.
func DebianLists(dir string) (translations, packages []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: debian-descriptions: %v", ErrNotFound, err)
	}
	for _, e := range ents {
		n := e.Name()
		base := strings.TrimSuffix(strings.TrimSuffix(n, ".lz4"), ".gz")
		if !e.Type().IsRegular() {
			continue
		}
		switch {
		case strings.HasSuffix(base, "_i18n_Translation-en"):
			translations = append(translations, filepath.Join(dir, n))
		case strings.HasSuffix(base, "_Packages") && strings.Contains(base, "_binary-"):
			packages = append(packages, filepath.Join(dir, n))
		}
	}
	slices.Sort(translations)
	slices.Sort(packages)
	return translations, packages, nil
}

// LoadDebianDescriptions reads the debian-descriptions text set from apt's
// lists in opts.Dir: every *_i18n_Translation-en and *_binary-*_Packages
// list there (plain, lz4 or gzip, detected from the content), the Packages
// lists first, each kind in name order. A pair is a description: Query is
// its synopsis, Doc its long description (see [DebianDescription]), Label
// its section.
//
// Descriptions are kept once per Description-md5 (the first stanza wins;
// many -data and -common packages share a text) and once per long text
// (two synopses over one long text would give a query two relevant
// documents). Descriptions with an empty long text are dropped, and so are
// those whose md5 no Packages stanza names (packages of other
// architectures than the lists read). A description's section is the
// most frequent Section of the packages that carry its md5, ties broken by
// name. Each description goes to a split by [SplitOf] of its md5; within a
// split the pairs keep the lists' order. Classes are the sections of the
// kept pairs, sorted. Source lists the files in the order read (Packages
// lists, then Translation lists) and Hash is the hex SHA-256 of their
// bytes as stored (compressed), concatenated in that order.
func LoadDebianDescriptions(ctx context.Context, opts TextOptions) (*TextSet, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	trans, pkgs, err := DebianLists(opts.Dir)
	if err == nil && (len(trans) == 0 || len(pkgs) == 0) {
		err = fmt.Errorf("%w: debian-descriptions: %s holds %d Translation-en and %d Packages lists, want at least one of each",
			ErrNotFound, opts.Dir, len(trans), len(pkgs))
	}
	if err != nil {
		return nil, fmt.Errorf("%w; fetch them with `apt-get update -o Acquire::Languages=en` (as root), or set $%s to a directory holding them",
			err, EnvAptListsDir)
	}
	sum := sha256.New()
	check := ctx.Err

	// md5 -> section -> number of packages.
	sections := map[string]map[string]int{}
	for _, path := range pkgs {
		var ps []DebianPackage
		err := readList(path, sum, opts, func(r io.Reader) (err error) {
			ps, err = readPackages(r, opts.MaxLineBytes, check)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.MD5 == "" || p.Section == "" {
				continue
			}
			m := sections[p.MD5]
			if m == nil {
				m = map[string]int{}
				sections[p.MD5] = m
			}
			m[p.Section]++
		}
	}

	set := &TextSet{Name: DebianDescriptions, Source: strings.Join(append(slices.Clone(pkgs), trans...), ", ")}
	seenMD5, seenDoc := map[string]bool{}, map[string]bool{}
	type kept struct {
		pair    TextPair
		section string
		split   int
	}
	var all []kept
	for _, path := range trans {
		var ds []DebianDescription
		err := readList(path, sum, opts, func(r io.Reader) (err error) {
			ds, err = readTranslation(r, opts.MaxLineBytes, check)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			set.Stats.Read++
			switch {
			case seenMD5[d.MD5]:
				set.Stats.DuplicateKey++
				continue
			case d.Long == "":
				seenMD5[d.MD5] = true
				set.Stats.EmptyDoc++
				continue
			case seenDoc[d.Long]:
				seenMD5[d.MD5] = true
				set.Stats.DuplicateDoc++
				continue
			}
			seenMD5[d.MD5] = true
			sec := mostFrequent(sections[d.MD5])
			if sec == "" {
				set.Stats.NoLabel++
				continue
			}
			seenDoc[d.Long] = true
			all = append(all, kept{TextPair{Query: d.Synopsis, Doc: d.Long}, sec, SplitOf(opts.Seed, d.MD5, opts.ValFrac, opts.TestFrac)})
		}
	}
	classIndex := map[string]int32{}
	for _, k := range all {
		classIndex[k.section] = 0
	}
	for _, c := range slices.Sorted(maps.Keys(classIndex)) {
		classIndex[c] = int32(len(set.Classes))
		set.Classes = append(set.Classes, c)
	}
	for _, k := range all {
		k.pair.Label = classIndex[k.section]
		switch k.split {
		case SplitTest:
			set.Test = append(set.Test, k.pair)
		case SplitVal:
			set.Val = append(set.Val, k.pair)
		default:
			set.Train = append(set.Train, k.pair)
		}
	}
	set.Stats.Kept = len(all)
	set.Hash = hex.EncodeToString(sum.Sum(nil))
	return set, nil
}

// mostFrequent returns the key with the largest count, the smallest key
// among ties, or "" for an empty map.
func mostFrequent(m map[string]int) string {
	best, n := "", 0
	for k, c := range m {
		if c > n || c == n && k < best {
			best, n = k, c
		}
	}
	return best
}

// readList opens path, feeds its stored bytes to sum, and calls parse on
// its decompressed content (plain, lz4 frames or gzip, from the magic
// bytes), bounded by opts.MaxFileBytes. Errors name the file.
func readList(path string, sum hash.Hash, opts TextOptions, parse func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := decompress(io.TeeReader(f, sum), opts.MaxFileBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := parse(r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Hash what parse did not need to read (normally nothing).
	if _, err := io.Copy(sum, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Magic numbers of the compressed formats decompress detects.
var (
	lz4Magic  = []byte{0x04, 0x22, 0x4d, 0x18}
	gzipMagic = []byte{0x1f, 0x8b}
)

// decompress returns a reader of r's content, decompressed when it starts
// with an lz4 frame or gzip magic, that fails with ErrFormat after limit
// bytes.
func decompress(r io.Reader, limit int64) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, err
	}
	var out io.Reader = br
	switch {
	case bytes.HasPrefix(head, lz4Magic):
		out = lz4.NewReader(br)
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
		}
		out = zr
	}
	return &limitReader{r: out, n: limit, limit: limit}, nil
}

// limitReader is io.LimitReader that reports an error instead of EOF when
// the input goes past the limit.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One more byte tells a file of exactly limit bytes from a longer one.
		var b [1]byte
		if n, err := l.r.Read(b[:]); n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: more than %d bytes after decompression", ErrFormat, l.limit)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
