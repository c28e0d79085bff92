package sync_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// TestChaosMix mixes every way syncd can be disturbed in one random
// sequence per seed, then lets it settle and checks the strongest thing a
// user can ask of it. The steps are drawn from:
//
//   - the application's inserts, updates and deletes of customers rows,
//     some with a value Salesforce refuses (an email that is not one, a
//     title longer than Contact.Title's 128 characters);
//   - a Salesforce user's inserts, updates, deletes, merges and hard
//     deletes, made between cycles or in the middle of one (an emulator
//     hook on one of its requests, before it is handled or after it and
//     before the answer), where the application may also write;
//   - the application's schema changes: a table rebuilt the way SQLite
//     ORMs change a column (create the new table, copy the rows, drop the
//     old one, rename; syncd's triggers go with the old table) followed by
//     writes before the next cycle, a column added that syncd does not map,
//     an index created or dropped (a schema version bump);
//   - faults: 503 and 500 answers, UNABLE_TO_LOCK_ROW for a call or for one
//     record, sessions expired in the middle of a cycle, an answer lost
//     after the write committed, a connection reset mid-answer;
//   - a second syncd process started while one runs: it is refused by the
//     database lock, sends no request and changes nothing;
//   - a syncd process (TestChaosMixChild) that syncs in a loop, killed with
//     SIGKILL at random moments, or when its Nth query or write reaches
//     Salesforce, which carries it out with the answer going nowhere;
//   - cycles, and cycles that reconcile (Engine.ReconcileEvery).
//
// Then plain cycles run until one changes nothing (at most five; after hard
// deletes, which only a reconciliation can see, one reconciliation
// first), and:
//
//   - Engine.Verify finds no difference but rows Salesforce rejected, and
//     each of those is a dead letter that store.DB.Health and
//     RecentDeadLetters (what `syncd status` shows) report; every dead
//     letter is a row the sequence gave a refused value, and every live row
//     holding one is a dead letter;
//   - every live row is linked to exactly one live Contact and no Contact
//     to two rows; no two live Contacts share an external id or a last name
//     (each row and each Salesforce insert has its own, so two would be a
//     record created twice); nothing is left in the outbox but dead
//     letters;
//   - no lost edit: titles only the application writes and first names only
//     Salesforce writes (after the row's creation) hold the last value
//     written, for rows no merge or delete touched, nor both the
//     application changed while capture was off and a Salesforce user
//     edited (their merge base lost, each field follows the conflict
//     policy);
//   - one Engine.Reconcile then repairs nothing and queues nothing: the
//     incremental path missed nothing silently.
//
// A failure names the seed and the step, and lists the steps. The sequence
// of steps follows from the seed; the moment a timed kill lands does not,
// so a failure after one may need a few runs to come back.
//
// The default run is eight sequences of 40 steps, seeds 1 to 8, about five
// seconds (-short: two of 20). A long run, by hand:
//
//	SYNCD_CHAOS_DURATION=25m go test -run '^TestChaosMix$' -timeout 40m ./internal/sync
//
// runs sequences of SYNCD_CHAOS_STEPS steps (default 60 then) from a
// random first seed until the time is up, going on past a failure, and
// ends with the seeds that failed. SYNCD_CHAOS_SEED=n replays seed n (and
// SYNCD_CHAOS_STEPS the same number of steps as the failed run);
// SYNCD_CHAOS_SEQS=m runs m sequences, from seed n if given.
func TestChaosMix(t *testing.T) {
	steps, seqs := 40, 8
	if testing.Short() {
		steps, seqs = 20, 2
	}
	seeds := chaosSeedsFromEnv(t, seqs)
	if seeds.long() {
		steps = 60
	}
	chaosEnvInt(t, "SYNCD_CHAOS_STEPS", &steps)
	var total mixStats
	seeds.run(t, func(t *testing.T, seed uint64) {
		var st mixStats
		defer func() { total.add(st) }()
		runMix(t, seed, steps, &st)
	}, func() string { return fmt.Sprintf("%d steps each, %s", steps, total) }, fmt.Sprintf(" SYNCD_CHAOS_STEPS=%d", steps))
}

// TestChaosMixChild is a syncd process of TestChaosMix: it takes the
// database's lock as the daemon does (a second one is refused and says so),
// then syncs in a loop until SIGKILL arrives.
func TestChaosMixChild(t *testing.T) {
	url, dir := os.Getenv("SYNCD_MIX_URL"), os.Getenv("SYNCD_MIX_DIR")
	if url == "" {
		t.Skip("helper process for TestChaosMix")
	}
	syncForever(t, dir, url, mixMapping(syncd.Policy(os.Getenv("SYNCD_MIX_POLICY"))), true, func(e *syncd.Engine) {
		if os.Getenv("SYNCD_MIX_RECONCILE") != "" {
			e.ReconcileEvery = time.Nanosecond // every cycle reconciles
		}
	})
}

// mixMapping is the harness's mapping under a conflict policy.
func mixMapping(p syncd.Policy) *syncd.Mapping {
	m := contactMapping()
	m.Conflict = p
	return m
}

// Values Salesforce refuses: Contact.Email must be an email address, and
// Contact.Title holds 128 characters ("Contact", Object Reference for the
// Salesforce Platform: Title, string(128)).
const badEmail = "not an email"

var badTitle = strings.Repeat("T", 200)

var (
	mixText   = []any{nil, "a", "b", "Zoë", "O'Brien", "line\nbreak", "日本", "x\"y"}
	mixEmails = []any{nil, "a@example.com", "zoë@example.com", "o'brien@example.com"}
	policies  = []syncd.Policy{syncd.SalesforceWins, syncd.LocalWins, syncd.NewestWins}
)

type mixStats struct {
	steps, kills, hookKills, refused, faults, rebuilds, hooks, hooksFired, deadLetters, cycleErrs int
}

func (s *mixStats) add(o mixStats) {
	s.steps += o.steps
	s.kills += o.kills
	s.hookKills += o.hookKills
	s.refused += o.refused
	s.faults += o.faults
	s.rebuilds += o.rebuilds
	s.hooks += o.hooks
	s.hooksFired += o.hooksFired
	s.deadLetters += o.deadLetters
	s.cycleErrs += o.cycleErrs
}

func (s mixStats) String() string {
	return fmt.Sprintf("%d steps, %d kills (%d at a request), %d second processes refused, %d faults, %d rebuilds, %d of %d actions inside a request, %d cycles failed by a fault, %d rows rejected at the end",
		s.steps, s.kills, s.hookKills, s.refused, s.faults, s.rebuilds, s.hooksFired, s.hooks, s.cycleErrs, s.deadLetters)
}

