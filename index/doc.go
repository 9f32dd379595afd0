// Package index searches Matryoshka embeddings at any prefix dim: one
// stored vector per row serves every granularity, so a search can shortlist
// cheaply on a short prefix and rerank with more dims.
//
// [Quantized] is a first-stage tier: binary or int8 codes of a prefix
// (at dim 64, 8-12 or 64 bytes a row against 256 in float), the best
// candidates re-scored exactly in float.
//
// [Flat] is exact. Built with [FlatOptions].Int8Filter it also keeps int8
// codes of the rows and scores a batch of queries on them first, with an
// upper bound of every row's score (AVX512-VNNI: four times the
// multiply-adds of float per instruction); only the rows that could enter
// a query's k best are scored in float, so the results stay exact (see
// Flat's int8 filter in flat_int8.go).
//
// Conventions:
//
//   - Storage ([Vectors]) is one row-major []float32 slab of N rows of D
//     floats (stride D, no pointers), so the prefix of row i at dim m is
//     data[i*D : i*D+m] with no copy. Rows have external uint64 ids and
//     dense int32 internal indexes 0..N-1.
//   - A dim is one prefix size, 1 <= dim <= D. Every search takes the dim
//     it ranks by; a query has at least dim floats and only q[:dim] is read.
//   - The metric is fixed per index. Scores are "higher is better":
//     Cosine scores x[:m]·q[:m] / (‖x[:m]‖ ‖q[:m]‖), the cosine of the
//     prefixes, each prefix re-normalised after truncation (a zero prefix
//     scores 0); InnerProduct scores x[:m]·q[:m]; L2 scores
//     −‖x[:m] − q[:m]‖², the negated squared distance.
//   - Hits are returned best first; exact searchers break ties by the lower
//     internal index. Results are appended to dst[:0], so a caller that
//     passes a dst with capacity k searches without allocating.
//   - Errors are sentinels with the package prefix ("index: dimension out
//     of range"), wrapped with context; test them with errors.Is.
package index
