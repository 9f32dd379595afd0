// Package model builds the networks the toolkit trains: a backbone that maps
// an input to an embedding (an MLP or a small ResNet-style CNN) and a
// Matryoshka head (MRL, MRL-E or FF) on that embedding.
//
// A text model (Arch "text") goes through the same Model: its tokenizer
// (package text) hashes a text into feature ids, an nn.EmbeddingBag averages
// their rows, and Backbone is the MLP from the bag to the embedding. It has
// no classification head (Head is nil) but a contrastive Matryoshka loss
// (Contrastive), whose learned temperature, if any, is a parameter saved
// with the model. Its checkpoint holds the tokenizer's configuration, so a
// loaded model tokenizes exactly as it was trained. The bag is not an
// nn.Layer (its input is ids, not a tensor), which is why a text model
// embeds through EmbedTokens/EmbedTexts rather than Embed; the image-only
// methods refuse a text model with ErrTextModel and EmbedTexts refuses an
// image model with ErrImageModel.
package model

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	mrl "github.com/gomrl/mrl"
	"github.com/gomrl/mrl/internal/kernel"
	"github.com/gomrl/mrl/matryoshka"
	"github.com/gomrl/mrl/nn"
	"github.com/gomrl/mrl/text"
)

// Config describes a model. It is stored in checkpoints as JSON.
type Config struct {
	// Arch is "mlp" or "cnn".
	Arch Arch `json:"arch"`
	// InH, InW, InC is the input image shape (NHWC); the MLP flattens it.
	InH int `json:"in_h"`
	InW int `json:"in_w"`
	InC int `json:"in_c"`
	// Hidden is the MLP's hidden width (default 1024).
	Hidden int `json:"hidden,omitempty"`
	// Width is the CNN's base channel count (default 16); the stem has
	// Width channels at full resolution, the two residual stages 2·Width
	// and 4·Width at 1/2 and 1/4 resolution (14×14 and 7×7 for MNIST).
	Width int `json:"width,omitempty"`
	// Embed is the embedding size D (default 2048 for the MLP, 512 for the CNN).
	Embed int `json:"embed"`
	// Nesting is the list of prefix dims (default powers of two from 8 to Embed).
	Nesting mrl.Nesting `json:"nesting"`
	// Heads is "mrl", "mrl-e" or "ff".
	Heads Heads `json:"heads"`
	// FFDim is the prefix size of an FF head (default Embed).
	FFDim int `json:"ff_dim,omitempty"`
	// LossWeights are the relative importances of the nesting dims' losses
	// (default all 1).
	LossWeights []float64 `json:"loss_weights,omitempty"`
	// Classes is the number of classes (0 for a text model).
	Classes int `json:"classes"`

	// Text models (Arch "text"); omitted from image models' JSON.

	// Tokenizer configures the hashing tokenizer (defaults: text.Config's).
	Tokenizer *text.Config `json:"tokenizer,omitempty"`
	// BagDim is the width of the EmbeddingBag's rows (default 256; equal to
	// Embed with NoMLP).
	BagDim int `json:"bag_dim,omitempty"`
	// TextHidden are the widths of the MLP's hidden layers between the bag
	// and the embedding, each Linear then ReLU; the last layer is a Linear
	// to Embed. Empty: one Linear(BagDim, Embed).
	TextHidden []int `json:"text_hidden,omitempty"`
	// NoMLP makes the bag's mean the embedding itself (BagDim = Embed).
	NoMLP bool `json:"no_mlp,omitempty"`
	// Temperature, LearnTemperature and Symmetric configure the
	// contrastive loss (matryoshka.ContrastiveOptions; τ default 0.05).
	Temperature      float64 `json:"temperature,omitempty"`
	LearnTemperature bool    `json:"learn_temperature,omitempty"`
	Symmetric        bool    `json:"symmetric,omitempty"`
}

