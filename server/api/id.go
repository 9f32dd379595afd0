package api

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PointID is a point's id: an unsigned 64-bit integer or a UUID, as in
// Qdrant. The zero value is the integer 0. PointIDs are comparable (==,
// map keys) and ordered by Compare: every integer before every UUID,
// integers by value, UUIDs by their 16 bytes (which is the order of their
// canonical text).
//
// In JSON an integer id is a number (42) and a UUID a string; a UUID is
// accepted in the forms Qdrant documents, hyphenated
// ("550e8400-e29b-41d4-a716-446655440000"), simple (32 hex digits) and
// URN ("urn:uuid:…"), and also braced ("{…}"), with hex digits of either
// case, and is always written back in the canonical lower-case hyphenated
// form. Any other string (a decimal number in quotes, a name) is refused:
// ids are integers or UUIDs only. As text (MarshalText, a URL path or the
// scroll cursor) an integer is its decimal digits and a UUID its canonical
// form.
type PointID struct {
	uuid   bool
	hi, lo uint64 // an integer: lo; a UUID: its bytes, big-endian halves
}

// IntID returns the integer id n.
func IntID(n uint64) PointID { return PointID{lo: n} }

// UUIDFromBytes returns the UUID id of b.
func UUIDFromBytes(b [16]byte) PointID {
	return PointID{uuid: true, hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// ErrID reports text that is not a point id.
var ErrID = errors.New("not a point id")

// UUID parses a UUID id in one of the accepted forms (see PointID).
func UUID(s string) (PointID, error) {
	in := s
	switch {
	case len(s) == 38 && s[0] == '{' && s[37] == '}':
		s = s[1:37]
	case len(s) == 45 && strings.EqualFold(s[:9], "urn:uuid:"):
		s = s[9:]
	}
	var hexDigits string
	switch len(s) {
	case 32:
		hexDigits = s
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return PointID{}, fmt.Errorf("%w: %q is not a UUID (want 8-4-4-4-12 hex digits)", ErrID, in)
		}
		hexDigits = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	default:
		return PointID{}, fmt.Errorf("%w: %q is not a UUID (want 8-4-4-4-12 hex digits)", ErrID, in)
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(hexDigits)); err != nil {
		return PointID{}, fmt.Errorf("%w: %q is not a UUID (want 8-4-4-4-12 hex digits)", ErrID, in)
	}
	return UUIDFromBytes(b), nil
}

// MustUUID is UUID for constants; it panics on a malformed UUID.
func MustUUID(s string) PointID {
	id, err := UUID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// ParseID parses an id as text: decimal digits are an integer id
// (0..18446744073709551615), anything else must be a UUID.
func ParseID(s string) (PointID, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' && len(s) <= 20 && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return PointID{}, fmt.Errorf("%w: %s is out of range (0..18446744073709551615)", ErrID, s)
		}
		return IntID(n), nil
	}
	id, err := UUID(s)
	if err != nil {
		return PointID{}, fmt.Errorf("%w: %q: want an unsigned integer (0..18446744073709551615) or a UUID", ErrID, s)
	}
	return id, nil
}

// IsUUID reports whether id is a UUID.
func (id PointID) IsUUID() bool { return id.uuid }

// Uint64 returns the integer id and true, or 0 and false for a UUID.
func (id PointID) Uint64() (uint64, bool) {
	if id.uuid {
		return 0, false
	}
	return id.lo, true
}

// UUIDBytes returns the UUID's bytes and true, or false for an integer id.
func (id PointID) UUIDBytes() ([16]byte, bool) {
	var b [16]byte
	if !id.uuid {
		return b, false
	}
	binary.BigEndian.PutUint64(b[:8], id.hi)
	binary.BigEndian.PutUint64(b[8:], id.lo)
	return b, true
}

// String returns the id's text: decimal digits, or the canonical UUID.
func (id PointID) String() string { return string(id.AppendText(nil)) }

// AppendText appends the id's text (see String) to b.
func (id PointID) AppendText(b []byte) []byte {
	if !id.uuid {
		return strconv.AppendUint(b, id.lo, 10)
	}
	u, _ := id.UUIDBytes()
	var h [32]byte
	hex.Encode(h[:], u[:])
	b = append(b, h[:8]...)
	b = append(b, '-')
	b = append(b, h[8:12]...)
	b = append(b, '-')
	b = append(b, h[12:16]...)
	b = append(b, '-')
	b = append(b, h[16:20]...)
	b = append(b, '-')
	return append(b, h[20:]...)
}

// Compare orders ids: -1, 0 or +1 as id is before, equal to or after b.
// Integers come before UUIDs.
func (id PointID) Compare(b PointID) int {
	switch {
	case id.uuid != b.uuid:
		if id.uuid {
			return 1
		}
		return -1
	case id.hi != b.hi:
		if id.hi < b.hi {
			return -1
		}
		return 1
	case id.lo != b.lo:
		if id.lo < b.lo {
			return -1
		}
		return 1
	}
	return 0
}

// MarshalText implements encoding.TextMarshaler (see String).
func (id PointID) MarshalText() ([]byte, error) { return id.AppendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler (see ParseID).
func (id *PointID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// MarshalJSON writes an integer id as a number and a UUID as a string.
func (id PointID) MarshalJSON() ([]byte, error) {
	if !id.uuid {
		return strconv.AppendUint(nil, id.lo, 10), nil
	}
	b := append(make([]byte, 0, 38), '"')
	return append(id.AppendText(b), '"'), nil
}

// UnmarshalJSON reads a number (an unsigned integer, digits only) or a
// string holding a UUID; see PointID for the accepted forms. Its errors
// say what was wrong, not where (the caller knows the field).
func (id *PointID) UnmarshalJSON(b []byte) error {
	v, err := parseJSONID(b)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

func parseJSONID(b []byte) (PointID, error) {
	s := string(b)
	switch {
	case s == "":
		return PointID{}, fmt.Errorf("%w: empty", ErrID)
	case s[0] == '"':
		u, err := strconv.Unquote(s)
		if err != nil {
			return PointID{}, fmt.Errorf("%w: %s is not a JSON string", ErrID, s)
		}
		if u == "" {
			return PointID{}, fmt.Errorf("%w: an empty string; want an unsigned integer or a UUID string", ErrID)
		}
		id, err := UUID(u)
		if err != nil {
			return PointID{}, fmt.Errorf("%w: the string %q is not a UUID; want an unsigned integer (a JSON number) or a UUID string", ErrID, u)
		}
		return id, nil
	case s[0] >= '0' && s[0] <= '9':
		if strings.Trim(s, "0123456789") != "" {
			return PointID{}, fmt.Errorf("%w: %s is not an unsigned integer", ErrID, s)
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return PointID{}, fmt.Errorf("%w: %s is out of range (0..18446744073709551615)", ErrID, s)
		}
		return IntID(n), nil
	case s[0] == '-':
		return PointID{}, fmt.Errorf("%w: %s is negative; want an unsigned integer or a UUID string", ErrID, s)
	}
	return PointID{}, fmt.Errorf("%w: got JSON %s, want an unsigned integer or a UUID string", ErrID, s)
}
