package model

import (
	"fmt"

	"github.com/gomrl/mrl/matryoshka"
)

// Arch names a backbone: "mlp", "cnn" or "text". It is a string so that the JSON
// of a Config (what checkpoints store) is the text itself; UnmarshalText
// (JSON, flag.TextVar) accepts only known names, and "" (the default of
// WithDefaults).
type Arch string

const (
	ArchMLP Arch = "mlp" // 784-hidden-embed MLP
	ArchCNN Arch = "cnn" // small ResNet-style CNN
	// ArchText is a text model: hashed bag of words and n-grams, then an MLP.
	ArchText Arch = "text"
)

// ParseArch parses a backbone's name.
func ParseArch(s string) (Arch, error) {
	switch a := Arch(s); a {
	case ArchMLP, ArchCNN, ArchText:
		return a, nil
	}
	return "", fmt.Errorf("arch %q: want mlp, cnn or text", s)
}

// String returns the name.
func (a Arch) String() string { return string(a) }

// MarshalText implements encoding.TextMarshaler: the name as it is.
func (a Arch) MarshalText() ([]byte, error) { return []byte(a), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is the unset value.
func (a *Arch) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = ""
		return nil
	}
	v, err := ParseArch(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Heads names a Matryoshka head (matryoshka.ParseKind): "mrl", "mrl-e" or
// "ff" (in any case; the text is kept as given, so stored configs read and
// write back the same bytes), or "contrastive" for a text model, which has
// no classifier. "" is the default of WithDefaults.
type Heads string

const (
	HeadsMRL  Heads = "mrl"
	HeadsMRLE Heads = "mrl-e"
	HeadsFF   Heads = "ff"
	// HeadsContrastive is the Heads of a text model: no classifier, the
	// contrastive Matryoshka loss.
	HeadsContrastive Heads = "contrastive"
)

// Kind returns the head kind h names.
func (h Heads) Kind() (matryoshka.Kind, error) { return matryoshka.ParseKind(string(h)) }

// String returns the name.
func (h Heads) String() string { return string(h) }

// MarshalText implements encoding.TextMarshaler: the name as it is.
func (h Heads) MarshalText() ([]byte, error) { return []byte(h), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is the unset value.
func (h *Heads) UnmarshalText(b []byte) error {
	if len(b) > 0 && Heads(b) != HeadsContrastive {
		if _, err := matryoshka.ParseKind(string(b)); err != nil {
			return err
		}
	}
	*h = Heads(b)
	return nil
}
