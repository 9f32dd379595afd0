package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientDoesNotLinkTheEngine: a program that only talks to a server
// imports the client and the wire types, not the training engine, the
// kernels or the server itself.
func TestClientDoesNotLinkTheEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/gomrl/mrl/server/client").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rest, ours := strings.CutPrefix(pkg, "github.com/gomrl/mrl/")
		if !ours {
			continue
		}
		switch rest {
		case "server/api", "server/client":
		default:
			t.Errorf("server/client depends on %s", pkg)
		}
	}
}
