package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// benchInsert inserts b.N rows, 1,000 per transaction, as an application
// would.
func benchInsert(b *testing.B, install bool) {
	path := filepath.Join(b.TempDir(), "app.db")
	app := MustOpenApp(b, path)
	mustExec(b, app, contactSchema)
	db := MustOpenStore(b, path)
	if install {
		if err := db.Install(context.Background(), []*syncd.Mapping{contactMapping()}); err != nil {
			b.Fatal(err)
		}
	} else {
		// Same schema and external-id index, no triggers.
		mustExec(b, app, `CREATE INDEX contacts_syncd_id ON contacts(syncd_id)`)
	}
	conn, err := app.Conn(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ResetTimer()
	for i := 0; i < b.N; {
		tx, err := conn.BeginTx(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.Prepare(`INSERT INTO contacts(first_name, last_name, email, phone, birthdate, active, score, amount, last_seen, notes, syncd_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
			var ext any
			if !install {
				ext = fmt.Sprintf("00000000-0000-4000-8000-%012d", i) // what the trigger would do
			}
			if _, err := st.Exec("First", fmt.Sprint("Last", i), "a@example.com", "+1 555", "1990-01-01", 1, i, "12.50",
				"2024-01-01T00:00:00Z", "notes", ext); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkInsertWithTriggers(b *testing.B)    { benchInsert(b, true) }
func BenchmarkInsertWithoutTriggers(b *testing.B) { benchInsert(b, false) }

// BenchmarkUpdateWithTriggers measures an application UPDATE of one mapped
// column, captured.
func BenchmarkUpdateWithTriggers(b *testing.B)    { benchUpdate(b, true) }
func BenchmarkUpdateWithoutTriggers(b *testing.B) { benchUpdate(b, false) }

func benchUpdate(b *testing.B, install bool) {
	path := filepath.Join(b.TempDir(), "app.db")
	app := MustOpenApp(b, path)
	mustExec(b, app, contactSchema)
	mustExec(b, app, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
		INSERT INTO contacts(id, last_name, syncd_id) SELECT i, 'n', 'x' || i FROM n`)
	db := MustOpenStore(b, path)
	if install {
		if err := db.Install(context.Background(), []*syncd.Mapping{contactMapping()}); err != nil {
			b.Fatal(err)
		}
	}
	conn, _ := app.Conn(context.Background())
	defer conn.Close()
	b.ResetTimer()
	for i := 0; i < b.N; {
		tx, _ := conn.BeginTx(context.Background(), nil)
		st, _ := tx.Prepare(`UPDATE contacts SET score = ? WHERE id = ?`)
		for j := 0; j < 1000 && i < b.N; j, i = j+1, i+1 {
			if _, err := st.Exec(i, 1+i%10000); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		tx.Commit()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

const benchBatch = 2000

func benchRecord(i int) (syncd.RemoteRecord, map[string]syncd.Value) {
	vals := map[string]syncd.Value{
		"FirstName":    "First",
		"LastName":     fmt.Sprint("Last", i),
		"Email":        fmt.Sprintf("user%d@example.com", i),
		"Phone":        "+1 555 0100",
		"Birthdate":    "1990-02-28",
		"Active__c":    i%2 == 0,
		"Score__c":     int64(i),
		"Amount__c":    syncd.Decimal("1234.56"),
		"Last_Seen__c": "2024-03-10T07:30:00Z",
		"Description":  "Some notes about the contact",
	}
	// Of the mapping's layout, as a pull decodes them.
	rec := syncd.RemoteRecord{ID: fmt.Sprintf("003%015d", i), Stamp: time.Unix(1700000000+int64(i), 0).UTC(),
		Values: syncd.FieldsIn(syncd.LayoutOf(contactMapping()), vals)}
	rec.Values.Set("Syncd_Id__c", fmt.Sprintf("ext-%d", i))
	return rec, vals
}

// BenchmarkApplyPull applies pulled Contacts (10 mapped fields) in batches
// of 2,000, the ops as PlanPull makes them: "Insert" creates new rows (a
// first sync), "Update" rewrites all fields of linked rows with their own
// values, "UpdateChanged" gives linked rows new values in every field but
// the key's, and "LookupUpdate" and "LookupUpdateChanged" are the whole
// apply path (Lookup, then ApplyPull). Besides rows/s on wall time, it
// reports rows per CPU-second of the whole process (GC included), which
// other work on a shared machine disturbs less.
func BenchmarkApplyPull(b *testing.B) {
	for _, mode := range []string{"Insert", "Update", "UpdateChanged", "LookupUpdate", "LookupUpdateChanged"} {
		b.Run(mode, func(b *testing.B) {
			db, _, m := MustOpenDB(b)
			ctx := context.Background()
			changed := strings.HasSuffix(mode, "Changed")
			mkBatch := func(start, round int, kind syncd.LocalOpKind) (syncd.PullBatch, []syncd.RemoteRecord) {
				var pb syncd.PullBatch
				recs := make([]syncd.RemoteRecord, 0, benchBatch)
				for i := start; i < start+benchBatch; i++ {
					rec, vals := benchRecord(i)
					if changed && round > 0 {
						for k, v := range vals {
							switch x := v.(type) {
							case string:
								if k != "Birthdate" && k != "Last_Seen__c" {
									vals[k] = fmt.Sprint(x, " ", round)
								}
							case int64:
								vals[k] = x + int64(round)
							case bool:
								vals[k] = round%2 == 0
							}
						}
						for k, v := range vals {
							rec.Values.Set(k, v)
						}
					}
					recs = append(recs, rec)
					op := syncd.LocalOp{Kind: kind, ID: rec.ID, Set: syncd.FieldsOf(vals), Shadow: syncd.FieldsOf(vals), Stamp: rec.Stamp}
					if kind == syncd.OpInsert {
						op.ExternalID = rec.Values.Get("Syncd_Id__c").(string)
						op.Shadow = rec.Values // with the external id, as planInsert's
					} else {
						op.Key = fmt.Sprint(i + 1)
					}
					pb.Ops = append(pb.Ops, op)
					pb.Cursor = syncd.Cursor{Time: rec.Stamp, ID: rec.ID}
				}
				return pb, recs
			}
			const preload = 20000
			if mode != "Insert" {
				for s := 0; s < preload; s += benchBatch {
					pb, _ := mkBatch(s, 0, syncd.OpInsert)
					if _, err := db.ApplyPull(ctx, m, pb); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			rows := 0
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				start := (i * benchBatch) % preload
				if mode == "Insert" {
					start = preload + i*benchBatch
				}
				kind := syncd.OpUpdate
				if mode == "Insert" {
					kind = syncd.OpInsert
				}
				pb, recs := mkBatch(start, 1+i, kind)
				c0 := processCPU()
				b.StartTimer()
				if strings.HasPrefix(mode, "Lookup") {
					snap, err := db.Lookup(ctx, m, recs)
					if err != nil || len(snap.States) != benchBatch {
						b.Fatalf("lookup: %d, %v", len(snap.States), err)
					}
					pb.Seen, pb.Read = snap.Outbox, snap.Read
				}
				if _, err := db.ApplyPull(ctx, m, pb); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += processCPU() - c0
				b.StartTimer()
				rows += benchBatch
			}
			b.StopTimer()
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			if cpu > 0 {
				b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
			}
		})
	}
}

// BenchmarkLookup looks up 2,000 linked Contacts by Salesforce Id.
func BenchmarkLookup(b *testing.B) {
	db, _, m := MustOpenDB(b)
	ctx := context.Background()
	const rows = 20000
	var all []syncd.RemoteRecord
	for s := 0; s < rows; s += benchBatch {
		var pb syncd.PullBatch
		for i := s; i < s+benchBatch; i++ {
			rec, vals := benchRecord(i)
			all = append(all, rec)
			pb.Ops = append(pb.Ops, syncd.LocalOp{Kind: syncd.OpInsert, ID: rec.ID, ExternalID: rec.Values.Get("Syncd_Id__c").(string),
				Set: syncd.FieldsOf(vals), Shadow: syncd.FieldsOf(vals), Stamp: rec.Stamp})
		}
		if _, err := db.ApplyPull(ctx, m, pb); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := (i * benchBatch) % rows
		st, err := states(db.Lookup(ctx, m, all[start:start+benchBatch]))
		if err != nil || len(st) != benchBatch {
			b.Fatalf("lookup: %d, %v", len(st), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRawMultiRowInsert is the reference for BenchmarkApplyPull: the
// same 10-field rows inserted into the bare table (no triggers, no links)
// with 64-row statements, 2,000 rows per transaction, i.e. what the
// driver and SQLite cost on this machine before syncd adds anything.
func BenchmarkRawMultiRowInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "app.db")
	app := MustOpenApp(b, path)
	mustExec(b, app, contactSchema)
	conn, _ := app.Conn(context.Background())
	defer conn.Close()
	one := "(?,?,?,?,?,?,?,?,?,?,?)"
	q := "INSERT INTO contacts(first_name, last_name, email, phone, birthdate, active, score, amount, last_seen, notes, syncd_id) VALUES " + one
	for i := 1; i < 64; i++ {
		q += "," + one
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		tx, _ := conn.BeginTx(context.Background(), nil)
		st, err := tx.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		for r := 0; r < benchBatch/64; r++ {
			args := make([]any, 0, 64*11)
			for j := 0; j < 64; j++ {
				n++
				args = append(args, "First", "Last", "a@example.com", "+1 555", "1990-01-01", 1, n, "12.5", "2024-01-01T00:00:00Z", "notes", fmt.Sprint("ext-", n))
			}
			if _, err := st.Exec(args...); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		tx.Commit()
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkApplyCostParts splits the cost of a pulled insert into the
// layers syncd's store adds, with the statements ApplyPull uses (64-row
// statements, 2,000 rows per transaction, syncd's pragmas): the bare row;
// a unique external-id index with sequential or random ids; the capture
// triggers (skipped, as for syncd's own writes); the link row as
// ApplyPull writes it (Id, stamp, fingerprint), and with the Id alone.
func BenchmarkApplyCostParts(b *testing.B) {
	for _, part := range []string{"bare", "extIndexSequential", "extIndexRandom", "triggers", "link", "linkIDOnly"} {
		b.Run(part, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "app.db")
			app := MustOpenApp(b, path)
			mustExec(b, app, contactSchema)
			if part != "bare" {
				mustExec(b, app, `CREATE UNIQUE INDEX contacts_syncd_id ON contacts(syncd_id)`)
			}
			syncdLayers := part == "triggers" || strings.HasPrefix(part, "link")
			if syncdLayers {
				if err := MustOpenStore(b, path).Install(context.Background(), []*syncd.Mapping{contactMapping()}); err != nil {
					b.Fatal(err)
				}
			}
			one := "(?,?,?,?,?,?,?,?,?,?,?,?)"
			ins := "INSERT INTO contacts(id, first_name, last_name, email, phone, birthdate, active, score, amount, last_seen, notes, syncd_id) VALUES " +
				one + strings.Repeat(","+one, 63)
			lone := "(?,?,?,?)"
			link := `INSERT INTO _syncd_link_Contact (row_key, sf_id, stamp, fp) VALUES ` + lone + strings.Repeat(","+lone, 63) + `
				ON CONFLICT (row_key) DO UPDATE SET sf_id = coalesce(excluded.sf_id, sf_id),
					stamp = coalesce(excluded.stamp, stamp), fp = excluded.fp`
			ctx := context.Background()
			conn, err := app.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			for _, p := range []string{"synchronous=NORMAL", "cache_size=-4096"} {
				if _, err := conn.ExecContext(ctx, "PRAGMA "+p); err != nil {
					b.Fatal(err)
				}
			}
			page := func(first int) error {
				tx, err := conn.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if syncdLayers {
					if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_applying(id) VALUES (1)`); err != nil {
						return err
					}
				}
				// Prepared once per page, as ApplyPull's statement cache does.
				insStmt, err := tx.PrepareContext(ctx, ins)
				if err != nil {
					return err
				}
				defer insStmt.Close()
				linkStmt, err := tx.PrepareContext(ctx, link)
				if err != nil && strings.HasPrefix(part, "link") {
					return err
				}
				if linkStmt != nil {
					defer linkStmt.Close()
				}
				for r := 0; r < benchBatch/64; r++ {
					args := make([]any, 0, 64*12)
					largs := make([]any, 0, 64*4)
					for j := 0; j < 64; j++ {
						n := first + r*64 + j
						ext := fmt.Sprintf("%08x-0000-7000-8000-%012d", n, n)
						if part == "extIndexRandom" {
							ext = fmt.Sprintf("%08x-0000-4000-8000-%012d", uint32(n)*2654435761, n)
						}
						args = append(args, n, "First", "Last", "a@example.com", "+1 555", "1990-01-01", 1, n, "12.5",
							"2024-01-01T00:00:00Z", "notes", ext)
						var stamp, fp any
						if part == "link" {
							stamp, fp = int64(1704067200000), int64(uint64(n)*0x9E3779B97F4A7C15)
						}
						largs = append(largs, fmt.Sprint(n), fmt.Sprintf("003%015d", n), stamp, fp)
					}
					if _, err := insStmt.ExecContext(ctx, args...); err != nil {
						return err
					}
					if strings.HasPrefix(part, "link") {
						if _, err := linkStmt.ExecContext(ctx, largs...); err != nil {
							return err
						}
					}
				}
				if syncdLayers {
					if _, err := tx.ExecContext(ctx, `DELETE FROM _syncd_applying`); err != nil {
						return err
					}
				}
				return tx.Commit()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := page(1 + i*benchBatch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N*benchBatch), "µs/row")
		})
	}
}
