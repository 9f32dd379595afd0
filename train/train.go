// Package train is the training loop: mini-batch SGD/AdamW over a
// data.Dataset with a learning-rate schedule, per-epoch validation of every
// nesting dim, progress reporting, and checkpoints that let a run resume
// bit for bit. Text models train on pairs (RunPairs) with the contrastive
// Matryoshka loss through the same Trainer, schedule, checkpoints and
// resume.
package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomrl/mrl/data"
	"github.com/gomrl/mrl/matryoshka"
	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/nn"
)

// Options configures a training run. The zero value of a field means its
// default, given next to it.
type Options struct {
	Epochs         int       `json:"epochs"`          // 5
	BatchSize      int       `json:"batch_size"`      // 256
	Optimizer      Optimizer `json:"optimizer"`       // "sgd" or "adamw"; "sgd"
	LR             float64   `json:"lr"`              // peak learning rate; 0.1 for sgd, 1e-3 for adamw
	Momentum       float64   `json:"momentum"`        // sgd momentum; 0.9
	Nesterov       bool      `json:"nesterov"`        // sgd Nesterov momentum; false
	WeightDecay    float64   `json:"weight_decay"`    // 5e-4 for sgd, 0.01 for adamw; negative means 0
	Schedule       Schedule  `json:"schedule"`        // constant, step, cosine, onecycle; "onecycle"
	WarmupEpochs   float64   `json:"warmup_epochs"`   // warm-up length for cosine/onecycle; 0 (onecycle uses 30%)
	LabelSmoothing float32   `json:"label_smoothing"` // 0
	Seed           uint64    `json:"seed"`            // shuffling; model init uses the model seed
	Threads        int       `json:"threads"`         // kernel goroutines; 0 = all cores. Recorded for resume; the program applies it (kernel.SetThreads), not the library
	MaxSteps       int       `json:"max_steps"`       // stop after this many steps in all (0 = no limit)
	EvalBatch      int       `json:"eval_batch"`      // 512
	// ValFrac records the fraction of the training data the caller held out
	// for validation, so a resumed run can carve the same split; the
	// trainer itself does not split.
	ValFrac float64 `json:"val_frac"`
}

// WithDefaults fills unset fields.
func (o Options) WithDefaults() Options {
	if o.Epochs == 0 {
		o.Epochs = 5
	}
	if o.BatchSize == 0 {
		o.BatchSize = 256
	}
	if o.Optimizer == "" {
		o.Optimizer = "sgd"
	}
	if o.LR == 0 {
		o.LR = 0.1
		if o.Optimizer == "adamw" {
			o.LR = 1e-3
		}
	}
	if o.Momentum == 0 && o.Optimizer == "sgd" {
		o.Momentum = 0.9
	}
	if o.WeightDecay == 0 {
		o.WeightDecay = 5e-4
		if o.Optimizer == "adamw" {
			o.WeightDecay = 0.01
		}
	}
	if o.WeightDecay < 0 {
		o.WeightDecay = 0
	}
	if o.Schedule == "" {
		o.Schedule = "onecycle"
	}
	if o.EvalBatch == 0 {
		o.EvalBatch = 512
	}
	return o
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.Epochs < 0 {
		errs = append(errs, fmt.Errorf("epochs %d: must be positive", o.Epochs))
	}
	if o.BatchSize < 2 {
		errs = append(errs, fmt.Errorf("batch size %d: must be at least 2 (batch norm)", o.BatchSize))
	}
	if o.Optimizer != "sgd" && o.Optimizer != "adamw" {
		errs = append(errs, fmt.Errorf("optimizer %q: want sgd or adamw", o.Optimizer))
	}
	if !(o.LR > 0) || math.IsInf(o.LR, 0) {
		errs = append(errs, fmt.Errorf("lr %v: must be positive and finite", o.LR))
	}
	if o.Momentum < 0 || o.Momentum >= 1 {
		errs = append(errs, fmt.Errorf("momentum %v: want [0, 1)", o.Momentum))
	}
	if _, err := nn.ParseSchedule(string(o.Schedule), 1, 1, 0); err != nil {
		errs = append(errs, err)
	}
	if o.LabelSmoothing < 0 || o.LabelSmoothing >= 1 {
		errs = append(errs, fmt.Errorf("label smoothing %v: want [0, 1)", o.LabelSmoothing))
	}
	if o.WarmupEpochs < 0 || o.WarmupEpochs > float64(o.Epochs) {
		errs = append(errs, fmt.Errorf("warm-up %v epochs: want [0, epochs=%d]", o.WarmupEpochs, o.Epochs))
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: invalid options: %w", errors.Join(errs...))
	}
	return nil
}

