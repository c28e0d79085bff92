package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/syncd-dev/syncd/bench/internal/org"
)

// changedBehind is how many Contacts row 9 updates, and how many it hard
// deletes, behind syncd's back before each repair.
const changedBehind = 100

// backdate is how far the emulator's clock goes back while row 9 updates
// Contacts behind syncd's back: far past the watermark and the lookback
// window before it (10m), so that no incremental pull reads them again.
const backdate = 2 * time.Hour

// reconcileRows: row 9, `syncd verify --repair` (a cycle that reconciles
// now, as the daemon does every reconcile_every) over the b.big Contacts
// the big pull left synced in dir: once on the converged state, where it
// must repair nothing, and once after changes no incremental cycle sees
// (Contacts updated with the clock set back past the watermark, and
// Contacts deleted and emptied from the recycle bin), which it must
// repair, all of them. Over REST only (the big pull's config), then with
// the default bulk_threshold, where the read of every Id and stamp is one
// Bulk query job.
func (b *bench) reconcileRows(dir string, e *emu, pull run) error {
	ids, err := spreadIDs(filepath.Join(dir, "app.db"), 4*changedBehind)
	if err != nil {
		return err
	}
	live := b.big
	for i, mode := range []struct {
		client, short string
		threshold     int
	}{
		{"syncd verify --repair, REST only (bulk_threshold 1,000,000,000)", "rest", 1000000000},
		{"syncd verify --repair, default bulk_threshold (10,000): Bulk API 2.0", "bulk", 10000},
	} {
		cfg := org.Config(e.LoginURL, e.ClientID, e.ClientSecret, "info", mode.threshold)
		if err := os.WriteFile(filepath.Join(dir, "syncd.yaml"), []byte(cfg), 0o600); err != nil {
			return err
		}
		conv, err := b.repairOnce(dir, e, live, 0)
		if err != nil {
			return fmt.Errorf("row 9 (%s, converged): %w", mode.short, err)
		}
		b.rows = append(b.rows, conv.row("9", fmt.Sprintf("reconcile %s Contacts (`syncd verify --repair`), converged: nothing to repair", count(live)),
			mode.client, fmt.Sprintf("%d reads of Ids and stamps (or 1 Bulk job); repaired 0", (live+1999)/2000)))

		var batch []string // every other one of ids: spread over the Id order too
		for j := i; j < len(ids); j += 2 {
			batch = append(batch, ids[j])
		}
		if err := changeBehind(e, batch); err != nil {
			return fmt.Errorf("row 9 (%s): %w", mode.short, err)
		}
		live -= changedBehind
		rep, err := b.repairOnce(dir, e, live, 2*changedBehind)
		if err != nil {
			return fmt.Errorf("row 9 (%s, repair): %w", mode.short, err)
		}
		b.rows = append(b.rows, rep.row("9", fmt.Sprintf("the same after %d Contacts updated with the clock %.0f h back and %d hard-deleted, behind syncd's back", changedBehind, backdate.Hours(), changedBehind),
			mode.client, fmt.Sprintf("repaired %d", 2*changedBehind)))
		b.note("Row 9, %s: converged, the reconciliation compared %s records and repaired %d; its cycle took %s (the emulator used %s of CPU); query calls: %s; peak RSS %s, %s the big pull's %s (%+.0f bytes per compared record). After the changes: compared %s, repaired %d (%s; %d local updates, %d local deletes); %d API calls against %d converged (query calls: %s); cycle %s, peak RSS %s.",
			mode.short, count(conv.compared), conv.repaired, secs3(conv.inner), secs3(conv.emuCPU), conv.c.queries(),
			mib(conv.r.MaxRSS), ratio(conv.r.MaxRSS, pull.r.MaxRSS), mib(pull.r.MaxRSS),
			float64(conv.r.MaxRSS-pull.r.MaxRSS)*1024/float64(conv.compared),
			count(rep.compared), rep.repaired, rep.kinds, rep.updates, rep.deletes, rep.c.API, conv.c.API, rep.c.queries(),
			secs3(rep.inner), mib(rep.r.MaxRSS))
	}
	b.note("Row 9 runs on the database row 5's pull left (%s Contacts linked), in this order: REST converged, %d Contacts updated with the emulator's clock moved %.0f h back (Title changed; the clock then moved forward again) and %d hard-deleted (gone from queryAll and from the delete log), REST repair, Bulk converged, %d more of each, Bulk repair. Each run is a fresh `syncd verify --repair --json` process; the Contacts changed are spread over the Id order.",
		count(b.big), changedBehind, backdate.Hours(), changedBehind, changedBehind)
	return nil
}

