package weaviate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	wvgrpc "github.com/weaviate/weaviate-go-client/v5/weaviate/grpc"
	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Consistency is a replicated read's or write's consistency level: how
// many replicas must answer (ONE, QUORUM or ALL).
type Consistency string

// Consistency levels.
const (
	One    Consistency = "ONE"
	Quorum Consistency = "QUORUM"
	All    Consistency = "ALL"
)

// ParseConsistency reads one, quorum or all (any case).
func ParseConsistency(s string) (Consistency, error) {
	c := Consistency(strings.ToUpper(strings.TrimSpace(s)))
	switch c {
	case One, Quorum, All:
		return c, nil
	}
	return "", fmt.Errorf("weaviate: consistency %q: want one, quorum or all", s)
}

// String returns ONE, QUORUM or ALL.
func (c Consistency) String() string { return string(c) }

// MarshalText implements encoding.TextMarshaler.
func (c Consistency) MarshalText() ([]byte, error) { return []byte(c), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Consistency) UnmarshalText(b []byte) error {
	x, err := ParseConsistency(string(b))
	if err != nil {
		return err
	}
	*c = x
	return nil
}

// Options configures a connection to a cluster.
type Options struct {
	Addrs       Addrs         // the nodes to talk to; requests go to the first that answers
	Consistency Consistency   // default level of reads and writes (default QUORUM)
	Timeout     time.Duration // of one request (default 30 s)
	BatchSize   int           // objects per batch request (default 512)
}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Consistency == "" {
		o.Consistency = Quorum
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.BatchSize == 0 {
		o.BatchSize = 512
	}
	return o
}

// Validate reports every problem of o (after WithDefaults) at once.
func (o Options) Validate() error {
	var p []string
	if len(o.Addrs) == 0 {
		p = append(p, "addrs: want at least one HOST:HTTP[/GRPC]")
	}
	if _, err := ParseConsistency(string(o.Consistency)); err != nil {
		p = append(p, err.Error())
	}
	if o.Timeout < 0 {
		p = append(p, fmt.Sprintf("timeout %v: want > 0", o.Timeout))
	}
	if o.BatchSize < 1 || o.BatchSize > 10000 {
		p = append(p, fmt.Sprintf("batch size %d: want 1..10000", o.BatchSize))
	}
	if len(p) > 0 {
		return fmt.Errorf("weaviate: options: %s", strings.Join(p, "; "))
	}
	return nil
}

// Cluster is a connection to a Weaviate cluster through a list of its
// nodes. A request goes to the node that answered last; when that node
// cannot be reached, the next ones are tried in turn (every request of
// this package is idempotent: writes are upserts and deletes by id).
// A Cluster is safe for concurrent use.
type Cluster struct {
	opt   Options
	nodes []*wv.Client
	// rpc are plain gRPC clients of the same nodes, for the funnel's
	// shortlist query (Collection.searchLocal), whose answer (the full
	// vectors as bytes) is decoded here without the client library's
	// per-hit maps.
	rpc   []pb.WeaviateClient
	conns []*grpc.ClientConn
	cur   atomic.Int32
}

