// Package preflight checks that a config and the application's database fit
// each other before syncd installs itself: the database file, the mapped
// tables and their key, field, external-id and soft-delete columns, and,
// given the org's describe, the mapped field names and the columns'
// declared types. It reads the database read-only and changes nothing.
//
// Every problem names the config's file:line and, where SQL can fix it, the
// exact statement to run; the operator reviews and runs it.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/syncd-dev/syncd/internal/config"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Describer reads an object's describe: the Salesforce client.
type Describer interface {
	Describe(ctx context.Context, object string) (syncd.ObjectSchema, error)
}

// Problem is one reason syncd cannot run on the config and database as
// they are.
type Problem struct {
	// Error says where (file:line and key path) and what.
	*config.Error
	// Fix is the SQL that fixes it, statement by statement, when SQL can.
	Fix []string
	// Hint says what else would fix it, or why no SQL is given.
	Hint string
}

// Report is what Check found.
type Report struct {
	Database string   // the database's path
	Objects  []Object // one per mapped object, in config order
	Problems []Problem
	// Online is set when the fields were checked against the org's describe.
	Online bool
}

// Object is what Check saw of one mapping.
type Object struct {
	Object, Table string
	Columns       []Column // one per mapped field, in config order
}

// Column is one mapped column with what each side declares.
type Column struct {
	Column, Field string
	Direction     syncd.Direction
	// Declared and Affinity are the column's declared type and SQLite
	// affinity; Missing when the table has no such column.
	Declared, Affinity string
	Missing            bool
	// Type is the field's describe type (online only); ReadOnly marks a
	// field Salesforce does not let syncd write, which is then pulled only.
	Type     string
	ReadOnly bool
}

// Check checks cfg's objects against the database at cfg.Database and,
// when d is not nil, against the org's describe of each object. Problems go
// into the report; the error is for what stopped the check itself (an I/O
// error, Salesforce out of reach or refusing the session).
func Check(ctx context.Context, cfg *config.Config, d Describer) (*Report, error) {
	c := &checker{cfg: cfg, rep: &Report{Database: cfg.Database, Online: d != nil}}
	db, err := store.OpenSchema(ctx, cfg.Database)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		c.problem("database", nil, "syncd works on the application's existing database and never creates one; check the path (a relative path is relative to the config file)",
			"%s does not exist", cfg.Database)
	case errors.Is(err, store.ErrNotSQLite):
		c.problem("database", nil, "", "%s is not an SQLite database", cfg.Database)
	case err != nil:
		return nil, err
	default:
		defer db.Close()
		if c.tables, err = db.Tables(ctx); err != nil {
			return nil, err
		}
	}
	for i, o := range cfg.Objects {
		if err := c.object(ctx, i, o, db, d); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(c.rep.Problems, func(i, j int) bool { return lineOrder(c.rep.Problems[i]) < lineOrder(c.rep.Problems[j]) })
	return c.rep, nil
}

// lineOrder sorts problems by line, those without one last.
func lineOrder(p Problem) int {
	if p.Line <= 0 {
		return int(^uint(0) >> 1)
	}
	return p.Line
}

type checker struct {
	cfg    *config.Config
	rep    *Report
	tables []string // the application's tables, when the database opened
}

func (c *checker) problem(key string, fix []string, hint, format string, args ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{Error: c.cfg.ErrorAt(key, format, args...), Fix: fix, Hint: hint})
}

