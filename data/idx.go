package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// IDX magic numbers: two zero bytes, the element type (0x08 = uint8) and the
// number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxPayload bounds the bytes a header may claim (1 TiB, or MaxInt on
// 32-bit platforms); larger claims are rejected as malformed before anything
// is read.
const maxPayload uint64 = min(1<<40, math.MaxInt)

// ReadIDXImages reads an IDX image file (magic 0x00000803: uint8 pixels,
// dimensions n, h, w, big-endian) and returns the n*h*w pixels scaled by
// 1/255, row-major.
func ReadIDXImages(r io.Reader) (x []float32, n, h, w int, err error) {
	var hdr [16]byte
	if err := readHeader(r, hdr[:], "IDX image header"); err != nil {
		return nil, 0, 0, 0, err
	}
	if m := binary.BigEndian.Uint32(hdr[0:]); m != idxImagesMagic {
		return nil, 0, 0, 0, fmt.Errorf("%w: IDX images: expected 0x%08x, got 0x%08x", ErrMagic, idxImagesMagic, m)
	}
	n64 := uint64(binary.BigEndian.Uint32(hdr[4:]))
	h64 := uint64(binary.BigEndian.Uint32(hdr[8:]))
	w64 := uint64(binary.BigEndian.Uint32(hdr[12:]))
	if h64 == 0 || w64 == 0 {
		return nil, 0, 0, 0, fmt.Errorf("%w: IDX images: image size %dx%d", ErrFormat, h64, w64)
	}
	// h64*w64 < 2^64; n64*h64*w64 may overflow, so divide instead.
	if h64*w64 > maxPayload || n64 > maxPayload/(h64*w64) {
		return nil, 0, 0, 0, fmt.Errorf("%w: IDX images: header claims %d images of %dx%d, over the %d-byte limit",
			ErrFormat, n64, h64, w64, maxPayload)
	}
	px, err := readPayload(r, int(n64*h64*w64), "IDX pixel data")
	if err != nil {
		return nil, 0, 0, 0, err
	}
	x = make([]float32, len(px))
	for i, p := range px {
		x[i] = float32(p) / 255
	}
	return x, int(n64), int(h64), int(w64), nil
}

// ReadIDXLabels reads an IDX label file (magic 0x00000801: a count and
// that many uint8 labels).
func ReadIDXLabels(r io.Reader) (y []int32, err error) {
	var hdr [8]byte
	if err := readHeader(r, hdr[:], "IDX label header"); err != nil {
		return nil, err
	}
	if m := binary.BigEndian.Uint32(hdr[0:]); m != idxLabelsMagic {
		return nil, fmt.Errorf("%w: IDX labels: expected 0x%08x, got 0x%08x", ErrMagic, idxLabelsMagic, m)
	}
	n := uint64(binary.BigEndian.Uint32(hdr[4:]))
	if n > maxPayload {
		return nil, fmt.Errorf("%w: IDX labels: header claims %d labels, over the %d-byte limit", ErrFormat, n, maxPayload)
	}
	b, err := readPayload(r, int(n), "IDX label data")
	if err != nil {
		return nil, err
	}
	y = make([]int32, len(b))
	for i, v := range b {
		y[i] = int32(v)
	}
	return y, nil
}

// OpenIDX opens the file at path for reading, through a gzip decompressor
// when it starts with the gzip magic bytes 0x1f 0x8b. Closing the result
// closes the file.
func OpenIDX(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2) // a shorter file is not gzip; the reader reports it
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return readCloser{br, f}, nil
	}
	z, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: gzip header: %w", ErrFormat, path, err)
	}
	return readCloser{z, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// LoadIDX reads an IDX image file and an IDX label file (each gzipped or
// not) into a Dataset with H, W from the image header, C = 1 and Classes =
// max label + 1. It fails if the counts differ.
func LoadIDX(name, imagesPath, labelsPath string) (*Dataset, error) {
	var (
		x       []float32
		n, h, w int
		y       []int32
	)
	err := withFile(imagesPath, func(r io.Reader) (err error) {
		x, n, h, w, err = ReadIDXImages(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = withFile(labelsPath, func(r io.Reader) (err error) {
		y, err = ReadIDXLabels(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if n != len(y) {
		return nil, fmt.Errorf("%w: %s: %d images in %s, %d labels in %s", ErrMismatch, name, n, imagesPath, len(y), labelsPath)
	}
	d := &Dataset{Name: name, X: x, Y: y, N: n, Dim: h * w, H: h, W: w, C: 1}
	if err := d.setClasses(); err != nil {
		return nil, err
	}
	return d, nil
}

// withFile opens path with OpenIDX, passes it to read and names the file in
// any error.
func withFile(path string, read func(io.Reader) error) error {
	rc, err := OpenIDX(path)
	if err != nil {
		return fmt.Errorf("data: %w", err) // names the file
	}
	defer rc.Close()
	if err := read(rc); err != nil {
		return fmt.Errorf("data: read %s: %w", path, err)
	}
	return nil
}

// readHeader fills hdr from r, reporting a short read as ErrTruncated.
func readHeader(r io.Reader, hdr []byte, what string) error {
	got, err := io.ReadFull(r, hdr)
	if err != nil {
		return truncated(what, len(hdr), got, err)
	}
	return nil
}

// readPayload reads exactly want bytes from r. It grows its buffer as data
// arrives (doubling from 64 KiB), so a header that lies about the size costs
// at most twice the bytes actually present.
func readPayload(r io.Reader, want int, what string) ([]byte, error) {
	buf := make([]byte, 0, min(want, 1<<16))
	for len(buf) < want {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(want, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		got, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+got]
		if err != nil {
			return nil, truncated(what, want, len(buf), err)
		}
	}
	return buf, nil
}

// truncated describes a short read of want bytes of which got arrived.
func truncated(what string, want, got int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: expected %d bytes, got %d", ErrTruncated, what, want, got)
	}
	return fmt.Errorf("data: %s: after %d of %d bytes: %w", what, got, want, err)
}
