package main

import (
	"bufio"
	"cmp"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/bench/internal/org"
)

// bench is one run of the whole table.
type bench struct {
	syncd, sfemu, self, node, js, work string
	n, big, push, runs                 int
	latency, spread                    time.Duration
	skipBig, skipFirst, skipMatch      bool
	skipReconcile                      bool
	repo                               string // the repository's root, for the store step's go test

	rows  []row
	notes []string
	seq   int
	fig   figures
}

// row is one line of the table.
type row struct {
	id, what, client string
	records          int
	wall             time.Duration
	cpu              time.Duration // user + system
	calls            string
	rss              string
	target           string
}

func tableMain(args []string) error {
	b := &bench{}
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	fs.StringVar(&b.syncd, "syncd", "", "syncd binary")
	fs.StringVar(&b.sfemu, "sfemu", "", "sfemu binary (cmd/sfemu)")
	fs.StringVar(&b.self, "harness", os.Args[0], "this binary (for `harness emu`)")
	fs.StringVar(&b.node, "node", "node", "node binary")
	fs.StringVar(&b.js, "js", "", "directory of jsforce-pull.js, jsforce-push.js and node_modules")
	fs.StringVar(&b.work, "work", "", "scratch directory (databases, configs)")
	fs.StringVar(&b.repo, "repo", "", "the repository's root: the store step runs `go test -bench` there (without it the step is skipped)")
	fs.IntVar(&b.n, "n", 100000, "records of the pull scenarios")
	fs.IntVar(&b.big, "big", 1000000, "records of the large pull (memory must stay flat)")
	fs.IntVar(&b.push, "push", 10000, "local creates to push")
	fs.IntVar(&b.runs, "runs", 3, "runs of the no-latency pull per client (the median is shown)")
	fs.DurationVar(&b.latency, "latency", 150*time.Millisecond, "latency per API call in the latency scenarios")
	fs.DurationVar(&b.spread, "spread", 10*time.Second, "time between the seeded Contacts' LastModifiedDate")
	fs.BoolVar(&b.skipBig, "skip-big", false, "skip the large pull and the reconciliation of its records")
	fs.BoolVar(&b.skipReconcile, "skip-reconcile", false, "after the large pull, skip the reconciliation of its records")
	fs.BoolVar(&b.skipFirst, "skip-first-sync", false, "skip the first sync of Contacts without external ids")
	fs.BoolVar(&b.skipMatch, "skip-match", false, "skip the first sync that matches local rows to existing Contacts by email")
	only := fs.String("only", "", "run only these steps (comma-separated: pull (rows 1, 1c, 1u, 2, 4), extids, big (rows 5 and 9), push, first, match, sqlcost (rows 7 and 7u), store)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.syncd == "" || b.sfemu == "" || b.js == "" || b.work == "" {
		return fmt.Errorf("table needs --syncd, --sfemu, --js and --work")
	}
	steps := []struct {
		name string
		run  func() error
		skip bool
	}{
		{"pull", b.pullScenarios, false},
		{"extids", b.extIDPull, false},
		{"big", b.bigPull, b.skipBig},
		{"push", b.pushScenario, false},
		{"first", b.firstSync, b.skipFirst},
		{"match", b.firstMatch, b.skipMatch},
		{"sqlcost", b.sqlCost, false},
		{"store", b.storeBench, b.repo == ""},
	}
	load0 := loadAvg()
	b.fig.n, b.fig.bigN = b.n, b.big
	defer func() {
		b.note("records/s is records ÷ wall time (process start to exit). CPU s is the client process's user+system time (from wait4), which other work on the machine disturbs less than wall time: the 1-minute load average was %s at the start and %s at the end, on %d CPUs (the emulator and the client share them).",
			load0, loadAvg(), runtime.NumCPU())
		b.print(os.Stdout)
		fmt.Fprintln(os.Stdout)
		printTargets(os.Stdout, targetRows(b.fig))
	}()
	for _, s := range steps {
		if s.skip || (*only != "" && !slices.Contains(strings.Split(*only, ","), s.name)) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s...\n", s.name)
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *bench) dir(name string) (string, error) {
	b.seq++
	d := filepath.Join(b.work, fmt.Sprintf("%02d-%s", b.seq, name))
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	return d, os.MkdirAll(d, 0o755)
}

// ---- syncd -----------------------------------------------------------------

// syncdDir creates a fresh application database and a config for e.
func (b *bench) syncdDir(name string, e *emu) (string, error) {
	d, err := b.dir(name)
	if err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite", filepath.Join(d, "app.db"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec(org.AppSchema); err != nil {
		return "", err
	}
	// REST (query + collections) is what these rows measure.
	cfg := org.Config(e.LoginURL, e.ClientID, e.ClientSecret, "info", 1000000000)
	return d, os.WriteFile(filepath.Join(d, "syncd.yaml"), []byte(cfg), 0o600)
}

