package soql

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Record is one row as the evaluator sees it.
//
// Get is called with field paths exactly as stored in the Query: as written
// in the SOQL text, or — after Validate — in the Schema's canonical spelling
// ("LastModifiedDate", "Account.Name"). Case-insensitive matching is the
// Record's job when Validate was not run. A parent path whose lookup is
// empty, or an absent field, should return (nil, false) or (nil, true); both
// mean null.
//
// Values: nil, bool, string, float64 (number/currency/percent; int, int64,
// int32 and float32 are accepted and widened), time.Time (datetime; compared
// at whole-second precision), Date (date fields). Ids and picklists are
// strings.
type Record interface {
	Get(path string) (any, bool)
}

type evalCtx struct {
	q        *Query
	haveDay  bool
	today    Date
	loc      *time.Location
	rangeErr error
}

func (c *evalCtx) todayDate() Date {
	if !c.haveDay {
		now := time.Now
		if c.q.Now != nil {
			now = c.q.Now
		}
		c.loc = c.q.Location
		if c.loc == nil {
			c.loc = time.UTC
		}
		c.today = DateOf(now().In(c.loc))
		c.haveDay = true
	}
	return c.today
}

// Match reports whether r satisfies the WHERE clause (true when there is
// none). The error is an *Error (INVALID_FIELD) when a record value's type
// cannot be compared with the literal, e.g. a datetime field against a date
// literal — Salesforce rejects such queries ("value of filter criterion for
// field 'X' must be of type dateTime and should not be enclosed in quotes").
// Validate catches these up front when a Schema is available.
func (q *Query) Match(r Record) (bool, error) {
	if q.where == nil {
		return true, nil
	}
	ctx := evalCtx{q: q}
	ok, err := ctx.eval(q.where, r)
	if err != nil {
		return false, err
	}
	return ok, nil
}

