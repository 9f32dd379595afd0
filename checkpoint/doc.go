// Package checkpoint reads and writes checkpoint files: named float32
// tensors (model weights, optimizer moments) plus string metadata (a JSON
// config or training-state blob), in one versioned, checksummed file.
//
// # Format
//
// A checkpoint is a safetensors file
// (https://github.com/huggingface/safetensors), so tools that read
// safetensors, such as Python's safetensors.numpy.load_file, can read the
// weights. All integers are little-endian. The file is, in order:
//
//  1. N, a uint64: the length in bytes of the header.
//  2. The header: N bytes of UTF-8 JSON, padded at the end with spaces
//     (0x20) so that N is a multiple of 8, which keeps the data 8-byte
//     aligned.
//  3. The data region: every tensor's elements as IEEE 754 float32,
//     row-major (C order), one tensor after another with no gaps.
//
// The header is one JSON object. The key "__metadata__" maps to an object
// of string keys and string values; every other key is a tensor name and
// maps to
//
//	{"dtype":"F32","shape":[d0,d1,...],"data_offsets":[begin,end]}
//
// where begin and end are byte offsets into the data region (not the file)
// and end-begin = 4*d0*d1*... . A shape of [] is a scalar and holds one
// element; a shape with a 0 dimension holds none and has begin == end.
//
// This package adds its own rules to safetensors:
//
//   - Tensors are laid out in the data region in order of name (byte-wise
//     string order), so the first tensor starts at 0, each begins where the
//     one before it ends, and the last ends at the end of the file. Names
//     are unique, non-empty, and not "__metadata__".
//   - The only dtype is "F32".
//   - "__metadata__" is required and holds four reserved keys:
//     "format" is "mrl-checkpoint"; "version" is the format version,
//     "1" (see [Version]); "crc32c" is the CRC-32C (Castagnoli) of the data
//     region; "header_crc32c" is the CRC-32C of the canonical header
//     (below). Checksums are 8 lowercase hex digits. All other keys are the
//     user's, [File.Meta].
//
// The canonical header is the header as [Encode] writes it, without the
// "header_crc32c" entry and without padding: no whitespace, "__metadata__"
// first with its keys in byte-wise order, then the tensors in name order,
// each with its fields in the order dtype, shape, data_offsets; strings
// escape only the double quote, the backslash and control characters (as
// \n, \r, \t or \u00xx); numbers are plain decimal integers. [Decode]
// rebuilds it from the parsed header, so the two checksums together cover
// every value in the file, including the data checksum itself, while
// whitespace and key order in the stored JSON are free (they carry no
// meaning). A file whose header was edited by hand must be re-encoded to be
// read again.
//
// # Reading
//
// [Decode] is strict and never trusts a size it has not checked against
// the bytes it holds. It rejects as [ErrCorrupt] a short file, a header
// length larger than the file, bad JSON (including duplicate keys, unknown
// or missing tensor fields, non-integer numbers and invalid UTF-8), shapes
// that disagree with their offsets, gaps or overlaps between tensors, and
// a checksum mismatch; as [ErrFormat] a file without format
// "mrl-checkpoint" (such as a plain safetensors file) or with a dtype other
// than F32; and as [ErrVersion] a version newer than [Version], which it
// checks before the tensor entries so that a later version may change
// them. A truncated file fails a size check before any checksum is
// computed, and the message says how many bytes were expected and how many
// there are. Leading and trailing JSON whitespace in the header is allowed
// and the 8-byte padding is not required. It returns the tensors in
// name order and [File.Meta] without the reserved keys, so
// Decode(Encode(f)) equals f up to tensor order (and a nil Shape comes
// back as []).
//
// [Save] writes atomically: a reader of the path sees the old file or the
// new one, never a partial write.
package checkpoint
