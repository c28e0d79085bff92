package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/bench/internal/org"
	"github.com/syncd-dev/syncd/internal/sf"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// floorMain is `harness floor`: the lower bound of row 1 in Go. It pulls
// the same query with syncd's own client (internal/sf: the same requests,
// the same page decoder and value conversion) and either drops the records
// (--insert=false) or inserts them into the application table the way the
// jsforce script does, with modernc.org/sqlite: one multi-row INSERT per
// 64 rows (prepared once per page: preparing a 700-parameter statement per
// execution made this floor 40% slower), one transaction per page, syncd's
// pragmas. No
// links, merge bases, outbox, triggers or watermark: what any Go program
// writing these rows with the pure-Go SQLite driver pays at least.
// Prints {"records", "pages", "seconds"} like jsforce-pull.js.
func floorMain(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	login := fs.String("login", "", "login URL")
	id := fs.String("client-id", "", "client id (client_credentials)")
	secret := fs.String("client-secret", "", "client secret")
	dbPath := fs.String("db", "", "application database (created)")
	insert := fs.Bool("insert", true, "insert the records (false: decode only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	state, err := os.MkdirTemp("", "floor")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	c, err := sf.New(ctx, sf.Config{LoginURL: *login, APIVersion: "62.0", Auth: sf.AuthClientCredentials,
		ClientID: *id, ClientSecret: *secret, StateDir: state, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	schema, err := c.Describe(ctx, "Contact")
	if err != nil {
		return err
	}
	req := syncd.PullRequest{Object: "Contact", WatermarkField: "LastModifiedDate", IncludeDeleted: true, BatchSize: 2000}
	cols := []string{"sync_id"}
	for _, f := range append([][2]string{{"sync_id", "Syncd_Id__c"}}, org.Fields...) {
		req.Fields = append(req.Fields, syncd.Field{Name: f[1], Kind: schema.Fields[f[1]].Kind})
		if f[0] != "sync_id" {
			cols = append(cols, f[0])
		}
	}

	var ins *rowInserter
	if *insert {
		db, err := sql.Open("sqlite", *dbPath+"?_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_pragma=cache_size(-4096)")
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.Exec(org.AppSchema); err != nil {
			return err
		}
		ins = &rowInserter{db: db, cols: cols}
	}
	t0 := time.Now()
	records, pages := 0, 0
	err = c.Pull(ctx, req, func(p syncd.Page) error {
		records += len(p.Records)
		pages++
		if ins == nil {
			return nil
		}
		return ins.page(ctx, p.Records, req.Fields)
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"records": records, "pages": pages, "seconds": time.Since(t0).Seconds()})
}

// rowInserter writes pulled records as plain rows.
type rowInserter struct {
	db   *sql.DB
	cols []string
}

func (r *rowInserter) page(ctx context.Context, recs []syncd.RemoteRecord, fields []syncd.Field) error {
	const per = 64
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(fields)), ",") + ")"
	head := "INSERT INTO customers(" + strings.Join(r.cols, ", ") + ") VALUES "
	args := make([]any, 0, per*len(fields))
	stmts := map[int]*sql.Stmt{} // by rows: prepared once per page, as the jsforce script prepares once
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	for start := 0; start < len(recs); start += per {
		chunk := recs[start:min(start+per, len(recs))]
		args = args[:0]
		for _, rec := range chunk {
			for _, f := range fields {
				var v any = rec.Values.Get(f.Name)
				switch x := v.(type) {
				case syncd.Decimal:
					v = string(x)
				case bool:
					v = 0
					if x {
						v = 1
					}
				}
				args = append(args, v)
			}
		}
		st := stmts[len(chunk)]
		if st == nil {
			if st, err = tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", len(chunk)), ",")); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			stmts[len(chunk)] = st
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	return tx.Commit()
}
