// Package conformance referees the Salesforce emulator (internal/sfemu) with real third-party
// clients: jsforce 3.10.16 and @jetstreamapp/soql-parser-js 6.3.1, pinned in package.json and
// installed with `npm ci` in this directory.
//
// TestJsforceConformance starts the emulator in-process and runs the Node checks (run.js,
// checks/*.js) against it over loopback HTTP; TestSyncdSOQLIsValid drives internal/sf's Pull
// against the emulator and feeds every SOQL statement it sent to check-soql.js. Checks that fail
// because the emulator is not yet faithful are listed, with the real behaviour and its source,
// in known-gaps.js.
package conformance
