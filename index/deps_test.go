package index

import (
	"os/exec"
	"strings"
	"testing"
)

// TestIndexDoesNotLinkMNIST: a program that only searches does not pull
// in the MNIST module (package data finds its files without importing it).
func TestIndexDoesNotLinkMNIST(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/gomrl/mrl/index").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "GoMNIST") || strings.HasPrefix(pkg, "github.com/gomrl/mrl/train") || strings.HasPrefix(pkg, "github.com/gomrl/mrl/nn") {
			t.Errorf("index depends on %s", pkg)
		}
	}
}
