package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// updatePulls is row 1u: a mass change of every Contact in the org, pulled
// by syncd into a database whose rows are all linked already, and by the
// jsforce script into its table of the same records, where each becomes an
// upsert's update. syncdDir and jsDir are row 1's last databases. Each run
// changes every Contact again (its Title and Department), so that both
// clients see b.n changed records every time; the clients alternate as in
// row 1.
func (b *bench) updatePulls(e *emu, syncdDir, jsDir string) error {
	ids, err := contactIDs(e)
	if err != nil {
		return err
	}
	if len(ids) != b.n {
		return fmt.Errorf("row 1u: the org has %d Contacts, want %d", len(ids), b.n)
	}
	var sy, js []run
	var counts []string // records syncd read, per run
	for i := 0; i < b.runs; i++ {
		title := fmt.Sprintf("Mass change %d", i+1)
		t0 := time.Now()
		if err := massUpdate(e, ids, map[string]any{"Title": title, "Department": fmt.Sprintf("Department %d", i+1)}); err != nil {
			return fmt.Errorf("row 1u: mass change: %w", err)
		}
		// The next cycle of a 20 s schedule, as in row 6.
		if err := e.advance(20 * time.Second); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: row 1u: %d Contacts changed in %s\n", len(ids), time.Since(t0).Round(100*time.Millisecond))

		j, err := b.jsRun("jsforce-pull.js", jsDir, e)
		if err != nil {
			return err
		}
		if j.recs != b.n {
			return fmt.Errorf("row 1u: the jsforce script read %d records, want %d", j.recs, b.n)
		}
		js = append(js, j)
		r, rep, err := b.syncRun(syncdDir, e)
		if err != nil {
			return err
		}
		// What the user asked for is the rows brought up to date, not
		// the records read (a pull re-reads a few before its floor).
		counts = append(counts, count(r.recs))
		if r.recs = rep.Objects[0].LocalUpdates; r.recs != b.n {
			return fmt.Errorf("row 1u: syncd made %d local updates, want %d: %+v", r.recs, b.n, rep.Objects[0])
		}
		sy = append(sy, r)
		for _, c := range []struct{ db, table string }{
			{filepath.Join(syncdDir, "app.db"), "customers"},
			{filepath.Join(jsDir, "js.db"), "contacts"},
		} {
			if got, err := countTitle(c.db, c.table, title); err != nil {
				return err
			} else if got != b.n {
				return fmt.Errorf("row 1u: %s has %d rows titled %q, want %d", c.db, got, title, b.n)
			}
		}
	}
	what := fmt.Sprintf("pull %s updates of already-linked rows (every Contact changed; median of %d)", count(b.n), b.runs)
	ms, mj := b.pairRows("1u", what, "≥ 0.8× jsforce records/s", sy, js)
	ur, uc := rate(ms.recs, ms.r.Wall)/rate(mj.recs, mj.r.Wall), rate(ms.recs, ms.r.CPU)/rate(mj.recs, mj.r.CPU)
	b.fig.updateRatio, b.fig.updateCPU = &ur, &uc
	_, note, err := dbSizes("1u", filepath.Join(syncdDir, "app.db"), filepath.Join(jsDir, "js.db"))
	if err != nil {
		return err
	}
	b.note("Row 1u: row 1's last databases (syncd's after rows 4–5's idle cycles), every Contact's Title and Department then changed through sObject Collections (200 a call) and the emulator's clock moved 20 s, before each of %d runs. The records column is the rows updated: syncd read %s records in its runs (a pull re-reads the records after its floor), and reported %s local updates each time; the jsforce script's query has no WHERE (every Contact changed, so it reads exactly the changed ones) and upserts each by Id into its table. Both tables are checked to hold the new Title on every row. %s",
		b.runs, strings.Join(counts, ", "), count(b.n), note)
	return nil
}

// contactIDs reads every Contact's Id over REST, outside any measured run.
func contactIDs(e *emu) ([]string, error) {
	var ids []string
	err := e.query("SELECT Id FROM Contact", func(rec map[string]any) error {
		id, _ := rec["Id"].(string)
		if id == "" {
			return fmt.Errorf("a Contact without an Id: %v", rec)
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// massUpdate sets fields on every record in ids as a data load would:
// sObject Collections updates of 200 records ("Update Multiple Records
// with Fewer Round-Trips", REST API Developer Guide), with the emulator's
// own session, so that each record is stamped by the emulator's clock.
func massUpdate(e *emu, ids []string, fields map[string]any) error {
	for lo := 0; lo < len(ids); lo += 200 {
		hi := min(lo+200, len(ids))
		recs := make([]map[string]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			r := map[string]any{"attributes": map[string]any{"type": "Contact"}, "id": id}
			for k, v := range fields {
				r[k] = v
			}
			recs = append(recs, r)
		}
		body, err := json.Marshal(map[string]any{"allOrNone": true, "records": recs})
		if err != nil {
			return err
		}
		req, err := http.NewRequest(http.MethodPatch, e.InstanceURL+"/services/data/v62.0/composite/sobjects", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+e.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.hc.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("collections update: %d %s", resp.StatusCode, tail(b))
		}
		var results []struct {
			Success bool `json:"success"`
			Errors  []any
		}
		if err := json.Unmarshal(b, &results); err != nil {
			return fmt.Errorf("collections update: %w", err)
		}
		for i, r := range results {
			if !r.Success {
				return fmt.Errorf("collections update of %s: %v", ids[lo+i], r.Errors)
			}
		}
	}
	return nil
}

// countTitle counts the rows of table whose title is title.
func countTitle(path, table, title string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM `+table+` WHERE title = ?`, title).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
