package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// figures are the numbers the performance targets are stated in, taken
// from the rows of one run. A nil field was not measured in this run (its
// step skipped).
type figures struct {
	dbRatio      *float64 // row 1: syncd's database file ÷ the jsforce script's
	pullRatio    *float64 // row 1: syncd's records/s ÷ jsforce's, wall time, medians
	pullCPU      *float64 // row 1: the same on records per CPU-second
	updateRatio  *float64 // row 1u: the same for a pull of updates to linked rows
	updateCPU    *float64 // row 1u: on records per CPU-second
	latencyRatio *float64 // row 2: syncd's wall time ÷ (requests × latency)
	rss100k      *int64   // row 1: KiB, the largest of syncd's runs
	rssBig       *int64   // row 5: KiB
	bigN         int      // row 5's records
	n            int      // row 1's records
	idle         *idleFigure
	storeInsert  *float64 // rows/s, BenchmarkApplyPull/Insert
	storeUpdate  *float64 // rows/s, BenchmarkApplyPull/Update
}

// idleFigure is row 6's: the calls of the daemon's first cycle after a
// mass change, and of the cycles after it.
type idleFigure struct {
	first      calls
	worst      int // API calls of the costliest later cycle
	laterTotal int
	later      int // how many later cycles
}

// targetRow is one line of the targets table.
type targetRow struct {
	figure, measured, target string
	met                      string // "yes", "no", or "—" when not measured
}

const rssLimitKiB = 64 * 1024

// targetRows states each target against what f holds, in the order the
// performance issue lists them.
func targetRows(f figures) []targetRow {
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	none := func(figure, target, why string) targetRow {
		return targetRow{figure, "not measured (" + why + ")", target, "—"}
	}
	var out []targetRow
	add := func(figure, target string, v *float64, format string, ok func(float64) bool, why string) {
		if v == nil {
			out = append(out, none(figure, target, why))
			return
		}
		out = append(out, targetRow{figure, fmt.Sprintf(format, *v), target, yes(ok(*v))})
	}
	n := count(f.n)
	add("database file after pulling "+n+" Contacts ÷ the jsforce script's (row 1)", "≤ 1.6×",
		f.dbRatio, "%.2f×", func(v float64) bool { return v <= 1.6 }, "step pull")
	add("pull "+n+", records/s ÷ the jsforce script's (row 1, wall time)", "≥ 1.0×",
		f.pullRatio, "%.2f×", func(v float64) bool { return v >= 1.0 }, "step pull")
	withCPU(out, f.pullCPU)
	add("pull "+n+" updates of linked rows, records/s ÷ the jsforce script's upsert (row 1u)", "≥ 0.8×",
		f.updateRatio, "%.2f×", func(v float64) bool { return v >= 0.8 }, "step pull")
	withCPU(out, f.updateCPU)

	const idleTarget = "1 call per object: a query, or one Composite request holding getUpdated and the query's pages (a process's first cycle adds describe and the delete log)"
	if f.idle == nil {
		out = append(out, none("idle cycle right after a mass change (row 6)", idleTarget, "step first"))
	} else {
		i := f.idle
		ok := i.first.Query+i.first.Composite == 1 && i.first.API-i.first.Describe-i.first.Deleted == 1 && i.worst <= 1
		out = append(out, targetRow{"idle cycle right after a mass change of " + n + " Contacts (row 6)",
			fmt.Sprintf("first cycle %s; the next %d: %d calls, at most %d a cycle", i.first, i.later, i.laterTotal, i.worst),
			idleTarget, yes(ok)})
	}

	const storeTarget = "≥ 100k / 80k"
	if f.storeInsert == nil || f.storeUpdate == nil {
		out = append(out, none("store apply, insert / update rows/s (BenchmarkApplyPull)", storeTarget, "step store"))
	} else {
		out = append(out, targetRow{"store apply, insert / update rows/s (BenchmarkApplyPull)",
			fmt.Sprintf("%.0fk / %.0fk", *f.storeInsert/1000, *f.storeUpdate/1000), storeTarget,
			yes(*f.storeInsert >= 100000 && *f.storeUpdate >= 80000)})
	}

	const rssTarget = "≤ 64 MiB, flat"
	switch {
	case f.rss100k == nil:
		out = append(out, none("peak RSS of a pull (rows 1 and 5)", rssTarget, "step pull"))
	case f.rssBig == nil:
		out = append(out, targetRow{"peak RSS, pull " + n + " (row 1; row 5 not run)",
			mib(*f.rss100k), rssTarget, yes(*f.rss100k <= rssLimitKiB) + " (" + n + " only)"})
	default:
		out = append(out, targetRow{"peak RSS, pull " + n + " and " + count(f.bigN) + " (rows 1 and 5)",
			mib(*f.rss100k) + ", " + mib(*f.rssBig), rssTarget,
			yes(*f.rss100k <= rssLimitKiB && *f.rssBig <= rssLimitKiB)})
	}
	add("pull "+n+" with 150 ms per call: wall time ÷ the calls' own time (row 2)", "≤ 1.05×",
		f.latencyRatio, "%.2f×", func(v float64) bool { return v <= 1.05 }, "step pull")
	return out
}

