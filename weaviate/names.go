package weaviate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gomrl/mrl/server/api"
)

// uuidPrefix starts every point's UUID ("mrl" in ASCII); the last 16 hex
// digits are the id, big-endian, so UUID order is id order.
const uuidPrefix = "6d726c00-0000-0000-"

// UUID is the deterministic UUID of point id:
// 6d726c00-0000-0000-HHHH-HHHHHHHHHHHH with the id's 16 hex digits.
func UUID(id uint64) string {
	h := fmt.Sprintf("%016x", id)
	return uuidPrefix + h[:4] + "-" + h[4:]
}

// IDOf is the inverse of UUID; it reports an error for a UUID that UUID
// did not make (an object written by another program).
func IDOf(uuid string) (uint64, error) {
	rest, ok := strings.CutPrefix(strings.ToLower(uuid), uuidPrefix)
	if !ok || len(rest) != 17 || rest[4] != '-' {
		return 0, fmt.Errorf("weaviate: object %q: not a point UUID (want %sHHHH-HHHHHHHHHHHH)", uuid, uuidPrefix)
	}
	id, err := strconv.ParseUint(rest[:4]+rest[5:], 16, 64)
	if err != nil {
		return 0, fmt.Errorf("weaviate: object %q: not a point UUID: %v", uuid, err)
	}
	return id, nil
}

// ObjectID returns the object UUID of point id: UUID(n) for an integer
// id n, the UUID itself (canonical, lower case) for a UUID id. A UUID id
// in the namespace of the integer ids' UUIDs (6d726c00-0000-0000-…, not
// an RFC 9562 UUID: its version is 0) would read back as an integer and
// is refused with ErrPayload.
func ObjectID(id api.PointID) (string, error) {
	if n, ok := id.Uint64(); ok {
		return UUID(n), nil
	}
	s := id.String()
	if strings.HasPrefix(s, uuidPrefix) {
		return "", fmt.Errorf("%w: UUID id %s: the UUIDs %s… are the object ids of integer ids", ErrPayload, s, uuidPrefix)
	}
	return s, nil
}

// PointIDOf is the inverse of ObjectID: the point id of an object UUID.
func PointIDOf(uuid string) (api.PointID, error) {
	id, err := api.UUID(uuid)
	if err != nil {
		return api.PointID{}, fmt.Errorf("weaviate: object %q: %v", uuid, err)
	}
	if s := id.String(); strings.HasPrefix(s, uuidPrefix) {
		n, err := IDOf(s)
		if err != nil {
			return api.PointID{}, err
		}
		return api.IntID(n), nil
	}
	return id, nil
}

// Payload keys map to Weaviate property names, which must match
// [_A-Za-z][_0-9A-Za-z]* and are at most 230 bytes: a key k becomes
// "p_" + escape(k), where letters and digits stay, "_" becomes "__" and
// any other byte "_xx" (two lower-case hex digits). The mapping is
// one-to-one, so property names read back to the keys.
const (
	propPrefix  = "p_"
	maxPropName = 230
)

// PropertyName returns the property of payload key k, or an error when the
// escaped name would exceed Weaviate's limit.
func PropertyName(k string) (string, error) {
	if k == "" {
		return "", fmt.Errorf("%w: empty payload key", ErrPayload)
	}
	var b strings.Builder
	b.WriteString(propPrefix)
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '_':
			b.WriteString("__")
		default:
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	if b.Len() > maxPropName {
		return "", fmt.Errorf("%w: payload key %.40q...: its property name is %d bytes, Weaviate allows %d", ErrPayload, k, b.Len(), maxPropName)
	}
	return b.String(), nil
}

// KeyOf is the inverse of PropertyName; ok is false for a property this
// package did not name (IDProperty, or one added by hand).
func KeyOf(prop string) (string, bool) {
	rest, ok := strings.CutPrefix(prop, propPrefix)
	if !ok || rest == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '_':
			if i+1 < len(rest) && rest[i+1] == '_' {
				b.WriteByte('_')
				i++
				continue
			}
			if i+2 >= len(rest) {
				return "", false
			}
			x, err := strconv.ParseUint(rest[i+1:i+3], 16, 8)
			if err != nil || rest[i+1] >= 'A' && rest[i+1] <= 'F' || rest[i+2] >= 'A' && rest[i+2] <= 'F' {
				return "", false
			}
			c := byte(x)
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
				return "", false // PropertyName writes these plainly
			}
			b.WriteByte(c)
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

// dataType is the Weaviate data type of a payload value: text (with
// "field" tokenization, so that equality is on the whole string), number
// or boolean.
func dataType(v any) (string, bool) {
	switch v.(type) {
	case string:
		return "text", true
	case float64:
		return "number", true
	case bool:
		return "boolean", true
	}
	return "", false
}

// kindOf names a decoded JSON value's kind for error messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
