package model_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomrl/mrl/model"
	"github.com/gomrl/mrl/nn"
	"github.com/gomrl/mrl/text"
	"github.com/gomrl/mrl/train"
)

func textConfig() model.Config {
	return model.Config{Arch: model.ArchText, Tokenizer: &text.Config{Buckets: 512, MinN: 2, MaxN: 4}, BagDim: 8,
		TextHidden: []int{12}, Embed: 16, Nesting: []int{4, 8, 16}, LearnTemperature: true, Symmetric: true}
}

// TestTextModelLoad: a text model saved and loaded tokenizes and embeds
// exactly as before, its learned temperature included.
func TestTextModelLoad(t *testing.T) {
	m, err := model.New(textConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Contrastive.LogScale.W[0] = 2.5
	texts := []string{"GNU Emacs editor", "x", "日本語", "Café crème 🚀"}
	want, err := m.EmbedTexts(texts, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "text.ckpt")
	if err := train.Save(path, m, nil, "jsonl:x.jsonl", 3); err != nil {
		t.Fatal(err)
	}
	got, err := model.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Config.Tokenizer != *m.Config.Tokenizer {
		t.Errorf("tokenizer config %+v after loading, want %+v", *got.Config.Tokenizer, *m.Config.Tokenizer)
	}
	emb, err := got.EmbedTexts(texts, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(emb, want) {
		t.Errorf("embeddings differ after loading")
	}
	if got.Contrastive.LogScale.W[0] != 2.5 {
		t.Errorf("learned log scale %v after loading, want 2.5", got.Contrastive.LogScale.W[0])
	}
	r := m.Replica()
	if e, _ := r.EmbedTexts(texts, 4); !slices.Equal(e, want) {
		t.Error("a replica embeds differently")
	}
	if !strings.Contains(m.Describe(), "text buckets=512") {
		t.Errorf("Describe() = %q", m.Describe())
	}
}

func TestModalityErrors(t *testing.T) {
	tm, err := model.New(textConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.EmbedTexts([]string{"fine", "also fine", " -- "}, 2)
	var nw *model.NoWordsError
	if !errors.Is(err, model.ErrNoWords) || !errors.As(err, &nw) || nw.Index != 2 {
		t.Errorf("EmbedTexts of a text with no words: err = %v, want a NoWordsError for text 2", err)
	}
	if _, err := tm.Evaluate(make([]float32, 4), make([]int32, 1), 1, 1); !errors.Is(err, model.ErrTextModel) {
		t.Errorf("Evaluate on a text model: err = %v, want ErrTextModel", err)
	}
	im, err := model.New(model.Config{Arch: "mlp", InH: 2, InW: 2, InC: 1, Hidden: 4, Embed: 8, Classes: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.EmbedTexts([]string{"x"}, 0); !errors.Is(err, model.ErrImageModel) {
		t.Errorf("EmbedTexts on an image model: err = %v, want ErrImageModel", err)
	}
	if _, err := im.InitWordVectors([]string{"x"}, make([]float32, 8), 8); !errors.Is(err, model.ErrImageModel) {
		t.Errorf("InitWordVectors on an image model: err = %v, want ErrImageModel", err)
	}
}

func TestTextConfigValidate(t *testing.T) {
	bad := model.Config{Arch: "text", Tokenizer: &text.Config{Buckets: -3}, NoMLP: true, BagDim: 4, Embed: 16,
		TextHidden: []int{0}, Classes: 3, Heads: "mrl"}
	_, err := model.New(bad, 1)
	for _, want := range []string{"heads", "buckets", "no MLP", "hidden layer 0", "classes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(bad) = %v: want it to mention %q", err, want)
		}
	}
	m, err := model.New(model.Config{Arch: "text", NoMLP: true, Tokenizer: &text.Config{Buckets: 64}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config; c.BagDim != 512 || c.Embed != 512 || len(m.Backbone.Layers) != 0 || c.Nesting[0] != 8 {
		t.Errorf("defaults with NoMLP: bag %d embed %d layers %d nesting %v", c.BagDim, c.Embed, len(m.Backbone.Layers), c.Nesting)
	}
}

// TestTextModelGradient checks the chain bag → MLP → contrastive loss
// end to end against central differences on bag rows and MLP weights.
func TestTextModelGradient(t *testing.T) {
	m, err := model.New(textConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	anchors := []string{"a text editor", "web browser", "mail client"}
	docs := []string{"an editor of text files", "browse the web", "read your mail"}
	ids, offs := m.Tokenizer.Batch(nil, nil, append(append([]string(nil), anchors...), docs...))
	n, d := len(anchors), m.Config.Embed
	loss := func() float64 {
		z := m.EmbedTokens(ids, offs, true)
		return m.Contrastive.Forward(z.Data, d, z.Data[n*d:], d, n).Total
	}
	for _, p := range m.Params() {
		clear(p.G)
		p.Touched = p.Touched[:0]
	}
	loss()
	dz := nn.NewTensor(2*n, d)
	m.Contrastive.Backward(dz.Data, d, dz.Data[n*d:], d)
	m.BackwardTokens(dz)
	r := rand.New(rand.NewPCG(1, 1))
	const h = 1e-2
	for _, p := range m.Params() {
		var idx []int
		if p.Sparse {
			for _, row := range p.Touched[:3] {
				idx = append(idx, int(row)*p.RowLen()+r.IntN(p.RowLen()))
			}
		} else {
			for range 5 {
				idx = append(idx, r.IntN(len(p.W)))
			}
		}
		for _, i := range idx {
			w0 := p.W[i]
			p.W[i] = w0 + h
			up := loss()
			p.W[i] = w0 - h
			dn := loss()
			p.W[i] = w0
			num := (up - dn) / (2 * h)
			if math.Abs(num-float64(p.G[i])) > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %v, numeric %v", p.Name, i, p.G[i], num)
			}
		}
	}
}

func TestInitWordVectors(t *testing.T) {
	m, err := model.New(textConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Config.BagDim
	vocab := []string{"Emacs", "vim", "emacs"} // "emacs" lower-cases onto "Emacs": the first keeps the row
	vecs := make([]float32, len(vocab)*d)
	for i := range vecs {
		vecs[i] = float32(i)
	}
	n, err := m.InitWordVectors(vocab, vecs, d)
	if err != nil || n != 2 {
		t.Fatalf("InitWordVectors = %d, %v; want 2 rows", n, err)
	}
	for i, w := range vocab[:2] {
		id := int(m.Tokenizer.WordID(w))
		if got := m.Bag.W.W[id*d : (id+1)*d]; !slices.Equal(got, vecs[i*d:(i+1)*d]) {
			t.Errorf("row of %q = %v, want %v", w, got, vecs[i*d:(i+1)*d])
		}
	}
	if _, err := m.InitWordVectors(vocab, vecs, d+1); err == nil {
		t.Error("vectors of the wrong width were accepted")
	}
	if _, err := m.InitWordVectors(vocab[:2], vecs, d); err == nil {
		t.Error("a vocabulary shorter than the vectors was accepted")
	}
}
