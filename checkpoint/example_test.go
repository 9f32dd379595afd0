package checkpoint_test

import (
	"bytes"
	"fmt"

	"github.com/gomrl/mrl/checkpoint"
)

func Example() {
	f := &checkpoint.File{Meta: map[string]string{"config": `{"nesting":[8,16]}`}}
	f.Add("head.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	f.Add("head.bias", []int{2}, []float32{0.5, -0.5})
	f.Add("step", []int{}, []float32{100}) // a scalar

	var buf bytes.Buffer
	if err := checkpoint.Encode(&buf, f); err != nil {
		panic(err)
	}
	g, err := checkpoint.Decode(buf.Bytes())
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Meta["config"])
	for _, t := range g.Tensors { // in name order
		fmt.Println(t.Name, t.Shape, t.Data)
	}
	w, _ := g.Get("head.weight")
	fmt.Println("row 1:", w.Data[3:6])
	// Output:
	// {"nesting":[8,16]}
	// head.bias [2] [0.5 -0.5]
	// head.weight [2 3] [1 2 3 4 5 6]
	// step [] [100]
	// row 1: [4 5 6]
}