// syncReport is the part of `syncd sync --json` the table uses.
type syncReport struct {
	OK      bool `json:"ok"`
	Objects []struct {
		Pulled       int    `json:"pulled"`
		Inserts      int    `json:"local_inserts"`
		LocalUpdates int    `json:"local_updates"`
		LocalDeletes int    `json:"local_deletes"`
		Created      int    `json:"created"`
		Updated      int    `json:"updated"`
		Conflicts    int    `json:"conflicts"`
		Failed       int    `json:"failed"`
		Matched      int    `json:"matched"`
		Held         int    `json:"held"`
		Reconciled   bool   `json:"reconciled"`
		Compared     int    `json:"compared"`
		Repaired     int    `json:"repaired"`
		APICalls     int    `json:"api_calls"`
		DurationMS   int64  `json:"duration_ms"`
		Error        string `json:"error"`
	} `json:"objects"`
}

// syncOnce runs `syncd sync --json` in dir and measures it.
func (b *bench) syncOnce(dir string, e *emu) (result, syncReport, calls, error) {
	var rep syncReport
	if err := e.resetRequests(); err != nil {
		return result{}, rep, calls{}, err
	}
	r, err := measure(dir, nil, b.syncd, "sync", "-c", filepath.Join(dir, "syncd.yaml"), "--json")
	if err != nil {
		return r, rep, calls{}, err
	}
	c, err := e.calls()
	if err != nil {
		return r, rep, c, err
	}
	if err := json.Unmarshal(r.Stdout, &rep); err != nil {
		return r, rep, c, fmt.Errorf("syncd sync --json: %w: %s", err, r.Stdout)
	}
	if !rep.OK || len(rep.Objects) != 1 {
		return r, rep, c, fmt.Errorf("syncd sync failed: %s", r.Stdout)
	}
	return r, rep, c, nil
}

// ---- jsforce ---------------------------------------------------------------

type jsReport struct {
	Records int     `json:"records"`
	Pages   int     `json:"pages"`
	Seconds float64 `json:"seconds"`
	Failed  int     `json:"failed"`
}

func (b *bench) jsEnv(e *emu, db string) []string {
	m, _ := json.Marshal(org.Fields)
	return []string{"SF_INSTANCE_URL=" + e.InstanceURL, "SF_ACCESS_TOKEN=" + e.AccessToken,
		"SF_API_VERSION=62.0", "BENCH_DB=" + db, "BENCH_MAPPING=" + string(m)}
}

func (b *bench) node1(script string, e *emu, dir string) (result, jsReport, calls, error) {
	var rep jsReport
	if err := e.resetRequests(); err != nil {
		return result{}, rep, calls{}, err
	}
	r, err := measure(dir, b.jsEnv(e, filepath.Join(dir, "js.db")), b.node, filepath.Join(b.js, script))
	if err != nil {
		return r, rep, calls{}, err
	}
	c, err := e.calls()
	if err != nil {
		return r, rep, c, err
	}
	if err := json.Unmarshal(r.Stdout, &rep); err != nil {
		return r, rep, c, fmt.Errorf("%s: %w: %s", script, err, r.Stdout)
	}
	return r, rep, c, nil
}

// ---- scenarios -------------------------------------------------------------

