// Package linkshape measures the shapes syncd's per-row link could take in
// SQLite (the table that ties a local row to its Salesforce record) and the
// cost of a lazily captured merge base, with syncd's driver
// (modernc.org/sqlite) and syncd's connection settings. It holds tests and
// benchmarks only. `go test ./bench/linkshape` runs the small correctness
// tests (a few seconds); the measurements run with -bench, or as one
// markdown table with
//
//	LINKSHAPE_TABLE=1 go test ./bench/linkshape -run TestPrintTable -v -timeout 0
//
// README.md in this directory has the numbers and what they recommend.
package linkshape

import (
	"fmt"
	"strconv"
	"strings"
)

// layout is where a shape keeps its links.
type layout int

const (
	// noLinks: the application's table alone, the baseline the other
	// shapes' costs are measured against.
	noLinks layout = iota
	// rowidLinks: today's _syncd_links, a rowid table with (object, row_key)
	// as a unique index.
	rowidLinks
	// noRowidLinks: a WITHOUT ROWID table keyed by (object, row_key).
	noRowidLinks
	// perObjectLinks: one rowid table per object whose rowid is the row key.
	perObjectLinks
	// perObjectTextLinks: one WITHOUT ROWID table per object keyed by a TEXT
	// row key, for tables whose key is not a rowid.
	perObjectTextLinks
	// appColumns: no link table; sf_id, stamp and the fingerprint are
	// columns of the application's table (Heroku Connect's shape).
	appColumns
)

// sfForm is how a Salesforce Id is stored.
type sfForm int

const (
	sfText18 sfForm = iota // the 18-character Id the API returns, as TEXT
	sfBlob15               // the 15-character case-sensitive Id's bytes, as a BLOB
)

// stampForm is how the record's stamp (SystemModstamp) is stored.
type stampForm int

const (
	stampText stampForm = iota // RFC 3339 text, as the store writes it today
	stampMS                    // Unix milliseconds, an INTEGER
)

// fpForm is how the 64-bit fingerprint is stored.
type fpForm int

const (
	fpInt  fpForm = iota // INTEGER: 8 bytes for a hash
	fpNone               // no fingerprint column
	fpHex                // 16 hexadecimal digits, TEXT
	fpBlob               // 8 bytes, BLOB
)

// shape is one way to store the links, with the statements syncd would
// run against it.
type shape struct {
	id, desc string
	layout   layout
	// legacy is today's table (shape A): every column, the shadow, and the
	// store's own statements.
	legacy  bool
	objInt  bool // object as a small INTEGER instead of its name
	keyText bool // row_key as TEXT (today); otherwise the integer itself
	sf      sfForm
	stamp   stampForm
	fp      fpForm
}

// shapes are the alternatives measured, the baseline first.
var shapes = []*shape{
	{id: "app", desc: "the application's table alone (baseline)", layout: noLinks},
	{id: "A", desc: "today: rowid table, shadow and all columns", layout: rowidLinks, legacy: true, keyText: true},
	{id: "B", desc: "today's table with object, row_key, sf_id, stamp only", layout: rowidLinks, keyText: true, fp: fpNone},
	{id: "C/text", desc: "WITHOUT ROWID (object, row_key TEXT)", layout: noRowidLinks, keyText: true},
	{id: "C/int", desc: "WITHOUT ROWID (object, row_key integer)", layout: noRowidLinks},
	{id: "E/C+obj", desc: "C/int, object INTEGER", layout: noRowidLinks, objInt: true},
	{id: "E/C+obj+ms", desc: "C/int, object INTEGER, stamp INTEGER ms", layout: noRowidLinks, objInt: true, stamp: stampMS},
	{id: "E/C+obj+sf15", desc: "C/int, object INTEGER, sf_id BLOB(15)", layout: noRowidLinks, objInt: true, sf: sfBlob15},
	{id: "E/C+obj+sf15+ms", desc: "C/int, object INTEGER, sf_id BLOB(15), stamp INTEGER ms", layout: noRowidLinks, objInt: true, sf: sfBlob15, stamp: stampMS},
	{id: "D", desc: "per-object rowid table, row_key is the rowid", layout: perObjectLinks},
	{id: "E/D+ms", desc: "D, stamp INTEGER ms", layout: perObjectLinks, stamp: stampMS},
	{id: "E/D+sf15", desc: "D, sf_id BLOB(15)", layout: perObjectLinks, sf: sfBlob15},
	{id: "E/D+sf15+ms", desc: "D, sf_id BLOB(15), stamp INTEGER ms (= G/int)", layout: perObjectLinks, sf: sfBlob15, stamp: stampMS},
	{id: "G/none", desc: "E/D+sf15+ms without a fingerprint", layout: perObjectLinks, sf: sfBlob15, stamp: stampMS, fp: fpNone},
	{id: "G/hex", desc: "E/D+sf15+ms, fingerprint as 16 hex digits TEXT", layout: perObjectLinks, sf: sfBlob15, stamp: stampMS, fp: fpHex},
	{id: "G/blob", desc: "E/D+sf15+ms, fingerprint as 8-byte BLOB", layout: perObjectLinks, sf: sfBlob15, stamp: stampMS, fp: fpBlob},
	{id: "D/text+ms", desc: "per-object WITHOUT ROWID table, row_key TEXT, stamp INTEGER ms", layout: perObjectTextLinks, keyText: true, stamp: stampMS},
	{id: "F", desc: "no link table: sf_id, stamp, fp on the app table", layout: appColumns},
	{id: "F+sf15+ms", desc: "F, sf_id BLOB(15), stamp INTEGER ms", layout: appColumns, sf: sfBlob15, stamp: stampMS},
}

