package soql

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Query is a parsed SOQL SELECT statement. It is immutable after Parse and
// Validate and safe for concurrent Match/Compare calls.
type Query struct {
	// Object is the FROM object as written; Validate replaces it with the
	// schema's canonical spelling.
	Object string
	// Count is true for SELECT COUNT() (REST returns totalSize and no rows).
	Count bool
	// CountField is the argument of SELECT COUNT(field) (an aggregate query:
	// REST returns one AggregateResult row {"expr0": n}); empty otherwise.
	CountField string
	// Fields is the SELECT list as written, case preserved ("Id", "Account.Name").
	Fields []string
	// Resolved is filled by Validate: Fields with canonical spelling
	// ("account.name" -> "Account.Name"), same order. Use these as JSON keys.
	Resolved []string
	// Limit and Offset are -1 when absent.
	Limit, Offset int
	// Subqueries are the parent-to-child relationship subqueries of the
	// SELECT list ("SELECT Name, (SELECT LastName FROM Contacts) FROM
	// Account"), in SELECT-list order.
	Subqueries []*Subquery

	// Now supplies "now" for relative date literals (TODAY, LAST_N_DAYS:n...).
	// nil means time.Now. Set it to the emulator's controllable clock.
	Now func() time.Time
	// Location is the running user's time zone for relative date literals;
	// nil means UTC.
	Location *time.Location

	text      string
	objPos    int
	fieldPos  []int
	countPos  int
	where     *expr
	orderBy   []orderKey
	hasRelLit bool
}

// OrderKey is one ORDER BY item.
type OrderKey struct {
	Path       string
	Desc       bool
	NullsFirst bool
}

type orderKey struct {
	OrderKey
	pos int
	id  bool // id or reference field (set by Validate): byte order
}

// Subquery is a parent-to-child relationship subquery in the SELECT list.
// Its Query has no Subqueries of its own (one level, as before API v58).
//
// After Parse, Query.Object and Relationship are the relationship name as
// written ("contacts"). Validate (with a Schema that is also a ChildSchema)
// sets Relationship to its canonical spelling ("Contacts"), Query.Object to
// the child sObject type ("Contact") and ParentField to the child's
// reference field that points at the parent ("AccountId"), and validates the
// subquery's fields, WHERE and ORDER BY against the child type.
type Subquery struct {
	*Query
	Relationship string
	ParentField  string
	// Index is the number of entries of the outer Query's Fields that come
	// before this subquery in the SELECT list.
	Index int
}

// Text returns the query text that was parsed.
func (q *Query) Text() string { return q.text }

// HasWhere reports whether the query has a WHERE clause.
func (q *Query) HasWhere() bool { return q.where != nil }

// OrderBy returns the ORDER BY keys with defaults applied.
func (q *Query) OrderBy() []OrderKey {
	out := make([]OrderKey, len(q.orderBy))
	for i, k := range q.orderBy {
		out[i] = k.OrderKey
	}
	return out
}

// Paths returns every field path the query references (SELECT, WHERE,
// ORDER BY, COUNT(field)), deduplicated case-insensitively, in first-seen
// order. After Validate they are canonical.
func (q *Query) Paths() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		k := strings.ToLower(p)
		if p != "" && !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	for i, f := range q.Fields {
		if len(q.Resolved) == len(q.Fields) {
			f = q.Resolved[i]
		}
		add(f)
	}
	add(q.CountField)
	q.walk(func(e *expr) {
		if e.path != "" {
			add(e.path)
		}
	})
	for _, k := range q.orderBy {
		add(k.Path)
	}
	return out
}

func (q *Query) walk(fn func(*expr)) {
	var rec func(*expr)
	rec = func(e *expr) {
		if e == nil {
			return
		}
		fn(e)
		for _, k := range e.kids {
			rec(k)
		}
	}
	rec(q.where)
}

type exprKind uint8

