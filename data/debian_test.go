package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const debianLists = "testdata/debian/lists"

func debianFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(debianLists, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadTranslation(t *testing.T) {
	ds, err := ReadTranslation(bytes.NewReader(debianFixture(t, "example.org_debian_dists_stable_main_i18n_Translation-en")))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Package)
	}
	want := []string{"0ad", "0ad-data", "0ad-data-common", "2ping", "abcde", "apt", "apt-utils", "bash", "0ad-copy", "nolong", "samelong", "otherarch"}
	if !slices.Equal(names, want) {
		t.Fatalf("packages = %v, want %v", names, want)
	}
	got := ds[1]
	wantD := DebianDescription{
		Package:  "0ad-data",
		MD5:      "26581e685027d5ae84824362a4ba59ee",
		Synopsis: "Real-time strategy game of ancient warfare (data files)",
		Long: `0 A.D. (pronounced "zero ey-dee") is a free, open-source, cross-platform
real-time strategy (RTS) game of ancient warfare. In short, it is a
historically-based war/economy game that allows players to relive or rewrite
the history of Western civilizations, focusing on the years between 500 B.C.
and 500 A.D. The project is highly ambitious, involving state-of-the-art 3D
graphics, detailed artwork, sound, and a flexible and powerful custom-built
game engine.

This package contains the main data files required by 0 A.D.`,
		Line: 12,
	}
	if got != wantD {
		t.Errorf("ReadTranslation()[1] = %+v\nwant %+v", got, wantD)
	}
	if ds[9].Package != "nolong" || ds[9].Long != "" {
		t.Errorf("nolong: Long = %q, want empty", ds[9].Long)
	}
}

