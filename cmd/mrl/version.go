package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/gomrl/mrl/internal/kernel"
)

const versionHelp = `mrl version: print the version of this binary

Usage: mrl version   (also: mrl --version)

Prints the module path and version, the VCS revision and time it was built
from (with "+dirty" when the tree had uncommitted changes), the Go version
and platform, and the compute kernels in use on this machine.
`

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseFlags(fs, versionHelp, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mrl version: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	fmt.Fprint(stdout, versionText())
	return nil
}

// releaseVersion is set by scripts/release.sh (-ldflags -X
// main.releaseVersion=...) to the tag or description of the commit it
// builds; it wins over the module version, which is "(devel)" for a
// binary built inside the repository.
var releaseVersion string

// buildInfo is what the binary knows of itself: its module, version (the
// release's, if set) and the VCS revision and time it was built from.
type buildInfo struct {
	module, version, rev, when string
	dirty                      bool
}

func readBuildInfo() buildInfo {
	b := buildInfo{module: "github.com/gomrl/mrl", version: "(unknown)"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			b.module = bi.Main.Path
		}
		if bi.Main.Version != "" {
			b.version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.rev = s.Value
			case "vcs.time":
				b.when = s.Value
			case "vcs.modified":
				b.dirty = s.Value == "true"
			}
		}
	}
	if releaseVersion != "" {
		b.version = releaseVersion
	}
	return b
}

// versionText describes the binary from its embedded build information.
func versionText() string {
	b := readBuildInfo()
	out := fmt.Sprintf("mrl %s\n", b.line())
	if b.rev != "" {
		rev := b.rev
		if b.dirty {
			rev += "+dirty"
		}
		out += fmt.Sprintf("revision: %s", rev)
		if b.when != "" {
			out += fmt.Sprintf(" (%s)", b.when)
		}
		out += "\n"
	}
	out += fmt.Sprintf("go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	out += fmt.Sprintf("%s\n", kernel.Describe())
	return out
}

// line is the version and module, e.g. "v1.2.0 (github.com/gomrl/mrl)".
func (b buildInfo) line() string { return fmt.Sprintf("%s (%s)", b.version, b.module) }

// versionLine is readBuildInfo().line(), the producer an export records.
func versionLine() string { return readBuildInfo().line() }
