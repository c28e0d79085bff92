package linkshape

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/customers"
)

// TestShapesAnswerAlike loads a few thousand links into every shape and
// checks that each access path returns exactly the links written and that
// the update rewrites every link, so that the measurements compare
// statements that do the same work.
func TestShapesAnswerAlike(t *testing.T) {
	d := newDataset(4321, 7)
	for _, s := range shapes {
		t.Run(s.id, func(t *testing.T) {
			r, err := runShape(context.Background(), t.TempDir(), s, d, runOpts{check: true, vacuum: true})
			if err != nil {
				t.Fatal(err)
			}
			if s.layout != noLinks && s.layout != appColumns && r.linkBytes == 0 {
				t.Errorf("dbstat counted no pages for %s", s.table())
			}
		})
	}
}

// TestAccessPathsSeekTheirKey checks each statement's query plan: every
// lookup and the verify join must seek on the whole key. An untyped row_key
// joined to an INTEGER column without the unary + seeks on the object alone
// and reads all the object's links for every row.
func TestAccessPathsSeekTheirKey(t *testing.T) {
	for _, s := range shapes {
		if s.layout == noLinks {
			continue
		}
		t.Run(s.id, func(t *testing.T) {
			db, err := openDB(filepath.Join(t.TempDir(), "plan.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, q := range append([]string{customers.Schema(customers.Wide...)}, s.ddl()...) {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			keySeek := "(" + s.key() + "=?)"
			switch s.layout {
			case rowidLinks, noRowidLinks:
				keySeek = "(object=? AND row_key=?)"
			case perObjectLinks, appColumns:
				keySeek = "INTEGER PRIMARY KEY (rowid=?)"
			case perObjectTextLinks:
				keySeek = "PRIMARY KEY (row_key=?)"
			}
			sfSeek := "(sf_id=?)"
			if s.hasObject() {
				sfSeek = "(object=? AND sf_id=?)"
			}
			checks := []struct{ name, q, want string }{
				{"by sf_id", s.bySF(lookupBatch), sfSeek},
				{"by row key", s.byKey(lookupBatch), keySeek},
			}
			if s.layout != appColumns {
				checks = append(checks, struct{ name, q, want string }{"verify", s.verify(), keySeek})
			}
			for _, c := range checks {
				plan := queryPlan(t, db, c.q)
				if !strings.Contains(plan, c.want) {
					t.Errorf("%s: plan %q does not seek %s\n%s", c.name, plan, c.want, c.q)
				}
			}
		})
	}
}

func queryPlan(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	args := make([]any, strings.Count(q, "?"))
	for i := range args {
		args[i] = "x"
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

// TestSfID18 checks the checksum against Ids converted by other tools:
// salesforce_id_formatter's README (rubydoc.info) and
// salesforce_id_converter's (pypi.org).
func TestSfID18(t *testing.T) {
	for id15, want := range map[string]string{
		"70130000001tcyI": "70130000001tcyIAAQ",
		"00558000001N0Ke": "00558000001N0KeAAK",
	} {
		if got := sfID18(id15); got != want {
			t.Errorf("sfID18(%s) = %s, want %s", id15, got, want)
		}
	}
}

// TestCaptureVariantsSaveBase runs every capture variant on a small table:
// each first edit saves exactly one base holding the values from before
// that edit, a second edit leaves it alone, and the store's trigger still
// appends one outbox entry per edit (runCapture checks all three).
func TestCaptureVariantsSaveBase(t *testing.T) {
	ctx := context.Background()
	template, err := captureTemplate(ctx, t.TempDir(), 3000)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range captureVariants {
		t.Run(v.id, func(t *testing.T) {
			r, err := runCapture(ctx, t.TempDir(), template, v, 3000, 500, 100, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := runCapture(ctx, t.TempDir(), template, v, 3000, 50, 1, 2); err != nil {
				t.Fatalf("autocommit: %v", err)
			}
			if v.base && r.baseBytes == 0 {
				t.Error("dbstat counted no pages for _syncd_base")
			}
		})
	}
}
