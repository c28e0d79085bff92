// Package archtest holds the test that keeps syncd's dependency direction
// from rotting: the domain imports only the standard library, the store and
// the Salesforce client never import each other, and the emulator stands
// alone.
package archtest
