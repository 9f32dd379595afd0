package bm25

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-ranking.txt")

func TestAnalyzer(t *testing.T) {
	for _, tc := range []struct {
		a    Analyzer
		in   string
		want []string
	}{
		{Analyzer{}, "", nil},
		{Analyzer{}, "Hello, WORLD! x86_64 C++ don't", []string{"hello", "world", "x86", "64", "c", "don", "t"}},
		{Analyzer{}, "Café naïve ÉCOLE Straße 東京 😀 e\u0301", []string{"café", "naïve", "école", "straße", "東京", "e\u0301"}},
		{Analyzer{}, strings.Repeat("a", 65) + " " + strings.Repeat("b", 64), []string{strings.Repeat("b", 64)}},
		{Analyzer{Stem: true}, "Running runners ran easily; the libraries", []string{"run", "runner", "ran", "easili", "the", "librari"}},
		{Analyzer{StopWords: true}, "The tool for the job is a hammer", []string{"tool", "job", "hammer"}},
		{Analyzer{Stem: true, StopWords: true}, "This is the running of the packages", []string{"run", "packag"}},
		{Analyzer{}, "bad \xff utf8", []string{"bad", "utf8"}},
	} {
		if got := tc.a.Terms(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%+v.Terms(%q) = %q, want %q", tc.a, tc.in, got, tc.want)
		}
	}
}

// The tiny corpus of the hand-worked scores (no stemming):
//
//	doc 0: "apple banana apple"   |d| = 3
//	doc 1: "banana cherry"        |d| = 2
//	doc 2: "cherry cherry cherry date"  |d| = 4
//
// N = 3, avgdl = 3. With k1 = 1.2, b = 0.75:
//
//	idf(apple)  = ln(1 + (3-1+0.5)/(1+0.5)) = ln(8/3)
//	idf(banana) = ln(1 + (3-2+0.5)/(2+0.5)) = ln(1.6)
//	idf(cherry) = ln(1.6)
//
// score("apple banana", doc 0): norm = 0.25 + 0.75·3/3 = 1,
//
//	apple: tf 2: 2·2.2/(2 + 1.2) = 1.375;  banana: tf 1: 2.2/2.2 = 1
//	= 1.375·ln(8/3) + ln(1.6)
//
// score("banana cherry", doc 1): norm = 0.25 + 0.75·2/3 = 0.75,
//
//	each tf 1: 2.2/(1 + 0.9) = 2.2/1.9
//	= 2·ln(1.6)·2.2/1.9
var tiny = []string{"apple banana apple", "banana cherry", "cherry cherry cherry date"}

func TestScoreHandWorked(t *testing.T) {
	x, err := New(tiny, Options{K1: 1.2, B: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		doc  int
		want float64
	}{
		{"apple banana", 0, 1.375*math.Log(8.0/3) + math.Log(1.6)},
		{"banana cherry", 1, 2 * math.Log(1.6) * 2.2 / 1.9},
		{"apple apple banana", 0, 1.375*math.Log(8.0/3) + math.Log(1.6)}, // a repeated query term counts once
		{"kiwi", 0, 0},
		{"apple", 1, 0},
	} {
		if got := x.Score(tc.q, tc.doc); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Score(%q, doc %d) = %v, want %v", tc.q, tc.doc, got, tc.want)
		}
	}
	hits := x.NewSearcher().Search("cherry banana", 10, nil)
	var got []int32
	for _, h := range hits {
		got = append(got, h.Index)
	}
	// doc 1 holds both terms; doc 2 has cherry three times in 4 words; doc 0 banana once.
	if !slices.Equal(got, []int32{1, 2, 0}) {
		t.Errorf("Search(cherry banana) = %v, want docs 1, 2, 0", hits)
	}
}

// naiveScore is the reference: BM25 straight from the formula, with
// counts[i][t] the count of term t in document i and lens[i] its length.
func naiveScore(counts []map[string]int, lens []int, query []string, d int, k1, b float64) float64 {
	var total float64
	for _, l := range lens {
		total += float64(l)
	}
	avgdl := total / float64(len(lens))
	var s float64
	seen := map[string]bool{}
	for _, t := range query {
		if seen[t] {
			continue
		}
		seen[t] = true
		tf := float64(counts[d][t])
		if tf == 0 {
			continue
		}
		n := 0
		for _, c := range counts {
			if c[t] > 0 {
				n++
			}
		}
		idf := math.Log(1 + (float64(len(lens))-float64(n)+0.5)/(float64(n)+0.5))
		s += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*float64(lens[d])/avgdl))
	}
	return s
}

func randomCorpus(r *rand.Rand, n, vocab, maxLen int) []string {
	docs := make([]string, n)
	for i := range docs {
		words := make([]string, 1+r.IntN(maxLen))
		for j := range words {
			// Zipf-like: small ids are frequent.
			words[j] = fmt.Sprintf("w%d", int(math.Floor(math.Pow(float64(vocab), r.Float64()))))
		}
		docs[i] = strings.Join(words, " ")
	}
	return docs
}

func TestSearchMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	docs := randomCorpus(r, 300, 200, 30)
	queries := randomCorpus(r, 40, 200, 5)
	a := Analyzer{}
	counts, lens := make([]map[string]int, len(docs)), make([]int, len(docs))
	for i, d := range docs {
		counts[i] = map[string]int{}
		for _, t := range a.Terms(d) {
			counts[i][t]++
			lens[i]++
		}
	}
	for _, o := range []Options{{}, {K1: 1.2, B: 0.75}, {K1: -1, B: -1}, {K1: 2, B: 1}} {
		x, err := New(docs, o)
		if err != nil {
			t.Fatal(err)
		}
		k1, b := x.Options().K1, x.Options().B
		batch := x.SearchBatch(queries, 20)
		for qi, q := range queries {
			// The naive ranking: every doc scored, sorted by score then row.
			type sd struct {
				s float64
				d int
			}
			var all []sd
			for d := range docs {
				if s := naiveScore(counts, lens, a.Terms(q), d, k1, b); s > 0 {
					all = append(all, sd{s, d})
				}
			}
			slices.SortStableFunc(all, func(p, q sd) int {
				if p.s != q.s {
					if p.s > q.s {
						return -1
					}
					return 1
				}
				return p.d - q.d
			})
			got := batch[qi]
			if len(got) != min(20, len(all)) {
				t.Fatalf("k1=%v b=%v query %q: %d hits, want %d", k1, b, q, len(got), min(20, len(all)))
			}
			for i, h := range got {
				// float32 accumulation: a near-tie may swap, so compare scores.
				if math.Abs(float64(h.Score)-all[i].s) > 1e-4*max(1, all[i].s) {
					t.Fatalf("k1=%v b=%v query %q rank %d: doc %d score %v, naive doc %d score %v", k1, b, q, i+1, h.Index, h.Score, all[i].d, all[i].s)
				}
				if s := x.Score(q, int(h.Index)); math.Abs(s-float64(h.Score)) > 1e-4*max(1, s) {
					t.Fatalf("Score(%q, %d) = %v, Search said %v", q, h.Index, s, h.Score)
				}
			}
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	err := Options{K1: math.Inf(1), B: 1.5}.WithDefaults().Validate()
	if err == nil || !strings.Contains(err.Error(), "K1 = +Inf") || !strings.Contains(err.Error(), "B = 1.5") {
		t.Errorf("Validate() = %v, want K1 and B reported", err)
	}
	if _, err := New(nil, Options{B: 2}); err == nil {
		t.Errorf("New with B = 2: no error")
	}
	x, err := New(nil, Options{})
	if err != nil || len(x.NewSearcher().Search("a", 5, nil)) != 0 {
		t.Errorf("empty index: %v", err)
	}
}

// TestGoldenRanking pins the top 5 of a few queries over package-like
// descriptions with the default options and stemming, so a change in the
// analyzer or the scoring shows up as a diff of testdata/golden-ranking.txt
// (rewrite it with -update after checking the change is meant).
func TestGoldenRanking(t *testing.T) {
	docs := []string{
		"GNU Bourne Again SHell: an sh-compatible command language interpreter",
		"Z shell: a shell designed for interactive use, also a powerful scripting language",
		"Real-time strategy game of ancient warfare",
		"chess engine playing the game of chess, with a graphical chess board",
		"partition editor for disks: resize, copy and move partitions",
		"command line tool for transferring data with URLs",
		"a text editor for the command line, small and friendly",
		"library for reading and writing compressed archives",
		"strategy games: a collection of turn-based games",
		"interpreter for the Python programming language",
	}
	queries := []string{"shell interpreter", "chess game", "resizing partitions", "command-line editor", "games of strategy", "compressed"}
	x, err := New(docs, Options{Analyzer: Analyzer{Stem: true}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, hits := range x.SearchBatch(queries, 5) {
		fmt.Fprintf(&b, "%s:", queries[i])
		for _, h := range hits {
			fmt.Fprintf(&b, " %d(%.4f)", h.Index, h.Score)
		}
		b.WriteString("\n")
	}
	const path = "testdata/golden-ranking.txt"
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bm25 -run TestGoldenRanking -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("rankings differ from %s:\ngot:\n%s\nwant:\n%s", path, b.String(), want)
	}
	// The rankings also make sense: the first line's best doc is bash.
	sc := bufio.NewScanner(strings.NewReader(string(want)))
	sc.Scan()
	if !strings.HasPrefix(sc.Text(), "shell interpreter: 0(") {
		t.Errorf("golden first line %q: want bash (doc 0) first", sc.Text())
	}
}

// BenchmarkSearch: one query at a time over a Zipf-like random corpus.
// Smoke-run with -benchtime 100x; take figures on an idle machine only.
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		r := rand.New(rand.NewPCG(5, 6))
		docs := randomCorpus(r, n, 20000, 60)
		queries := randomCorpus(r, 256, 20000, 6)
		x, err := New(docs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			s := x.NewSearcher()
			dst := make([]Hit, 0, 100)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst = s.Search(queries[i%len(queries)], 100, dst)
			}
		})
	}
}
