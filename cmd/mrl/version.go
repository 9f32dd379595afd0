package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

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

// versionText describes the binary from its embedded build information.
func versionText() string {
	module, version := "github.com/gomrl/mrl", "(unknown)"
	rev, when, dirty := "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			module = bi.Main.Path
		}
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if releaseVersion != "" {
		version = releaseVersion
	}
	out := fmt.Sprintf("mrl %s (%s)\n", version, module)
	if rev != "" {
		if dirty {
			rev += "+dirty"
		}
		out += fmt.Sprintf("revision: %s", rev)
		if when != "" {
			out += fmt.Sprintf(" (%s)", when)
		}
		out += "\n"
	}
	out += fmt.Sprintf("go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	out += fmt.Sprintf("%s\n", kernel.Describe())
	return out
}

// versionLine is the first line of versionText without "mrl " and the
// newline: the version and module.
func versionLine() string {
	t := versionText()
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = t[:i]
	}
	return strings.TrimPrefix(t, "mrl ")
}