// Dial connects to the cluster and checks that at least one node is
// ready; otherwise it returns ErrUnreachable naming what each address
// answered.
func Dial(ctx context.Context, opt Options) (*Cluster, error) {
	opt = opt.WithDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	cl := &Cluster{opt: opt}
	for _, a := range opt.Addrs {
		c, err := wv.NewClient(wv.Config{
			Host:       net.JoinHostPort(a.Host, strconv.Itoa(a.HTTP)),
			Scheme:     "http",
			GrpcConfig: &wvgrpc.Config{Host: net.JoinHostPort(a.Host, strconv.Itoa(a.GRPC))},
			Timeout:    opt.Timeout,
		})
		if err != nil {
			return nil, fmt.Errorf("weaviate: client for %s: %w", a, err)
		}
		cl.nodes = append(cl.nodes, c)
		conn, err := grpc.NewClient(net.JoinHostPort(a.Host, strconv.Itoa(a.GRPC)), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("weaviate: gRPC client for %s: %w", a, err)
		}
		cl.conns = append(cl.conns, conn)
		cl.rpc = append(cl.rpc, pb.NewWeaviateClient(conn))
	}
	err := cl.do(ctx, "ready check", func(ctx context.Context, c *wv.Client) error {
		ok, err := c.Misc().ReadyChecker().Do(ctx)
		if err == nil && !ok {
			return &fault.WeaviateClientError{Msg: "not ready"}
		}
		return err
	})
	if err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// Close closes the cluster's gRPC connections of this package's own (the
// client library's stay open until the process ends). A Cluster is not
// used after Close.
func (cl *Cluster) Close() error {
	var errs []error
	for _, c := range cl.conns {
		errs = append(errs, c.Close())
	}
	cl.conns = nil
	return errors.Join(errs...)
}

// Options returns the options in force.
func (cl *Cluster) Options() Options { return cl.opt }

// do runs f on the current node, and on the next ones while the node
// cannot be reached. It returns f's error when a node answered with one,
// and ErrUnreachable (with each node's error) when none answered.
func (cl *Cluster) do(ctx context.Context, what string, f func(context.Context, *wv.Client) error) error {
	return cl.doNode(ctx, what, func(ctx context.Context, n int) error { return f(ctx, cl.nodes[n]) })
}

// doRPC is do with the node's plain gRPC client.
func (cl *Cluster) doRPC(ctx context.Context, what string, f func(context.Context, pb.WeaviateClient) error) error {
	return cl.doNode(ctx, what, func(ctx context.Context, n int) error { return f(ctx, cl.rpc[n]) })
}

// doNode runs f with the index of the current node, as do describes.
func (cl *Cluster) doNode(ctx context.Context, what string, f func(context.Context, int) error) error {
	start := int(cl.cur.Load())
	var errs []string
	for i := range cl.nodes {
		n := (start + i) % len(cl.nodes)
		rctx, cancel := context.WithTimeout(ctx, cl.opt.Timeout)
		err := f(rctx, n)
		cancel()
		if err == nil || !unreachable(err) {
			if i > 0 {
				cl.cur.Store(int32(n))
			}
			if err != nil && transient(err) {
				return fmt.Errorf("%w: %s: %w", ErrTransient, what, err)
			}
			if err != nil && classGone(err) {
				return fmt.Errorf("%w: %s (dropped meanwhile?): %w", ErrNotFound, what, err)
			}
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("weaviate: %s: %w", what, ctx.Err())
		}
		errs = append(errs, fmt.Sprintf("%s: %v", cl.opt.Addrs[n], err))
	}
	return fmt.Errorf("%w: %s: no node of %s answered: %s", ErrUnreachable, what, cl.opt.Addrs, strings.Join(errs, "; "))
}

// unreachable reports whether err means the node could not be reached (a
// transport error), not that it answered with an error.
func unreachable(err error) bool {
	var we *fault.WeaviateClientError
	if errors.As(err, &we) {
		if we.IsUnexpectedStatusCode {
			return we.StatusCode == 0 || we.StatusCode == 502 || we.StatusCode == 503
		}
		if we.DerivedFromError != nil {
			return unreachable(we.DerivedFromError) || isNetErr(we.DerivedFromError)
		}
		return we.StatusCode == 0 && strings.Contains(we.Msg, "not ready")
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.Unavailable {
		return true
	}
	return isNetErr(err)
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused")
}

// transientMarks are the messages of Weaviate's errors that pass when
// the cluster settles: a replica down or rejoining, a shard loading.
var transientMarks = []string{
	"inconsistent consistency levels",  // shards of one request resolved a level to different replica counts (a node rejoining)
	"cannot achieve consistency level", // too few replicas answered
	"cannot reach enough replicas",
	"shard is not ready", // a shard loading after a restart
}

// transient reports whether err, an answer of a node, is an error of
// the cluster's state that a retry may not meet (see transientMarks).
func transient(err error) bool {
	msg := err.Error()
	for _, m := range transientMarks {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// classGone reports Weaviate's answer to a request on a class that the
// schema does not hold (dropped, perhaps by another program).
func classGone(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "could not find class") || strings.Contains(msg, "not found in schema")
}

// status404 reports a REST answer "not found".
func status404(err error) bool {
	var we *fault.WeaviateClientError
	return errors.As(err, &we) && we.StatusCode == 404
}

// Nodes returns the names and statuses of the cluster's nodes, as the
// node answering sees them ("node1": "HEALTHY").
func (cl *Cluster) Nodes(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := cl.do(ctx, "node status", func(ctx context.Context, c *wv.Client) error {
		r, err := c.Cluster().NodesStatusGetter().Do(ctx)
		if err != nil {
			return err
		}
		for _, n := range r.Nodes {
			if n != nil && n.Status != nil {
				out[n.Name] = *n.Status
			}
		}
		return nil
	})
	return out, err
}