// run is one measured client process.
type run struct {
	r     result
	inner time.Duration // the client's own timer
	recs  int
	c     calls
}

func (r run) row(id, what, client, target string) row {
	return row{id: id, what: what, client: client, records: r.recs, wall: r.r.Wall, cpu: r.r.CPU,
		calls: r.c.String(), rss: mib(r.r.MaxRSS), target: target}
}

func (b *bench) syncRun(dir string, e *emu) (run, syncReport, error) {
	r, rep, c, err := b.syncOnce(dir, e)
	if err != nil {
		return run{}, rep, err
	}
	o := rep.Objects[0]
	return run{r, time.Duration(o.DurationMS) * time.Millisecond, o.Pulled, c}, rep, nil
}

func (b *bench) jsRun(script, dir string, e *emu) (run, error) {
	r, rep, c, err := b.node1(script, e, dir)
	if err != nil {
		return run{}, err
	}
	if rep.Failed > 0 {
		return run{}, fmt.Errorf("%s: %d records failed", script, rep.Failed)
	}
	return run{r, secs(rep.Seconds), rep.Records, c}, nil
}

// startBenchEmu starts `harness emu` with n Contacts; with extIDs each
// carries a random-looking Syncd_Id__c (see org.Seed).
func (b *bench) startBenchEmu(n int, extIDs bool) (*emu, error) {
	t := time.Now()
	args := []string{"emu", "--contacts", fmt.Sprint(n), "--spread", b.spread.String()}
	if extIDs {
		args = append(args, "--ext-ids")
	}
	e, err := startEmu(b.self, args...)
	if err == nil {
		fmt.Fprintf(os.Stderr, "bench: emulator with %d Contacts ready in %s\n", n, time.Since(t).Round(100*time.Millisecond))
	}
	return e, err
}

// pullPair runs the jsforce pull and syncd's pull b.runs times each on e,
// alternating them so that both see the same background load, and adds
// their medians as row id. It returns the directories of syncd's and the
// jsforce script's last runs.
func (b *bench) pullPair(e *emu, id, what, target string) (syncdDir, jsDir string, err error) {
	var sy, js []run
	var lastDir, lastJS string
	for i := 0; i < b.runs; i++ {
		d, err := b.dir("jsforce-pull")
		if err != nil {
			return "", "", err
		}
		j, err := b.jsRun("jsforce-pull.js", d, e)
		if err != nil {
			return "", "", err
		}
		js = append(js, j)
		lastJS = d
		if d, err = b.syncdDir("syncd-pull", e); err != nil {
			return "", "", err
		}
		r, _, err := b.syncRun(d, e)
		if err != nil {
			return "", "", err
		}
		sy = append(sy, r)
		lastDir = d
	}
	ms, mj := b.pairRows(id, what, target, sy, js)
	ratio, note, err := dbSizes(id, filepath.Join(lastDir, "app.db"), filepath.Join(lastJS, "js.db"))
	if err != nil {
		return "", "", err
	}
	b.note("%s", note)
	if want := (b.n + 1999) / 2000; ms.c.Query != want {
		b.note("Row %s: syncd made %d query calls; ceil(%d/2000) = %d.", id, ms.c.Query, b.n, want)
	}
	if id == "1" {
		pr, pc := rate(ms.recs, ms.r.Wall)/rate(mj.recs, mj.r.Wall), rate(ms.recs, ms.r.CPU)/rate(mj.recs, mj.r.CPU)
		peak := slices.MaxFunc(sy, func(a, b run) int { return cmp.Compare(a.r.MaxRSS, b.r.MaxRSS) }).r.MaxRSS
		b.fig.dbRatio, b.fig.pullRatio, b.fig.pullCPU, b.fig.rss100k = &ratio, &pr, &pc, &peak
	}
	return lastDir, lastJS, nil
}

