package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// dirState is what a read-only open must leave as it found: the database
// file's bytes, the size of its -wal, and the names in its directory other
// than the -wal and -shm files SQLite gives every reader of a WAL database.
type dirState struct {
	dbSum   string
	walSize int64
	names   string
}

func stateOf(t *testing.T, path string) dirState {
	t.Helper()
	var s dirState
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	s.dbSum = hex.EncodeToString(sum[:])
	if fi, err := os.Stat(path + "-wal"); err == nil {
		s.walSize = fi.Size()
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		if n := e.Name(); n != filepath.Base(path)+"-wal" && n != filepath.Base(path)+"-shm" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	s.names = strings.Join(names, " ")
	return s
}

// A read-only DB reads what a cycle and verify need, and every write is
// refused with ErrReadOnly; the file is byte for byte what it was and its
// -wal has not grown.
func TestOpenReadOnlyReadsAndNeverWrites(t *testing.T) {
	db, app, m := MustOpenDB(t)
	mustExec(t, app, `INSERT INTO contacts (id, first_name, last_name) VALUES (1, 'Ada', 'Lovelace'), (2, 'Grace', 'Hopper')`)
	pend, err := db.Pending(ctx, m, 0, 10)
	if err != nil || len(pend) != 2 {
		t.Fatalf("pending = %v, %v", pend, err)
	}
	if err := db.ApplyPush(ctx, m, syncd.PushResult{
		Acks:        []syncd.Ack{{Key: "1", Seq: pend[0].Seq, ID: "003A", Shadow: map[string]syncd.Value{"FirstName": "Ada", "LastName": "Lovelace"}}},
		DeadLetters: []syncd.DeadLetter{{Key: "2", Seq: pend[1].Seq, Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [Email]"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyPull(ctx, m, syncd.PullBatch{Cursor: syncd.Cursor{Time: ts("2024-01-01T00:00:00Z"), ID: "003A"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := stateOf(t, db.Path())

	ro, err := store.OpenReadOnly(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !ro.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	if c, err := ro.Cursor(ctx, "Contact"); err != nil || c.ID != "003A" {
		t.Errorf("Cursor = %+v, %v", c, err)
	}
	snap, err := ro.Lookup(ctx, m, []syncd.RemoteRecord{{ID: "003A"}})
	if err != nil || snap.States["003A"].Key != "1" {
		t.Errorf("Lookup = %+v, %v", snap.States, err)
	}
	var scanned []string
	if err := ro.Scan(ctx, m, func(r syncd.LocalRow) error { scanned = append(scanned, r.Key+"="+r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(scanned, ",") != "1=003A,2=" {
		t.Errorf("Scan = %v", scanned)
	}
	if err := ro.CheckMappings(ctx, []*syncd.Mapping{m}); err != nil {
		t.Errorf("CheckMappings: %v", err)
	}
	if dl, err := ro.DeadLetters(ctx, ""); err != nil || len(dl) != 1 || dl[0].Key != "2" {
		t.Errorf("DeadLetters = %+v, %v", dl, err)
	}
	if h, err := ro.Health(ctx); err != nil || h["Contact"].DeadLetters != 1 {
		t.Errorf("Health = %+v, %v", h, err)
	}

	writes := map[string]error{
		"ApplyPull":        second(ro.ApplyPull(ctx, m, syncd.PullBatch{Cursor: syncd.Cursor{Time: ts("2025-01-01T00:00:00Z"), ID: "x"}})),
		"ApplyPush":        ro.ApplyPush(ctx, m, syncd.PushResult{Acks: []syncd.Ack{{Key: "2", Seq: pend[1].Seq}}}),
		"BeginPush":        ro.BeginPush(ctx, m, []syncd.Outgoing{{Key: "2", ExternalID: "e2"}}),
		"RecordRun":        ro.RecordRun(ctx, syncd.ObjectReport{Object: "Contact"}),
		"Install":          ro.Install(ctx, []*syncd.Mapping{m}),
		"ResetCursor":      ro.ResetCursor(ctx, "Contact"),
		"Lock":             ro.Lock(),
		"RetryDeadLetters": second(ro.RetryDeadLetters(ctx, "")),
		"RetryDue":         second(ro.RetryDue(ctx, "Contact", ts("2100-01-01T00:00:00Z"))),
		"PurgeOutbox":      second(ro.PurgeOutbox(ctx, ts("2100-01-01T00:00:00Z"))),
		"EnqueueAll":       second(ro.EnqueueAll(ctx, m)),
	}
	for name, err := range writes {
		if !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("%s on a read-only DB: %v, want ErrReadOnly", name, err)
		}
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after := stateOf(t, db.Path()); after != before {
		t.Errorf("the read-only DB changed the database:\nbefore %+v\nafter  %+v", before, after)
	}
}

func second[T any](_ T, err error) error { return err }

// What a read-only open would have to create or migrate, it refuses, and
// it leaves the file (or its absence) as it was.
func TestOpenReadOnlyRefusesWhatItWouldHaveToChange(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.db")
	if _, err := store.OpenReadOnly(ctx, typo); !errors.Is(err, store.ErrNoDatabase) {
		t.Errorf("missing file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("opening a missing file created %v", entries)
	}

	plain := filepath.Join(dir, "plain.db")
	app := MustOpenApp(t, plain)
	mustExec(t, app, contactSchema)
	before := stateOf(t, plain)
	_, err := store.OpenReadOnly(ctx, plain)
	if !errors.Is(err, store.ErrNotSetUp) || !strings.Contains(err.Error(), "syncd sync") {
		t.Errorf("database without syncd: %v", err)
	}
	if after := stateOf(t, plain); after != before {
		t.Errorf("the refused open changed the database:\nbefore %+v\nafter  %+v", before, after)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	v1, err := store.OpenVersion(ctx, old, 1)
	if err != nil {
		t.Fatal(err)
	}
	v1.Close()
	before = stateOf(t, old)
	_, err = store.OpenReadOnly(ctx, old)
	if !errors.Is(err, store.ErrSchemaOld) || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("a version 1 database: %v", err)
	}
	if after := stateOf(t, old); after != before {
		t.Error("the refused open migrated the database")
	}
	if v, _ := MustOpenStore(t, old).Version(ctx); v != store.SchemaVersion() {
		t.Errorf("a writing open still migrates: version %d", v)
	}
}
