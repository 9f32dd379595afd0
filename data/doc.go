// Package data reads labelled datasets into one shape, [Dataset]: a
// row-major []float32 of N rows of Dim features and an []int32 of N labels.
//
// Conventions:
//
//   - Images are stored NHWC: row i holds H*W*C values with the channel
//     fastest, so pixel (y, x, c) of row i is X[i*Dim + (y*W+x)*C + c].
//   - Pixels read from 8-bit sources (IDX files, NPY arrays of dtype uint8)
//     are scaled by 1/255 into [0,1]. Floating-point NPY arrays are used as
//     they are.
//   - Labels are in [0, Classes); readers set Classes to max label + 1.
//
// Formats: IDX (the MNIST format; gzip-compressed or plain, detected from
// the content) and NPY (NumPy's .npy, versions 1 to 3, little-endian, C
// order). [Load] resolves built-in names ("mnist", "fashion-mnist") and
// file specs ("npy:...", "idx:..."); see its documentation.
//
// Text sets have a shape of their own, [TextSet]: (query, document) pairs
// in train, validation and test splits, with optional class labels.
// [LoadText] resolves "debian-descriptions" (Debian's package descriptions
// from apt's Translation-en and Packages lists; see
// [LoadDebianDescriptions]) and "jsonl:FILE" (users' own pairs; see
// [LoadPairs]); [ResolveText] is what the --data and --pairs flags call.
// Splits are drawn per item from a hash of its key and a seed ([SplitOf]),
// so an item keeps its split when the source gains or loses other items.
// Every text set records the files it read (Source), the SHA-256 of their
// bytes (Hash) and what was kept and dropped (Stats). Text readers bound the
// length of a line (1 MiB by default) and the decompressed size of a file
// (1 GiB), and their errors name the file and the line.
//
// Readers never panic on malformed input. Their errors wrap one of the
// sentinels below (test with errors.Is) and say what was expected and what
// was found; the Load functions add the file name. Sizes claimed by a header
// are checked against overflow, and buffers grow with the data actually
// read, so a header claiming 2^31 images in a tiny file costs a small
// allocation and a "truncated" error, not gigabytes.
package data
