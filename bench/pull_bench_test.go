// Package bench holds Go benchmarks that drive syncd's sync path
// in-process, for profiling (the timed, side-by-side table is bench/run).
// There are no tests here: `go test ./...` compiles this package and runs
// nothing; the benchmarks run only with -bench, e.g.
//
//	go test ./bench -run '^$' -bench Pull -benchtime 3x -cpuprofile cpu.prof -memprofile mem.prof
//	go tool pprof -top -tagfocus measured=pull bench.test cpu.prof
//
// The emulator runs in the same process; -tagfocus measured=pull keeps
// only the timed cycles (seeding, set-up and the emulator left out).
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/syncd-dev/syncd/bench/internal/org"
	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// pullN is the size of the pull benchmark (bench/run's row 1).
const pullN = 100000

// emulators are the pull benchmarks' in-process emulators, by whether
// their Contacts carry Syncd_Id__c; each lives as long as the test binary.
var emulators [2]struct {
	once sync.Once
	url  string
}

// emulator serves pullN Contacts stamped 10 s apart, with extIDs each
// carrying a random-looking Syncd_Id__c: `harness emu --spread 10s
// [--ext-ids]`, in process.
func emulator(extIDs bool) string {
	e := &emulators[0]
	if extIDs {
		e = &emulators[1]
	}
	e.once.Do(func() {
		s := sfemu.New(sfemu.Options{})
		if err := org.Seed(s, pullN, extIDs, 10*time.Second); err != nil {
			panic(err)
		}
		e.url = httptest.NewServer(s).URL
	})
	return e.url
}

// openSync wires a fresh database and client the way cmd/syncd's
// openSession does.
func openSync(b *testing.B, url string) (*syncd.Engine, *store.DB, []*syncd.Mapping) {
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "app.db")
	app, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := app.Exec(org.AppSchema); err != nil {
		b.Fatal(err)
	}
	app.Close()
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	ms := []*syncd.Mapping{org.Mapping()}
	if err := db.CheckMappings(ctx, ms); err != nil {
		b.Fatal(err)
	}
	if err := db.Install(ctx, ms); err != nil {
		b.Fatal(err)
	}
	client, err := sf.New(ctx, sf.Config{
		LoginURL: url, APIVersion: "62.0", Auth: sf.AuthClientCredentials,
		ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret, StateDir: dir,
		Logger: slog.New(slog.DiscardHandler), DescribeMaxAge: 365 * 24 * time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	return &syncd.Engine{Local: db, Remote: client}, db, ms
}

// BenchmarkPull100k is one full cycle (describe, pull of 100,000 Contacts,
// empty push) into a fresh database: the in-process equivalent of
// bench/run's syncd row 1.
func BenchmarkPull100k(b *testing.B) { benchPull(b, emulator(false)) }

// BenchmarkPullExtIDs100k is BenchmarkPull100k when every Contact already
// carries a random-looking Syncd_Id__c (bench/run's row 1b), as after a
// sync from another system: each insert lands at a random place of the
// table's external-id index.
func BenchmarkPullExtIDs100k(b *testing.B) { benchPull(b, emulator(true)) }

// benchPull times one full cycle of the emulator at url into a fresh
// database per iteration.
func benchPull(b *testing.B, url string) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e, db, ms := openSync(b, url)
		b.StartTimer()
		rep := measured(e, ms)
		b.StopTimer()
		db.Close()
		if !rep.OK() || rep.Objects[0].Pulled != pullN {
			b.Fatalf("pulled %d: %v", rep.Objects[0].Pulled, rep.Objects[0].Err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(pullN*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPullUpdates100k is one cycle that pulls 100,000 updates into
// rows that are all linked already (every Contact's Title and Department
// changed): the in-process equivalent of bench/run's syncd row 1u. Its
// emulator is its own, as the updates change the records.
func BenchmarkPullUpdates100k(b *testing.B) {
	s := sfemu.New(sfemu.Options{})
	if err := org.Seed(s, pullN, false, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	url := httptest.NewServer(s).URL
	e, db, ms := openSync(b, url)
	defer db.Close()
	if rep := e.Run(context.Background(), ms); !rep.OK() || rep.Objects[0].Pulled != pullN {
		b.Fatalf("first pull: %+v", rep.Objects[0])
	}
	var ids []string
	for _, r := range s.All("Contact") {
		ids = append(ids, r["Id"].(string))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, id := range ids {
			if err := s.Update("Contact", id, map[string]any{"Title": fmt.Sprint("Mass change ", i), "Department": fmt.Sprint("Department ", i)}); err != nil {
				b.Fatal(err)
			}
		}
		s.Advance(20 * time.Second)
		b.StartTimer()
		rep := measured(e, ms)
		b.StopTimer()
		if !rep.OK() || rep.Objects[0].LocalUpdates != pullN {
			b.Fatalf("updated %d: %+v", rep.Objects[0].LocalUpdates, rep.Objects[0])
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(pullN*b.N)/b.Elapsed().Seconds(), "records/s")
}

// measured runs one cycle under the profiler label measured=pull, so that
// a profile can show the timed cycles apart from seeding and set-up
// (go tool pprof -tagfocus measured=pull): goroutines the cycle starts
// inherit the label; the in-process emulator's do not.
func measured(e *syncd.Engine, ms []*syncd.Mapping) (rep syncd.Report) {
	pprof.Do(context.Background(), pprof.Labels("measured", "pull"), func(ctx context.Context) { rep = e.Run(ctx, ms) })
	return rep
}
