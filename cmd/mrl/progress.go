package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gomrl/mrl/train"
)

// progress renders training progress: a redrawn bar on a terminal, a log
// line every 10% of an epoch otherwise.
type progress struct {
	w       io.Writer
	tty     bool
	quiet   bool
	batch   int
	last    time.Time
	lastPct int
}

func newProgress(w io.Writer, batch int, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet, batch: batch, lastPct: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) step(s train.Progress) {
	if p.quiet {
		return
	}
	pct := 100 * s.Step / s.Steps
	eta := time.Duration(0)
	if s.SamplesSec > 0 {
		eta = time.Duration(float64((s.Steps-s.Step)*p.batch) / s.SamplesSec * float64(time.Second)).Round(time.Second)
	}
	if p.tty {
		if s.Step != s.Steps && time.Since(p.last) < 100*time.Millisecond {
			return
		}
		p.last = time.Now()
		const width = 30
		done := width * s.Step / s.Steps
		fmt.Fprintf(p.w, "\repoch %d/%d [%s%s] %3d%% loss %.4f lr %.4g %.0f samples/s eta %v   ",
			s.Epoch, s.Epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done), pct, s.Loss, s.LR, s.SamplesSec, eta)
		if s.Step == s.Steps {
			fmt.Fprintln(p.w)
		}
		return
	}
	if pct/10 != p.lastPct/10 {
		slog.Info("training", "epoch", fmt.Sprintf("%d/%d", s.Epoch, s.Epochs), "step", fmt.Sprintf("%d/%d", s.Step, s.Steps),
			"loss", fmt.Sprintf("%.4f", s.Loss), "lr", fmt.Sprintf("%.4g", s.LR), "samples/s", fmt.Sprintf("%.0f", s.SamplesSec), "epoch_eta", eta)
	}
	p.lastPct = pct
	if s.Step == s.Steps {
		p.lastPct = -1
	}
}
