package config

import (
	"fmt"
	"log/slog"
)

// Redacted is what every printing path shows instead of a set Secret.
const Redacted = "[redacted]"

// Secret holds a credential (a client secret, a private key). Every way of
// printing it — fmt verbs including %#v and %d, String, GoString, slog,
// encoding/json and yaml.v3 — yields "[redacted]" (or "" when the secret is
// unset). Reveal returns the real value.
//
// The value sits behind a pointer, so even reflection-based printing of a
// struct that holds a Secret in an unexported field shows only an address.
type Secret struct {
	p *secretValue
}

type secretValue struct{ s string }

// NewSecret wraps s. An empty s gives an unset Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &secretValue{s: s}}
}

// Reveal returns the secret's real value ("" if unset). Call it only where the
// value is sent to Salesforce.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.s
}

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.p != nil && s.p.s != "" }

func (s Secret) shown() string {
	if s.IsSet() {
		return Redacted
	}
	return ""
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return s.shown() }

// Format implements fmt.Formatter so that no verb (%d, %x, %#v...) can reach
// the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	default:
		_, _ = f.Write([]byte(s.shown()))
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.shown() + `"`), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalText implements encoding.TextMarshaler (used by slog's text handler
// and by encoders that prefer text).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
