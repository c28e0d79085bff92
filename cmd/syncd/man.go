package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manCmd writes the man pages, generated from the same command tree as
// --help so the two cannot disagree. Packages run it at build time.
func (m *Main) manCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write the man pages (syncd.1, syncd-sync.1, ...) into DIR",
		Long: `Write one man page per command into DIR (created if missing): syncd.1,
syncd-sync.1, syncd-auth-login.1 and so on. The packages install them; read
one without installing with: man -l DIR/syncd-sync.1`,
		Hidden: true,
		Args:   exactArgs(1, "man needs the directory to write the pages into"),
		RunE: func(c *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := c.Root()
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{Section: "1", Source: "syncd " + versionNumber(), Manual: "syncd manual"}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("write man pages: %w", err)
			}
			fmt.Fprintf(m.Stdout, "man pages written to %s\n", dir)
			return nil
		},
	}
}
