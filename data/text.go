package data

// TextPair is one (query, document) pair of a text retrieval set: a
// synopsis and its long description, a question and its answer, a title and
// its body. Label is the pair's class in [0, len(TextSet.Classes)), or -1
// when the set has no labels.
type TextPair struct {
	Query string
	Doc   string
	Label int32
}

// TextSet is a text retrieval set split into train, validation and test
// pairs. Within a split every Doc is distinct, so the positive of query i is
// document i and every other document of the split is a negative.
type TextSet struct {
	Name             string // e.g. "debian-descriptions"
	Train, Val, Test []TextPair
	Classes          []string // label names; nil when the pairs carry no labels
	Source           string   // what was read (file names), for reports
	Hash             string   // hex SHA-256 of the bytes read, for reports: the source data changes over time
}