// mix is one sequence.
type mix struct {
	t      *testing.T
	h      *harness
	rng    *rand.Rand
	seed   uint64
	policy syncd.Policy
	step   int
	steps  int // in the sequence
	stats  mixStats

	mu gosync.Mutex // guards what hook actions (emulator goroutines) touch below
	// acting serializes hook actions: the application and the Salesforce
	// user they stand for do one thing at a time, while syncd's requests
	// (a pull's Composite call and its next page) may be in flight at
	// once. An insert racing a rebuild that is not in a transaction would
	// fail with "no such table", the application's own error.
	acting gosync.Mutex
	trace  []string
	// Expected values by last name, which is unique per row and per
	// Salesforce insert and which neither side edits: title is written by
	// the application only, FirstName by Salesforce only after creation.
	title, first map[string]any
	// Names whose expected values no longer hold: merged (the survivor's
	// values may replace a row's), deleted on either side (a row may be
	// re-created from older values, or come back from Salesforce).
	noTitle, noFirst map[string]bool
	// gapWritten lists rows the application changed while the table had
	// no capture triggers (after a rebuild, before syncd's next cycle put
	// them back), sfEdited rows whose record a Salesforce user updated.
	// A row in both lost its merge base (only a fingerprint of it is
	// kept): its record is merged as one with no base, field by field by
	// the conflict policy, which may take either side's value.
	gapWritten, sfEdited map[string]bool
	poisoned             map[string]bool // row keys that were given a refused value
	hookErrs             []string
	n                    int // names drawn
	hardDeletes          int // since the last reconciliation
	hooksFired           atomic.Int64
}

func runMix(t *testing.T, seed uint64, steps int, stats *mixStats) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	policy := policies[rng.IntN(len(policies))]
	// Every other sequence reads its pulls in pages of a few records (a
	// real org may answer with fewer than asked), so that a page of
	// updates commits while the next is planned.
	var opts sfemu.Options
	if seed%2 == 1 {
		opts.MaxPageSize = 2 + int(seed/2%4)
	}
	h := newHarness(t, opts, func(m *syncd.Mapping) { m.Conflict = policy })
	if err := h.db.Lock(); err != nil {
		t.Fatal(err)
	}
	mx := &mix{t: t, h: h, rng: rng, seed: seed, policy: policy, steps: steps,
		title: map[string]any{}, first: map[string]any{}, noTitle: map[string]bool{}, noFirst: map[string]bool{},
		poisoned: map[string]bool{}, gapWritten: map[string]bool{}, sfEdited: map[string]bool{}}
	// Counted even when the sequence fails: a long run reports what it
	// applied in all.
	count := func() {
		mx.stats.steps = min(mx.step, steps)
		mx.stats.hooksFired = int(mx.hooksFired.Load())
		*stats = mx.stats
	}
	defer count()
	mx.log("policy %v, pages of at most %d records (0: as asked)", policy, opts.MaxPageSize)
	// Some rows and records exist before the first cycle.
	for range 3 {
		mx.appInsert()
		mx.sfInsert()
	}
	for mx.step = 1; mx.step <= steps; mx.step++ {
		mx.randomStep()
		mx.checkHooks()
		h.emu.Advance(time.Second)
	}
	mx.settle()
	count()
	t.Logf("seed %d: %s", seed, mx.stats)
}

// log records a step of the sequence.
func (mx *mix) log(format string, args ...any) {
	mx.logAt(mx.step, format, args...)
}

// logAt records a line of step; hook actions, which run in the emulator's
// goroutines, pass the step they were armed in.
func (mx *mix) logAt(step int, format string, args ...any) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	mx.trace = append(mx.trace, fmt.Sprintf("%3d  ", step)+fmt.Sprintf(format, args...))
}

// hookErr records the failure of an action inside a request: the test's
// goroutine reports it after the step.
func (mx *mix) hookErr(format string, args ...any) {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	mx.hookErrs = append(mx.hookErrs, fmt.Sprintf(format, args...))
}

// fatalf fails the sequence with its seed, its step and its steps so far.
func (mx *mix) fatalf(format string, args ...any) {
	mx.t.Helper()
	mx.mu.Lock()
	trace := strings.Join(mx.trace, "\n")
	mx.mu.Unlock()
	mx.t.Fatalf("seed %d, step %d: %s\nreplay: SYNCD_CHAOS_SEED=%d SYNCD_CHAOS_STEPS=%d go test -run '^TestChaosMix$' ./internal/sync\nsteps:\n%s",
		mx.seed, mx.step, fmt.Sprintf(format, args...), mx.seed, mx.steps, trace)
}

func (mx *mix) checkHooks() {
	mx.mu.Lock()
	errs := mx.hookErrs
	mx.hookErrs = nil
	mx.mu.Unlock()
	if len(errs) > 0 {
		mx.fatalf("an action inside a request failed: %s", strings.Join(errs, "; "))
	}
}

func (mx *mix) pick(list []any) any { return list[mx.rng.IntN(len(list))] }

// show renders a value for the steps: NULL, or quoted and cut short.
func show(v any) string {
	if v == nil {
		return "NULL"
	}
	r := []rune(fmt.Sprint(v))
	if len(r) > 16 {
		return fmt.Sprintf("%q...(%d characters)", string(r[:12]), len(r))
	}
	return strconv.Quote(string(r))
}

func (mx *mix) chance(n int) bool { return mx.rng.IntN(n) == 0 }

