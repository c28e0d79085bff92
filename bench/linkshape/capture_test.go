package linkshape

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The lazy merge base: the first time the application edits a row after a
// sync, a trigger saves the row's old values of the mapped columns, so that
// a later pull can merge against them. Every later edit before the next
// sync leaves the saved values alone.

// baseCols are the mapped columns of the capture measurements: about five,
// text and an integer, as a small mapping has.
var baseCols = []customers.Column{customers.FirstName, customers.LastName, customers.Email, customers.Phone, customers.OptedOut}

// baseFormat is how the trigger stores the old values.
type baseFormat int

const (
	// typedCols: one column per mapped column, declared without a type so
	// that SQLite stores each value as it is (no affinity conversion).
	typedCols baseFormat = iota
	// quoted: one TEXT of quote(v1) || ',' || quote(v2) ..., SQL literals.
	quoted
	// jsonText: json_object(name, value, ...).
	jsonText
	// jsonBinary: jsonb_object(name, value, ...), SQLite's binary JSON.
	jsonBinary
	// typedPerObject: typedCols in a table of the object's own whose rowid
	// is the row key (for INTEGER keys).
	typedPerObject
)

func (f baseFormat) String() string {
	return [...]string{"typed", "quote", "json", "jsonb", "typed/rowid"}[f]
}

// baseName is the side table of format f.
func baseName(f baseFormat) string {
	if f == typedPerObject {
		return "_syncd_" + appTable + "_base"
	}
	return "_syncd_base"
}

// baseTable creates the side table for cols in format f: one table for
// all objects, keyed by (object, row_key) like the links.
func baseTable(f baseFormat, cols []string) string {
	vals := "vals TEXT NOT NULL"
	switch f {
	case typedPerObject:
		var vs []string
		for j := range cols {
			vs = append(vs, fmt.Sprintf("v%d", j+1))
		}
		return `CREATE TABLE ` + baseName(f) + ` (row_key INTEGER PRIMARY KEY, ` + strings.Join(vs, ", ") + `)`
	case typedCols:
		var vs []string
		for j := range cols {
			vs = append(vs, fmt.Sprintf("v%d", j+1))
		}
		vals = strings.Join(vs, ", ")
	case jsonBinary:
		vals = "vals BLOB NOT NULL"
	}
	return `CREATE TABLE _syncd_base (object TEXT NOT NULL, row_key NOT NULL, ` + vals + `,
		PRIMARY KEY (object, row_key)) WITHOUT ROWID`
}

// baseInsert is the trigger statement that saves OLD's values of cols in
// format f unless the row's base is saved already.
func baseInsert(f baseFormat, obj, key string, cols []string) string {
	var names, exprs []string
	switch f {
	case typedCols, typedPerObject:
		for j, c := range cols {
			names = append(names, fmt.Sprintf("v%d", j+1))
			exprs = append(exprs, "OLD."+c)
		}
	case quoted:
		var qs []string
		for _, c := range cols {
			qs = append(qs, "quote(OLD."+c+")")
		}
		names, exprs = []string{"vals"}, []string{strings.Join(qs, " || ',' || ")}
	case jsonText, jsonBinary:
		var kv []string
		for _, c := range cols {
			kv = append(kv, "'"+c+"', OLD."+c)
		}
		fn := "json_object"
		if f == jsonBinary {
			fn = "jsonb_object"
		}
		names, exprs = []string{"vals"}, []string{fn + "(" + strings.Join(kv, ", ") + ")"}
	}
	if f == typedPerObject {
		return fmt.Sprintf("INSERT OR IGNORE INTO %s (row_key, %s) VALUES (OLD.%s, %s)",
			baseName(f), strings.Join(names, ", "), key, strings.Join(exprs, ", "))
	}
	return fmt.Sprintf("INSERT OR IGNORE INTO _syncd_base (object, row_key, %s) VALUES ('%s', +OLD.%s, %s)",
		strings.Join(names, ", "), obj, key, strings.Join(exprs, ", "))
}

// baseTrigger is the capture trigger: it fires when the application (not
// syncd, whose transactions hold a row in _syncd_applying) changes a mapped
// column, with the same condition as the store's UPDATE trigger
// (internal/store/install.go, triggerSQL).
func baseTrigger(f baseFormat, table, obj, key string, cols []string) string {
	var changed []string
	for _, c := range cols {
		changed = append(changed, "NEW."+c+" IS NOT OLD."+c)
	}
	return fmt.Sprintf(`CREATE TRIGGER _syncd_%s_base AFTER UPDATE OF %s ON %s
		WHEN NOT EXISTS (SELECT 1 FROM _syncd_applying) AND NEW.%s IS OLD.%s AND (%s)
		BEGIN %s; END`, table, strings.Join(cols, ", "), table, key, key, strings.Join(changed, " OR "),
		baseInsert(f, obj, key, cols))
}

