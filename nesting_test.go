package mrl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDefaultNesting(t *testing.T) {
	cases := []struct {
		size int
		want string
	}{{2048, "8,16,32,64,128,256,512,1024,2048"}, {512, "8,16,32,64,128,256,512"}, {100, "8,16,32,64,100"}, {8, "8"}, {5, "5"}, {0, ""}}
	for _, tc := range cases {
		if got := DefaultNesting(tc.size).String(); got != tc.want {
			t.Errorf("DefaultNesting(%d) = %q, want %q", tc.size, got, tc.want)
		}
	}
}

func TestParseNesting(t *testing.T) {
	good := map[string]Nesting{"8,16,32": {8, 16, 32}, " 4 , 9 ": {4, 9}, "1": {1}}
	for s, want := range good {
		got, err := ParseNesting(s)
		if err != nil || got.String() != want.String() {
			t.Errorf("ParseNesting(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "8,,16", "16,8", "8,8", "0,8", "-8", "x"} {
		if _, err := ParseNesting(s); !errors.Is(err, ErrNesting) {
			t.Errorf("ParseNesting(%q) error = %v, want ErrNesting", s, err)
		}
	}
}

func TestValidateReportsAll(t *testing.T) {
	err := Nesting{8, 4, 64}.Validate(32)
	for _, want := range []string{"does not increase", "exceeds the embedding size 32"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v lacks %q", err, want)
		}
	}
}

func TestMetric(t *testing.T) {
	for _, m := range []Metric{Cosine, InnerProduct, L2} {
		got, err := ParseMetric(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMetric(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMetric("hamming"); err == nil {
		t.Error("ParseMetric(hamming) gave no error")
	}
}

func ExampleDefaultNesting() {
	n := DefaultNesting(2048)
	fmt.Println(n, n.Max(), n.Index(64))
	// Output: 8,16,32,64,128,256,512,1024,2048 2048 3
}

// TestMetricText: a Metric's text is its String and parses back; unknown
// text and values are errors.
func TestMetricText(t *testing.T) {
	for _, m := range []Metric{Cosine, InnerProduct, L2} {
		b, err := m.MarshalText()
		var back Metric
		if err != nil || back.UnmarshalText(b) != nil || back != m {
			t.Errorf("%v: MarshalText %q %v, back %v", m, b, err, back)
		}
	}
	var m Metric
	if err := m.UnmarshalText([]byte("hamming")); err == nil {
		t.Error(`UnmarshalText("hamming") succeeded`)
	}
	if _, err := Metric(7).MarshalText(); err == nil {
		t.Error("Metric(7).MarshalText succeeded")
	}
}
