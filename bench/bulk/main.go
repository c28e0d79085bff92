// Command bulk benchmarks a first sync of N Contacts (default 1,000,000) from the emulator
// into SQLite through Bulk API 2.0 and through REST, side by side, and prints a
// markdown table: records, wall time, records/s, API calls and the peak RSS of the syncd
// process.
//
//	go run ./bench/bulk                 # 1,000,000 Contacts, REST then Bulk
//	go run ./bench/bulk --contacts 100000 --modes bulk --latency 150ms
//
// Each run is the real `syncd sync --json` binary (built from ./cmd/syncd) against a fresh
// SQLite file, with bulk_threshold 10,000 for Bulk and 1,000,000,000 (never) for REST. The
// emulator runs in its own process (this command re-executed as `bulk emu`: internal/sfemu
// seeded like `sfemu --contacts N`, every Contact already carrying a Syncd_Id__c as after a
// previous sync, so the cycle is a pure pull with no external-id write-back). API calls are
// the emulator's own count (Sforce-Limit-Info usage before and after); peak RSS is the
// kernel's high-water mark of the syncd process (ru_maxrss from wait4), neither the
// emulator's nor this command's.
//
// It is not a test: `go test ./...` only compiles it.
package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/bench/internal/org"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "emu" {
		err = emuMain(os.Args[2:])
	} else {
		err = benchMain(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/bulk:", err)
		os.Exit(1)
	}
}

// ---- the emulator process ------------------------------------------------------------------