// IsText reports whether c describes a text model.
func (c Config) IsText() bool { return c.Arch == ArchText }

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Arch == "" {
		c.Arch = "mlp"
	}
	if c.IsText() {
		return c.textDefaults()
	}
	if c.Heads == "" {
		c.Heads = "mrl"
	}
	if c.Hidden == 0 {
		c.Hidden = 1024
	}
	if c.Width == 0 {
		c.Width = 16
	}
	if c.Embed == 0 {
		if c.Arch == "cnn" {
			c.Embed = 512
		} else {
			c.Embed = 2048
		}
	}
	if c.Heads == "ff" && c.FFDim == 0 {
		c.FFDim = c.Embed
	}
	if len(c.Nesting) == 0 {
		if c.Heads == "ff" {
			c.Nesting = mrl.Nesting{c.FFDim}
		} else {
			c.Nesting = mrl.DefaultNesting(c.Embed)
		}
	}
	return c
}

// textDefaults fills the unset fields of a text model's config.
func (c Config) textDefaults() Config {
	if c.Heads == "" {
		c.Heads = HeadsContrastive
	}
	tc := text.Config{}
	if c.Tokenizer != nil {
		tc = *c.Tokenizer
	}
	tc = tc.WithDefaults()
	c.Tokenizer = &tc
	if c.Embed == 0 {
		c.Embed = 512
	}
	if c.BagDim == 0 {
		c.BagDim = 256
		if c.NoMLP {
			c.BagDim = c.Embed
		}
	}
	if c.Temperature == 0 {
		c.Temperature = matryoshka.DefaultTemperature
	}
	if len(c.Nesting) == 0 {
		c.Nesting = mrl.DefaultNesting(c.Embed)
	}
	return c
}

// contrastive returns the loss options of a text model's config.
func (c Config) contrastive() matryoshka.ContrastiveOptions {
	return matryoshka.ContrastiveOptions{Nesting: c.Nesting, Embed: c.Embed, Weights: c.LossWeights,
		Temperature: c.Temperature, Learn: c.LearnTemperature, Symmetric: c.Symmetric}
}

