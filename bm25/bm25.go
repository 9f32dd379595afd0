// Package bm25 is Okapi BM25 ranking over an in-memory inverted index: the
// lexical baseline that text embeddings are measured against.
//
// The score of document d for query q is
//
//	score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//	idf(t)      = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))
//
// over the distinct terms t of the query (a term repeated in the query
// counts once), where tf(t,d) is the count of t in d, |d| the number of
// terms of d, avgdl their mean over the N documents and n(t) the number of
// documents holding t. The idf is Lucene's, which stays positive for terms
// in more than half of the documents (Robertson's original goes negative
// there). The defaults k1 = 0.9 and b = 0.4 are Anserini's, the usual BM25
// baseline of retrieval papers; k1 = 1.2, b = 0.75 are the textbook values.
// Xapian's BM25Weight defaults to k1 = 1, b = 0.5.
//
// Texts become terms by the [Analyzer]: lower-casing, a Unicode word split,
// optional English stop words and optional Snowball English (Porter2)
// stemming.
//
// Why not a library: bleve (v2.5 and later) scores with the same formula
// and idf when its index mapping sets ScoringModel "bm25", but its
// documentation names no way to set k1 and b, and it brings a whole search
// engine (segment store, query machinery and their modules) for what a
// baseline needs: an in-memory inverted index of some 10^4 documents. (Its
// speed was not measured.)
//
// Hits are index.Hit, so eval's metrics and rank fusion take them as they
// are: Index is the document's row, ID the same number, Score its BM25
// score. Ties are broken by the smaller row.
package bm25

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/gomrl/mrl/index"
)

// Hit is a search result: Index is the document's row, Score its BM25 score.
type Hit = index.Hit

// Options are the BM25 parameters and the analyzer. The zero value means
// the defaults noted on each field.
type Options struct {
	// K1 saturates term frequency (default 0.9; set a negative value for
	// 0, which scores presence only).
	K1 float64
	// B is the strength of document length normalisation, in [0,1]
	// (default 0.4; set a negative value for 0, no normalisation).
	B float64
	// Analyzer turns texts into terms; the zero Analyzer lower-cases and
	// splits only.
	Analyzer Analyzer
}

// Defaults of Options.
const (
	DefaultK1 = 0.9
	DefaultB  = 0.4
)

// WithDefaults returns o with zero fields set to their defaults and
// negative K1 and B set to 0.
func (o Options) WithDefaults() Options {
	def := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&o.K1, DefaultK1)
	def(&o.B, DefaultB)
	return o
}

// Validate reports every problem of o (after WithDefaults) at once.
func (o Options) Validate() error {
	var errs []error
	if !(o.K1 >= 0) || math.IsInf(o.K1, 0) {
		errs = append(errs, fmt.Errorf("bm25: K1 = %v, want a finite value ≥ 0", o.K1))
	}
	if !(o.B >= 0 && o.B <= 1) {
		errs = append(errs, fmt.Errorf("bm25: B = %v, want [0,1]", o.B))
	}
	return errors.Join(errs...)
}

// posting is one document holding a term, with the term's saturated and
// length-normalised frequency tf·(k1+1)/(tf + k1·(1 − b + b·|d|/avgdl)).
type posting struct {
	doc int32
	w   float32
}

// Index is a BM25 index over a fixed set of documents. Its methods are safe
// for concurrent use once it is built.
type Index struct {
	opts     Options
	terms    map[string]int32
	idf      []float32
	postings [][]posting
	docLen   []int32
	avgdl    float64
}

// New indexes docs; document i is row i of every result.
func New(docs []string, opts Options) (*Index, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(docs) > math.MaxInt32 {
		return nil, fmt.Errorf("bm25: %d documents, at most %d", len(docs), math.MaxInt32)
	}
	x := &Index{opts: opts, terms: map[string]int32{}, docLen: make([]int32, len(docs))}
	type tfs struct {
		term int32
		tf   int32
	}
	perDoc := make([][]tfs, len(docs))
	var total int64
	counts := map[int32]int32{}
	for i, d := range docs {
		clear(counts)
		n := 0
		opts.Analyzer.each(d, func(t string) {
			id, ok := x.terms[t]
			if !ok {
				id = int32(len(x.terms))
				x.terms[t] = id
			}
			counts[id]++
			n++
		})
		x.docLen[i] = int32(n)
		total += int64(n)
		row := make([]tfs, 0, len(counts))
		for id, c := range counts {
			row = append(row, tfs{id, c})
		}
		perDoc[i] = row
	}
	if len(docs) > 0 {
		x.avgdl = float64(total) / float64(len(docs))
	}
	df := make([]int32, len(x.terms))
	for _, row := range perDoc {
		for _, e := range row {
			df[e.term]++
		}
	}
	x.postings = make([][]posting, len(x.terms))
	for t, n := range df {
		x.postings[t] = make([]posting, 0, n)
	}
	k1, b := opts.K1, opts.B
	for i, row := range perDoc {
		norm := 1 - b
		if x.avgdl > 0 {
			norm += b * float64(x.docLen[i]) / x.avgdl
		}
		for _, e := range row {
			tf := float64(e.tf)
			x.postings[e.term] = append(x.postings[e.term], posting{int32(i), float32(tf * (k1 + 1) / (tf + k1*norm))})
		}
	}
	x.idf = make([]float32, len(x.terms))
	nd := float64(len(docs))
	for t, n := range df {
		x.idf[t] = float32(IDF(nd, float64(n)))
	}
	return x, nil
}

