package scaffold_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/preflight"
	"github.com/syncd-dev/syncd/internal/scaffold"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// contact is a describe of Contact with the kinds of fields pairing must
// tell apart.
func contact(extra ...syncd.FieldInfo) syncd.ObjectSchema {
	w := func(name, typ string, kind syncd.Kind) syncd.FieldInfo {
		return syncd.FieldInfo{Name: name, Type: typ, Kind: kind, Createable: true, Updateable: true}
	}
	fields := []syncd.FieldInfo{
		{Name: "Id", Type: "id", Kind: syncd.KindText},
		w("FirstName", "string", syncd.KindText),
		w("LastName", "string", syncd.KindText),
		w("Email", "email", syncd.KindText),
		w("Email__c", "email", syncd.KindText),
		w("Phone", "phone", syncd.KindText),
		w("Birthdate", "date", syncd.KindDate),
		w("HasOptedOutOfEmail", "boolean", syncd.KindBool),
		w("AccountId", "reference", syncd.KindText),
		{Name: "Full_Name__c", Type: "string", Kind: syncd.KindText, Calculated: true},
		{Name: "CreatedDate", Type: "datetime", Kind: syncd.KindDateTime},
		{Name: "Legacy_Id__c", Type: "string", Kind: syncd.KindText, Length: 20, ExternalID: true, Createable: true, Updateable: true},
		{Name: "Syncd_Id__c", Type: "string", Kind: syncd.KindText, Length: 36, ExternalID: true, Unique: true, Createable: true, Updateable: true},
		{Name: "Other_Key__c", Type: "string", Kind: syncd.KindText, Length: 255, ExternalID: true, Createable: true, Updateable: true},
		{Name: "LastModifiedDate", Type: "datetime", Kind: syncd.KindDateTime},
	}
	s := syncd.ObjectSchema{Name: "Contact", Fields: map[string]syncd.FieldInfo{}}
	for _, f := range append(fields, extra...) {
		s.Fields[f.Name] = f
	}
	return s
}

func col(name, typ string) store.Column {
	return store.Column{Name: name, Type: typ, Affinity: store.Affinity(typ)}
}

func table(name string, cols ...store.Column) *store.Table {
	return &store.Table{Name: name, Columns: cols}
}

func pk(c store.Column) store.Column { c.PrimaryKey, c.Unique = 1, true; return c }