// EpochStats summarises one epoch.
type EpochStats struct {
	Epoch     int       `json:"epoch"`
	Loss      float64   `json:"loss"`       // mean Matryoshka loss over the epoch's steps
	TrainTop1 []float64 `json:"train_top1"` // running top-1 per dim during the epoch
	ValTop1   []float64 `json:"val_top1"`   // per dim, if a validation set was given
	// ValRecall10 is, for a text model, the validation recall@10 per dim
	// (RunPairs).
	ValRecall10 []float64 `json:"val_recall10,omitempty"`
	Seconds     float64   `json:"seconds"` // training time (without validation)
	SamplesSec  float64   `json:"samples_per_sec"`
}

// Progress is sent to Trainer.OnStep during training.
type Progress struct {
	Epoch, Epochs int
	Step, Steps   int // within the epoch
	GlobalStep    int
	Loss          float64 // this step's Matryoshka loss
	LR            float64
	SamplesSec    float64 // over the epoch so far
}

// Partial accumulates the statistics of an epoch in progress, so that an
// epoch interrupted and resumed reports the same figures.
type Partial struct {
	LossSum float64 `json:"loss_sum"`
	Correct []int   `json:"correct"`
	Seen    int     `json:"seen"`
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
}

// Trainer trains one model.
type Trainer struct {
	Model   *model.Model
	Options Options
	Opt     nn.Optimizer
	// OnStep, if set, is called after every step.
	OnStep func(Progress)
	// OnEpoch, if set, is called after every epoch (after validation). A
	// returned error stops training. The checkpointing CLI saves here.
	OnEpoch func(*Trainer, EpochStats) error
	// Log receives a line per epoch; nil means slog.Default().
	Log *slog.Logger

	// State, saved in checkpoints.
	Epoch       int          // epochs completed
	StepInEpoch int          // steps completed in the current epoch (resume point)
	GlobalStep  int          // steps completed in all
	History     []EpochStats // one per completed epoch
	Partial     Partial      // accumulators of the epoch in progress

	stepsPerEpoch int
	sched         nn.Schedule
	xb            []float32
	yb            []int32
}

// New prepares a trainer for m on a training set of n examples.
func New(m *model.Model, opts Options, n int) (*Trainer, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, Options: opts}
	ps := m.Params()
	switch opts.Optimizer {
	case "sgd":
		t.Opt = nn.NewSGD(ps, opts.Momentum, opts.WeightDecay, opts.Nesterov)
	case "adamw":
		t.Opt = nn.NewAdamW(ps, opts.WeightDecay)
	}
	t.stepsPerEpoch = n / opts.BatchSize
	if t.stepsPerEpoch == 0 {
		return nil, fmt.Errorf("train: %d training examples are fewer than one batch of %d", n, opts.BatchSize)
	}
	total := t.stepsPerEpoch * opts.Epochs
	if opts.MaxSteps > 0 {
		total = min(total, opts.MaxSteps)
	}
	warm := int(opts.WarmupEpochs * float64(t.stepsPerEpoch))
	s, err := nn.ParseSchedule(string(opts.Schedule), opts.LR, total, warm)
	if err != nil {
		return nil, err
	}
	t.sched = s
	return t, nil
}

// StepsPerEpoch is the number of full batches per epoch (a last partial
// batch is dropped, as PyTorch's drop_last, so batch norm never sees a
// batch of one).
func (t *Trainer) StepsPerEpoch() int { return t.stepsPerEpoch }

func (t *Trainer) logger() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

// Run trains on train until Options.Epochs epochs (or MaxSteps steps) are
// complete, validating every nesting dim on val (may be nil) after each
// epoch. It starts from the trainer's state, so a trainer restored from a
// checkpoint continues where it stopped. The example order of epoch e is a
// permutation drawn from (Seed, e), so a resumed run sees the same batches.
// When ctx is cancelled Run returns ctx's error after the current step,
// with the state pointing at the next step.
func (t *Trainer) Run(ctx context.Context, train, val *data.Dataset) error {
	o := t.Options
	m := t.Model
	if m.Config.IsText() {
		return fmt.Errorf("train: %w: train it on text pairs (RunPairs)", model.ErrTextModel)
	}
	if train.Dim != m.InputDim() {
		return fmt.Errorf("train: dataset %s has %d features per example, the model expects %d", train.Name, train.Dim, m.InputDim())
	}
	if train.Classes > m.Config.Classes {
		return fmt.Errorf("train: dataset %s has %d classes, the model %d", train.Name, train.Classes, m.Config.Classes)
	}
	if train.N/o.BatchSize != t.stepsPerEpoch {
		return fmt.Errorf("train: the trainer was prepared for %d steps per epoch, dataset %s gives %d", t.stepsPerEpoch, train.Name, train.N/o.BatchSize)
	}
	bs, dim := o.BatchSize, train.Dim
	t.xb = make([]float32, bs*dim)
	t.yb = make([]int32, bs)
	return t.epochs(ctx, train.N, len(m.Head.Nesting), func(idx []int, lr float64) (float64, []int) {
		for i, j := range idx {
			copy(t.xb[i*dim:(i+1)*dim], train.Row(j))
			t.yb[i] = train.Y[j]
		}
		loss := t.step(lr)
		return loss.Total, loss.Correct
	}, func(st *EpochStats) error {
		if val == nil || val.N == 0 {
			return nil
		}
		acc, err := m.Evaluate(val.X, val.Y, val.N, o.EvalBatch)
		if err != nil {
			return err
		}
		st.ValTop1 = acc.Top1
		return nil
	})
}