// validateText reports every problem with a text model's config.
func (c Config) validateText() error {
	var errs []error
	if c.Heads != HeadsContrastive {
		errs = append(errs, fmt.Errorf("heads %q: a text model has %q", c.Heads, HeadsContrastive))
	}
	if c.Tokenizer == nil {
		errs = append(errs, errors.New("tokenizer: missing"))
	} else if err := c.Tokenizer.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Embed <= 0 || c.BagDim <= 0 {
		errs = append(errs, fmt.Errorf("embed %d / bag dim %d: must be positive", c.Embed, c.BagDim))
	}
	if c.NoMLP && (c.BagDim != c.Embed || len(c.TextHidden) > 0) {
		errs = append(errs, fmt.Errorf("no MLP: bag dim %d must equal embed %d and there can be no hidden layers (got %v)", c.BagDim, c.Embed, c.TextHidden))
	}
	for i, h := range c.TextHidden {
		if h <= 0 {
			errs = append(errs, fmt.Errorf("text hidden layer %d: width %d must be positive", i, h))
		}
	}
	if err := c.Nesting.Validate(c.Embed); err != nil {
		errs = append(errs, err)
	}
	if err := c.contrastive().WithDefaults().Validate(); err != nil && c.Nesting.Validate(c.Embed) == nil {
		errs = append(errs, err)
	}
	if c.Classes != 0 {
		errs = append(errs, fmt.Errorf("classes %d: a text model has no classifier (want 0)", c.Classes))
	}
	if len(errs) > 0 {
		return fmt.Errorf("model: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	if c.IsText() {
		return c.validateText()
	}
	var errs []error
	if c.Arch != "mlp" && c.Arch != "cnn" {
		errs = append(errs, fmt.Errorf("arch %q: want mlp, cnn or text", c.Arch))
	}
	if c.InH <= 0 || c.InW <= 0 || c.InC <= 0 {
		errs = append(errs, fmt.Errorf("input shape %dx%dx%d: every side must be positive", c.InH, c.InW, c.InC))
	}
	if c.Arch == "cnn" && (c.InH < 4 || c.InW < 4) {
		errs = append(errs, fmt.Errorf("input %dx%d: the CNN downsamples twice and needs at least 4x4", c.InH, c.InW))
	}
	if c.Embed <= 0 {
		errs = append(errs, fmt.Errorf("embed %d: must be positive", c.Embed))
	}
	if c.Hidden <= 0 || c.Width <= 0 {
		errs = append(errs, fmt.Errorf("hidden %d / width %d: must be positive", c.Hidden, c.Width))
	}
	kind, err := c.Heads.Kind()
	if err != nil {
		errs = append(errs, err)
	}
	if err := c.Nesting.Validate(c.Embed); err != nil {
		errs = append(errs, err)
	}
	if kind == matryoshka.FF && (len(c.Nesting) != 1 || c.Nesting[0] != c.FFDim) {
		errs = append(errs, fmt.Errorf("ff head: nesting must be {ff_dim}=%d, got %v", c.FFDim, c.Nesting))
	}
	if c.LossWeights != nil && len(c.LossWeights) != len(c.Nesting) {
		errs = append(errs, fmt.Errorf("loss weights: %d given for %d nesting dims", len(c.LossWeights), len(c.Nesting)))
	}
	if c.Classes < 2 {
		errs = append(errs, fmt.Errorf("classes %d: need at least 2", c.Classes))
	}
	if len(errs) > 0 {
		return fmt.Errorf("model: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// Model is a backbone producing an embedding and a Matryoshka head; for a
// text model, a tokenizer and an embedding bag before the backbone and a
// contrastive loss instead of the head.
type Model struct {
	Config   Config
	Backbone *nn.Sequential
	Head     *matryoshka.Head // nil for a text model
	input    nn.Tensor

	// Text models only (nil otherwise).
	Tokenizer   *text.Tokenizer
	Bag         *nn.EmbeddingBag
	Contrastive *matryoshka.Contrastive
	ids, offs   []int32
}

// ErrTextModel reports a text model asked for an image operation.
var ErrTextModel = errors.New("model: this is a text model: it embeds texts, not images")

// ErrImageModel reports an image model asked to embed texts.
var ErrImageModel = errors.New("model: this is an image model: it embeds images, not texts")

// New builds a model with weights drawn from a PCG generator seeded by seed.
func New(cfg Config, seed uint64) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return build(cfg, rand.New(rand.NewPCG(seed, 0x6d726c)))
}

// build returns the model of cfg (checked, with defaults) with its weights
// drawn from r; a nil r leaves them zero (Replica replaces them).
func build(cfg Config, r *rand.Rand) (*Model, error) {
	m := &Model{Config: cfg}
	if cfg.IsText() {
		return newText(m, r)
	}
	switch cfg.Arch {
	case "mlp":
		m.Backbone = mlp(cfg, r)
	case "cnn":
		m.Backbone = cnn(cfg, r)
	}
	kind, err := cfg.Heads.Kind()
	if err != nil {
		return nil, err // Validate accepted it; kept in case the two disagree
	}
	h, err := matryoshka.NewHead(kind, cfg.Nesting, cfg.Embed, cfg.Classes, r)
	if err != nil {
		return nil, err
	}
	h.Weights = cfg.LossWeights
	m.Head = h
	nn.Prefix("backbone", m.Backbone)
	for _, p := range h.Params() {
		p.Name = "head." + p.Name
	}
	if _, err := m.Names(); err != nil {
		return nil, err
	}
	return m, nil
}

// newText builds a text model: bag → [Linear → ReLU]* → Linear → embedding.
func newText(m *Model, r *rand.Rand) (*Model, error) {
	cfg := m.Config
	tok, err := text.New(*cfg.Tokenizer)
	if err != nil {
		return nil, err
	}
	m.Tokenizer = tok
	m.Bag = nn.NewEmbeddingBag(cfg.Tokenizer.Buckets, cfg.BagDim, r)
	m.Bag.W.Name = "bag.weight"
	var layers []nn.Layer
	if !cfg.NoMLP {
		in := cfg.BagDim
		for i, h := range cfg.TextHidden {
			l := nn.NewLinear(in, h, true, r)
			nn.Prefix(fmt.Sprintf("fc%d", i+1), l)
			layers = append(layers, l, &nn.ReLU{})
			in = h
		}
		l := nn.NewLinear(in, cfg.Embed, true, r)
		nn.Prefix("out", l)
		layers = append(layers, l)
	}
	m.Backbone = &nn.Sequential{Layers: layers}
	nn.Prefix("backbone", m.Backbone)
	c, err := matryoshka.NewContrastive(cfg.contrastive())
	if err != nil {
		return nil, err
	}
	c.LogScale.Name = "loss.log_scale"
	m.Contrastive = c
	if _, err := m.Names(); err != nil {
		return nil, err
	}
	return m, nil
}

// mlp is Flatten → Linear(in, H) → BN → ReLU → Linear(H, D) → BN → ReLU.
func mlp(c Config, r *rand.Rand) *nn.Sequential {
	in := c.InH * c.InW * c.InC
	l1 := nn.NewLinear(in, c.Hidden, true, r)
	l1.NoInputGrad = true
	layers := []nn.Layer{&nn.Flatten{}, l1, nn.NewBatchNorm(c.Hidden), &nn.ReLU{},
		nn.NewLinear(c.Hidden, c.Embed, true, r), nn.NewBatchNorm(c.Embed), &nn.ReLU{}}
	names := []string{"flatten", "fc1", "bn1", "relu1", "fc2", "bn2", "relu2"}
	for i, l := range layers {
		nn.Prefix(names[i], l)
	}
	return &nn.Sequential{Layers: layers}
}

// block is a ResNet basic block: conv3x3(stride)-BN-ReLU-conv3x3-BN plus a
// shortcut (1×1 conv + BN when the shape changes), then ReLU.
func block(in, out, stride int, r *rand.Rand) nn.Layer {
	body := &nn.Sequential{Layers: []nn.Layer{
		nn.NewConv2d(in, out, 3, stride, 1, false, r), nn.NewBatchNorm(out), &nn.ReLU{},
		nn.NewConv2d(out, out, 3, 1, 1, false, r), nn.NewBatchNorm(out),
	}}
	for i, n := range []string{"conv1", "bn1", "relu1", "conv2", "bn2"} {
		nn.Prefix(n, body.Layers[i])
	}
	res := &nn.Residual{Body: body}
	if in != out || stride != 1 {
		sc := &nn.Sequential{Layers: []nn.Layer{nn.NewConv2d(in, out, 1, stride, 0, false, r), nn.NewBatchNorm(out)}}
		nn.Prefix("conv", sc.Layers[0])
		nn.Prefix("bn", sc.Layers[1])
		nn.Prefix("shortcut", sc)
		res.Shortcut = sc
	}
	return &nn.Sequential{Layers: []nn.Layer{res, &nn.ReLU{}}}
}

// cnn is a small ResNet: stem conv3x3(C→w)-BN-ReLU at full resolution,
// basic blocks to 2w and 4w channels with stride 2, a 1×1 conv to D with
// BN-ReLU, and global average pooling to the D-dim embedding. For 28×28
// input and w=16, D=512 a forward pass is about 15 MFLOP.
func cnn(c Config, r *rand.Rand) *nn.Sequential {
	w := c.Width
	stem := nn.NewConv2d(c.InC, w, 3, 1, 1, false, r)
	stem.NoInputGrad = true
	layers := []nn.Layer{stem, nn.NewBatchNorm(w), &nn.ReLU{},
		block(w, 2*w, 2, r), block(2*w, 4*w, 2, r),
		nn.NewConv2d(4*w, c.Embed, 1, 1, 0, false, r), nn.NewBatchNorm(c.Embed), &nn.ReLU{},
		&nn.GlobalAvgPool{}}
	names := []string{"stem.conv", "stem.bn", "stem.relu", "layer1", "layer2", "embed.conv", "embed.bn", "embed.relu", "pool"}
	for i, l := range layers {
		nn.Prefix(names[i], l)
	}
	return &nn.Sequential{Layers: layers}
}

// Params returns every trainable parameter, backbone first, with unique
// dotted names ("backbone.fc1.weight", "head.nesting_classifier_0.bias").
func (m *Model) Params() []*nn.Param {
	if m.Config.IsText() {
		ps := m.Bag.Params()
		ps = append(ps, m.Backbone.Params()...)
		return append(ps, m.Contrastive.Params()...)
	}
	ps := m.Backbone.Params()
	ps = append(ps, m.Head.Params()...)
	return ps
}

// Buffers returns the non-trainable state (BatchNorm running statistics).
func (m *Model) Buffers() []*nn.Buffer { return m.Backbone.Buffers() }

// Names returns the checkpoint name of every param and buffer, checking
// that they are unique.
func (m *Model) Names() ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	for _, b := range m.Buffers() {
		names = append(names, b.Name)
	}
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("model: duplicate tensor name %q", n)
		}
		seen[n] = true
	}
	return names, nil
}

