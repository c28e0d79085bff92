package main

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
)

func ptr[T any](v T) *T { return &v }

// The targets table says "yes" only where the run's figure meets the
// target, and "not measured" for a figure whose step did not run, never a
// verdict.
func TestTargetRows_JudgesEachFigureAgainstItsTarget(t *testing.T) {
	f := figures{
		n: 100000, bigN: 1000000,
		dbRatio:      ptr(1.55),
		pullRatio:    ptr(0.93),
		pullCPU:      ptr(1.10),
		updateRatio:  ptr(0.80),
		latencyRatio: ptr(1.06),
		rss100k:      ptr(int64(50 * 1024)),
		rssBig:       ptr(int64(70 * 1024)),
		idle:         &idleFigure{first: calls{API: 3, Query: 1, Describe: 1, Deleted: 1}, worst: 1, laterTotal: 30, later: 30},
		storeInsert:  ptr(120000.0),
		storeUpdate:  ptr(79000.0),
	}
	want := []string{"yes", "no", "yes", "yes", "no", "no", "no"}
	rows := targetRows(f)
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		if r.met != want[i] {
			t.Errorf("%s: measured %s against %s: met %q, want %q", r.figure, r.measured, r.target, r.met, want[i])
		}
	}
	if got := rows[1].measured; got != "0.93× (1.10× per CPU-second)" {
		t.Errorf("pull measured as %q, want the wall time's ratio and the CPU's", got)
	}
	if got := rows[4].measured; got != "120k / 79k" {
		t.Errorf("store apply measured as %q, want %q", got, "120k / 79k")
	}
}

func TestTargetRows_IdleCycleThatAsksGetUpdatedMissesTheTarget(t *testing.T) {
	f := figures{n: 100000, idle: &idleFigure{first: calls{API: 7, Query: 4, Describe: 1, Deleted: 1, Updated: 1}, worst: 1, later: 30, laterTotal: 30}}
	r := targetRows(f)[3]
	if r.met != "no" || !strings.Contains(r.measured, "4 query") || !strings.Contains(r.measured, "1 getUpdated") {
		t.Errorf("idle row = %+v, want not met, naming the 4 queries and the getUpdated call", r)
	}
}

// A Composite request is one call (Salesforce counts "the entire series of
// requests" as one): a first cycle of describe, the delete log and one
// Composite request meets the target, and the row says what it held.
func TestTargetRows_IdleCycleOfOneCompositeMeetsTheTarget(t *testing.T) {
	first := calls{API: 3, Describe: 1, Deleted: 1, Composite: 1, Held: []string{"getUpdated + 2 query"}}
	f := figures{n: 100000, idle: &idleFigure{first: first, worst: 1, later: 30, laterTotal: 30}}
	r := targetRows(f)[3]
	if r.met != "yes" || !strings.Contains(r.measured, "first cycle 3 (1 describe, 1 deleted, composite: getUpdated + 2 query)") {
		t.Errorf("idle row = %+v, want met, naming what the Composite request held", r)
	}
	f.idle.first = calls{API: 4, Describe: 1, Deleted: 1, Composite: 1, Query: 1, Held: []string{"2 query"}}
	if r := targetRows(f)[3]; r.met != "no" {
		t.Errorf("a Composite request and a query: %+v, want not met", r)
	}
}

func TestTargetRows_StepNotRunIsNotJudged(t *testing.T) {
	rows := targetRows(figures{n: 100000, rss100k: ptr(int64(40 * 1024))})
	for i, r := range rows {
		if i == 5 {
			if r.met != "yes (100,000 only)" {
				t.Errorf("peak RSS without row 5: met %q, want it to say only 100,000 was measured", r.met)
			}
			continue
		}
		if r.met != "—" || !strings.HasPrefix(r.measured, "not measured") {
			t.Errorf("%s: %+v, want not measured", r.figure, r)
		}
	}
}

