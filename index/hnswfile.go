package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gomrl/mrl/internal/atomicfile"
)

// hnswTag is the tag of the graph section. It is lower-case, so Decode
// (and a reader that knows no graphs) skips it and reads the vectors.
const hnswTag = "hnsw"

// hnswHead is the size of the fixed part of the "hnsw" payload.
const hnswHead = 40

// EncodeHNSW writes h's vectors and graph in the index file format to w:
// the sections Encode writes, then an "hnsw" section whose payload is
//
//	 0  graph dim uint32
//	 4  M uint32
//	 8  EfConstruction uint32
//	12  EfSearch uint32 (h.Ef() when written)
//	16  entry point int32 (−1 when N = 0)
//	20  level of the entry point uint32
//	24  N uint64
//	32  U uint64, the number of upper-layer lists (the sum of the levels)
//	40  levels, N uint8, zero-padded to a multiple of 4
//	    links, (N·2M + U·M) int32: each node's layer-0 slots in index
//	      order, then the upper-layer slots (node order, then level)
//	    counts, (N + U) uint16
//
// The graph is stored as built, so a decoded HNSW searches exactly as h.
func EncodeHNSW(w io.Writer, h *HNSW) error {
	size := hnswPayloadSize(h)
	if err := encodeVectors(w, h.v, sectionSize(size)); err != nil {
		return err
	}
	le := binary.LittleEndian
	buf := make([]byte, 0, 1<<16)
	return writeSection(w, hnswTag, size, buf, func(put func(b []byte) error) error {
		b := buf[:0]
		b = le.AppendUint32(b, uint32(h.dim))
		b = le.AppendUint32(b, uint32(h.m))
		b = le.AppendUint32(b, uint32(h.efc))
		b = le.AppendUint32(b, uint32(min(h.Ef(), 1<<30)))
		b = le.AppendUint32(b, uint32(h.entry))
		b = le.AppendUint32(b, uint32(h.maxLevel))
		b = le.AppendUint64(b, uint64(h.v.n))
		b = le.AppendUint64(b, uint64(len(h.counts)))
		flush := func(need int) error {
			if len(b)+need <= cap(b) {
				return nil
			}
			err := put(b)
			b = buf[:0]
			return err
		}
		for _, l := range h.levels {
			if err := flush(1); err != nil {
				return err
			}
			b = append(b, l)
		}
		for range pad4(len(h.levels)) {
			if err := flush(1); err != nil {
				return err
			}
			b = append(b, 0)
		}
		putLinks := func(x []int32) error {
			for _, j := range x {
				if err := flush(4); err != nil {
					return err
				}
				b = le.AppendUint32(b, uint32(j))
			}
			return nil
		}
		for i := range int32(h.v.n) {
			nb, _ := h.list(i, 0)
			if err := putLinks(nb); err != nil {
				return err
			}
		}
		if err := putLinks(h.links); err != nil {
			return err
		}
		for i := range int32(h.v.n) {
			if err := flush(2); err != nil {
				return err
			}
			_, c := h.list(i, 0)
			b = le.AppendUint16(b, uint16(*c))
		}
		for _, c := range h.counts {
			if err := flush(2); err != nil {
				return err
			}
			b = le.AppendUint16(b, uint16(c))
		}
		return put(b)
	})
}

func pad4(n int) int { return (4 - n%4) % 4 }

func hnswPayloadSize(h *HNSW) uint64 {
	n := len(h.levels)
	return uint64(hnswHead + n + pad4(n) + 4*(n*h.m0+len(h.links)) + 2*(n+len(h.counts)))
}

// DecodeHNSW reads an index file held in b that EncodeHNSW wrote. Its
// errors are those of Decode, and ErrFormat for a file without a graph
// section, ErrCorrupt for a graph section that does not fit the vectors
// or holds an impossible graph (a neighbour out of range or below the
// layer, a count above capacity, a wrong entry point).
func DecodeHNSW(b []byte) (*HNSW, error) {
	v, err := Decode(b) // checks the header and every section's checksum
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	var payload []byte
	found := false
	for off := uint64(headerSize); off < uint64(len(b)); {
		size := le.Uint64(b[off+8:])
		if string(b[off:off+4]) == hnswTag {
			if found {
				return nil, fmt.Errorf("%w: section %q repeated", ErrCorrupt, hnswTag)
			}
			payload, found = b[off+sectionHeader:off+sectionHeader+size], true
		}
		off += sectionSize(size)
	}
	if !found {
		return nil, fmt.Errorf("%w: no %q graph section", ErrFormat, hnswTag)
	}
	h, err := decodeGraph(v, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: section %q: %s", ErrCorrupt, hnswTag, err)
	}
	return h, nil
}

