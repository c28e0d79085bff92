package customers_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/customers"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The DDL makes the table the samples sync, in a real SQLite file: the key,
// the mapped columns with their types, the external id and the soft-delete
// column; running it again (a kept demo directory) changes nothing.
func TestSchemaCreatesTheCustomersTable(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ddl := customers.Schema(customers.Wide...)
	for range 2 {
		if _, err := db.Exec(ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	rows, err := db.Query(`SELECT name, type, pk FROM pragma_table_info('customers') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ string
		var pk int
		if err := rows.Scan(&name, &typ, &pk); err != nil {
			t.Fatal(err)
		}
		if pk == 1 {
			typ += " PK"
		}
		got = append(got, name+" "+typ)
	}
	want := "id INTEGER PK, first_name TEXT, last_name TEXT, email TEXT, phone TEXT, title TEXT, department TEXT, " +
		"city TEXT, country TEXT, birthdate TEXT, opted_out INTEGER, sync_id TEXT, deleted_at TEXT"
	if g := strings.Join(got, ", "); g != want {
		t.Fatalf("columns:\n got %s\nwant %s", g, want)
	}
	if _, err := db.Exec(`INSERT INTO customers (sync_id) VALUES ('a'), ('a')`); err == nil {
		t.Error("sync_id accepts a duplicate; it must be UNIQUE")
	}
}

// The file Config writes is a valid syncd.yaml, and it maps what Mapping
// says: the Go mapping the tests and benchmarks use is the one syncd would
// build from the demo's file.
func TestConfigParsesToMapping(t *testing.T) {
	cols := []customers.Column{customers.FirstName, customers.LastName, customers.Email, customers.Phone.PullOnly()}
	text := customers.Config{
		Comment:  "a sample",
		LoginURL: "https://login.example.com", APIVersion: "61.0", ClientID: "cid", ClientSecret: "secret",
		Schedule: "@every 5m",
		Settings: []string{"log_format: json"},
		Fields:   cols,
	}.String()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(text), filepath.Join(dir, "syncd.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if cfg.Salesforce.LoginURL != "https://login.example.com" || cfg.Salesforce.APIVersion != "61.0" ||
		cfg.Salesforce.Auth != config.AuthClientCredentials || cfg.Schedule != "@every 5m" || cfg.LogFormat != config.LogFormatJSON {
		t.Errorf("salesforce/top-level settings: %+v, schedule %q, log_format %q", cfg.Salesforce, cfg.Schedule, cfg.LogFormat)
	}
	if len(cfg.Objects) != 1 {
		t.Fatalf("%d objects", len(cfg.Objects))
	}
	o, m := cfg.Objects[0], customers.Mapping(cols...)
	if o.SObject != m.Object || o.Table != m.Table || o.Key != m.Key ||
		o.ExternalID.Field != m.ExternalIDField || o.ExternalID.Column != m.ExternalIDColumn ||
		string(o.Watermark) != m.Watermark || string(o.Conflict) != string(m.Conflict) ||
		o.Lookback != m.Lookback || o.SafetyLag != m.SafetyLag || o.BatchSize != m.BatchSize ||
		string(o.Deletes.FromSalesforce) != string(m.FromSalesforce) || o.Deletes.SoftDeleteColumn != m.SoftDeleteColumn ||
		string(o.Deletes.FromLocal) != string(m.FromLocal) {
		t.Errorf("the file's object and Mapping differ:\nfile    %+v\nMapping %+v", o, *m)
	}
	if m.BulkThreshold != 0 {
		t.Errorf("Mapping's BulkThreshold = %d, want 0 (REST only)", m.BulkThreshold)
	}
	if len(o.Fields) != len(m.Fields) {
		t.Fatalf("%d fields in the file, %d in Mapping", len(o.Fields), len(m.Fields))
	}
	for i, f := range o.Fields {
		dir := syncd.Direction(f.Direction)
		if dir == "" {
			dir = syncd.Both
		}
		if mf := m.Fields[i]; f.Column != mf.Column || f.Field != mf.Name || dir != mf.Direction {
			t.Errorf("field %d: file %+v, Mapping %+v", i, f, mf)
		}
	}
	if m.Fields[3].Direction != syncd.Pull || m.Fields[0].Direction != syncd.Both {
		t.Errorf("directions: %+v", m.Fields)
	}
}
