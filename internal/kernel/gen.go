package kernel

// The vector and element-wise kernels whose AVX2 and AVX-512 versions
// differ only in width (Dot, SqL2, Axpy, the SGD step, ReLU and its
// gradient, batch norm's passes and their fusions with the ReLU and a
// global average pool, the residual sums, im2col's and col2im's block
// moves, the direct convolution of few input channels) are generated from one description in
// the asm module (internal/kernel/asm, which uses
// github.com/mmcloughlin/avo); the output is committed.
//go:generate sh -c "cd asm && go run . -pkg kernel -out ../vec_gen_amd64.s -stubs ../vec_gen_amd64.go"