// InputDim is the number of floats per example.
func (m *Model) InputDim() int { return m.Config.InH * m.Config.InW * m.Config.InC }

// Input wraps n rows of features (NHWC images flattened) as the backbone's
// input tensor without copying.
func (m *Model) Input(x []float32, n int) *nn.Tensor {
	c := m.Config
	m.input.Data = x[:n*m.InputDim()]
	m.input.Shape = append(m.input.Shape[:0], n, c.InH, c.InW, c.InC)
	return &m.input
}

// Embed runs the backbone on n rows of x and returns the [n, Embed]
// embeddings (owned by the model until the next call).
func (m *Model) Embed(x []float32, n int, train bool) *nn.Tensor {
	return m.Backbone.Forward(m.Input(x, n), train)
}

// NumParams returns the number of trainable scalars.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += len(p.W)
	}
	return n
}

// Describe is a one-line summary such as "cnn w=32 embed=512 heads=mrl nesting=8,...,512".
func (m *Model) Describe() string {
	c := m.Config
	var b strings.Builder
	if c.IsText() {
		t := c.Tokenizer
		ngrams := fmt.Sprintf("%d..%d", t.MinN, t.MaxN)
		if t.NoCharNgrams {
			ngrams = "none"
		}
		fmt.Fprintf(&b, "text buckets=%d ngrams=%s bigrams=%v bag=%d hidden=%v embed=%d nesting=%v tau=%.3g learn_tau=%v symmetric=%v params=%d",
			t.Buckets, ngrams, !t.NoBigrams, c.BagDim, c.TextHidden, c.Embed, c.Nesting, c.Temperature, c.LearnTemperature, c.Symmetric, m.NumParams())
		return b.String()
	}
	fmt.Fprintf(&b, "%s", c.Arch)
	if c.Arch == "cnn" {
		fmt.Fprintf(&b, " width=%d", c.Width)
	} else {
		fmt.Fprintf(&b, " hidden=%d", c.Hidden)
	}
	fmt.Fprintf(&b, " embed=%d heads=%s nesting=%v classes=%d params=%d", c.Embed, c.Heads, c.Nesting, c.Classes, m.NumParams())
	return b.String()
}