// withCPU adds the ratio on records per CPU-second to the last row's
// measurement: wall time swings with the machine's load, CPU time less.
// The verdict stays the wall time's, as the target is stated.
func withCPU(rows []targetRow, cpu *float64) {
	if cpu != nil && len(rows) > 0 && rows[len(rows)-1].met != "—" {
		rows[len(rows)-1].measured += fmt.Sprintf(" (%.2f× per CPU-second)", *cpu)
	}
}

func printTargets(w io.Writer, rows []targetRow) {
	fmt.Fprintln(w, "| figure | measured | target | met? |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.figure, r.measured, r.target, r.met)
	}
}

// storeBenchCmd is the store's own benchmark of applying pulled pages: the
// command the store step runs in the repository, and the README cites.
var storeBenchCmd = []string{"go", "test", "-run", "^$", "-bench", "^BenchmarkApplyPull$", "-benchtime", "50x", "./internal/store"}

// storeBench runs storeBenchCmd in the repository at b.repo and keeps the
// rows/s of its Insert and Update cases for the targets table.
func (b *bench) storeBench() error {
	if b.repo == "" {
		return fmt.Errorf("the store step needs --repo (the repository's root)")
	}
	cmd := exec.CommandContext(context.Background(), storeBenchCmd[0], storeBenchCmd[1:]...)
	cmd.Dir = b.repo
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(storeBenchCmd, " "), err, tail(out))
	}
	rates, err := benchRates(strings.NewReader(string(out)), "rows/s")
	if err != nil {
		return err
	}
	ins, okIns := rates["BenchmarkApplyPull/Insert"]
	upd, okUpd := rates["BenchmarkApplyPull/Update"]
	if !okIns || !okUpd {
		return fmt.Errorf("%s: no rows/s for BenchmarkApplyPull/Insert and /Update in:\n%s", strings.Join(storeBenchCmd, " "), out)
	}
	b.fig.storeInsert, b.fig.storeUpdate = &ins, &upd
	var parts []string
	for _, name := range []string{"Insert", "Update", "LookupUpdate"} {
		if v, ok := rates["BenchmarkApplyPull/"+name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f rows/s", name, v))
		}
	}
	b.note("Store apply (`%s`, in-process, pages of 2,000 Contacts with 10 fields): %s.", strings.Join(storeBenchCmd, " "), strings.Join(parts, ", "))
	return nil
}

// benchRates reads `go test -bench` output and returns each benchmark's
// value of the metric unit, by name without the -GOMAXPROCS suffix.
func benchRates(r io.Reader, unit string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		// f[1] is the iteration count; then value-unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			if f[i+1] != unit {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %s: %w", sc.Text(), unit, err)
			}
			out[name] = v
		}
	}
	return out, sc.Err()
}
