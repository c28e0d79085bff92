package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// session is everything one config wires together: the store, the
// Salesforce client and the engine. A reload builds a new session around
// the same store.
type session struct {
	cfg      *config.Config
	db       *store.DB
	ownDB    bool
	client   *sf.Client
	engine   *syncd.Engine
	mappings []*syncd.Mapping
	logger   *slog.Logger
}

// tokenConfig is what finds the stored session and checks that it belongs
// to the config's login host and connected app: no secret, so a config
// loaded without them (status) can read the session too.
func tokenConfig(cfg *config.Config) sf.Config {
	return sf.Config{LoginURL: cfg.Salesforce.LoginURL, ClientID: cfg.Salesforce.ClientID, StateDir: cfg.StateDir}
}

// sfConfig maps the YAML config onto the client's config.
func sfConfig(cfg *config.Config, logger *slog.Logger) sf.Config {
	if !cfg.SecretsRead() {
		// A wiring mistake, not a user's: without its secret the client
		// would fail later, at login, with a message that hides the cause.
		panic("sfConfig: the config was loaded without its secrets (loadLocalConfig)")
	}
	s := cfg.Salesforce
	return sf.Config{
		LoginURL:     s.LoginURL,
		APIVersion:   s.APIVersion,
		Auth:         string(s.Auth),
		ClientID:     s.ClientID,
		ClientSecret: s.ClientSecret.Reveal(),
		RedirectURL:  s.RedirectURL,
		Username:     s.Username,
		PrivateKeyPEM: func() []byte {
			if s.PrivateKey.IsSet() {
				return []byte(s.PrivateKey.Reveal())
			}
			return nil
		}(),
		StateDir:  cfg.StateDir,
		Logger:    logger,
		APIBudget: cfg.APIBudget.Limit,
		Version:   versionNumber(),
		// Describe is read once per client (per start or reload), so an
		// idle cycle costs one query call per object and nothing else.
		DescribeMaxAge: 365 * 24 * time.Hour,
	}
}

// openStore opens the application's database and takes the process lock.
func openStore(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	if err := mustExist(cfg); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.Database) // its errors name the file
	if err != nil {
		return nil, err
	}
	if err := db.Lock(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openSession wires a config. db may be nil (the session opens and owns
// it) or a store kept across a reload. No call reaches Salesforce here, so
// an outage is not a failed start.
func openSession(ctx context.Context, cfg *config.Config, logger *slog.Logger, red *redactor, db *store.DB) (*session, error) {
	red.addSecrets(cfg)
	s := &session{cfg: cfg, db: db, logger: logger, mappings: mappings(cfg)}
	if db == nil {
		var err error
		if s.db, err = openStore(ctx, cfg); err != nil {
			return nil, err
		}
		s.ownDB = true
	}
	if err := s.db.CheckMappings(ctx, s.mappings); err != nil {
		s.Close()
		return nil, configError{fmt.Errorf("%w\n(`%s` prints the SQL that fixes each of these)", err, hint(cfg.File(), "check"))}
	}
	if err := s.db.Install(ctx, s.mappings); err != nil {
		s.Close()
		return nil, fmt.Errorf("install change capture: %w", err)
	}
	client, err := sf.New(ctx, sfConfig(cfg, logger))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.client = client
	s.engine = &syncd.Engine{
		Local:          s.db,
		Remote:         client,
		Logger:         logger,
		ReconcileEvery: cfg.ReconcileEvery,
	}
	return s, nil
}

// openReadSession wires a config for a command that reads both sides and
// writes neither (verify): the database is opened read-only, so nothing is
// migrated, installed or locked.
func openReadSession(ctx context.Context, cfg *config.Config, logger *slog.Logger, red *redactor) (*session, error) {
	red.addSecrets(cfg)
	db, err := readOnlyDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, db: db, ownDB: true, logger: logger, mappings: mappings(cfg)}
	if err := s.db.CheckMappings(ctx, s.mappings); err != nil {
		s.Close()
		return nil, configError{fmt.Errorf("%w\n(`%s` prints the SQL that fixes each of these)", err, hint(cfg.File(), "check"))}
	}
	client, err := sf.New(ctx, sfConfig(cfg, logger))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.client = client
	s.engine = &syncd.Engine{Local: s.db, Remote: client, Logger: logger}
	return s, nil
}

// openDrySession wires a config for a dry run: the cycle runs for real
// against a private copy of the database (in dir, which the caller
// removes) and a Remote that sends no write, and a Recorder says what it
// did. The application's database is only read.
func openDrySession(ctx context.Context, cfg *config.Config, logger *slog.Logger, red *redactor, dir string) (*session, *syncd.Recorder, error) {
	db, err := store.OpenCopy(ctx, cfg.Database, dir)
	if err != nil {
		return nil, nil, err
	}
	s, err := openSession(ctx, cfg, logger, red, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	s.ownDB = true
	rec := syncd.NewRecorder()
	s.engine.Local = rec.Local(s.db)
	s.engine.Remote = rec.Remote(&syncd.DryRemote{Remote: s.client})
	return s, rec, nil
}

// cycle runs one sync cycle over every mapped object.
func (s *session) cycle(ctx context.Context) (syncd.Report, error) {
	return s.run(ctx, s.mappings, false)
}

// Close releases what the session owns.
func (s *session) Close() {
	if s.ownDB && s.db != nil {
		if err := s.db.Close(); err != nil && s.logger != nil {
			s.logger.Warn("database close", "err", err)
		}
	}
}

// reportErr summarises the failed objects of a report, or nil.
func reportErr(rep syncd.Report) error {
	var errs []error
	for _, o := range rep.Objects {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Object, o.Err))
		}
	}
	return errors.Join(errs...)
}
