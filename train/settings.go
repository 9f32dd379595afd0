package train

import (
	"fmt"

	"github.com/gomrl/mrl/nn"
)

// Optimizer names the optimizer of a run: "sgd" or "adamw". It is a string
// so that the JSON of Options (stored in checkpoints) is the text itself;
// UnmarshalText (JSON, flag.TextVar) accepts only known names, and ""
// (the default of WithDefaults).
type Optimizer string

const (
	SGD   Optimizer = "sgd"   // nn.SGD, with momentum (and Nesterov)
	AdamW Optimizer = "adamw" // nn.AdamW
)

// ParseOptimizer parses an optimizer's name.
func ParseOptimizer(s string) (Optimizer, error) {
	switch o := Optimizer(s); o {
	case SGD, AdamW:
		return o, nil
	}
	return "", fmt.Errorf("optimizer %q: want sgd or adamw", s)
}

// String returns the name.
func (o Optimizer) String() string { return string(o) }

// MarshalText implements encoding.TextMarshaler: the name as it is.
func (o Optimizer) MarshalText() ([]byte, error) { return []byte(o), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is the unset value.
func (o *Optimizer) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*o = ""
		return nil
	}
	v, err := ParseOptimizer(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Schedule names a learning-rate schedule (nn.ParseSchedule): "constant",
// "step", "cosine" or "onecycle"; "" is the default of WithDefaults.
type Schedule string

const (
	Constant Schedule = "constant"
	Step     Schedule = "step"
	Cosine   Schedule = "cosine"
	OneCycle Schedule = "onecycle"
)

// String returns the name.
func (s Schedule) String() string { return string(s) }

// MarshalText implements encoding.TextMarshaler: the name as it is.
func (s Schedule) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is the unset value.
func (s *Schedule) UnmarshalText(b []byte) error {
	if len(b) > 0 {
		if _, err := nn.ParseSchedule(string(b), 1, 1, 0); err != nil {
			return err
		}
	}
	*s = Schedule(b)
	return nil
}
