package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func (m *Main) verifyCmd() *cobra.Command {
	var asJSON, repair bool
	var path *string
	c := &cobra.Command{
		Use:   "verify [OBJECT] [--repair]",
		Short: "Compare both sides and report drift, writing nothing; --repair reconciles now",
		Long: `Compare the ids and mapped fields of every record on both sides (of one
object, or all) and report rows missing on either side and fields that
differ. It writes nothing; the exit status is 1 when the sides differ.

With --repair it runs a cycle that reconciles now, as the daemon does every
reconcile_every: every record's Id and stamp is compared with what syncd
linked, and what differs is re-read and applied (missed updates, deletes,
records never pulled); the table is scanned and what differs from the last
synced values is pushed. It prints the cycle's report (compared, repaired)
and exits as sync does.`,
		Example: "  syncd verify\n  syncd verify Contact --repair",
		Args:    maxArgs(1, "verify takes at most one OBJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			if repair {
				return m.repair(c.Context(), *path, firstArg(args), asJSON)
			}
			return m.verify(c.Context(), *path, firstArg(args), asJSON)
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&repair, "repair", false, "reconcile now: re-read what differs and push what the table holds (writes both sides)")
	return c
}

// repair is `syncd verify [OBJECT] --repair`: a cycle that reconciles
// every selected object now.
func (m *Main) repair(ctx context.Context, path, object string, asJSON bool) error {
	sess, maps, err := m.openForObjects(ctx, path, object)
	if err != nil {
		return err
	}
	defer sess.Close()
	rep, err := sess.run(ctx, maps, true)
	if err != nil {
		return err
	}
	return m.finishCycle(ctx, sess, rep, asJSON)
}

// verify is `syncd verify [OBJECT]`: compare the ids and the mapped fields
// of both sides and report drift, writing nothing.
func (m *Main) verify(ctx context.Context, path, object string, asJSON bool) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	red := &redactor{}
	sess, err := openReadSession(ctx, cfg, m.newLogger(cfg, red), red)
	if err != nil {
		return err
	}
	defer sess.Close()
	maps, err := selectObjects(sess.mappings, object)
	if err != nil {
		return err
	}
	if _, err := sess.checkOrg(ctx); err != nil {
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
	list, err := sess.db.Refused(ctx, "")
	if err != nil {
		return err
	}
	refused := map[string]string{} // Salesforce Id -> SQLite's reason
	for _, r := range list {
		refused[r.ID] = r.Message
	}
	if asJSON {
		err := writeJSON(m.Stdout, jsonList(drifts, func(d syncd.Drift) driftJSON { return toDriftJSON(d, refused) }))
		if err != nil {
			return err
		}
	} else {
		for _, d := range drifts {
			printDrift(m.Stdout, d, refused, path)
		}
	}
	if !ok {
		return exitError{code: exitFail, err: errors.New("the two sides differ")}
	}
	return nil
}

// printDrift prints an object's drift; refused gives the reason of each
// record the table refused, which is why it has no row.
func printDrift(w io.Writer, d syncd.Drift, refused map[string]string, path string) {
	fmt.Fprintf(w, "%s: %s compared", d.Object, plural(d.Compared, "record"))
	if d.OK() {
		fmt.Fprintln(w, ", both sides agree")
		return
	}
	fmt.Fprintf(w, "; %d missing in Salesforce, %d missing locally, %s\n",
		len(d.MissingInSalesforce), len(d.MissingLocally), pick(len(d.Differ), "1 field differs", fmt.Sprintf("%d fields differ", len(d.Differ))))
	for _, k := range d.MissingInSalesforce {
		fmt.Fprintf(w, "  local row %s has no live Salesforce record\n", k)
	}
	for _, id := range d.MissingLocally {
		if why, ok := refused[id]; ok {
			fmt.Fprintf(w, "  Salesforce record %s has no local row: the table refused it (%s; %s)\n", id, why, hint(path, "failed list"))
			continue
		}
		fmt.Fprintf(w, "  Salesforce record %s has no local row\n", id)
	}
	for _, f := range d.Differ {
		fmt.Fprintf(w, "  row %s / %s.%s: local %s, Salesforce %s\n", f.Key, f.ID, f.Field, show(f.Local), show(f.Remote))
	}
	if d.Unkeyed > 0 {
		fmt.Fprintf(w, "  %s with a NULL key, in no Salesforce record: give each a key\n", plural(d.Unkeyed, "local row"))
	}
}