// object checks one mapping. db is nil when the database did not open.
func (c *checker) object(ctx context.Context, i int, o config.Object, db *store.Schema, d Describer) error {
	p := fmt.Sprintf("objects[%d]", i)
	m := o.Mapping()
	resolved := map[string]bool{} // columns whose field's Kind is known
	if d != nil {
		var err error
		if resolved, err = c.describe(ctx, p, m, d); err != nil {
			return err
		}
	}
	rep := Object{Object: m.Object, Table: m.Table}
	for _, f := range m.Fields {
		rep.Columns = append(rep.Columns, Column{Column: f.Column, Field: f.Name, Direction: f.Direction, Type: f.Type,
			ReadOnly: resolved[f.Column] && !f.Writable, Missing: true})
	}
	defer func() { c.rep.Objects = append(c.rep.Objects, rep) }()
	if db == nil {
		return nil
	}
	// decl is the type a new column for f should be declared with.
	decl := func(f syncd.Field) string {
		if resolved[f.Column] {
			return store.DeclFor(f.Kind)
		}
		return "TEXT"
	}
	t, err := db.Table(ctx, m.Table)
	if err != nil {
		return err
	}
	if t == nil {
		cols := []store.ColumnDef{{Name: m.Key, Decl: "INTEGER PRIMARY KEY"}}
		for _, f := range m.Fields {
			cols = append(cols, store.ColumnDef{Name: f.Column, Decl: decl(f)})
		}
		cols = append(cols, store.ColumnDef{Name: m.ExternalIDColumn, Decl: "TEXT UNIQUE"})
		if m.FromSalesforce == syncd.SoftDelete && m.SoftDeleteColumn != "" {
			cols = append(cols, store.ColumnDef{Name: m.SoftDeleteColumn, Decl: "TEXT"})
		}
		msg := fmt.Sprintf("table %s does not exist in %s", m.Table, c.cfg.Database)
		if s := config.Suggest(m.Table, c.tables); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(c.tables) > 0 {
			msg += " (its tables: " + strings.Join(c.tables, ", ") + ")"
		}
		c.problem(p+".table", []string{store.CreateTableSQL(m.Table, cols)}, c.typeHint(len(m.Fields)), "%s", msg)
		return nil
	}
	if t.View {
		c.problem(p+".table", nil, "", "%s is a view; syncd needs a table, whose changes its triggers capture", t.Name)
		return nil
	}
	names := t.ColumnNames()
	missing := func(col string) string {
		if s := config.Suggest(col, names); s != "" {
			return fmt.Sprintf("; did you mean %q?", s)
		}
		return ""
	}

	if k, ok := t.Column(m.Key); !ok {
		hint := "SQLite cannot add a primary key to an existing table: name a column that tells the rows apart"
		if pk := t.PrimaryKey(); len(pk) == 1 {
			hint = fmt.Sprintf("the table's primary key is %s: set key: %s", pk[0], pk[0])
		}
		c.problem(p+".key", nil, hint, "table %s has no column %s (the key)%s", t.Name, m.Key, missing(m.Key))
	} else if !k.Unique {
		c.problem(p+".key", []string{store.UniqueIndexSQL(t.Name, k.Name)},
			"syncd tells rows apart by the key: it must be the primary key or have a unique index of its own",
			"column %s of table %s is neither its primary key nor unique", k.Name, t.Name)
	}

	for j, f := range m.Fields {
		key := p + ".fields." + f.Column
		col, ok := t.Column(f.Column)
		if !ok {
			c.problem(key, []string{store.AddColumnSQL(t.Name, f.Column, decl(f))}, c.typeHint(1),
				"table %s has no column %s (mapped from %s.%s)%s", t.Name, f.Column, m.Object, f.Name, missing(f.Column))
			continue
		}
		rc := &rep.Columns[j]
		rc.Declared, rc.Affinity, rc.Missing = col.Type, col.Affinity, false
		if col.Generated && f.Pulls() {
			c.problem(key, nil, fmt.Sprintf("map it { field: %s, direction: push }, or map another column", f.Name),
				"column %s of table %s is generated by SQLite and cannot hold pulled values", col.Name, t.Name)
		}
		if resolved[f.Column] {
			if err := t.AffinityError(m, f); err != nil {
				c.problem(key, nil, fmt.Sprintf("SQLite cannot change a column's declared type in place: rebuild the table declaring %s %s (\"ALTER TABLE\", section \"Making Other Kinds Of Table Schema Changes\", https://www.sqlite.org/lang_altertable.html)",
					col.Name, store.DeclFor(f.Kind)), "%s", err)
			}
		}
	}

	// A column syncd leaves NULL when it inserts the row of a record
	// created in Salesforce: the table refuses every such record.
	pulled := map[string]bool{strings.ToLower(m.Key): true, strings.ToLower(m.ExternalIDColumn): true}
	for _, f := range m.Fields {
		if f.Pulls() {
			pulled[strings.ToLower(f.Column)] = true
		}
	}
	for _, col := range t.Columns {
		if col.NotNull && !col.HasDefault && !col.Generated && col.PrimaryKey == 0 && !pulled[strings.ToLower(col.Name)] {
			c.problem(p+".fields", nil,
				fmt.Sprintf("map it to a field that is never empty (%s: SomeField), or rebuild the table giving it a DEFAULT: SQLite cannot add one to a column in place (\"ALTER TABLE\", https://www.sqlite.org/lang_altertable.html)", col.Name),
				"column %s of table %s is NOT NULL without a default, and no field pulled from %s fills it: the table would refuse the row of every %s created in Salesforce",
				col.Name, t.Name, m.Object, m.Object)
		}
	}

	if _, ok := t.Column(m.ExternalIDColumn); !ok {
		c.problem(p+".external_id.column",
			[]string{store.AddColumnSQL(t.Name, m.ExternalIDColumn, "TEXT"), store.UniqueIndexSQL(t.Name, m.ExternalIDColumn)},
			"syncd fills it with a UUID for every row, and Salesforce records carry the same value in "+m.ExternalIDField,
			"table %s has no column %s (the external id, paired with %s.%s)%s", t.Name, m.ExternalIDColumn, m.Object, m.ExternalIDField, missing(m.ExternalIDColumn))
	}

	if problem, fix, err := db.ExternalIDColumnMoved(ctx, m); err != nil {
		return err
	} else if problem != "" {
		c.problem(p+".external_id.column", fix, "or keep external_id.column as it was", "%s", problem)
	}
	if m.FromSalesforce == syncd.SoftDelete {
		key := p + ".deletes.soft_delete_column"
		if _, ok := t.Column(m.SoftDeleteColumn); !ok {
			why := "deletes.from_salesforce: soft"
			if c.cfg.Line(p+".deletes.from_salesforce") == 0 {
				why += " (the default)"
			}
			c.problem(key, []string{store.AddColumnSQL(t.Name, m.SoftDeleteColumn, "TEXT")},
				"or set deletes: { from_salesforce: ignore } to leave a row alone when its record is deleted in Salesforce, or hard to delete the row",
				"table %s has no column %s, which %s sets to the time a record is deleted in Salesforce%s", t.Name, m.SoftDeleteColumn, why, missing(m.SoftDeleteColumn))
		}
	}
	return nil
}

