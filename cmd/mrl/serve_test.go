package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startServe starts the binary on a free loopback port and returns its
// base URL once /readyz answers.
func startServe(t *testing.T, bin, dataDir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails midway must not leave the server running.
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	sc := bufio.NewScanner(out)
	url := ""
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("mrl serve printed no address; stderr:\n%s", stderr.String())
	}
	go io.Copy(io.Discard, out)
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 200 {
			t.Fatalf("mrl serve at %s not ready: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, url
}

func postJSON(url string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

type crashPoint struct {
	ID     uint64    `json:"id"`
	Vector []float32 `json:"vector"`
}

// TestServeCrash builds mrl, runs it, ingests from two concurrent writers
// and kills it with SIGKILL at random (seeded) moments, 20 times: after
// every restart each acknowledged point must be there with its exact
// vector. Snapshots every 150 points make the kills land around log
// rotations and snapshot writes too.
func TestServeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mrl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := filepath.Join(tmp, "data")
	const d, cycles = 16, 20
	rng := rand.New(rand.NewPCG(20261127, 6))
	acked := map[uint64][]float32{}
	var mu sync.Mutex
	nextID := uint64(1)

	// verify counts the acknowledged points among ids that are missing or
	// have another vector.
	lost := 0
	verify := func(url string, ids []uint64) {
		t.Helper()
		for _, id := range ids {
			resp, err := http.Get(fmt.Sprintf("%s/v1/collections/crash/points/%d", url, id))
			if err != nil {
				t.Fatal(err)
			}
			var p crashPoint
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || !slices.Equal(p.Vector, acked[id]) {
				t.Errorf("acknowledged point %d: %d %s, want vector %v", id, resp.StatusCode, body, acked[id])
				lost++
			}
		}
	}

	var lastCycle []uint64 // acknowledged in the cycle just killed
	for cycle := range cycles {
		cmd, url := startServe(t, bin, dataDir, "--snapshot-every", "150")
		if cycle == 0 {
			if code, body, err := postJSON(url+"/v1/collections", map[string]any{"name": "crash", "dim": d, "metric": "l2"}); err != nil || code != 201 {
				t.Fatalf("create: %d %s %v", code, body, err)
			}
		} else {
			// The writes acknowledged just before the kill, and a sample
			// of the older ones (all of them are checked at the end).
			ids := slices.Clone(lastCycle)
			for id := range acked {
				if len(ids) >= len(lastCycle)+200 {
					break
				}
				ids = append(ids, id)
			}
			verify(url, ids)
			lastCycle = lastCycle[:0]
			resp, err := http.Get(url + "/v1/collections/crash")
			if err != nil {
				t.Fatal(err)
			}
			var info struct{ Count int }
			json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			// Writes in flight at a kill may or may not have landed.
			if attempted := int(nextID - 1); info.Count < len(acked) || info.Count > attempted {
				t.Fatalf("cycle %d: count %d, want between the %d acknowledged and the %d attempted", cycle, info.Count, len(acked), attempted)
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					mu.Lock()
					pts := make([]crashPoint, 5)
					for i := range pts {
						v := make([]float32, d)
						for j := range v {
							v[j] = float32(nextID)*0.001 + float32(j) + float32(w)
						}
						pts[i] = crashPoint{ID: nextID, Vector: v}
						nextID++
					}
					mu.Unlock()
					code, _, err := postJSON(url+"/v1/collections/crash/points", map[string]any{"points": pts})
					if err != nil || code != 200 {
						return // killed
					}
					mu.Lock()
					for _, p := range pts {
						acked[p.ID] = p.Vector
						lastCycle = append(lastCycle, p.ID)
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(50+rng.IntN(250)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		cancel()
		wg.Wait()
	}
	// A last start: every acknowledged write, then a clean SIGTERM exit.
	cmd, url := startServe(t, bin, dataDir)
	ids := make([]uint64, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	verify(url, ids)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mrl serve after SIGTERM: %v", err)
	}
	t.Logf("%d kill/restart cycles, %d acknowledged points, %d lost", cycles, len(acked), lost)
	if lost > 0 {
		t.Fatalf("%d acknowledged writes lost", lost)
	}
	if len(acked) < cycles*10 {
		t.Fatalf("only %d points acknowledged in %d cycles: the writers barely ran", len(acked), cycles)
	}
	// A graceful exit leaves a snapshot and an empty log.
	files, _ := filepath.Glob(filepath.Join(dataDir, "collections", "crash", "*"))
	var snaps int
	for _, f := range files {
		if strings.Contains(f, "snapshot-") && strings.HasSuffix(f, ".json") {
			snaps++
		}
		if strings.Contains(f, "wal-") {
			if st, err := os.Stat(f); err == nil && st.Size() != 0 {
				t.Errorf("log %s holds %d bytes after a graceful exit, want 0", f, st.Size())
			}
		}
	}
	if snaps != 1 {
		t.Errorf("%d snapshots after a graceful exit, want 1: %v", snaps, files)
	}
}

func TestServeFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "--data-dir is required"},
		{[]string{"--data-dir", t.TempDir(), "extra"}, "unexpected arguments"},
		{[]string{"--data-dir", t.TempDir(), "--auto-recall", "2"}, "--auto-recall 2"},
		{[]string{"--data-dir", t.TempDir(), "--addr", "256.0.0.1:1"}, "256.0.0.1"},
		{[]string{"--backend", "qdrant"}, `--backend "qdrant": want embedded or weaviate`},
		{[]string{"--data-dir", t.TempDir(), "--weaviate-replicas", "2"}, "--weaviate-replicas needs --backend weaviate"},
		{[]string{"--backend", "weaviate"}, "--backend weaviate needs --weaviate"},
		{[]string{"--backend", "weaviate", "--weaviate", "127.0.0.1:1/2", "--data-dir", "x", "--recover", "--snapshot-every", "5"},
			"--data-dir is an option of the embedded store"},
		{[]string{"--backend", "weaviate", "--weaviate", "127.0.0.1:1/2", "--recover"}, "--recover is an option of the embedded store"},
		{[]string{"--backend", "weaviate", "--weaviate", "nohost"}, "want HOST:HTTP[/GRPC]"},
		{[]string{"--backend", "weaviate", "--weaviate", "127.0.0.1:1/2", "--weaviate-consistency", "most"}, "consistency"},
		{[]string{"--backend", "weaviate", "--weaviate", "127.0.0.1:1/2", "--weaviate-replicas", "0"}, "replicas 0"},
		{[]string{"--backend", "weaviate", "--weaviate", "127.0.0.1:1/2", "--timeout", "2s"}, "cluster unreachable"},
		{[]string{"--data-dir", t.TempDir(), "--max-texts", "0"}, "--max-texts 0"},
		{[]string{"--data-dir", t.TempDir(), "--max-text-bytes", "-1"}, "--max-text-bytes -1"},
	} {
		var out, errb bytes.Buffer
		err := runServe(context.Background(), tt.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error()+errb.String(), tt.want) {
			t.Errorf("runServe(%q) = %v, stderr %q; want an error mentioning %q", tt.args, err, errb.String(), tt.want)
		}
	}
	// Cancelling the context shuts down cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errb)
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil || !strings.Contains(out.String(), "stopped") {
		t.Fatalf("runServe after cancel = %v, stdout %q stderr %q", err, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "serving without a token") {
		t.Errorf("stderr %q: want a warning about serving without a token", errb.String())
	}
}

// TestClusterServeBackend runs mrl serve --backend weaviate against a
// running cluster (MRL_WEAVIATE): it names the backend at start, serves
// /readyz and a collection, and stops cleanly.
func TestClusterServeBackend(t *testing.T) {
	addrs := os.Getenv("MRL_WEAVIATE")
	if addrs == "" {
		t.Skip("set MRL_WEAVIATE=HOST:HTTP/GRPC,... (a running cluster, e.g. scripts/weaviate-cluster.sh addrs) to serve from it")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--backend", "weaviate", "--weaviate", addrs, "--addr", "127.0.0.1:0", "--weaviate-consistency", "all"}, &out, &errb)
	}()
	re := regexp.MustCompile(`listening on (http://\S+) \(backend weaviate .* consistency ALL`)
	var url string
	for i := 0; i < 300 && url == ""; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if url == "" {
		cancel()
		t.Fatalf("mrl serve --backend weaviate: no start line naming the backend; stdout %q stderr %q err %v", out.String(), errb.String(), <-done)
	}
	resp, err := http.Get(url + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz = %v, %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	name := fmt.Sprintf("ItServeCmd%d", time.Now().UnixNano()%1e6)
	if code, body, err := postJSON(url+"/v1/collections", map[string]any{"name": name, "dim": 8, "nesting": []int{4, 8}}); err != nil || code != 201 {
		t.Errorf("create: %d %s %v", code, body, err)
	}
	req, _ := http.NewRequest("DELETE", url+"/v1/collections/"+name, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("drop: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil || !strings.Contains(out.String(), "stopped") {
		t.Errorf("runServe after cancel = %v, stdout %q", err, out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeRecover: mrl serve refuses a damaged data directory, naming
// --recover, and with --recover moves the damage to the quarantine and
// starts.
func TestServeRecover(t *testing.T) {
	dir := t.TempDir()
	cdir := filepath.Join(dir, "collections", "c")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A collection directory with a log but no meta.json.
	if err := os.WriteFile(filepath.Join(cdir, "wal-00000000000000000001.log"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := runServe(context.Background(), []string{"--data-dir", dir, "--addr", "127.0.0.1:0"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "meta.json is missing") || !strings.Contains(err.Error(), "--recover") {
		t.Fatalf("mrl serve on a damaged directory = %v, want a refusal naming meta.json and --recover", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // start, then stop at once
	out.Reset()
	errb.Reset()
	if err := runServe(ctx, []string{"--data-dir", dir, "--addr", "127.0.0.1:0", "--recover"}, &out, &errb); err != nil {
		t.Fatalf("mrl serve --recover = %v, stderr %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "quarantine") {
		t.Errorf("stderr %q: want the quarantine logged", errb.String())
	}
	if q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*-c", "wal-*.log")); len(q) != 1 {
		t.Errorf("quarantine: %v, want the collection's log", q)
	}
}