func shapeByID(id string) *shape {
	for _, s := range shapes {
		if s.id == id {
			return s
		}
	}
	return nil
}

const (
	appTable = "customers" // customers.Table
	object   = "Contact"
	objectID = int64(1) // the object's number where object is an INTEGER
)

// table is the table that holds the links.
func (s *shape) table() string {
	switch s.layout {
	case perObjectLinks, perObjectTextLinks:
		return "_syncd_customers_link"
	case appColumns, noLinks:
		return appTable
	}
	return "_syncd_links"
}

// key is the column that holds the row key.
func (s *shape) key() string {
	if s.layout == appColumns {
		return "id"
	}
	return "row_key"
}

// hasObject reports whether the links carry an object column.
func (s *shape) hasObject() bool { return s.layout == rowidLinks || s.layout == noRowidLinks }

func (s *shape) sfType() string {
	if s.sf == sfBlob15 {
		return "BLOB"
	}
	return "TEXT"
}

func (s *shape) stampType() string {
	if s.stamp == stampMS {
		return "INTEGER"
	}
	return "TEXT"
}

func (s *shape) fpType() string {
	switch s.fp {
	case fpHex:
		return "TEXT"
	case fpBlob:
		return "BLOB"
	}
	return "INTEGER"
}

// linkCols are the link's columns after the row key, in statement order.
func (s *shape) linkCols() []string {
	cols := []string{"sf_id", "stamp"}
	if s.fp != fpNone {
		cols = append(cols, "fp")
	}
	return cols
}

// ddl creates the shape's tables and indexes (the application's table
// exists already).
func (s *shape) ddl() []string {
	fpCol := ""
	if s.fp != fpNone {
		fpCol = ", fp " + s.fpType()
	}
	objType := "TEXT"
	if s.objInt {
		objType = "INTEGER"
	}
	// An integer row key is declared without a type: no affinity, so an
	// integer key is stored as an integer (ordered as a number, 1-8 bytes)
	// and a text key stays text. INTEGER affinity would turn the text key
	// '007' into 7.
	keyType := ""
	if s.keyText {
		keyType = " TEXT"
	}
	switch s.layout {
	case rowidLinks:
		if s.legacy {
			// Migration 0007's table, as it stands today.
			return []string{`CREATE TABLE _syncd_links (
				id            INTEGER PRIMARY KEY,
				object        TEXT NOT NULL,
				row_key       TEXT NOT NULL,
				sf_id         TEXT,
				ext_id        TEXT,
				stamp         TEXT,
				last_modified TEXT,
				shadow        TEXT NOT NULL DEFAULT '{}',
				updated_at    TEXT,
				in_flight     TEXT,
				UNIQUE (object, row_key))`,
				`CREATE UNIQUE INDEX _syncd_links_sf_id ON _syncd_links (object, sf_id)`}
		}
		return []string{fmt.Sprintf(`CREATE TABLE _syncd_links (id INTEGER PRIMARY KEY, object %s NOT NULL, row_key%s NOT NULL,
			sf_id %s, stamp %s%s, UNIQUE (object, row_key))`, objType, keyType, s.sfType(), s.stampType(), fpCol),
			`CREATE UNIQUE INDEX _syncd_links_sf_id ON _syncd_links (object, sf_id)`}
	case noRowidLinks:
		return []string{fmt.Sprintf(`CREATE TABLE _syncd_links (object %s NOT NULL, row_key%s NOT NULL,
			sf_id %s, stamp %s%s, PRIMARY KEY (object, row_key)) WITHOUT ROWID`, objType, keyType, s.sfType(), s.stampType(), fpCol),
			`CREATE UNIQUE INDEX _syncd_links_sf_id ON _syncd_links (object, sf_id)`}
	case perObjectLinks:
		return []string{fmt.Sprintf(`CREATE TABLE _syncd_customers_link (row_key INTEGER PRIMARY KEY, sf_id %s, stamp %s%s)`,
			s.sfType(), s.stampType(), fpCol),
			`CREATE UNIQUE INDEX _syncd_customers_link_sf_id ON _syncd_customers_link (sf_id)`}
	case perObjectTextLinks:
		return []string{fmt.Sprintf(`CREATE TABLE _syncd_customers_link (row_key TEXT PRIMARY KEY, sf_id %s, stamp %s%s) WITHOUT ROWID`,
			s.sfType(), s.stampType(), fpCol),
			`CREATE UNIQUE INDEX _syncd_customers_link_sf_id ON _syncd_customers_link (sf_id)`}
	case appColumns:
		out := []string{
			`ALTER TABLE customers ADD COLUMN sf_id ` + s.sfType(),
			`ALTER TABLE customers ADD COLUMN stamp ` + s.stampType(),
		}
		if s.fp != fpNone {
			out = append(out, `ALTER TABLE customers ADD COLUMN fp `+s.fpType())
		}
		return append(out, `CREATE UNIQUE INDEX customers_sf_id ON customers (sf_id)`)
	}
	return nil
}

