package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OrgBinding is the Salesforce org a database syncs with (_syncd_org), and
// the login host and connected app of the session that first synced it.
type OrgBinding struct {
	OrgID    string
	LoginURL string
	ClientID string
	BoundAt  time.Time
}

// Org returns the org the database is bound to; ok is false while it is
// bound to none (no cycle has succeeded yet).
func (db *DB) Org(ctx context.Context) (b OrgBinding, ok bool, err error) {
	var at string
	err = db.r.QueryRowContext(ctx, `SELECT org_id, login_url, client_id, bound_at FROM _syncd_org WHERE id = 1`).
		Scan(&b.OrgID, &b.LoginURL, &b.ClientID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return OrgBinding{}, false, nil
	}
	if err != nil {
		return OrgBinding{}, false, fmt.Errorf("read the org of %s: %w", db.path, err)
	}
	b.BoundAt = parseTime(at)
	return b, true, nil
}

// BindOrg binds the database to an org if it is bound to none yet, and
// returns the binding in force.
func (db *DB) BindOrg(ctx context.Context, b OrgBinding) (OrgBinding, error) {
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return OrgBinding{}, fmt.Errorf("bind %s to org %s: %w", db.path, b.OrgID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_org(id, org_id, login_url, client_id, bound_at) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT(id) DO NOTHING`, b.OrgID, b.LoginURL, b.ClientID, formatTime(db.Now())); err != nil {
		return OrgBinding{}, fmt.Errorf("bind %s to org %s: %w", db.path, b.OrgID, err)
	}
	if err := tx.Commit(); err != nil {
		return OrgBinding{}, fmt.Errorf("bind %s to org %s: %w", db.path, b.OrgID, err)
	}
	got, _, err := db.Org(ctx)
	return got, err
}

// Forgotten counts what RebindOrg forgot.
type Forgotten struct {
	Links       int64 // rows linked to the old org's records
	Watermarks  int64
	Conflicts   int64 // conflicts with the old org's records, open or resolved
	DeadLetters int64 // rows the old org rejected
	Refused     int64 // records the table refused, of the old org
}

// RebindOrg binds the database to another org, in one transaction with
// forgetting everything that names the old org's records: the links (and
// their merge bases and in-flight journals), the watermarks, the
// conflicts and the dead letters. An Id of one org means nothing in
// another, and may even name an unrelated record there. The application's
// rows and their pending local changes stay; the next cycle pulls every
// record of the new org and matches rows by external id, as on a first
// sync.
func (db *DB) RebindOrg(ctx context.Context, b OrgBinding) (Forgotten, error) {
	db.forgetPlanned("")
	var f Forgotten
	tx, err := db.writeTx(ctx, false)
	if err != nil {
		return f, fmt.Errorf("rebind %s to org %s: %w", db.path, b.OrgID, err)
	}
	defer tx.Rollback()
	state, err := stateTables(ctx, tx)
	if err != nil {
		return f, fmt.Errorf("rebind %s to org %s: %w", db.path, b.OrgID, err)
	}
	for _, t := range state {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(t))
		if err != nil {
			return f, fmt.Errorf("rebind %s to org %s: %w", db.path, b.OrgID, err)
		}
		if n, _ := res.RowsAffected(); t == legacyLinks || strings.HasPrefix(t, "_syncd_link_") {
			f.Links += n
		}
	}
	for _, step := range []struct {
		n *int64
		q string
	}{
		{&f.Watermarks, `DELETE FROM _syncd_cursors`},
		{&f.Conflicts, `DELETE FROM _syncd_conflicts`},
		{&f.DeadLetters, `DELETE FROM _syncd_dead_letters`},
		{&f.Refused, `DELETE FROM _syncd_refused`},
	} {
		res, err := tx.ExecContext(ctx, step.q)
		if err != nil {
			return f, fmt.Errorf("rebind %s to org %s: %w", db.path, b.OrgID, err)
		}
		*step.n, _ = res.RowsAffected()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO _syncd_org(id, org_id, login_url, client_id, bound_at) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET org_id = excluded.org_id, login_url = excluded.login_url,
			client_id = excluded.client_id, bound_at = excluded.bound_at`,
		b.OrgID, b.LoginURL, b.ClientID, formatTime(db.Now())); err != nil {
		return f, fmt.Errorf("rebind %s to org %s: %w", db.path, b.OrgID, err)
	}
	if err := tx.Commit(); err != nil {
		return f, fmt.Errorf("rebind %s to org %s: %w", db.path, b.OrgID, err)
	}
	return f, nil
}

// stateTables lists the tables of syncd's sync state per row: the link and
// base tables of every object (mapped now or before), the journal of
// writes in flight, and the links of schema version 14 not moved yet.
func stateTables(ctx context.Context, q queryer) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND (name = ?1 OR name = ?2
		OR name LIKE '\_syncd\_link\_%' ESCAPE '\' OR name LIKE '\_syncd\_base\_%' ESCAPE '\') ORDER BY name`, inFlightTable, legacyLinks)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// SameOrg reports whether two org ids name the same org: the 18-character
// form adds a three-character checksum to the case-sensitive 15-character
// id (SOAP API Developer Guide, "Field Types", ID,
// developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm).
func SameOrg(a, b string) bool {
	if len(a) >= 15 && len(b) >= 15 {
		return a[:15] == b[:15]
	}
	return a == b
}
