package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"github.com/syncd-dev/syncd/internal/config"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// verify is `syncd verify [OBJECT]`: compare the ids and the mapped fields
// of both sides and report drift, writing nothing.
func (m *Main) verify(ctx context.Context, args []string) error {
	var path string
	var asJSON bool
	fs := m.flagSet("verify", &path)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	sess, err := m.openForCommand(ctx, path)
	if err != nil {
		return err
	}
	defer sess.Close()
	maps, err := selectObjects(sess.mappings, fs.Arg(0))
	if err != nil {
		return err
	}
	var drifts []syncd.Drift
	ok := true
	for _, mp := range maps {
		d, err := sess.engine.Verify(ctx, mp)
		if err != nil {
			return err
		}
		ok = ok && d.OK()
		drifts = append(drifts, d)
	}
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(drifts); err != nil {
			return err
		}
	} else {
		for _, d := range drifts {
			printDrift(m.Stdout, d)
		}
	}
	if !ok {
		return exitError{code: exitFail, err: errors.New("the two sides differ")}
	}
	return nil
}

func printDrift(w io.Writer, d syncd.Drift) {
	fmt.Fprintf(w, "%s: %d records compared", d.Object, d.Compared)
	if d.OK() {
		fmt.Fprintln(w, ", both sides agree")
		return
	}
	fmt.Fprintf(w, "; %d missing in Salesforce, %d missing locally, %d fields differ\n",
		len(d.MissingInSalesforce), len(d.MissingLocally), len(d.Differ))
	for _, k := range d.MissingInSalesforce {
		fmt.Fprintf(w, "  local row %s has no live Salesforce record\n", k)
	}
	for _, id := range d.MissingLocally {
		fmt.Fprintf(w, "  Salesforce record %s has no local row\n", id)
	}
	for _, f := range d.Differ {
		fmt.Fprintf(w, "  row %s / %s.%s: local %s, Salesforce %s\n", f.Key, f.ID, f.Field, show(f.Local), show(f.Remote))
	}
}

// resync is `syncd resync OBJECT`: forget the watermark and re-pull every
// record through the same idempotent path.
func (m *Main) resync(ctx context.Context, args []string) error {
	var path string
	fs := m.flagSet("resync", &path)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"resync needs the object to re-pull, e.g. syncd resync Contact"}
	}
	sess, err := m.openForCommand(ctx, path)
	if err != nil {
		return err
	}
	defer sess.Close()
	maps, err := selectObjects(sess.mappings, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := sess.db.ResetCursor(ctx, maps[0].Object); err != nil {
		return err
	}
	rep := sess.engine.Run(ctx, maps)
	printReport(m.Stdout, rep)
	if err := reportErr(rep); err != nil {
		return exitError{code: exitFail, err: err}
	}
	return nil
}

// dryRun prints what a cycle would do, changing nothing: the cycle runs
// against a copy of the database and a Remote that sends no write.
func (m *Main) dryRun(ctx context.Context, cfg *config.Config, logger *slog.Logger, red *redactor, asJSON bool) error {
	dir, err := os.MkdirTemp("", "syncd-dry-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sess, rec, err := openDrySession(ctx, cfg, logger, red, dir)
	if err != nil {
		return err
	}
	defer sess.Close()
	rep, err := sess.cycle(ctx)
	if err != nil {
		return err
	}
	plans := syncd.Plans(rep, rec.Actions(), rec.Conflicts())
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plans); err != nil {
			return err
		}
	} else {
		for _, p := range plans {
			fmt.Fprintf(m.Stdout, "%s (dry run: nothing is written): %d records to pull\n", p.Object, p.Pulled)
			printChanges(m.Stdout, "local", p.Local)
			printChanges(m.Stdout, "Salesforce", p.Salesforce)
			for _, c := range p.Conflicts {
				res := c.Resolution
				if res == "" {
					res = "parked for manual resolution"
				} else {
					res += " wins"
				}
				fmt.Fprintf(m.Stdout, "  conflict  row %s %s: local %s, Salesforce %s, base %s: %s\n", c.Key, c.Field, show(c.Local), show(c.Remote), show(c.Base), res)
			}
		}
	}
	if err := reportErr(rep); err != nil {
		return exitError{code: exitFail, err: err}
	}
	return nil
}

func printChanges(w io.Writer, side string, cs []syncd.Action) {
	for _, c := range cs {
		who := c.Key
		if who == "" {
			who = c.ID
		}
		fmt.Fprintf(w, "  %-10s %-11s %s", side, c.Op, who)
		names := make([]string, 0, len(c.Fields))
		for f := range c.Fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			d := c.Fields[f]
			fmt.Fprintf(w, "  %s: %s -> %s", f, show(d.From), show(d.To))
		}
		fmt.Fprintln(w)
	}
}

// openForCommand wires a session for a one-shot command.
func (m *Main) openForCommand(ctx context.Context, path string) (*session, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	red := &redactor{}
	return openSession(ctx, cfg, newLogger(m.Stderr, cfg.LogFormat, cfg.LogLevel, red), red, nil)
}

func selectObjects(all []*syncd.Mapping, name string) ([]*syncd.Mapping, error) {
	if name == "" {
		return all, nil
	}
	for _, mp := range all {
		if mp.Object == name || mp.Table == name {
			return []*syncd.Mapping{mp}, nil
		}
	}
	var known []string
	for _, mp := range all {
		known = append(known, mp.Object)
	}
	return nil, usageError{fmt.Sprintf("no mapped object %q (mapped: %v)", name, known)}
}
