// Package text turns text into the hashed feature ids of a bag-of-features
// encoder, fastText-style: words, word bigrams and character n-grams of
// "<word>", each hashed into one of B buckets.
//
// Tokenisation, exactly (a checkpoint's embeddings depend on every step):
//
//  1. The text is read as UTF-8 (invalid bytes are U+FFFD, a separator) and
//     every rune lower-cased with unicode.ToLower. No Unicode normalisation
//     is applied: "é" as one code point and as "e" + U+0301 are different
//     words (both keep their accent).
//  2. Words are maximal runs of letters (L*), digits and numbers (N*), with
//     combining marks (M*) kept inside a word (a mark with no word before it
//     is dropped). Every Han, Hiragana or Katakana rune and every
//     other-symbol rune (So: emoji, dingbats) is a word of its own, so CJK text without spaces gives one word per character and its
//     word bigrams are character bigrams. Everything else (spaces,
//     punctuation, ZWJ) separates words.
//  3. Features of each word w, in text order: the word; then (unless
//     NoCharNgrams) the character n-grams of "<w>" for n = MinN..MaxN, by
//     start then length, n counted in runes ("<" and ">" included) — words
//     longer than MaxWordRunes runes get no n-grams; then (unless NoBigrams)
//     the bigram of the previous word and w.
//
// Hashing (stable across releases: changing it invalidates checkpoints, so a
// new scheme would get a new Config.Hash name): FNV-1a 64-bit, offset basis
// 14695981039346656037, prime 1099511628211, over a kind byte followed by
// data. A word is kind 'w' then the UTF-8 bytes of its lower-cased runes; a
// character n-gram is kind 'c' then the UTF-8 bytes of its runes; a bigram
// is kind 'b' then the 8 little-endian bytes of each word's 64-bit hash.
// The id is hash mod Buckets.
package text

import (
	"errors"
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"
)

// HashFNV1a64 names the hashing scheme of the package doc.
const HashFNV1a64 = "fnv1a64"

// MaxWordRunes is the longest word (in runes) that gets character n-grams.
const MaxWordRunes = 64

// Config is a tokenizer's configuration; it is stored in checkpoints so a
// loaded model tokenizes exactly as it was trained. The zero value of a
// field means its default, given next to it.
type Config struct {
	Buckets      int    `json:"buckets"`                  // B; 1<<17
	MinN         int    `json:"min_n"`                    // shortest character n-gram; 3
	MaxN         int    `json:"max_n"`                    // longest character n-gram; 5
	NoCharNgrams bool   `json:"no_char_ngrams,omitempty"` // words (and bigrams) only
	NoBigrams    bool   `json:"no_bigrams,omitempty"`     // no word bigrams
	Hash         string `json:"hash"`                     // HashFNV1a64, the only scheme
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Buckets == 0 {
		c.Buckets = 1 << 17
	}
	if c.MinN == 0 {
		c.MinN = 3
	}
	if c.MaxN == 0 {
		c.MaxN = 5
	}
	if c.Hash == "" {
		c.Hash = HashFNV1a64
	}
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Buckets < 1 || c.Buckets > 1<<31-1 {
		errs = append(errs, fmt.Errorf("buckets %d: want 1..2^31-1", c.Buckets))
	}
	if !c.NoCharNgrams && (c.MinN < 1 || c.MaxN < c.MinN || c.MaxN > MaxWordRunes) {
		errs = append(errs, fmt.Errorf("character n-grams %d..%d: want 1 <= min <= max <= %d", c.MinN, c.MaxN, MaxWordRunes))
	}
	if c.Hash != HashFNV1a64 {
		errs = append(errs, fmt.Errorf("hash %q: want %q", c.Hash, HashFNV1a64))
	}
	if len(errs) > 0 {
		return fmt.Errorf("text: invalid tokenizer config: %w", errors.Join(errs...))
	}
	return nil
}

// Tokenizer maps text to feature ids. It holds no mutable state and is safe
// for concurrent use.
type Tokenizer struct {
	cfg  Config
	mask uint64 // Buckets-1 when Buckets is a power of two (h mod B = h & mask), else 0
}

// New returns the tokenizer of cfg (after WithDefaults).
func New(cfg Config) (*Tokenizer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Tokenizer{cfg: cfg}
	if b := uint64(cfg.Buckets); b&(b-1) == 0 {
		t.mask = b - 1
	}
	return t, nil
}

// Config returns the tokenizer's configuration, defaults filled in.
func (t *Tokenizer) Config() Config { return t.cfg }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// fnvRune hashes the UTF-8 bytes of r; small enough to inline, with the
// multi-byte case out of line.
func fnvRune(h uint64, r rune) uint64 {
	if r < utf8.RuneSelf {
		return (h ^ uint64(r)) * fnvPrime
	}
	return fnvRuneMulti(h, r)
}

func fnvRuneMulti(h uint64, r rune) uint64 {
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	for _, b := range buf[:n] {
		h = fnvByte(h, b)
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for i := 0; i < 8; i++ {
		h = fnvByte(h, byte(v>>(8*i)))
	}
	return h
}

// single reports whether r is a word on its own (CJK ideographs and kana,
// other symbols such as emoji).
func single(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.So, r)
}

