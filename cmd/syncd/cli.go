package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
)

// Main is the program: its commands and the streams they write to.
type Main struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string

	// flags are the flags every command takes, bound by the root command.
	flags globalFlags
}

// globalFlags override the config's logging for one invocation.
type globalFlags struct {
	logLevel  string
	logFormat string
}

// NewMain returns a Main on the process's standard streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv}
}

// commands are the commands below the root, in the order help lists them.
// A new command is a method that returns its *cobra.Command, added here.
var commands = []func(*Main) *cobra.Command{
	(*Main).demoCmd,
	(*Main).syncCmd,
	(*Main).runCmd,
	(*Main).statusCmd,
	(*Main).checkCmd,
	(*Main).initCmd,
	(*Main).uninstallCmd,
	(*Main).authCmd,
	(*Main).conflictsCmd,
	(*Main).failedCmd,
	(*Main).retryCmd,
	(*Main).verifyCmd,
	(*Main).resyncCmd,
	(*Main).versionCmd,
	(*Main).manCmd,
}

// usageError is a misuse of the command line (exit 2). cmd is the command
// path whose --help the message points to ("" for none).
type usageError struct{ cmd, msg string }

func (e usageError) Error() string { return e.msg }

// configError is a configuration problem (exit 78).
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// exitError carries a chosen exit status with its message (which may be
// nil: the command has already said what went wrong).
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

var logLevels = []string{"debug", "info", "warn", "error"}
var logFormats = []string{config.LogFormatAuto, config.LogFormatText, config.LogFormatJSON}

// rootCmd builds the command tree. Errors are returned, never printed by
// cobra: exitCode prints each failure exactly once.
func (m *Main) rootCmd() *cobra.Command {
	cobra.EnableCommandSorting = false // help lists commands in the order of commands
	root := &cobra.Command{
		Use:   "syncd",
		Short: "Keep an application's SQLite data and a Salesforce org in step",
		Long: `syncd keeps an application's SQLite data and a Salesforce org in step, both
ways, on a schedule.

Start with "syncd demo" (no account needed), then "syncd check -c FILE",
"syncd auth login -c FILE" and "syncd sync -c FILE". Under systemd the
service runs "syncd run".

Commands that read a config take -c FILE; without it they read
$SYNCD_CONFIG, then ` + config.DefaultFile + `.`,
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if f := m.flags.logLevel; f != "" && !slices.Contains(logLevels, f) {
				return usageError{c.CommandPath(), fmt.Sprintf("--log-level %q: use one of %s", f, strings.Join(logLevels, ", "))}
			}
			if f := m.flags.logFormat; f != "" && !slices.Contains(logFormats, f) {
				return usageError{c.CommandPath(), fmt.Sprintf("--log-format %q: use one of %s", f, strings.Join(logFormats, ", "))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				c.SetOut(m.Stderr)
				_ = c.Help()
				return exitError{code: exitUsage}
			}
			return unknownCommand(c, args[0])
		},
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetHelpCommand(helpCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{c.CommandPath(), err.Error()}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&m.flags.logLevel, "log-level", "", "log `LEVEL`: debug, info, warn or error (overrides the config's log_level)")
	pf.StringVar(&m.flags.logFormat, "log-format", "", "log `FORMAT`: auto, text or json (overrides the config's log_format)")
	_ = root.RegisterFlagCompletionFunc("log-level", fixedCompletions(logLevels))
	_ = root.RegisterFlagCompletionFunc("log-format", fixedCompletions(logFormats))
	for _, cmd := range commands {
		root.AddCommand(cmd(m))
	}
	return root
}

// helpCmd is `syncd help [COMMAND...]`: cobra's own prints the root's
// usage and exits 0 for a command that does not exist.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  `Help for any command: "syncd help sync" is "syncd sync --help".`,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil || cmd == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return usageError{"syncd help", err.Error()}
			}
			if len(rest) > 0 {
				return unknownCommand(cmd, rest[0])
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// Run runs the command line args and returns the process exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	root := m.rootCmd()
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	c, err := root.ExecuteContextC(ctx)
	return m.exitCode(err, configOf(c))
}