// Values as each shape stores them.

func (s *shape) objVal() any {
	if s.objInt {
		return objectID
	}
	return object
}

func (s *shape) keyVal(d *dataset, i int) any {
	if s.keyText {
		return strconv.FormatInt(d.key(i), 10)
	}
	return d.key(i)
}

func (s *shape) sfVal(d *dataset, i int) any {
	if s.sf == sfBlob15 {
		return []byte(d.sf18[i][:15])
	}
	return d.sf18[i]
}

func (s *shape) stampVal(d *dataset, i, gen int) any {
	if s.stamp == stampMS {
		return d.stampMS(i, gen)
	}
	return d.stampText(i, gen)
}

func (s *shape) fpVal(d *dataset, i, gen int) any {
	switch s.fp {
	case fpHex:
		return fmt.Sprintf("%016x", uint64(d.fp(i, gen)))
	case fpBlob:
		return fpBytes(d.fp(i, gen))
	}
	return d.fp(i, gen)
}

// stmtRows is how many rows one multi-row statement binds, as in
// internal/store (stmtRows there).
const stmtRows = 64

func valuesList(rows, n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// upsert returns the statement that writes rows links, new or existing,
// and how many parameters it binds per row. It has the form of the store's
// link statement (apply.go, linkRows): one INSERT ... SELECT FROM (VALUES
// ...) ON CONFLICT DO UPDATE per 64 rows, the object bound once.
func (s *shape) upsert(rows int) (string, int) {
	if s.legacy {
		// linkRows' statement for records whose shadow is complete.
		return `INSERT INTO _syncd_links(object, row_key, sf_id, ext_id, stamp, last_modified, shadow, updated_at)
		SELECT ?, v.column1, v.column2, coalesce(v.column3, (SELECT sync_id FROM customers WHERE id = v.column1)),
			v.column4, v.column5, v.column6, ?
		FROM (VALUES ` + valuesList(rows, 6) + `) AS v WHERE true
		ON CONFLICT(object, row_key) DO UPDATE SET
			sf_id = coalesce(excluded.sf_id, _syncd_links.sf_id),
			ext_id = coalesce(excluded.ext_id, _syncd_links.ext_id),
			stamp = coalesce(excluded.stamp, _syncd_links.stamp),
			last_modified = coalesce(excluded.last_modified, _syncd_links.last_modified),
			shadow = excluded.shadow,
			updated_at = excluded.updated_at`, 6
	}
	t, k, cols := s.table(), s.key(), s.linkCols()
	n := 1 + len(cols)
	var sel, set []string
	for j := range n {
		sel = append(sel, fmt.Sprintf("v.column%d", j+1))
	}
	for _, c := range cols {
		if c == "sf_id" {
			set = append(set, "sf_id = coalesce(excluded.sf_id, "+t+".sf_id)")
		} else {
			set = append(set, c+" = excluded."+c)
		}
	}
	target := k
	insCols := append([]string{k}, cols...)
	if s.hasObject() {
		sel = append([]string{"?"}, sel...)
		insCols = append([]string{"object"}, insCols...)
		target = "object, " + k
	}
	return fmt.Sprintf("INSERT INTO %s(%s) SELECT %s FROM (VALUES %s) AS v WHERE true ON CONFLICT(%s) DO UPDATE SET %s",
		t, strings.Join(insCols, ", "), strings.Join(sel, ", "), valuesList(rows, n), target, strings.Join(set, ", ")), n
}

// upsertHead is the arguments the upsert binds once, before its rows.
func (s *shape) upsertHead(now string) []any {
	switch {
	case s.legacy:
		return []any{object, now}
	case s.hasObject():
		return []any{s.objVal()}
	}
	return nil
}

// upsertRow appends row i's arguments after pull gen.
func (s *shape) upsertRow(d *dataset, i, gen int, dst []any) []any {
	if s.legacy {
		// No external id: the store reads it from the row the pull just
		// inserted, whose trigger gave it one.
		st := d.stampText(i, gen)
		return append(dst, s.keyVal(d, i), d.sf18[i], nil, st, st, d.shadow(i, gen))
	}
	dst = append(dst, s.keyVal(d, i), s.sfVal(d, i), s.stampVal(d, i, gen))
	if s.fp != fpNone {
		dst = append(dst, s.fpVal(d, i, gen))
	}
	return dst
}

// selectCols is what a lookup reads: today's lookups read the shadow and
// in-flight values (internal/store/local.go), the new shapes the stamp and
// fingerprint.
func (s *shape) selectCols() string {
	if s.legacy {
		return "row_key, sf_id, ext_id, shadow, in_flight"
	}
	return s.key() + " AS row_key, " + strings.Join(s.linkCols(), ", ")
}

func (s *shape) where() string {
	if s.hasObject() {
		return "object = ? AND "
	}
	return ""
}

// bySF looks up n links by Salesforce Id, as a pull does.
func (s *shape) bySF(n int) string {
	// Without sqlite_stat1, SQLite estimates that an equality on the key's
	// first column (object = ?) matches about ten rows, and prefers reading
	// all the object's links in key order to 500 seeks in the Id index.
	// The store names the index for that reason (internal/store/local.go).
	indexed := ""
	if s.hasObject() {
		indexed = " INDEXED BY _syncd_links_sf_id"
	}
	return "SELECT " + s.selectCols() + " FROM " + s.table() + indexed + " WHERE " + s.where() + "sf_id IN (" + placeholders(n) + ")"
}

// byKey looks up n links by row key, as a push of pending rows does.
func (s *shape) byKey(n int) string {
	return "SELECT " + s.selectCols() + " FROM " + s.table() + " WHERE " + s.where() + s.key() + " IN (" + placeholders(n) + ")"
}

// lookupHead is the arguments a lookup binds before its list.
func (s *shape) lookupHead() []any {
	if s.hasObject() {
		return []any{s.objVal()}
	}
	return nil
}

// scan reads every link of the object.
func (s *shape) scan() string {
	cols := "row_key, sf_id, stamp"
	if s.layout == appColumns {
		cols = "id, sf_id, stamp"
	}
	where := ""
	if s.hasObject() {
		where = " WHERE object = ?"
	}
	return "SELECT " + cols + " FROM " + s.table() + where
}

// verify joins every row of the application's table to its link, as the
// store's verify does (internal/store/scan.go).
func (s *shape) verify() string {
	switch s.layout {
	case appColumns:
		return "SELECT id, sf_id, stamp FROM customers"
	case perObjectLinks:
		return "SELECT t.id, l.sf_id, l.stamp FROM customers t LEFT JOIN " + s.table() + " l ON l.row_key = t.id"
	case perObjectTextLinks:
		return "SELECT t.id, l.sf_id, l.stamp FROM customers t LEFT JOIN " + s.table() + " l ON l.row_key = CAST(t.id AS TEXT)"
	}
	// An untyped row_key compared with the INTEGER t.id takes the numeric
	// affinity, which the (object, row_key) key cannot answer: SQLite then
	// seeks on object alone and reads every link of the object per row
	// (measured: 2 s for 4,321 rows). The unary + strips t.id's affinity.
	key := "+t.id"
	if s.keyText {
		key = "CAST(t.id AS TEXT)"
	}
	return "SELECT t.id, l.sf_id, l.stamp FROM customers t LEFT JOIN _syncd_links l ON l.object = ? AND l.row_key = " + key
}