// typeHint explains, offline, why n new columns are declared TEXT.
func (c *checker) typeHint(n int) string {
	if c.rep.Online || n == 0 {
		return ""
	}
	return "TEXT holds any field's values; `syncd check --online` declares each column by its field's type"
}

// describe checks a mapping's field names against the object's describe,
// fills the Kind and writability of the fields it finds (as the engine's
// Resolve does before every cycle), and returns the columns it resolved.
func (c *checker) describe(ctx context.Context, p string, m *syncd.Mapping, d Describer) (map[string]bool, error) {
	resolved := map[string]bool{}
	schema, err := d.Describe(ctx, m.Object)
	if err != nil {
		if errors.Is(err, syncd.ErrPermanent) {
			c.problem(p+".sobject", nil, "", "describe %s: %v", m.Object, err)
			return resolved, nil
		}
		return nil, fmt.Errorf("describe %s: %w", m.Object, err)
	}
	var names, extNames []string
	for n, f := range schema.Fields {
		names = append(names, n)
		if f.ExternalID {
			extNames = append(extNames, n)
		}
	}
	slices.Sort(names)
	slices.Sort(extNames)
	nearest := func(name string, among []string) string {
		if s := config.Suggest(name, among); s != "" {
			return fmt.Sprintf("; did you mean %s?", s)
		}
		return ""
	}
	for i, f := range m.Fields {
		info, ok := schema.Fields[f.Name]
		if !ok {
			c.problem(p+".fields."+f.Column, nil, "", "%s has no field %s (mapped from column %s)%s", m.Object, f.Name, f.Column, nearest(f.Name, names))
			continue
		}
		m.Fields[i].Type, m.Fields[i].Kind = info.Type, info.Kind
		m.Fields[i].Writable = !info.Calculated && (info.Createable || info.Updateable)
		resolved[f.Column] = true
	}
	if info, ok := schema.Fields[m.ExternalIDField]; !ok {
		hint := "create a custom Text(36) field marked Unique and External ID"
		if len(extNames) > 0 {
			hint += ", or name one of its External ID fields: " + strings.Join(extNames, ", ")
		}
		c.problem(p+".external_id.field", nil, hint, "%s has no field %s (the external id)%s", m.Object, m.ExternalIDField, nearest(m.ExternalIDField, extNames))
	} else if !info.ExternalID {
		c.problem(p+".external_id.field", nil, "mark it External ID (and Unique) in Setup, or name a field that is",
			"%s.%s is not marked External ID in Salesforce", m.Object, m.ExternalIDField)
	} else if !info.Unique {
		// Records may share a value of an External ID field that is not
		// Unique: an upsert by a value several records hold is refused
		// with a 300 error, and upserting by such a field at all needs the
		// View All Data permission ("Upsert Records Using sObject Rows by
		// External ID", REST API Developer Guide). Two records pulled with
		// one value would name one row.
		c.problem(p+".external_id.field", nil, "mark it Unique in Setup (Salesforce refuses while records share a value), or name a field that is",
			"%s.%s is not marked Unique in Salesforce: two records could hold one external id", m.Object, m.ExternalIDField)
	}
	if _, ok := schema.Fields[m.Watermark]; !ok {
		c.problem(p+".watermark", nil, "", "%s has no field %s (the watermark)", m.Object, m.Watermark)
	}
	return resolved, nil
}
