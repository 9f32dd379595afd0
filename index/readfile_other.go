//go:build !unix

package index

// mapFile reads the file at path: no mapping on this system.
func mapFile(path string) ([]byte, func(), error) { return readWhole(path) }
