package linkshape

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The measurements: TestPrintTable prints the markdown tables of
// README.md (medians of several runs, shapes interleaved so that load on
// the shared machine spreads over all of them); the benchmarks run the
// same cycles under `go test -bench`, e.g.
//
//	go test ./bench/linkshape -run '^$' -bench . -benchtime 1x -count 3 -timeout 0
//
// Environment: LINKSHAPE_N links per run (100000), LINKSHAPE_RUNS (3),
// LINKSHAPE_BIG a larger N for a single load-only run per shape, for the
// size columns (0: none), LINKSHAPE_SHAPES and LINKSHAPE_VARIANTS
// comma-separated ids to run only some, LINKSHAPE_PART "links" or
// "capture" to run one half, LINKSHAPE_EDITS edits per capture run (20000),
// LINKSHAPE_EDIT_TX edits per transaction (1000; 1 commits each edit).

func envInt(t testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a count", name, s)
	}
	return n
}

func envList(name string) map[string]bool {
	s := os.Getenv(name)
	if s == "" {
		return nil
	}
	out := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		out[strings.TrimSpace(id)] = true
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is (max - min) / median, in percent.
func spread(xs []float64) float64 {
	m := median(xs)
	if m == 0 || len(xs) < 2 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / m * 100
}

func us(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(n) }

// clock picks one of a cost's two times.
type clock struct {
	name string
	of   func(c cost) time.Duration
}

var (
	cpuClock  = clock{"CPU", func(c cost) time.Duration { return c.cpu }}
	wallClock = clock{"wall-clock", func(c cost) time.Duration { return c.wall }}
)

// linkMetrics are the columns of the time tables, per run.
var linkMetrics = []struct {
	name string
	get  func(r *result) cost
}{
	{"load", func(r *result) cost { return r.load }},
	{"link stmts", func(r *result) cost { return r.linkStmts }},
	{"by sf_id", func(r *result) cost { return r.bySF }},
	{"by row_key", func(r *result) cost { return r.byKey }},
	{"update", func(r *result) cost { return r.upsert }},
	{"scan", func(r *result) cost { return r.scan }},
	{"verify", func(r *result) cost { return r.verify }},
}

// linkBytes is the bytes per link of r: the link's b-trees, or for links
// on the application's table what they added to it (app: the baseline's
// application table).
func linkBytes(s *shape, r *result, app *result, vacuumed bool) float64 {
	l, a, base := r.linkBytes, r.appBytes, app.appBytes
	if vacuumed {
		l, a, base = r.linkBytesVac, r.appBytesVac, app.appBytesVac
	}
	if s.layout == appColumns {
		return float64(a-base) / float64(r.n)
	}
	return float64(l) / float64(r.n)
}

func TestPrintTable(t *testing.T) {
	if os.Getenv("LINKSHAPE_TABLE") == "" {
		t.Skip("set LINKSHAPE_TABLE=1 to measure (15 to 45 minutes on 2 cores; see README.md)")
	}
	part := os.Getenv("LINKSHAPE_PART")
	out := io.Writer(os.Stdout)
	fmt.Fprintf(out, "\nmodernc.org/sqlite, %s, %s, load average at start %s\n", sqliteVersion(t), runtime.Version(), loadAverage())
	if part == "" || part == "links" {
		printLinks(t, out)
	}
	if part == "" || part == "capture" {
		printCapture(t, out)
	}
	fmt.Fprintf(out, "\nload average at end %s\n", loadAverage())
}

// loadAverage is the machine's 1, 5 and 15 minute load averages where
// /proc has them: how much other work shared the cores.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func sqliteVersion(t *testing.T) string {
	db, err := openDB(t.TempDir() + "/v.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT 'SQLite ' || sqlite_version()`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func printLinks(t *testing.T, out io.Writer) {
	ctx := context.Background()
	n := envInt(t, "LINKSHAPE_N", 100000)
	runs := envInt(t, "LINKSHAPE_RUNS", 3)
	big := envInt(t, "LINKSHAPE_BIG", 0)
	only := envList("LINKSHAPE_SHAPES")
	var run []*shape
	for _, s := range shapes {
		if only == nil || only[s.id] || s.layout == noLinks {
			run = append(run, s)
		}
	}
	d := newDataset(n, 1)
	res := map[string][]*result{}
	for k := range runs {
		for j := range run {
			s := run[(j+k)%len(run)] // each run starts elsewhere
			dir, err := os.MkdirTemp(t.TempDir(), "run")
			if err != nil {
				t.Fatal(err)
			}
			r, err := runShape(ctx, dir, s, d, runOpts{vacuum: true})
			os.RemoveAll(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("run %d %-16s CPU µs per link: load %.2f, link stmts %.2f, by sf_id %.2f, update %.2f (wall %.2f, %.2f, %.2f, %.2f); load average %s", k+1, s.id,
				us(r.load.cpu, n), us(r.linkStmts.cpu, n), us(r.bySF.cpu, n), us(r.upsert.cpu, n),
				us(r.load.wall, n), us(r.linkStmts.wall, n), us(r.bySF.wall, n), us(r.upsert.wall, n), loadAverage())
			res[s.id] = append(res[s.id], r)
		}
	}
	bigRes := map[string]*result{}
	if big > 0 {
		db := newDataset(big, 1)
		for _, s := range run {
			dir, err := os.MkdirTemp(t.TempDir(), "big")
			if err != nil {
				t.Fatal(err)
			}
			r, err := runShape(ctx, dir, s, db, runOpts{loadOnly: true})
			os.RemoveAll(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("big %-16s load %.2f µs/row CPU, %.2f wall, %d MB", s.id, us(r.load.cpu, big), us(r.load.wall, big), r.fileBytes>>20)
			bigRes[s.id] = r
		}
	}

	app := res["app"][0]
	for _, c := range []clock{cpuClock, wallClock} {
		printLinkTimes(out, run, res, c, n, runs)
	}

	shadow := 0
	for i := range d.n {
		shadow += len(d.shadow(i, 0))
	}
	fmt.Fprintf(out, "\nsize: bytes per link (pages of the link's table and indexes, dbstat); A's shadow is %.0f bytes on average\n\n", float64(shadow)/float64(d.n))
	header := "| shape | as loaded | × A | after VACUUM | payload | database MB |"
	if big > 0 {
		header += fmt.Sprintf(" as loaded, %d | database MB, %d |", big, big)
	}
	fmt.Fprintln(out, header)
	fmt.Fprintln(out, "| --- |"+strings.Repeat(" ---: |", strings.Count(header, "|")-2))
	var aBytes float64
	if a := res["A"]; len(a) > 0 {
		aBytes = linkBytes(shapeByID("A"), a[0], app, false)
	}
	for _, s := range run {
		r := res[s.id][0] // sizes do not vary between runs
		b := linkBytes(s, r, app, false)
		ratio := "–"
		if aBytes > 0 && s.layout != noLinks {
			ratio = fmt.Sprintf("%.2f", b/aBytes)
		}
		payload := float64(r.linkPayload) / float64(r.n)
		row := fmt.Sprintf("| %s | %.1f | %s | %.1f | %.1f | %.1f |", s.id, b, ratio, linkBytes(s, r, app, true), payload, float64(r.fileBytes)/1e6)
		if s.layout == appColumns || s.layout == noLinks {
			row = fmt.Sprintf("| %s | %.1f | %s | %.1f | – | %.1f |", s.id, b, ratio, linkBytes(s, r, app, true), float64(r.fileBytes)/1e6)
		}
		if big > 0 {
			if br := bigRes[s.id]; br != nil {
				row += fmt.Sprintf(" %.1f | %.1f |", linkBytes(s, br, bigRes["app"], false), float64(br.fileBytes)/1e6)
			}
		}
		fmt.Fprintln(out, row)
	}
	if big > 0 {
		fmt.Fprintf(out, "\nload of %d, one run, µs per row (row + link)\n\n| shape | CPU | link's share | wall-clock | link's share |\n| --- | ---: | ---: | ---: | ---: |\n", big)
		base := bigRes["app"].load
		for _, s := range run {
			l := bigRes[s.id].load
			fmt.Fprintf(out, "| %s | %.2f | %.2f | %.2f | %.2f |\n", s.id, us(l.cpu, big), us(l.cpu-base.cpu, big), us(l.wall, big), us(l.wall-base.wall, big))
		}
	}
}

// printLinkTimes prints the medians of one clock's times, and their
// spread over the runs.
func printLinkTimes(out io.Writer, run []*shape, res map[string][]*result, c clock, n, runs int) {
	vals := func(id string, get func(*result) cost) []float64 {
		var xs []float64
		for _, r := range res[id] {
			xs = append(xs, us(c.of(get(r)), r.n))
		}
		return xs
	}
	appLoad := median(vals("app", linkMetrics[0].get))
	fmt.Fprintf(out, "\n%d links, %s time, median of %d runs, µs per link\n\n", n, c.name, runs)
	fmt.Fprintln(out, "| shape | load (row + link) | link's share | link stmts | by sf_id | by row_key | update | scan | verify |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range run {
		cells := []string{s.id}
		for j, m := range linkMetrics {
			v := median(vals(s.id, m.get))
			if s.layout == noLinks && j > 0 || s.layout == appColumns && j == 1 {
				cells = append(cells, "–")
			} else {
				cells = append(cells, fmt.Sprintf("%.2f", v))
			}
			if j == 0 {
				if s.layout == noLinks {
					cells = append(cells, "–")
				} else {
					cells = append(cells, fmt.Sprintf("%.2f", v-appLoad))
				}
			}
		}
		fmt.Fprintln(out, "| "+strings.Join(cells, " | ")+" |")
	}
	fmt.Fprintf(out, "\nspread of the %s times over the %d runs, (max - min) / median, %%\n\n| shape |", c.name, runs)
	for _, m := range linkMetrics {
		fmt.Fprintf(out, " %s |", m.name)
	}
	fmt.Fprint(out, "\n| --- |"+strings.Repeat(" ---: |", len(linkMetrics))+"\n")
	for _, s := range run {
		fmt.Fprintf(out, "| %s |", s.id)
		for j, m := range linkMetrics {
			if s.layout == noLinks && j > 0 || s.layout == appColumns && j == 1 {
				fmt.Fprint(out, " – |")
				continue
			}
			fmt.Fprintf(out, " %.0f |", spread(vals(s.id, m.get)))
		}
		fmt.Fprintln(out)
	}
}

func printCapture(t *testing.T, out io.Writer) {
	ctx := context.Background()
	n := envInt(t, "LINKSHAPE_N", 100000)
	runs := envInt(t, "LINKSHAPE_RUNS", 3)
	edits := envInt(t, "LINKSHAPE_EDITS", 20000)
	perTx := max(1, envInt(t, "LINKSHAPE_EDIT_TX", 1000))
	only := envList("LINKSHAPE_VARIANTS")
	var run []*captureVariant
	for _, v := range captureVariants {
		if only == nil || only[v.id] || v.id == "none" || v.id == "outbox" {
			run = append(run, v)
		}
	}
	template, err := captureTemplate(ctx, t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string][]*captureResult{}
	for k := range runs {
		for j := range run {
			v := run[(j+k)%len(run)]
			dir, err := os.MkdirTemp(t.TempDir(), "capture")
			if err != nil {
				t.Fatal(err)
			}
			r, err := runCapture(ctx, dir, template, v, n, edits, perTx, uint64(k))
			os.RemoveAll(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("run %d %-22s CPU µs per edit: first %.2f, repeat %.2f (wall %.2f, %.2f); load average %s", k+1, v.id,
				us(r.first.cpu, edits), us(r.repeat.cpu, edits), us(r.first.wall, edits), us(r.repeat.wall, edits), loadAverage())
			res[v.id] = append(res[v.id], r)
		}
	}
	for _, c := range []clock{cpuClock, wallClock} {
		med := func(id string, get func(*captureResult) cost) (float64, float64) {
			var xs []float64
			for _, r := range res[id] {
				xs = append(xs, us(c.of(get(r)), r.edits))
			}
			return median(xs), spread(xs)
		}
		first := func(r *captureResult) cost { return r.first }
		repeat := func(r *captureResult) cost { return r.repeat }
		outboxFirst, _ := med("outbox", first)
		outboxRepeat, _ := med("outbox", repeat)
		txDesc := fmt.Sprintf("%d per transaction", perTx)
		if perTx == 1 {
			txDesc = "each its own transaction"
		}
		fmt.Fprintf(out, "\ncapture, %s time: %d single-row UPDATEs of 2 of %d mapped columns, %s, on a table of %d rows; median of %d runs, µs per edit\n\n",
			c.name, edits, len(baseCols), txDesc, n, runs)
		fmt.Fprintln(out, "| variant | first edit | spread % | over outbox | repeat edit | spread % | over outbox | base B/row | base payload B/row |")
		fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, v := range run {
			f, fs := med(v.id, first)
			r, rs := med(v.id, repeat)
			size, payload := "–", "–"
			if v.base {
				b := res[v.id][0]
				size = fmt.Sprintf("%.1f", float64(b.baseBytes)/float64(edits))
				payload = fmt.Sprintf("%.1f", float64(b.basePayload)/float64(edits))
			}
			fmt.Fprintf(out, "| %s | %.2f | %.0f | %+.2f | %.2f | %.0f | %+.2f | %s | %s |\n", v.id, f, fs, f-outboxFirst, r, rs, r-outboxRepeat, size, payload)
		}
	}
	if r := res["outbox"]; len(r) > 0 {
		fmt.Fprintf(out, "\ntoday's outbox: %.1f bytes per entry (one entry per edit)\n", r[0].outboxBytesPerRow)
	}
}

// BenchmarkLinks runs one full cycle of each shape per iteration (load,
// lookups, update, scans, VACUUM) and reports µs per link and bytes per link.
func BenchmarkLinks(b *testing.B) {
	n := envInt(b, "LINKSHAPE_N", 100000)
	d := newDataset(n, 1)
	only := envList("LINKSHAPE_SHAPES")
	app := (*result)(nil)
	for _, s := range shapes {
		if only != nil && !only[s.id] && s.layout != noLinks {
			continue
		}
		b.Run(strings.ReplaceAll(s.id, "/", "-"), func(b *testing.B) {
			sums := make([]float64, len(linkMetrics))
			var last *result
			for range b.N {
				r, err := runShape(context.Background(), b.TempDir(), s, d, runOpts{vacuum: true})
				if err != nil {
					b.Fatal(err)
				}
				for j, m := range linkMetrics {
					sums[j] += us(m.get(r).cpu, r.n)
				}
				last = r
			}
			if s.layout == noLinks {
				app = last
			}
			for j, m := range linkMetrics {
				b.ReportMetric(sums[j]/float64(b.N), strings.ReplaceAll(m.name, " ", "-")+"-cpu-µs/link")
			}
			if app != nil {
				b.ReportMetric(linkBytes(s, last, app, false), "B/link")
			}
		})
	}
}

// BenchmarkCapture runs each capture variant's edits per iteration and
// reports µs per first and repeated edit and bytes per saved base.
func BenchmarkCapture(b *testing.B) {
	ctx := context.Background()
	n := envInt(b, "LINKSHAPE_N", 100000)
	edits := envInt(b, "LINKSHAPE_EDITS", 20000)
	perTx := max(1, envInt(b, "LINKSHAPE_EDIT_TX", 1000))
	template, err := captureTemplate(ctx, b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range captureVariants {
		b.Run(strings.ReplaceAll(v.id, "/", "-"), func(b *testing.B) {
			var first, repeat float64
			var last *captureResult
			for k := range b.N {
				r, err := runCapture(ctx, b.TempDir(), template, v, n, edits, perTx, uint64(k))
				if err != nil {
					b.Fatal(err)
				}
				first += us(r.first.cpu, edits)
				repeat += us(r.repeat.cpu, edits)
				last = r
			}
			b.ReportMetric(first/float64(b.N), "first-cpu-µs/edit")
			b.ReportMetric(repeat/float64(b.N), "repeat-cpu-µs/edit")
			if v.base {
				b.ReportMetric(float64(last.baseBytes)/float64(edits), "base-B/row")
			}
		})
	}
}