// Replica returns a model that shares m's parameters and batch-norm
// statistics but has its own activation buffers, so that it can run
// inference (Embed, EmbedAll, LogitsAll with train false) at the same time
// as m and as other replicas. Nothing may train m while replicas run. It
// draws no random weights (for a text model's bag that took about 200 ms).
func (m *Model) Replica() *Model {
	r, err := build(m.Config.WithDefaults(), nil)
	if err != nil {
		panic("model: Replica: " + err.Error()) // m was built from this config
	}
	ps, rs := m.Params(), r.Params()
	for i := range rs {
		rs[i].W = ps[i].W
	}
	bs, rb := m.Buffers(), r.Buffers()
	for i := range rb {
		rb[i].W = bs[i].W
	}
	if r.Head != nil {
		r.Head.Weights = m.Head.Weights
	}
	return r
}

// EmbedTokens runs a text model on bags of feature ids in CSR form (bag i
// is ids[offsets[i]:offsets[i+1]]) and returns the [bags, Embed]
// embeddings, owned by the model until the next call. train keeps what
// BackwardTokens needs.
func (m *Model) EmbedTokens(ids, offsets []int32, train bool) *nn.Tensor {
	return m.Backbone.Forward(m.Bag.Forward(ids, offsets), train)
}

// BackwardTokens takes dLoss/dembedding for the last training EmbedTokens
// and adds the gradients of the MLP and (sparsely) of the bag.
func (m *Model) BackwardTokens(dz *nn.Tensor) {
	if len(m.Backbone.Layers) > 0 {
		dz = m.Backbone.Backward(dz)
	}
	m.Bag.Backward(dz)
}

