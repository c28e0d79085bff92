package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// What Install does for the sync state of each mapping (state.go): create
// its link and base tables or bring them in line with the table, move the
// links of schema version 14 over, and give fields mapped since the last
// install no synced value.

// legacyLinks is the table of links before schema version 15.
const legacyLinks = "_syncd_links"

// ensureState creates a mapping's link and base tables, or changes them
// to what the table now declares: a base column for a newly mapped column,
// tables built again when the key's declaration changed.
func ensureState(ctx context.Context, tx *sql.Tx, p *mapPlan) error {
	linkSQL, err := tableSQL(ctx, tx, p.linkName)
	if err != nil {
		return err
	}
	if linkSQL != p.linkDDL() {
		if err := rebuild(ctx, tx, p.linkName, p.linkDDL(), linkSQL != "", []string{"row_key", "sf_id", "stamp", "fp"}); err != nil {
			return fmt.Errorf("link table of %s: %w", p.m.Object, err)
		}
		if _, err := tx.ExecContext(ctx, p.linkIndexDDL()); err != nil {
			return fmt.Errorf("link table of %s: %w", p.m.Object, err)
		}
	}
	baseSQL, err := tableSQL(ctx, tx, p.baseName)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	if baseSQL != "" {
		cols, err := readTable(ctx, tx, p.baseName)
		if err != nil {
			return err
		}
		key := cols.cols[strings.ToLower(p.m.Key)]
		sameKey := key.pk == 1 && strings.EqualFold(key.declType, "TEXT") && cols.noRowid
		if !sameKey {
			var common []string
			for _, c := range append([]string{p.m.Key, unsyncedColumn}, p.baseCols...) {
				if cols.has(c) {
					common = append(common, c)
				}
			}
			if !cols.has(p.m.Key) {
				common = nil // another key: the old bases name other rows
			}
			if err := rebuild(ctx, tx, p.baseName, p.baseDDL(), true, common); err != nil {
				return fmt.Errorf("base table of %s: %w", p.m.Object, err)
			}
			return nil
		}
		for name := range cols.cols {
			have[name] = true
		}
	} else if _, err := tx.ExecContext(ctx, p.baseDDL()); err != nil {
		return fmt.Errorf("base table of %s: %w", p.m.Object, err)
	} else {
		return nil
	}
	for _, c := range p.baseCols {
		if !have[strings.ToLower(c)] {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+p.base+` ADD COLUMN `+quoteIdent(c)); err != nil {
				return fmt.Errorf("base table of %s: %w", p.m.Object, err)
			}
		}
	}
	return nil
}

// tableSQL is the CREATE statement of a table, or "" if there is none.
func tableSQL(ctx context.Context, q queryer, name string) (string, error) {
	var s string
	err := rowQuery(ctx, q, `SELECT coalesce(sql, '') FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// rebuild creates table name as ddl declares it, keeping the rows of the
// table it replaces (when exists) in the columns keep.
func rebuild(ctx context.Context, tx *sql.Tx, name, ddl string, exists bool, keep []string) error {
	if !exists {
		_, err := tx.ExecContext(ctx, ddl)
		return err
	}
	tmp := name + "_new"
	stmts := []string{
		`DROP TABLE IF EXISTS ` + quoteIdent(tmp),
		strings.Replace(ddl, quoteIdent(name), quoteIdent(tmp), 1),
	}
	if len(keep) > 0 {
		cols := make([]string, len(keep))
		for i, c := range keep {
			cols[i] = quoteIdent(c)
		}
		list := strings.Join(cols, ", ")
		stmts = append(stmts, `INSERT OR IGNORE INTO `+quoteIdent(tmp)+` (`+list+`) SELECT `+list+` FROM `+quoteIdent(name))
	}
	// The capture triggers name the table: legacy_alter_table keeps the
	// rename from checking them against a schema it is changing.
	stmts = append(stmts, `PRAGMA legacy_alter_table = ON`, `DROP TABLE `+quoteIdent(name),
		`ALTER TABLE `+quoteIdent(tmp)+` RENAME TO `+quoteIdent(name), `PRAGMA legacy_alter_table = OFF`)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// installedFields reads the fields a mapping had when last installed, as
// "field\x00column" keys; nil when unknown (installed before version 15,
// or never).
func installedFields(ctx context.Context, tx *sql.Tx, object string) (map[string]bool, error) {
	var list sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT fields FROM _syncd_mappings WHERE object = ?`, object).Scan(&list)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !list.Valid) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pairs [][2]string
	if err := json.Unmarshal([]byte(list.String), &pairs); err != nil {
		return nil, fmt.Errorf("installed fields of %s: %w", object, err)
	}
	out := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		out[p[0]+"\x00"+strings.ToLower(p[1])] = true
	}
	return out, nil
}