// The lines `go test -bench` prints for BenchmarkApplyPull, with its
// rows/s metric and -benchmem's columns between.
func TestBenchRates_ReadsTheMetricOfEachBenchmark(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/syncd-dev/syncd/internal/store
cpu: AMD EPYC 7B13
BenchmarkApplyPull/Insert-2         	      50	  19234567 ns/op	    103981 rows/s	 5123456 B/op	   40000 allocs/op
BenchmarkApplyPull/Update-2         	      50	  24000000 ns/op	     83333 rows/s
BenchmarkApplyPull/LookupUpdate     	      50	  30000000 ns/op	     66666.5 rows/s
PASS
ok  	github.com/syncd-dev/syncd/internal/store	12.345s
`
	got, err := benchRates(strings.NewReader(out), "rows/s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"BenchmarkApplyPull/Insert": 103981, "BenchmarkApplyPull/Update": 83333, "BenchmarkApplyPull/LookupUpdate": 66666.5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// Row 1u's mass change goes through the emulator's sObject Collections
// like any data load: every Contact takes the new values and a
// LastModifiedDate of the emulator's clock, after the pull that read them
// before.
func TestMassUpdate_ChangesEveryContactAndStampsIt(t *testing.T) {
	s := sfemu.New(sfemu.Options{})
	s.SeedContacts(450)
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer s.Close()
	at, _ := s.MintSession()
	e := &emu{emuLine: emuLine{InstanceURL: srv.URL, AccessToken: at}, hc: &http.Client{Timeout: 30 * time.Second}}

	ids, err := contactIDs(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 450 {
		t.Fatalf("contactIDs: %d, want 450", len(ids))
	}
	// Ahead of every seeded stamp, so that each record must be stamped
	// anew (the emulator stamps to the second).
	s.Advance(time.Minute)
	before := s.Now().Truncate(time.Second)
	if err := massUpdate(e, ids, map[string]any{"Title": "Mass change 1", "Department": "Department 1"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		r, ok := s.Get("Contact", id)
		if !ok {
			t.Fatalf("Contact %s gone", id)
		}
		if r["Title"] != "Mass change 1" || r["Department"] != "Department 1" {
			t.Fatalf("Contact %s: Title %v, Department %v", id, r["Title"], r["Department"])
		}
		if lm, _ := r["LastModifiedDate"].(time.Time); lm.Before(before) {
			t.Fatalf("Contact %s: LastModifiedDate %v, before the change at %v", id, r["LastModifiedDate"], before)
		}
	}
}

// Row 1's file note counts the link table and its indexes as syncd's share
// and the application's table as the application's, on databases written by
// the statements row 7 measures (the application's rows and their links,
// and the jsforce script's upsert).
func TestDBSizes_SplitsSyncdsStateFromTheApplicationsTable(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	parts := map[string]sqlPart{}
	for _, p := range sqlCostParts() {
		parts[p.name] = p
	}
	write := func(part, path string) {
		p := parts[part]
		if err := p.prepare(ctx, path); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		spec := sqlSpec{Rows: 3000, Batch: 2000, Prologue: p.prologue, Epilogue: p.epilogue, Stmts: p.stmts}
		for first := 1; first <= spec.Rows; first += spec.Batch {
			if err := spec.page(ctx, db, first, min(first+spec.Batch, spec.Rows+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	syncdDB, jsDB := filepath.Join(dir, "app.db"), filepath.Join(dir, "js.db")
	write("links", syncdDB)
	write("script", jsDB)

	ratio, note, err := dbSizes("1", syncdDB, jsDB)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(fileSizes(syncdDB, syncdDB+"-wal")) / float64(fileSizes(jsDB, jsDB+"-wal"))
	if ratio != want || ratio <= 1 {
		t.Errorf("ratio %.3f, want the files' %.3f, above 1 (syncd keeps links the script does not)", ratio, want)
	}
	if !strings.Contains(note, "_syncd_link_Contact") || !strings.Contains(note, "bytes per link") {
		t.Errorf("note does not name the link table and its bytes per link: %s", note)
	}
	t.Log(note)
	if strings.Contains(note, "customers ") {
		t.Errorf("note counts the application's table as syncd's: %s", note)
	}
}
