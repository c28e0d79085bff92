package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/sf"
)

func (m *Main) authCmd() *cobra.Command {
	return group("auth", "Log in to Salesforce, show the session, or log out",
		m.authLoginCmd(), m.authStatusCmd(), m.authLogoutCmd())
}

func (m *Main) authLoginCmd() *cobra.Command {
	var noBrowser bool
	var timeout time.Duration
	c := m.authSubcmd("login", "Authorise syncd and store its tokens in state_dir (mode 0600)", func(ctx context.Context, cfg *config.Config, sfc sf.Config) error {
		var res *sf.LoginResult
		var err error
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
		return nil
	})
	c.Long = `With auth: web_server, print the authorize URL (and open a browser where
there is one), receive the callback on the loopback redirect_url, and store
the tokens in state_dir (mode 0600). With jwt_bearer or client_credentials,
obtain a token directly.`
	c.Flags().BoolVar(&noBrowser, "no-browser", false, "print the authorize URL without opening a browser")
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the browser's callback")
	return c
}

func (m *Main) authStatusCmd() *cobra.Command {
	return m.authSubcmd("status", "Show the user, instance, token age, last refresh and scopes", func(ctx context.Context, _ *config.Config, sfc sf.Config) error {
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
			last = st.LastRefresh.UTC().Format(time.RFC3339) + " (" + ago(time.Since(st.LastRefresh).Round(time.Second)) + ")"
		}
		fmt.Fprintf(m.Stdout, "User:          %s (%s)\nInstance:      %s\nFlow:          %s\nToken issued:  %s (%s)\nLogged in:     %s\nLast refresh:  %s\nRefresh token: %v\nScopes:        %s\n",
			st.User.Username, st.User.Name, st.InstanceURL, st.Flow,
			st.IssuedAt.UTC().Format(time.RFC3339), ago(st.TokenAge.Round(time.Second)),
			st.LoggedInAt.UTC().Format(time.RFC3339), last, st.HasRefreshToken, strings.Join(st.Scopes, " "))
		return nil
	})
}

func (m *Main) authLogoutCmd() *cobra.Command {
	var force bool
	c := m.authSubcmd("logout", "Revoke the session in Salesforce and delete the stored tokens", func(ctx context.Context, cfg *config.Config, sfc sf.Config) error {
		if err := sf.Logout(ctx, sfc, force); err != nil {
			return fmt.Errorf("auth logout: %w", err)
		}
		fmt.Fprintf(m.Stdout, "Tokens revoked and deleted from %s.\n", cfg.StateDir)
		return nil
	})
	c.Flags().BoolVar(&force, "force", false, "delete the stored tokens even if Salesforce cannot be reached to revoke them")
	return c
}

// authSubcmd is an `auth` subcommand: no arguments, a --config flag, and
// run called through authRun.
func (m *Main) authSubcmd(use, short string, run func(context.Context, *config.Config, sf.Config) error) *cobra.Command {
	var path *string
	c := &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, _ []string) error {
			return m.authRun(c.Context(), *path, run)
		},
	}
	path = m.configFlag(c)
	return c
}

// authRun loads the config and runs fn with the client's config; Ctrl-C
// cancels it.
func (m *Main) authRun(ctx context.Context, path string, fn func(context.Context, *config.Config, sf.Config) error) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	red := &redactor{}
	red.addSecrets(cfg)
	sfc := sfConfig(cfg, m.newLogger(cfg, red))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return fn(ctx, cfg, sfc)
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