func (mx *mix) randomStep() {
	type op struct {
		weight int
		do     func()
	}
	ops := []op{
		{12, mx.appInsert},
		{12, mx.appUpdate},
		{4, mx.appDelete},
		{7, mx.sfInsert},
		{10, mx.sfUpdate},
		{3, mx.sfDelete},
		{3, mx.sfMerge},
		{1, mx.sfHardDelete},
		{8, mx.hookedCycle},
		{12, mx.plainCycle},
		{3, mx.rebuild},
		{2, mx.addColumn},
		{2, mx.indexBump},
		{7, mx.faultyCycle},
		{2, mx.reconcileCycle},
		{2, mx.secondProcess},
		{5, mx.killStep},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := mx.rng.IntN(total)
	for _, o := range ops {
		if n < o.weight {
			o.do()
			return
		}
		n -= o.weight
	}
}

// ---- the application --------------------------------------------------------------------

func (mx *mix) name(prefix string) string {
	mx.n++
	return fmt.Sprintf("%s%d_%d", prefix, mx.seed, mx.n)
}

// exec runs an application statement; from a hook it records the error.
func (mx *mix) exec(inHook bool, q string, args ...any) bool {
	if _, err := mx.h.app.Exec(q, args...); err != nil {
		if inHook {
			mx.hookErr("%s: %v", q, err)
			return false
		}
		mx.fatalf("%s: %v", q, err)
	}
	return true
}

// appInsertAction returns the application's insert of a new row.
func (mx *mix) appInsertAction() (string, func(inHook bool)) {
	ln := mx.name("app")
	first, email, title := mx.pick(mixText), mx.pick(mixEmails), mx.pick(mixText)
	poison := mx.chance(10)
	if poison {
		if mx.chance(2) {
			email = badEmail
		} else {
			title = badTitle
		}
	}
	desc := fmt.Sprintf("app insert %s first=%s email=%s title=%s", ln, show(first), show(email), show(title))
	return desc, func(inHook bool) {
		if !mx.exec(inHook, `INSERT INTO customers (first_name, last_name, email, title) VALUES (?, ?, ?, ?)`, first, ln, email, title) {
			return
		}
		mx.mu.Lock()
		defer mx.mu.Unlock()
		mx.title[ln], mx.first[ln] = title, first
		if poison {
			var k int64
			if err := mx.h.app.QueryRow(`SELECT id FROM customers WHERE last_name = ?`, ln).Scan(&k); err == nil {
				mx.poisoned[strconv.FormatInt(k, 10)] = true
			}
		}
	}
}

func (mx *mix) appInsert() {
	desc, do := mx.appInsertAction()
	mx.log("%s", desc)
	do(false)
}

// liveRows lists the keys and last names of the rows not soft-deleted.
func (mx *mix) liveRows() (keys []int64, names []string) {
	rows, err := mx.h.app.Query(`SELECT id, last_name FROM customers WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		mx.fatalf("live rows: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int64
		var ln string
		if err := rows.Scan(&k, &ln); err != nil {
			mx.fatalf("live rows: %v", err)
		}
		keys, names = append(keys, k), append(names, ln)
	}
	return keys, names
}

// appUpdateAction returns an update of a live row's title or email, or
// nil when there is none.
func (mx *mix) appUpdateAction() (string, func(inHook bool)) {
	keys, names := mx.liveRows()
	if len(keys) == 0 {
		return "", nil
	}
	i := mx.rng.IntN(len(keys))
	k, ln := keys[i], names[i]
	col, v := "title", mx.pick(mixText)
	if mx.chance(2) {
		col, v = "email", mx.pick(mixEmails)
	}
	poison := mx.chance(10)
	if poison {
		if col == "email" {
			v = badEmail
		} else {
			v = badTitle
		}
	}
	desc := fmt.Sprintf("app update row %d (%s) %s=%s", k, ln, col, show(v))
	return desc, func(inHook bool) {
		gap := !mx.captured()
		if !mx.exec(inHook, `UPDATE customers SET `+col+` = ? WHERE id = ?`, v, k) {
			return
		}
		gap = gap || !mx.captured()
		mx.mu.Lock()
		defer mx.mu.Unlock()
		if gap {
			mx.gapWritten[ln] = true
		}
		if col == "title" {
			mx.title[ln] = v
		}
		if poison {
			mx.poisoned[strconv.FormatInt(k, 10)] = true
		}
	}
}

// captured reports whether the table has syncd's capture triggers.
func (mx *mix) captured() bool {
	var n int
	err := mx.h.app.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'customers'`).Scan(&n)
	return err == nil && n > 0
}

func (mx *mix) appUpdate() {
	if desc, do := mx.appUpdateAction(); do != nil {
		mx.log("%s", desc)
		do(false)
	}
}

func (mx *mix) appDeleteAction() (string, func(inHook bool)) {
	keys, names := mx.liveRows()
	if len(keys) == 0 {
		return "", nil
	}
	i := mx.rng.IntN(len(keys))
	k, ln := keys[i], names[i]
	return fmt.Sprintf("app delete row %d (%s)", k, ln), func(inHook bool) {
		if mx.exec(inHook, `DELETE FROM customers WHERE id = ?`, k) {
			mx.mu.Lock()
			mx.noTitle[ln], mx.noFirst[ln] = true, true
			mx.mu.Unlock()
		}
	}
}

func (mx *mix) appDelete() {
	if desc, do := mx.appDeleteAction(); do != nil {
		mx.log("%s", desc)
		do(false)
	}
}

// appAction is a random application write, for a hook or after a rebuild.
func (mx *mix) appAction() (string, func(inHook bool)) {
	switch mx.rng.IntN(4) {
	case 0:
		return mx.appInsertAction()
	case 3:
		if desc, do := mx.appDeleteAction(); do != nil {
			return desc, do
		}
	}
	if desc, do := mx.appUpdateAction(); do != nil {
		return desc, do
	}
	return mx.appInsertAction()
}

// ---- Salesforce users ---------------------------------------------------------------------

// liveContacts lists the Ids and last names of the Contacts not deleted.
func (mx *mix) liveContacts() (ids, names []string) {
	for _, c := range mx.h.emu.All("Contact") {
		if c["IsDeleted"] != true {
			ids, names = append(ids, c["Id"].(string)), append(names, c["LastName"].(string))
		}
	}
	return ids, names
}

// sfAction returns a Salesforce user's action: an insert, an update of
// FirstName or Email, a delete, a merge or a hard delete.
func (mx *mix) sfAction(kind int) (string, func() error) {
	ids, names := mx.liveContacts()
	if len(ids) == 0 || kind == 0 {
		ln := mx.name("sf")
		first, email, title := mx.pick(mixText), mx.pick(mixEmails), mx.pick(mixText)
		return fmt.Sprintf("sf insert %s first=%s email=%s title=%s", ln, show(first), show(email), show(title)), func() error {
			if _, err := mx.h.emu.Insert("Contact", map[string]any{"LastName": ln, "FirstName": first, "Email": email, "Title": title}); err != nil {
				return err
			}
			mx.mu.Lock()
			mx.title[ln], mx.first[ln] = title, first
			mx.mu.Unlock()
			return nil
		}
	}
	i := mx.rng.IntN(len(ids))
	id, ln := ids[i], names[i]
	switch kind {
	case 1:
		field, v := "FirstName", mx.pick(mixText)
		if mx.chance(3) {
			field, v = "Email", mx.pick(mixEmails)
		}
		return fmt.Sprintf("sf update %s (%s) %s=%s", id, ln, field, show(v)), func() error {
			if err := mx.h.emu.Update("Contact", id, map[string]any{field: v}); err != nil {
				return err
			}
			mx.mu.Lock()
			if field == "FirstName" {
				mx.first[ln] = v
			}
			mx.sfEdited[ln] = true
			mx.mu.Unlock()
			return nil
		}
	case 2:
		return fmt.Sprintf("sf delete %s (%s)", id, ln), func() error {
			mx.mu.Lock()
			mx.noTitle[ln], mx.noFirst[ln] = true, true // a row may be re-created from its values
			mx.mu.Unlock()
			return mx.h.emu.Delete("Contact", id)
		}
	case 3:
		j := mx.rng.IntN(len(ids))
		if j == i {
			return "sf merge of a record with itself (nothing)", func() error { return nil }
		}
		return fmt.Sprintf("sf merge %s (%s) into %s (%s)", id, ln, ids[j], names[j]), func() error {
			mx.mu.Lock()
			mx.noTitle[ln], mx.noFirst[ln] = true, true
			mx.noTitle[names[j]], mx.noFirst[names[j]] = true, true
			mx.mu.Unlock()
			return mx.h.emu.Merge("Contact", ids[j], id)
		}
	default:
		return fmt.Sprintf("sf hard delete %s (%s)", id, ln), func() error {
			mx.mu.Lock()
			mx.noTitle[ln], mx.noFirst[ln] = true, true
			mx.hardDeletes++
			mx.mu.Unlock()
			return mx.h.emu.HardDelete("Contact", id)
		}
	}
}

func (mx *mix) sfDo(kind int) {
	desc, do := mx.sfAction(kind)
	mx.log("%s", desc)
	if err := do(); err != nil {
		mx.fatalf("%s: %v", desc, err)
	}
}

func (mx *mix) sfInsert()     { mx.sfDo(0) }
func (mx *mix) sfUpdate()     { mx.sfDo(1) }
func (mx *mix) sfDelete()     { mx.sfDo(2) }
func (mx *mix) sfMerge()      { mx.sfDo(3) }
func (mx *mix) sfHardDelete() { mx.sfDo(4) }

// ---- mid-cycle actions --------------------------------------------------------------------

// armed is an action hooked to a request; settle runs it if the request
// never came.
type armed struct {
	desc   string
	fired  atomic.Bool
	remove func()
	do     func()
	// dropsTable: a rebuild outside a transaction, whose table is gone
	// between its DROP and its RENAME. A read of syncd's in that moment
	// fails with "no such table", as any reader's would; the cycle fails
	// and a later one repairs what it left.
	dropsTable bool
}

// settleArmed runs the actions whose requests never came, once every
// action's hook is removed and any still running has finished: a killed
// syncd leaves the emulator's goroutine of its last request running its
// action, and the application does one thing at a time (acting).
func (mx *mix) settleArmed(as []*armed) {
	for _, a := range as {
		a.remove()
	}
	mx.acting.Lock()
	defer mx.acting.Unlock()
	for _, a := range as {
		if a.fired.CompareAndSwap(false, true) {
			mx.log("  (after, its request never came) %s", a.desc)
			a.do()
		}
	}
}

// hookPaths are parts of the paths of a cycle's requests: its queries
// (the pull, re-reads before writes, a reconciliation's Ids), its writes,
// and any.
var hookPaths = []string{"/query", "/query", "/composite", "/composite", ""}

// arm hooks a random action (a Salesforce user's, the application's
// write, or a table rebuild) to a random request.
func (mx *mix) arm() *armed {
	a := &armed{}
	var desc string
	switch r := mx.rng.IntN(10); {
	case r < 5:
		var do func() error
		desc, do = mx.sfAction([]int{0, 1, 1, 1, 2, 3, 4}[mx.rng.IntN(7)])
		a.do = func() {
			if err := do(); err != nil && !isGone(err) && !isLocked(err) {
				mx.hookErr("%s: %v", desc, err)
			}
		}
	case r < 9:
		var do func(bool)
		desc, do = mx.appAction()
		a.do = func() { do(true) }
	default:
		plan := mx.rebuildPlan()
		desc = fmt.Sprintf("rebuild the table (in a transaction: %v)", plan.inTx)
		a.do = func() { mx.runRebuild(plan, true) }
		a.dropsTable = !plan.inTx
	}
	when, whenName := sfemu.HookBefore, "before"
	if mx.chance(2) {
		when, whenName = sfemu.HookAfter, "after"
	}
	path, nth := hookPaths[mx.rng.IntN(len(hookPaths))], 1+mx.rng.IntN(3)
	a.desc = fmt.Sprintf("%s, %s request %d to %s", desc, whenName, nth, path)
	step := mx.step
	a.remove = mx.h.emu.AddHook(when, sfemu.Hook{Match: sfemu.MatchRequest("", path), Nth: nth, Action: func() {
		// acting before fired: an action settleArmed did not take runs
		// whole before settleArmed goes on.
		mx.acting.Lock()
		defer mx.acting.Unlock()
		if a.fired.CompareAndSwap(false, true) {
			mx.logAt(step, "  (inside a request) %s", a.desc)
			mx.hooksFired.Add(1)
			a.do()
		}
	}})
	mx.stats.hooks++
	return a
}

// isGone reports an emulator refusal of an action on a record deleted
// meanwhile (a hooked action whose target went first).
func isGone(err error) bool {
	var e *sfemu.APIError
	return errors.As(err, &e) && (e.Code == "ENTITY_IS_DELETED" || e.Code == "NOT_FOUND" || e.Code == "INVALID_CROSS_REFERENCE_KEY")
}

// isLocked reports a user's save refused because syncd's fault locked the
// record: the user's edit did not happen.
func isLocked(err error) bool {
	var e *sfemu.APIError
	return errors.As(err, &e) && e.Code == "UNABLE_TO_LOCK_ROW"
}

// ---- cycles -------------------------------------------------------------------------------

// changed reports whether a cycle did anything but read.
func changed(r syncd.ObjectReport) bool {
	return r.LocalInserts+r.LocalUpdates+r.LocalDeletes+r.Created+r.Updated+r.Deleted+r.Conflicts+r.Relinked+
		r.Rescanned+r.Matched+r.Held+r.Reverted+r.Failed+r.Retrying > 0
}

func summary(r syncd.ObjectReport) string {
	s := fmt.Sprintf("pulled %d, local +%d ~%d -%d, sf +%d ~%d -%d, conflicts %d, relinked %d, rescanned %d, failed %d, retrying %d",
		r.Pulled, r.LocalInserts, r.LocalUpdates, r.LocalDeletes, r.Created, r.Updated, r.Deleted, r.Conflicts, r.Relinked,
		r.Rescanned, r.Failed, r.Retrying)
	if r.Reconciled {
		s += fmt.Sprintf(", reconciled: compared %d, repaired %d", r.Compared, r.Repaired)
	}
	if r.Err != nil {
		s += ", error: " + r.Err.Error()
	}
	return s
}

// cycle runs one cycle; mayFail says a fault was armed for it.
func (mx *mix) cycle(mayFail bool) syncd.ObjectReport {
	r := mx.h.engine.SyncObject(mx.h.ctx, mx.h.m)
	mx.log("  cycle: %s", summary(r))
	if r.Err != nil {
		if !mayFail {
			mx.fatalf("a cycle without a fault failed: %v", r.Err)
		}
		mx.stats.cycleErrs++
	}
	if r.Reconciled && r.Err == nil {
		mx.mu.Lock()
		mx.hardDeletes = 0
		mx.mu.Unlock()
	}
	return r
}

func (mx *mix) plainCycle() {
	mx.log("cycle")
	mx.cycle(false)
}

func (mx *mix) hookedCycle() {
	var as []*armed
	for range 1 + mx.rng.IntN(2) {
		as = append(as, mx.arm())
	}
	mx.log("cycle with %d actions inside it", len(as))
	tableGone := false
	for _, a := range as {
		tableGone = tableGone || a.dropsTable
	}
	if r := mx.cycle(tableGone); r.Err != nil && !strings.Contains(r.Err.Error(), "no such table: customers") {
		mx.fatalf("a cycle failed by other than the table's moment without it: %v", r.Err)
	}
	mx.settleArmed(as)
}

// reconcileCycle is a cycle that finds ReconcileEvery passed.
func (mx *mix) reconcileCycle() {
	mx.log("cycle that reconciles")
	// A first pull reads every record, and counts as a reconciliation only
	// after a scan of the table in the same cycle; after a syncd killed
	// between its scan and its first page, the next first pull neither
	// scans nor reconciles (syncd.Engine's reconcileDue).
	before, err := mx.h.db.Cursor(mx.h.ctx, mx.h.m.Object)
	if err != nil {
		mx.fatalf("cursor: %v", err)
	}
	mx.h.engine.ReconcileEvery = time.Nanosecond
	r := mx.cycle(false)
	mx.h.engine.ReconcileEvery = 0
	if !r.Reconciled && !before.Time.IsZero() {
		mx.fatalf("a cycle after ReconcileEvery did not reconcile")
	}
}

// fault arms a transient fault and returns what it is and how to undo it.
func (mx *mix) fault() (string, func()) {
	emu := mx.h.emu
	path := []string{"/query", "/composite", "/sobjects", ""}[mx.rng.IntN(4)]
	nth, times := 1+mx.rng.IntN(4), 1+mx.rng.IntN(3)
	if mx.chance(4) {
		times = -1 // an outage: the cycle fails
	}
	rule := sfemu.FailRule{Path: path, Nth: nth, Times: times}
	switch mx.rng.IntN(7) {
	case 0:
		rule.Status = 503
	case 1:
		rule.Status = 500
	case 2:
		// A data call's error: the token endpoint answers OAuth errors,
		// and a 400 there means a person must act.
		rule.ErrorCode = "UNABLE_TO_LOCK_ROW"
		if rule.Path == "" {
			rule.Path = "/composite"
		}
	case 3:
		rule.Kind = sfemu.FailLoseResponse
	case 4:
		rule.Kind = sfemu.FailReset
	case 5:
		ids, _ := mx.liveContacts()
		if len(ids) == 0 {
			return "nothing to lock", func() {}
		}
		id := ids[mx.rng.IntN(len(ids))]
		emu.SetRecordLocked(id, true)
		return fmt.Sprintf("record %s locked (UNABLE_TO_LOCK_ROW for its writes)", id), func() { emu.SetRecordLocked(id, false) }
	default:
		remove := emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("", path), Nth: nth, Action: emu.ExpireSessions})
		return fmt.Sprintf("sessions expire at request %d to %q", nth, path), remove
	}
	emu.Fail(rule)
	return fmt.Sprintf("fault %+v", rule), emu.ClearFaults
}