func TestPropose(t *testing.T) {
	people := table("people",
		pk(col("person_no", "INTEGER")),
		col("first_name", "TEXT"),
		col("LASTNAME", "VARCHAR(80)"),
		col("email", "TEXT"),
		col("phone", "INTEGER"),  // would turn "0123" into 123
		col("birthdate", "DATE"), // NUMERIC affinity would turn dates into numbers
		col("has_opted_out_of_email", "BOOLEAN"),
		col("account_id", "INTEGER"),
		col("full_name", "TEXT"),
		col("created_date", "TEXT"),
		col("legacy_id", "TEXT"),
		col("notes", "TEXT"),
		col("First Name", "TEXT"),
	)
	p, err := scaffold.Propose(people, contact())
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != "person_no" || p.ExternalIDField != "Syncd_Id__c" || !p.ExternalIDFieldExists || p.ExternalIDColumn != "syncd_id" || p.SoftDeleteColumn != "deleted_at" {
		t.Errorf("key %s, external id %s/%s (exists %v), soft delete %s", p.Key, p.ExternalIDField, p.ExternalIDColumn, p.ExternalIDFieldExists, p.SoftDeleteColumn)
	}
	wantPairs := []scaffold.Pair{
		{Column: "first_name", Field: "FirstName", Type: "string", Direction: syncd.Both},
		{Column: "LASTNAME", Field: "LastName", Type: "string", Direction: syncd.Both},
		{Column: "email", Field: "Email", Type: "email", Direction: syncd.Both}, // the standard field before Email__c
		{Column: "has_opted_out_of_email", Field: "HasOptedOutOfEmail", Type: "boolean", Direction: syncd.Both},
		{Column: "full_name", Field: "Full_Name__c", Type: "string", Direction: syncd.Pull}, // a formula
		{Column: "created_date", Field: "CreatedDate", Type: "datetime", Direction: syncd.Pull},
		{Column: "legacy_id", Field: "Legacy_Id__c", Type: "string", Direction: syncd.Both},
	}
	if !reflect.DeepEqual(p.Pairs, wantPairs) {
		t.Errorf("pairs:\n%+v\nwant\n%+v", p.Pairs, wantPairs)
	}
	reasons := map[string]string{}
	for _, u := range p.Unmatched {
		reasons[u.Column] = u.Reason
	}
	for c, want := range map[string]string{
		"phone":      `Phone is a phone field, which a column declared "INTEGER" (INTEGER affinity) would change`,
		"birthdate":  `Birthdate is a date field, which a column declared "DATE" (NUMERIC affinity) would change`,
		"account_id": "AccountId is a reference",
		"notes":      "Contact has no field of that name",
		"First Name": "not a name syncd can map",
	} {
		if !strings.Contains(reasons[c], want) {
			t.Errorf("%s left out because %q, want %q", c, reasons[c], want)
		}
	}
	if len(p.Unmatched) != 5 {
		t.Errorf("unmatched = %+v", p.Unmatched)
	}
	wantDDL := []string{
		`ALTER TABLE "people" ADD COLUMN "syncd_id" TEXT;`,
		`CREATE UNIQUE INDEX "people_syncd_id_unique" ON "people" ("syncd_id");`,
		`ALTER TABLE "people" ADD COLUMN "deleted_at" TEXT;`,
	}
	if !reflect.DeepEqual(p.DDL, wantDDL) {
		t.Errorf("DDL = %q", p.DDL)
	}
}

func TestProposeKeyAndExternalID(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tbl       *store.Table
		schema    syncd.ObjectSchema
		key       string
		extField  string
		extColumn string
		exists    bool
		ddl       int
		err       string
	}{
		{name: "existing columns need no DDL",
			tbl:    table("t", pk(col("id", "INTEGER")), col("email", "TEXT"), col("syncd_id", "TEXT"), col("deleted_at", "TEXT")),
			schema: contact(), key: "id", extField: "Syncd_Id__c", extColumn: "syncd_id", exists: true, ddl: 0},
		{name: "a unique id column is the key without a primary key",
			tbl:    table("t", store.Column{Name: "id", Type: "TEXT", Affinity: "TEXT", Unique: true}, col("email", "TEXT")),
			schema: contact(), key: "id", extField: "Syncd_Id__c", extColumn: "syncd_id", exists: true, ddl: 3},
		{name: "no key",
			tbl:    table("t", col("email", "TEXT")),
			schema: contact(), err: "no single-column primary key"},
		{name: "composite key",
			tbl:    table("t", store.Column{Name: "a", Type: "TEXT", PrimaryKey: 1}, store.Column{Name: "b", Type: "TEXT", PrimaryKey: 2}, col("email", "TEXT")),
			schema: contact(), err: "no single-column primary key"},
		{name: "no field to pair",
			tbl:    table("t", pk(col("id", "INTEGER")), col("notes", "TEXT")),
			schema: contact(), err: "no column of t pairs with a field of Contact"},
		{name: "no usable external id field: the default is proposed",
			tbl: table("t", pk(col("id", "INTEGER")), col("email", "TEXT")),
			schema: syncd.ObjectSchema{Name: "Lead", Fields: map[string]syncd.FieldInfo{
				"Email":   {Name: "Email", Type: "email", Createable: true, Updateable: true},
				"Code__c": {Name: "Code__c", Type: "string", Length: 10, ExternalID: true, Createable: true},
			}},
			key: "id", extField: "Syncd_Id__c", extColumn: "syncd_id", exists: false, ddl: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := scaffold.Propose(tc.tbl, tc.schema)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Key != tc.key || p.ExternalIDField != tc.extField || p.ExternalIDColumn != tc.extColumn || p.ExternalIDFieldExists != tc.exists || len(p.DDL) != tc.ddl {
				t.Errorf("got key %s, external id %s/%s exists %v, DDL %q", p.Key, p.ExternalIDField, p.ExternalIDColumn, p.ExternalIDFieldExists, p.DDL)
			}
			if !tc.exists && (len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "create a custom field Syncd_Id__c")) {
				t.Errorf("notes = %q", p.Notes)
			}
		})
	}
}