const (
	exAnd exprKind = iota
	exOr
	exNot
	exCmp      // path op literal
	exIn       // path [NOT] IN (literals)
	exLike     // path LIKE 'pattern'
	exIncludes // path INCLUDES / EXCLUDES ('a;b', 'c')
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

type expr struct {
	kind    exprKind
	kids    []*expr
	path    string
	pathPos int
	op      cmpOp
	not     bool // NOT IN, EXCLUDES
	lit     literal
	lits    []literal
	like    []likeElem
	// Set by Validate from the field's describe type.
	idField   bool // id / reference: literals are 18-character ids, compared byte for byte
	boolField bool // boolean: a null value (no parent row) is false
}

type litKind uint8

const (
	litNull litKind = iota
	litBool
	litString
	litNumber
	litDate
	litDateTime
	litRel
)

type literal struct {
	kind litKind
	pos  int
	raw  string
	b    bool
	s    string
	n    float64
	unix int64 // litDateTime, whole seconds
	date Date
	rel  relDate
}

// reserved words that cannot be a field name in a select list or condition.
var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"IN": true, "LIKE": true, "INCLUDES": true, "EXCLUDES": true, "ORDER": true, "BY": true,
	"GROUP": true, "HAVING": true, "LIMIT": true, "OFFSET": true, "ASC": true, "DESC": true,
	"NULLS": true, "NULL": true, "TRUE": true, "FALSE": true, "WITH": true, "FOR": true,
	"USING": true, "TYPEOF": true,
}

type parser struct {
	text  string
	toks  []token
	i     int
	alias string
}

func (p *parser) stripAlias(path string) string {
	if p.alias != "" && len(path) > len(p.alias) && path[len(p.alias)] == '.' && strings.EqualFold(path[:len(p.alias)], p.alias) {
		return path[len(p.alias)+1:]
	}
	return path
}

// Parse parses a SOQL SELECT statement. Errors are *Error with Code
// MALFORMED_QUERY (or NUMBER_OUTSIDE_VALID_RANGE for OFFSET > 2000).
func Parse(text string) (*Query, error) {
	q, err := parse(text)
	if err != nil {
		return nil, err
	}
	return q, nil
}

