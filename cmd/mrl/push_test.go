package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexPushErrors checks push's argument errors and its error for a
// cluster that does not answer; pushing into a real cluster is tested by
// the weaviate package's integration tests and the CI cluster step.
func TestIndexPushErrors(t *testing.T) {
	dir := t.TempDir()
	jsonl, npy := writeVectors(t, dir, "db", 20, 8, 1)
	idx := filepath.Join(dir, "a.idx")
	if code, _, stderr := runCmd(t, "index", "build", "--out", idx, "--jsonl", jsonl); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	noext := filepath.Join(dir, "vectors")
	os.WriteFile(noext, []byte("{}"), 0o644)
	closed := "127.0.0.1:1/2"
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"index", "push", idx}, 2, "--weaviate is required; --collection is required"},
		{[]string{"index", "push", "--weaviate", closed, "--collection", "x"}, 2, "want one FILE, got 0"},
		{[]string{"index", "push", idx, "--weaviate", "nohost", "--collection", "x"}, 2, `address "nohost": want HOST:HTTP[/GRPC]`},
		{[]string{"index", "push", idx, "--weaviate", closed, "--collection", "x", "--consistency", "two"}, 2, `consistency "two"`},
		{[]string{"index", "push", noext, "--weaviate", closed, "--collection", "x"}, 1, "need the .npy or .jsonl extension"},
		{[]string{"index", "push", idx, "--weaviate", closed, "--collection", "x", "--plan", "4:20,6:10"}, 1, "last dim 6 is not the full dim 8"},
		{[]string{"index", "push", idx, "--weaviate", closed, "--collection", "x", "--replicas", "-1", "--full", "ivf"}, 1, "full index \"ivf\": want flat or hnsw; replicas -1"},
		{[]string{"index", "push", idx, "--weaviate", closed, "--collection", "x"}, 1, "weaviate: cluster unreachable"},
		{[]string{"index", "push", npy, "--weaviate", closed, "--collection", "x", "--timeout", "1s"}, 1, "127.0.0.1:1/2"},
	}
	for _, tc := range cases {
		code, _, stderr := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("mrl %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
	code, _, stderr := runCmd(t, "index", "push", "-h")
	if code != 0 || !strings.Contains(stderr, "Usage: mrl index push") || !strings.Contains(stderr, "Example") {
		t.Errorf("mrl index push -h: exit %d, stderr %q", code, stderr)
	}
}

// TestClusterPush pushes a JSONL file into a running cluster
// (MRL_WEAVIATE, as the weaviate package's integration tests take it),
// then checks that another plan's layout is refused and --drop replaces it.
func TestClusterPush(t *testing.T) {
	addrs := os.Getenv("MRL_WEAVIATE")
	if addrs == "" {
		t.Skip("set MRL_WEAVIATE=HOST:HTTP/GRPC,... (a running cluster, e.g. scripts/weaviate-cluster.sh addrs) to push into it")
	}
	dir := t.TempDir()
	jsonl, _ := writeVectors(t, dir, "db", 300, 16, 3)
	name := "ItPush"
	push := func(extra ...string) (int, string, string) {
		return runCmd(t, append([]string{"index", "push", jsonl, "--weaviate", addrs, "--collection", name}, extra...)...)
	}
	if code, stdout, stderr := push("--plan", "4:50,16:10", "--drop", "--batch", "64"); code != 0 || !strings.Contains(stdout, "300 points pushed") || !strings.Contains(stdout, "300 in the collection") || !strings.Contains(stderr, "pushed 300/300 (100%)") {
		t.Fatalf("push: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if code, _, stderr := push("--plan", "8:50,16:10"); code != 1 || !strings.Contains(stderr, "weaviate: layout mismatch") || !strings.Contains(stderr, "prefixes: want [8], got [4]") {
		t.Errorf("push with another plan: exit %d, stderr %s; want the layout mismatch", code, stderr)
	}
	if code, stdout, stderr := push("--plan", "8:50,16:10", "--drop"); code != 0 || !strings.Contains(stdout, "300 in the collection") {
		t.Errorf("push --drop: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}
