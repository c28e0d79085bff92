package sync_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// chaosSeeds is the seed loop the chaos tests share. By default it runs
// seqs sequences from seed 1 and stops at the first failure. With
// SYNCD_CHAOS_DURATION it runs sequences for that long from a seed taken
// from the clock, and goes on past failures to count every failing seed;
// SYNCD_CHAOS_SEED replays one seed; SYNCD_CHAOS_SEQS sets how many.
type chaosSeeds struct {
	first uint64
	seqs  int
	until time.Time // zero: no time limit
}

func chaosSeedsFromEnv(t *testing.T, seqs int) chaosSeeds {
	t.Helper()
	s := chaosSeeds{first: 1, seqs: seqs}
	if d := os.Getenv("SYNCD_CHAOS_DURATION"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("SYNCD_CHAOS_DURATION=%q: %v", d, err)
		}
		s.until, s.seqs = time.Now().Add(dur), 1<<30
		s.first = uint64(time.Now().UnixNano()) % 1_000_000
	}
	if v := os.Getenv("SYNCD_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SYNCD_CHAOS_SEED=%q: %v", v, err)
		}
		s.first, s.seqs, s.until = n, 1, time.Time{}
	}
	chaosEnvInt(t, "SYNCD_CHAOS_SEQS", &s.seqs)
	return s
}

// long reports a run for a duration.
func (s chaosSeeds) long() bool { return !s.until.IsZero() }

// run runs one subtest a seed and logs how many ran, what took how long
// (stats), and the failed seeds, each with how to replay it (replay).
func (s chaosSeeds) run(t *testing.T, one func(t *testing.T, seed uint64), stats func() string, replay string) {
	t.Helper()
	start := time.Now()
	var failed []string
	ran := 0
	for i := range s.seqs {
		if s.long() && time.Now().After(s.until) {
			break
		}
		seed := s.first + uint64(i)
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { one(t, seed) })
		ran++
		if !ok {
			failed = append(failed, strconv.FormatUint(seed, 10))
			if !s.long() {
				break // a long run goes on, to count every failing seed
			}
		}
	}
	t.Logf("%d sequences from seed %d in %v: %s", ran, s.first, time.Since(start).Round(time.Second), stats())
	if len(failed) > 0 {
		t.Logf("%d failed, seeds %s (each replays with SYNCD_CHAOS_SEED=seed%s)", len(failed), strings.Join(failed, " "), replay)
	}
}

// chaosEnvInt sets *v from the environment variable name, a positive number.
func chaosEnvInt(t *testing.T, name string, v *int) {
	t.Helper()
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive number", name, s)
		}
		*v = n
	}
}

// syncForever is a chaos test's syncd process: it opens the database in
// dir, installs m, and syncs it against the emulator at url in a loop
// until SIGKILL arrives. With lock it first takes the database's lock, as
// the daemon does: a second process is refused, says so and returns.
// configure, when given, sets the engine up.
func syncForever(t *testing.T, dir, url string, m *syncd.Mapping, lock bool, configure func(*syncd.Engine)) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if lock {
		if err := db.Lock(); err != nil {
			if errors.Is(err, store.ErrLocked) {
				fmt.Println("refused:", err)
				return
			}
			t.Fatal(err)
		}
	}
	if err := db.Install(ctx, []*syncd.Mapping{m}); err != nil {
		t.Fatal(err)
	}
	client, err := sf.New(ctx, sf.Config{LoginURL: url, Auth: sf.AuthClientCredentials,
		ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret, StateDir: filepath.Join(dir, "state"),
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, HTTPTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := &syncd.Engine{Local: db, Remote: client}
	if configure != nil {
		configure(e)
	}
	fmt.Println("ready")
	for {
		e.SyncObject(ctx, m)
	}
}