// pairRows adds the medians of syncd's runs and the jsforce script's as
// row id, and a note with the ratios and every run.
func (b *bench) pairRows(id, what, target string, sy, js []run) (ms, mj run) {
	ms, mj = median(sy), median(js)
	b.rows = append(b.rows, ms.row(id, what, "syncd", target), mj.row(id, what, "jsforce + better-sqlite3", ""))
	b.note("Row %s: syncd/jsforce records/s = **%.2f×** on wall time (process start to exit); %.2f× on each client's own timer (syncd's cycle, jsforce's query loop after start-up); %.2f× on records per CPU-second (user+sys). Peak RSS %s vs %s. Every run, wall / CPU s: syncd %s; jsforce %s.",
		id, rate(ms.recs, ms.r.Wall)/rate(mj.recs, mj.r.Wall), rate(ms.recs, ms.inner)/rate(mj.recs, mj.inner),
		rate(ms.recs, ms.r.CPU)/rate(mj.recs, mj.r.CPU), mib(ms.r.MaxRSS), mib(mj.r.MaxRSS), runs(sy), runs(js))
	return ms, mj
}

// dbSizes compares the database syncd leaves after a pull with the
// jsforce script's, which keeps no sync state: the files as they are on
// disk (with any WAL), and syncd's split between the application's table
// with its indexes and syncd's own tables (dbstat).
func dbSizes(id, syncdDB, jsDB string) (float64, string, error) {
	sy, js := fileSizes(syncdDB, syncdDB+"-wal"), fileSizes(jsDB, jsDB+"-wal")
	db, err := sql.Open("sqlite", "file:"+syncdDB+"?mode=ro")
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	// syncd's: its tables and indexes, the automatic index of a UNIQUE
	// constraint of one of its tables included.
	const ours = `(name LIKE '\_syncd\_%' ESCAPE '\' OR name LIKE 'sqlite\_autoindex\_\_syncd\_%' ESCAPE '\')`
	var app, own int64
	if err := db.QueryRow(`SELECT coalesce(sum(CASE WHEN `+ours+` THEN 0 ELSE pgsize END), 0),
		coalesce(sum(CASE WHEN `+ours+` THEN pgsize ELSE 0 END), 0) FROM dbstat`).Scan(&app, &own); err != nil {
		return 0, "", fmt.Errorf("dbstat of %s: %w", syncdDB, err)
	}
	// syncd's largest objects by name, so that the note says where its
	// share goes (the link table, its Id index, the external-id index).
	rows, err := db.Query(`SELECT name, sum(pgsize) AS n FROM dbstat WHERE ` + ours + ` GROUP BY name HAVING n >= 100000 ORDER BY n DESC`)
	if err != nil {
		return 0, "", fmt.Errorf("dbstat of %s: %w", syncdDB, err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return 0, "", err
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", name, float64(n)/1e6))
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	var links int64
	if err := db.QueryRow(`SELECT count(*) FROM _syncd_link_Contact`).Scan(&links); err != nil {
		return 0, "", fmt.Errorf("links of %s: %w", syncdDB, err)
	}
	perLink := ""
	if links > 0 {
		perLink = fmt.Sprintf(", %.0f bytes per linked row", float64(own)/float64(links))
	}
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	ratio := float64(sy) / float64(js)
	return ratio, fmt.Sprintf("Row %s: database file after the pull: syncd %s (the application's table and indexes %s, syncd's tables and indexes %s%s: %s MB), jsforce %s: **%.2f×**.",
		id, mb(sy), mb(app), mb(own), perLink, strings.Join(parts, ", "), mb(js), ratio), nil
}

// floor: row 1c, `harness floor` (see floor.go): row 1's pull by syncd's
// own client into the bare table with modernc.org/sqlite, and the same
// pull decoding only. What any design that writes these rows with the
// pure-Go driver pays at least.
func (b *bench) floor(e *emu) error {
	what := fmt.Sprintf("row 1's pull in Go without syncd's bookkeeping (median of %d)", b.runs)
	var jsRate float64
	for _, r := range b.rows {
		if r.id == "1" && r.client != "syncd" {
			jsRate = rate(r.records, r.wall)
		}
	}
	for _, mode := range []struct{ client, insert string }{
		{"Go floor: internal/sf + bare INSERTs (modernc)", "true"},
		{"Go floor: internal/sf, decode only", "false"},
	} {
		var rs []run
		for i := 0; i < b.runs; i++ {
			d, err := b.dir("floor")
			if err != nil {
				return err
			}
			if err := e.resetRequests(); err != nil {
				return err
			}
			r, err := measure(d, nil, b.self, "floor", "--login", e.LoginURL, "--client-id", e.ClientID,
				"--client-secret", e.ClientSecret, "--db", filepath.Join(d, "floor.db"), "--insert="+mode.insert)
			if err != nil {
				return err
			}
			c, err := e.calls()
			if err != nil {
				return err
			}
			var rep jsReport
			if err := json.Unmarshal(r.Stdout, &rep); err != nil {
				return fmt.Errorf("harness floor: %w: %s", err, r.Stdout)
			}
			rs = append(rs, run{r, secs(rep.Seconds), rep.Records, c})
		}
		m := median(rs)
		b.rows = append(b.rows, m.row("1c", what, mode.client, ""))
		b.note("Row 1c, %s: %.2f× jsforce's records/s on wall time. Every run, wall / CPU s: %s.",
			mode.client, rate(m.recs, m.r.Wall)/jsRate, runs(rs))
	}
	return nil
}

// extIDPull: row 1b, row 1's pull of Contacts that already carry a
// random-looking external id (a re-pull into a new database of an org
// that was synced before, or ids that came from another system). syncd's
// external-id index then takes its inserts all over the index; the
// jsforce script keeps no such index.
func (b *bench) extIDPull() error {
	e, err := b.startBenchEmu(b.n, true)
	if err != nil {
		return err
	}
	defer e.stop()
	_, _, err = b.pullPair(e, "1b", fmt.Sprintf("row 1 with a random external id on every Contact (median of %d)", b.runs), "")
	return err
}

// pullScenarios: rows 1 (pull), 2 (pull with latency), 4 and 5 (idle).
func (b *bench) pullScenarios() error {
	e, err := b.startBenchEmu(b.n, false)
	if err != nil {
		return err
	}
	defer e.stop()

	lastDir, lastJS, err := b.pullPair(e, "1", fmt.Sprintf("pull %s Contacts, 10 fields, into SQLite (median of %d)", count(b.n), b.runs),
		"≥ 1.0× jsforce records/s; file ≤ 1.6× jsforce's; ≤ 64 MiB")
	if err != nil {
		return err
	}
	if err := b.floor(e); err != nil {
		return err
	}

	// Row 2: the same pull with latency on every call.
	if err := e.setLatency(b.latency); err != nil {
		return err
	}
	d, err := b.syncdDir("syncd-pull-latency", e)
	if err != nil {
		return err
	}
	sl, _, err := b.syncRun(d, e)
	if err != nil {
		return err
	}
	jd, err := b.dir("jsforce-pull-latency")
	if err != nil {
		return err
	}
	jl, err := b.jsRun("jsforce-pull.js", jd, e)
	if err != nil {
		return err
	}
	if err := e.setLatency(0); err != nil {
		return err
	}
	what := fmt.Sprintf("same pull, %s latency per call", b.latency)
	b.rows = append(b.rows, sl.row("2", what, "syncd", "wall ≤ 1.05 × calls × latency"), jl.row("2", what, "jsforce + better-sqlite3", ""))
	alone := func(r run) time.Duration { return time.Duration(r.c.Requests) * b.latency }
	lr := sl.r.Wall.Seconds() / alone(sl).Seconds()
	b.fig.latencyRatio = &lr
	b.note("Row 2: syncd sent %d requests (the token request included): %s of latency alone; its wall time %s is **%.2f×** that (target ≤ 1.05), its cycle %s is %.2f×. jsforce: %d requests, %s, %.2f×.",
		sl.c.Requests, secs3(alone(sl)), secs3(sl.r.Wall), sl.r.Wall.Seconds()/alone(sl).Seconds(),
		secs3(sl.inner), sl.inner.Seconds()/alone(sl).Seconds(),
		jl.c.Requests, secs3(jl.r.Wall), jl.r.Wall.Seconds()/alone(jl).Seconds())

	// Rows 4 and 5: an idle daemon over the database of the last pull.
	if err := b.idle(lastDir, e); err != nil {
		return err
	}
	// Row 1u: both clients' databases of row 1 take every Contact changed.
	return b.updatePulls(e, lastDir, lastJS)
}

// daemon is `syncd run` on a synced database, its cycles triggered with
// SIGUSR1 (the config's schedule is an hour).
type daemon struct {
	cmd   *exec.Cmd
	lines chan map[string]any
}

func (b *bench) startDaemon(dir string) (*daemon, error) {
	cmd := exec.Command(b.syncd, "run", "-c", filepath.Join(dir, "syncd.yaml"))
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, lines: make(chan map[string]any, 64)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				d.lines <- m
			}
		}
		close(d.lines)
	}()
	if _, err := d.wait("daemon.started"); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

