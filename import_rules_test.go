package mrl_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules checks the import rules of docs/architecture.md on the
// module's packages (their direct imports, tests excluded).
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", "./...").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	const mod = "github.com/gomrl/mrl"
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		pkg = strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")
		for _, d := range strings.Fields(deps) {
			if d == mod {
				imports[pkg] = append(imports[pkg], "mrl")
			} else if rest, ok := strings.CutPrefix(d, mod+"/"); ok {
				imports[pkg] = append(imports[pkg], rest)
			}
		}
	}
	if len(imports) == 0 {
		t.Fatal("go list found no packages")
	}
	upper := []string{"model", "train", "eval", "index", "collection", "report", "server", "onnx", "data", "matryoshka", "adapter", "cmd", "bench", "weaviate"}
	forbid := map[string][]string{
		"":                    append(upper, "nn", "internal", "checkpoint"), // the root package
		"internal/kernel":     append(upper, "nn", "checkpoint", "mrl"),
		"internal/atomicfile": append(upper, "nn", "checkpoint", "mrl", "internal/kernel"),
		"nn":                  append(upper, "checkpoint"),
		"checkpoint":          append(upper, "nn", "internal/kernel"),
		"text":                append(upper, "nn", "checkpoint", "internal", "mrl", "collection"),
		"index":               {"train", "model", "nn", "eval", "collection", "report", "server", "matryoshka", "adapter", "cmd", "bench", "weaviate"},
		"server":              {"train", "report", "cmd", "bench", "weaviate"},
		"adapter":             {"train", "model", "report", "server", "onnx", "data", "collection", "weaviate", "cmd", "bench"},
		"bm25":                {"model", "train", "eval", "report", "server", "onnx", "data", "matryoshka", "nn", "checkpoint", "internal", "collection", "adapter"},
		"server/api":          {"model", "train", "eval", "index", "nn", "internal", "checkpoint", "server/client", "data", "matryoshka", "report", "onnx", "collection", "adapter"},
	}
	for pkg, deps := range imports {
		bad := forbid[pkg]
		if pkg == "weaviate" {
			for _, d := range deps {
				if d != "mrl" && d != "index" && d != "server/api" {
					t.Errorf("weaviate imports %s: it may import only mrl, index and server/api", d)
				}
			}
			continue
		}
		if pkg == "weaviate/backend" {
			// The server's store on a cluster: the server's interface, the
			// embedded store's sentinels and checks, the cluster package.
			for _, d := range deps {
				if d != "server" && d != "server/api" && d != "collection" && d != "weaviate" && d != "index" && d != "mrl" {
					t.Errorf("weaviate/backend imports %s: it may import only server, server/api, collection, weaviate, index and the root package", d)
				}
			}
			continue
		}
		if pkg == "collection" {
			// The embedded store: the index, atomic files and the plain
			// data types of server/api; never the server, training or models.
			for _, d := range deps {
				if d != "index" && d != "internal/atomicfile" && d != "server/api" && d != "mrl" {
					t.Errorf("collection imports %s: it may import only index, internal/atomicfile, server/api and the root package", d)
				}
			}
			continue
		}
		if pkg == "server/client" {
			for _, d := range deps {
				if d != "server/api" && d != "mrl" {
					t.Errorf("server/client imports %s: it may import only server/api and the root package", d)
				}
			}
			continue
		}
		if !strings.HasPrefix(pkg, "cmd/") && !strings.HasPrefix(pkg, "bench/") {
			bad = append(bad, "cmd", "bench")
		}
		for _, d := range deps {
			for _, b := range bad {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s imports %s, which docs/architecture.md forbids", orRoot(pkg), d)
				}
			}
		}
	}
}

func orRoot(p string) string {
	if p == "" {
		return "mrl (root)"
	}
	return p
}