// ErrNoWords reports a text with no word (no letter, digit, CJK character
// or emoji), which a text model cannot embed meaningfully.
var ErrNoWords = errors.New("model: the text has no words to embed")

// NoWordsError is the error of EmbedTexts for texts[Index], which has no
// words; it wraps ErrNoWords.
type NoWordsError struct {
	Index int
	Text  string
}

func (e *NoWordsError) Error() string {
	t := []rune(e.Text)
	if len(t) > 40 {
		t = append(t[:40], '…')
	}
	return fmt.Sprintf("text %d (%q): %v", e.Index, string(t), ErrNoWords)
}

func (e *NoWordsError) Unwrap() error { return ErrNoWords }

// EmbedTexts returns the [len(texts), Embed] embeddings of texts, computed
// in inference mode in batches (batch <= 0: 512). A text with no word is an
// error (*NoWordsError, naming the first).
func (m *Model) EmbedTexts(texts []string, batch int) ([]float32, error) {
	if !m.Config.IsText() {
		return nil, ErrImageModel
	}
	if batch <= 0 {
		batch = 512
	}
	d := m.Config.Embed
	out := make([]float32, len(texts)*d)
	for lo := 0; lo < len(texts); lo += batch {
		hi := min(lo+batch, len(texts))
		m.ids, m.offs = m.Tokenizer.BatchParallel(m.ids, m.offs, texts[lo:hi], kernel.Threads())
		for i := range hi - lo {
			if m.offs[i] == m.offs[i+1] {
				return nil, &NoWordsError{Index: lo + i, Text: texts[lo+i]}
			}
		}
		z := m.EmbedTokens(m.ids, m.offs, false)
		copy(out[lo*d:hi*d], z.Data)
	}
	return out, nil
}

// InitWordVectors copies pretrained word vectors into the bag rows of the
// words' features: vocab[i]'s vector is row i of vecs ([len(vocab)][BagDim]
// row-major). When two words hash to one bucket the first keeps it. It
// returns the number of rows written.
func (m *Model) InitWordVectors(vocab []string, vecs []float32, dim int) (int, error) {
	if !m.Config.IsText() {
		return 0, ErrImageModel
	}
	if dim != m.Config.BagDim {
		return 0, fmt.Errorf("model: word vectors have %d dims, the bag %d", dim, m.Config.BagDim)
	}
	if len(vecs) != len(vocab)*dim {
		return 0, fmt.Errorf("model: %d words but %d vector values (want %d)", len(vocab), len(vecs), len(vocab)*dim)
	}
	seen := map[int32]bool{}
	w := m.Bag.W.W
	for i, word := range vocab {
		id := m.Tokenizer.WordID(word)
		if seen[id] {
			continue
		}
		seen[id] = true
		copy(w[int(id)*dim:int(id+1)*dim], vecs[i*dim:(i+1)*dim])
	}
	return len(seen), nil
}