func (d *daemon) wait(msgs ...string) (map[string]any, error) {
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m, ok := <-d.lines:
			if !ok {
				return nil, fmt.Errorf("syncd run exited")
			}
			if slices.Contains(msgs, fmt.Sprint(m["msg"])) {
				return m, nil
			}
		case <-timeout:
			return nil, fmt.Errorf("syncd run: no %v within 60s", msgs)
		}
	}
}

// cycle triggers one cycle and returns the calls it made and the records
// it pulled.
func (d *daemon) cycle(e *emu) (calls, int, error) {
	if err := e.resetRequests(); err != nil {
		return calls{}, 0, err
	}
	if err := d.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return calls{}, 0, err
	}
	m, err := d.wait("object.synced", "object.failed")
	if err != nil {
		return calls{}, 0, err
	}
	if m["msg"] == "object.failed" {
		return calls{}, 0, fmt.Errorf("idle cycle failed: %v", m)
	}
	f, _ := m["pulled"].(float64)
	c, err := e.calls()
	return c, int(f), err
}

// idle starts `syncd run` on a synced database, triggers two cycles with
// SIGUSR1 and counts the calls of each; the second is the steady idle
// cycle (describe cached). RSS is sampled after it.
func (b *bench) idle(dir string, e *emu) error {
	d, err := b.startDaemon(dir)
	if err != nil {
		return err
	}
	defer d.stop()
	rss0, _, _ := procStatus(d.cmd.Process.Pid)
	var cs [2]calls
	var pulled [2]int
	for i := range cs {
		if cs[i], pulled[i], err = d.cycle(e); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond)
	rss, hwm, err := procStatus(d.cmd.Process.Pid)
	if err != nil {
		return err
	}
	b.rows = append(b.rows,
		row{id: "4", what: "idle cycle: the first of a started daemon (nothing changed)", client: "syncd run",
			records: pulled[0], calls: cs[0].String(), target: "describe once per process"},
		row{id: "4", what: "idle cycle: the next one (steady state)", client: "syncd run",
			records: pulled[1], calls: cs[1].String(), target: "1 call per object, no describe"},
		row{id: "5", what: "idle daemon RSS, after start and two idle cycles", client: "syncd run",
			rss: fmt.Sprintf("%s (peak %s; %s after start)", mib(rss), mib(hwm), mib(rss0)), target: "≤ 30 MiB"})
	b.note("Rows 4–5: `syncd run` over the database of the last row-1 pull (%s rows), cycles triggered with SIGUSR1. The records an idle cycle pulls are those stamped after getUpdated's latestDateCovered (or the lookback window, 10m, before the watermark, if that is later), re-read every cycle; the Contacts are stamped %s apart. RSS is VmRSS (VmHWM) from /proc/<pid>/status.", count(b.n), b.spread)
	return nil
}

