package index

// SetInt8MinDim sets the smallest dim at which batches take the int8
// filter and returns the previous one, so that the external tests can run
// the filter on small vectors.
func SetInt8MinDim(d int) int {
	prev := int8MinDim
	int8MinDim = d
	return prev
}