// captureVariant is one set of triggers on the application's table.
type captureVariant struct {
	id, desc string
	outbox   bool // keep the store's UPDATE trigger (appends to the outbox)
	base     bool // add a lazy-base trigger
	format   baseFormat
	// merged puts the base statement into the store's UPDATE trigger
	// instead of a trigger of its own.
	merged bool
	// guarded skips the insert with WHEN NOT EXISTS when the base is saved
	// already, instead of letting INSERT OR IGNORE find it.
	guarded bool
}

var captureVariants = []*captureVariant{
	{id: "none", desc: "no capture trigger"},
	{id: "outbox", desc: "today: the store's trigger appends to the outbox", outbox: true},
	{id: "base/typed", desc: "lazy base alone, typed columns", base: true, format: typedCols},
	{id: "outbox+typed", desc: "outbox + lazy base, typed columns (own trigger)", outbox: true, base: true, format: typedCols},
	{id: "outbox+typed/merged", desc: "outbox + lazy base, typed, one trigger", outbox: true, base: true, format: typedCols, merged: true},
	{id: "outbox+typed/guarded", desc: "outbox + lazy base, typed, WHEN NOT EXISTS guard", outbox: true, base: true, format: typedCols, guarded: true},
	{id: "outbox+typed/rowid", desc: "outbox + lazy base, typed, per-object rowid table", outbox: true, base: true, format: typedPerObject},
	{id: "outbox+quote", desc: "outbox + lazy base, quote() text", outbox: true, base: true, format: quoted},
	{id: "outbox+json", desc: "outbox + lazy base, json_object text", outbox: true, base: true, format: jsonText},
	{id: "outbox+jsonb", desc: "outbox + lazy base, jsonb_object blob", outbox: true, base: true, format: jsonBinary},
}

func captureVariantByID(id string) *captureVariant {
	for _, v := range captureVariants {
		if v.id == id {
			return v
		}
	}
	return nil
}

// captureResult is what one run of one capture variant measured.
type captureResult struct {
	edits             int
	first, repeat     cost  // all first edits, all second edits
	baseBytes         int64 // pages of _syncd_base after the first edits
	basePayload       int64
	outboxBytesPerRow float64
}

// templateSeed seeds the values of the capture measurements' rows.
const templateSeed = 11

