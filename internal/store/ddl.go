package store

import (
	"fmt"
	"strings"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The statements `syncd check` and `syncd init` print for an operator to
// review and run against the application's database.

// DeclFor is the declared type a new column should have to hold a field of
// kind k unchanged (see Fits): TEXT for text, dates and times, INTEGER for
// integers and booleans (0/1), REAL for doubles and NUMERIC for exact
// decimals (currency, percent).
func DeclFor(k syncd.Kind) string {
	switch k {
	case syncd.KindBool, syncd.KindInt:
		return "INTEGER"
	case syncd.KindDouble:
		return "REAL"
	case syncd.KindDecimal:
		return "NUMERIC"
	}
	return "TEXT"
}

// AddColumnSQL is the ALTER TABLE statement that adds a column.
func AddColumnSQL(table, column, decl string) string {
	s := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", quoteIdent(table), quoteIdent(column))
	if decl != "" {
		s += " " + decl
	}
	return s + ";"
}

// UniqueIndexName is the name UniqueIndexSQL gives the index: the
// application's, not prefixed _syncd_, so that `syncd uninstall` keeps it
// with the column.
func UniqueIndexName(table, column string) string { return table + "_" + column + "_unique" }

// UniqueIndexSQL is the statement that makes a column unique.
func UniqueIndexSQL(table, column string) string {
	return fmt.Sprintf("CREATE UNIQUE INDEX %s ON %s (%s);",
		quoteIdent(UniqueIndexName(table, column)), quoteIdent(table), quoteIdent(column))
}

// ColumnDef is a column of a table to create.
type ColumnDef struct {
	Name string
	Decl string // e.g. "TEXT", "INTEGER PRIMARY KEY", "TEXT UNIQUE"
}

// CreateTableSQL is the CREATE TABLE statement of a table with cols, one
// per line.
func CreateTableSQL(table string, cols []ColumnDef) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", quoteIdent(table))
	for i, c := range cols {
		fmt.Fprintf(&b, "    %s %s", quoteIdent(c.Name), c.Decl)
		if i < len(cols)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(");")
	return b.String()
}