func (m *Main) resyncCmd() *cobra.Command {
	var o resyncOptions
	var path *string
	c := &cobra.Command{
		Use:   "resync OBJECT | --all [--new-org]",
		Short: "Forget an object's watermark and re-pull every record (--new-org: move the database to another org)",
		Long: `Forget OBJECT's watermark (or every object's, with --all) and re-pull every
record through the same idempotent path as a cycle. This finds records
back-dated in Salesforce and formula values whose inputs live on other
records.

With --all --new-org, the database moves to the org of the stored session
(log in to it first with "syncd auth login"): every link, watermark,
conflict and rejected row of the old org is forgotten, since its Ids mean
nothing in another org, and the cycle that follows pulls every record of the
new org and matches rows to them by external id. The application's rows and
their pending changes stay. Without --new-org, a session of another org
than the database's is refused.`,
		Example: "  syncd resync Contact\n  syncd auth login && syncd resync --all --new-org",
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case o.all && len(args) > 0:
				return usageError{c.CommandPath(), "resync --all takes no OBJECT"}
			case !o.all && len(args) != 1:
				if o.newOrg {
					return usageError{c.CommandPath(), "--new-org re-pulls every object: use resync --all --new-org"}
				}
				return usageError{c.CommandPath(), "resync needs the object to re-pull, e.g. syncd resync Contact, or --all"}
			case o.newOrg && !o.all:
				return usageError{c.CommandPath(), "--new-org re-pulls every object: use resync --all --new-org"}
			}
			return m.resync(c.Context(), *path, firstArg(args), o)
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	c.Flags().BoolVar(&o.json, "json", false, "print the report as JSON")
	c.Flags().BoolVar(&o.all, "all", false, "re-pull every mapped object")
	c.Flags().BoolVar(&o.newOrg, "new-org", false, "move the database to the stored session's org, forgetting the old org's links and watermarks (with --all)")
	return c
}

// resyncOptions are the flags of `syncd resync`.
type resyncOptions struct {
	json, all, newOrg bool
}

// resync is `syncd resync OBJECT | --all [--new-org]`: forget the
// watermarks and re-pull every record through the same idempotent path.
func (m *Main) resync(ctx context.Context, path, object string, o resyncOptions) error {
	sess, maps, err := m.openForObjects(ctx, path, object)
	if err != nil {
		return err
	}
	defer sess.Close()
	if o.newOrg {
		if err := m.rebindOrg(ctx, sess); err != nil {
			return err
		}
	}
	// A session of another org is refused before any watermark is reset.
	if _, err := sess.checkOrg(ctx); err != nil {
		return err
	}
	for _, mp := range maps {
		if err := sess.db.ResetCursor(ctx, mp.Object); err != nil {
			return err
		}
	}
	rep, err := sess.run(ctx, maps, false)
	if err != nil {
		return err
	}
	return m.finishCycle(ctx, sess, rep, o.json)
}

// dryRun prints what a cycle would do, changing nothing: the cycle runs
// against a copy of the database and a Remote that sends no write.
func (m *Main) dryRun(ctx context.Context, cfg *config.Config, logger *slog.Logger, red *redactor, asJSON bool) error {
	dir, err := os.MkdirTemp("", "syncd-dry-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	note, err := dryRunNote(ctx, cfg)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(m.Stderr, note)
	}
	sess, rec, err := openDrySession(ctx, cfg, logger, red, dir)
	if err != nil {
		return err
	}
	defer sess.Close()
	rep, err := sess.cycle(ctx)
	if err != nil {
		return err
	}
	plans := syncd.Plans(rep, rec.Actions(), rec.Conflicts(), rec.Refused())
	if asJSON {
		if err := writeJSON(m.Stdout, jsonList(plans, toPlanJSON)); err != nil {
			return err
		}
	} else {
		for _, p := range plans {
			fmt.Fprintf(m.Stdout, "%s (dry run: nothing is written): %s to pull\n", p.Object, plural(p.Pulled, "record"))
			if p.Retried > 0 {
				fmt.Fprintf(m.Stdout, "  %s to send again: %s automatic retry is due\n", plural(p.Retried, "rejected row"), pick(p.Retried, "its", "their"))
			}
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
			for _, r := range p.Refused {
				fmt.Fprintf(m.Stdout, "  %-10s %-11s %s: %s\n", "local", "refused", r.ID, r.Message)
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

// openForObjects wires a session for a one-shot command on the mapped
// objects an optional OBJECT argument selects ("" selects every one).
func (m *Main) openForObjects(ctx context.Context, path, object string) (*session, []*syncd.Mapping, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	red := &redactor{}
	sess, err := openSession(ctx, cfg, m.newLogger(cfg, red), red, nil)
	if err != nil {
		return nil, nil, err
	}
	maps, err := selectObjects(sess.mappings, object)
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	return sess, maps, nil
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
	return nil, usageError{msg: fmt.Sprintf("no mapped object %q (mapped: %s)", name, strings.Join(known, ", "))}
}
