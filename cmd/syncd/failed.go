package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// `syncd failed` is the rows Salesforce rejected (the store's dead
// letters), and the pulled records the application's table refused: list
// them, show one, queue them again, or skip them.

func (m *Main) failedCmd() *cobra.Command {
	return group("failed", "List, show, retry or skip the rows Salesforce rejected",
		m.failedListCmd(), m.failedShowCmd(), m.failedRetryCmd("retry"), m.failedSkipCmd())
}

func (m *Main) failedListCmd() *cobra.Command {
	var asJSON bool
	var path *string
	c := &cobra.Command{
		Use:   "list [OBJECT]",
		Short: "List the rejected rows (of one object, or all), with Salesforce's reasons",
		Long: `List the rows Salesforce rejected (of one object, or all), oldest first: the
object, the row's key, Salesforce's error code and message, how many times it
was sent, and when. Then the records pulled from Salesforce whose rows the
application's table refused (a UNIQUE, NOT NULL or CHECK constraint), by their
Salesforce Id, with SQLite's message. The database is opened read-only.`,
		Args: maxArgs(1, "failed list takes at most one OBJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			return m.failedList(c.Context(), *path, firstArg(args), asJSON)
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (m *Main) failedList(ctx context.Context, path, object string, asJSON bool) error {
	db, object, err := openForObject(ctx, openReadOnly, path, object)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.DeadLetters(ctx, object)
	if err != nil {
		return err
	}
	refused, err := db.Refused(ctx, object)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(m.Stdout, append(jsonList(list, toRejectedJSON), jsonList(refused, refusedJSON)...))
	}
	if len(list)+len(refused) == 0 {
		fmt.Fprintln(m.Stdout, "no rejected rows")
		return nil
	}
	for _, d := range list {
		printRejected(m.Stdout, d)
	}
	if len(refused) > 0 {
		if len(list) > 0 {
			fmt.Fprintln(m.Stdout)
		}
		fmt.Fprintln(m.Stdout, "Records pulled from Salesforce whose rows the table refused:")
		for _, r := range refused {
			printRefused(m.Stdout, r)
		}
	}
	fix := "the data"
	if len(refused) > 0 {
		fix = "the data (or, for a refused record, the table)"
	}
	fmt.Fprintf(m.Stdout, "\n%s. Fix %s, then: %s\n", plural(len(list)+len(refused), "rejected row"), fix,
		hint(path, "failed retry [OBJECT [KEY...]]"))
	if slices.ContainsFunc(list, func(d store.DeadLetterRecord) bool { return !d.NextRetry.IsZero() }) {
		// A fix made in the org needs no command: the row goes out again
		// by itself at its next retry.
		fmt.Fprintln(m.Stdout, "A row showing a next retry is sent again by itself at that time: after a fix in Salesforce, waiting is enough.")
	}
	fmt.Fprintf(m.Stdout, "To leave a row as it is, unsynced: %s\n", hint(path, "failed skip OBJECT KEY..."))
	return nil
}

// printRefused prints a refused record: named by its Salesforce Id, and
// the row it would have written, if any.
func printRefused(w io.Writer, r store.RefusedRecord) {
	row := "a new row"
	if r.Key != "" {
		row = "row " + r.Key
	}
	fmt.Fprintf(w, "%s %s (%s)  %s: %s\n    %s, first %s, last %s\n", r.Object, r.ID, row, syncd.RefusedCode, r.Message,
		plural(r.Attempts, "attempt"), r.FirstSeen.UTC().Format(time.RFC3339), r.LastSeen.UTC().Format(time.RFC3339))
}

func printRejected(w io.Writer, d store.DeadLetterRecord) {
	fmt.Fprintf(w, "%s %s  %s: %s\n    %s, first %s, last %s%s\n", d.Object, d.Key, d.Code, d.Message,
		plural(d.Attempts, "attempt"), d.FirstSeen.UTC().Format(time.RFC3339), d.LastSeen.UTC().Format(time.RFC3339), nextRetryNote(d.NextRetry))
}

// nextRetryNote says when a rejected row is sent again on its own; nothing
// for one that waits for a change or `syncd failed retry`.
func nextRetryNote(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", next retry " + t.UTC().Format(time.RFC3339)
}

// failedShowJSON is `failed show --json`: the rejected row, its status in
// _syncd_row_status, and the fields as they were sent (keyed by
// Salesforce field).
type failedShowJSON struct {
	Rejected rejectedJSON           `json:"rejected"`
	Status   string                 `json:"status"`
	Fields   map[string]syncd.Value `json:"fields"`
}

func (m *Main) failedShowCmd() *cobra.Command {
	var asJSON bool
	var path *string
	c := &cobra.Command{
		Use:   "show OBJECT KEY",
		Short: "Show one rejected row: Salesforce's reason and the values that were sent",
		Long: `Show one rejected row: Salesforce's error code and message, the attempts, the
row's status (as the _syncd_row_status view has it) and the values syncd
sent. The database is opened read-only.`,
		Example: "  syncd failed show Contact 42",
		Args:    exactArgs(2, "failed show needs OBJECT and the row's KEY, e.g. syncd failed show Contact 42"),
		RunE: func(c *cobra.Command, args []string) error {
			return m.failedShow(c.Context(), *path, args[0], args[1], asJSON)
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (m *Main) failedShow(ctx context.Context, path, object, key string, asJSON bool) error {
	cfg, db, err := openReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if object, err = mappedObject(cfg.Objects, object); err != nil {
		return err
	}
	d, err := db.DeadLetter(ctx, object, key)
	if errors.Is(err, store.ErrNoDeadLetter) {
		return m.refusedShow(ctx, db, path, object, key, asJSON)
	}
	if err != nil {
		return err
	}
	status, err := db.RowStatus(ctx, object, key)
	if err != nil {
		return err
	}
	if asJSON {
		out := failedShowJSON{Rejected: toRejectedJSON(d), Status: status, Fields: d.Payload}
		if out.Fields == nil {
			out.Fields = map[string]syncd.Value{}
		}
		return writeJSON(m.Stdout, out)
	}
	printRejected(m.Stdout, d)
	fmt.Fprintf(m.Stdout, "    status %s\n    sent:\n", status)
	names := make([]string, 0, len(d.Payload))
	for f := range d.Payload {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		fmt.Fprintf(m.Stdout, "      %s: %s\n", f, show(d.Payload[f]))
	}
	return nil
}

// refusedShow is `failed show` of a record the table refused, named by
// its Salesforce Id or its row's key.
func (m *Main) refusedShow(ctx context.Context, db *store.DB, path, object, key string, asJSON bool) error {
	list, err := db.Refused(ctx, object)
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.ID != key && (r.Key == "" || r.Key != key) {
			continue
		}
		if asJSON {
			return writeJSON(m.Stdout, failedShowJSON{Rejected: refusedJSON(r), Status: "refused", Fields: map[string]syncd.Value{}})
		}
		printRefused(m.Stdout, r)
		fmt.Fprintf(m.Stdout, "    the record is read again when it changes in Salesforce, or on `%s`\n", hint(path, "failed retry "+object+" "+r.ID))
		return nil
	}
	return fmt.Errorf("%s %s has no rejected push and no refused record (`%s` shows those that do)", object, key, hint(path, "failed list"))
}

// failedRetryCmd is `failed retry`, and the top-level `retry` (use
// "retry"), which it keeps working.
func (m *Main) failedRetryCmd(name string) *cobra.Command {
	var path *string
	c := &cobra.Command{
		Use:   name + " [OBJECT [KEY...]]",
		Short: "Queue rejected rows to be pushed again (all, one object's, or chosen rows)",
		Long: `Queue the rows Salesforce rejected to be pushed again by the next cycle: every
one, those of OBJECT, or the rows of OBJECT with the given keys. A rejected
row is also sent again as soon as it changes. Its dead letter stays until a
push succeeds.

A record the table refused (named by its Salesforce Id or its row's key) is
read again from Salesforce by the next cycle, once: fix the table or the data
first. It is also read again when it changes in Salesforce.`,
		Example: "  syncd failed retry\n  syncd failed retry Contact 42 43",
		RunE: func(c *cobra.Command, args []string) error {
			return m.retry(c.Context(), *path, firstArg(args), args[min(1, len(args)):])
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	return c
}

// retryCmd is the top-level `syncd retry`, the same as `failed retry`.
func (m *Main) retryCmd() *cobra.Command {
	c := m.failedRetryCmd("retry")
	c.Short = `Queue rejected rows again (the same as "syncd failed retry")`
	return c
}

// retry is `syncd failed retry [OBJECT [KEY...]]`.
func (m *Main) retry(ctx context.Context, path, object string, keys []string) error {
	db, object, err := openForObject(ctx, openState, path, object)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int64
	if len(keys) > 0 {
		n, err = db.RetryRows(ctx, object, keys)
	} else {
		n, err = db.RetryDeadLetters(ctx, object)
	}
	if err != nil {
		return err
	}
	// Refused records are named by their Salesforce Id or their row's key.
	r, err := db.RetryRefused(ctx, object, keys)
	if err != nil {
		return err
	}
	if n > 0 || r == 0 {
		fmt.Fprintf(m.Stdout, "%s queued; the next cycle pushes %s again\n", plural(int(n), "rejected row"), pick(n, "it", "them"))
	}
	if r > 0 {
		fmt.Fprintf(m.Stdout, "%s the table refused asked for; the next cycle reads %s again from Salesforce\n", plural(int(r), "record"), pick(r, "it", "them"))
	}
	return notAllRejected(path, keys, int(n+r))
}

func (m *Main) failedSkipCmd() *cobra.Command {
	var all bool
	var path *string
	c := &cobra.Command{
		Use:   "skip OBJECT KEY... | --all [OBJECT]",
		Short: "Accept rejected rows as they are: close them without pushing",
		Long: `Close the dead letters of rejected rows without pushing them: each row stays
as it is locally, Salesforce keeps what it has, and the row no longer counts
as rejected (status and sync stop reporting it). A later change of the row is
captured and pushed like any other change: a row never created in Salesforce
is then created with all its values, a linked one is sent every field that
differs from the last values synced, the skipped ones included. Nothing else
brings a skipped row back; "syncd verify" reports the difference meanwhile.

A record the table refused is forgotten: it stays out of the table until it
changes in Salesforce again.

Name the rows (OBJECT KEY...; a refused record by its Salesforce Id), or pass
--all for every rejected row (of OBJECT, or of every object).`,
		Example: "  syncd failed skip Contact 42\n  syncd failed skip --all Contact",
		RunE: func(c *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 1:
				return usageError{c.CommandPath(), "failed skip --all takes at most one OBJECT, no keys"}
			case !all && len(args) < 2:
				return usageError{c.CommandPath(), "failed skip needs OBJECT and the keys of the rows to skip, or --all"}
			}
			return m.failedSkip(c.Context(), *path, firstArg(args), args[min(1, len(args)):])
		},
	}
	path = m.configFlag(c)
	c.ValidArgsFunction = objectCompletions(path)
	c.Flags().BoolVar(&all, "all", false, "skip every rejected row (of OBJECT, or of every object)")
	return c
}

func (m *Main) failedSkip(ctx context.Context, path, object string, keys []string) error {
	db, object, err := openForObject(ctx, openState, path, object)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(keys) == 0 {
		keys = nil // every row of object
	}
	skipped, err := db.SkipDeadLetters(ctx, object, keys)
	if err != nil {
		return err
	}
	for _, d := range skipped {
		fmt.Fprintf(m.Stdout, "skipped %s %s (%s); it stays as it is until it changes again\n", d.Object, d.Key, d.Code)
	}
	forgot, err := db.SkipRefused(ctx, object, keys)
	if err != nil {
		return err
	}
	if len(skipped) > 0 || forgot == 0 {
		fmt.Fprintf(m.Stdout, "%s skipped\n", plural(len(skipped), "rejected row"))
	}
	if forgot > 0 {
		fmt.Fprintf(m.Stdout, "%s the table refused forgotten; each is pulled again when it changes in Salesforce\n", plural(int(forgot), "record"))
	}
	return notAllRejected(path, keys, len(skipped)+int(forgot))
}

// notAllRejected is the error of a retry or skip that found a rejected
// push for only done of the rows named by keys (none named: every one).
func notAllRejected(path string, keys []string, done int) error {
	if len(keys) == 0 || done >= len(keys) {
		return nil
	}
	return fmt.Errorf("%d of the %d rows named have no rejected push (`%s` shows those that do)", len(keys)-done, len(keys), hint(path, "failed list"))
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// openForObject opens the config and database with open (openReadOnly or
// openState) and resolves the optional OBJECT argument of a command that
// acts on one object's rows or on every object's.
func openForObject(ctx context.Context, open func(context.Context, string) (*config.Config, *store.DB, error),
	path, object string) (*store.DB, string, error) {
	cfg, db, err := open(ctx, path)
	if err != nil {
		return nil, "", err
	}
	if object, err = objectFilter(cfg.Objects, object); err != nil {
		db.Close()
		return nil, "", err
	}
	return db, object, nil
}

// objectFilter resolves an optional OBJECT argument: "" stands for every
// object, anything else must name a mapped object or its table.
func objectFilter(objects []config.Object, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	return mappedObject(objects, name)
}

// mappedObject returns the object a name (an object or its table) maps,
// or a usage error naming the mapped ones.
func mappedObject(objects []config.Object, name string) (string, error) {
	var known []string
	for _, o := range objects {
		if strings.EqualFold(o.SObject, name) || o.Table == name {
			return o.SObject, nil
		}
		known = append(known, o.SObject)
	}
	return "", usageError{msg: fmt.Sprintf("no mapped object %q (mapped: %s)", name, strings.Join(known, ", "))}
}
