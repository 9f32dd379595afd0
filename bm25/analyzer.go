package bm25

import (
	"strings"
	"unicode"

	snowball "github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
)

// Analyzer turns a text into terms:
//
//  1. Words are the maximal runs of letters, digits and combining marks
//     (Unicode categories L, N, M); everything else separates words, so
//     "don't" is "don" and "t", "x86_64" is "x86" and "64", and "C++" is "c".
//  2. Each word is lower-cased (Unicode simple case mapping).
//  3. Words longer than MaxWordBytes are dropped (Xapian's TermGenerator
//     drops words over 64 bytes too).
//  4. With StopWords, the English stop words of [StopWords] are dropped.
//  5. With Stem, each word is reduced by the Snowball English (Porter2)
//     stemmer, the one Xapian's "english" stemmer runs.
//
// The zero Analyzer does steps 1 to 3.
type Analyzer struct {
	Stem      bool
	StopWords bool
}

// MaxWordBytes is the longest word the Analyzer keeps, in UTF-8 bytes.
const MaxWordBytes = 64

// Terms returns the terms of text in order, with repeats.
func (a Analyzer) Terms(text string) []string {
	var out []string
	a.each(text, func(t string) { out = append(out, t) })
	return out
}

// each calls fn with every term of text in order.
func (a Analyzer) each(text string, fn func(string)) {
	var env *snowball.Env
	start := -1
	emit := func(end int) {
		w := text[start:end]
		start = -1
		if len(w) > MaxWordBytes {
			return
		}
		w = strings.ToLower(w)
		if a.StopWords && stopWords[w] {
			return
		}
		if a.Stem {
			if env == nil {
				env = snowball.NewEnv(w)
			} else {
				env.SetCurrent(w)
			}
			english.Stem(env)
			w = env.Current()
		}
		fn(w)
	}
	for i, r := range text {
		word := unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			emit(i)
		}
	}
	if start >= 0 {
		emit(len(text))
	}
}

// StopWords lists the English stop words the Analyzer drops when asked:
// the 33 of Lucene's EnglishAnalyzer default set (articles, auxiliaries,
// conjunctions and prepositions).
var StopWords = []string{
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
	"no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
	"they", "this", "to", "was", "will", "with",
}

var stopWords = func() map[string]bool {
	m := make(map[string]bool, len(StopWords))
	for _, w := range StopWords {
		m[w] = true
	}
	return m
}()
