// Package mrl holds the vocabulary of Matryoshka Representation Learning
// (Kusupati et al., NeurIPS 2022): the Nesting of prefix sizes and the
// errors shared by the implementation packages.
//
// An MRL embedding z of size D is trained so that every prefix z[:m], for m
// in a Nesting such as 8,16,...,D, is a usable embedding on its own. The
// heads and the loss live in package matryoshka, the training engine in
// package train, the layers in package nn and the compute kernels in
// internal/kernel.
package mrl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Nesting is the ordered list of prefix sizes (dims) of a Matryoshka
// embedding. It is strictly increasing and its last element is usually the
// embedding size.
type Nesting []int

// ErrNesting reports an invalid nesting.
var ErrNesting = errors.New("mrl: invalid nesting")

// DefaultNesting returns the powers of two from 8 up to size, with size
// appended when it is not a power of two, as in the paper (8,16,...,2048).
// For size < 8 it returns {size}.
func DefaultNesting(size int) Nesting {
	if size <= 0 {
		return nil
	}
	var n Nesting
	for m := 8; m < size; m *= 2 {
		n = append(n, m)
	}
	return append(n, size)
}

// Validate checks that n is non-empty, strictly increasing, positive and that
// its largest dim is at most size.
func (n Nesting) Validate(size int) error {
	if len(n) == 0 {
		return fmt.Errorf("%w: empty", ErrNesting)
	}
	var problems []string
	for i, m := range n {
		if m <= 0 {
			problems = append(problems, fmt.Sprintf("dim %d at position %d is not positive", m, i))
		}
		if i > 0 && m <= n[i-1] {
			problems = append(problems, fmt.Sprintf("dim %d at position %d does not increase (previous %d)", m, i, n[i-1]))
		}
		if m > size {
			problems = append(problems, fmt.Sprintf("dim %d at position %d exceeds the embedding size %d", m, i, size))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrNesting, strings.Join(problems, "; "))
	}
	return nil
}

// Max returns the largest dim of n, or 0 if n is empty.
func (n Nesting) Max() int {
	if len(n) == 0 {
		return 0
	}
	return n[len(n)-1]
}

// Index returns the position of dim in n, or -1.
func (n Nesting) Index(dim int) int {
	for i, m := range n {
		if m == dim {
			return i
		}
	}
	return -1
}

// String formats n as a comma-separated list, the form ParseNesting reads.
func (n Nesting) String() string {
	s := make([]string, len(n))
	for i, m := range n {
		s[i] = strconv.Itoa(m)
	}
	return strings.Join(s, ",")
}

// ParseNesting reads a comma-separated list of dims such as "8,16,32".
// It does not validate against an embedding size; call Validate for that.
func ParseNesting(s string) (Nesting, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrNesting)
	}
	parts := strings.Split(s, ",")
	n := make(Nesting, 0, len(parts))
	for _, p := range parts {
		m, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not an integer", ErrNesting, p)
		}
		n = append(n, m)
	}
	if err := n.Validate(n[len(n)-1]); err != nil {
		return nil, err
	}
	return n, nil
}

// Metric is a similarity measure between embeddings.
type Metric int

const (
	// Cosine similarity; each prefix is re-normalised after truncation.
	Cosine Metric = iota
	// InnerProduct is the plain dot product of the prefixes.
	InnerProduct
	// L2 is the (negated, for ranking) squared Euclidean distance.
	L2
)

// String returns "cosine", "ip" or "l2".
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case InnerProduct:
		return "ip"
	case L2:
		return "l2"
	}
	return "Metric(" + strconv.Itoa(int(m)) + ")"
}

// ParseMetric reads "cosine", "ip" (or "dot") or "l2".
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cosine", "cos":
		return Cosine, nil
	case "ip", "dot", "inner", "innerproduct":
		return InnerProduct, nil
	case "l2", "euclidean":
		return L2, nil
	}
	return 0, fmt.Errorf("mrl: unknown metric %q (want cosine, ip or l2)", s)
}

// MarshalText implements encoding.TextMarshaler: "cosine", "ip" or "l2".
func (m Metric) MarshalText() ([]byte, error) {
	if m < Cosine || m > L2 {
		return nil, fmt.Errorf("mrl: unknown metric %v", m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseMetric.
func (m *Metric) UnmarshalText(b []byte) error {
	v, err := ParseMetric(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