// IDF is Lucene's BM25 idf, ln(1 + (N − n + 0.5)/(n + 0.5)), of a term in n
// of N documents.
func IDF(N, n float64) float64 { return math.Log(1 + (N-n+0.5)/(n+0.5)) }

// Len returns the number of documents.
func (x *Index) Len() int { return len(x.docLen) }

// Terms returns the number of distinct terms.
func (x *Index) Terms() int { return len(x.terms) }

// Options returns the options the index was built with, defaults applied.
func (x *Index) Options() Options { return x.opts }

// queryTerms returns the distinct known terms of query.
func (x *Index) queryTerms(query string) []int32 {
	var ts []int32
	x.opts.Analyzer.each(query, func(t string) {
		if id, ok := x.terms[t]; ok && !slices.Contains(ts, id) {
			ts = append(ts, id)
		}
	})
	return ts
}

// Score returns the BM25 score of document doc for query, computed from
// the postings of the query's terms (0 when they share no term).
func (x *Index) Score(query string, doc int) float64 {
	var s float64
	for _, t := range x.queryTerms(query) {
		ps := x.postings[t]
		if j, ok := slices.BinarySearchFunc(ps, int32(doc), func(p posting, d int32) int { return cmp.Compare(p.doc, d) }); ok {
			s += float64(x.idf[t]) * float64(ps[j].w)
		}
	}
	return s
}

// Searcher holds the per-query scratch space of searches on one Index; use
// one per goroutine.
type Searcher struct {
	x       *Index
	acc     []float32
	touched []int32
	h       hitHeap
}

// NewSearcher returns a Searcher over x.
func (x *Index) NewSearcher() *Searcher {
	return &Searcher{x: x, acc: make([]float32, len(x.docLen))}
}

// Search appends to dst[:0] the k best documents for query, best first;
// documents that share no term with the query are never returned, so there
// may be fewer than k.
func (s *Searcher) Search(query string, k int, dst []Hit) []Hit {
	dst = dst[:0]
	if k <= 0 {
		return dst
	}
	x := s.x
	for _, t := range x.queryTerms(query) {
		idf := x.idf[t]
		for _, p := range x.postings[t] {
			if s.acc[p.doc] == 0 {
				s.touched = append(s.touched, p.doc)
			}
			s.acc[p.doc] += idf * p.w
		}
	}
	s.h = s.h[:0]
	for _, d := range s.touched {
		h := Hit{ID: uint64(d), Index: d, Score: s.acc[d]}
		s.acc[d] = 0
		if len(s.h) < k {
			s.h = append(s.h, h)
			s.h.up(len(s.h) - 1)
		} else if worse(s.h[0], h) {
			s.h[0] = h
			s.h.down(0)
		}
	}
	s.touched = s.touched[:0]
	dst = append(dst, s.h...)
	slices.SortFunc(dst, func(a, b Hit) int {
		if worse(a, b) {
			return 1
		}
		if worse(b, a) {
			return -1
		}
		return 0
	})
	return dst
}

// worse reports whether a ranks below b: a lower score, or an equal score
// and a larger row.
func worse(a, b Hit) bool {
	return a.Score < b.Score || a.Score == b.Score && a.Index > b.Index
}

// hitHeap is a binary min-heap by rank: the root is the worst hit kept.
type hitHeap []Hit

func (h hitHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h hitHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && worse(h[c+1], h[c]) {
			c++
		}
		if !worse(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// SearchBatch returns the k best documents of every query, searching on up
// to GOMAXPROCS goroutines.
func (x *Index) SearchBatch(queries []string, k int) [][]Hit {
	out := make([][]Hit, len(queries))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(queries)/64))
	var (
		wg   sync.WaitGroup
		next = make(chan int, workers)
	)
	for range workers {
		wg.Go(func() {
			s := x.NewSearcher()
			for lo := range next {
				for i := lo; i < min(lo+64, len(queries)); i++ {
					out[i] = s.Search(queries[i], k, nil)
				}
			}
		})
	}
	for lo := 0; lo < len(queries); lo += 64 {
		next <- lo
	}
	close(next)
	wg.Wait()
	return out
}