func TestReadPackages(t *testing.T) {
	raw := debianFixture(t, "example.org_debian_dists_stable_main_binary-amd64_Packages.lz4")
	r, err := decompress(bytes.NewReader(raw), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ReadPackages(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 11 {
		t.Fatalf("%d stanzas, want 11", len(ps))
	}
	want0 := DebianPackage{Package: "0ad", Section: "games", MD5: "d943033bedada21853d2ae54a2578a7b",
		Tags: []string{"game::strategy", "interface::graphical", "interface::x11", "role::program",
			"uitoolkit::sdl", "uitoolkit::wxwidgets", "use::gameplaying", "x11::application"}, Line: 1}
	if p := ps[0]; p.Package != want0.Package || p.Section != want0.Section || p.MD5 != want0.MD5 || !slices.Equal(p.Tags, want0.Tags) || p.Line != 1 {
		t.Errorf("ReadPackages()[0] = %+v\nwant %+v", p, want0)
	}
	c := ps[8]
	if c.Package != "contrib-tool" || c.Section != "games" || c.MD5 != "0000000000000000000000000000000a" || !slices.Equal(c.Tags, []string{"role::program", "use::gameplaying"}) {
		t.Errorf("contrib-tool = %+v: want section games (area stripped), md5 in lower case, 2 tags", c)
	}
}

func TestSectionName(t *testing.T) {
	for in, want := range map[string]string{
		"games": "games", "contrib/games": "games", "non-free/libs": "libs",
		"non-free-firmware/kernel": "kernel", "": "", "x/": "",
	} {
		if got := sectionName(in); got != want {
			t.Errorf("sectionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadDebianErrors(t *testing.T) {
	const md5 = "Description-md5: d943033bedada21853d2ae54a2578a7b\n"
	for _, tc := range []struct {
		name, in, want string
		packages       bool
	}{
		{"no package", md5 + "Description-en: x\n", "line 1: data: malformed or unsupported input: stanza has no Package", false},
		{"no md5", "Package: a\nDescription-en: x\n", "line 1: data: malformed or unsupported input: package a has no Description-md5", false},
		{"no description", "Package: a\n" + md5, "line 1: data: malformed or unsupported input: package a has no Description-LL field", false},
		{"bad md5", "Package: a\nDescription-md5: 12zz\nDescription-en: x\n", "line 2: data: malformed or unsupported input: Description-md5 of a: want 32 hex digits, got 4 characters", false},
		{"two descriptions", "Package: a\n" + md5 + "Description-en: x\nDescription-de: y\n", "line 4: data: malformed or unsupported input: stanza has both", false},
		{"continuation first", "\n\n Package: a\n", "line 3: data: malformed or unsupported input: continuation line", false},
		{"no colon", "Package: a\n" + md5 + "Description-en: x\n\nPackage b\n", "line 5: data: malformed or unsupported input: want \"Field: value\"", false},
		{"repeated field", "Package: a\nPackage: b\n", "line 2: data: malformed or unsupported input: field Package repeated", false},
		{"line too long", "Package: a\n" + md5 + "Description-en: " + strings.Repeat("x", DefaultMaxLineBytes) + "\n", "line 3: data: malformed or unsupported input: longer than 1048576 bytes", false},
		{"packages no package", "Section: games\n", "line 1: data: malformed or unsupported input: stanza has no Package", true},
		{"packages bad md5", "\nPackage: a\nDescription-md5: 0\n", "line 3: data: malformed or unsupported input: Description-md5 of a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.packages {
				_, err = ReadPackages(strings.NewReader(tc.in))
			} else {
				_, err = ReadTranslation(strings.NewReader(tc.in))
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrFormat) {
				t.Errorf("error = %v, want one starting %q wrapping ErrFormat", err, tc.want)
			}
		})
	}
}

func TestLoadDebianDescriptions(t *testing.T) {
	ctx := context.Background()
	set, err := LoadDebianDescriptions(ctx, TextOptions{Dir: debianLists, ValFrac: -1, TestFrac: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	wantStats := TextStats{Read: 13, Kept: 9, DuplicateKey: 1, DuplicateDoc: 1, EmptyDoc: 1, NoLabel: 1}
	if set.Stats != wantStats {
		t.Errorf("Stats = %+v, want %+v", set.Stats, wantStats)
	}
	if want := []string{"admin", "games", "net", "shells", "sound"}; !slices.Equal(set.Classes, want) {
		t.Errorf("Classes = %v, want %v", set.Classes, want)
	}
	if len(set.Train) != 9 || len(set.Val) != 0 || len(set.Test) != 0 {
		t.Fatalf("splits %d/%d/%d, want 9/0/0 with no val and test", len(set.Train), len(set.Val), len(set.Test))
	}
	// The gzipped contrib list sorts first; its only package is in
	// contrib/games, and keeps its verbatim line.
	want0 := TextPair{Query: "A tool from the contrib area", Doc: "Plays games from the command line.\n\n  verbatim  line", Label: 1}
	if set.Train[0] != want0 {
		t.Errorf("Train[0] = %+v, want %+v", set.Train[0], want0)
	}
	if last := set.Train[8]; last.Query != "GNU Bourne Again SHell" || set.Classes[last.Label] != "shells" {
		t.Errorf("Train[8] = %q in %q, want bash in shells", last.Query, set.Classes[last.Label])
	}

	// Source and Hash: the files in name order and the SHA-256 of their bytes.
	trans, pkgs, _ := DebianLists(debianLists)
	files := slices.Concat(pkgs, trans) // read order: Packages first
	if set.Source != strings.Join(files, ", ") {
		t.Errorf("Source = %q, want %q", set.Source, strings.Join(files, ", "))
	}
	h := sha256.New()
	for _, f := range files {
		h.Write(debianFixture(t, filepath.Base(f)))
	}
	if want := hex.EncodeToString(h.Sum(nil)); set.Hash != want {
		t.Errorf("Hash = %s, want %s", set.Hash, want)
	}

	// The default split puts every pair somewhere, the same way each time.
	a, err := LoadDebianDescriptions(ctx, TextOptions{Dir: debianLists, Seed: 7, ValFrac: 0.3, TestFrac: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := LoadDebianDescriptions(ctx, TextOptions{Dir: debianLists, Seed: 7, ValFrac: 0.3, TestFrac: 0.3})
	if n := len(a.Train) + len(a.Val) + len(a.Test); n != 9 {
		t.Errorf("seeded split holds %d pairs, want 9", n)
	}
	if !slices.Equal(a.Test, b.Test) || !slices.Equal(a.Val, b.Val) {
		t.Errorf("two loads with one seed split differently")
	}
}

func TestLoadDebianDescriptionsMissing(t *testing.T) {
	_, err := LoadText(context.Background(), DebianDescriptions, TextOptions{Dir: t.TempDir()})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get update -o Acquire::Languages=en") {
		t.Errorf("error = %v, want ErrNotFound telling to run apt-get update -o Acquire::Languages=en", err)
	}
	_, err = LoadText(context.Background(), DebianDescriptions, TextOptions{Dir: "/nonexistent/dir"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing dir: error = %v, want ErrNotFound", err)
	}
}

func TestLoadDebianDescriptionsErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x_i18n_Translation-en", "x_binary-amd64_Packages"} {
		b := debianFixture(t, "example.org_debian_dists_stable_main_i18n_Translation-en")
		if name == "x_i18n_Translation-en" {
			b = append(b, "Package: broken\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDebianDescriptions(context.Background(), TextOptions{Dir: dir})
	want := filepath.Join(dir, "x_i18n_Translation-en") + ": line 132: data: malformed or unsupported input: package broken has no Description-md5"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	// A decompression bound below the file size is an error, not a cut.
	_, err = LoadDebianDescriptions(context.Background(), TextOptions{Dir: debianLists, MaxFileBytes: 1000})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "more than 1000 bytes after decompression") {
		t.Errorf("MaxFileBytes 1000: error = %v, want the bound named", err)
	}
}

func TestTextOptionsValidate(t *testing.T) {
	err := TextOptions{ValFrac: 0.6, TestFrac: 1.5, MaxLineBytes: -1}.WithDefaults().Validate()
	for _, want := range []string{"TestFrac = 1.5", "ValFrac + TestFrac = 2.1", "MaxLineBytes = -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to report %q", err, want)
		}
	}
	if err := (TextOptions{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestSplitOf(t *testing.T) {
	const n = 20000
	var count [3]int
	for i := range n {
		key := hex.EncodeToString([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		s := SplitOf(1, key, 0.1, 0.2)
		if s != SplitOf(1, key, 0.1, 0.2) {
			t.Fatal("SplitOf is not deterministic")
		}
		count[s]++
	}
	// Binomial: 3 standard deviations of 20000·p is under 200 for p ≤ 0.7.
	for s, want := range [3]float64{0.7 * n, 0.1 * n, 0.2 * n} {
		if d := float64(count[s]) - want; d > 200 || d < -200 {
			t.Errorf("split %d holds %d of %d keys, want about %.0f", s, count[s], n, want)
		}
	}
	if SplitOf(1, "k", 0, 0) != SplitTrain {
		t.Errorf("with no val and test fractions a key went elsewhere than train")
	}
}
