package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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

// readSecretFile reads the file a *_file key names. A relative name is
// looked up in credDir ($CREDENTIALS_DIRECTORY, systemd's LoadCredential=)
// when that is set, and may not leave it, not even through a symlink;
// otherwise in configDir. It returns the path it read.
//
// Outside credDir, a file that its group or others may access is refused,
// as ssh refuses such a private key: a secret must be readable by its owner
// alone (chmod 600). Files in credDir are exempt: systemd makes that
// directory accessible to the service's user only, whatever the files'
// own bits (systemd.exec(5), "Credentials").
func readSecretFile(name, credDir, configDir string) ([]byte, string, error) {
	if filepath.IsAbs(name) {
		return readPrivateFile(name, credDir)
	}
	if credDir == "" {
		return readPrivateFile(filepath.Join(configDir, name), credDir)
	}
	path := filepath.Join(credDir, name)
	if !filepath.IsLocal(name) {
		return nil, path, fmt.Errorf("%q leaves $CREDENTIALS_DIRECTORY (%s): name a credential inside it, such as sf-client-secret", name, credDir)
	}
	f, err := os.OpenInRoot(credDir, name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, path, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, path, fmt.Errorf("read %s: %w", path, err)
	}
	return data, path, nil
}

// readPrivateFile reads path after checking that only its owner may
// access it, unless it lies in credDir.
func readPrivateFile(path, credDir string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, path, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, path, err
	}
	inCredDir := false
	if credDir != "" {
		rel, err := filepath.Rel(credDir, path)
		inCredDir = err == nil && filepath.IsLocal(rel)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && !inCredDir {
		return nil, path, fmt.Errorf("%s is accessible by group or others (mode %04o): a secret must be private to its owner; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, path, fmt.Errorf("read %s: %w", path, err)
	}
	return data, path, nil
}