func parse(text string) (*Query, *Error) {
	if strings.TrimSpace(text) == "" {
		// jsforce/Salesforce Inspector report this for an empty q.
		return nil, &Error{Code: CodeMalformedQuery, Message: "SOQL statements cannot be empty or null"}
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{text: text, toks: toks}
	return p.query()
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func isKw(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

func (p *parser) acceptKw(kw string) bool {
	if isKw(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

// unexpected is Salesforce's generic parser error: "unexpected token: 'X'"
// (quoted form as in current releases, e.g. "unexpected token: 'FROM'" for
// "SELECT , FROM x", seen in an EDA test fixture) and "unexpected token:
// <EOF>" at end of input.
func (p *parser) unexpected(t token) *Error {
	if t.kind == tEOF {
		return posError(CodeMalformedQuery, p.text, t.pos, false, "unexpected token: <EOF>")
	}
	return posError(CodeMalformedQuery, p.text, t.pos, false, fmt.Sprintf("unexpected token: '%s'", t.text))
}

func (p *parser) expectKw(kw string) *Error {
	if !p.acceptKw(kw) {
		return p.unexpected(p.peek())
	}
	return nil
}

func (p *parser) query() (*Query, *Error) {
	q, err := p.statement(false)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return q, nil
}

// statement parses SELECT ... FROM ... [WHERE] [ORDER BY] [LIMIT] [OFFSET].
// sub is true inside a parent-to-child subquery: the caller then expects the
// closing parenthesis. A subquery's alias (accepted by soql-parser-js) is
// its own.
func (p *parser) statement(sub bool) (*Query, *Error) {
	q := &Query{text: p.text, Limit: -1, Offset: -1}
	if sub {
		outer := p.alias
		p.alias = ""
		defer func() { p.alias = outer }()
	}
	if err := p.expectKw("SELECT"); err != nil {
		return nil, err
	}
	if err := p.selectList(q, sub); err != nil {
		return nil, err
	}
	if err := p.expectKw("FROM"); err != nil {
		return nil, err
	}
	obj := p.next()
	if obj.kind != tIdent {
		return nil, p.unexpected(obj)
	}
	q.Object, q.objPos = obj.text, obj.pos
	if t := p.peek(); t.kind == tIdent && !reserved[strings.ToUpper(t.text)] {
		// Object alias: SELECT c.Name FROM Contact c. Alias-qualified
		// paths are stored without the alias.
		p.next()
		p.alias = t.text
		for i, f := range q.Fields {
			q.Fields[i] = p.stripAlias(f)
		}
		q.CountField = p.stripAlias(q.CountField)
	}
	if p.acceptKw("WHERE") {
		e, err := p.cond()
		if err != nil {
			return nil, err
		}
		q.where = e
	}
	if isKw(p.peek(), "ORDER") {
		p.next()
		if err := p.expectKw("BY"); err != nil {
			return nil, err
		}
		for {
			path, pos, err := p.path()
			if err != nil {
				return nil, err
			}
			k := orderKey{OrderKey: OrderKey{Path: path, NullsFirst: true}, pos: pos}
			if p.acceptKw("DESC") {
				// Nulls sort as the lowest value: NULLS FIRST for ASC,
				// NULLS LAST for DESC. The ORDER BY docs say only "By
				// default, null values are sorted first"; the
				// nulls-lowest reading is the one the brief and
				// third-party guides (soqlskills.com) give. Unconfirmed.
				k.Desc, k.NullsFirst = true, false
			} else {
				p.acceptKw("ASC")
			}
			if p.acceptKw("NULLS") {
				switch {
				case p.acceptKw("FIRST"):
					k.NullsFirst = true
				case p.acceptKw("LAST"):
					k.NullsFirst = false
				default:
					return nil, p.unexpected(p.peek())
				}
			}
			q.orderBy = append(q.orderBy, k)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if p.acceptKw("LIMIT") {
		n, err := p.count()
		if err != nil {
			return nil, err
		}
		q.Limit = n
	}
	if isKw(p.peek(), "OFFSET") {
		p.next()
		n, err := p.count()
		if err != nil {
			return nil, err
		}
		if n > maxOffset {
			// github.com/SalesforceLabs/OrgCheck/issues/448: "NUMBER_OUTSIDE_VALID_RANGE:
			// Maximum SOQL offset allowed for apiName ApexClass is 2000".
			return nil, &Error{Code: CodeNumberOutsideRange,
				Message: fmt.Sprintf("Maximum SOQL offset allowed for apiName %s is %d", q.Object, maxOffset)}
		}
		q.Offset = n
	}
	return q, nil
}

// count reads a non-negative integer (LIMIT / OFFSET argument).
func (p *parser) count() (int, *Error) {
	t := p.next()
	if t.kind != tNumber || strings.ContainsAny(t.text, ".-") || t.num > math.MaxInt32 {
		return 0, p.unexpected(t)
	}
	return int(t.num), nil
}

func (p *parser) selectList(q *Query, sub bool) *Error {
	if t := p.peek(); isKw(t, "COUNT") && p.toks[p.i+1].kind == tLParen {
		if sub {
			return p.unsupported(t, "aggregate functions in a child relationship subquery")
		}
		p.i += 2
		q.countPos = t.pos
		if p.peek().kind == tRParen {
			p.next()
			q.Count = true
		} else {
			path, _, err := p.path()
			if err != nil {
				return err
			}
			if p.peek().kind != tRParen {
				return p.unexpected(p.peek())
			}
			p.next()
			q.CountField = path
		}
		if !isKw(p.peek(), "FROM") {
			// Only a bare COUNT()/COUNT(field) is supported (no GROUP BY
			// aggregates mixed with fields).
			return p.unexpected(p.peek())
		}
		return nil
	}
	for {
		t := p.peek()
		if t.kind == tLParen {
			if !isKw(p.toks[p.i+1], "SELECT") {
				return p.unexpected(t)
			}
			if sub {
				// API v58.0+ allows up to five levels; the emulator does one.
				return p.unsupported(p.toks[p.i+1], "nested child relationship subqueries")
			}
			p.next()
			cq, err := p.statement(true)
			if err != nil {
				return err
			}
			if p.peek().kind != tRParen {
				return p.unexpected(p.peek())
			}
			p.next()
			q.Subqueries = append(q.Subqueries, &Subquery{Query: cq, Relationship: cq.Object, Index: len(q.Fields)})
		} else {
			if t.kind == tIdent && p.toks[p.i+1].kind == tLParen && !reserved[strings.ToUpper(t.text)] {
				return p.unsupported(t, "functions in the SELECT list ("+t.text+"(...))")
			}
			path, pos, err := p.path()
			if err != nil {
				return err
			}
			q.Fields = append(q.Fields, path)
			q.fieldPos = append(q.fieldPos, pos)
		}
		if p.peek().kind != tComma {
			return nil
		}
		p.next()
	}
}

// unsupported reports valid SOQL this emulator does not implement. The code
// is MALFORMED_QUERY so callers fail loudly; the text says it is the emulator.
func (p *parser) unsupported(t token, what string) *Error {
	return posError(CodeMalformedQuery, p.text, t.pos, false, "sfemu: "+what+" not supported by the emulator")
}

// path reads ident ('.' ident)*.
func (p *parser) path() (string, int, *Error) {
	t := p.next()
	if t.kind != tIdent || reserved[strings.ToUpper(t.text)] {
		return "", 0, p.unexpected(t)
	}
	start, end := t.pos, t.pos+len(t.text)
	for p.peek().kind == tDot {
		dot := p.next()
		if dot.pos != end {
			return "", 0, p.unexpected(dot)
		}
		id := p.next()
		if id.kind != tIdent || id.pos != dot.pos+1 {
			return "", 0, p.unexpected(id)
		}
		end = id.pos + len(id.text)
	}
	return p.stripAlias(p.text[start:end]), start, nil
}

// cond parses a condition. SOQL has no AND/OR precedence: mixing them at
// one level without parentheses is "unexpected token: 'OR'" (or 'AND')
// (github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/522 and /issues/138; fixed by
// wrapping in parentheses).
func (p *parser) cond() (*expr, *Error) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	var kind exprKind
	var word, other string
	switch {
	case isKw(p.peek(), "AND"):
		kind, word, other = exAnd, "AND", "OR"
	case isKw(p.peek(), "OR"):
		kind, word, other = exOr, "OR", "AND"
	default:
		return first, nil
	}
	e := &expr{kind: kind, kids: []*expr{first}}
	for p.acceptKw(word) {
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		e.kids = append(e.kids, k)
	}
	if isKw(p.peek(), other) {
		return nil, p.unexpected(p.peek())
	}
	return e, nil
}

func (p *parser) unary() (*expr, *Error) {
	if p.acceptKw("NOT") {
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &expr{kind: exNot, kids: []*expr{k}}, nil
	}
	if p.peek().kind == tLParen {
		p.next()
		e, err := p.cond()
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.unexpected(p.peek())
		}
		p.next()
		return e, nil
	}
	return p.simple()
}

func (p *parser) simple() (*expr, *Error) {
	path, pos, err := p.path()
	if err != nil {
		return nil, err
	}
	e := &expr{path: path, pathPos: pos}
	t := p.next()
	switch {
	case t.kind == tOp:
		e.kind = exCmp
		e.op = map[string]cmpOp{"=": opEq, "!=": opNe, "<>": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}[t.text]
		lit, err := p.value()
		if err != nil {
			return nil, err
		}
		e.lit = lit
	case isKw(t, "NOT"):
		if err := p.expectKw("IN"); err != nil {
			return nil, err
		}
		e.kind, e.not = exIn, true
		if e.lits, err = p.list(); err != nil {
			return nil, err
		}
	case isKw(t, "IN"):
		e.kind = exIn
		if e.lits, err = p.list(); err != nil {
			return nil, err
		}
	case isKw(t, "INCLUDES"), isKw(t, "EXCLUDES"):
		e.kind, e.not = exIncludes, isKw(t, "EXCLUDES")
		if e.lits, err = p.list(); err != nil {
			return nil, err
		}
		for _, l := range e.lits {
			if l.kind != litString {
				return nil, posError(CodeMalformedQuery, p.text, l.pos, false, fmt.Sprintf("unexpected token: '%s'", l.raw))
			}
		}
	case isKw(t, "LIKE"):
		e.kind = exLike
		s := p.next()
		if s.kind != tString {
			return nil, p.unexpected(s)
		}
		pat, err := decodeString(p.text, s, true)
		if err != nil {
			return nil, err
		}
		e.like = compileLike(pat)
		e.lit = literal{kind: litString, pos: s.pos, raw: s.text, s: pat}
	default:
		return nil, p.unexpected(t)
	}
	return e, nil
}

// list parses '(' value {',' value} ')'.
func (p *parser) list() ([]literal, *Error) {
	if t := p.next(); t.kind != tLParen {
		if t.kind == tColon {
			return nil, posError(CodeMalformedQuery, p.text, t.pos, false, "Bind variables only allowed in Apex code")
		}
		return nil, p.unexpected(t)
	}
	if isKw(p.peek(), "SELECT") {
		return nil, p.unsupported(p.peek(), "semi-join subqueries")
	}
	var out []literal
	for {
		l, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		t := p.next()
		if t.kind == tRParen {
			return out, nil
		}
		if t.kind != tComma {
			return nil, p.unexpected(t)
		}
	}
}

func (p *parser) value() (literal, *Error) {
	t := p.next()
	l := literal{pos: t.pos, raw: t.text}
	switch t.kind {
	case tString:
		s, err := decodeString(p.text, t, false)
		if err != nil {
			return l, err
		}
		l.kind, l.s = litString, s
	case tNumber:
		l.kind, l.n = litNumber, t.num
	case tDate:
		l.kind, l.date = litDate, t.date
	case tDateTime:
		l.kind, l.unix = litDateTime, t.tm.Unix()
	case tColon:
		// Salesforce's text for a bind variable sent over the API.
		return l, posError(CodeMalformedQuery, p.text, t.pos, false, "Bind variables only allowed in Apex code")
	case tIdent:
		switch strings.ToUpper(t.text) {
		case "NULL":
			l.kind = litNull
		case "TRUE":
			l.kind, l.b = litBool, true
		case "FALSE":
			l.kind, l.b = litBool, false
		default:
			spec, ok := lookupRel(t.text)
			if !ok {
				return l, p.unexpected(t)
			}
			l.kind, l.rel = litRel, relDate{unit: spec.unit, mode: spec.mode, n: spec.fixed}
			if spec.fixed < 0 {
				if c := p.next(); c.kind != tColon {
					return l, p.unexpected(c)
				}
				n := p.next()
				if n.kind != tNumber || strings.ContainsAny(n.text, ".-") || n.num > math.MaxInt32 {
					return l, p.unexpected(n)
				}
				l.rel.n = int(n.num)
				l.raw = p.text[t.pos : n.pos+len(n.text)]
			}
		}
	default:
		return l, p.unexpected(t)
	}
	return l, nil
}

// LIKE patterns: '%' any run, '_' one character, '\%' '\_' '\\' literal.
// Matching is case-insensitive (SOQL LIKE docs: "case-insensitive").
type likeKind uint8

const (
	likeRune likeKind = iota
	likeOne
	likeAny
)

type likeElem struct {
	kind likeKind
	r    rune // upper-cased
}

func compileLike(pat string) []likeElem {
	var out []likeElem
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			i++
			out = append(out, likeElem{kind: likeRune, r: foldRune(rs[i])})
		case r == '%':
			if len(out) == 0 || out[len(out)-1].kind != likeAny {
				out = append(out, likeElem{kind: likeAny})
			}
		case r == '_':
			out = append(out, likeElem{kind: likeOne})
		default:
			out = append(out, likeElem{kind: likeRune, r: foldRune(r)})
		}
	}
	return out
}