func (mx *mix) faultyCycle() {
	desc, undo := mx.fault()
	mx.log("cycle with %s", desc)
	mx.stats.faults++
	mx.cycle(true)
	undo()
}

// ---- schema changes -----------------------------------------------------------------------

// rebuildPlan is a rebuild drawn from the sequence's seed; the columns it
// applies to are read when it runs (two rebuilds hooked to one cycle run in
// the order of their requests).
type rebuildPlan struct {
	inTx bool
	seed uint64 // orders the columns and drops some unmapped ones
}

var mappedCols = []string{"first_name", "last_name", "email", "title", "full_name", "sync_id", "deleted_at"}

func (mx *mix) rebuildPlan() rebuildPlan {
	return rebuildPlan{inTx: mx.chance(2), seed: mx.rng.Uint64()}
}

// runRebuild changes the table the way SQLite ORMs do (SQLite's ALTER
// TABLE cannot change a column; "Making Other Kinds Of Table Schema
// Changes", sqlite.org/lang_altertable.html): syncd's triggers go with the
// old table. The new table has the columns in another order, without some
// of the unmapped ones. It returns the new order.
func (mx *mix) runRebuild(p rebuildPlan, inHook bool) string {
	fail := func(err error) string {
		if inHook {
			mx.hookErr("rebuild: %v", err)
			return ""
		}
		mx.fatalf("rebuild: %v", err)
		return ""
	}
	rng := rand.New(rand.NewPCG(p.seed, 1))
	var cols []string
	rows, err := mx.h.app.Query(`SELECT name FROM pragma_table_info('customers') WHERE name <> 'id' ORDER BY cid`)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		if slices.Contains(mappedCols, c) || rng.IntN(3) != 0 {
			cols = append(cols, c)
		}
	}
	rows.Close()
	rng.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	var defs []string
	for _, c := range cols {
		switch c {
		case "sync_id":
			defs = append(defs, "sync_id TEXT UNIQUE")
		default:
			defs = append(defs, c+" TEXT")
		}
	}
	list := strings.Join(cols, ", ")
	stmts := []string{
		`CREATE TABLE customers_new (id INTEGER PRIMARY KEY, ` + strings.Join(defs, ", ") + `)`,
		`INSERT INTO customers_new (id, ` + list + `) SELECT id, ` + list + ` FROM customers`,
		`DROP TABLE customers`,
		`ALTER TABLE customers_new RENAME TO customers`,
	}
	if !p.inTx {
		for _, q := range stmts {
			if !mx.exec(inHook, q) {
				return ""
			}
		}
		return list
	}
	conn, err := mx.h.app.Conn(mx.h.ctx)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	for _, q := range append(append([]string{"BEGIN IMMEDIATE"}, stmts...), "COMMIT") {
		if _, err := conn.ExecContext(mx.h.ctx, q); err != nil {
			conn.ExecContext(mx.h.ctx, "ROLLBACK")
			return fail(fmt.Errorf("%s: %w", q, err))
		}
	}
	return list
}

