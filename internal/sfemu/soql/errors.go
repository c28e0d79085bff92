package soql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error codes returned by this package. They are the errorCode values
// Salesforce puts in the REST error body (all with HTTP 400).
const (
	CodeMalformedQuery = "MALFORMED_QUERY"
	CodeInvalidField   = "INVALID_FIELD"
	CodeInvalidType    = "INVALID_TYPE"
	// CodeNumberOutsideRange is returned for OFFSET > 2000. Source: the OFFSET
	// docs ("Requesting an offset greater than 2,000 results in a
	// NUMBER_OUTSIDE_VALID_RANGE error", quoted in github.com/forceworkbench/forceworkbench/issues/584)
	// and the real message in github.com/SalesforceLabs/OrgCheck/issues/448.
	CodeNumberOutsideRange = "NUMBER_OUTSIDE_VALID_RANGE"
)

// Error is a Salesforce-style query error. Code is the REST errorCode,
// Message the REST message (for positional errors it starts with "\n", quotes
// a window of the query, a caret line and "ERROR at Row:R:Column:C", exactly
// like production).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// maxOffset is Salesforce's OFFSET ceiling.
const maxOffset = 2000

// windowRadius is how many characters Salesforce shows on either side of the
// error column before snapping to a word boundary. Derived from real
// messages: github.com/vlocityinc/vlocity_build/issues/364 (INVALID_TYPE, Column:43, window
// starts 31 chars earlier mid-word, snapped back), OCE INVALID_FIELD message
// (window 30 before, 33 after = 30 snapped forward to word end),
// github.com/restforce/restforce/issues/632 and github.com/forcedotcom/SalesforceMobileSDK-ReactNative/issues/82
// (lexer errors).
const windowRadius = 30

// posError builds a positional error.
//
// Salesforce reports two flavours of column:
//   - parser errors (unexpected token, No such column, sObject type not
//     supported): Column is 1-based, the caret sits under the token;
//   - lexer errors ("line 1:N no viable alternative at character 'c'",
//     "Invalid string literal ..."): Column is ANTLR's 0-based char index,
//     and the caret is drawn at Column-1, i.e. one char before the culprit.
//     Seen in github.com/forcedotcom/SalesforceMobileSDK-ReactNative/issues/82 (Column:58 for a
//     '"' at 0-based 58, caret under the preceding space) and
//     github.com/AllanOricil/SOQL-Editor-Issues/issues/10 (Column:106 for the ' ' that was a '+').
//
// lexer selects the second flavour. pos is a byte offset in text.
func posError(code, text string, pos int, lexer bool, detail string) *Error {
	if pos < 0 {
		pos = 0
	}
	if pos > len(text) {
		pos = len(text)
	}
	row := 1 + strings.Count(text[:pos], "\n")
	lineStart := strings.LastIndexByte(text[:pos], '\n') + 1
	lineEnd := strings.IndexByte(text[pos:], '\n')
	if lineEnd < 0 {
		lineEnd = len(text)
	} else {
		lineEnd += pos
	}
	line := []rune(text[lineStart:lineEnd])
	idx := utf8.RuneCountInString(text[lineStart:pos]) // 0-based rune index in line
	col := idx + 1
	caret := idx
	if lexer {
		col = idx
		caret = idx - 1
	}
	if caret < 0 {
		caret = 0
	}
	if caret > len(line) {
		caret = len(line)
	}
	start := caret - windowRadius
	if start < 0 {
		start = 0
	}
	for start > 0 && start < len(line) && isWordRune(line[start-1]) && isWordRune(line[start]) {
		start--
	}
	end := caret + windowRadius
	if end > len(line) {
		end = len(line)
	}
	for end > 0 && end < len(line) && isWordRune(line[end-1]) && isWordRune(line[end]) {
		end++
	}
	window := string(line[start:end])
	msg := fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s",
		window, strings.Repeat(" ", caret-start), row, col, detail)
	return &Error{Code: code, Message: msg}
}

func isWordRune(r rune) bool {
	return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}

// lexError is "line R:C no viable alternative at character 'c'" — the
// message Salesforce's lexer gives for a character it cannot start or
// continue a token with (e.g. the space left by an unencoded '+').
func lexError(text string, pos int) *Error {
	ch := "<EOF>"
	if pos < len(text) {
		r, _ := utf8.DecodeRuneInString(text[pos:])
		ch = string(r)
	}
	row, col := rowCol0(text, pos)
	detail := fmt.Sprintf("line %d:%d no viable alternative at character '%s'", row, col, ch)
	return posError(CodeMalformedQuery, text, pos, true, detail)
}

// rowCol0 returns the 1-based row and 0-based rune column of pos.
func rowCol0(text string, pos int) (int, int) {
	row := 1 + strings.Count(text[:pos], "\n")
	lineStart := strings.LastIndexByte(text[:pos], '\n') + 1
	return row, utf8.RuneCountInString(text[lineStart:pos])
}
