package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/server"
	"github.com/gomrl/mrl/weaviate"
	"github.com/gomrl/mrl/weaviate/backend"
)

const serveHelp = `Usage: mrl serve --data-dir DIR [flags]
       mrl serve --backend weaviate --weaviate ADDR[,ADDR...] [flags]

Serves the HTTP API of package server: collections of Matryoshka vectors
(upsert, get, delete, search by prefix dim, funnel plan, plan "auto" or a
recall target, payload filters), trained checkpoints (embed, classify with
the adaptive cascade; text models embed texts, and a collection created
with "model" takes and searches texts), /healthz, /readyz, /metrics (Prometheus) and the
OpenAPI document at /v1/openapi.json. See docs/server.md.

Writes are acknowledged after an fsync of the collection's write-ahead log;
on start every collection is recovered from its snapshot and log. SIGTERM or
Ctrl-C stops accepting requests, lets running ones finish, writes snapshots
and closes the logs.

Recovery cuts only a torn final log record (a write that a crash
interrupted, never acknowledged). Any other damage (a bad record followed
by valid ones, a gap in the log, a missing or corrupt snapshot file, a
collection without meta.json) stops the start with an error that names the
file and offset. Restore from a backup, or run once with --recover: the
damaged files (and the log files after them) are moved, never deleted, to
DATA_DIR/quarantine/TIME-COLLECTION/ and each collection serves what
precedes the damage.

With --backend weaviate the collections live on a Weaviate cluster
(package weaviate/backend; see docs/server.md): the same API, models,
embed and classification, with each collection a Weaviate class holding a
named vector per nesting dim. Writes are acknowledged at the consistency
level (--weaviate-consistency); the cluster persists them, so there are no
snapshots or recovery here, and --data-dir, --snapshot-every and --recover
are refused. Plan "auto" (--auto-recall) is tuned against the cluster and
recorded on the collection's class. An
address is HOST:HTTP[/GRPC], as scripts/weaviate-cluster.sh addrs prints.

It binds 127.0.0.1 by default. The bearer token comes from --token or the
MRL_TOKEN environment variable; with one, every route but /healthz and
/readyz needs "Authorization: Bearer TOKEN"; without one it warns at start.
Request bodies must be sent as application/json, and browsers'
cross-origin requests are refused (403) except GET, HEAD and OPTIONS and
those from --trusted-origins, so a web page cannot write to the server. There is no TLS: put a reverse
proxy (Caddy, nginx) in front to serve other hosts.

Examples:
  mrl serve --data-dir runs/serve
  MRL_TOKEN=s3cret mrl serve --data-dir /var/lib/mrl --addr 0.0.0.0:7700 --model-root runs
  mrl serve --backend weaviate --weaviate $(scripts/weaviate-cluster.sh addrs) --weaviate-replicas 2
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "directory of the collections (required with --backend embedded; created if missing)")
	backendName := fs.String("backend", "embedded", "where the collections live: embedded (--data-dir) or weaviate (--weaviate)")
	var wvAddrs weaviate.Addrs
	fs.TextVar(&wvAddrs, "weaviate", weaviate.Addrs{}, "with --backend weaviate: the cluster's nodes, HOST:HTTP[/GRPC],...")
	wvCons := weaviate.Quorum
	fs.TextVar(&wvCons, "weaviate-consistency", weaviate.Quorum, "with --backend weaviate: consistency of reads and writes: one, quorum or all")
	wvReplicas := fs.Int("weaviate-replicas", 1, "with --backend weaviate: replication factor of collections created")
	wvShards := fs.Int("weaviate-shards", 0, "with --backend weaviate: shards of collections created (0: one per node)")
	addr := fs.String("addr", "127.0.0.1:7700", "address to listen on (port 0 picks a free port)")
	token := fs.String("token", "", "bearer token required on every route but /healthz and /readyz (default $MRL_TOKEN)")
	maxBody := fs.Int64("max-body", 64<<20, "largest request body in bytes")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request time limit (503 timeout past it)")
	maxPoints := fs.Int("max-points", 10000, "most points or ids in one upsert or delete")
	maxPayload := fs.Int("max-payload-bytes", 64<<10, "largest payload of one point, as JSON")
	maxResults := fs.Int("max-results", 100000, "most hits one search may ask for (queries × k)")
	maxResponse := fs.Int("max-response-bytes", 64<<20, "largest search or embed response (413 past it)")
	snapshotEvery := fs.Int("snapshot-every", 50000, "write a snapshot and start a new log after this many points written to a collection (negative: only on request and at exit)")
	modelRoot := fs.String("model-root", "", "directory POST /v1/models loads checkpoints from (paths relative to it; symlinks cannot leave it); without it loading models over HTTP is off")
	maxModel := fs.Int64("max-model-bytes", 1<<30, "largest checkpoint file POST /v1/models reads")
	maxTexts := fs.Int("max-texts", 4096, "most texts a text model embeds for one request (embed, upsert or search)")
	maxTextBytes := fs.Int("max-text-bytes", 64<<10, "longest text, in bytes, a text model embeds")
	autoRecall := fs.Float64("auto-recall", 0.95, `recall@10 target of plan "auto"`)
	origins := fs.String("trusted-origins", "", "comma-separated browser origins (https://app.example.com) allowed to send cross-origin writes; others get 403")
	accessLog := fs.Bool("access-log", true, "log one line per request (method, path, status, bytes, latency, request id)")
	recoverFlag := fs.Bool("recover", false, "move damaged data files to DATA_DIR/quarantine and serve what precedes the damage, instead of refusing to start")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long running requests may take to finish at exit")
	if err := parseFlags(fs, serveHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mrl serve: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkBackendFlags(*backendName, set, len(wvAddrs) > 0, *dataDir != ""); err != nil {
		fmt.Fprintf(stderr, "mrl serve: %v\n", err)
		return errUsage
	}
	if *token == "" {
		*token = os.Getenv("MRL_TOKEN")
	}
	if *autoRecall <= 0 || *autoRecall > 1 {
		return fmt.Errorf("--auto-recall %v: want a recall in (0, 1]", *autoRecall)
	}
	if *maxBody < 1 || *timeout <= 0 || *maxPoints < 1 || *maxModel < 1 || *maxPayload < 1 || *maxResults < 1 || *maxResponse < 1 {
		return fmt.Errorf("--max-body %d, --timeout %v, --max-points %d, --max-model-bytes %d, --max-payload-bytes %d, --max-results %d, --max-response-bytes %d: want positive values",
			*maxBody, *timeout, *maxPoints, *maxModel, *maxPayload, *maxResults, *maxResponse)
	}
	if *maxTexts < 1 || *maxTextBytes < 1 {
		return fmt.Errorf("--max-texts %d, --max-text-bytes %d: want positive values", *maxTexts, *maxTextBytes)
	}
	var trusted []string
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			trusted = append(trusted, o)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var store server.Store
	where := "backend embedded, data dir " + *dataDir
	if *backendName == "weaviate" {
		if *wvReplicas < 1 || *wvShards < 0 {
			return fmt.Errorf("--weaviate-replicas %d, --weaviate-shards %d: want replicas >= 1 and shards >= 0 (0: one per node)", *wvReplicas, *wvShards)
		}
		octx, cancel := context.WithTimeout(ctx, *timeout)
		st, err := backend.Open(octx, backend.Options{Addrs: wvAddrs, Consistency: wvCons, Replicas: *wvReplicas, Shards: *wvShards, Timeout: *timeout, Logger: log})
		cancel()
		if err != nil {
			return fmt.Errorf("mrl serve: --backend weaviate: %w", err)
		}
		store, where = st, "backend "+st.Describe()
	}
	srv, err := server.New(server.Options{DataDir: *dataDir, Store: store, Token: *token, MaxBodyBytes: *maxBody, Timeout: *timeout,
		MaxPoints: *maxPoints, MaxPayloadBytes: *maxPayload, MaxResults: *maxResults, MaxResponseBytes: *maxResponse, SnapshotEvery: *snapshotEvery, ModelRoot: *modelRoot, MaxModelBytes: *maxModel, AutoRecall: *autoRecall, Recover: *recoverFlag, AccessLog: *accessLog,
		MaxTexts: *maxTexts, MaxTextBytes: *maxTextBytes, TrustedOrigins: trusted, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Close()
		return err
	}
	if *token == "" {
		if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			log.Warn("serving a non-loopback address without a token: anyone who can reach it can read and write every collection", "addr", ln.Addr())
		} else {
			log.Warn("serving without a token: every program and user on this machine can read and write every collection (browsers' cross-origin writes are refused); set --token or MRL_TOKEN", "addr", ln.Addr())
		}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: *timeout + 10*time.Second,
		WriteTimeout: *timeout + 10*time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "mrl serve: listening on http://%s (%s; %s)\n", ln.Addr(), where, kernel.Describe())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the shutdown timeout", "err", err)
	}
	snapErr := srv.Snapshot()
	closeErr := srv.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if err := errors.Join(snapErr, closeErr); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "mrl serve: stopped")
	return nil
}

// embeddedOnly are the flags of the embedded store (its data directory,
// snapshots and recovery) that --backend weaviate refuses.
var embeddedOnly = []string{"data-dir", "snapshot-every", "recover"}

// checkBackendFlags reports flags that make no sense with the backend
// chosen (set holds the flags given), and a backend's missing ones.
func checkBackendFlags(backendName string, set map[string]bool, haveAddrs, haveDataDir bool) error {
	var p []string
	switch backendName {
	case "embedded":
		if !haveDataDir {
			p = append(p, "--data-dir is required")
		}
		for _, f := range []string{"weaviate", "weaviate-consistency", "weaviate-replicas", "weaviate-shards"} {
			if set[f] {
				p = append(p, fmt.Sprintf("--%s needs --backend weaviate", f))
			}
		}
	case "weaviate":
		if !haveAddrs {
			p = append(p, "--backend weaviate needs --weaviate ADDR[,ADDR...]")
		}
		for _, f := range embeddedOnly {
			if set[f] {
				p = append(p, fmt.Sprintf("--%s is an option of the embedded store; the weaviate backend keeps no data dir, snapshots or tuned plans", f))
			}
		}
	default:
		p = append(p, fmt.Sprintf("--backend %q: want embedded or weaviate", backendName))
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}
