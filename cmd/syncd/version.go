package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set by a release build (packaging/build):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=0123abc -X main.date=2026-01-02T15:04:05Z"
//
// Without them, the Go toolchain's build info supplies what it recorded:
// the module version of `go install ...@v1.2.3`, or the VCS revision and
// time of a build inside a git checkout.
var version, commit, date string

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Dirty   bool   `json:"dirty,omitempty"`
	Go      string `json:"go"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Dirty = s.Value == "true" && commit == ""
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if len(b.Commit) > 12 {
		b.Commit = b.Commit[:12]
	}
	return b
}

// versionNumber is the version alone, for logs and the User-Agent.
func versionNumber() string { return readBuildInfo().Version }

// versionString is the one-line version: "v1.2.3 (commit 0123abc, built
// 2026-01-02T15:04:05Z, go1.26.8)".
func versionString() string {
	b := readBuildInfo()
	var parts []string
	if b.Commit != "" {
		c := "commit " + b.Commit
		if b.Dirty {
			c += " with local changes"
		}
		parts = append(parts, c)
	}
	if b.Date != "" {
		parts = append(parts, "built "+b.Date)
	}
	parts = append(parts, b.Go)
	return b.Version + " (" + strings.Join(parts, ", ") + ")"
}

func (m *Main) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "version",
		Short:             "Print the version, commit and build date",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(m.Stdout, "syncd %s\n", versionString())
			return nil
		},
	}
}
