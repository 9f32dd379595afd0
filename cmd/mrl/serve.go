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
	"time"

	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/server"
)

const serveHelp = `Usage: mrl serve --data-dir DIR [flags]

Serves the HTTP API of package server: collections of Matryoshka vectors
(upsert, get, delete, search by prefix dim, funnel plan, plan "auto" or a
recall target, payload filters), trained checkpoints (embed, classify with
the adaptive cascade), /healthz, /readyz, /metrics (Prometheus) and the
OpenAPI document at /v1/openapi.json. See docs/server.md.

Writes are acknowledged after an fsync of the collection's write-ahead log;
on start every collection is recovered from its snapshot and log. SIGTERM or
Ctrl-C stops accepting requests, lets running ones finish, writes snapshots
and closes the logs.

It binds 127.0.0.1 by default. The bearer token comes from --token or the
MRL_TOKEN environment variable; with one, every route but /healthz and
/readyz needs "Authorization: Bearer TOKEN". There is no TLS: put a reverse
proxy (Caddy, nginx) in front to serve other hosts.

Examples:
  mrl serve --data-dir runs/serve
  MRL_TOKEN=s3cret mrl serve --data-dir /var/lib/mrl --addr 0.0.0.0:7700 --model-root runs
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "directory of the collections (required; created if missing)")
	addr := fs.String("addr", "127.0.0.1:7700", "address to listen on (port 0 picks a free port)")
	token := fs.String("token", "", "bearer token required on every route but /healthz and /readyz (default $MRL_TOKEN)")
	maxBody := fs.Int64("max-body", 64<<20, "largest request body in bytes")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request time limit (503 timeout past it)")
	maxPoints := fs.Int("max-points", 10000, "most points or ids in one upsert or delete")
	snapshotEvery := fs.Int("snapshot-every", 50000, "write a snapshot and start a new log after this many points written to a collection (negative: only on request and at exit)")
	modelRoot := fs.String("model-root", "", "if set, model paths are relative to this directory and may not leave it")
	autoRecall := fs.Float64("auto-recall", 0.95, `recall@10 target of plan "auto"`)
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long running requests may take to finish at exit")
	if err := parseFlags(fs, serveHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mrl serve: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if *dataDir == "" {
		fmt.Fprintln(stderr, "mrl serve: --data-dir is required")
		return errUsage
	}
	if *token == "" {
		*token = os.Getenv("MRL_TOKEN")
	}
	if *autoRecall <= 0 || *autoRecall > 1 {
		return fmt.Errorf("--auto-recall %v: want a recall in (0, 1]", *autoRecall)
	}
	if *maxBody < 1 || *timeout <= 0 || *maxPoints < 1 {
		return fmt.Errorf("--max-body %d, --timeout %v, --max-points %d: want positive values", *maxBody, *timeout, *maxPoints)
	}
	log := slog.Default()
	srv, err := server.New(server.Options{DataDir: *dataDir, Token: *token, MaxBodyBytes: *maxBody, Timeout: *timeout,
		MaxPoints: *maxPoints, SnapshotEvery: *snapshotEvery, ModelRoot: *modelRoot, AutoRecall: *autoRecall, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Close()
		return err
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); *token == "" && !net.ParseIP(host).IsLoopback() {
		log.Warn("serving a non-loopback address without a token: anyone who can reach it can write", "addr", ln.Addr())
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: *timeout + 10*time.Second,
		WriteTimeout: *timeout + 10*time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "mrl serve: listening on http://%s (data dir %s; %s)\n", ln.Addr(), *dataDir, kernel.Describe())
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
