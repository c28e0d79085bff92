//go:build !unix

package store

import (
	"errors"
	"os"
)

func flock(f *os.File) error {
	return errors.New("process lock is not supported on this platform")
}