// bigPull: row 5, the memory of a ten times larger pull; then row 9, the
// reconciliation of the same records, on the database the pull left.
func (b *bench) bigPull() error {
	e, err := b.startBenchEmu(b.big, false)
	if err != nil {
		return err
	}
	defer e.stop()
	d, err := b.syncdDir("syncd-pull-big", e)
	if err != nil {
		return err
	}
	r, _, err := b.syncRun(d, e)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, r.row("5", fmt.Sprintf("pull %s Contacts (memory must stay flat)", count(b.big)), "syncd", "≤ 64 MiB, ≈ row 1's"))
	peak := r.r.MaxRSS
	b.fig.rssBig = &peak
	if !b.skipReconcile {
		if err := b.reconcileRows(d, e, r); err != nil {
			return err
		}
	}
	rss, hwm, err := procStatus(e.cmd.Process.Pid)
	if err != nil {
		return err
	}
	b.note("Row 5: the emulator, a process of its own holding %s Contacts, was at %s (VmRSS) at the end and %s at its peak (VmHWM); the peak RSS column is syncd's alone.",
		count(b.big), mib(rss), mib(hwm))
	return nil
}

// pushScenario: row 3, local creates pushed with latency on every call.
func (b *bench) pushScenario() error {
	e, err := startEmu(b.sfemu, "--listen", "127.0.0.1:0", "--latency", b.latency.String())
	if err != nil {
		return err
	}
	defer e.stop()
	d, err := b.syncdDir("syncd-push", e)
	if err != nil {
		return err
	}
	// A first (empty) cycle installs the capture triggers, as a running
	// daemon would have before the application writes.
	if _, _, _, err := b.syncOnce(d, e); err != nil {
		return err
	}
	if err := insertRows(filepath.Join(d, "app.db"), "customers", b.push, false); err != nil {
		return err
	}
	sr, rep, err := b.syncRun(d, e)
	if err != nil {
		return err
	}
	sr.recs = rep.Objects[0].Created
	jd, err := b.dir("jsforce-push")
	if err != nil {
		return err
	}
	if err := insertRows(filepath.Join(jd, "js.db"), "customers", b.push, true); err != nil {
		return err
	}
	jr, err := b.jsRun("jsforce-push.js", jd, e)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("push %s local creates, %s latency per call", count(b.push), b.latency)
	b.rows = append(b.rows, sr.row("3", what, "syncd", fmt.Sprintf("%d collection calls", (b.push+199)/200)), jr.row("3", what, "jsforce + better-sqlite3", ""))
	alone := func(r run) time.Duration { return time.Duration(r.c.Requests) * b.latency }
	b.note("Row 3: syncd %d requests, %s of latency alone, wall %s (%.2f×); jsforce %d requests, %s, wall %s (%.2f×).",
		sr.c.Requests, secs3(alone(sr)), secs3(sr.r.Wall), sr.r.Wall.Seconds()/alone(sr).Seconds(),
		jr.c.Requests, secs3(alone(jr)), secs3(jr.r.Wall), jr.r.Wall.Seconds()/alone(jr).Seconds())
	return nil
}

