package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/sf"
)

// auth is `syncd auth login|status|logout`.
func (m *Main) auth(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"auth needs a subcommand: login, status or logout"}
	}
	sub, rest := args[0], args[1:]
	var path string
	var noBrowser, force bool
	var timeout time.Duration
	fs := m.flagSet("auth "+sub, &path)
	switch sub {
	case "login":
		fs.BoolVar(&noBrowser, "no-browser", false, "print the authorize URL without opening a browser")
		fs.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the browser callback")
	case "logout":
		fs.BoolVar(&force, "force", false, "delete the stored tokens even if Salesforce cannot be reached to revoke them")
	case "status":
	default:
		return usageError{fmt.Sprintf("unknown auth subcommand %q (login, status, logout)", sub)}
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	red := &redactor{}
	logger := newLogger(m.Stderr, cfg.LogFormat, cfg.LogLevel, red)
	sfc := sfConfig(cfg, logger)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	switch sub {
	case "login":
		var res *sf.LoginResult
		if cfg.Salesforce.Auth == config.AuthWebServer {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var open func(string) error
			if !noBrowser {
				open = openBrowser
			}
			res, err = sf.LoginLoopback(ctx, sfc, open, m.Stdout)
		} else {
			res, err = sf.Login(ctx, sfc)
		}
		if err != nil {
			return fmt.Errorf("auth login: %w", err)
		}
		fmt.Fprintf(m.Stdout, "Authorised as %s (%s) via %s.\nInstance: %s\nScopes: %s\nTokens stored in %s (mode 0600).\n",
			res.User.Username, res.User.Name, res.Flow, res.InstanceURL, strings.Join(res.Scopes, " "), cfg.StateDir)
	case "status":
		client, err := sf.New(ctx, sfc)
		if err != nil {
			return err
		}
		st, err := client.Status(ctx)
		if err != nil {
			return fmt.Errorf("auth status: %w", err)
		}
		last := "never"
		if !st.LastRefresh.IsZero() {
			last = st.LastRefresh.UTC().Format(time.RFC3339) + " (" + time.Since(st.LastRefresh).Round(time.Second).String() + " ago)"
		}
		fmt.Fprintf(m.Stdout, "User:          %s (%s)\nInstance:      %s\nFlow:          %s\nToken issued:  %s (%s ago)\nLogged in:     %s\nLast refresh:  %s\nRefresh token: %v\nScopes:        %s\n",
			st.User.Username, st.User.Name, st.InstanceURL, st.Flow,
			st.IssuedAt.UTC().Format(time.RFC3339), st.TokenAge.Round(time.Second),
			st.LoggedInAt.UTC().Format(time.RFC3339), last, st.HasRefreshToken, strings.Join(st.Scopes, " "))
	case "logout":
		if err := sf.Logout(ctx, sfc, force); err != nil {
			return fmt.Errorf("auth logout: %w", err)
		}
		fmt.Fprintf(m.Stdout, "Tokens revoked and deleted from %s.\n", cfg.StateDir)
	}
	return nil
}

// openBrowser opens url with the desktop's handler, where there is one.
func openBrowser(url string) error {
	for _, cmd := range []string{"xdg-open", "sensible-browser", "open"} {
		if p, err := exec.LookPath(cmd); err == nil {
			return exec.Command(p, url).Start()
		}
	}
	return fmt.Errorf("no browser found; open the URL above by hand")
}