func (mx *mix) rebuild() {
	p := mx.rebuildPlan()
	cols := mx.runRebuild(p, false)
	mx.log("rebuild the table (in a transaction: %v) as (id, %s)", p.inTx, cols)
	mx.stats.rebuilds++
	if n := mx.h.count(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'customers'`); n != 0 {
		mx.fatalf("%d triggers survived the rebuild", n)
	}
	// The application writes before syncd's next cycle: nothing captures.
	for range mx.rng.IntN(4) {
		desc, do := mx.appAction()
		mx.log("  uncaptured: %s", desc)
		do(false)
	}
}

func (mx *mix) addColumn() {
	c := fmt.Sprintf("extra%d", mx.n)
	mx.n++
	mx.log("add column %s, and write it", c)
	mx.exec(false, `ALTER TABLE customers ADD COLUMN `+c+` TEXT`)
	mx.exec(false, `UPDATE customers SET `+c+` = 'x' WHERE id % 2 = 0`)
}

// indexBump creates or drops an index: a schema change syncd's triggers
// survive, that still moves SQLite's schema version.
func (mx *mix) indexBump() {
	var indexes []string
	rows, err := mx.h.app.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers' AND name LIKE 'customers_ix%' ORDER BY name`)
	if err != nil {
		mx.fatalf("indexes: %v", err)
	}
	for rows.Next() {
		var ix string
		rows.Scan(&ix)
		indexes = append(indexes, ix)
	}
	rows.Close()
	if len(indexes) > 0 && mx.chance(2) {
		ix := indexes[mx.rng.IntN(len(indexes))]
		mx.log("drop index %s", ix)
		mx.exec(false, `DROP INDEX `+ix)
		return
	}
	ix := fmt.Sprintf("customers_ix%d", mx.n)
	mx.n++
	col := mappedCols[mx.rng.IntN(len(mappedCols))]
	mx.log("create index %s on %s", ix, col)
	mx.exec(false, `CREATE INDEX `+ix+` ON customers (`+col+`)`)
}

