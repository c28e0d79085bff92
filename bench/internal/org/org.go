// Package org is the benchmarks' data: the Contacts the emulator serves and
// the 10 fields every client moves. bench/harness (the side-by-side table)
// and the Go benchmarks in bench/ share it, so both measure the same work.
package org

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Fields is the 10 mapped fields: local column, Contact field. The syncd
// config, both jsforce scripts (as BENCH_MAPPING) and the Go benchmark's
// mapping are built from it.
var Fields = [][2]string{
	{"first_name", "FirstName"},
	{"last_name", "LastName"},
	{"email", "Email"},
	{"phone", "Phone"},
	{"title", "Title"},
	{"department", "Department"},
	{"city", "MailingCity"},
	{"country", "MailingCountry"},
	{"birthdate", "Birthdate"},
	{"opted_out", "HasOptedOutOfEmail"},
}

// Mapping is what cmd/syncd builds from bench/run's config (defaults
// included).
func Mapping() *syncd.Mapping {
	m := &syncd.Mapping{
		Object: "Contact", Table: "customers", Key: "id",
		ExternalIDField: "Syncd_Id__c", ExternalIDColumn: "sync_id",
		Watermark: "LastModifiedDate", Conflict: syncd.SalesforceWins,
		Lookback: 10 * time.Minute, SafetyLag: 5 * time.Second, BatchSize: 2000,
		FromSalesforce: syncd.SoftDelete, SoftDeleteColumn: "deleted_at", FromLocal: syncd.IgnoreLocalDelete,
	}
	for _, f := range Fields {
		m.Fields = append(m.Fields, syncd.Field{Column: f[0], Name: f[1], Direction: syncd.Both, Writable: true})
	}
	return m
}

// AppSchema is the application's table syncd syncs into.
const AppSchema = `CREATE TABLE customers (
	id         INTEGER PRIMARY KEY,
	sync_id    TEXT UNIQUE,
	first_name TEXT, last_name TEXT, email TEXT, phone TEXT, title TEXT, department TEXT,
	city TEXT, country TEXT, birthdate TEXT, opted_out INTEGER,
	deleted_at TEXT
)`

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
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-errc:
		return err
	case <-sig:
	}
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}
