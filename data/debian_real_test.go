package data

import (
	"context"
	"errors"
	"testing"
)

// TestDebianDescriptionsReal reads the real apt lists when they are there
// (after `apt-get update -o Acquire::Languages=en`); it is skipped
// otherwise and in -short mode.
func TestDebianDescriptionsReal(t *testing.T) {
	if testing.Short() {
		t.Skip("reads about 100 MB of apt lists; skipped in -short mode")
	}
	set, err := LoadDebianDescriptions(context.Background(), TextOptions{})
	if errors.Is(err, ErrNotFound) {
		t.Skipf("no apt lists: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: train %d, val %d, test %d, classes %d, stats %+v, hash %s, source %s",
		set.Name, len(set.Train), len(set.Val), len(set.Test), len(set.Classes), set.Stats, set.Hash, set.Source)
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(set.Test) < 1000 || len(set.Classes) < 20 {
		t.Errorf("test split %d pairs, %d classes: want at least 1000 and 20", len(set.Test), len(set.Classes))
	}
}
