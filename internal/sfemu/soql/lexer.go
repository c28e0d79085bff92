package soql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tComma
	tLParen
	tRParen
	tDot
	tColon
	tStar
	tOp // = != <> < <= > >=
)

type token struct {
	kind tokKind
	pos  int    // byte offset of the first char
	text string // raw text as written
	num  float64
	tm   time.Time // tDateTime, UTC
	date Date      // tDate
}

// lex splits text into tokens. Errors are MALFORMED_QUERY in the lexer flavour.
func lex(text string) ([]token, *Error) {
	toks := make([]token, 0, 32)
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			toks = append(toks, token{kind: tEOF, pos: len(text)})
			return toks, nil
		}
		c := text[i]
		start := i
		switch {
		case isIdentStart(c):
			for i < len(text) && isIdentPart(text[i]) {
				i++
			}
			toks = append(toks, token{kind: tIdent, pos: start, text: text[start:i]})
		case isDigit(c) || ((c == '-' || c == '+') && i+1 < len(text) && isDigit(text[i+1])):
			if c != '-' && c != '+' && isDateStart(text, i) {
				t, n, err := lexDate(text, i)
				if err != nil {
					return nil, err
				}
				toks = append(toks, t)
				i = n
				continue
			}
			if c == '+' {
				// A literal '+' only survives form decoding when sent as %2B.
				// Salesforce numbers are unsigned or '-' prefixed.
				return nil, lexError(text, i)
			}
			i++
			for i < len(text) && isDigit(text[i]) {
				i++
			}
			if i < len(text) && text[i] == '.' && i+1 < len(text) && isDigit(text[i+1]) {
				i++
				for i < len(text) && isDigit(text[i]) {
					i++
				}
			}
			if i < len(text) && isIdentPart(text[i]) {
				// "12abc": not a number, not an identifier.
				return nil, lexError(text, i)
			}
			f, err := strconv.ParseFloat(text[start:i], 64)
			if err != nil {
				return nil, lexError(text, start)
			}
			toks = append(toks, token{kind: tNumber, pos: start, text: text[start:i], num: f})
		case c == '\'':
			n, err := scanString(text, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, pos: start, text: text[start:n]})
			i = n
		case c == ',':
			i++
			toks = append(toks, token{kind: tComma, pos: start, text: ","})
		case c == '(':
			i++
			toks = append(toks, token{kind: tLParen, pos: start, text: "("})
		case c == ')':
			i++
			toks = append(toks, token{kind: tRParen, pos: start, text: ")"})
		case c == '.':
			i++
			toks = append(toks, token{kind: tDot, pos: start, text: "."})
		case c == ':':
			i++
			toks = append(toks, token{kind: tColon, pos: start, text: ":"})
		case c == '*':
			i++
			toks = append(toks, token{kind: tStar, pos: start, text: "*"})
		case c == '=':
			i++
			toks = append(toks, token{kind: tOp, pos: start, text: "="})
		case c == '!':
			if i+1 < len(text) && text[i+1] == '=' {
				i += 2
				toks = append(toks, token{kind: tOp, pos: start, text: "!="})
			} else {
				return nil, lexError(text, i+1)
			}
		case c == '<':
			i++
			if i < len(text) && (text[i] == '=' || text[i] == '>') {
				i++
			}
			toks = append(toks, token{kind: tOp, pos: start, text: text[start:i]})
		case c == '>':
			i++
			if i < len(text) && text[i] == '=' {
				i++
			}
			toks = append(toks, token{kind: tOp, pos: start, text: text[start:i]})
		default:
			return nil, lexError(text, i)
		}
	}
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isIdentStart(c byte) bool {
	return isLetter(c) || c == '_'
}
func isIdentPart(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// isDateStart reports whether text[i:] starts with DDDD-.
func isDateStart(text string, i int) bool {
	return i+4 < len(text) && isDigit(text[i]) && isDigit(text[i+1]) && isDigit(text[i+2]) &&
		isDigit(text[i+3]) && text[i+4] == '-'
}

// lexDate scans YYYY-MM-DD or a datetime:
//
//	YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm|+hhmm|-hhmm)
//
// Forms: the SOQL date-format docs list Z, +hh:mm and -hh:mm
// (developer.salesforce.com .../sforce_api_calls_soql_select_dateformats.htm);
// fractional seconds and colon-less offsets (the JSON output form
// 2017-03-21T12:11:06.000+0000) are accepted by production
// (github.com/forcedotcom/SalesforceMobileSDK-iOS/issues/2066, github.com/mike4aday/SwiftlySalesforce/issues/138);
// six fractional digits run in production too (github.com/RoseSilverSoftware/IlluminatedCloud/issues/2280);
// the same set is what @jetstreamapp/soql-parser-js's DATETIME token accepts.
// A character that does not fit is "no viable alternative at character" at
// that character, which is what an unencoded '+' (now ' ') produces
// (github.com/AllanOricil/SOQL-Editor-Issues/issues/10, github.com/giacomelli/SalesforceSharp/issues/4,
// github.com/egen/spark-salesforce/issues/49; both reproduced byte for byte in the tests).
func lexDate(text string, i int) (token, int, *Error) {
	start := i
	digits := func(n int) (int, *Error) {
		v := 0
		for k := 0; k < n; k++ {
			if i >= len(text) || !isDigit(text[i]) {
				return 0, lexError(text, i)
			}
			v = v*10 + int(text[i]-'0')
			i++
		}
		return v, nil
	}
	expect := func(c byte) *Error {
		if i >= len(text) || text[i] != c {
			return lexError(text, i)
		}
		i++
		return nil
	}
	var err *Error
	var y, mo, d, h, mi, s, off int
	if y, err = digits(4); err != nil {
		return token{}, 0, err
	}
	if err = expect('-'); err != nil {
		return token{}, 0, err
	}
	if mo, err = digits(2); err != nil {
		return token{}, 0, err
	}
	if err = expect('-'); err != nil {
		return token{}, 0, err
	}
	if d, err = digits(2); err != nil {
		return token{}, 0, err
	}
	if i >= len(text) || (text[i] != 'T' && text[i] != 't') {
		if i < len(text) && isIdentPart(text[i]) {
			return token{}, 0, lexError(text, i)
		}
		raw := text[start:i]
		if !validDate(y, mo, d) {
			return token{}, 0, posError(CodeMalformedQuery, text, start, false, invalidDateDetail(raw))
		}
		return token{kind: tDate, pos: start, text: raw, date: Date{Year: y, Month: time.Month(mo), Day: d}}, i, nil
	}
	i++ // T
	if h, err = digits(2); err != nil {
		return token{}, 0, err
	}
	if err = expect(':'); err != nil {
		return token{}, 0, err
	}
	if mi, err = digits(2); err != nil {
		return token{}, 0, err
	}
	if err = expect(':'); err != nil {
		return token{}, 0, err
	}
	if s, err = digits(2); err != nil {
		return token{}, 0, err
	}
	nanos := 0
	if i < len(text) && text[i] == '.' {
		i++
		if i >= len(text) || !isDigit(text[i]) {
			return token{}, 0, lexError(text, i)
		}
		scale := 100000000
		for i < len(text) && isDigit(text[i]) {
			nanos += int(text[i]-'0') * scale
			scale /= 10
			i++
		}
	}
	if i >= len(text) {
		return token{}, 0, lexError(text, i)
	}
	switch text[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		sign := 1
		if text[i] == '-' {
			sign = -1
		}
		i++
		var oh, om int
		if oh, err = digits(2); err != nil {
			return token{}, 0, err
		}
		if i < len(text) && text[i] == ':' {
			i++
		}
		if om, err = digits(2); err != nil {
			return token{}, 0, err
		}
		if oh > 23 || om > 59 {
			return token{}, 0, posError(CodeMalformedQuery, text, start, false, invalidDateDetail(text[start:i]))
		}
		off = sign * (oh*3600 + om*60)
	default:
		return token{}, 0, lexError(text, i)
	}
	if i < len(text) && isIdentPart(text[i]) {
		return token{}, 0, lexError(text, i)
	}
	raw := text[start:i]
	if !validDate(y, mo, d) || h > 23 || mi > 59 || s > 59 {
		return token{}, 0, posError(CodeMalformedQuery, text, start, false, invalidDateDetail(raw))
	}
	tm := time.Date(y, time.Month(mo), d, h, mi, s, nanos, time.UTC).Add(-time.Duration(off) * time.Second)
	return token{kind: tDateTime, pos: start, text: raw, tm: tm}, i, nil
}

// invalidDateDetail: the wording for an out-of-range date/datetime literal
// is NOT confirmed against production (soql-parser-js accepts such values,
// which the conformance suite uses as referee); it is a best guess.
func invalidDateDetail(raw string) string {
	return fmt.Sprintf("invalid date/time literal: %s", raw)
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// scanString returns the offset just past the closing quote of the string
// literal whose opening quote is text[i]. Escapes are validated later by
// decodeString (the only consumer of string tokens).
func scanString(text string, i int) (int, *Error) {
	start := i
	i++
	for i < len(text) {
		switch text[i] {
		case '\'':
			return i + 1, nil
		case '\\':
			if i+1 >= len(text) {
				i++
				continue // falls out as unterminated
			}
			i += 2
		default:
			i++
		}
	}
	// Unterminated. ANTLR wording; unconfirmed against production.
	_ = start
	row, col := rowCol0(text, len(text))
	return 0, posError(CodeMalformedQuery, text, len(text), true,
		fmt.Sprintf("line %d:%d mismatched character '<EOF>' expecting '''", row, col))
}

// decodeString decodes the raw literal (with quotes). When like is true,
// \% and \_ are kept escaped (as "\%" / "\_") for compileLike; otherwise they
// are an error, as is any other unknown escape.
//
// Escapes per developer.salesforce.com .../sforce_api_calls_soql_select_quotedstringescapes.htm
// (\n \N \r \R \t \T \b \B \f \F \" \' \\ \uXXXX; \_ and \% in LIKE only;
// "any other character following a backslash is an error"). Error text from
// github.com/restforce/restforce/issues/632: "Invalid string literal 'Anne\-Marie'. Illegal
// character sequence '\-' in string literal."
func decodeString(text string, tok token, like bool) (string, *Error) {
	raw := tok.text
	body := raw[1 : len(raw)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		e := body[i]
		switch e {
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
			if like && e == '\\' {
				b.WriteString(`\\`)
			} else {
				b.WriteByte(e)
			}
		case '%', '_':
			if !like {
				return "", badEscape(text, tok, `\`+string(e))
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		case 'u', 'U':
			if i+5 > len(body) {
				return "", badEscape(text, tok, body[i-1:])
			}
			v, err := strconv.ParseUint(body[i+1:i+5], 16, 32)
			if err != nil {
				return "", badEscape(text, tok, body[i-1:i+5])
			}
			r := rune(v)
			if like && (r == '%' || r == '_' || r == '\\') {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
			i += 4
		default:
			_, sz := utf8.DecodeRuneInString(body[i:])
			return "", badEscape(text, tok, body[i-1:i+sz])
		}
	}
	return b.String(), nil
}

func badEscape(text string, tok token, seq string) *Error {
	return posError(CodeMalformedQuery, text, tok.pos, true,
		fmt.Sprintf("Invalid string literal %s. Illegal character sequence '%s' in string literal.", tok.text, seq))
}
