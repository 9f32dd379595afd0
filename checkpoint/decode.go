package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// Decode parses a checkpoint held in b, checking everything the package
// doc lists. The returned tensors are in name order and share one freshly
// allocated backing array; they do not alias b.
func Decode(b []byte) (*File, error) { return decode(b, true) }

// decode is Decode; with verify false it skips the checksums, so that
// FuzzDecodeUnchecked can reach the code behind them.
func decode(b []byte, verify bool) (*File, error) {
	if len(b) < 8 {
		return nil, corrupt("truncated: %d bytes, want at least 8 for the header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		if n >= 1<<24 {
			// Not printed: for a file that is not a checkpoint the
			// length is eight bytes of whatever it holds (text, keys).
			return nil, corrupt("header length field is larger than the file of %d bytes and than any header (not a checkpoint)", len(b))
		}
		return nil, corrupt("header length %d is larger than the file: want at least %d bytes, got %d (truncated, or not a checkpoint)", n, 8+n, len(b))
	}
	hb, data := b[8:8+n], b[8+n:]
	if !utf8.Valid(hb) {
		return nil, corrupt("header is not valid UTF-8")
	}
	meta, raw, err := parseTop(hb)
	if err != nil {
		return nil, corrupt("header JSON: %v", err)
	}

	switch v, ok := meta[KeyFormat]; {
	case meta == nil:
		return nil, fmt.Errorf("%w: no __metadata__ in header (a plain safetensors file, not an %s)", ErrFormat, Format)
	case !ok:
		return nil, fmt.Errorf("%w: no %q key in __metadata__ (not an %s)", ErrFormat, KeyFormat, Format)
	case v != Format:
		return nil, fmt.Errorf("%w: format is %q, want %q", ErrFormat, v, Format)
	}
	v, ok := meta[KeyVersion]
	if !ok {
		return nil, corrupt("no %q key in __metadata__", KeyVersion)
	}
	ver, err := strconv.ParseUint(v, 10, 64)
	if err != nil || ver == 0 || strconv.FormatUint(ver, 10) != v {
		return nil, corrupt("version %q is not a positive integer", v)
	}
	if ver > Version {
		return nil, fmt.Errorf("%w: file has version %d; this build reads version %d and older", ErrVersion, ver, Version)
	}

	entries := make([]entry, 0, len(raw))
	for _, r := range raw {
		e, err := parseEntry(r.name, r.value)
		if err != nil {
			return nil, corrupt("header JSON: tensor %q: %v", r.name, err)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	// Layout: in name order, contiguous from 0 to len(data).
	var off, total uint64
	prev := ""
	for _, e := range entries {
		switch {
		case e.name == "":
			return nil, corrupt("tensor with empty name")
		case e.dtype != "F32":
			return nil, fmt.Errorf("%w: tensor %q has dtype %q; this build reads only F32", ErrFormat, e.name, e.dtype)
		case e.begin > e.end:
			return nil, corrupt("tensor %q: data_offsets [%d,%d] end before they begin", e.name, e.begin, e.end)
		case e.begin < off:
			return nil, corrupt("tensor %q: data_offsets [%d,%d] overlap tensor %q, which ends at %d (tensors must be laid out in name order)", e.name, e.begin, e.end, prev, off)
		case e.begin > off && prev == "":
			return nil, corrupt("tensor %q: data_offsets [%d,%d] leave a gap: the first tensor in name order must begin at 0", e.name, e.begin, e.end)
		case e.begin > off:
			return nil, corrupt("tensor %q: data_offsets [%d,%d] leave a gap after tensor %q, which ends at %d (tensors must be laid out in name order)", e.name, e.begin, e.end, prev, off)
		}
		elems, ok := numElems(e.shape)
		if !ok || elems*4 != e.end-e.begin {
			want := "more than 2^64"
			if ok {
				want = strconv.FormatUint(elems*4, 10)
			}
			return nil, corrupt("tensor %q: shape %v needs %s bytes, data_offsets [%d,%d] hold %d", e.name, e.shape, want, e.begin, e.end, e.end-e.begin)
		}
		for _, d := range e.shape {
			if d > math.MaxInt {
				return nil, corrupt("tensor %q: dimension %d of shape %v is too large", e.name, d, e.shape)
			}
		}
		off, prev = e.end, e.name
		total += elems
	}
	if off != uint64(len(data)) {
		if off > uint64(len(data)) {
			return nil, corrupt("truncated: header describes %d data bytes, so want %d bytes in all, got %d", off, 8+n+off, len(b))
		}
		return nil, corrupt("%d bytes after the last tensor's data", uint64(len(data))-off)
	}

	if verify {
		if err := verifyChecksums(meta, entries, data); err != nil {
			return nil, err
		}
	}

	f := &File{Meta: make(map[string]string, len(meta)), Tensors: make([]Tensor, len(entries))}
	for k, v := range meta {
		switch k {
		case KeyFormat, KeyVersion, KeyCRC32C, KeyHeaderCRC32C:
		default:
			f.Meta[k] = v
		}
	}
	// total*4 == len(data), checked above, so this allocation is bounded
	// by the input.
	all := make([]float32, total)
	for i := range all {
		all[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	for i, e := range entries {
		shape := make([]int, len(e.shape))
		for j, d := range e.shape {
			shape[j] = int(d)
		}
		lo, hi := e.begin/4, e.end/4
		f.Tensors[i] = Tensor{Name: e.name, Shape: shape, Data: all[lo:hi:hi]}
	}
	return f, nil
}

type rawEntry struct {
	name  string
	value json.RawMessage
}

// parseTop parses the header's top-level object: the __metadata__ object
// (nil if absent) and the raw value of every other key, rejecting
// duplicate keys and anything but whitespace after the object. Tensor
// entries are parsed later, after the version check, so that a newer
// version may change them.
func parseTop(h []byte) (map[string]string, []rawEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(h))
	if err := wantDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	var meta map[string]string
	var raw []rawEntry
	seen := make(map[string]bool)
	for dec.More() {
		key, err := wantString(dec)
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			if meta, err = parseMeta(dec); err != nil {
				return nil, nil, fmt.Errorf("%s: %v", metadataKey, err)
			}
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		raw = append(raw, rawEntry{key, v})
	}
	if err := wantDelim(dec, '}'); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("data after the header object at offset %d", dec.InputOffset())
	}
	return meta, raw, nil
}

func parseMeta(dec *json.Decoder) (map[string]string, error) {
	if err := wantDelim(dec, '{'); err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for dec.More() {
		k, err := wantString(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		v, err := wantString(dec)
		if err != nil {
			return nil, fmt.Errorf("key %q: %v", k, err)
		}
		m[k] = v
	}
	return m, wantDelim(dec, '}')
}

// parseEntry parses {"dtype":..., "shape":[...], "data_offsets":[b,e]},
// with each field exactly once and no others.
func parseEntry(name string, v json.RawMessage) (entry, error) {
	e := entry{name: name}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := wantDelim(dec, '{'); err != nil {
		return e, err
	}
	var haveDtype, haveShape, haveOffsets bool
	for dec.More() {
		k, err := wantString(dec)
		if err != nil {
			return e, err
		}
		dup := false
		switch k {
		case "dtype":
			dup, haveDtype = haveDtype, true
			e.dtype, err = wantString(dec)
		case "shape":
			dup, haveShape = haveShape, true
			e.shape, err = wantUints(dec)
			if e.shape == nil {
				e.shape = []uint64{}
			}
		case "data_offsets":
			dup, haveOffsets = haveOffsets, true
			var off []uint64
			off, err = wantUints(dec)
			if err == nil && len(off) != 2 {
				err = fmt.Errorf("%d numbers, want 2", len(off))
			}
			if err == nil {
				e.begin, e.end = off[0], off[1]
			}
		default:
			return e, fmt.Errorf("unknown field %q", k)
		}
		if dup {
			return e, fmt.Errorf("duplicate field %q", k)
		}
		if err != nil {
			return e, fmt.Errorf("%s: %v", k, err)
		}
	}
	if err := wantDelim(dec, '}'); err != nil {
		return e, err
	}
	switch {
	case !haveDtype:
		return e, errors.New(`missing "dtype"`)
	case !haveShape:
		return e, errors.New(`missing "shape"`)
	case !haveOffsets:
		return e, errors.New(`missing "data_offsets"`)
	}
	return e, nil
}

func wantDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if tok != d {
		return fmt.Errorf("got %v, want %q", tok, rune(d))
	}
	return nil
}

func wantString(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("got %v, want a string", tok)
	}
	return s, nil
}

// wantUints parses an array of non-negative integers.
func wantUints(dec *json.Decoder) ([]uint64, error) {
	if err := wantDelim(dec, '['); err != nil {
		return nil, err
	}
	var out []uint64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("got %v, want a number", tok)
		}
		u, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not an integer in [0, 2^64)", num)
		}
		out = append(out, u)
	}
	return out, wantDelim(dec, ']')
}

// verifyChecksums checks both checksums in meta: header_crc32c against
// the canonical header rebuilt from meta and entries (sorted by name), and
// crc32c against data.
func verifyChecksums(meta map[string]string, entries []entry, data []byte) error {
	hcrc, ok := meta[KeyHeaderCRC32C]
	if !ok {
		return corrupt("no %q key in __metadata__", KeyHeaderCRC32C)
	}
	if got := hex32(crc32.Checksum(appendHeader(nil, meta, entries, true), castagnoli)); got != hcrc {
		return corrupt("header checksum mismatch: %s %s, canonical header hashes to %s", KeyHeaderCRC32C, hcrc, got)
	}
	dcrc, ok := meta[KeyCRC32C]
	if !ok {
		return corrupt("no %q key in __metadata__", KeyCRC32C)
	}
	if got := hex32(crc32.Checksum(data, castagnoli)); got != dcrc {
		return corrupt("data checksum mismatch: %s %s, data hashes to %s", KeyCRC32C, dcrc, got)
	}
	return nil
}
