package data

import (
	"fmt"
	"io"
	"strings"
)

// DebianDescription is one stanza of an apt Translation list
// (Translation-en): a package's description in English.
type DebianDescription struct {
	Package string // the package the stanza names
	MD5     string // Description-md5: lower-case hex MD5 of the original description
	// Synopsis is the description's first line, trimmed.
	Synopsis string
	// Long is the long description: the continuation lines, each without
	// its first character (the leading space) and trailing spaces, joined
	// by "\n". A line holding only "." (a paragraph break) becomes an empty
	// line; lines that start with a further space (verbatim text in the
	// Debian policy) keep it. Leading and trailing empty lines are dropped,
	// so a description with no long part has Long == "".
	Long string
	Line int // 1-based line of the stanza in its file
}

// DebianPackage is the part of one stanza of an apt Packages list that the
// text set uses.
type DebianPackage struct {
	Package string
	// Section without its archive area: "contrib/games" and
	// "non-free/games" are both "games" (the area is the repository's
	// licence class, not the package's topic).
	Section string
	MD5     string   // Description-md5, lower case; "" when the stanza has none
	Tags    []string // debtags of the Tag field ("role::program", ...), in the list's order
	Line    int      // 1-based line of the stanza in its file
}

// ReadTranslation parses an apt Translation list (decompressed). Each
// stanza needs Package, Description-md5 (32 hex digits) and one
// Description-LL field (Description-en in Translation-en). Errors name the
// line and wrap [ErrFormat]; lines longer than [DefaultMaxLineBytes] are an
// error.
func ReadTranslation(r io.Reader) ([]DebianDescription, error) {
	return readTranslation(r, DefaultMaxLineBytes, nil)
}

// ReadPackages parses an apt Packages list (decompressed). Each stanza
// needs a Package field; Section, Description-md5 and Tag are optional.
// Errors name the line and wrap [ErrFormat].
func ReadPackages(r io.Reader) ([]DebianPackage, error) {
	return readPackages(r, DefaultMaxLineBytes, nil)
}

// readStanzas parses every stanza of r with parse, in order. Lines are
// bounded by maxLine; check, if not nil, is called every 4096 stanzas (for
// cancellation).
func readStanzas[T any](r io.Reader, maxLine int, check func() error, parse func(*stanza) (T, error)) ([]T, error) {
	sr := newStanzaReader(r, maxLine)
	var out []T
	for {
		s, err := sr.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if check != nil && len(out)%4096 == 4095 {
			if err := check(); err != nil {
				return nil, err
			}
		}
		v, err := parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// readTranslation is ReadTranslation with a line bound and a check for
// cancellation (see readStanzas).
func readTranslation(r io.Reader, maxLine int, check func() error) ([]DebianDescription, error) {
	return readStanzas(r, maxLine, check, parseDescription)
}

// parseDescription reads one stanza of a Translation list.
func parseDescription(s *stanza) (DebianDescription, error) {
	fail := func(line int, format string, args ...any) (DebianDescription, error) {
		return DebianDescription{}, fmt.Errorf("line %d: %w: %s", line, ErrFormat, fmt.Sprintf(format, args...))
	}
	pkg, md5 := s.get("Package"), s.get("Description-md5")
	var desc *field
	for i := range s.fields {
		n := strings.ToLower(s.fields[i].name)
		if strings.HasPrefix(n, "description-") && n != "description-md5" {
			if desc != nil {
				return fail(s.fields[i].line, "stanza has both %s and %s", desc.name, s.fields[i].name)
			}
			desc = &s.fields[i]
		}
	}
	switch {
	case pkg == nil || pkg.value == "":
		return fail(s.line, "stanza has no Package")
	case md5 == nil:
		return fail(s.line, "package %s has no Description-md5", pkg.value)
	case desc == nil:
		return fail(s.line, "package %s has no Description-LL field (Description-en)", pkg.value)
	case len(md5.cont) > 0 || len(pkg.cont) > 0:
		return fail(s.line, "Package and Description-md5 of %s must be one line", pkg.value)
	}
	sum, err := hexMD5(md5.value)
	if err != nil {
		return fail(md5.line, "Description-md5 of %s: %v", pkg.value, err)
	}
	return DebianDescription{Package: pkg.value, MD5: sum, Synopsis: desc.value, Long: longDescription(desc.cont), Line: s.line}, nil
}

// longDescription joins the continuation lines of a description field; see
// DebianDescription.Long.
func longDescription(cont []string) string {
	lines := make([]string, 0, len(cont))
	for _, l := range cont {
		l = strings.TrimRight(l, " \t")
		if l == "." {
			l = ""
		}
		lines = append(lines, l)
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// hexMD5 checks that s is 32 hex digits and returns it in lower case.
func hexMD5(s string) (string, error) {
	if len(s) != 32 {
		return "", fmt.Errorf("want 32 hex digits, got %d characters", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("want 32 hex digits, got %q", s)
		}
	}
	return strings.ToLower(s), nil
}

// readPackages is ReadPackages with a line bound and a check for
// cancellation (see readStanzas).
func readPackages(r io.Reader, maxLine int, check func() error) ([]DebianPackage, error) {
	return readStanzas(r, maxLine, check, parsePackage)
}

// parsePackage reads one stanza of a Packages list.
func parsePackage(s *stanza) (DebianPackage, error) {
	pkg := s.get("Package")
	if pkg == nil || pkg.value == "" {
		return DebianPackage{}, fmt.Errorf("line %d: %w: stanza has no Package", s.line, ErrFormat)
	}
	p := DebianPackage{Package: pkg.value, Line: s.line}
	if f := s.get("Section"); f != nil {
		p.Section = sectionName(f.value)
	}
	if f := s.get("Description-md5"); f != nil {
		var err error
		if p.MD5, err = hexMD5(f.value); err != nil {
			return DebianPackage{}, fmt.Errorf("line %d: %w: Description-md5 of %s: %v", f.line, ErrFormat, p.Package, err)
		}
	}
	if f := s.get("Tag"); f != nil {
		all := f.value
		if len(f.cont) > 0 {
			all += "," + strings.Join(f.cont, ",")
		}
		for _, t := range strings.Split(all, ",") {
			if t = strings.TrimSpace(t); t != "" {
				p.Tags = append(p.Tags, t)
			}
		}
	}
	return p, nil
}

// sectionName strips an archive area ("contrib/", "non-free/",
// "non-free-firmware/", or any other "AREA/") from a Section value.
func sectionName(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
