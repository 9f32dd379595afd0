package text

import (
	"bytes"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenCases are the tokenizer's golden inputs: accents (composed and
// decomposed), CJK, emoji with modifiers and ZWJ, mixed scripts, empty and
// separator-only texts.
var goldenCases = []struct{ name, in string }{
	{"empty", ""},
	{"spaces", " \t\n  "},
	{"punctuation", "...,;!?"},
	{"ascii", "The quick brown fox"},
	{"case", "GNU Emacs EMACS emacs"},
	{"accents-composed", "Café crème BRÛLÉE naïve"},
	{"accents-decomposed", "Cafe\u0301 cre\u0300me"},
	{"german", "Straße ÜBER Größe"},
	{"greek-cyrillic", "Ελληνικά ΣΟΦΙΑ Москва"},
	{"cjk", "日本語のテキスト処理"},
	{"cjk-mixed", "Python3で機械学習"},
	{"korean", "한국어 텍스트"},
	{"emoji", "I ❤️ Go 🚀🚀"},
	{"emoji-zwj", "👩‍💻 coder"},
	{"digits", "v2.0.1 x86_64 2026"},
	{"apostrophe", "don't won’t"},
	{"invalid-utf8", "ab\xffcd"},
	{"long-word", strings.Repeat("a", MaxWordRunes+1) + " b"},
	{"mark-first", "\u0301abc"},
}

func small(t testing.TB) *Tokenizer {
	tk, err := New(Config{Buckets: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// megaText is a deterministic 1 MB text of words from several scripts.
func megaText() string {
	r := rand.New(rand.NewPCG(1, 1))
	vocab := []string{"debian", "package", "Library", "données", "日本", "語", "🚀", "x86_64", "naïve", "Straße", "—", "\n", "...", "über"}
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString(vocab[r.IntN(len(vocab))])
		b.WriteByte(' ')
	}
	return b.String()
}

func render(tk *Tokenizer) string {
	var b strings.Builder
	for _, c := range goldenCases {
		fmt.Fprintf(&b, "%s %q\n  words %q\n  ids %v\n", c.name, c.in, Words(c.in), tk.Append(nil, c.in))
	}
	big := megaText()
	ids := tk.Append(nil, big)
	h := fnv.New64a()
	for _, id := range ids {
		fmt.Fprintf(h, "%d,", id)
	}
	fmt.Fprintf(&b, "mega %d bytes\n  words %d\n  ids %d fnv64a %016x\n", len(big), len(Words(big)), len(ids), h.Sum64())
	return b.String()
}

func TestGolden(t *testing.T) {
	got := render(small(t))
	path := filepath.Join("testdata", "tokenize.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./text -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s line %d:\n got %s\nwant %s\n(the hashing or splitting changed: checkpoints depend on it)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d", path, len(gl), len(wl))
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"Café", []string{"café"}},
		{"日本語", []string{"日", "本", "語"}},
		{"ab日cd", []string{"ab", "日", "cd"}},
		{"go🚀go", []string{"go", "🚀", "go"}},
		{"\u0301x", []string{"x"}},
		{"x\u0301", []string{"x\u0301"}},
	}
	for _, tc := range tests {
		got := Words(tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFeatureCounts checks the feature layout of the package doc on
// "ab cd": per word 1 word id + the n-grams of "<ab>" (4 runes: n=3 twice,
// n=4 once), and one bigram.
func TestFeatureCounts(t *testing.T) {
	tk, _ := New(Config{Buckets: 1 << 20, MinN: 3, MaxN: 4})
	if got := len(tk.Append(nil, "ab cd")); got != 2*(1+3)+1 {
		t.Errorf("len(ids of \"ab cd\") = %d, want 9", got)
	}
	w, _ := New(Config{Buckets: 1 << 20, NoCharNgrams: true, NoBigrams: true})
	ids := w.Append(nil, "Ab ab AB")
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] || ids[0] != w.WordID("aB") {
		t.Errorf("words only: ids %v, WordID %d: want three equal ids", ids, w.WordID("aB"))
	}
}

func TestHashIsFNV1a(t *testing.T) {
	tk, _ := New(Config{Buckets: 1<<31 - 1, NoCharNgrams: true, NoBigrams: true})
	h := fnv.New64a()
	h.Write([]byte("wcafé"))
	if got, want := tk.WordID("Café"), int32(h.Sum64()%(1<<31-1)); got != want {
		t.Errorf("WordID(Café) = %d, want FNV-1a64(\"wcafé\") mod B = %d", got, want)
	}
}

func TestBatch(t *testing.T) {
	tk := small(t)
	texts := []string{"one two", "", "三"}
	ids, off := tk.Batch(make([]int32, 5), []int32{9}, texts)
	if len(off) != 4 || off[0] != 0 || int(off[3]) != len(ids) || off[1] != off[2] {
		t.Fatalf("offsets %v for %d ids", off, len(ids))
	}
	for i, s := range texts {
		if want := tk.Append(nil, s); fmt.Sprint(ids[off[i]:off[i+1]]) != fmt.Sprint(want) {
			t.Errorf("text %d: ids %v, want %v", i, ids[off[i]:off[i+1]], want)
		}
	}
}

func TestBatchParallelMatchesBatch(t *testing.T) {
	tk := small(t)
	var texts []string
	for _, c := range goldenCases {
		texts = append(texts, c.in, c.in+" extra")
	}
	wantIDs, wantOffs := tk.Batch(nil, nil, texts)
	for _, workers := range []int{0, 1, 2, 3, 7, 100} {
		ids, offs := tk.BatchParallel([]int32{5}, nil, texts, workers)
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) || fmt.Sprint(offs) != fmt.Sprint(wantOffs) {
			t.Errorf("BatchParallel with %d workers differs from Batch", workers)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{Buckets: -1, MinN: 4, MaxN: 2, Hash: "md5"}.Validate()
	for _, want := range []string{"buckets", "n-grams", "hash"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v: want it to mention %q", err, want)
		}
	}
}

func FuzzTokenize(f *testing.F) {
	for _, c := range goldenCases {
		f.Add([]byte(c.in))
	}
	tk, _ := New(Config{Buckets: 97, MinN: 2, MaxN: 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		ids := tk.Append(nil, s)
		for _, id := range ids {
			if id < 0 || id >= 97 {
				t.Fatalf("id %d out of [0, 97)", id)
			}
		}
		words := Words(s)
		if len(words) == 0 && len(ids) != 0 {
			t.Fatalf("%q: no words but %d ids", s, len(ids))
		}
		for _, w := range words {
			if w == "" || !utf8.ValidString(w) || strings.ContainsAny(w, " \t\n.,") {
				t.Fatalf("%q: bad word %q", s, w)
			}
		}
		again := tk.Append(make([]int32, 0, 3), s)
		if !bytes.Equal([]byte(fmt.Sprint(ids)), []byte(fmt.Sprint(again))) {
			t.Fatalf("%q: two tokenizations differ", s)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	tk, _ := New(Config{})
	s := megaText()[:1<<14]
	var ids []int32
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		ids = tk.Append(ids[:0], s)
	}
}

func BenchmarkAppendASCII(b *testing.B) {
	tk, _ := New(Config{})
	s := strings.Repeat("The quick brown fox jumps over the lazy dog; libraries for parsing XML documents. ", 200)
	var ids []int32
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		ids = tk.Append(ids[:0], s)
	}
}
