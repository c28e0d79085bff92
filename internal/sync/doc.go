// Package sync is syncd's domain: the records, changes and plans of a
// bidirectional sync between a local SQLite table and a Salesforce object, the
// small interfaces it consumes (Local and Remote), the pure planner and the
// engine that applies plans.
//
// It imports only the standard library. The store (internal/store) and the
// Salesforce client (internal/sf) implement its interfaces; cmd/syncd wires
// them together. Because the name collides with the standard library's sync,
// every importer uses the alias syncd:
//
//	syncd "github.com/syncd-dev/syncd/internal/sync"
package sync
