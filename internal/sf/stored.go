package sf

import "errors"

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
