package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/store"
)

// Commands that only read (status, verify, the listings, sync --dry-run)
// open the application's database read-only: they create no file, migrate
// nothing, install nothing and take no lock.

// openReadOnly loads the config and opens its database read-only.
func openReadOnly(ctx context.Context, path string) (*config.Config, *store.DB, error) {
	cfg, err := loadLocalConfig(path)
	if err != nil {
		return nil, nil, err
	}
	db, err := readOnlyDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

// readOnlyDB opens cfg's database read-only. A path that names no SQLite
// database is the config's problem (exit 78, with its file:line); a
// database syncd has not set up, or whose schema this binary would have
// to migrate, is said so (exit 1).
func readOnlyDB(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	db, err := store.OpenReadOnly(ctx, cfg.Database)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, store.ErrNoDatabase):
		return nil, configError{cfg.ErrorAt("database", "%s does not exist; syncd never creates the application's database (a relative path is relative to the config file)", cfg.Database)}
	case errors.Is(err, store.ErrNotSQLite):
		return nil, configError{cfg.ErrorAt("database", "%s is not an SQLite database", cfg.Database)}
	case errors.Is(err, store.ErrNotSetUp), errors.Is(err, store.ErrSchemaOld), errors.Is(err, store.ErrSchemaTooNew):
		return nil, exitError{code: exitFail, err: fmt.Errorf("database %w", err)}
	}
	return nil, err // the store's errors name the file
}

// dryRunNote checks, read-only, the database a dry run is about to copy:
// a database syncd has not set up (or not upgraded) yet gets a note, since
// the dry run then shows the first cycle, on a copy set up for it.
func dryRunNote(ctx context.Context, cfg *config.Config) (string, error) {
	db, err := readOnlyDB(ctx, cfg)
	if err == nil {
		db.Close()
		return "", nil
	}
	switch {
	case errors.Is(err, store.ErrNotSetUp):
		return fmt.Sprintf("note: syncd has not set up %s yet; this dry run shows the first cycle (the database stays as it is)", cfg.Database), nil
	case errors.Is(err, store.ErrSchemaOld):
		return fmt.Sprintf("note: %s has an older syncd schema; this dry run shows the cycle after its upgrade (the database stays as it is)", cfg.Database), nil
	}
	return "", err
}
