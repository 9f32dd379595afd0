package data_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gomrl/mrl/data"
)

func ExampleLoadIDX() {
	d, err := data.LoadIDX("tiny",
		filepath.Join("testdata", "idx", "images.idx"),
		filepath.Join("testdata", "idx", "labels.idx"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: N=%d Dim=%d (%dx%dx%d) Classes=%d\n", d.Name, d.N, d.Dim, d.H, d.W, d.C, d.Classes)
	fmt.Printf("row 0 = %.1f, label %d\n", d.Row(0), d.Y[0])

	_, err = data.LoadIDX("bad",
		filepath.Join("testdata", "idx", "images.idx"),
		filepath.Join("testdata", "idx", "labels-two.idx"))
	fmt.Println(err)
	// Output:
	// tiny: N=3 Dim=6 (2x3x1) Classes=3
	// row 0 = [0.0 1.0 0.2 0.4 0.6 0.8], label 0
	// data: count mismatch: bad: 3 images in testdata/idx/images.idx, 2 labels in testdata/idx/labels-two.idx
}

func ExampleDataset_Split() {
	d := &data.Dataset{Name: "toy", N: 10, Dim: 1, Classes: 2,
		X: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		Y: []int32{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}}
	train, val := d.Split(0.3, 1)
	fmt.Println(train.Name, train.N, val.Name, val.N)
	again, _ := d.Split(0.3, 1)
	fmt.Println(fmt.Sprint(again.X) == fmt.Sprint(train.X))
	// Output:
	// toy/train-split 7 toy/val 3
	// true
}

func ExampleWriteNPY() {
	var buf bytes.Buffer
	if err := data.WriteNPY(&buf, []float32{1, 2, 3, 4, 5, 6}, []int{2, 3}); err != nil {
		fmt.Println(err)
		return
	}
	x, shape, err := data.ReadNPY(&buf)
	fmt.Println(x, shape, err)
	// Output:
	// [1 2 3 4 5 6] [2 3] <nil>
}

func ExampleReadPairs() {
	good := `{"query": "play chess", "doc": "GNU Chess is a chess engine.", "label": "games"}
{"query": "resize a partition", "doc": "GParted edits partitions.", "label": "admin"}
`
	pairs, classes, err := data.ReadPairs(strings.NewReader(good))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(classes)
	for _, p := range pairs {
		fmt.Printf("%q -> %q (%s)\n", p.Query, p.Doc, classes[p.Label])
	}
	_, _, err = data.ReadPairs(strings.NewReader(good + `{"query": "missing doc"}`))
	fmt.Println(err)
	// Output:
	// [admin games]
	// "play chess" -> "GNU Chess is a chess engine." (games)
	// "resize a partition" -> "GParted edits partitions." (admin)
	// line 3: data: malformed or unsupported input: no "doc" field
}

func ExampleLoadText() {
	set, err := data.LoadText(context.Background(), "debian-descriptions",
		data.TextOptions{Dir: filepath.Join("testdata", "debian", "lists"), ValFrac: -1, TestFrac: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d train pairs, %d classes %v\n", set.Name, len(set.Train), len(set.Classes), set.Classes)
	fmt.Printf("%+v\n", set.Stats)
	p := set.Train[1]
	fmt.Printf("%q in %s\n", p.Query, set.Classes[p.Label])
	// Output:
	// debian-descriptions: 9 train pairs, 5 classes [admin games net shells sound]
	// {Read:13 Kept:9 DuplicateKey:1 DuplicateDoc:1 EmptyDoc:1 NoLabel:1}
	// "Real-time strategy game of ancient warfare" in games
}
