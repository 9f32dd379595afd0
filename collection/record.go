package collection

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// encodeUpsert writes the body of an upsert record:
//
//	n uint32, d uint32, then n times: id uint64, d float32,
//	payload length uint32, payload JSON (length 0: none)
func encodeUpsert(b []byte, pts []Point, d int) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pts)))
	b = binary.LittleEndian.AppendUint32(b, uint32(d))
	for _, p := range pts {
		b = binary.LittleEndian.AppendUint64(b, p.ID)
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
	return b
}

// decodeUpsert reads an upsert body written by encodeUpsert for dim d.
func decodeUpsert(b []byte, d int) ([]Point, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("upsert record: %d bytes, want at least 8", len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if got := int(binary.LittleEndian.Uint32(b[4:])); got != d {
		return nil, fmt.Errorf("upsert record: dim %d, collection has %d", got, d)
	}
	b = b[8:]
	if n > len(b)/(12+4*d) {
		return nil, fmt.Errorf("upsert record: %d points do not fit in %d bytes", n, len(b))
	}
	pts := make([]Point, n)
	slab := make([]float32, n*d)
	for i := range pts {
		if len(b) < 8+4*d+4 {
			return nil, fmt.Errorf("upsert record: point %d truncated", i)
		}
		pts[i].ID = binary.LittleEndian.Uint64(b)
		b = b[8:]
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

// encodeDelete writes the body of a delete record: n uint32, n ids uint64.
func encodeDelete(b []byte, ids []uint64) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint64(b, id)
	}
	return b
}

// decodeDelete reads a delete body.
func decodeDelete(b []byte) ([]uint64, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("delete record: %d bytes, want at least 4", len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if len(b) != 4+8*n {
		return nil, fmt.Errorf("delete record: %d ids in %d bytes, want %d", n, len(b), 4+8*n)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(b[4+8*i:])
	}
	return ids, nil
}
