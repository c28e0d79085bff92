package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/syncd-dev/syncd/bench/internal/org"
)

// matchLine is the object's match key in the config of row 8: a local row
// and a Contact with the same email (case-insensitively) are the same
// person.
const matchLine = "match: [{ column: email, field: Email }]"

// firstMatch: row 8, syncd adopted where both sides already hold data. The
// org has b.n Contacts with distinct emails and no Syncd_Id__c; the
// application's table, before syncd ever ran on it, has b.n rows: every
// other one holds a Contact's values under the same email (a quarter of all
// rows in another case), the others are people Salesforce does not know.
// One `syncd sync` must link the first half, create the second, pull the
// Contacts no row matched, and leave no duplicate on either side. Once with
// the default bulk_threshold (above it, matching reads the Contacts with a
// Bulk query job and the push goes through Bulk ingest jobs), once over
// REST only.
func (b *bench) firstMatch() error {
	for _, mode := range []struct {
		client, short string
		threshold     int
	}{
		{"syncd, default bulk_threshold (10,000): Bulk API 2.0", "bulk", 10000},
		{"syncd, REST only (bulk_threshold 1,000,000,000)", "rest", 1000000000},
	} {
		if err := b.firstMatchRun(mode.client, mode.short, mode.threshold); err != nil {
			return fmt.Errorf("%s: %w", mode.short, err)
		}
	}
	return nil
}

func (b *bench) firstMatchRun(client, short string, threshold int) error {
	e, err := b.startBenchEmu(b.n, false)
	if err != nil {
		return err
	}
	defer e.stop()
	contacts, err := readContacts(e)
	if err != nil {
		return err
	}
	d, err := b.dir("syncd-match-" + short)
	if err != nil {
		return err
	}
	twins, err := writeMatchRows(filepath.Join(d, "app.db"), contacts)
	if err != nil {
		return err
	}
	cfg := org.Config(e.LoginURL, e.ClientID, e.ClientSecret, "info", threshold, matchLine)
	if err := os.WriteFile(filepath.Join(d, "syncd.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	emu0, err := procCPU(e.cmd.Process.Pid)
	if err != nil {
		return err
	}
	r, rep, err := b.syncRun(d, e)
	if err != nil {
		return err
	}
	emu1, err := procCPU(e.cmd.Process.Pid)
	if err != nil {
		return err
	}
	o := rep.Objects[0]
	r.recs = o.Matched + o.Created
	chk, err := checkMatch(e, filepath.Join(d, "app.db"), contacts, twins)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("first sync, %s local rows against %s Contacts, half overlapping by email: %s matched, %s created, %d duplicates",
		count(len(contacts)), count(len(contacts)), count(o.Matched), count(o.Created), chk.duplicates())
	b.rows = append(b.rows, r.row("8", what, client, "0 duplicates"))
	b.note("Row 8, %s: `syncd sync --json` reported %d matched, %d created, %d pulled (%d local inserts, %d local updates), %d conflicts (salesforce_wins), %d held, %d failed; its cycle took %s, while the emulator used %s of CPU; its query calls: %s. Afterwards: %s Contacts, %d of them sharing an email with another (case-insensitively); %s local rows, %d linked to no Contact, %d of the rows that had a twin linked to another Contact, %d Contacts linked to no row; %s of the %s seeded Contacts were written by the sync (LastModifiedDate moved), %s now carry a Syncd_Id__c. The records column counts the rows matched or created.",
		short, o.Matched, o.Created, o.Pulled, o.Inserts, o.LocalUpdates, o.Conflicts, o.Held, o.Failed, secs3(r.inner), secs3(emu1-emu0), r.c.queries(),
		count(chk.contacts), chk.sharedEmail, count(chk.rows), chk.unlinked, chk.wrongLink, chk.contactsUnlinked,
		count(chk.seededWritten), count(len(contacts)), count(chk.seededExtID))
	if chk.duplicates() > 0 || chk.wrongLink > 0 || chk.contactsUnlinked > 0 || o.Matched != len(twins) || o.Created != len(contacts)-len(twins) {
		return fmt.Errorf("row 8 (%s): want %d matched, %d created and no duplicate; got %d matched, %d created, %+v",
			short, len(twins), len(contacts)-len(twins), o.Matched, o.Created, chk)
	}
	return nil
}

// contact is a seeded Contact: its Id, the 10 fields' values and its
// LastModifiedDate.
type contact struct {
	id       string
	values   map[string]any
	modified string
}

// readContacts reads every Contact of e, in Id order, outside the measured
// run.
func readContacts(e *emu) ([]contact, error) {
	fields := make([]string, len(org.Fields))
	for i, f := range org.Fields {
		fields[i] = f[1]
	}
	var out []contact
	err := e.query("SELECT Id, LastModifiedDate, "+strings.Join(fields, ", ")+" FROM Contact ORDER BY Id", func(rec map[string]any) error {
		id, _ := rec["Id"].(string)
		modified, _ := rec["LastModifiedDate"].(string)
		out = append(out, contact{id: id, values: rec, modified: modified})
		return nil
	})
	return out, err
}

// writeMatchRows creates the application's table at path and fills it as
// an application that never ran syncd would have: len(contacts) rows, the
// even ones a Contact's twin (its values, its email in another case for
// every other twin, a different title for one twin in ten), the odd ones
// new people. It returns the Contact Id each twin must be linked to, by the
// row's key.
func writeMatchRows(path string, contacts []contact) (map[string]string, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.Exec(org.AppSchema); err != nil {
		return nil, err
	}
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	cols := make([]string, len(org.Fields))
	for i, f := range org.Fields {
		cols[i] = f[0]
	}
	st, err := tx.Prepare(`INSERT INTO customers (id, ` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)) + `)`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	twins := map[string]string{}
	args := make([]any, len(cols)+1)
	for i, c := range contacts {
		key := i + 1
		args[0] = key
		for j, f := range org.Fields {
			if i%2 == 0 {
				args[j+1] = localValue(i, f[1], c.values[f[1]])
			} else {
				args[j+1] = newPerson(i, f[1])
			}
		}
		if i%2 == 0 {
			twins[fmt.Sprint(key)] = c.id
		}
		if _, err := st.Exec(args...); err != nil {
			return nil, err
		}
	}
	return twins, tx.Commit()
}

// localValue is the application's copy of a Contact's field in twin row i.
func localValue(i int, field string, v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		switch {
		case field == "Email" && i%4 == 0:
			// "contact17@example.com" is "Contact17@EXAMPLE.COM" here:
			// SOQL's = and IN compare text case-insensitively.
			at := strings.IndexByte(x, '@')
			return strings.ToUpper(x[:1]) + x[1:at] + strings.ToUpper(x[at:])
		case field == "Title" && i%20 == 0:
			return x + " (edited locally)"
		}
	}
	return v
}

