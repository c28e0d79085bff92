// Package org is the benchmarks' data: the Contacts the emulator serves and
// the 10 fields every client moves. bench/harness (the side-by-side table)
// and the Go benchmarks in bench/ share it, so both measure the same work.
package org

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/syncd-dev/syncd/internal/customers"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Fields is the 10 mapped fields (customers.Wide): local column, Contact
// field. The syncd config, both jsforce scripts (as BENCH_MAPPING) and the Go
// benchmark's mapping are built from it.
var Fields = func() [][2]string {
	out := make([][2]string, len(customers.Wide))
	for i, c := range customers.Wide {
		out[i] = [2]string{c.Name, c.Field}
	}
	return out
}()

// Mapping is what cmd/syncd builds from Config's file (defaults included),
// REST only: BulkThreshold 0 never switches to Bulk API 2.0.
func Mapping() *syncd.Mapping { return customers.Mapping(customers.Wide...) }

// AppSchema is the application's table syncd syncs into.
var AppSchema = customers.Schema(customers.Wide...)

// Config is the benchmarks' syncd.yaml for the emulator at loginURL: the 10
// fields, JSON logs at logLevel, and Bulk API 2.0 for pulls above
// bulkThreshold records. object are more lines of the Contact object, such
// as "match: [{ column: email, field: Email }]".
func Config(loginURL, clientID, clientSecret, logLevel string, bulkThreshold int, object ...string) string {
	return customers.Config{
		LoginURL: loginURL, APIVersion: "62.0", ClientID: clientID, ClientSecret: clientSecret,
		Schedule: "@every 1h",
		Settings: []string{"log_format: json", "log_level: " + logLevel},
		Object: append([]string{"watermark: LastModifiedDate", "conflict: salesforce_wins", "batch_size: 2000",
			fmt.Sprintf("bulk_threshold: %d", bulkThreshold)}, object...),
		Fields: customers.Wide,
	}.String()
}

// Seed adds n Contacts to s (sfemu's own seed: realistic, varied values).
// With extIDs each carries a Syncd_Id__c, as after an earlier sync: a pull
// then matches what a pull of a synced org looks like. With spread > 0 their
// LastModifiedDate and SystemModstamp are re-stamped spread apart, the
// newest spread ago (sfemu stamps ~100 per second, so the whole set would
// sit in one lookback window and every later cycle would re-read it).
func Seed(s *sfemu.Server, n int, extIDs bool, spread time.Duration) error {
	s.SeedContacts(n)
	if !extIDs && spread <= 0 {
		return nil
	}
	now := s.Now()
	all := s.All("Contact")
	for i, r := range all {
		id, _ := r["Id"].(string)
		set := map[string]any{}
		if extIDs {
			set["Syncd_Id__c"] = ExtID(i)
		}
		if spread > 0 {
			ts := now.Add(-time.Duration(len(all)-i) * spread)
			set["LastModifiedDate"], set["SystemModstamp"] = ts, ts
		}
		if err := s.SetSystemFields("Contact", id, set); err != nil {
			return fmt.Errorf("stamp %s: %w", id, err)
		}
		all[i] = nil
	}
	return nil
}

// ExtID is the external id of the i-th seeded Contact: a version-4-shaped
// UUID, pseudo-random like the ones syncd's trigger assigns (so index
// inserts land all over the index, as they do for real), and deterministic.
func ExtID(i int) string {
	a, b := mix(uint64(i)*2+1), mix(uint64(i)*2+2)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
}

// mix is splitmix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Serve serves the emulator on ln until SIGINT or SIGTERM, for the bench
// commands that run it as its own process.
func Serve(s *sfemu.Server, ln net.Listener) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return s.Serve(ctx, ln)
}