// decodeGraph rebuilds an HNSW over v from an "hnsw" payload; its errors
// say what is wrong (DecodeHNSW wraps them in ErrCorrupt).
func decodeGraph(v *Vectors, p []byte) (*HNSW, error) {
	le := binary.LittleEndian
	if len(p) < hnswHead {
		return nil, fmt.Errorf("%d bytes, less than the %d-byte head", len(p), hnswHead)
	}
	dim, m, efc, ef := le.Uint32(p), le.Uint32(p[4:]), le.Uint32(p[8:]), le.Uint32(p[12:])
	entry, maxLevel := int32(le.Uint32(p[16:])), le.Uint32(p[20:])
	n, u := le.Uint64(p[24:]), le.Uint64(p[32:])
	switch {
	case dim < 1 || uint64(dim) > uint64(v.d):
		return nil, fmt.Errorf("graph dim %d of %d", dim, v.d)
	case m < 2 || m > MaxHNSWM || efc < 1 || efc > 1<<30 || ef < 1 || ef > 1<<30:
		return nil, fmt.Errorf("options M %d, EfConstruction %d, EfSearch %d", m, efc, ef)
	case n != uint64(v.n):
		return nil, fmt.Errorf("%d nodes for %d rows", n, v.n)
	case u > n*maxHNSWLevel:
		return nil, fmt.Errorf("%d upper lists for %d nodes", u, n)
	}
	nn, nu, mm := int(n), int(u), int(m)
	want := uint64(hnswHead+nn+pad4(nn)) + 4*(n*2*uint64(m)+u*uint64(m)) + 2*(n+u)
	if uint64(len(p)) != want {
		return nil, fmt.Errorf("%d bytes, want %d", len(p), want)
	}
	h := newHNSWGraph(v, int(dim), mm)
	h.efc, h.entry, h.maxLevel = int(efc), entry, int(maxLevel)
	h.ef.Store(int64(ef))
	p = p[hnswHead:]
	h.levels = make([]uint8, nn)
	h.upper = make([]int32, nn)
	total := 0
	for i := range h.levels {
		l := p[i]
		if l > maxHNSWLevel {
			return nil, fmt.Errorf("node %d: level %d", i, l)
		}
		h.levels[i] = l
		h.upper[i] = int32(total)
		total += int(l)
	}
	if total != nu {
		return nil, fmt.Errorf("levels sum to %d, header says %d upper lists", total, nu)
	}
	p = p[nn+pad4(nn):]
	for i := range int32(nn) {
		nb, _ := h.list(i, 0)
		for t := range nb {
			nb[t] = int32(le.Uint32(p[4*t:]))
		}
		p = p[4*len(nb):]
	}
	h.links = make([]int32, nu*mm)
	if !copyLE(h.links, p) {
		for i := range h.links {
			h.links[i] = int32(le.Uint32(p[4*i:]))
		}
	}
	p = p[4*len(h.links):]
	for i := range int32(nn) {
		_, c := h.list(i, 0)
		*c = int32(le.Uint16(p[2*i:]))
	}
	p = p[2*nn:]
	h.counts = make([]int32, nu)
	for i := range h.counts {
		h.counts[i] = int32(le.Uint16(p[2*i:]))
	}
	switch {
	case nn == 0 && (entry != -1 || maxLevel != 0):
		return nil, fmt.Errorf("empty graph with entry %d at level %d", entry, maxLevel)
	case nn > 0 && (entry < 0 || int(entry) >= nn || uint32(h.levels[entry]) != maxLevel):
		return nil, fmt.Errorf("entry %d at level %d", entry, maxLevel)
	}
	for i := range int32(nn) {
		for l := 0; l <= int(h.levels[i]); l++ {
			nb, c := h.list(i, l)
			if *c < 0 || int(*c) > len(nb) {
				return nil, fmt.Errorf("node %d, layer %d: %d neighbours, capacity %d", i, l, *c, len(nb))
			}
			for _, j := range nb[:*c] {
				if j < 0 || int(j) >= nn || int(h.levels[j]) < l {
					return nil, fmt.Errorf("node %d, layer %d: neighbour %d out of range or below the layer", i, l, j)
				}
			}
		}
	}
	return h, nil
}

// SaveHNSW writes h (vectors and graph) to path atomically, as Save does.
func SaveHNSW(path string, h *HNSW) error {
	err := atomicfile.Write(path, func(w io.Writer) error { return EncodeHNSW(w, h) })
	if err != nil {
		return fmt.Errorf("index: save %s: %w", path, err)
	}
	return nil
}

// LoadHNSW reads the index file with a graph at path, mapped (see
// ReadMapped; DecodeHNSW for its errors).
func LoadHNSW(path string) (*HNSW, error) { return loadFile(path, DecodeHNSW) }

// DecodeAny decodes an index file with its HNSW graph if it has one (h is
// nil for a file of vectors only). It is the one way to read a file whose
// kind the caller does not know.
func DecodeAny(b []byte) (v *Vectors, h *HNSW, err error) {
	h, err = DecodeHNSW(b)
	if err == nil {
		return h.Vectors(), h, nil
	}
	if !errors.Is(err, ErrFormat) {
		return nil, nil, err
	}
	v, err = Decode(b)
	return v, nil, err
}

// graphFile is an index file's vectors and optional graph, for Open.
type graphFile struct {
	v *Vectors
	h *HNSW
}

// Open reads an index file (through a read-only mapping, as Load does)
// with its HNSW graph if it has one.
func Open(path string) (*Vectors, *HNSW, error) {
	f, err := loadFile(path, func(b []byte) (graphFile, error) {
		v, h, err := DecodeAny(b)
		return graphFile{v, h}, err
	})
	return f.v, f.h, err
}