// The written config parses, and once the printed DDL has run, passes
// the check syncd itself applies.
func TestConfigPassesCheck(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "app$1.db")
	os.Mkdir(filepath.Dir(dbPath), 0o700)
	app, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec(`CREATE TABLE people (person_no INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, full_name TEXT, notes TEXT, phone INTEGER)`); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSchema(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := s.Table(context.Background(), "people")
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	p, err := scaffold.Propose(tbl, contact())
	if err != nil {
		t.Fatal(err)
	}
	db, err := scaffold.RelativeTo(dir, dbPath)
	if err != nil || db != filepath.Join("data", "app$1.db") {
		t.Fatalf("RelativeTo = %q, %v", db, err)
	}
	text := p.Config(scaffold.Settings{
		LoginURL: "https://example.my.salesforce.com", APIVersion: "62.0", Auth: "client_credentials",
		ClientID: "3MVG9$abc", ClientSecretRef: "${SF_CLIENT_SECRET}", Database: db, StateDir: "state",
		Schedule: "*/5 * * * *", Command: "syncd init --from-table people --object Contact",
	})
	cfgPath := filepath.Join(dir, "syncd.yaml")
	if err := scaffold.WriteNew(cfgPath, text); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(text, cfgPath, func(k string) (string, bool) {
		return map[string]string{"SF_CLIENT_SECRET": "s3cret"}[k], k == "SF_CLIENT_SECRET"
	})
	if err != nil {
		t.Fatalf("the written config does not parse: %v\n%s", err, text)
	}
	if m := cfg.Objects[0].Match; len(m) != 1 || m[0].Column != "email" || m[0].Field != "Email" {
		t.Errorf("match = %+v, want email to Email", m)
	}
	if cfg.Database != dbPath || cfg.Salesforce.ClientID != "3MVG9$abc" || cfg.Salesforce.ClientSecret.Reveal() != "s3cret" {
		t.Errorf("database %s, client id %s: values do not read back", cfg.Database, cfg.Salesforce.ClientID)
	}
	for _, want := range []string{"      # notes: Contact has no field of that name", "      # phone: Phone is a phone field",
		"      full_name: { field: Full_Name__c, direction: pull }", "      soft_delete_column: deleted_at",
		"    match:  # link rows to the records that exist already", "      - { column: email, field: Email }"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if r, err := preflight.Check(context.Background(), cfg, nil); err != nil || len(r.Problems) != 2 {
		t.Fatalf("before the DDL: %+v, %v; want the external-id and soft-delete columns missing", r, err)
	}
	for _, stmt := range p.DDL {
		if _, err := app.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if r, err := preflight.Check(context.Background(), cfg, nil); err != nil || len(r.Problems) != 0 {
		var b strings.Builder
		r.WriteProblems(&b)
		t.Errorf("after the DDL: %v\n%s", err, b.String())
	}

	// Never over an existing file.
	if err := scaffold.WriteNew(cfgPath, []byte("other")); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("WriteNew over an existing file: %v", err)
	}
	if got, _ := os.ReadFile(cfgPath); string(got) != string(text) {
		t.Error("the existing config was changed")
	}
}
