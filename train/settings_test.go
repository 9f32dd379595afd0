package train

import (
	"strings"
	"testing"
)

// TestSettingsText: Optimizer and Schedule parse their names once (JSON,
// flags), accept "" as unset and refuse unknown names.
func TestSettingsText(t *testing.T) {
	for _, tt := range []struct {
		opt, sched, err string
	}{
		{"sgd", "onecycle", ""},
		{"adamw", "cosine", ""},
		{"", "", ""},
		{"rmsprop", "step", `optimizer "rmsprop": want sgd or adamw`},
		{"sgd", "linear", `unknown schedule "linear"`},
	} {
		var o Optimizer
		var s Schedule
		err := o.UnmarshalText([]byte(tt.opt))
		if err == nil {
			err = s.UnmarshalText([]byte(tt.sched))
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q, %q: error %v, want %q", tt.opt, tt.sched, err, tt.err)
			}
			continue
		}
		if err != nil || o.String() != tt.opt || s.String() != tt.sched {
			t.Errorf("%q, %q: got %q, %q, %v", tt.opt, tt.sched, o, s, err)
		}
		if b, _ := o.MarshalText(); string(b) != tt.opt {
			t.Errorf("%q.MarshalText() = %q", o, b)
		}
	}
}