// newPerson is field of local row i, a person Salesforce does not know.
func newPerson(i int, field string) any {
	switch field {
	case "FirstName":
		return "Local"
	case "LastName":
		return fmt.Sprintf("Person %d", i)
	case "Email":
		return fmt.Sprintf("local%d@example.org", i)
	case "Phone":
		return fmt.Sprintf("+1 212 555 %04d", i%10000)
	case "Title":
		return "Buyer"
	case "Department":
		return "Procurement"
	case "MailingCity":
		return "Lyon"
	case "MailingCountry":
		return "France"
	case "Birthdate":
		return fmt.Sprintf("19%02d-%02d-%02d", 50+i%50, 1+i%12, 1+i%28)
	case "HasOptedOutOfEmail":
		if i%10 == 1 {
			return 1
		}
		return 0
	}
	return nil
}

// matchCheck is what row 8 finds on both sides after the sync.
type matchCheck struct {
	contacts         int // Contacts in the org
	sharedEmail      int // Contacts whose email (case-insensitively) another Contact has too
	rows             int // rows of the application's table
	unlinked         int // rows linked to no Contact
	wrongLink        int // twins linked to a Contact other than their own, or rows linked to an Id the org does not have
	contactsUnlinked int // Contacts no row is linked to
	seededWritten    int // seeded Contacts whose LastModifiedDate the sync moved
	seededExtID      int // seeded Contacts that now carry a Syncd_Id__c
}

// duplicates are the people now held twice: a Contact created for a row
// that had one, or a row left without its Contact.
func (c matchCheck) duplicates() int { return c.sharedEmail + c.unlinked }

// checkMatch reads the org (over REST, outside the measured run) and the
// links in the database at path. seeded is the org before the sync.
func checkMatch(e *emu, path string, seeded []contact, twins map[string]string) (matchCheck, error) {
	var c matchCheck
	before := make(map[string]string, len(seeded))
	for _, s := range seeded {
		before[s.id] = s.modified
	}
	emails := map[string]int{}
	ids := map[string]string{}
	err := e.query("SELECT Id, Email, Syncd_Id__c, LastModifiedDate FROM Contact", func(rec map[string]any) error {
		id, _ := rec["Id"].(string)
		email, _ := rec["Email"].(string)
		email = strings.ToLower(strings.TrimSpace(email))
		ids[id] = email
		emails[email]++
		if was, ok := before[id]; ok {
			if now, _ := rec["LastModifiedDate"].(string); now != was {
				c.seededWritten++
			}
			if ext, _ := rec["Syncd_Id__c"].(string); ext != "" {
				c.seededExtID++
			}
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	c.contacts = len(ids)
	for _, email := range ids {
		if emails[email] > 1 {
			c.sharedEmail++
		}
	}
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		return c, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT CAST(c.id AS TEXT), l.sf_id FROM customers c
		LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)`)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	linked := map[string]bool{}
	for rows.Next() {
		var key string
		var sfID sql.NullString
		if err := rows.Scan(&key, &sfID); err != nil {
			return c, err
		}
		c.rows++
		switch _, known := ids[sfID.String]; {
		case !sfID.Valid:
			c.unlinked++
		case !known:
			c.wrongLink++
		case twins[key] != "" && twins[key] != sfID.String:
			c.wrongLink++
		}
		linked[sfID.String] = true
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	for id := range ids {
		if !linked[id] {
			c.contactsUnlinked++
		}
	}
	return c, nil
}