// epochs is the epoch loop of Run and RunPairs over n examples with a
// loss at each of dims nesting dims. Each step takes the next batch of a
// permutation seeded by the seed and the epoch: step trains on those
// example indexes at lr and returns the loss and, per dim, the examples it
// got right. After a whole epoch validate adds the validation figures to
// its stats, which then go to History, the log and OnEpoch. It stops after
// MaxSteps steps, and with ctx's error after the current step.
func (t *Trainer) epochs(ctx context.Context, n, dims int, step func(idx []int, lr float64) (float64, []int), validate func(*EpochStats) error) error {
	o := t.Options
	bs := o.BatchSize
	for t.Epoch < o.Epochs {
		if o.MaxSteps > 0 && t.GlobalStep >= o.MaxSteps {
			return nil
		}
		perm := rand.New(rand.NewPCG(o.Seed, uint64(t.Epoch))).Perm(n)
		start := time.Now()
		p := &t.Partial
		if len(p.Correct) != dims {
			*p = Partial{Correct: make([]int, dims)}
		}
		startSeen, startSecs := p.Seen, p.Seconds
		for t.StepInEpoch < t.stepsPerEpoch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if o.MaxSteps > 0 && t.GlobalStep >= o.MaxSteps {
				break
			}
			lr := t.sched(t.GlobalStep)
			total, correct := step(perm[t.StepInEpoch*bs:(t.StepInEpoch+1)*bs], lr)
			if math.IsNaN(total) || math.IsInf(total, 0) {
				return fmt.Errorf("train: loss is %v at epoch %d step %d (lr %.4g): lower the learning rate", total, t.Epoch+1, t.StepInEpoch+1, lr)
			}
			p.LossSum += total
			for g, c := range correct {
				p.Correct[g] += c
			}
			p.Seen += bs
			p.Steps++
			p.Seconds = startSecs + time.Since(start).Seconds()
			t.StepInEpoch++
			t.GlobalStep++
			if t.OnStep != nil {
				t.OnStep(Progress{Epoch: t.Epoch + 1, Epochs: o.Epochs, Step: t.StepInEpoch, Steps: t.stepsPerEpoch,
					GlobalStep: t.GlobalStep, Loss: total, LR: lr, SamplesSec: float64(p.Seen-startSeen) / time.Since(start).Seconds()})
			}
		}
		if t.StepInEpoch < t.stepsPerEpoch {
			return nil // MaxSteps reached mid-epoch
		}
		st := EpochStats{Epoch: t.Epoch + 1, Seconds: p.Seconds}
		if p.Steps > 0 {
			st.Loss = p.LossSum / float64(p.Steps)
			st.SamplesSec = float64(p.Seen) / p.Seconds
			st.TrainTop1 = make([]float64, len(p.Correct))
			for g, c := range p.Correct {
				st.TrainTop1[g] = float64(c) / float64(p.Seen)
			}
		}
		*p = Partial{}
		t.Epoch++
		t.StepInEpoch = 0
		if err := validate(&st); err != nil {
			return err
		}
		t.History = append(t.History, st)
		t.logEpoch(st)
		if t.OnEpoch != nil {
			if err := t.OnEpoch(t, st); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Trainer) logEpoch(st EpochStats) {
	args := []any{"epoch", fmt.Sprintf("%d/%d", st.Epoch, t.Options.Epochs), "loss", fmt.Sprintf("%.4f", st.Loss),
		"samples/s", fmt.Sprintf("%.0f", st.SamplesSec), "seconds", fmt.Sprintf("%.1f", st.Seconds)}
	if n := len(st.ValTop1); n > 0 {
		args = append(args, "val_top1_min_dim", fmt.Sprintf("%.4f", st.ValTop1[0]), "val_top1_full", fmt.Sprintf("%.4f", st.ValTop1[n-1]))
	}
	if n := len(st.ValRecall10); n > 0 {
		args = append(args, "val_recall10_min_dim", fmt.Sprintf("%.4f", st.ValRecall10[0]), "val_recall10_full", fmt.Sprintf("%.4f", st.ValRecall10[n-1]))
	}
	t.logger().Info("epoch done", args...)
}

// step runs one forward/backward/update on the batch in t.xb, t.yb.
func (t *Trainer) step(lr float64) matryoshka.Loss {
	m := t.Model
	t.Opt.ZeroGrad()
	z := m.Embed(t.xb, t.Options.BatchSize, true)
	m.Head.Forward(z)
	loss := m.Head.Loss(t.yb, t.Options.LabelSmoothing)
	dz := m.Head.Backward()
	m.Backbone.Backward(dz)
	t.Opt.Step(lr)
	return loss
}
