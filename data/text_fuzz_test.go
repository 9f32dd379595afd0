package data

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Run with, e.g.,
//
//	go test ./data -run '^$' -fuzz '^FuzzReadTranslation$' -fuzztime 200000x
//
// The seeds are the fixtures under testdata/debian and testdata/pairs plus
// the inline inputs below.

func addFileSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// formatTranslation writes ds back in the Translation-en format.
func formatTranslation(ds []DebianDescription) []byte {
	var b bytes.Buffer
	for _, d := range ds {
		fmt.Fprintf(&b, "Package: %s\nDescription-md5: %s\nDescription-en: %s\n", d.Package, d.MD5, d.Synopsis)
		if d.Long != "" {
			for _, l := range strings.Split(d.Long, "\n") {
				if l == "" {
					l = "."
				}
				b.WriteString(" " + l + "\n")
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func FuzzReadTranslation(f *testing.F) {
	addFileSeeds(f, debianLists+"/example.org_debian_dists_stable_main_i18n_Translation-en")
	f.Add([]byte("Package: a\nDescription-md5: d943033bedada21853d2ae54a2578a7b\nDescription-en: s\n x\n .\n  y\n"))
	f.Add([]byte("Package: a\nDescription-MD5: D943033BEDADA21853D2AE54A2578A7B\ndescription-de: s \xff\n\t.\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ReadTranslation(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i, d := range ds {
			if d.Package == "" || len(d.MD5) != 32 || d.MD5 != strings.ToLower(d.MD5) || strings.Contains(d.Synopsis, "\n") {
				t.Fatalf("entry %d = %+v: want a package, a lower-case md5 and a one-line synopsis", i, d)
			}
		}
		// Round trip: what we write reads back the same.
		again, err := ReadTranslation(bytes.NewReader(formatTranslation(ds)))
		if err != nil {
			t.Fatalf("re-reading the formatted entries: %v", err)
		}
		if len(again) != len(ds) {
			t.Fatalf("re-read %d entries, want %d", len(again), len(ds))
		}
		for i := range ds {
			a, d := again[i], ds[i]
			a.Line, d.Line = 0, 0
			if a != d {
				t.Fatalf("entry %d: re-read %+v, want %+v", i, a, d)
			}
		}
	})
}

func FuzzReadPackages(f *testing.F) {
	f.Add([]byte("Package: a\nSection: contrib/games\nDescription-md5: d943033bedada21853d2ae54a2578a7b\nTag: x::y,\n z::w\n"))
	f.Add([]byte("# comment\nPackage: a\n\n\nPackage: b\nTag: ,,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ReadPackages(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		for i, p := range ps {
			if p.Package == "" || strings.Contains(p.Section, "/") || p.MD5 != "" && len(p.MD5) != 32 {
				t.Fatalf("stanza %d = %+v: want a package, a section without an area, an md5 of 32 digits or none", i, p)
			}
			fmt.Fprintf(&out, "Package: %s\n", p.Package)
			if p.Section != "" {
				fmt.Fprintf(&out, "Section: %s\n", p.Section)
			}
			if p.MD5 != "" {
				fmt.Fprintf(&out, "Description-md5: %s\n", p.MD5)
			}
			if len(p.Tags) > 0 {
				fmt.Fprintf(&out, "Tag: %s\n", strings.Join(p.Tags, ",\n "))
			}
			out.WriteString("\n")
		}
		again, err := ReadPackages(&out)
		if err != nil || len(again) != len(ps) {
			t.Fatalf("re-read %d stanzas, err %v; want %d", len(again), err, len(ps))
		}
		for i := range ps {
			a, p := again[i], ps[i]
			if a.Package != p.Package || a.Section != p.Section || a.MD5 != p.MD5 || !slices.Equal(a.Tags, p.Tags) {
				t.Fatalf("stanza %d: re-read %+v, want %+v", i, a, p)
			}
		}
	})
}

func FuzzReadPairs(f *testing.F) {
	addFileSeeds(f, "testdata/pairs/labelled.jsonl", "testdata/pairs/plain.jsonl")
	f.Add([]byte(`{"query": "q", "doc": "d", "label": 1}`))
	f.Add([]byte(`{"query": "q\u00e9", "doc": "\ud83d\ude00"}` + "\n\n" + `{"query":"x","doc":"y"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, classes, err := ReadPairs(bytes.NewReader(b))
		if err != nil {
			return
		}
		if !slices.IsSorted(classes) {
			t.Fatalf("classes %q not sorted", classes)
		}
		for i, p := range pairs {
			if strings.TrimSpace(p.Query) == "" || strings.TrimSpace(p.Doc) == "" ||
				classes == nil && p.Label != -1 || classes != nil && (p.Label < 0 || int(p.Label) >= len(classes)) {
				t.Fatalf("pair %d = %+v with %d classes", i, p, len(classes))
			}
		}
		var out bytes.Buffer
		if err := WritePairs(&out, pairs, classes); err != nil {
			t.Fatal(err)
		}
		again, classes2, err := ReadPairs(&out)
		if err != nil || !slices.Equal(again, pairs) || !slices.Equal(classes, classes2) {
			t.Fatalf("round trip: %v; got %+v %q, want %+v %q", err, again, classes2, pairs, classes)
		}
	})
}
