package collection

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/gomrl/mrl/server/api"
)

// The bodies of log records (see wal.go for the record framing). The op
// byte of a record versions its body: opUpsert and opDelete (the formats
// from before UUID ids) carry integer ids only, opUpsertIDs and
// opDeleteIDs carry typed ids. A batch whose ids are all integers is
// written with the old ops, so a log of such writes is byte for byte what
// builds from before UUIDs wrote and read; a batch holding a UUID uses the
// new ops, which those builds refuse (an unknown op: ErrCorrupt) rather
// than misread. A typed id is
//
//	kind byte: idInt (then the id, uint64) or idUUID (then its 16 bytes,
//	in the order of its text)
const (
	idInt  byte = 0
	idUUID byte = 1
)

// knownOp reports whether op is a record op this build writes or reads.
func knownOp(op byte) bool {
	return op == opUpsert || op == opDelete || op == opUpsertIDs || op == opDeleteIDs
}

// allInts reports whether every id is an integer.
func allInts[T any](xs []T, id func(T) PointID) bool {
	for _, x := range xs {
		if id(x).IsUUID() {
			return false
		}
	}
	return true
}

// appendID appends a typed id.
func appendID(b []byte, id PointID) []byte {
	if u, ok := id.UUIDBytes(); ok {
		return append(append(b, idUUID), u[:]...)
	}
	n, _ := id.Uint64()
	return binary.LittleEndian.AppendUint64(append(b, idInt), n)
}

// readID reads a typed id from the start of b and returns its length.
func readID(b []byte) (PointID, int, error) {
	if len(b) < 1 {
		return PointID{}, 0, fmt.Errorf("id kind missing")
	}
	switch b[0] {
	case idInt:
		if len(b) < 9 {
			return PointID{}, 0, fmt.Errorf("integer id truncated")
		}
		return api.IntID(binary.LittleEndian.Uint64(b[1:])), 9, nil
	case idUUID:
		if len(b) < 17 {
			return PointID{}, 0, fmt.Errorf("UUID id truncated")
		}
		return api.UUIDFromBytes([16]byte(b[1:17])), 17, nil
	}
	return PointID{}, 0, fmt.Errorf("id kind %d (want %d, integer, or %d, UUID)", b[0], idInt, idUUID)
}

// encodeUpsert writes the body of an upsert record and returns its op:
//
//	n uint32, d uint32, then n times: id, d float32,
//	payload length uint32, payload JSON (length 0: none)
//
// where id is a uint64 for opUpsert (all ids are integers) and a typed id
// for opUpsertIDs.
func encodeUpsert(b []byte, pts []Point, d int) (byte, []byte) {
	op := opUpsertIDs
	if allInts(pts, func(p Point) PointID { return p.ID }) {
		op = opUpsert
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pts)))
	b = binary.LittleEndian.AppendUint32(b, uint32(d))
	for _, p := range pts {
		if op == opUpsert {
			n, _ := p.ID.Uint64()
			b = binary.LittleEndian.AppendUint64(b, n)
		} else {
			b = appendID(b, p.ID)
		}
		for _, x := range p.Vector {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		if len(p.Payload) == 0 {
			b = binary.LittleEndian.AppendUint32(b, 0)
			continue
		}
		js, err := json.Marshal(p.Payload)
		if err != nil {
			// Payloads are validated scalars; Marshal cannot fail on them.
			panic("collection: marshal validated payload: " + err.Error())
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
		b = append(b, js...)
	}
	return op, b
}

// decodeUpsert reads an upsert body written by encodeUpsert with op for
// dim d.
func decodeUpsert(op byte, b []byte, d int) ([]Point, error) {
	if op != opUpsert && op != opUpsertIDs {
		return nil, fmt.Errorf("upsert record: op %d", op)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("upsert record: %d bytes, want at least 8", len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if got := int(binary.LittleEndian.Uint32(b[4:])); got != d {
		return nil, fmt.Errorf("upsert record: dim %d, collection has %d", got, d)
	}
	b = b[8:]
	minID := 8
	if op == opUpsertIDs {
		minID = 9
	}
	if n > len(b)/(minID+4+4*d) {
		return nil, fmt.Errorf("upsert record: %d points do not fit in %d bytes", n, len(b))
	}
	pts := make([]Point, n)
	slab := make([]float32, n*d)
	for i := range pts {
		if op == opUpsert {
			if len(b) < 8 {
				return nil, fmt.Errorf("upsert record: point %d truncated", i)
			}
			pts[i].ID = api.IntID(binary.LittleEndian.Uint64(b))
			b = b[8:]
		} else {
			id, k, err := readID(b)
			if err != nil {
				return nil, fmt.Errorf("upsert record: point %d: %v", i, err)
			}
			pts[i].ID = id
			b = b[k:]
		}
		if len(b) < 4*d+4 {
			return nil, fmt.Errorf("upsert record: point %d truncated", i)
		}
		v := slab[i*d : (i+1)*d : (i+1)*d]
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		pts[i].Vector = v
		b = b[4*d:]
		pl := int(binary.LittleEndian.Uint32(b))
		b = b[4:]
		if pl > len(b) {
			return nil, fmt.Errorf("upsert record: point %d payload of %d bytes, %d left", i, pl, len(b))
		}
		if pl > 0 {
			if err := json.Unmarshal(b[:pl], &pts[i].Payload); err != nil {
				return nil, fmt.Errorf("upsert record: point %d payload: %w", i, err)
			}
			b = b[pl:]
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("upsert record: %d trailing bytes", len(b))
	}
	return pts, nil
}

// encodeDelete writes the body of a delete record and returns its op:
// n uint32, then n ids, each a uint64 for opDelete (all ids are integers)
// or a typed id for opDeleteIDs.
func encodeDelete(b []byte, ids []PointID) (byte, []byte) {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	if !allInts(ids, func(id PointID) PointID { return id }) {
		for _, id := range ids {
			b = appendID(b, id)
		}
		return opDeleteIDs, b
	}
	for _, id := range ids {
		n, _ := id.Uint64()
		b = binary.LittleEndian.AppendUint64(b, n)
	}
	return opDelete, b
}

// decodeDelete reads a delete body written with op.
func decodeDelete(op byte, b []byte) ([]PointID, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("delete record: %d bytes, want at least 4", len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	switch op {
	case opDelete:
		if len(b) != 4+8*n {
			return nil, fmt.Errorf("delete record: %d ids in %d bytes, want %d", n, len(b), 4+8*n)
		}
		ids := make([]PointID, n)
		for i := range ids {
			ids[i] = api.IntID(binary.LittleEndian.Uint64(b[4+8*i:]))
		}
		return ids, nil
	case opDeleteIDs:
		b = b[4:]
		if n > len(b)/9 {
			return nil, fmt.Errorf("delete record: %d ids do not fit in %d bytes", n, len(b))
		}
		ids := make([]PointID, n)
		for i := range ids {
			id, k, err := readID(b)
			if err != nil {
				return nil, fmt.Errorf("delete record: id %d: %v", i, err)
			}
			ids[i], b = id, b[k:]
		}
		if len(b) != 0 {
			return nil, fmt.Errorf("delete record: %d trailing bytes", len(b))
		}
		return ids, nil
	}
	return nil, fmt.Errorf("delete record: op %d", op)
}
