package data

import (
	"errors"
	"fmt"
	"strings"
)

// TextPair is one (query, document) pair of a text retrieval set: a
// synopsis and its long description, a question and its answer, a title and
// its body. Label is the pair's class in [0, len(TextSet.Classes)), or -1
// when the set has no labels.
type TextPair struct {
	Query string
	Doc   string
	Label int32
}

// TextSet is a text retrieval set split into train, validation and test
// pairs. Within a split every Doc is distinct, so the positive of query i is
// document i and every other document of the split is a negative.
type TextSet struct {
	Name             string // e.g. "debian-descriptions"
	Train, Val, Test []TextPair
	Classes          []string // label names; nil when the pairs carry no labels
	Source           string   // what was read (file names), for reports
	Hash             string   // hex SHA-256 of the bytes read, for reports: the source data changes over time
	Stats            TextStats
}

// TextStats count what a reader read, kept and dropped, for reports.
type TextStats struct {
	Read         int `json:"read"`          // entries read: description stanzas, or JSONL pairs
	Kept         int `json:"kept"`          // pairs in Train, Val and Test together
	DuplicateKey int `json:"duplicate_key"` // dropped: same Description-md5 as an earlier stanza
	DuplicateDoc int `json:"duplicate_doc"` // dropped: same Doc text as an earlier kept pair
	EmptyDoc     int `json:"empty_doc"`     // dropped: empty long description
	NoLabel      int `json:"no_label"`      // dropped: no section in the Packages lists
}

// Validate reports every breach of the TextSet contract at once: an empty
// Query or Doc, a Label outside [0, len(Classes)) (or not -1 when Classes
// is nil), and a Doc repeated within a split. Each kind of problem is
// reported once per split, with its first index and a count.
func (s *TextSet) Validate() error {
	var errs []error
	for _, sp := range []struct {
		name  string
		pairs []TextPair
	}{{"train", s.Train}, {"val", s.Val}, {"test", s.Test}} {
		type problem struct{ first, n int }
		var empty, label, dup problem
		note := func(p *problem, i int) {
			if p.n == 0 {
				p.first = i
			}
			p.n++
		}
		seen := make(map[string]bool, len(sp.pairs))
		for i, p := range sp.pairs {
			if strings.TrimSpace(p.Query) == "" || strings.TrimSpace(p.Doc) == "" {
				note(&empty, i)
			}
			if s.Classes == nil && p.Label != -1 || s.Classes != nil && (p.Label < 0 || int(p.Label) >= len(s.Classes)) {
				note(&label, i)
			}
			if seen[p.Doc] {
				note(&dup, i)
			}
			seen[p.Doc] = true
		}
		if empty.n > 0 {
			errs = append(errs, fmt.Errorf("%w: %s/%s: %d pairs with an empty query or doc, first %d", ErrFormat, s.Name, sp.name, empty.n, empty.first))
		}
		if label.n > 0 {
			errs = append(errs, fmt.Errorf("%w: %s/%s: %d labels outside [0,%d) (or not -1 without classes), first pair %d has %d",
				ErrLabel, s.Name, sp.name, label.n, len(s.Classes), label.first, sp.pairs[label.first].Label))
		}
		if dup.n > 0 {
			errs = append(errs, fmt.Errorf("%w: %s/%s: %d docs repeat an earlier doc of the split, first pair %d", ErrFormat, s.Name, sp.name, dup.n, dup.first))
		}
	}
	return errors.Join(errs...)
}

// Pairs returns the split named "train", "val" or "test".
func (s *TextSet) Pairs(split string) ([]TextPair, error) {
	switch split {
	case "train":
		return s.Train, nil
	case "val":
		return s.Val, nil
	case "test":
		return s.Test, nil
	}
	return nil, fmt.Errorf("data: %s: no split %q; want train, val or test", s.Name, split)
}