// captureTemplate builds, once per size, a database with n rows in the
// customers table (baseCols) and the store's triggers installed by
// store.Install, and returns its path; runs copy it.
func captureTemplate(ctx context.Context, dir string, n int) (string, error) {
	path := filepath.Join(dir, "template.db")
	db, err := openDB(path)
	if err != nil {
		return "", err
	}
	d := &dataset{seed: templateSeed}
	if _, err := db.ExecContext(ctx, customers.Schema(baseCols...)); err != nil {
		db.Close()
		return "", err
	}
	// Rows before the triggers: the measurement starts from a synced table
	// with an empty outbox.
	for start := 0; start < n; start += txRows {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			db.Close()
			return "", err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO customers (id, sync_id, first_name, last_name, email, phone, opted_out) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			db.Close()
			return "", err
		}
		for i := start; i < min(start+txRows, n); i++ {
			v := d.appRow(i, nil)
			if _, err := st.ExecContext(ctx, d.key(i), d.extID(i), v[0], v[1], v[2], v[3], v[9]); err != nil {
				tx.Rollback()
				db.Close()
				return "", err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			db.Close()
			return "", err
		}
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	sdb, err := store.Open(ctx, path)
	if err != nil {
		return "", err
	}
	if err := sdb.Install(ctx, []*syncd.Mapping{customers.Mapping(baseCols...)}); err != nil {
		sdb.Close()
		return "", err
	}
	if err := sdb.Close(); err != nil {
		return "", err
	}
	// Leave one file, no WAL, to copy.
	db, err = openDB(path)
	if err != nil {
		return "", err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		db.Close()
		return "", err
	}
	return path, db.Close()
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func baseColNames() []string {
	var out []string
	for _, c := range baseCols {
		out = append(out, c.Name)
	}
	return out
}

// setupCapture turns the template's triggers into variant v's.
func setupCapture(ctx context.Context, db *sql.DB, v *captureVariant) error {
	const upd = "_syncd_customers_upd"
	cols := baseColNames()
	var updSQL string
	if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?`, upd).Scan(&updSQL); err != nil {
		return fmt.Errorf("the store's trigger %s: %w", upd, err)
	}
	var stmts []string
	if v.base {
		stmts = append(stmts, baseTable(v.format, cols))
	}
	switch {
	case !v.outbox:
		stmts = append(stmts, `DROP TRIGGER `+upd)
		if v.base {
			stmts = append(stmts, baseTrigger(v.format, appTable, object, "id", cols))
		}
	case v.base && v.merged:
		// The store's trigger watches the external id too; its condition
		// covers ours, so the base statement joins its body.
		body := strings.LastIndex(updSQL, "END")
		if body < 0 {
			return fmt.Errorf("trigger %s has no END: %s", upd, updSQL)
		}
		stmts = append(stmts, `DROP TRIGGER `+upd, updSQL[:body]+baseInsert(v.format, object, "id", cols)+"; END")
	case v.base && v.guarded:
		trig := baseTrigger(v.format, appTable, object, "id", cols)
		trig = strings.Replace(trig, "WHEN NOT EXISTS (SELECT 1 FROM _syncd_applying)",
			"WHEN NOT EXISTS (SELECT 1 FROM _syncd_applying) AND NOT EXISTS (SELECT 1 FROM _syncd_base WHERE object = '"+object+"' AND row_key = +OLD.id)", 1)
		stmts = append(stmts, trig)
	case v.base:
		stmts = append(stmts, baseTrigger(v.format, appTable, object, "id", cols))
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// runCapture copies the template, sets up variant v and times the
// application's edits: single-row UPDATEs of two mapped columns, first of
// edits distinct rows (each a first edit since the last sync), then of the
// same rows again. perTx edits share a transaction; with perTx 1 each edit
// commits on its own (autocommit), as an application's single edits do.
func runCapture(ctx context.Context, dir, template string, v *captureVariant, n, edits, perTx int, seed uint64) (*captureResult, error) {
	path := filepath.Join(dir, "capture.db")
	if err := copyFile(path, template); err != nil {
		return nil, err
	}
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := setupCapture(ctx, db, v); err != nil {
		return nil, fmt.Errorf("%s: %w", v.id, err)
	}
	rows := rand.New(rand.NewPCG(seed, 3)).Perm(n)[:edits]
	d := &dataset{seed: templateSeed}
	r := &captureResult{edits: edits}
	const edit = `UPDATE customers SET email = ?, phone = ? WHERE id = ?`
	args := func(pass, i int) []any {
		return []any{fmt.Sprintf("edited%d.%d@example.com", pass, i), fmt.Sprintf("+1 (555) 010-%04d", pass*1000+i%1000), int64(i) + 1}
	}
	for pass, took := range []*cost{&r.first, &r.repeat} {
		runtime.GC()
		if perTx <= 1 {
			st, err := db.PrepareContext(ctx, edit)
			if err != nil {
				return nil, err
			}
			for _, i := range rows {
				a := args(pass, i)
				m := now()
				if _, err := st.ExecContext(ctx, a...); err != nil {
					st.Close()
					return nil, fmt.Errorf("%s: edit row %d: %w", v.id, i+1, err)
				}
				took.add(m)
			}
			st.Close()
		}
		for start := 0; perTx > 1 && start < edits; start += perTx {
			batch := rows[start:min(start+perTx, edits)]
			all := make([][]any, len(batch))
			for j, i := range batch {
				all[j] = args(pass, i)
			}
			m := now()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return nil, err
			}
			st, err := tx.PrepareContext(ctx, edit)
			if err != nil {
				tx.Rollback()
				return nil, err
			}
			for j, a := range all {
				if _, err := st.ExecContext(ctx, a...); err != nil {
					tx.Rollback()
					return nil, fmt.Errorf("%s: edit row %d: %w", v.id, batch[j]+1, err)
				}
			}
			st.Close()
			if err := tx.Commit(); err != nil {
				return nil, err
			}
			took.add(m)
		}
		if pass == 0 && v.base {
			if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return nil, err
			}
			var saved int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+baseName(v.format)).Scan(&saved); err != nil {
				return nil, err
			}
			if saved != edits {
				return nil, fmt.Errorf("%s: %d bases saved after %d first edits", v.id, saved, edits)
			}
			if err := db.QueryRowContext(ctx, `SELECT coalesce(sum(pgsize), 0), coalesce(sum(payload), 0) FROM dbstat WHERE name IN
				(SELECT name FROM sqlite_schema WHERE tbl_name = ?)`, baseName(v.format)).Scan(&r.baseBytes, &r.basePayload); err != nil {
				return nil, err
			}
		}
	}
	if v.outbox {
		var outbox, entries int64
		if err := db.QueryRowContext(ctx, `SELECT (SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN
			(SELECT name FROM sqlite_schema WHERE tbl_name = '_syncd_outbox')), (SELECT count(*) FROM _syncd_outbox)`).Scan(&outbox, &entries); err != nil {
			return nil, err
		}
		if entries != int64(2*edits) {
			return nil, fmt.Errorf("%s: %d outbox entries after %d edits", v.id, entries, 2*edits)
		}
		r.outboxBytesPerRow = float64(outbox) / float64(entries)
	}
	if v.base {
		// The base holds the values from before the first edit: the second
		// edits left it alone.
		i := rows[0]
		got, err := readBase(ctx, db, v.format, object, d.key(i), baseColNames())
		if err != nil {
			return nil, err
		}
		want := d.appRow(i, nil)
		if got[2] != want[2] || got[3] != want[3] || got[4] != want[9] {
			return nil, fmt.Errorf("%s: base of row %d is %v, want the values before the first edit %v", v.id, d.key(i), got, want)
		}
	}
	return r, nil
}

// readBase reads and decodes the saved base of obj's row key, whose
// mapped columns are cols.
func readBase(ctx context.Context, db *sql.DB, f baseFormat, obj string, key int64, cols []string) ([]any, error) {
	switch f {
	case typedCols, typedPerObject:
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		var sel []string
		for j := range cols {
			ptrs[j] = &vals[j]
			sel = append(sel, fmt.Sprintf("v%d", j+1))
		}
		q, args := `SELECT `+strings.Join(sel, ", ")+` FROM _syncd_base WHERE object = ? AND row_key = ?`, []any{obj, key}
		if f == typedPerObject {
			q, args = `SELECT `+strings.Join(sel, ", ")+` FROM `+baseName(f)+` WHERE row_key = ?`, []any{key}
		}
		err := db.QueryRowContext(ctx, q, args...).Scan(ptrs...)
		return vals, err
	case quoted:
		var s string
		if err := db.QueryRowContext(ctx, `SELECT vals FROM _syncd_base WHERE object = ? AND row_key = ?`, obj, key).Scan(&s); err != nil {
			return nil, err
		}
		return parseQuoted(s)
	default:
		var s string
		if err := db.QueryRowContext(ctx, `SELECT json(vals) FROM _syncd_base WHERE object = ? AND row_key = ?`, obj, key).Scan(&s); err != nil {
			return nil, err
		}
		return parseJSONObject(s, cols)
	}
}

// parseQuoted decodes a comma-separated list of SQL literals as quote()
// writes them: NULL, an integer, a real (always with '.' or an exponent),
// 'text' with each quote doubled, X'hex' for a blob.
func parseQuoted(s string) ([]any, error) {
	var out []any
	for {
		var v any
		var rest string
		switch {
		case strings.HasPrefix(s, "NULL"):
			rest = s[4:]
		case strings.HasPrefix(s, "'"):
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '\'')
				if j < 0 {
					return nil, fmt.Errorf("unterminated text in %q", s)
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			v, rest = b.String(), s[i:]
		case strings.HasPrefix(s, "X'"):
			j := strings.IndexByte(s[2:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated blob in %q", s)
			}
			b, err := hex.DecodeString(s[2 : 2+j])
			if err != nil {
				return nil, err
			}
			v, rest = b, s[2+j+1:]
		default:
			j := strings.IndexByte(s, ',')
			if j < 0 {
				j = len(s)
			}
			n, err := parseNumber(s[:j])
			if err != nil {
				return nil, err
			}
			v, rest = n, s[j:]
		}
		out = append(out, v)
		if rest == "" {
			return out, nil
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("expected , at %q", rest)
		}
		s = rest[1:]
	}
}

// parseNumber decodes a number as SQLite writes it in quote() and JSON: a
// REAL always has a '.' or an exponent; 9.0e+999 is infinity.
func parseNumber(s string) (any, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, err
		}
		return f, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseJSONObject decodes a JSON object of cols, numbers kept exact.
func parseJSONObject(s string, cols []string) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	out := make([]any, len(cols))
	for j, c := range cols {
		v, ok := m[c]
		if !ok {
			return nil, fmt.Errorf("no %s in %s", c, s)
		}
		if n, ok := v.(json.Number); ok {
			var err error
			if v, err = parseNumber(string(n)); err != nil {
				return nil, err
			}
		}
		out[j] = v
	}
	return out, nil
}
