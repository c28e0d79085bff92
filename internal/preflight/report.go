package preflight

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Write prints each object's mapped columns beside their fields, and a
// closing OK when there is no problem (WriteProblems prints them).
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "database %s\n", r.Database)
	for _, o := range r.Objects {
		fmt.Fprintf(w, "  %s <-> %s\n", o.Object, o.Table)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if r.Online {
			fmt.Fprintln(tw, "    column\tdeclared\taffinity\tfield\ttype\tdirection")
		} else {
			fmt.Fprintln(tw, "    column\tdeclared\taffinity\tfield\tdirection")
		}
		for _, c := range o.Columns {
			decl, aff := c.Declared, c.Affinity
			if c.Missing {
				decl, aff = "(missing)", "-"
			} else if decl == "" {
				decl = "(none)"
			}
			dir := string(c.Direction)
			if c.ReadOnly && dir != "pull" {
				dir = "pull (read-only in Salesforce)"
			}
			if r.Online {
				typ := c.Type
				if typ == "" {
					typ = "(no such field)"
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", c.Column, decl, aff, c.Field, typ, dir)
			} else {
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", c.Column, decl, aff, c.Field, dir)
			}
		}
		tw.Flush()
	}
	if len(r.Problems) > 0 {
		return
	}
	if r.Online {
		fmt.Fprintln(w, "OK: the database fits the config, and every mapped field exists in the org")
	} else {
		fmt.Fprintln(w, "OK: the database fits the config (field names and types are checked with --online)")
	}
}

// WriteProblems prints the problems, each with the SQL that fixes it. The
// fix and hint lines are SQL (a hint is a comment), so that a block can be
// pasted into sqlite3 as it is once reviewed.
func (r *Report) WriteProblems(w io.Writer) {
	if len(r.Problems) == 0 {
		return
	}
	if len(r.Problems) == 1 {
		fmt.Fprintln(w, "1 problem:")
	} else {
		fmt.Fprintf(w, "%d problems:\n", len(r.Problems))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "\n%s\n", p.Error)
		for _, f := range p.Fix {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
		}
		if p.Hint != "" {
			fmt.Fprintf(w, "    -- %s\n", p.Hint)
		}
	}
}
