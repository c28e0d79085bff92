package sf

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestStringLiteral(t *testing.T) {
	cases := map[string]string{
		"":            `''`,
		"O'Brien":     `'O\'Brien'`,
		`a\b`:         `'a\\b'`,
		`say "hi"`:    `'say \"hi\"'`,
		"l1\nl2\r\t":  `'l1\nl2\r\t'`,
		"\b\f":        `'\b\f'`,
		"a+b@x.com":   `'a+b@x.com'`,
		"x' OR Id!='": `'x\' OR Id!=\''`,
		"%_":          `'%_'`,
	}
	for in, want := range cases {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDateTimeLiteral(t *testing.T) {
	tm := time.Date(2024, 3, 1, 23, 30, 5, 999_000_000, time.FixedZone("x", -5*3600))
	if got := DateTime(tm); got != "2024-03-02T04:30:05Z" {
		t.Fatalf("DateTime = %s", got)
	}
	if strings.Contains(DateTime(tm), "+") {
		t.Fatal("datetime literal has a +")
	}
	if got := Date(time.Date(2024, 3, 1, 23, 0, 0, 0, time.UTC)); got != "2024-03-01" {
		t.Fatalf("Date = %s", got)
	}
	if _, err := DateString("2024-13-01"); err == nil {
		t.Fatal("bad date accepted")
	}
	if Bool(true) != "true" || Null() != "null" || Int(-4) != "-4" {
		t.Fatal("scalar literals")
	}
}

func TestIdent(t *testing.T) {
	for _, ok := range []string{"Id", "Contact", "Syncd_Id__c", "ns__Thing__c", "Account.Owner.Name", "Parent__r.Name"} {
		if _, err := Ident(ok); err != nil {
			t.Errorf("Ident(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1abc", "a b", "Name,Id", "Id FROM", "x'", "a..b", "_x", "x_", "Name--", "Id)"} {
		if _, err := Ident(bad); err == nil {
			t.Errorf("Ident(%q) accepted", bad)
		}
	}
}

// scanLiteral reads one SOQL string literal from the start of s the way a
// SOQL lexer does and returns its value and the rest of s.
func scanLiteral(s string) (val, rest string, ok bool) {
	if s == "" || s[0] != '\'' {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\'':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 >= len(s) {
				return "", "", false
			}
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			case 'r', 'R':
				b.WriteByte('\r')
			case 't', 'T':
				b.WriteByte('\t')
			case 'b', 'B':
				b.WriteByte('\b')
			case 'f', 'F':
				b.WriteByte('\f')
			case '"', '\'', '\\':
				b.WriteByte(s[i])
			default:
				return "", "", false // any other escape is an error in SOQL
			}
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", false
}

func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{"", "'", `\`, `\'`, "a' OR 'a'='a", "\n\r\t\b\f", `"`, "'; DELETE", "é'ü\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "?")
		}
		lit := String(s)
		// Embedded in a query, the literal must end exactly where it was
		// put: nothing after it is swallowed, nothing inside it escapes.
		q := "SELECT Id FROM Contact WHERE Name = " + lit + " AND X = 1"
		val, rest, ok := scanLiteral(q[len("SELECT Id FROM Contact WHERE Name = "):])
		if !ok {
			t.Fatalf("literal %s does not scan", lit)
		}
		if val != s {
			t.Fatalf("round trip: %q -> %s -> %q", s, lit, val)
		}
		if rest != " AND X = 1" {
			t.Fatalf("literal %s ended early; rest %q", lit, rest)
		}
		if strings.ContainsAny(lit[1:len(lit)-1], "\n\r") {
			t.Fatalf("raw line break in %q", lit)
		}
	})
}

func TestPullQuery(t *testing.T) {
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	req := syncd.PullRequest{Object: "Contact", Fields: fieldsOf(nil, "LastName", "Email", "Syncd_Id__c", "id"),
		WatermarkField: "SystemModstamp", After: syncd.Cursor{Time: at, ID: "003000000000001AAA"}, IncludeDeleted: true}
	q, err := PullQuery(req)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT LastName, Email, Syncd_Id__c, id, SystemModstamp, LastModifiedDate, IsDeleted FROM Contact " +
		"WHERE (SystemModstamp > 2024-05-01T10:00:00Z OR (SystemModstamp = 2024-05-01T10:00:00Z AND Id > '003000000000001AAA')) " +
		"ORDER BY SystemModstamp ASC, Id ASC"
	if q != want {
		t.Fatalf("got  %s\nwant %s", q, want)
	}
	req.After.ID = ""
	req.IncludeDeleted = false
	q, _ = PullQuery(req)
	if !strings.Contains(q, "WHERE SystemModstamp >= 2024-05-01T10:00:00Z ORDER BY") || strings.Contains(q, "IsDeleted") {
		t.Fatalf("no-id cursor: %s", q)
	}
	req.After = syncd.Cursor{}
	q, _ = PullQuery(req)
	if strings.Contains(q, "WHERE") {
		t.Fatalf("zero cursor: %s", q)
	}
	req.Fields = []syncd.Field{{Name: "Name FROM User --"}}
	if _, err := PullQuery(req); err == nil {
		t.Fatal("bad field accepted")
	}
	req.Fields = nil
	req.After = syncd.Cursor{Time: at, ID: "x' OR Name != '"}
	q, _ = PullQuery(req)
	if !strings.Contains(q, `Id > 'x\' OR Name != \''`) {
		t.Fatalf("id not escaped: %s", q)
	}
}
