package sf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoToken means no session is stored: run `syncd auth login`.
var ErrNoToken = errNoToken

// StoredToken reads the stored session without contacting Salesforce, for
// `syncd status`. It returns ErrNoToken when there is none.
func StoredToken(stateDir string) (*Token, error) {
	t, err := tokenStore{dir: stateDir}.load()
	if errors.Is(err, errNoToken) {
		return nil, ErrNoToken
	}
	return t, err
}

// StoredTokenFor reads the stored session as a client of cfg would use it,
// without contacting Salesforce: ErrNoToken when there is none, and an
// error with code CodeTokenMismatch when it was obtained with another login
// host or connected app than cfg's.
func StoredTokenFor(cfg Config) (*Token, error) {
	t, err := newTokenStore(cfg, cfg.Logger).load()
	if errors.Is(err, errNoToken) {
		return nil, ErrNoToken
	}
	return t, err
}

// RemoveToken deletes the stored session (StateDir's token file and its
// lock file) without contacting Salesforce, for `syncd uninstall --tokens`;
// the session stays valid in Salesforce until revoked (`syncd auth logout`
// revokes it). It reports whether there was a token file.
func RemoveToken(stateDir string) (bool, error) {
	st := tokenStore{dir: stateDir}
	_, err := os.Stat(st.path())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := st.remove(); err != nil {
		return false, err
	}
	if err := os.Remove(filepath.Join(stateDir, "token.lock")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, fmt.Errorf("delete token lock: %w", err)
	}
	return true, nil
}
