package soql

// Record ids in filters.
//
// Salesforce accepts an id literal on an id or reference field in either
// form: the 15-character case-sensitive id or its 18-character form with the
// 3-character checksum suffix (a 15-character filter finds the record whose
// API id is 18 characters: developer.salesforce.com forum thread
// 906F00000008jkQIAQ, "WHERE (Id='00U20000001Rx6d') ... I get one Event (the
// right one) back"; github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/626,
// "happy with a 15 digit or 18 digit, but for 14 or 17").
//
// The 18-character form is not matched case-insensitively in SOQL: changing
// the case of any character, suffix included, finds nothing
// (salesforce.stackexchange.com/questions/130158: "0019000001AWn2oAAd",
// "0019000001aWn2oAAD" ... "non of following ids work in SOQL, URL or from
// API"; /questions/50163 and the developer forum thread "the 18 char ID
// case-insensitivity a lie?": a lower-cased id "reports 0 records"). The
// suffix only lets case-insensitive systems tell ids apart. So the evaluator
// turns a 15-character literal into its 18-character form and then compares
// ids byte for byte.
//
// A literal that is not 15 or 18 alphanumeric characters is rejected with
// INVALID_QUERY_FILTER_OPERATOR "invalid ID field: <value>"
// (github.com/restforce/restforce/issues/557 "this error can be triggered by trying to query
// records with a malformed Id"; the message in github.com/jsforce/jsforce/issues/684 for a
// 13-character id and in github.com/SFDO-Community/declarative-lookup-rollup-summaries/issues/626 for a
// 17-character one). The SOQL engine does not check key prefixes or the
// checksum: "the string '0000000000000000' (15 zeroes)" is accepted where
// Apex's Id conversion says "Invalid id" (force201.wordpress.com, "An object
// Id in Apex that matches no objects", 2011).

// CodeInvalidQueryFilterOperator is the errorCode of a malformed id literal.
const CodeInvalidQueryFilterOperator = "INVALID_QUERY_FILTER_OPERATOR"

const idChecksumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// idChecksum is the 3-character suffix of the 18-character form of id15:
// one character per 5-character chunk, encoding which positions hold an
// upper-case letter.
func idChecksum(id15 string) string {
	var out [3]byte
	for chunk := 0; chunk < 3; chunk++ {
		n := 0
		for i := 0; i < 5; i++ {
			if c := id15[chunk*5+i]; 'A' <= c && c <= 'Z' {
				n |= 1 << i
			}
		}
		out[chunk] = idChecksumChars[n]
	}
	return string(out[:])
}

// idLiteral returns the 18-character form the evaluator compares with, or
// ok=false when s is not shaped like an id. The empty string is left alone
// (no evidence either way; it matches no record).
func idLiteral(s string) (string, bool) {
	if s == "" {
		return s, true
	}
	if len(s) != 15 && len(s) != 18 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", false
		}
	}
	if len(s) == 15 {
		return s + idChecksum(s), true
	}
	return s, true
}

// compareID orders ids byte for byte (base-62 digits 0-9A-Za-z are in ASCII
// order). No allocation.
func compareID(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
