package index

import (
	"fmt"
	"strconv"
	"strings"
)

// Stage is one step of a funnel: score rows at prefix Dim and keep the
// best Keep of them.
type Stage struct {
	Dim  int
	Keep int
}

// Plan is a funnel: the first stage scores all N rows at its Dim (by any
// Searcher), each later stage reranks the previous stage's shortlist
// exactly at its larger Dim. A plan ends at the full dim D; its last Keep
// is the number of results it is meant for. "16:200,64:50,2048:10" scans
// the 16-prefixes, reranks the best 200 at 64 dims and the best 50 of those
// at 2048 dims, and returns the best 10.
type Plan []Stage

// ParsePlan reads a plan written as comma-separated dim:keep stages, the
// form String writes. It reports every malformed stage at once; call
// Validate to check the plan against an index.
func ParsePlan(s string) (Plan, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrPlan)
	}
	var p Plan
	var problems []string
	for i, part := range strings.Split(s, ",") {
		ds, ks, ok := strings.Cut(strings.TrimSpace(part), ":")
		dim, err1 := strconv.Atoi(strings.TrimSpace(ds))
		keep, err2 := strconv.Atoi(strings.TrimSpace(ks))
		if !ok || err1 != nil || err2 != nil {
			problems = append(problems, fmt.Sprintf("stage %d: %q is not dim:keep", i+1, part))
			continue
		}
		p = append(p, Stage{Dim: dim, Keep: keep})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrPlan, strings.Join(problems, "; "))
	}
	return p, nil
}

// String formats p as ParsePlan reads it, e.g. "16:200,64:50,2048:10".
func (p Plan) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s.Dim))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(s.Keep))
	}
	return b.String()
}

// Validate checks p for an index of full dim d and searches for k results,
// reporting every problem at once: at least one stage; dims in 1..d and
// strictly increasing; the last dim equal to d; keeps at least 1 and
// non-increasing; the last keep at least k. k <= 0 skips the last check.
func (p Plan) Validate(d, k int) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: no stages", ErrPlan)
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for i, s := range p {
		if s.Dim < 1 || s.Dim > d {
			add("stage %d: dim %d outside 1..%d", i+1, s.Dim, d)
		}
		if i > 0 && s.Dim <= p[i-1].Dim {
			add("stage %d: dim %d does not increase (previous %d)", i+1, s.Dim, p[i-1].Dim)
		}
		if s.Keep < 1 {
			add("stage %d: keep %d is not positive", i+1, s.Keep)
		}
		if i > 0 && s.Keep > p[i-1].Keep {
			add("stage %d: keep %d exceeds the previous stage's %d", i+1, s.Keep, p[i-1].Keep)
		}
	}
	last := p[len(p)-1]
	if last.Dim != d {
		add("last dim %d is not the full dim %d", last.Dim, d)
	}
	if k > 0 && last.Keep < k {
		add("last keep %d is less than k = %d", last.Keep, k)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w %s: %s", ErrPlan, p, strings.Join(problems, "; "))
	}
	return nil
}

// MulAdds returns the cost model of p per query over n rows: the number of
// multiply-adds of its dot products,
//
//	n·d_1 + K_1·d_2 + K_2·d_3 + ...
//
// for stages (d_i, K_i), each shortlist capped at n. A first stage run by
// an approximate searcher costs less than n·d_1. FLOPs are twice this.
func (p Plan) MulAdds(n int) int64 {
	var c int64
	rows := int64(n)
	for _, s := range p {
		c += rows * int64(s.Dim)
		rows = min(int64(s.Keep), int64(n))
	}
	return c
}

// FLOPs returns 2·MulAdds(n), the floating-point operations per query.
func (p Plan) FLOPs(n int) int64 { return 2 * p.MulAdds(n) }