// fieldsJSON is what _syncd_mappings.fields records of a mapping.
func fieldsJSON(m *syncd.Mapping) string {
	pairs := make([][2]string, len(m.Fields))
	for i, f := range m.Fields {
		pairs[i] = [2]string{f.Name, f.Column}
	}
	b, _ := json.Marshal(pairs)
	return string(b)
}

// markNewFields gives the fields mapped since the last install no synced
// value in every link: they were never synced. A row then needs its base
// kept apart, made from its current values (the fields synced before
// keep theirs: the row equals them). The next pull of the record, which
// the watermark reset of a newly pulled field brings, gives them one.
func markNewFields(ctx context.Context, tx *sql.Tx, p *mapPlan, before map[string]bool) error {
	if before == nil {
		return nil
	}
	var added []string
	for _, f := range p.fields {
		if !before[f.Name+"\x00"+strings.ToLower(f.Column)] {
			added = append(added, f.Name)
		}
	}
	if len(added) == 0 {
		return nil
	}
	list, _ := json.Marshal(added)
	key := quoteIdent(p.m.Key)
	if _, err := tx.ExecContext(ctx, `UPDATE `+p.base+` SET `+unsyncedColumn+` = (SELECT json_group_array(value) FROM (
			SELECT value FROM json_each(coalesce(`+p.base+`.`+unsyncedColumn+`, '[]')) UNION SELECT value FROM json_each(?)))
		WHERE `+unsyncedColumn+` IS NOT '`+baseLost+`'`, string(list)); err != nil {
		return fmt.Errorf("fields newly mapped to %s: %w", p.m.Object, err)
	}
	var cols strings.Builder
	for _, c := range p.baseCols[1:] {
		cols.WriteString(", t." + quoteIdent(c))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+p.base+` (`+key+`, `+p.baseColumnList("")+`, `+unsyncedColumn+`)
		SELECT l.row_key, CASE WHEN l.fp & 1 THEN t.`+quoteIdent(p.m.ExternalIDColumn)+` END`+cols.String()+`, ?
		FROM `+p.tbl+` t JOIN `+p.link+` l ON `+linkKey("l.row_key", "t."+key)+`
		WHERE NOT EXISTS (SELECT 1 FROM `+p.base+` b WHERE b.`+key+` = l.row_key)`, string(list)); err != nil {
		return fmt.Errorf("fields newly mapped to %s: %w", p.m.Object, err)
	}
	return nil
}

// convertLegacy moves the links of a mapping from the table of schema
// version 14, with a shadow copy per row, into its link and base tables,
// chunk by chunk, in Install's transaction. A row whose values equal its
// shadow (as stored: the check needs no field types, which Install does
// not know, and a doubt keeps the base) is its own base; any other keeps
// the shadow's values as its base, so a change not yet pushed or a
// conflict still has the base it was found against. A field missing from
// the shadow stays without a synced value. Writes in flight move to their
// own table.
func convertLegacy(ctx context.Context, tx *sql.Tx, p *mapPlan) error {
	if s, err := tableSQL(ctx, tx, legacyLinks); err != nil || s == "" {
		return err
	}
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	w := &stateWriter{p: p, sc: sc, bases: true}
	var after int64
	for {
		n, last, err := convertChunk(ctx, tx, w, after)
		if err != nil {
			return fmt.Errorf("move the links of %s: %w", p.m.Object, err)
		}
		if n == 0 {
			return nil
		}
		after = last
	}
}

const convertChunkSize = 1000

