package text_test

import (
	"fmt"

	"github.com/gomrl/mrl/text"
)

func ExampleTokenizer() {
	tok, err := text.New(text.Config{Buckets: 1000, NoCharNgrams: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(text.Words("GNU Emacs: an extensible editor 日本"))
	ids, offsets := tok.Batch(nil, nil, []string{"GNU Emacs", "vim"})
	fmt.Println(len(ids), offsets) // words and bigrams only: 2 + 1, then 1
	// Output:
	// [gnu emacs an extensible editor 日 本]
	// 4 [0 3 4]
}
