package sfemu

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Hand-written JSON encoding for records: query pages must be produced at well over
// 50,000 records/s, which reflection-based encoding of per-record maps does not reach.
// internal/store has a string writer much like appendJSONString for its own field sets; this
// one stays separate because the emulator imports nothing of syncd's (see the package doc).

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJavaDouble renders a double the way Salesforce's Java JSON writer does
// (Double.toString: 1500.0, 1.5E7) — inferred; clients parse either form as a number.
func appendJavaDouble(b []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(b, "null"...)
	}
	ax := math.Abs(x)
	if ax == 0 || (ax >= 1e-3 && ax < 1e7) {
		n := len(b)
		b = strconv.AppendFloat(b, x, 'f', -1, 64)
		if !strings.Contains(string(b[n:]), ".") {
			b = append(b, '.', '0')
		}
		return b
	}
	s := strconv.FormatFloat(x, 'E', -1, 64) // 1.5E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	b = append(b, mant...)
	b = append(b, 'E')
	return strconv.AppendInt(b, int64(e), 10)
}

func appendValue(b []byte, f *Field, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case float64:
		if f != nil && f.Type == "int" {
			return strconv.AppendInt(b, int64(x), 10)
		}
		return appendJavaDouble(b, x)
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, "2006-01-02T15:04:05.000+0000")
		return append(b, '"')
	}
	return append(b, "null"...)
}

// column is one output key of a record: a field, or a parent relationship with its own columns.
type column struct {
	key  string
	f    *Field
	rel  *Field // reference field whose relationship this column nests
	sub  []column
	ptyp *objStore // parent type
}

// plan describes how to render records of one type.
type plan struct {
	o    *objStore
	cols []column
}

// planAll renders every field of the type (sObject retrieve).
func planAll(o *objStore) *plan {
	p := &plan{o: o}
	for _, f := range o.t.Fields {
		p.cols = append(p.cols, column{key: f.Name, f: f})
	}
	return p
}

// planFields builds a plan from field paths such as "Id", "Account.Name". Unknown paths
// return ok=false with the offending path.
func (s *Server) planFields(o *objStore, paths []string) (*plan, string, bool) {
	p := &plan{o: o}
	for _, path := range paths {
		if !addPath(s, o, &p.cols, path) {
			return nil, path, false
		}
	}
	return p, "", true
}

func addPath(s *Server, o *objStore, cols *[]column, path string) bool {
	rel, rest, nested := strings.Cut(path, ".")
	if !nested {
		f := o.t.Field(path)
		if f == nil {
			return false
		}
		for _, c := range *cols {
			if c.f == f {
				return true
			}
		}
		*cols = append(*cols, column{key: f.Name, f: f})
		return true
	}
	rf := o.t.rels[strings.ToLower(rel)]
	if rf == nil {
		return false
	}
	po := s.objs[strings.ToLower(rf.ReferenceTo[0])]
	if po == nil {
		return false
	}
	for i := range *cols {
		if (*cols)[i].rel == rf {
			return addPath(s, po, &(*cols)[i].sub, rest)
		}
	}
	c := column{key: rf.RelationshipName, rel: rf, ptyp: po}
	if !addPath(s, po, &c.sub, rest) {
		return false
	}
	*cols = append(*cols, c)
	return true
}

func appendAttributes(b []byte, typ, version, id string) []byte {
	b = append(b, `{"attributes":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","url":"/services/data/v`...)
	b = append(b, version...)
	b = append(b, `/sobjects/`...)
	b = append(b, typ...)
	b = append(b, '/')
	b = append(b, id...)
	return append(b, `"}`...)
}

// appendRecord renders a record with its attributes; parent relationships nest as objects, or null when the
// lookup is empty (github.com/ChuckJonas/ts-force/issues/72, github.com/StevenMMortimer/salesforcer/issues/38).
func appendRecord(b []byte, v *view, cols []column, version string) []byte {
	b = appendAttributes(b, v.o.t.Name, version, v.r.id)
	for i := range cols {
		c := &cols[i]
		b = append(b, ',', '"')
		b = append(b, c.key...)
		b = append(b, '"', ':')
		if c.rel != nil {
			pv := v.parent(c.rel.RelationshipName)
			if pv == nil {
				b = append(b, "null"...)
			} else {
				b = appendRecord(b, pv, c.sub, version)
			}
			continue
		}
		b = appendValue(b, c.f, v.value(c.f))
	}
	return append(b, '}')
}