// firstSync: row 6, a first sync of Contacts that carry no Syncd_Id__c
// (cmd/sfemu's own seed, the mass change: 100 Contacts a second, the newest
// just now), then the idle cycles of a daemon over ten minutes of a 20 s
// schedule, the emulator's clock moved 20 s before each.
func (b *bench) firstSync() error {
	e, err := startEmu(b.sfemu, "--listen", "127.0.0.1:0", "--contacts", fmt.Sprint(b.n))
	if err != nil {
		return err
	}
	defer e.stop()
	d, err := b.syncdDir("syncd-first-sync", e)
	if err != nil {
		return err
	}
	r, rep, err := b.syncRun(d, e)
	if err != nil {
		return err
	}
	o := rep.Objects[0]
	b.rows = append(b.rows, r.row("6", fmt.Sprintf("first sync of %s Contacts without Syncd_Id__c", count(b.n)), "syncd", "(none)"))
	dm, err := b.startDaemon(d)
	if err != nil {
		return err
	}
	defer dm.stop()
	const every, cycles = 20 * time.Second, 31 // the daemon's first cycle, then ten minutes
	var series []string
	total, worst, over, records := 0, 0, 0, 0
	var first calls
	var firstPulled int
	for i := range cycles {
		if err := e.advance(every); err != nil {
			return err
		}
		c, pulled, err := dm.cycle(e)
		if err != nil {
			return err
		}
		series = append(series, fmt.Sprintf("%d/%d", c.API, pulled))
		if i == 0 {
			first, firstPulled = c, pulled
			continue
		}
		total += c.API
		records += pulled
		worst = max(worst, c.API)
		if c.API > 1 {
			over++
		}
	}
	b.fig.idle = &idleFigure{first: first, worst: worst, laterTotal: total, later: cycles - 1}
	b.rows = append(b.rows,
		row{id: "6", what: "idle cycle after it: the first of a started daemon (nothing changed)", client: "syncd run",
			records: firstPulled, calls: first.String(), target: "1 call (a query, or one Composite request); describe and the delete log once per process"},
		row{id: "6", what: fmt.Sprintf("the next %d idle cycles, 20 s apart (ten minutes): all of them", cycles-1), client: "syncd run",
			records: records, calls: fmt.Sprintf("%d (at most %d a cycle; %d cycles above 1)", total, worst, over),
			target: "1 call per cycle"})
	b.note("Row 6: cmd/sfemu's own seed (no external ids, ~100 Contacts per second, the newest just now): the mass change. The first sync pulled %d and wrote %d records (external ids go with a record's first real push). Then `syncd run` over its database, a cycle triggered with SIGUSR1 after moving the emulator's clock 20 s: calls/records of each cycle, in order: %s. An idle cycle re-reads what is stamped after getUpdated's latestDateCovered (whole minutes) or the lookback window (10m) before the watermark, whichever is later; when the last pull says that is more than a page, the cycle fetches it, with getUpdated once a new minute has begun, in one Composite request (one call).",
		o.Pulled, o.Updated+o.Created, strings.Join(series, " "))
	return nil
}

