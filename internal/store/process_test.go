package store_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Tests in this file re-execute the test binary as a helper process
// (TestHelperProcess, selected by SYNCD_STORE_HELPER) to play the
// application, or a syncd that gets killed.

const helperEnv = "SYNCD_STORE_HELPER"

// helperCmd returns a command running role in a helper process.
func helperCmd(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("helper process only")
	}
	var err error
	switch role {
	case "writer":
		err = helperWriter(os.Getenv("DB"))
	case "applier":
		err = helperApplier(os.Getenv("DB"))
	case "tz":
		err = helperTZ(os.Getenv("DB"))
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperWriter is the application: plain driver, no custom functions,
// autocommit statements, writing steadily until its stdin closes. It then
// prints how many rows it inserted and updated.
func helperWriter(path string) error {
	app, err := sql.Open("sqlite", appDSN(path))
	if err != nil {
		return err
	}
	defer app.Close()
	stop := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(stop)
	}()
	inserts, updates := 0, 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			fmt.Printf("%d %d\n", inserts, updates)
			return nil
		default:
		}
		if _, err := app.Exec(`INSERT INTO contacts(last_name, notes) VALUES (?, 'app')`, fmt.Sprint("w", i)); err != nil {
			return fmt.Errorf("insert %d: %w", i, err)
		}
		inserts++
		if i%3 == 2 {
			if _, err := app.Exec(`UPDATE contacts SET score = coalesce(score, 0) + 1 WHERE last_name = ?`, fmt.Sprint("w", i-1)); err != nil {
				return fmt.Errorf("update %d: %w", i, err)
			}
			updates++
		}
	}
}

// crashBase is the watermark of crash batch 0; batch i has cursor time
// crashBase + i seconds.
var crashBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const crashBatch = 100

func crashPull(i int) syncd.PullBatch {
	var b syncd.PullBatch
	for j := 0; j < crashBatch; j++ {
		id := fmt.Sprintf("003%06d%06d", i, j)
		v := map[string]syncd.Value{"LastName": fmt.Sprintf("b%d-%d", i, j), "Score__c": int64(i)}
		b.Ops = append(b.Ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "e" + id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v),
			Stamp: crashBase.Add(time.Duration(i) * time.Second)})
	}
	b.Cursor = syncd.Cursor{Time: crashBase.Add(time.Duration(i) * time.Second), ID: fmt.Sprint(i)}
	return b
}

// helperApplier applies pull batches forever, printing each committed one.
func helperApplier(path string) error {
	db, err := store.Open(context.Background(), path)
	if err != nil {
		return err
	}
	if err := db.Lock(); err != nil {
		return err
	}
	m := contactMapping()
	for i := 0; ; i++ {
		if _, err := db.ApplyPull(context.Background(), m, crashPull(i)); err != nil {
			return err
		}
		fmt.Printf("batch %d\n", i)
	}
}

