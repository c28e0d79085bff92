package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Every way syncd reads its per-object tables seeks on their keys, for
// each shape of the application's key: a rowid, a text key of a WITHOUT
// ROWID table, and a key column declared with no type. A comparison whose
// sides have different affinities would make SQLite read every link for
// every row.
func TestStateAccessPathsSeekTheirKey(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ name, schema string }{
		{"rowid", `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, ext TEXT)`},
		{"text key", `CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT, ext TEXT) WITHOUT ROWID`},
		{"untyped key", `CREATE TABLE t (id PRIMARY KEY, name TEXT, ext TEXT)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.db")
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.w.ExecContext(ctx, c.schema); err != nil {
				t.Fatal(err)
			}
			m := &syncd.Mapping{Object: "T__c", Table: "t", Key: "id", ExternalIDField: "Ext__c", ExternalIDColumn: "ext",
				Fields: []syncd.Field{{Column: "name", Name: "Name", Writable: true}}}
			if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
				t.Fatal(err)
			}
			p, err := db.plan(ctx, db.r, m)
			if err != nil {
				t.Fatal(err)
			}
			key := quoteIdent(m.Key)
			for _, q := range []string{
				`SELECT row_key, sf_id, stamp, fp FROM ` + p.link + ` WHERE sf_id IN (?, ?)`,
				`SELECT row_key, sf_id, stamp, fp FROM ` + p.link + ` WHERE row_key IN (?, ?)`,
				`SELECT * FROM ` + p.base + ` WHERE ` + key + ` IN (?, ?)`,
				// Verify, the scan, Unlinked: the table joined to its links.
				`SELECT t.name, l.sf_id FROM t LEFT JOIN ` + p.link + ` l ON ` + linkKey("l.row_key", "t."+key),
				`SELECT t.name FROM t LEFT JOIN ` + p.base + ` b ON ` + linkKey("b."+key, "t."+key),
				// The capture trigger's base, for the row edited.
				`SELECT t.name FROM t JOIN ` + p.link + ` l ON ` + linkKey("l.row_key", "t."+key) + ` WHERE t.` + key + ` = ?`,
				// An application reading one row's status.
				`SELECT status FROM _syncd_row_status WHERE tbl = 't' AND row_key = ?`,
			} {
				plan := queryPlan(t, db.r, q)
				if strings.Contains(plan, "SCAN "+p.linkName) || strings.Contains(plan, "SCAN "+p.baseName) ||
					strings.Contains(plan, "SCAN l") || strings.Contains(plan, "SCAN b") {
					t.Errorf("%s reads every link or base:\n%s", q, plan)
				}
			}
			// Linked and the scan for rows that are gone go from each link
			// to its row: they seek the row, unless its key column has no
			// type affinity (its values compare as text only once
			// converted).
			plan := queryPlan(t, db.r, `SELECT l.sf_id, t.name FROM `+p.link+` l LEFT JOIN t ON `+appKey("t."+key, "l.row_key"))
			if c.name != "untyped key" && !strings.Contains(plan, "SEARCH t") {
				t.Errorf("a link's row is not sought by its key:\n%s", plan)
			}
			// A pull asks the relink log whether a deleted record it reads was
			// unlinked from a row; the log keeps every relink ever made.
			plan = queryPlan(t, db.r, `SELECT old_id, row_key FROM _syncd_relinks WHERE object = ? AND old_id IN (?, ?)`)
			if !strings.Contains(plan, "old_id=?") {
				t.Errorf("the relink log is not sought by the record unlinked:\n%s", plan)
			}
		})
	}
}

func queryPlan(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	args := make([]any, strings.Count(q, "?"))
	for i := range args {
		args[i] = "1"
	}
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; ")
}
