package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/syncd-dev/syncd/internal/config"
)

// Exit codes. 78 (EX_CONFIG) is listed in the unit's
// RestartPreventExitStatus, so a broken config does not restart-loop.
const (
	exitOK     = 0
	exitFail   = 1
	exitUsage  = 2
	exitConfig = 78
)

// Version is set at build time with -ldflags "-X main.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// Main is the program: its subcommands and the streams they write to.
type Main struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
}

// NewMain returns a Main on the process's standard streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv}
}

// usageError is a misuse of the command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// configError is a configuration problem (exit 78).
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// exitError carries a chosen exit status with its message (which may be empty).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

const usage = `syncd keeps an application's SQLite data and a Salesforce org in step.

Usage:
  syncd demo [--keep DIR]            a full sync against the built-in Salesforce emulator
  syncd sync [-c FILE] [--dry-run] [--json]
                                     one cycle now, then exit (0 only if every object synced)
  syncd run [-c FILE]                the daemon, on the config's schedule
  syncd status [-c FILE] [--json]    last cycles, watermarks, backlog; non-zero when unhealthy
  syncd check [-c FILE] [--online]   validate the config and, read-only, the database's
                                     tables; --online also the fields against the org
  syncd init --from-table TABLE --object OBJECT --database FILE -o FILE [auth flags]
                                     write a starter config for an existing table
  syncd uninstall [-c FILE] [--tokens]
                                     remove syncd's triggers and tables; data stays
  syncd auth login|status|logout [-c FILE] [--no-browser]
  syncd conflicts list|resolve [-c FILE] ...
  syncd retry [-c FILE] [OBJECT]     retry dead-lettered rows
  syncd verify [-c FILE] [--json] [OBJECT]
                                     compare both sides and report drift, writing nothing
  syncd resync [-c FILE] OBJECT      re-pull every record of an object
  syncd version

-c defaults to $SYNCD_CONFIG, then /etc/syncd/syncd.yaml.
`

// Run dispatches a subcommand and returns the process exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "demo":
		err = m.demo(ctx, rest)
	case "sync", "once":
		err = m.sync(ctx, rest)
	case "run":
		err = m.run(ctx, rest)
	case "status":
		err = m.status(ctx, rest)
	case "check":
		err = m.check(ctx, rest)
	case "init":
		err = m.initConfig(ctx, rest)
	case "uninstall":
		err = m.uninstall(ctx, rest)
	case "auth":
		err = m.auth(ctx, rest)
	case "conflicts":
		err = m.conflicts(ctx, rest)
	case "retry":
		err = m.retry(ctx, rest)
	case "verify":
		err = m.verify(ctx, rest)
	case "resync":
		err = m.resync(ctx, rest)
	case "version", "--version", "-v":
		fmt.Fprintf(m.Stdout, "syncd %s\n", version())
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
	default:
		err = usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
	return m.exitCode(err)
}

func (m *Main) exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	var ce configError
	var ee exitError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(m.Stderr, "syncd: %s\n\n%s", ue.msg, usage)
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(m.Stderr, "syncd: invalid config:\n%s\n", indent(ce.err.Error()))
		return exitConfig
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(m.Stderr, "syncd: %s\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(m.Stderr, "syncd: %s\n", err)
	return exitFail
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// flagSet returns a flag set for a subcommand that reports errors instead
// of exiting, with the -c flag every config-reading command takes.
func (m *Main) flagSet(name string, configPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet("syncd "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	if configPath != nil {
		def := m.Getenv("SYNCD_CONFIG")
		if def == "" {
			def = config.DefaultFile
		}
		fs.StringVar(configPath, "c", def, "config `FILE` (default $SYNCD_CONFIG, then "+config.DefaultFile+")")
		fs.StringVar(configPath, "config", def, "same as -c")
	}
	return fs
}

// parse parses a subcommand's flags, turning a flag error into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// loadConfig loads and validates the config, as a configError on failure.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, configError{err}
	}
	if _, err := parseSchedule(cfg); err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}
