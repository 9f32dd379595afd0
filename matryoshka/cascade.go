package matryoshka

// CascadeExit is the rule of adaptive classification: given one
// confidence threshold per nesting dim but the last, it returns the index
// of the dim that answers an example, the first g < len(thresholds) whose
// confidence conf(g) (the maximum softmax probability of head g) reaches
// thresholds[g], and len(thresholds) when none does: the dim after the
// last threshold answers whatever its confidence. With len(Nesting)-1
// thresholds that is the full cascade; fewer truncate it at a smaller dim.
// Package eval (Confidences.Cascade) and the server's classify both use it.
func CascadeExit(thresholds []float64, conf func(g int) float32) int {
	for g, t := range thresholds {
		if float64(conf(g)) >= t {
			return g
		}
	}
	return len(thresholds)
}
