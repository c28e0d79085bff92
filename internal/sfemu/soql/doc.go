// Package soql parses and evaluates the subset of SOQL that sync tools send,
// for the Salesforce emulator (internal/sfemu). Standard library only.
//
// Usage:
//
//	q, err := soql.Parse(text)          // *Error MALFORMED_QUERY / NUMBER_OUTSIDE_VALID_RANGE
//	err = q.Validate(schema)            // *Error INVALID_TYPE / INVALID_FIELD; canonicalizes paths
//	q.Now = clock.Now                   // drives TODAY, LAST_N_DAYS:n, ...
//	ok, err := q.Match(rec)             // WHERE
//	sort.SliceStable(rows, func(i, j int) bool { return q.Compare(rows[i], rows[j]) < 0 })
//	// then apply q.Offset and q.Limit (-1 = absent)
//
// Supported: SELECT field list with parent paths (Account.Name,
// Account.Owner.Name), COUNT(), COUNT(field), and one level of
// parent-to-child subqueries ("(SELECT LastName FROM Contacts WHERE ...
// ORDER BY ... LIMIT n)", see Subquery; resolved by a Schema that is also a
// ChildSchema); FROM one object with optional alias; WHERE with = != <> <
// <= > >= IN, NOT IN, LIKE (% _ \% \_, case-insensitive), INCLUDES/EXCLUDES,
// AND, OR, NOT, parentheses (AND and OR may not be mixed at one level
// without parentheses, as in Salesforce);
// ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...; LIMIT n; OFFSET n (<= 2000).
// Keywords are case-insensitive. Literals: 'strings' with Salesforce escapes
// (unknown escapes rejected), null, true, false, numbers (int, decimal,
// negative), date 2024-01-02, datetime with Z / ±hh:mm / ±hhmm and optional
// fractional seconds, and every relative date literal (TODAY ... N_FISCAL_YEARS_AGO:n).
//
// Value model: a Record returns nil, bool, string, float64 (ints widened),
// time.Time or Date. Text comparisons (WHERE and ORDER BY alike) are
// case-insensitive on upper-cased values; datetimes compare at whole-second
// precision; relative date literals are ranges of civil days in
// Query.Location (UTC by default) evaluated against Query.Now.
// Nulls use SOQL's two-valued logic: "f = null" matches null, "f != x" and
// "f NOT IN (...)" match null, ordering operators and LIKE never do. On a
// boolean field null means false ("Bool = null" is "Bool = false"; a boolean
// of a missing parent is false). On id and reference fields (known from the
// Schema) a literal must be a 15- or 18-character id (otherwise
// INVALID_QUERY_FILTER_OPERATOR "invalid ID field: x"), a 15-character one is
// widened to 18, and ids compare and sort case-sensitively (ids.go).
// Comparing a value with a literal of another type (datetime field against a
// date literal, text against a number, ...) is INVALID_FIELD "value of filter
// criterion for field 'F' must be of type T ..." — from Validate when a
// Schema is available, otherwise from Match.
//
// Not supported (MALFORMED_QUERY "sfemu: ... not supported by the emulator"
// or "unexpected token"): nested child subqueries, semi-joins (IN (SELECT ...)),
// functions in the SELECT list (FIELDS(ALL), toLabel, FORMAT, aggregates
// other than bare COUNT), GROUP BY/HAVING, TYPEOF, WITH, FOR VIEW/UPDATE,
// USING SCOPE, currency-prefixed literals, bind variables (rejected with
// Salesforce's "Bind variables only allowed in Apex code").
//
// Error messages follow production's layout ("\n<window>\n<caret>\nERROR at
// Row:R:Column:C\n<detail>"); the window/caret/column rules and each detail
// text cite the real message they were copied from (see errors.go).
package soql
