// Package customers is the sample application that `syncd demo`, the tests
// and the benchmarks sync: a customers table in SQLite whose rows are
// Salesforce Contacts, linked by the external id Syncd_Id__c. Its columns,
// the table's DDL, the syncd.yaml that maps it and the mapping cmd/syncd
// builds from that file are defined here once, so that every copy syncs the
// same table the same way.
package customers

import (
	"fmt"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The table, its Salesforce object and the columns every variant has.
const (
	Table            = "customers"
	Object           = "Contact"
	Key              = "id"          // INTEGER PRIMARY KEY
	ExternalIDColumn = "sync_id"     // TEXT UNIQUE, filled by syncd's trigger
	ExternalIDField  = "Syncd_Id__c" // the Contact's external id field
	DeletedColumn    = "deleted_at"  // set when the Contact is deleted in Salesforce
)

// A Column is a mapped column of the customers table and the Contact field
// it holds.
type Column struct {
	Name  string // SQLite column
	Type  string // its declared type
	Field string // Contact field API name
	// Pull maps it from Salesforce to SQLite only.
	Pull bool
}

// PullOnly returns c mapped from Salesforce to SQLite only.
func (c Column) PullOnly() Column {
	c.Pull = true
	return c
}

// The columns the samples map.
var (
	FirstName  = Column{Name: "first_name", Type: "TEXT", Field: "FirstName"}
	LastName   = Column{Name: "last_name", Type: "TEXT", Field: "LastName"}
	Email      = Column{Name: "email", Type: "TEXT", Field: "Email"}
	Phone      = Column{Name: "phone", Type: "TEXT", Field: "Phone"}
	Title      = Column{Name: "title", Type: "TEXT", Field: "Title"}
	Department = Column{Name: "department", Type: "TEXT", Field: "Department"}
	City       = Column{Name: "city", Type: "TEXT", Field: "MailingCity"}
	Country    = Column{Name: "country", Type: "TEXT", Field: "MailingCountry"}
	Birthdate  = Column{Name: "birthdate", Type: "TEXT", Field: "Birthdate"}
	OptedOut   = Column{Name: "opted_out", Type: "INTEGER", Field: "HasOptedOutOfEmail"}
	// FullName is a formula field in the emulator's Contact (FirstName
	// LastName): read-only in Salesforce.
	FullName = Column{Name: "full_name", Type: "TEXT", Field: "Full_Name__c"}
)

// Basic is the columns every variant maps: a person's name and email.
var Basic = []Column{FirstName, LastName, Email}

// Wide is the ten columns the benchmarks move, in their order.
var Wide = []Column{FirstName, LastName, Email, Phone, Title, Department, City, Country, Birthdate, OptedOut}

// Schema returns the CREATE TABLE statement of the customers table with
// cols between its key and its external id column. It creates the table
// only if it does not exist yet, so a kept demo directory can run again.
func Schema(cols ...Column) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + Table + " (\n")
	line := func(name, decl, end string) { fmt.Fprintf(&b, "\t%-10s %s%s\n", name, decl, end) }
	line(Key, "INTEGER PRIMARY KEY", ",")
	for _, c := range cols {
		line(c.Name, c.Type, ",")
	}
	line(ExternalIDColumn, "TEXT UNIQUE", ",")
	line(DeletedColumn, "TEXT", "")
	b.WriteString(")")
	return b.String()
}

// Mapping returns the mapping cmd/syncd builds from a Config with cols and
// no Object lines, with internal/config's defaults (LastModifiedDate,
// salesforce_wins, 10 minutes of lookback, 5 seconds of safety lag, pages of
// 2,000, Salesforce deletes set deleted_at, local deletes stay local), but
// REST only: BulkThreshold is 0 where the config's default is 10,000, and a
// caller that wants Bulk API 2.0 sets it. Fields are writable until describe
// says otherwise, as in cmd/syncd.
func Mapping(cols ...Column) *syncd.Mapping {
	m := &syncd.Mapping{
		Object: Object, Table: Table, Key: Key,
		ExternalIDField: ExternalIDField, ExternalIDColumn: ExternalIDColumn,
		Watermark: "LastModifiedDate", Conflict: syncd.SalesforceWins,
		Lookback: 10 * time.Minute, SafetyLag: 5 * time.Second, BatchSize: 2000,
		FromSalesforce: syncd.SoftDelete, SoftDeleteColumn: DeletedColumn, FromLocal: syncd.IgnoreLocalDelete,
	}
	for _, c := range cols {
		dir := syncd.Both
		if c.Pull {
			dir = syncd.Pull
		}
		m.Fields = append(m.Fields, syncd.Field{Column: c.Name, Name: c.Field, Direction: dir, Writable: true})
	}
	return m
}

// Config is a syncd.yaml that syncs the customers table with one org
// through the client credentials flow. The parts that vary are fields;
// String writes the file.
type Config struct {
	Comment      string // a comment line on top, without its "# "; none when empty
	LoginURL     string
	APIVersion   string // none when empty (syncd's default)
	ClientID     string
	ClientSecret string
	Schedule     string
	// Settings are more top-level lines after schedule, such as
	// "log_format: json".
	Settings []string
	// Object are more lines of the Contact object before its fields, such as
	// "conflict: salesforce_wins".
	Object []string
	// Fields are mapped in this order; fields: is the file's last key, so a
	// caller may append more of its lines.
	Fields []Column
}

// String returns the file's text.
func (c Config) String() string {
	var b strings.Builder
	if c.Comment != "" {
		b.WriteString("# " + c.Comment + "\n")
	}
	b.WriteString("salesforce:\n  login_url: " + c.LoginURL + "\n")
	if c.APIVersion != "" {
		fmt.Fprintf(&b, "  api_version: %q\n", c.APIVersion)
	}
	b.WriteString("  auth: client_credentials\n")
	b.WriteString("  client_id: " + c.ClientID + "\n")
	b.WriteString("  client_secret: " + c.ClientSecret + "\n")
	b.WriteString("database: app.db\nstate_dir: state\n")
	fmt.Fprintf(&b, "schedule: %q\n", c.Schedule)
	for _, s := range c.Settings {
		b.WriteString(s + "\n")
	}
	b.WriteString("objects:\n")
	fmt.Fprintf(&b, "  - sobject: %s\n", Object)
	for _, s := range append([]string{
		"table: " + Table,
		"key: " + Key,
		fmt.Sprintf("external_id: { field: %s, column: %s }", ExternalIDField, ExternalIDColumn),
	}, c.Object...) {
		b.WriteString("    " + s + "\n")
	}
	b.WriteString("    fields:\n")
	for _, f := range c.Fields {
		if f.Pull {
			fmt.Fprintf(&b, "      %s: { field: %s, direction: pull }\n", f.Name, f.Field)
		} else {
			fmt.Fprintf(&b, "      %s: %s\n", f.Name, f.Field)
		}
	}
	return b.String()
}