// repairRun is one measured `syncd verify --repair --json`.
type repairRun struct {
	run
	compared, repaired int
	updates, deletes   int
	kinds              string // the reconciled log line's counts: stamp moved, gone, unlinked
	emuCPU             time.Duration
}

// repairOnce runs `syncd verify --repair --json` in dir and checks that it
// reconciled, compared live records and repaired want rows.
func (b *bench) repairOnce(dir string, e *emu, live, want int) (repairRun, error) {
	var rr repairRun
	if err := e.resetRequests(); err != nil {
		return rr, err
	}
	emu0, err := procCPU(e.cmd.Process.Pid)
	if err != nil {
		return rr, err
	}
	r, err := measure(dir, nil, b.syncd, "verify", "--repair", "-c", filepath.Join(dir, "syncd.yaml"), "--json")
	if err != nil {
		return rr, err
	}
	emu1, err := procCPU(e.cmd.Process.Pid)
	if err != nil {
		return rr, err
	}
	c, err := e.calls()
	if err != nil {
		return rr, err
	}
	var rep syncReport
	if err := json.Unmarshal(r.Stdout, &rep); err != nil {
		return rr, fmt.Errorf("syncd verify --repair --json: %w: %s", err, r.Stdout)
	}
	if !rep.OK || len(rep.Objects) != 1 {
		return rr, fmt.Errorf("syncd verify --repair failed: %s", r.Stdout)
	}
	o := rep.Objects[0]
	rr = repairRun{
		run:      run{r, time.Duration(o.DurationMS) * time.Millisecond, o.Compared, c},
		compared: o.Compared, repaired: o.Repaired, updates: o.LocalUpdates, deletes: o.LocalDeletes,
		kinds: reconciledCounts(r.Stderr), emuCPU: emu1 - emu0,
	}
	if !o.Reconciled || o.Compared != live || o.Repaired != want {
		return rr, fmt.Errorf("want a reconciliation that compared %d records and repaired %d; got reconciled %v, compared %d, repaired %d: %s",
			live, want, o.Reconciled, o.Compared, o.Repaired, r.Stdout)
	}
	return rr, nil
}

// reconciledCounts finds syncd's "reconciled" log line in its JSON logs and
// returns what it counted by kind.
func reconciledCounts(stderr []byte) string {
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		if msg, _ := m["msg"].(string); len(msg) >= 11 && msg[:11] == "reconciled:" {
			return fmt.Sprintf("stamp moved %v, gone %v, unlinked %v", m["stamp_moved"], m["gone"], m["unlinked"])
		}
	}
	return "no reconciled log line"
}

// changeBehind changes Contacts as people would without syncd seeing it
// in an incremental cycle: the even ones of ids updated with the clock
// set back past the watermark, the odd ones hard-deleted.
func changeBehind(e *emu, ids []string) error {
	if err := e.advance(-backdate); err != nil {
		return err
	}
	for i := 0; i < len(ids); i += 2 {
		if err := e.update("Contact", ids[i], map[string]any{"Title": fmt.Sprintf("Changed behind syncd's back %d", i)}); err != nil {
			_ = e.advance(backdate)
			return fmt.Errorf("update %s: %w", ids[i], err)
		}
	}
	if err := e.advance(backdate); err != nil {
		return err
	}
	for i := 1; i < len(ids); i += 2 {
		if err := e.hardDelete("Contact", ids[i]); err != nil {
			return fmt.Errorf("hard-delete %s: %w", ids[i], err)
		}
	}
	return nil
}

// spreadIDs returns n Salesforce Ids linked in the database at path,
// spread evenly over the Id order.
func spreadIDs(path string, n int) ([]string, error) {
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT sf_id FROM _syncd_link_Contact WHERE sf_id IS NOT NULL ORDER BY sf_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		all = append(all, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(all) < n {
		return nil, fmt.Errorf("%s: %d linked Contacts, want at least %d", path, len(all), n)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*len(all)/n]
	}
	return out, nil
}

// ratio says how a peak compares with another.
func ratio(kib, of int64) string {
	if of <= 0 {
		return "against"
	}
	return fmt.Sprintf("%.1f×", float64(kib)/float64(of))
}