// ---- other processes ----------------------------------------------------------------------

// child is a TestChaosMixChild process.
type child struct {
	cmd    *exec.Cmd
	lines  chan string // its output, closed when it ends
	exited chan struct{}
	stderr bytes.Buffer
}

func (mx *mix) startChild(url string, reconcile bool) *child {
	c := &child{lines: make(chan string, 16), exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestChaosMixChild$", "-test.count=1", "-test.v=false")
	c.cmd.Env = append(os.Environ(), "SYNCD_MIX_URL="+url, "SYNCD_MIX_DIR="+mx.h.dir,
		"SYNCD_MIX_POLICY="+string(mx.policy))
	if reconcile {
		c.cmd.Env = append(c.cmd.Env, "SYNCD_MIX_RECONCILE=1")
	}
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		mx.fatalf("child: %v", err)
	}
	if err := c.cmd.Start(); err != nil {
		mx.fatalf("child: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.cmd.Wait()
		close(c.exited)
	}()
	return c
}

// await returns the first line of the child's output that starts with one
// of prefixes, or "" if it ended or timeout passed first.
func (c *child) await(timeout time.Duration, prefixes ...string) string {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return ""
			}
			for _, p := range prefixes {
				if strings.HasPrefix(l, p) {
					return l
				}
			}
		case <-deadline:
			return ""
		}
	}
}

func (c *child) kill() bool {
	err := c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	return err == nil
}

// second starts another syncd on the database while one holds its lock,
// through a server that counts its requests: it must be refused, before
// any request.
func (mx *mix) second() {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mx.h.emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := mx.startChild(srv.URL, false)
	line := c.await(30*time.Second, "refused:", "ready")
	if !strings.HasPrefix(line, "refused:") {
		c.kill()
		mx.fatalf("a second syncd on a locked database was not refused: %q\n%s", line, c.stderr.String())
	}
	<-c.exited
	if !strings.Contains(line, store.ErrLocked.Error()) {
		mx.fatalf("the second syncd's refusal does not say the database is locked: %q", line)
	}
	if n := calls.Load(); n != 0 {
		mx.fatalf("the refused syncd sent %d requests to Salesforce", n)
	}
	mx.stats.refused++
}

// secondProcess starts a second syncd while this one (the test's store)
// holds the lock and runs nothing: it changes nothing in the database.
func (mx *mix) secondProcess() {
	mx.log("a second syncd starts while this one runs")
	before := mx.dump()
	mx.second()
	if after := mx.dump(); after != before {
		mx.fatalf("the refused syncd changed the database:\nbefore %s\nafter  %s", before, after)
	}
}