func emuMain(args []string) error {
	fs := flag.NewFlagSet("emu", flag.ContinueOnError)
	n := fs.Int("contacts", 1000000, "Contacts to seed")
	latency := fs.Duration("latency", 0, "latency added to each request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := sfemu.New(sfemu.Options{DailyLimit: 10000000})
	s.SeedContacts(*n)
	if err := giveExternalIDs(s); err != nil {
		return err
	}
	s.SetLatency(*latency) // after seeding: giveExternalIDs goes through the handler
	runtime.GC()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	line, _ := json.Marshal(map[string]string{"login_url": base, "instance_url": base,
		"client_id": sfemu.ClientID, "client_secret": sfemu.ClientSecret})
	fmt.Println(string(line))
	return org.Serve(s, ln)
}

// giveExternalIDs sets Syncd_Id__c on every Contact. It lists the ids with a Bulk query job
// served in process (the emulator's own API, so no id scheme is assumed).
func giveExternalIDs(s *sfemu.Server) error {
	s.SetBulkConfig(sfemu.BulkConfig{ProcessingDelay: -1})
	defer s.SetBulkConfig(sfemu.BulkConfig{})
	at, _ := s.MintSession()
	call := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://emu"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+at)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	const v = "/services/data/v62.0/jobs/query"
	w := call("POST", v, `{"operation":"query","query":"SELECT Id FROM Contact"}`)
	var job struct{ ID, State string }
	if err := json.Unmarshal(w.Body.Bytes(), &job); err != nil || job.ID == "" {
		return fmt.Errorf("list contacts: %s", w.Body.String())
	}
	for job.State != "JobComplete" {
		time.Sleep(20 * time.Millisecond)
		_ = json.Unmarshal(call("GET", v+"/"+job.ID, "").Body.Bytes(), &job)
		if job.State == "Failed" || job.State == "Aborted" {
			return fmt.Errorf("list contacts: job %s", job.State)
		}
	}
	res := call("GET", v+"/"+job.ID+"/results", "")
	rd := csv.NewReader(res.Body)
	rd.ReuseRecord = true
	if _, err := rd.Read(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		row, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := s.SetSystemFields("Contact", row[0], map[string]any{"Syncd_Id__c": fmt.Sprintf("00000000-0000-4000-8000-%012d", i)}); err != nil {
			return err
		}
	}
	call("DELETE", v+"/"+job.ID, "")
	return nil
}

// ---- the benchmark ----------------------------------------------------------------------------

type emuInfo struct {
	LoginURL     string `json:"login_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type row struct {
	mode    string
	records int
	wall    time.Duration
	calls   int
	kinds   string
	maxRSS  int64 // KiB
}

func benchMain(args []string) error {
	fs := flag.NewFlagSet("bulk", flag.ContinueOnError)
	n := fs.Int("contacts", 1000000, "Contacts to pull")
	modes := fs.String("modes", "rest,bulk", "comma-separated: rest, bulk")
	work := fs.String("work", "", "working directory (default: a temporary one, removed at the end)")
	latency := fs.Duration("latency", 0, "latency the emulator adds to each request (e.g. 150ms, a realistic Salesforce round trip)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir := *work
	if dir == "" {
		if dir, err = os.MkdirTemp("", "syncd-bench-bulk-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	syncdBin := filepath.Join(dir, "syncd")
	logf("building syncd...")
	if out, err := exec.Command("go", "build", "-C", root, "-o", syncdBin, "./cmd/syncd").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/syncd: %v: %s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf("starting the emulator with %d Contacts (its own process)...", *n)
	emu := exec.Command(self, "emu", "--contacts", fmt.Sprint(*n), "--latency", latency.String())
	emu.Stderr = os.Stderr
	out, err := emu.StdoutPipe()
	if err != nil {
		return err
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer func() { _ = emu.Process.Signal(syscall.SIGTERM); _ = emu.Wait() }()
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	var info emuInfo
	if err := json.Unmarshal(line, &info); err != nil {
		return fmt.Errorf("emulator line %q: %w", line, err)
	}
	var rows []row
	for _, mode := range strings.Split(*modes, ",") {
		logf("%s: syncd sync of %d Contacts...", mode, *n)
		r, err := runOnce(dir, syncdBin, info, strings.TrimSpace(mode), *n)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	fmt.Printf("| path | records | wall s | records/s | API calls | peak RSS (syncd) | calls by kind |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.1f | %.0f | %d | %.1f MB | %s |\n", r.mode, r.records, r.wall.Seconds(),
			float64(r.records)/r.wall.Seconds(), r.calls, float64(r.maxRSS)/1024, r.kinds)
	}
	fmt.Printf("\n%s, %d CPUs, emulator latency %s per request; command: go run ./bench/bulk --contacts %d --latency %s\n",
		runtime.Version(), runtime.NumCPU(), *latency, *n, *latency)
	return nil
}

func runOnce(dir, syncdBin string, info emuInfo, mode string, n int) (row, error) {
	threshold := 1000000000 // REST: never Bulk
	switch mode {
	case "bulk":
		threshold = 10000
	case "rest":
	default:
		return row{}, fmt.Errorf("unknown mode %q", mode)
	}
	d := filepath.Join(dir, mode)
	if err := os.RemoveAll(d); err != nil {
		return row{}, err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return row{}, err
	}
	db, err := sql.Open("sqlite", filepath.Join(d, "app.db"))
	if err != nil {
		return row{}, err
	}
	if _, err := db.Exec(org.AppSchema); err != nil {
		return row{}, err
	}
	db.Close()
	cfg := org.Config(info.LoginURL, info.ClientID, info.ClientSecret, "warn", threshold)
	if err := os.WriteFile(filepath.Join(d, "syncd.yaml"), []byte(cfg), 0o600); err != nil {
		return row{}, err
	}
	hc := &http.Client{Timeout: time.Minute}
	admin := func(method, path string, v any) error {
		req, _ := http.NewRequest(method, info.LoginURL+"/__sfemu/"+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if v == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var before, after struct {
		Used int `json:"api_used"`
	}
	if err := admin("DELETE", "requests", nil); err != nil {
		return row{}, err
	}
	if err := admin("GET", "state", &before); err != nil {
		return row{}, err
	}
	cmd := exec.Command(syncdBin, "sync", "-c", filepath.Join(d, "syncd.yaml"), "--json")
	cmd.Dir = d
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return row{}, fmt.Errorf("syncd sync (%s): %v\n%s\n%s", mode, err, stdout.String(), tail(stderr.String()))
	}
	r := row{mode: mode, wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	if err := admin("GET", "state", &after); err != nil {
		return row{}, err
	}
	r.calls = after.Used - before.Used
	var reqs []struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		API    bool   `json:"api_call"`
	}
	if err := admin("GET", "requests", &reqs); err != nil {
		return row{}, err
	}
	kinds := map[string]int{}
	var order []string
	for _, q := range reqs {
		if !q.API {
			continue
		}
		k := kind(q.Method, q.Path)
		if kinds[k] == 0 {
			order = append(order, k)
		}
		kinds[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	r.kinds = strings.Join(parts, ", ")
	db, err = sql.Open("sqlite", filepath.Join(d, "app.db"))
	if err != nil {
		return row{}, err
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM customers`).Scan(&r.records); err != nil {
		return row{}, err
	}
	if r.records != n {
		return r, fmt.Errorf("%s: %d local rows after the sync, want %d\n%s", mode, r.records, n, stdout.String())
	}
	return r, nil
}

// kind names a request for the breakdown column.
func kind(method, path string) string {
	switch {
	case strings.HasSuffix(path, "/describe"):
		return "describe"
	case strings.Contains(path, "/jobs/query"):
		switch {
		case strings.HasSuffix(path, "/results"):
			return "bulk results"
		case method == "POST":
			return "bulk create"
		case method == "GET":
			return "bulk poll"
		case method == "DELETE":
			return "bulk delete"
		}
		return "bulk " + strings.ToLower(method)
	case strings.Contains(path, "/jobs/ingest"):
		return "ingest"
	case strings.Contains(path, "/query"):
		return "REST query"
	case strings.Contains(path, "/composite/"):
		return "collections"
	case strings.Contains(path, "/deleted"):
		return "getDeleted"
	}
	return method + " " + path
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run this from inside the syncd module")
	}
	return filepath.Dir(mod), nil
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/bulk: "+format+"\n", args...)
}
