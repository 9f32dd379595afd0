package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/internal/kernel"
)

// writeSynthPairs writes n pairs whose query and document words are
// different spellings of shared concepts (see train's synthPairs).
func writeSynthPairs(t *testing.T, path string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	word := func(alphabet string, c int) string {
		rr := rand.New(rand.NewPCG(uint64(c), uint64(len(alphabet))))
		b := make([]byte, 6)
		for i := range b {
			b[i] = alphabet[rr.IntN(len(alphabet))]
		}
		return string(b)
	}
	var sb strings.Builder
	for range n {
		item := r.Perm(200)[:4]
		var q, d []string
		for j, c := range item {
			if j < 3 {
				q = append(q, word("abcdefghijklm", c))
			}
			d = append(d, word("nopqrstuvwxyz", c))
		}
		b, _ := json.Marshal(map[string]string{"query": strings.Join(q, " "), "doc": strings.Join(d, " ")})
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTrainTextAndEmbed(t *testing.T) {
	dir := t.TempDir()
	pairs, ckpt := filepath.Join(dir, "pairs.jsonl"), filepath.Join(dir, "text.ckpt")
	writeSynthPairs(t, pairs, 640)
	args := []string{"train", "--model", "text", "--loss", "contrastive", "--pairs", pairs, "--epochs", "2", "--batch", "32",
		"--buckets", "4096", "--bag-dim", "16", "--embed", "32", "--val-frac", "0.2", "--quiet", "--out", ckpt}
	code, _, stderr := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "val_recall10_full") || !strings.Contains(stderr, "validation recall@10 per dim") {
		t.Errorf("train's log lacks the validation recall:\n%s", stderr)
	}
	// Resume to a third epoch.
	code, _, stderr = runCmd(t, "train", "--resume", ckpt, "--epochs", "3", "--quiet")
	if code != 0 || !strings.Contains(stderr, "epoch=3/3") {
		t.Fatalf("resume exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "docs.npy")
	code, stdout, stderr := runCmd(t, "embed", "--ckpt", ckpt, "--in", pairs, "--field", "doc", "--dim", "8", "--normalize", "--out", out)
	if code != 0 {
		t.Fatalf("embed exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "texts/s") {
		t.Errorf("embed output lacks the throughput: %s", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, shape, err := data.ReadNPY(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(shape) != "[640 8]" {
		t.Fatalf("embeddings shape %v, want [640 8]", shape)
	}
	if n := kernel.Norm(x[:8]); math.Abs(float64(n)-1) > 1e-5 {
		t.Errorf("row 0 norm %v with --normalize", n)
	}
	// Index the documents at the full dim and search them with a text query.
	full, idx := filepath.Join(dir, "docs.npy"), filepath.Join(dir, "docs.idx")
	if code, _, stderr := runCmd(t, "embed", "--ckpt", ckpt, "--in", pairs, "--field", "doc", "--out", full); code != 0 {
		t.Fatalf("embed exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "index", "build", "--npy", full, "--metric", "cosine", "--out", idx); code != 0 {
		t.Fatalf("index build exit %d: %s", code, stderr)
	}
	pf, err := os.Open(pairs)
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := data.ReadPairs(pf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCmd(t, "index", "search", idx, "--from-ckpt", ckpt, "--query", first[0].Query, "--k", "3")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("query %q:", first[0].Query)) {
		t.Errorf("index search --query: exit %d: %s%s", code, stdout, stderr)
	}
	lines := filepath.Join(dir, "texts.txt")
	os.WriteFile(lines, []byte("a web browser\nnéovim 日本\n"), 0o644)
	code, stdout, stderr = runCmd(t, "embed", "--ckpt", ckpt, "--in", lines, "--out", filepath.Join(dir, "l.jsonl"))
	if code != 0 || !strings.Contains(stdout, "2 rows × 32 dims") {
		t.Errorf("embed of plain lines: exit %d: %s%s", code, stdout, stderr)
	}
}

func TestTextErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"query": "a", "doc": "b"}`+"\n"+`{"query": "a"}`+"\n"), 0o644)
	pairs, ckpt := filepath.Join(dir, "p.jsonl"), filepath.Join(dir, "t.ckpt")
	writeSynthPairs(t, pairs, 64)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", "text", "--pairs", empty}, "no pairs"},
		{[]string{"train", "--model", "text", "--pairs", bad}, "bad.jsonl: line 2: data: malformed or unsupported input: no \"doc\" field"},
		{[]string{"train", "--model", "text"}, "give --pairs FILE.jsonl or --data debian-descriptions"},
		{[]string{"train", "--model", "text", "--pairs", bad, "--data", "debian-descriptions"}, "not both"},
		{[]string{"train", "--data", "debian-descriptions", "--heads", "ff"}, "no classification heads"},
		{[]string{"train", "--model", "mlp", "--loss", "contrastive"}, "contrastive is for --model text"},
		{[]string{"train", "--model", "text", "--pairs", pairs, "--heads", "ff"}, "no classification heads"},
	}
	for _, tc := range tests {
		code, _, stderr := runCmd(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q: want an error with %q", tc.args, code, stderr, tc.want)
		}
	}
	code, _, stderr := runCmd(t, "train", "--model", "text", "--pairs", pairs, "--epochs", "1", "--batch", "16", "--buckets", "512", "--bag-dim", "8",
		"--embed", "16", "--text-hidden", "12", "--max-n", "0", "--learn-temperature", "--symmetric", "--temperature", "0.1", "--quiet", "--out", ckpt)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	if want := "text buckets=512 ngrams=none bigrams=true bag=8 hidden=[12] embed=16 nesting=8,16 tau=0.1 learn_tau=true symmetric=true"; !strings.Contains(stderr, want) {
		t.Errorf("the text flags did not reach the model: want %q in\n%s", want, stderr)
	}
	words := filepath.Join(dir, "w.txt")
	os.WriteFile(words, []byte("fine text\n!!! ...\n"), 0o644)
	code, _, stderr = runCmd(t, "embed", "--ckpt", ckpt, "--in", words, "--out", filepath.Join(dir, "w.npy"))
	if code == 0 || !strings.Contains(stderr, "w.txt:2: the text \"!!! ...\" has no words") {
		t.Errorf("a text with no words: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "embed", "--ckpt", ckpt, "--split", "test", "--out", filepath.Join(dir, "s.npy"))
	if code == 0 || !strings.Contains(stderr, "text model") {
		t.Errorf("a text model asked for an image split: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "eval", ckpt)
	if code == 0 || !strings.Contains(stderr, "text model") {
		t.Errorf("eval of a text model: exit %d, %s", code, stderr)
	}
}

// FuzzReadTexts: any bytes as a JSONL or plain-lines file give texts with
// line numbers in order, or an error; never a panic.
func FuzzReadTexts(f *testing.F) {
	f.Add([]byte("{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n"), true)
	f.Add([]byte("one\ntwo\n\nthree"), false)
	f.Add([]byte("{\"text\": 3}\n"), true)
	f.Add([]byte("\xff\xfe\n{"), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte, jsonl bool) {
		path := filepath.Join(dir, "in.txt")
		if jsonl {
			path = filepath.Join(dir, "in.jsonl")
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		texts, lines, err := readTexts(path, "text", 0)
		if err != nil {
			return
		}
		if len(texts) == 0 || len(texts) != len(lines) {
			t.Fatalf("%d texts, %d line numbers", len(texts), len(lines))
		}
		for i := 1; i < len(lines); i++ {
			if lines[i] <= lines[i-1] {
				t.Fatalf("line numbers %v not increasing", lines)
			}
		}
		if !jsonl && len(texts) != strings.Count(string(b), "\n")+1 && len(texts) != strings.Count(string(b), "\n") {
			t.Fatalf("%d texts from %d newlines", len(texts), strings.Count(string(b), "\n"))
		}
	})
}