func TestConcurrentWriterProcess(t *testing.T) {
	db, app, m := MustOpenDB(t)
	path := db.Path()
	cmd := helperCmd(t, "writer", "DB="+path)
	stdin, _ := cmd.StdinPipe()
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the application to start writing.
	deadline := time.Now().Add(10 * time.Second)
	for mustInt(t, app, `SELECT count(*) FROM contacts WHERE notes = 'app'`) < 10 {
		if time.Now().After(deadline) {
			t.Fatal("writer did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Sync steadily meanwhile: pulls, pushes of what the application
	// wrote, run records.
	var pushed, batches int
	start := time.Now()
	for i := 0; i < 20 || time.Since(start) < 2*time.Second; i++ {
		batches++
		b := crashPull(i)
		if _, err := db.ApplyPull(ctx, m, b); err != nil {
			t.Fatalf("apply pull %d: %v", i, err)
		}
		pend, err := db.Pending(ctx, m, 0, 100)
		if err != nil {
			t.Fatalf("pending: %v", err)
		}
		var acks []syncd.Ack
		for _, p := range pend {
			acks = append(acks, syncd.Ack{Key: p.Key, Seq: p.Seq, ID: "003W" + p.Key, Shadow: p.Values})
		}
		if err := db.ApplyPush(ctx, m, syncd.PushResult{Acks: acks}); err != nil {
			t.Fatalf("apply push: %v", err)
		}
		pushed += len(acks)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	var inserts, updates int
	if _, err := fmt.Sscan(out.String(), &inserts, &updates); err != nil {
		t.Fatalf("writer output %q: %v", out.String(), err)
	}
	t.Logf("application: %d inserts, %d updates; syncd: %d pulled batches, %d rows pushed", inserts, updates, batches, pushed)

	// No write lost on either side.
	if n := mustInt(t, app, `SELECT count(*) FROM contacts WHERE notes = 'app'`); n != int64(inserts) {
		t.Fatalf("application rows = %d, inserted %d", n, inserts)
	}
	if n := mustInt(t, app, `SELECT coalesce(sum(score), 0) FROM contacts WHERE notes = 'app'`); n != int64(updates) {
		t.Fatalf("application updates = %d, made %d", n, updates)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM contacts WHERE notes IS NULL`); n != int64(batches*crashBatch) {
		t.Fatalf("pulled rows = %d", n)
	}
	// Every application write captured, none of syncd's.
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE op = 'I'`); n != int64(inserts) {
		t.Fatalf("captured inserts = %d, made %d", n, inserts)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox WHERE op = 'U'`); n != int64(updates) {
		t.Fatalf("captured updates = %d, made %d", n, updates)
	}
	if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox o JOIN contacts c ON o.row_key = CAST(c.id AS TEXT) WHERE c.notes IS NULL`); n != 0 {
		t.Fatalf("%d of syncd's writes captured", n)
	}
	c, _ := db.Cursor(ctx, "Contact")
	if c.ID != fmt.Sprint(batches-1) {
		t.Fatalf("cursor = %+v", c)
	}
}

func TestCrashDuringApplyPull(t *testing.T) {
	db, app, _ := MustOpenDB(t)
	path := db.Path()
	db.Close()
	for round := 0; round < 3; round++ {
		cmd := helperCmd(t, "applier", "DB="+path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		// Let it commit a few batches, then kill it at an arbitrary point.
		for n := 0; n < 3+round*2 && sc.Scan(); n++ {
		}
		time.Sleep(time.Duration(1+round*3) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()

		db := MustOpenStore(t, path)
		c, err := db.Cursor(ctx, "Contact")
		if err != nil {
			t.Fatal(err)
		}
		last := -1
		if !c.Time.IsZero() {
			last = int(c.Time.Sub(crashBase) / time.Second)
			if strconv.Itoa(last) != c.ID {
				t.Fatalf("cursor %+v", c)
			}
		}
		// The helper restarts from batch 0 each round, so rows are
		// counted per batch number (score), which must be whole.
		rows, err := app.Query(`SELECT score, count(*) FROM contacts GROUP BY score ORDER BY score`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]int{}
		for rows.Next() {
			var s, n int
			rows.Scan(&s, &n)
			got[s] = n
		}
		rows.Close()
		for i := 0; i <= last; i++ {
			if got[i]%crashBatch != 0 || got[i] == 0 {
				t.Fatalf("round %d: batch %d has %d rows (cursor at %d)", round, i, got[i], last)
			}
		}
		for s, n := range got {
			if s > last {
				t.Fatalf("round %d: %d rows of batch %d beyond the cursor %d", round, n, s, last)
			}
		}
		var ic string
		app.QueryRow(`PRAGMA integrity_check`).Scan(&ic)
		if ic != "ok" {
			t.Fatalf("integrity_check: %s", ic)
		}
		if n := mustInt(t, app, `SELECT count(*) FROM _syncd_applying`); n != 0 {
			t.Fatal("suppression row survived the crash")
		}
		if n := mustInt(t, app, `SELECT count(*) FROM _syncd_outbox`); n != 0 {
			t.Fatal("syncd's writes captured")
		}
		if l, r := mustInt(t, app, `SELECT count(*) FROM _syncd_link_Contact`), mustInt(t, app, `SELECT count(*) FROM contacts`); l != r {
			t.Fatalf("%d links for %d rows", l, r)
		}
		// The lock died with the process.
		if err := db.Lock(); err != nil {
			t.Fatalf("lock after crash: %v", err)
		}
		db.Close()
		t.Logf("round %d: killed after batch %d", round, last)
	}
}

// tzCases are the dates and datetimes written in every time zone.
var tzCases = []struct {
	field, value string
}{
	{"Birthdate", "2024-02-29"},
	{"Birthdate", "2024-03-10"}, // US DST starts
	{"Birthdate", "2024-03-31"}, // EU DST starts
	{"Birthdate", "2024-04-07"}, // Lord Howe DST ends
	{"Birthdate", "2024-10-06"}, // Lord Howe DST starts
	{"Birthdate", "2024-11-03"}, // US DST ends
	{"Birthdate", "1970-01-01"},
	{"Last_Seen__c", "2024-03-10T07:30:00Z"},
	{"Last_Seen__c", "2024-03-31T01:30:00Z"},
	{"Last_Seen__c", "2024-10-05T15:15:00.5Z"},
	{"Last_Seen__c", "2024-11-03T05:30:00.123Z"},
}

// helperTZ writes the tzCases through ApplyPull, reads them back through
// Lookup and raw SQL, and prints the raw texts as JSON.
func helperTZ(path string) error {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	m := contactMapping()
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		return err
	}
	var b syncd.PullBatch
	var recs []syncd.RemoteRecord
	for i, c := range tzCases {
		id := fmt.Sprintf("003TZ%04d", i)
		v := map[string]syncd.Value{c.field: c.value}
		b.Ops = append(b.Ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: id, ExternalID: "tz" + id, Set: syncd.FieldsOf(v), Shadow: syncd.FieldsOf(v)})
		recs = append(recs, syncd.RemoteRecord{ID: id})
	}
	if _, err := db.ApplyPull(ctx, m, b); err != nil {
		return err
	}
	st, err := states(db.Lookup(ctx, m, recs))
	if err != nil {
		return err
	}
	app, err := sql.Open("sqlite", appDSN(path))
	if err != nil {
		return err
	}
	defer app.Close()
	raw := map[string]string{}
	for i, c := range tzCases {
		id := fmt.Sprintf("003TZ%04d", i)
		s := st[id]
		if got := s.Values.Get(c.field); got != c.value {
			return fmt.Errorf("TZ=%s: %s %s read back as %#v", os.Getenv("TZ"), c.field, c.value, got)
		}
		col := "birthdate"
		if c.field == "Last_Seen__c" {
			col = "last_seen"
		}
		var text string
		if err := app.QueryRow(`SELECT CAST(`+col+` AS TEXT) FROM contacts WHERE id = ?`, s.Key).Scan(&text); err != nil {
			return err
		}
		raw[id] = text
	}
	return json.NewEncoder(os.Stdout).Encode(raw)
}

func TestTimeZones(t *testing.T) {
	var first map[string]string
	for _, tz := range []string{"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Kiritimati", "America/St_Johns"} {
		path := filepath.Join(t.TempDir(), "app.db")
		app := MustOpenApp(t, path)
		mustExec(t, app, contactSchema)
		cmd := helperCmd(t, "tz", "DB="+path, "TZ="+tz)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("TZ=%s: %v", tz, err)
		}
		var raw map[string]string
		if err := json.Unmarshal(out, &raw); err != nil {
			t.Fatalf("TZ=%s: %q: %v", tz, out, err)
		}
		for i, c := range tzCases {
			if got := raw[fmt.Sprintf("003TZ%04d", i)]; got != c.value {
				t.Errorf("TZ=%s: %s stored as %q, want %q", tz, c.field, got, c.value)
			}
		}
		if first == nil {
			first = raw
		}
	}
}