func (c *evalCtx) eval(e *expr, r Record) (bool, *Error) {
	switch e.kind {
	case exAnd:
		for _, k := range e.kids {
			ok, err := c.eval(k, r)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case exOr:
		for _, k := range e.kids {
			ok, err := c.eval(k, r)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	case exNot:
		ok, err := c.eval(e.kids[0], r)
		return !ok && err == nil, err
	}
	raw, _ := r.Get(e.path)
	v, ok := normalize(raw)
	if !ok {
		return false, &Error{Code: CodeInvalidField, Message: fmt.Sprintf("sfemu: unsupported Go value type %T for field '%s'", raw, e.path)}
	}
	if v == nil && e.boolField {
		// "In a WHERE clause that uses a Boolean field, the Boolean field
		// never has a null value. Instead, null is treated as false. Boolean
		// fields on outer-joined objects are treated as false when no
		// records match the query." (SOQL reference, "null Values in Lookup
		// Relationships and Outer Joins")
		v = false
	}
	switch e.kind {
	case exCmp:
		return c.cmp(e, &e.lit, e.op, v)
	case exIn:
		if v == nil {
			// SOQL: "Field NOT IN (...)" includes null rows, "IN" does not
			// (unless null is listed).
			for i := range e.lits {
				if e.lits[i].kind == litNull {
					return !e.not, nil
				}
			}
			return e.not, nil
		}
		for i := range e.lits {
			ok, err := c.cmp(e, &e.lits[i], opEq, v)
			if err != nil {
				return false, err
			}
			if ok {
				return !e.not, nil
			}
		}
		return e.not, nil
	case exLike:
		s, ok := v.(string)
		if !ok {
			if v == nil {
				return false, nil
			}
			return false, typeError(e, v)
		}
		return likeMatch(e.like, s), nil
	case exIncludes:
		s, ok := v.(string)
		if !ok {
			if v == nil {
				return e.not, nil
			}
			return false, typeError(e, v)
		}
		return includes(s, e.lits) != e.not, nil
	}
	return false, nil
}

// cmp evaluates "v op lit". SOQL uses two-valued logic: "x = null" matches
// nulls, "x != 'a'" matches nulls too, and ordering operators never match a
// null.
func (c *evalCtx) cmp(e *expr, lit *literal, op cmpOp, v any) (bool, *Error) {
	if lit.kind == litNull {
		if _, ok := v.(bool); ok {
			// "If you run a query on a boolean field, null matches FALSE
			// values ... WHERE Test_c = null is equivalent to WHERE Test_c =
			// false. The clause WHERE Test_c != null is equivalent to WHERE
			// Test_c = true." (SOQL reference, "Use null in WHERE")
			lit = &falseLiteral
		}
	}
	if v == nil || lit.kind == litNull {
		same := v == nil && lit.kind == litNull
		switch op {
		case opEq:
			return same, nil
		case opNe:
			return !same, nil
		}
		return false, nil
	}
	var d int
	switch lit.kind {
	case litString:
		s, ok := v.(string)
		if !ok {
			return false, typeError(e, v)
		}
		if e.idField {
			d = compareID(s, lit.s) // ids.go: case-sensitive, 15-char literal already widened
		} else {
			d = compareFold(s, lit.s)
		}
	case litNumber:
		f, ok := v.(float64)
		if !ok {
			return false, typeError(e, v)
		}
		d = cmpFloat(f, lit.n)
	case litBool:
		b, ok := v.(bool)
		if !ok {
			return false, typeError(e, v)
		}
		d = cmpInt(b2i(b), b2i(lit.b))
	case litDateTime:
		t, ok := v.(time.Time)
		if !ok {
			return false, typeError(e, v)
		}
		d = cmpInt64(t.Unix(), lit.unix)
	case litDate:
		dv, ok := v.(Date)
		if !ok {
			return false, typeError(e, v)
		}
		d = dv.Compare(lit.date)
	case litRel:
		from, to := lit.rel.bounds(c.todayDate())
		var lo, hi int
		switch x := v.(type) {
		case Date:
			lo, hi = x.Compare(from), x.Compare(to)
		case time.Time:
			u := x.Unix()
			lo, hi = cmpInt64(u, from.Time(c.loc).Unix()), cmpInt64(u, to.Time(c.loc).Unix())
		default:
			return false, typeError(e, v)
		}
		// v in [from, to) <=> lo >= 0 && hi < 0
		switch op {
		case opEq:
			return lo >= 0 && hi < 0, nil
		case opNe:
			return !(lo >= 0 && hi < 0), nil
		case opLt:
			return lo < 0, nil
		case opLe:
			return hi < 0, nil
		case opGt:
			return hi >= 0, nil
		case opGe:
			return lo >= 0, nil
		}
		return false, nil
	}
	switch op {
	case opEq:
		return d == 0, nil
	case opNe:
		return d != 0, nil
	case opLt:
		return d < 0, nil
	case opLe:
		return d <= 0, nil
	case opGt:
		return d > 0, nil
	case opGe:
		return d >= 0, nil
	}
	return false, nil
}

var falseLiteral = literal{kind: litBool, b: false}

// typeError is Salesforce's message for a literal of the wrong type, e.g.
// "value of filter criterion for field 'Start_Date_vod__c' must be of type
// date and should not be enclosed in quotes" (github.com/jpmonette/q/issues/25,
// github.com/django-salesforce/django-salesforce/issues/10).
func typeError(e *expr, v any) *Error {
	name := e.path
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	var typ string
	switch v.(type) {
	case string:
		typ = "string"
	case float64:
		typ = "double"
	case bool:
		typ = "boolean"
	case time.Time:
		typ = "dateTime"
	case Date:
		typ = "date"
	}
	return filterTypeError(name, typ)
}

func filterTypeError(field, typ string) *Error {
	quotes := "should not be enclosed in quotes"
	if typ == "string" {
		quotes = "should be enclosed in quotes"
	}
	return &Error{Code: CodeInvalidField,
		Message: fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and %s", field, typ, quotes)}
}

// includes: multi-select picklist semantics. Each literal may itself be
// "a;b" meaning "has both a and b"; the row matches if any literal matches.
func includes(value string, lits []literal) bool {
	for i := range lits {
		all := true
		for _, want := range strings.Split(lits[i].s, ";") {
			want = strings.TrimSpace(want)
			found := false
			for _, have := range strings.Split(value, ";") {
				if compareFold(strings.TrimSpace(have), want) == 0 {
					found = true
					break
				}
			}
			if !found {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	return unicode.ToUpper(r)
}

// likeMatch matches s against the compiled pattern, case-insensitively,
// without allocating (greedy wildcard matching with single backtrack point).
func likeMatch(pat []likeElem, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		r, n := rune(s[si]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[si:])
		}
		if pi < len(pat) {
			switch el := pat[pi]; el.kind {
			case likeAny:
				starP, starS = pi, si
				pi++
				continue
			case likeOne:
				pi++
				si += n
				continue
			case likeRune:
				if foldRune(r) == el.r {
					pi++
					si += n
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Backtrack: let the last % swallow one more rune.
		_, n2 := utf8.DecodeRuneInString(s[starS:])
		starS += n2
		si = starS
		pi = starP + 1
	}
	for pi < len(pat) && pat[pi].kind == likeAny {
		pi++
	}
	return pi == len(pat)
}

// Compare orders two records by the ORDER BY clause: -1 if a sorts before
// b, +1 after, 0 if equal on every key (or no ORDER BY). Text compares
// case-insensitively (upper-cased, ORDER BY docs "Sorting is case
// insensitive"), datetimes at second precision. Nulls: see OrderKey
// defaults (ASC → NULLS FIRST, DESC → NULLS LAST) unless NULLS FIRST/LAST is
// written.
func (q *Query) Compare(a, b Record) int {
	for i := range q.orderBy {
		k := &q.orderBy[i].OrderKey
		ra, _ := a.Get(k.Path)
		rb, _ := b.Get(k.Path)
		va, _ := normalize(ra)
		vb, _ := normalize(rb)
		var d int
		switch {
		case va == nil && vb == nil:
			continue
		case va == nil:
			if k.NullsFirst {
				return -1
			}
			return 1
		case vb == nil:
			if k.NullsFirst {
				return 1
			}
			return -1
		default:
			if x, ok := va.(string); ok && q.orderBy[i].id {
				if y, ok := vb.(string); ok {
					d = compareID(x, y) // same order as WHERE Id > '...' (keyset paging)
					break
				}
			}
			d = compareValues(va, vb)
		}
		if d == 0 {
			continue
		}
		if k.Desc {
			return -d
		}
		return d
	}
	return 0
}