func median(rs []run) run {
	rs = slices.Clone(rs)
	sort.Slice(rs, func(i, j int) bool { return rs[i].r.Wall < rs[j].r.Wall })
	return rs[len(rs)/2]
}

func runs(rs []run) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%.2f/%.2f", r.r.Wall.Seconds(), r.r.CPU.Seconds()))
	}
	return strings.Join(parts, ", ")
}

// insertRows adds n application rows to table (creating it when create
// is set), as the application would.
func insertRows(path, table string, n int, create bool) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if create {
		if _, err := db.Exec(strings.Replace(org.AppSchema, "customers", table, 1)); err != nil {
			return err
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.Prepare(`INSERT INTO ` + table + ` (first_name, last_name, email, phone, title, department, city, country, birthdate, opted_out)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if _, err := st.Exec("Push", fmt.Sprintf("Contact %d", i), fmt.Sprintf("push%d@example.com", i),
			fmt.Sprintf("+1 415 555 %04d", i%10000), "Buyer", "Procurement", "Berlin", "Germany",
			fmt.Sprintf("19%02d-%02d-%02d", 50+i%50, 1+i%12, 1+i%28), i%10 == 0); err != nil {
			return err
		}
	}
	st.Close()
	return tx.Commit()
}

// ---- printing --------------------------------------------------------------

func (b *bench) print(w io.Writer) {
	rows := slices.Clone(b.rows)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	fmt.Fprintln(w, "| # | scenario | client | records | wall s | CPU s | records/s | API calls | peak RSS | target |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---|---:|---|")
	num := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", d.Seconds())
	}
	for _, r := range rows {
		recs, rps := "", ""
		if r.calls != "" {
			recs = fmt.Sprint(r.records)
		}
		if r.records > 0 && r.wall > 0 {
			rps = fmt.Sprintf("%.0f", rate(r.records, r.wall))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.id, r.what, r.client, recs, num(r.wall), num(r.cpu), rps, r.calls, r.rss, r.target)
	}
	fmt.Fprintln(w)
	for _, n := range b.notes {
		fmt.Fprintln(w, "- "+n)
	}
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func secs3(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(kib int64) string {
	switch {
	case kib < 0:
		return fmt.Sprintf("≤ %.1f MiB (the harness's peak; see proc.go)", float64(-kib)/1024)
	case kib == 0:
		return ""
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
