package weaviate

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultGRPCPort is Weaviate's gRPC port when an address names none.
const DefaultGRPCPort = 50051

// Addr is one node of a cluster: its REST address and its gRPC port, on
// the same host. Its text form is HOST:HTTP[/GRPC], e.g.
// "127.0.0.1:8080/50051" ("127.0.0.1:8080" means gRPC on 50051), as
// scripts/weaviate-cluster.sh addrs prints them.
type Addr struct {
	Host string
	HTTP int
	GRPC int
}

// String returns the text form.
func (a Addr) String() string {
	return net.JoinHostPort(a.Host, strconv.Itoa(a.HTTP)) + "/" + strconv.Itoa(a.GRPC)
}

// MarshalText implements encoding.TextMarshaler.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Addr) UnmarshalText(b []byte) error {
	x, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = x
	return nil
}

// ParseAddr reads HOST:HTTP[/GRPC].
func ParseAddr(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	hp, gs, hasGRPC := strings.Cut(s, "/")
	host, ps, err := net.SplitHostPort(hp)
	if err != nil || host == "" {
		return Addr{}, fmt.Errorf("weaviate: address %q: want HOST:HTTP[/GRPC], e.g. 127.0.0.1:8080/50051", s)
	}
	port := func(what, p string) (int, error) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("weaviate: address %q: %s port %q: want 1..65535", s, what, p)
		}
		return n, nil
	}
	a := Addr{Host: host, GRPC: DefaultGRPCPort}
	if a.HTTP, err = port("HTTP", ps); err != nil {
		return Addr{}, err
	}
	if hasGRPC {
		if a.GRPC, err = port("gRPC", gs); err != nil {
			return Addr{}, err
		}
	}
	return a, nil
}

// Addrs is a comma-separated address list, as --weaviate takes it.
type Addrs []Addr

// String returns the comma-separated list.
func (as Addrs) String() string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}

// MarshalText implements encoding.TextMarshaler.
func (as Addrs) MarshalText() ([]byte, error) { return []byte(as.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (as *Addrs) UnmarshalText(b []byte) error {
	x, err := ParseAddrs(string(b))
	if err != nil {
		return err
	}
	*as = x
	return nil
}

// ParseAddrs reads a comma-separated list of HOST:HTTP[/GRPC]; it reports
// every malformed address at once.
func ParseAddrs(s string) (Addrs, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("weaviate: empty address list: want HOST:HTTP[/GRPC][,...]")
	}
	var as Addrs
	var bad []string
	for _, part := range strings.Split(s, ",") {
		a, err := ParseAddr(part)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		as = append(as, a)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return as, nil
}
