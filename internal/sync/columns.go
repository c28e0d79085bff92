package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ColumnTyper is the optional capability of a Local to report the declared
// types of a table's columns (by lower-cased name), so that a mapping whose
// column cannot hold its field's values stops before it corrupts them.
type ColumnTyper interface {
	ColumnTypes(ctx context.Context, table string) (map[string]string, error)
}

// affinity is SQLite's type affinity of a declared type (the rules of
// "Determination Of Column Affinity" in sqlite.org/datatype3.html, in their
// order).
func affinity(decl string) string {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return "INTEGER"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return "TEXT"
	case d == "" || strings.Contains(d, "BLOB"):
		return "BLOB"
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}

// CheckColumns refuses a mapping whose local column would change its
// field's values: text in a column of numeric affinity is converted when it
// looks like a number ("0123" becomes 123, "1e3" becomes 1000), and so are
// dates; a decimal in an INTEGER or REAL column loses exactness.
func CheckColumns(m *Mapping, declared map[string]string) error {
	var errs []error
	for _, f := range m.Fields {
		decl, ok := declared[strings.ToLower(f.Column)]
		if !ok {
			continue // missing columns are reported by the store's Check
		}
		aff := affinity(decl)
		numeric := aff == "INTEGER" || aff == "REAL" || aff == "NUMERIC"
		kind := kindOf(f.Type)
		switch {
		case f.Lookup != "":
			// holds the parent row's key, whatever its type
		case (kind == kindText || kind == kindDate || kind == kindDateTime || kind == kindTime) && numeric:
			errs = append(errs, fmt.Errorf("%s.%s is declared %s (%s affinity) but %s.%s is a %s field: SQLite would turn number-like text such as \"0123\" into a number; declare the column TEXT",
				m.Table, f.Column, decl, aff, m.Object, f.Name, f.Type))
		case kind == kindDecimal && (aff == "INTEGER" || aff == "REAL") && f.Type != "double":
			errs = append(errs, fmt.Errorf("%s.%s is declared %s but %s.%s is a %s field: exact decimals need a TEXT or NUMERIC column",
				m.Table, f.Column, decl, m.Object, f.Name, f.Type))
		}
	}
	return errors.Join(errs...)
}
