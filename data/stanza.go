package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Debian's control-file format (deb822, RFC 822 style), as apt's lists
// (Packages, Translation-en) use it: stanzas of "Field: value" lines,
// separated by blank lines; a line starting with a space or a tab continues
// the previous field. Field names are case-insensitive.

// DefaultMaxLineBytes bounds one line of a Debian list or a JSONL pairs
// file unless the options say otherwise.
const DefaultMaxLineBytes = 1 << 20

// maxStanzaLines bounds the lines of one stanza (the longest real one has a
// few hundred), so that input without blank lines cannot grow one stanza
// without limit.
const maxStanzaLines = 1 << 16

// field is one field of a stanza: its name as written, its first-line value
// and its continuation lines (each without its leading space or tab).
type field struct {
	name  string
	value string
	cont  []string
	line  int // 1-based line of the field's first line
}

// stanza is one paragraph of a control file.
type stanza struct {
	fields []field
	line   int // 1-based line of the stanza's first field
}

// get returns the field named name (case-insensitive) or nil.
func (s *stanza) get(name string) *field {
	for i := range s.fields {
		if strings.EqualFold(s.fields[i].name, name) {
			return &s.fields[i]
		}
	}
	return nil
}

// stanzaReader reads stanzas from a control file, line by line, with line
// numbers for errors.
type stanzaReader struct {
	sc   *bufio.Scanner
	line int
	max  int
}

func newStanzaReader(r io.Reader, maxLine int) *stanzaReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine+1)
	return &stanzaReader{sc: sc, max: maxLine}
}

// errorf returns an ErrFormat error naming the current line.
func (r *stanzaReader) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %w: %s", r.line, ErrFormat, fmt.Sprintf(format, args...))
}

// next returns the next stanza, or io.EOF after the last one. Invalid UTF-8
// is replaced by U+FFFD; a carriage return ending a line is dropped.
func (r *stanzaReader) next() (*stanza, error) {
	var s *stanza
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSuffix(r.sc.Bytes(), []byte{'\r'})
		if len(bytes.TrimSpace(b)) == 0 {
			if s != nil {
				return s, nil
			}
			continue
		}
		line := string(b)
		if !utf8.ValidString(line) {
			line = strings.ToValidUTF8(line, "\uFFFD")
		}
		if line[0] == ' ' || line[0] == '\t' {
			if s == nil || len(s.fields) == 0 {
				return nil, r.errorf("continuation line %.40q outside a field", line)
			}
			f := &s.fields[len(s.fields)-1]
			if len(f.cont) >= maxStanzaLines {
				return nil, r.errorf("field %s has more than %d lines", f.name, maxStanzaLines)
			}
			f.cont = append(f.cont, line[1:])
			continue
		}
		if line[0] == '#' && s == nil {
			continue // a comment between stanzas
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, r.errorf("want \"Field: value\", got %.60q", line)
		}
		if s == nil {
			s = &stanza{line: r.line}
		}
		if len(s.fields) >= maxStanzaLines {
			return nil, r.errorf("stanza at line %d has more than %d fields", s.line, maxStanzaLines)
		}
		if s.get(name) != nil {
			return nil, r.errorf("field %s repeated in the stanza at line %d", name, s.line)
		}
		s.fields = append(s.fields, field{name: name, value: strings.TrimSpace(value), line: r.line})
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: %w: longer than %d bytes", r.line+1, ErrFormat, r.max)
		}
		return nil, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	if s != nil {
		return s, nil
	}
	return nil, io.EOF
}
