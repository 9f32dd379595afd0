package model

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSettingsText: Arch and Heads parse their names once (JSON, flags),
// keep the text as given, accept "" as unset and refuse unknown names.
func TestSettingsText(t *testing.T) {
	for _, tt := range []struct {
		json, err string
	}{
		{`{"arch":"cnn","heads":"mrl-e"}`, ""},
		{`{"arch":"","heads":""}`, ""},
		{`{"arch":"mlp","heads":"MRL"}`, ""},
		{`{"arch":"rnn","heads":"mrl"}`, `arch "rnn": want mlp, cnn or text`},
		{`{"arch":"mlp","heads":"moe"}`, `unknown head kind "moe"`},
	} {
		var c Config
		err := json.Unmarshal([]byte(tt.json), &c)
		if tt.err == "" {
			if err != nil {
				t.Errorf("Unmarshal(%s) = %v", tt.json, err)
				continue
			}
			b, _ := json.Marshal(struct {
				Arch  Arch  `json:"arch"`
				Heads Heads `json:"heads"`
			}{c.Arch, c.Heads})
			if string(b) != tt.json {
				t.Errorf("Unmarshal then Marshal of %s = %s", tt.json, b)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Unmarshal(%s) = %v, want an error containing %q", tt.json, err, tt.err)
		}
	}
	if k, err := HeadsFF.Kind(); err != nil || k.String() != "ff" {
		t.Errorf("HeadsFF.Kind() = %v, %v", k, err)
	}
}
