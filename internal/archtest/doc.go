// Package archtest holds the tests that keep syncd's dependency direction
// from rotting: the domain imports only the standard library, the store and
// the Salesforce client never import each other, the emulator stands alone,
// and each edge (SQLite, Salesforce's HTTP, JSON, CSV and OAuth) stays in
// the files that own it.
package archtest