// dump is the whole database as text: every table's rows and the schema.
func (mx *mix) dump() string {
	rows, err := mx.h.app.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		mx.fatalf("dump: %v", err)
	}
	var b strings.Builder
	var tables []string
	for rows.Next() {
		var typ, name, sql string
		rows.Scan(&typ, &name, &sql)
		fmt.Fprintf(&b, "%s %s %s\n", typ, name, sql)
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, tbl := range tables {
		rows, err := mx.h.app.Query(`SELECT * FROM "` + tbl + `"`)
		if err != nil {
			mx.fatalf("dump %s: %v", tbl, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s: %s\n", tbl, strings.Join(lines, "; "))
	}
	return b.String()
}

// killStep hands the database to a syncd process and kills it with SIGKILL:
// after a random time, or when Salesforce has its Nth request (before it
// is handled, or after and before the answer), so that it dies with the
// write made and its answer lost. Salesforce users and the application
// may act during its cycles, a fault may be armed, and a second syncd may
// try to start while it runs.
func (mx *mix) killStep() {
	h := mx.h
	reconcile := mx.chance(4)
	var as []*armed
	for range mx.rng.IntN(3) {
		as = append(as, mx.arm())
	}
	undo := func() {}
	var faultDesc string
	if mx.chance(4) {
		faultDesc, undo = mx.fault()
		mx.stats.faults++
	}
	mode := mx.rng.IntN(3)
	wait := time.Duration(mx.rng.IntN(150)) * time.Millisecond
	var hookWhen sfemu.HookTime
	var hookPath string
	var hookNth int
	desc := fmt.Sprintf("kill -9 syncd %v after it starts", wait)
	switch mode {
	case 1:
		desc = fmt.Sprintf("kill -9 syncd %v after its first cycle starts", wait)
	case 2:
		hookWhen, hookPath, hookNth = sfemu.HookBefore, []string{"/query", "/composite", "/sobjects/Contact"}[mx.rng.IntN(3)], 1+mx.rng.IntN(8)
		if mx.chance(2) {
			hookWhen = sfemu.HookAfter
		}
		desc = fmt.Sprintf("kill -9 syncd at its request %d to %s (%s handling)", hookNth, hookPath, map[sfemu.HookTime]string{sfemu.HookBefore: "before", sfemu.HookAfter: "after"}[hookWhen])
	}
	second := mx.chance(4)
	mx.log("%s; reconciling every cycle: %v; %d actions inside; fault: %q; a second syncd tries: %v", desc, reconcile, len(as), faultDesc, second)

	h.db.Close() // the child owns the store (and its lock) from here on
	c := mx.startChild(h.srv.URL, reconcile)
	if mode != 0 || second {
		if l := c.await(30*time.Second, "ready", "refused"); !strings.HasPrefix(l, "ready") {
			c.kill()
			mx.fatalf("the syncd process never became ready:\n%s", c.stderr.String())
		}
	}
	if second {
		mx.log("  a second syncd starts")
		mx.second()
	}
	var fired atomic.Bool
	if mode == 2 {
		remove := h.emu.AddHook(hookWhen, sfemu.Hook{Match: sfemu.MatchRequest("", hookPath), Nth: hookNth, Action: func() {
			if fired.CompareAndSwap(false, true) {
				c.kill()
			}
		}})
		defer remove()
	}
	switch mode {
	case 2:
		select {
		case <-c.exited:
			mx.stats.hookKills++
		case <-time.After(2 * time.Second):
			mx.log("  (its request %d to %s never came: killed after 2s)", hookNth, hookPath)
		}
	default:
		time.Sleep(wait)
	}
	if c.kill() || fired.Load() {
		mx.stats.kills++
	}
	for l := range c.lines {
		if strings.HasPrefix(l, "refused") {
			mx.fatalf("the syncd process was refused the lock: %s", l)
		}
	}
	undo()
	mx.settleArmed(as)
	h.open()
	if err := h.db.Lock(); err != nil {
		mx.fatalf("lock after the kill: %v", err)
	}
}

// ---- the end ------------------------------------------------------------------------------

// quiet runs plain cycles until one changes nothing.
func (mx *mix) quiet(what string) {
	for i := range 5 {
		mx.h.emu.Advance(2 * time.Second)
		r := mx.h.engine.SyncObject(mx.h.ctx, mx.h.m)
		mx.log("  %s cycle %d: %s", what, i+1, summary(r))
		if r.Err != nil {
			mx.fatalf("%s: a cycle failed with no fault armed: %v", what, r.Err)
		}
		if !changed(r) {
			return
		}
	}
	mx.fatalf("%s: still changing after 5 cycles; waiting:\n%s", what, mx.pendingDetail())
}

// pendingDetail describes the rows with changes waiting: the row, its link
// and the linked record, for a failure message.
func (mx *mix) pendingDetail() string {
	rows, err := mx.h.app.Query(`SELECT o.seq, o.row_key, o.op, coalesce(o.changed_columns, ''), coalesce(l.sf_id, ''),
		coalesce(b._syncd_unsynced, CASE WHEN b.id IS NULL THEN 'none' ELSE 'kept' END), coalesce(f.fields, ''), coalesce(l.stamp, '')
		FROM _syncd_outbox o LEFT JOIN _syncd_link_Contact l ON l.row_key = o.row_key
		LEFT JOIN _syncd_base_Contact b ON b.id = o.row_key
		LEFT JOIN _syncd_in_flight f ON f.object = 'Contact' AND f.row_key = o.row_key WHERE o.done = 0 ORDER BY o.seq`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var seq int64
		var key, op, cols, id, shadow, inFlight, stamp string
		if err := rows.Scan(&seq, &key, &op, &cols, &id, &shadow, &inFlight, &stamp); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  outbox %d: row %s %s %s; link %q stamp %s merge base %s in flight %s\n", seq, key, op, cols, id, stamp, shadow, inFlight)
		var row []any
		if r, err := mx.h.app.Query(`SELECT * FROM customers WHERE id = ?`, key); err == nil {
			cols, _ := r.Columns()
			if r.Next() {
				row = make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range row {
					ptrs[i] = &row[i]
				}
				r.Scan(ptrs...)
			}
			r.Close()
			fmt.Fprintf(&b, "    row %v = %v\n", cols, row)
		}
		if c, ok := mx.h.emu.Get("Contact", id); ok {
			fmt.Fprintf(&b, "    record: deleted %v, FirstName %s, LastName %s, Email %s, Title %s, Syncd_Id__c %v, LastModifiedDate %v, MasterRecordId %v\n",
				c["IsDeleted"], show(c["FirstName"]), show(c["LastName"]), show(c["Email"]), show(c["Title"]), c["Syncd_Id__c"], c["LastModifiedDate"], c["MasterRecordId"])
		}
	}
	return b.String()
}

func (mx *mix) settle() {
	h := mx.h
	mx.step++
	mx.log("settle")
	h.emu.ClearFaults()
	h.emu.ClearHooks()
	mx.quiet("quiet")
	if mx.hardDeletes > 0 {
		// Hard deletes are invisible to the pull and the delete log: the
		// daemon's reconciliation (daily) finds them. Only those rows may
		// change.
		d := mx.verify()
		gone := map[string]bool{}
		for _, k := range d.MissingInSalesforce {
			gone[k] = true
		}
		rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]
		mx.log("  reconcile after %d hard deletes: %s", mx.hardDeletes, summary(rep))
		// Each such row follows its record's delete (its unpushed values
		// kept as conflicts) or, under local_wins, is created again.
		if rep.Err != nil || rep.Rescanned != 0 || rep.LocalInserts+rep.LocalUpdates != 0 || rep.LocalDeletes+rep.Relinked > len(gone) {
			mx.fatalf("the reconciliation after hard deletes did more than follow them (at most %d rows): %s", len(gone), summary(rep))
		}
		mx.quiet("after the reconciliation")
	}
	mx.check()
}

// deadLetters returns the rejected rows' keys as `syncd status` reads them,
// and checks that the health counts and the list agree with the table.
func (mx *mix) deadLetters() map[string]bool {
	ctx, db := mx.h.ctx, mx.h.db
	inTable := mx.h.count(`SELECT count(*) FROM _syncd_dead_letters`)
	health, err := db.Health(ctx)
	if err != nil {
		mx.fatalf("health: %v", err)
	}
	if n := health["Contact"].DeadLetters; n != inTable {
		mx.fatalf("health reports %d rejected rows, the database holds %d", n, inTable)
	}
	recent, err := db.RecentDeadLetters(ctx, inTable+10)
	if err != nil {
		mx.fatalf("dead letters: %v", err)
	}
	if len(recent) != inTable {
		mx.fatalf("RecentDeadLetters lists %d rows, the database holds %d", len(recent), inTable)
	}
	keys := map[string]bool{}
	for _, d := range recent {
		if d.Object != "Contact" || d.Code == "" || d.Message == "" {
			mx.fatalf("dead letter without its object or reason: %+v", d)
		}
		keys[d.Key] = true
		if !mx.poisoned[d.Key] {
			mx.fatalf("row %s was rejected (%s: %s) but was never given a value Salesforce refuses", d.Key, d.Code, d.Message)
		}
	}
	return keys
}

func (mx *mix) verify() syncd.Drift {
	d, err := mx.h.engine.Verify(mx.h.ctx, mx.h.m)
	if err != nil {
		mx.fatalf("verify: %v", err)
	}
	return d
}

// check asserts the invariant of a settled sequence.
func (mx *mix) check() {
	h := mx.h
	dead := mx.deadLetters()
	mx.stats.deadLetters = len(dead)
	// The table has no constraint of the application's that a record could
	// fail: a refused record would be syncd's own doing (its external-id
	// index, its keys), not a record's.
	if n := h.count(`SELECT count(*) FROM _syncd_refused`); n != 0 {
		mx.fatalf("%d pulled records refused by the table", n)
	}

	// Both sides agree, but for rejected rows.
	d := mx.verify()
	if len(d.MissingLocally) > 0 {
		mx.fatalf("live Contacts with no live row: %v", d.MissingLocally)
	}
	for _, k := range d.MissingInSalesforce {
		if !dead[k] {
			mx.fatalf("row %s has no live Contact and was not rejected", k)
		}
	}
	for _, f := range d.Differ {
		if !dead[f.Key] {
			mx.fatalf("row %s (%s) differs in %s: local %s, Salesforce %s; it was not rejected", f.Key, f.ID, f.Field, show(f.Local), show(f.Remote))
		}
	}

	// One live row, one live Contact.
	type row struct {
		key, last, sid, link string
		first, email, title  any
	}
	var live []row
	rows, err := h.app.Query(`SELECT CAST(c.id AS TEXT), last_name, first_name, email, title, coalesce(sync_id, ''), coalesce(l.sf_id, '')
		FROM customers c LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT)
		WHERE c.deleted_at IS NULL ORDER BY c.id`)
	if err != nil {
		mx.fatalf("rows: %v", err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.key, &r.last, &r.first, &r.email, &r.title, &r.sid, &r.link); err != nil {
			mx.fatalf("rows: %v", err)
		}
		live = append(live, r)
	}
	rows.Close()
	contacts := map[string]map[string]any{}
	byExt, byName := map[any]string{}, map[any]string{}
	for _, c := range h.emu.All("Contact") {
		if c["IsDeleted"] == true {
			continue
		}
		id := c["Id"].(string)
		contacts[id] = c
		if ext := c["Syncd_Id__c"]; ext != nil {
			if other, dup := byExt[ext]; dup {
				mx.fatalf("Contacts %s and %s share the external id %v", other, id, ext)
			}
			byExt[ext] = id
		}
		if other, dup := byName[c["LastName"]]; dup {
			mx.fatalf("Contacts %s and %s were both created for %v", other, id, c["LastName"])
		}
		byName[c["LastName"]] = id
	}
	linked := map[string]string{}
	for _, r := range live {
		bad := r.email == badEmail || r.title == badTitle
		if bad && !dead[r.key] {
			mx.fatalf("row %s (%s) holds a value Salesforce refuses and is not reported rejected", r.key, r.last)
		}
		if r.link == "" {
			if !dead[r.key] {
				mx.fatalf("live row %s (%s) is linked to no Contact and was not rejected", r.key, r.last)
			}
			continue
		}
		if other, dup := linked[r.link]; dup {
			mx.fatalf("rows %s and %s are both linked to %s", other, r.key, r.link)
		}
		linked[r.link] = r.key
		c, ok := contacts[r.link]
		if !ok {
			mx.fatalf("live row %s (%s) is linked to %s, which is not a live Contact", r.key, r.last, r.link)
		}
		if ext := c["Syncd_Id__c"]; ext != nil && ext != r.sid {
			mx.fatalf("row %s (sync_id %s) is linked to %s whose external id is %v", r.key, r.sid, r.link, ext)
		}
	}
	for id, c := range contacts {
		if _, ok := linked[id]; !ok {
			mx.fatalf("live Contact %s (%v) is linked to no live row", id, c["LastName"])
		}
	}
	var pending []string
	prow, err := h.app.Query(`SELECT DISTINCT coalesce(row_key, '') FROM _syncd_outbox WHERE done = 0`)
	if err != nil {
		mx.fatalf("outbox: %v", err)
	}
	for prow.Next() {
		var k string
		prow.Scan(&k)
		pending = append(pending, k)
	}
	prow.Close()
	for _, k := range pending {
		if !dead[k] {
			mx.fatalf("row %q still has changes waiting after the sync settled", k)
		}
	}

	// No lost edit.
	for _, r := range live {
		if mx.gapWritten[r.last] && mx.sfEdited[r.last] {
			continue
		}
		if !mx.noTitle[r.last] {
			if want, ok := mx.title[r.last]; ok && fmt.Sprint(r.title) != fmt.Sprint(want) {
				mx.fatalf("row %s (%s): title %s, want the application's last %s (lost edit)", r.key, r.last, show(r.title), show(want))
			}
		}
		if !mx.noFirst[r.last] {
			if want, ok := mx.first[r.last]; ok && fmt.Sprint(r.first) != fmt.Sprint(want) {
				mx.fatalf("row %s (%s): first name %s, want the last written %s (lost edit)", r.key, r.last, show(r.first), show(want))
			}
		}
	}

	// The incremental path missed nothing.
	h.emu.Advance(2 * time.Second)
	rep := h.engine.Reconcile(h.ctx, []*syncd.Mapping{h.m}).Objects[0]
	mx.log("  final reconcile: %s", summary(rep))
	if rep.Err != nil || rep.Repaired != 0 || rep.Rescanned != 0 {
		mx.fatalf("the reconciliation after the sync settled repaired %d and rescanned %d rows (err %v): the incremental sync missed them; %s",
			rep.Repaired, rep.Rescanned, rep.Err, summary(rep))
	}
}
