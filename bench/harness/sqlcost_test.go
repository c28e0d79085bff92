package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/bench/internal/org"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// sqlPartsByName is row 7's and row 7u's parts by name.
func sqlPartsByName() map[string]sqlPart {
	out := map[string]sqlPart{}
	for _, p := range append(sqlCostParts(), sqlCostUpdateParts()...) {
		out[p.name] = p
	}
	return out
}

// runHere runs a spec in the test's process, with the Go runner's driver
// and pragmas.
func runHere(t *testing.T) func(sqlSpec) error {
	return func(s sqlSpec) error {
		db, err := sql.Open("sqlite", s.DB+sqlRunPragmas)
		if err != nil {
			return err
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		return s.run(t.Context(), db)
	}
}

// runPart runs part's statements over rows [1, rows] on path, as
// `harness sqlrun` does.
func runPart(t *testing.T, p sqlPart, path string, rows int) error {
	return runHere(t)(p.spec(path, rows))
}

// Row 7u starts from the database row 7's links part leaves: syncd's own
// Lookup finds every record there as a linked row, which is what makes
// each record of row 7u's pull an update of a linked row.
func TestSQLCostUpdate_StartsFromRowsSyncdReadsAsLinked(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "filled.db")
	const n = 3000
	if err := sqlPartsByName()["links"].fill(ctx, path, n, runHere(t)); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []syncd.RemoteRecord
	for _, k := range []int{1, 2000, 2001, n} {
		recs = append(recs, syncd.RemoteRecord{ID: benchRow(k, "sf_id").(string), Values: syncd.FieldsOf(map[string]syncd.Value{})})
	}
	snap, err := st.Lookup(ctx, org.Mapping(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 2000, 2001, n} {
		s := snap.States[benchRow(k, "sf_id").(string)]
		if s.Key != fmt.Sprint(k) || s.ID != benchRow(k, "sf_id") || !s.Exists || s.Values.Get("Title") != "Account Manager" {
			t.Errorf("record %d: Lookup found %+v, want row %d linked, Title Account Manager", k, s, k)
		}
	}
}

// The cumulative read+row+link part writes what a pull of an update of
// every record writes: the two changed columns of each row, the link's new
// stamp and fingerprint with its Id kept, and nothing in the outbox (the
// capture triggers see syncd's own transaction).
func TestSQLCostUpdate_UpdatesEveryLinkedRowAndItsLink(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cost.db")
	const n = 3000
	parts := sqlPartsByName()
	if err := parts["links"].fill(ctx, path, n, runHere(t)); err != nil {
		t.Fatal(err)
	}
	if err := runPart(t, parts["read+row+link"], path, n); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.first_name, c.title, c.department, l.sf_id, l.stamp, l.fp
		FROM customers c JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) ORDER BY c.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var k int
		var first, title, dept, sfID string
		var stamp, fp int64
		if err := rows.Scan(&k, &first, &title, &dept, &sfID, &stamp, &fp); err != nil {
			t.Fatal(err)
		}
		seen++
		if first != benchRow(k, "first_name") || title != "Mass change 1" || dept != "Department 1" {
			t.Errorf("row %d: first_name %q, title %q, department %q; want the first name kept and the two changed", k, first, title, dept)
		}
		if sfID != benchRow(k, "sf_id") || stamp != benchRow(k, "stamp_upd_ms") || fp != benchRow(k, "fp_upd") {
			t.Errorf("link of row %d: %s, stamp %d, fp %d; want its Id kept, the new stamp and fingerprint", k, sfID, stamp, fp)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Errorf("%d linked rows, want %d", seen, n)
	}
	var queued int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM _syncd_outbox`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Errorf("the capture triggers queued %d writes of syncd's own transaction", queued)
	}
}

// The read must find a link and a row for every Id it is given: a runner
// that read fewer would time a cheaper statement.
func TestSQLCostUpdate_ReadFailsOnARecordWithoutALink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cost.db")
	parts := sqlPartsByName()
	if err := parts["links"].fill(t.Context(), path, 2500, runHere(t)); err != nil {
		t.Fatal(err)
	}
	err := runPart(t, parts["read"], path, 2501)
	if err == nil || !strings.Contains(err.Error(), "read 500 rows, want 501") {
		t.Fatalf("read of 2,501 Ids with 2,500 links: %v, want it to fail on the page that has 501", err)
	}
}

// The script's upsert of rows its table holds updates them in place.
func TestSQLCostUpdate_ScriptUpsertUpdatesItsRows(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "js.db")
	const n = 3000
	parts := sqlPartsByName()
	if err := parts["script"].fill(ctx, path, n, runHere(t)); err != nil {
		t.Fatal(err)
	}
	if err := runPart(t, parts["script-upd"], path, n); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var all, changed int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE title = 'Mass change 1' AND department = 'Department 1'
		AND last_modified = '2026-11-28T12:00:20.000Z' AND email = 'first' || id || '@example.com') FROM contacts`).Scan(&all, &changed); err != nil {
		t.Fatal(err)
	}
	if all != n || changed != n {
		t.Errorf("%d rows, %d of them updated; want %d and %d", all, changed, n, n)
	}
}