// wordScanner yields the lower-cased words of a text, as rune slices into a
// reused buffer.
type wordScanner struct {
	s    string
	i    int
	word []rune
}

// next returns the next word (valid until the next call) or nil at the end.
func (w *wordScanner) next() []rune {
	w.word = w.word[:0]
	for w.i < len(w.s) {
		if c := w.s[w.i]; c < utf8.RuneSelf { // ASCII fast path
			w.i++
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				w.word = append(w.word, rune(c))
			case 'A' <= c && c <= 'Z':
				w.word = append(w.word, rune(c+'a'-'A'))
			case len(w.word) > 0:
				return w.word
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(w.s[w.i:])
		switch {
		case single(r):
			if len(w.word) > 0 {
				return w.word // r starts the next call
			}
			w.i += size
			w.word = append(w.word, unicode.ToLower(r))
			return w.word
		case unicode.IsLetter(r) || unicode.IsNumber(r) || (unicode.IsMark(r) && len(w.word) > 0):
			w.word = append(w.word, unicode.ToLower(r))
			w.i += size
		default:
			w.i += size
			if len(w.word) > 0 {
				return w.word
			}
		}
	}
	if len(w.word) > 0 {
		return w.word
	}
	return nil
}

// Words returns the lower-cased words of s (step 2 of the package doc).
func Words(s string) []string {
	var out []string
	sc := wordScanner{s: s}
	for w := sc.next(); w != nil; w = sc.next() {
		out = append(out, string(w))
	}
	return out
}

func wordHash(w []rune) uint64 {
	h := fnvByte(fnvOffset, 'w')
	for _, r := range w {
		h = fnvRune(h, r)
	}
	return h
}

// WordID returns the bucket of the word feature of w, lower-cased as the
// tokenizer does (w should be one word: it is not split).
func (t *Tokenizer) WordID(w string) int32 {
	h := fnvByte(fnvOffset, 'w')
	for _, r := range w {
		h = fnvRune(h, unicode.ToLower(r))
	}
	return t.bucket(h)
}

func (t *Tokenizer) bucket(h uint64) int32 {
	if t.mask != 0 {
		return int32(h & t.mask)
	}
	return int32(h % uint64(t.cfg.Buckets))
}

// Append appends the feature ids of s to dst and returns it. Its cost is
// linear in len(s).
func (t *Tokenizer) Append(dst []int32, s string) []int32 {
	c := t.cfg
	sc := wordScanner{s: s}
	var prev uint64
	first := true
	var buf [MaxWordRunes + 2]rune
	for w := sc.next(); w != nil; w = sc.next() {
		hw := wordHash(w)
		dst = append(dst, t.bucket(hw))
		if !c.NoCharNgrams && len(w) <= MaxWordRunes {
			g := append(append(append(buf[:0], '<'), w...), '>')
			for i := 0; i < len(g); i++ {
				h := fnvByte(fnvOffset, 'c')
				for j := i; j < len(g) && j-i < c.MaxN; j++ {
					h = fnvRune(h, g[j])
					if j-i+1 >= c.MinN {
						dst = append(dst, t.bucket(h))
					}
				}
			}
		}
		if !c.NoBigrams && !first {
			h := fnvUint64(fnvUint64(fnvByte(fnvOffset, 'b'), prev), hw)
			dst = append(dst, t.bucket(h))
		}
		prev, first = hw, false
	}
	return dst
}

// BatchParallel is Batch with the texts split among up to workers
// goroutines (each tokenizes a contiguous run into its own buffer; the runs
// are then joined in order), for the same result.
func (t *Tokenizer) BatchParallel(ids, offsets []int32, texts []string, workers int) ([]int32, []int32) {
	if workers <= 1 || len(texts) < 2*workers {
		return t.Batch(ids, offsets, texts)
	}
	type part struct{ ids, offs []int32 }
	parts := make([]part, workers)
	per := (len(texts) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := min(w*per, len(texts)), min((w+1)*per, len(texts))
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[w].ids, parts[w].offs = t.Batch(nil, nil, texts[lo:hi])
		}()
	}
	wg.Wait()
	ids, offsets = ids[:0], append(offsets[:0], 0)
	for _, p := range parts {
		base := int32(len(ids))
		ids = append(ids, p.ids...)
		for _, o := range p.offs[1:] {
			offsets = append(offsets, base+o)
		}
	}
	return ids, offsets
}

// Batch tokenizes texts into the CSR layout of an embedding bag: the ids of
// text i are ids[offsets[i]:offsets[i+1]], with len(offsets) =
// len(texts)+1. ids and offsets are appended to from their length 0
// (dst[:0] style), so buffers can be reused.
func (t *Tokenizer) Batch(ids, offsets []int32, texts []string) ([]int32, []int32) {
	ids, offsets = ids[:0], append(offsets[:0], 0)
	for _, s := range texts {
		ids = t.Append(ids, s)
		offsets = append(offsets, int32(len(ids)))
	}
	return ids, offsets
}