// configOf is the config the command c read (its -c), or "" for a command
// that reads none.
func configOf(c *cobra.Command) string {
	if c == nil {
		return ""
	}
	if f := c.Flags().Lookup("config"); f != nil {
		return f.Value.String()
	}
	return ""
}

// exitCode prints err (once) and maps it to the exit status. path is the
// config the command read, for the commands the message tells the
// operator to run (withConfig).
func (m *Main) exitCode(err error, path string) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var ce configError
	var ee exitError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(m.Stderr, "syncd: %s\n", ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(m.Stderr, "Run '%s --help' for usage.\n", ue.cmd)
		}
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(m.Stderr, "syncd: invalid config:\n%s\n", indent(withConfig(ce.err.Error(), path)))
		return exitConfig
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(m.Stderr, "syncd: %s\n", withConfig(ee.err.Error(), path))
		}
		return ee.code
	}
	fmt.Fprintf(m.Stderr, "syncd: %s\n", withConfig(err.Error(), path))
	return exitFail
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// unknownCommand is the error for a word that names no command of c.
func unknownCommand(c *cobra.Command, word string) error {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", word, c.CommandPath())
	c.SuggestionsMinimumDistance = 2
	if s := c.SuggestionsFor(word); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return usageError{c.CommandPath(), msg + " (commands: " + strings.Join(names, ", ") + ")"}
}

// group is a command whose work is done by its subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:                   use,
		Short:                 short,
		DisableFlagsInUseLine: true,
		Args:                  cobra.ArbitraryArgs,
		ValidArgsFunction:     cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				var names []string
				for _, sub := range c.Commands() {
					names = append(names, sub.Name())
				}
				return usageError{c.CommandPath(), fmt.Sprintf("%s needs a command: %s", c.Name(), strings.Join(names, ", "))}
			}
			return unknownCommand(c, args[0])
		},
	}
	c.AddCommand(subs...)
	return c
}

// noArgs, exactArgs and maxArgs check positional arguments, as usage errors.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{c.CommandPath(), fmt.Sprintf("%s takes no arguments, got %q", c.CommandPath(), args)}
	}
	return nil
}

func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{c.CommandPath(), msg}
		}
		return nil
	}
}

func maxArgs(n int, msg string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{c.CommandPath(), msg}
		}
		return nil
	}
}

// configFlag adds -c/--config to a command that reads a config.
func (m *Main) configFlag(c *cobra.Command) *string {
	def := m.Getenv("SYNCD_CONFIG")
	if def == "" {
		def = config.DefaultFile
	}
	p := new(string)
	c.Flags().StringVarP(p, "config", "c", def, "read the config from `FILE`; $SYNCD_CONFIG changes the default")
	_ = c.RegisterFlagCompletionFunc("config", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	})
	return p
}

func fixedCompletions(words []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// objectCompletions completes a mapped object's name from the config that
// -c names, for commands that take OBJECT.
func objectCompletions(path *string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg, err := config.Load(*path, config.WithoutSecrets())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, o := range cfg.Objects {
			names = append(names, o.SObject)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// loadConfig loads and validates the config, as a configError on failure.
// A command that talks to Salesforce loads it this way, so that a secret
// it cannot read stops it at once, with the config's file:line.
func loadConfig(path string, opts ...config.Option) (*config.Config, error) {
	cfg, err := config.Load(path, opts...)
	if err != nil {
		return nil, configError{err}
	}
	if _, err := parseSchedule(cfg); err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}

// loadLocalConfig loads the config for a command that never talks to
// Salesforce (status, the listings, retry, check without --online...): it
// leaves the Salesforce secrets unread, so that an operator's shell, which
// has neither the service's environment nor its $CREDENTIALS_DIRECTORY,
// can run it. Any other problem of the config is still reported.
func loadLocalConfig(path string) (*config.Config, error) {
	return loadConfig(path, config.WithoutSecrets())
}

// logSettings are the log format and level in force: the flags, else the
// config's.
func (m *Main) logSettings(cfg *config.Config) (format, level string) {
	format, level = m.flags.logFormat, m.flags.logLevel
	if format == "" && cfg != nil {
		format = cfg.LogFormat
	}
	if level == "" && cfg != nil {
		level = cfg.LogLevel
	}
	return format, level
}