func convertChunk(ctx context.Context, tx *sql.Tx, w *stateWriter, after int64) (int, int64, error) {
	p := w.p
	rows, err := tx.QueryContext(ctx, `SELECT id, row_key, sf_id, stamp, shadow, in_flight FROM `+legacyLinks+`
		WHERE object = ? AND id > ? ORDER BY id LIMIT ?`, p.m.Object, after, convertChunkSize)
	if err != nil {
		return 0, 0, err
	}
	type legacy struct {
		key, sfID, stamp, shadow string
		inFlight                 sql.NullString
	}
	var all []legacy
	var last int64
	for rows.Next() {
		var l legacy
		var sfID, stamp sql.NullString
		if err := rows.Scan(&last, &l.key, &sfID, &stamp, &l.shadow, &l.inFlight); err != nil {
			rows.Close()
			return 0, 0, err
		}
		l.sfID, l.stamp = sfID.String, stamp.String
		all = append(all, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(all) == 0 {
		return 0, 0, err
	}
	keys := make([]string, len(all))
	for i, l := range all {
		keys[i] = l.key
	}
	stored, err := p.readStored(ctx, tx, keys)
	if err != nil {
		return 0, 0, err
	}
	var links []linkWrite
	var keep []string
	bases := map[string]map[string]syncd.Value{}
	for _, l := range all {
		shadow, err := decodeValues(l.shadow)
		if err != nil {
			return 0, 0, fmt.Errorf("row %s: shadow: %w", l.key, err)
		}
		synced := make(map[string]syncd.Value, len(p.names))
		for _, n := range p.names {
			if v, ok := shadow[n]; ok {
				synced[n] = v
			}
		}
		if _, ok := synced[p.m.ExternalIDField]; !ok {
			synced[p.m.ExternalIDField] = nil // none in Salesforce
		}
		row := stored[l.key]
		ext := synced[p.m.ExternalIDField]
		held := row != nil && ext != nil && sameStored(row[0], ext)
		differs := row != nil && ext != nil && !held
		for i, f := range p.fields {
			v, ok := synced[f.Name]
			if row == nil {
				break
			}
			if !ok || !sameStored(row[1+i], v) {
				differs = true
			}
		}
		links = append(links, linkWrite{key: l.key, sfID: l.sfID, stamp: parseTime(l.stamp),
			fp: linkFP(syncd.Fingerprint(p.names, syncd.FieldsOf(synced)), held)})
		if differs {
			keep = append(keep, l.key)
			bases[l.key] = synced
		}
		if l.inFlight.Valid && l.inFlight.String != "" {
			if _, err := w.sc.exec(`INSERT OR REPLACE INTO `+inFlightTable+`(object, row_key, fields) VALUES (?, ?, ?)`,
				p.m.Object, l.key, l.inFlight.String); err != nil {
				return 0, 0, err
			}
		}
	}
	if err := w.putLinks(links); err != nil {
		return 0, 0, err
	}
	for _, k := range keep {
		if err := w.putBase(k, syncd.FieldsOf(bases[k])); err != nil {
			return 0, 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+legacyLinks+` WHERE object = ? AND id <= ?`, p.m.Object, last); err != nil {
		return 0, 0, err
	}
	return len(all), last, nil
}

// readStored reads rows as stored, without converting them: the external
// id, then each field's column, by key.
func (p *mapPlan) readStored(ctx context.Context, q queryer, keys []string) (map[string][]any, error) {
	out := make(map[string][]any, len(keys))
	err := p.eachSelected(ctx, q, keys, func(raw []any) error {
		out[asString(raw[0])] = slices.Clone(raw[1 : len(raw)-1])
		return nil
	})
	return out, err
}

// sameStored reports whether a value as SQLite stores it is certainly the
// canonical value v: what toSQLite binds for v, or what a column of
// numeric affinity makes of it. Anything else may differ.
func sameStored(raw any, v syncd.Value) bool {
	bound, err := toSQLite(v)
	if err != nil {
		return false
	}
	if b, ok := raw.([]byte); ok {
		raw = string(b)
	}
	switch b := bound.(type) {
	case nil:
		return raw == nil
	case int64:
		switch r := raw.(type) {
		case int64:
			return r == b
		case float64:
			return r == float64(b) && math.Abs(r) < 1<<53
		}
	case string:
		switch r := raw.(type) {
		case time.Time:
			// The driver reads a DATE or DATETIME column's text as a time:
			// the date or the instant, as the store reads them back.
			return b == r.Format("2006-01-02") || b == syncd.FormatDateTime(r)
		case string:
			return r == b
		case int64, float64:
			d, ok := v.(syncd.Decimal)
			if !ok {
				return false
			}
			var text string
			if i, ok := r.(int64); ok {
				text = strconv.FormatInt(i, 10)
			} else {
				text = strconv.FormatFloat(r.(float64), 'f', -1, 64)
			}
			got, err := syncd.ParseDecimal(text)
			return err == nil && got == d
		}
	}
	return false
}

// dropLegacyIfEmpty drops the table of schema version 14's links once
// every link has moved (objects no longer mapped keep theirs there until
// mapped again).
func dropLegacyIfEmpty(ctx context.Context, tx *sql.Tx) error {
	if s, err := tableSQL(ctx, tx, legacyLinks); err != nil || s == "" {
		return err
	}
	if n, err := hasRows(ctx, tx, legacyLinks); err != nil || n {
		return err
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE `+legacyLinks)
	return err
}

// rowStatusView is the _syncd_row_status view over the mappings: for each,
// the rows it has a link, a pending change, a dead letter or an open
// conflict for. The lookup of one row (WHERE tbl = ? AND row_key = ?)
// reaches every arm, which seeks on its key.
func rowStatusView(plans []*mapPlan) string {
	if len(plans) == 0 {
		return `CREATE VIEW _syncd_row_status AS
SELECT NULL AS tbl, NULL AS object, NULL AS row_key, NULL AS sf_id, NULL AS status, NULL AS error_code,
    NULL AS error_message, NULL AS attempts, NULL AS next_retry, NULL AS synced_at
WHERE 0`
	}
	sorted := append([]*mapPlan(nil), plans...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].m.Object < sorted[j].m.Object })
	arms := make([]string, len(sorted))
	for i, p := range sorted {
		obj, tbl := quoteString(p.m.Object), quoteString(p.m.Table)
		arms[i] = `SELECT DISTINCT ` + tbl + ` AS tbl, ` + obj + ` AS object, k.row_key AS row_key, l.sf_id AS sf_id,
    CASE
        WHEN EXISTS (SELECT 1 FROM _syncd_conflicts c WHERE c.object = ` + obj + ` AND c.row_key = k.row_key AND c.resolved_at IS NULL) THEN 'conflict'
        WHEN EXISTS (SELECT 1 FROM _syncd_outbox o WHERE o.tbl = ` + tbl + ` AND o.row_key = k.row_key AND o.done = 0) THEN 'pending'
        WHEN d.row_key IS NOT NULL THEN 'failed'
        WHEN l.sf_id IS NOT NULL THEN 'synced'
        ELSE 'unsynced'
    END AS status,
    d.code AS error_code, d.message AS error_message, d.attempts AS attempts, d.next_retry AS next_retry,
    strftime('%Y-%m-%dT%H:%M:%fZ', l.stamp / 1000.0, 'unixepoch') AS synced_at
FROM (
    SELECT row_key FROM ` + p.link + `
    UNION ALL SELECT row_key FROM _syncd_outbox WHERE tbl = ` + tbl + ` AND done = 0
    UNION ALL SELECT row_key FROM _syncd_dead_letters WHERE object = ` + obj + `
    UNION ALL SELECT row_key FROM _syncd_conflicts WHERE object = ` + obj + ` AND resolved_at IS NULL
) k
LEFT JOIN ` + p.link + ` l ON l.row_key = k.row_key
LEFT JOIN _syncd_dead_letters d ON d.object = ` + obj + ` AND d.row_key = k.row_key`
	}
	return "CREATE VIEW _syncd_row_status AS\n" + strings.Join(arms, "\nUNION ALL\n")
}

// fingerprintSpec names the fields and kinds link fingerprints of m are
// computed over: a change of it (a field no longer mapped, a type changed
// in Salesforce) makes every fingerprint computed again.
func fingerprintSpec(m *syncd.Mapping) string {
	var b strings.Builder
	for _, f := range m.Fields {
		fmt.Fprintf(&b, "%s:%s:%s;", f.Name, f.Kind, strings.ToLower(f.Column))
	}
	b.WriteString(m.ExternalIDField)
	parts := strings.Split(b.String(), ";")
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// refingerprint computes every link fingerprint of a mapping again, over
// its fields as Capture now knows them, from each row's merge base (kept
// apart, or the row itself). A row changed while capture was off before
// the change is taken as synced: its old fingerprint no longer applies.
func (db *DB) refingerprint(ctx context.Context, m *syncd.Mapping, spec string) error {
	db.forgetPlanned(m.Object)
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	p, err := db.plan(ctx, tx, m)
	if err != nil {
		return err
	}
	var keys []string
	rows, err := tx.QueryContext(ctx, `SELECT row_key FROM `+p.link)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k any
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, asString(k))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sc := newStmtCache(ctx, tx)
	defer sc.close()
	for start := 0; start < len(keys); start += chunkSize {
		chunk := keys[start:min(start+chunkSize, len(keys))]
		st, err := p.readState(ctx, tx, chunk)
		if err != nil {
			return err
		}
		for _, k := range chunk {
			l := st.links[k]
			synced, lost := p.synced(l, st.bases[k], st.current[k])
			if lost {
				continue
			}
			fp := linkFP(syncd.Fingerprint(p.names, synced), l.extHeld())
			if _, err := sc.exec(`UPDATE `+p.link+` SET fp = ? WHERE row_key = ?`, int64(fp), k); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _syncd_mappings SET fingerprint = ? WHERE object = ?`, spec, m.Object); err != nil {
		return err
	}
	return tx.Commit()
}
