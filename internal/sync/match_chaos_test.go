package sync_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// TestChaosMatch is the first sync of two populated sides, matched on
// email, disturbed the ways TestChaosMix disturbs a sync (which has no
// match keys): syncd killed with SIGKILL at random moments or when its
// Nth query or write reaches Salesforce (the write made, its answer going
// nowhere), faults (outages, lost answers, resets, sessions expired), and
// Salesforce users and the application changing emails, deleting and
// adding people inside syncd's requests: between matching's read and its
// links, creates and holds.
//
// The table and the org start with people sharing emails in any case or
// spacing: pairs, keys shared by several rows or records, people without
// an email. Once plain cycles change nothing:
//
//   - every key no one touched ends as an undisturbed first sync ends it:
//     one row and one record are linked together, with no Contact
//     created for the row (no duplicate); rows whose key no record has
//     each have a Contact created; records whose key no row has each have
//     a row; any other key's rows are rejected (AMBIGUOUS_MATCH) and its
//     records held, with no Contact created for them;
//   - whatever was touched, the end is a fixed point of matching: every
//     live row is linked to one live Contact and no Contact to two rows,
//     or it is rejected as an ambiguous match whose key really is
//     ambiguous among the unlinked rows and the records; every live
//     Contact is linked to a row or held for such a key; nothing else is
//     rejected or waiting in the outbox.
//
// Eight sequences by default; SYNCD_CHAOS_DURATION, SYNCD_CHAOS_SEED and
// SYNCD_CHAOS_SEQS work as for TestChaosMix.
func TestChaosMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	seeds := chaosSeedsFromEnv(t, 8)
	var total matchChaosStats
	seeds.run(t, func(t *testing.T, seed uint64) {
		var st matchChaosStats
		defer func() { total.add(st) }()
		runMatchChaos(t, seed, &st)
	}, func() string { return total.String() }, "")
}

// TestChaosMatchChild is a syncd process of TestChaosMatch: it syncs in a
// loop until SIGKILL arrives.
func TestChaosMatchChild(t *testing.T) {
	url, dir := os.Getenv("SYNCD_MATCH_URL"), os.Getenv("SYNCD_MATCH_DIR")
	if url == "" {
		t.Skip("helper process for TestChaosMatch")
	}
	syncForever(t, dir, url, matchChaosMapping(syncd.Policy(os.Getenv("SYNCD_MATCH_POLICY"))), false, nil)
}

func matchChaosMapping(p syncd.Policy) *syncd.Mapping {
	m := mixMapping(p)
	m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
	return m
}

type matchChaosStats struct{ steps, kills, faults, actions, fired, linked, created, pulled, ambiguous int }

func (s *matchChaosStats) add(o matchChaosStats) {
	s.steps += o.steps
	s.kills += o.kills
	s.faults += o.faults
	s.actions += o.actions
	s.fired += o.fired
	s.linked += o.linked
	s.created += o.created
	s.pulled += o.pulled
	s.ambiguous += o.ambiguous
}

func (s matchChaosStats) String() string {
	return fmt.Sprintf("%d steps, %d kills, %d faults, %d of %d actions inside a request; untouched keys ended %d linked pairs, %d rows created, %d records pulled, %d ambiguous",
		s.steps, s.kills, s.faults, s.fired, s.actions, s.linked, s.created, s.pulled, s.ambiguous)
}

// matchChaos is one sequence: the people it started with, by key.
type matchChaos struct {
	t     *testing.T
	h     *harness
	rng   *rand.Rand
	seed  uint64
	keys  int
	rows  map[string][]int64  // match key -> keys of the rows that had it at the start
	recs  map[string][]string // match key -> Ids of the records that had it at the start
	mu    gosync.Mutex
	touch map[string]bool // keys an action changed, added or removed a person of
	trace []string
	stats matchChaosStats
	fired atomic.Int64
	errs  []string
}

func (mc *matchChaos) log(format string, args ...any) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.trace = append(mc.trace, fmt.Sprintf(format, args...))
}

func (mc *matchChaos) fatalf(format string, args ...any) {
	mc.t.Helper()
	mc.mu.Lock()
	trace := strings.Join(mc.trace, "\n")
	mc.mu.Unlock()
	mc.t.Fatalf("seed %d: %s\nreplay: SYNCD_CHAOS_SEED=%d go test -run '^TestChaosMatch$' ./internal/sync\nsteps:\n%s",
		mc.seed, fmt.Sprintf(format, args...), mc.seed, trace)
}

// email draws a key's email, in either case when a row's, or none.
func (mc *matchChaos) email(row bool) (string, any) {
	k := mc.rng.IntN(mc.keys + 1)
	if k == mc.keys {
		return "", nil
	}
	e := fmt.Sprintf("p%d@example.com", k)
	// A row's email in another case still matches; spaces around it
	// would too, but Salesforce refuses the Contact of such a row when it
	// has to be created, which is no matching's doing.
	if row && mc.rng.IntN(2) == 0 {
		e = strings.ToUpper(e)
	}
	return strings.ToLower(strings.TrimSpace(e)), e
}

func runMatchChaos(t *testing.T, seed uint64, stats *matchChaosStats) {
	rng := rand.New(rand.NewPCG(seed, 0x3a7c4))
	policy := policies[rng.IntN(len(policies))]
	var opts sfemu.Options
	if seed%2 == 1 {
		opts.MaxPageSize = 2 + int(seed/2%4)
	}
	mc := &matchChaos{t: t, rng: rng, seed: seed, keys: 1 + rng.IntN(6),
		rows: map[string][]int64{}, recs: map[string][]string{}, touch: map[string]bool{}}
	defer func() { mc.stats.fired = int(mc.fired.Load()); *stats = mc.stats }()
	nrows, nrecs := rng.IntN(10), rng.IntN(10)
	mc.log("policy %v, pages of at most %d, %d keys, %d rows, %d records", policy, opts.MaxPageSize, mc.keys, nrows, nrecs)
	mc.h = newHarnessBefore(t, t.Cleanup, t.TempDir(), opts, func(h *harness) {
		for i := range nrows {
			k, e := mc.email(true)
			r := h.exec(`INSERT INTO customers (first_name, last_name, email, title) VALUES ('Row', ?, ?, 't')`, fmt.Sprint("row", i), e)
			id, _ := r.LastInsertId()
			mc.rows[k] = append(mc.rows[k], id)
			mc.log("row %d email %s", id, show(e))
		}
	}, func(m *syncd.Mapping) {
		m.Conflict = policy
		m.Match = []syncd.MatchKey{{Column: "email", Field: "Email"}}
	})
	for i := range nrecs {
		k, e := mc.email(false)
		id := mustInsert(t, mc.h.emu, map[string]any{"FirstName": "Rec", "LastName": fmt.Sprint("rec", i), "Email": e, "Title": "t"})
		mc.recs[k] = append(mc.recs[k], id)
		mc.log("record %s email %s", id, show(e))
	}
	steps := 4 + rng.IntN(8)
	for range steps {
		mc.stats.steps++
		switch n := rng.IntN(10); {
		case n < 2:
			mc.log("cycle")
			mc.cycle(false)
		case n < 4:
			mc.faultyCycle()
		case n < 7:
			mc.killStep()
		default:
			mc.hookedCycle()
		}
		mc.h.emu.Advance(time.Second)
	}
	mc.settle()
	mc.check()
}

func (mc *matchChaos) cycle(mayFail bool) syncd.ObjectReport {
	r := mc.h.engine.SyncObject(mc.h.ctx, mc.h.m)
	mc.log("  cycle: %s, matched %d, held %d", summary(r), r.Matched, r.Held)
	if r.Err != nil && !mayFail {
		mc.fatalf("a cycle without a fault failed: %v", r.Err)
	}
	return r
}

func (mc *matchChaos) faultyCycle() {
	emu := mc.h.emu
	path := []string{"/query", "/queryAll", "/composite", "/composite/sobjects", ""}[mc.rng.IntN(5)]
	rule := sfemu.FailRule{Path: path, Nth: 1 + mc.rng.IntN(3), Times: 1 + mc.rng.IntN(3)}
	if mc.rng.IntN(4) == 0 {
		rule.Times = -1
	}
	undo := emu.ClearFaults
	desc := ""
	switch mc.rng.IntN(5) {
	case 0:
		rule.Status = 503
	case 1:
		rule.Status = 500
	case 2:
		rule.Kind = sfemu.FailLoseResponse
	case 3:
		rule.Kind = sfemu.FailReset
	default:
		undo = emu.AddHook(sfemu.HookBefore, sfemu.Hook{Match: sfemu.MatchRequest("", path), Nth: rule.Nth, Action: emu.ExpireSessions})
		desc = fmt.Sprintf("sessions expire at request %d to %q", rule.Nth, path)
	}
	if desc == "" {
		emu.Fail(rule)
		desc = fmt.Sprintf("fault %+v", rule)
	}
	mc.log("cycle with %s", desc)
	mc.stats.faults++
	mc.cycle(true)
	undo()
}

// action returns a Salesforce user's or the application's change of the
// people: an email changed to another key or to none, a person deleted,
// a person added; it marks the keys it touches.
func (mc *matchChaos) action() (string, func()) {
	h := mc.h
	touch := func(ks ...string) {
		mc.mu.Lock()
		for _, k := range ks {
			mc.touch[k] = true
		}
		mc.mu.Unlock()
	}
	fail := func(format string, args ...any) {
		mc.mu.Lock()
		mc.errs = append(mc.errs, fmt.Sprintf(format, args...))
		mc.mu.Unlock()
	}
	keyOf := func(v any) string {
		s, _ := v.(string)
		return strings.ToLower(strings.TrimSpace(s))
	}
	newKey, newEmail := mc.email(mc.rng.IntN(2) == 0)
	var ids []string
	var recKeys []string
	for _, c := range h.emu.All("Contact") {
		if c["IsDeleted"] != true {
			ids, recKeys = append(ids, c["Id"].(string)), append(recKeys, keyOf(c["Email"]))
		}
	}
	switch n := mc.rng.IntN(6); {
	case n == 0 || len(ids) == 0 && n < 3:
		name := fmt.Sprint("sfnew", mc.rng.IntN(1e6))
		newEmail = strings.TrimSpace(fmt.Sprint(newEmail))
		if newKey == "" {
			newEmail = ""
		}
		return fmt.Sprintf("sf insert %s email %s", name, show(newEmail)), func() {
			touch(newKey)
			var e any
			if newEmail != "" {
				e = newEmail
			}
			if _, err := h.emu.Insert("Contact", map[string]any{"FirstName": "User", "LastName": name, "Email": e, "Title": "t"}); err != nil {
				fail("sf insert: %v", err)
			}
		}
	case n == 1 || n == 2 && len(ids) > 0:
		i := mc.rng.IntN(len(ids))
		id, old := ids[i], recKeys[i]
		if n == 2 {
			return fmt.Sprintf("sf delete %s (key %q)", id, old), func() {
				touch(old)
				if err := h.emu.Delete("Contact", id); err != nil && !isGone(err) {
					fail("sf delete: %v", err)
				}
			}
		}
		var e any
		if newKey != "" {
			e = strings.TrimSpace(fmt.Sprint(newEmail))
		}
		return fmt.Sprintf("sf update %s (key %q) email %s", id, old, show(e)), func() {
			touch(old, newKey)
			if err := h.emu.Update("Contact", id, map[string]any{"Email": e}); err != nil && !isGone(err) && !isLocked(err) {
				fail("sf update: %v", err)
			}
		}
	case n == 3:
		name := fmt.Sprint("appnew", mc.rng.IntN(1e6))
		return fmt.Sprintf("app insert %s email %s", name, show(newEmail)), func() {
			touch(newKey)
			if _, err := h.app.Exec(`INSERT INTO customers (first_name, last_name, email, title) VALUES ('App', ?, ?, 't')`, name, newEmail); err != nil {
				fail("app insert: %v", err)
			}
		}
	default:
		var key int64
		var old any
		if err := h.app.QueryRow(`SELECT id, email FROM customers WHERE deleted_at IS NULL ORDER BY random() LIMIT 1`).Scan(&key, &old); err != nil {
			return "no row to change", func() {}
		}
		if n == 4 {
			return fmt.Sprintf("app delete row %d (key %q)", key, keyOf(old)), func() {
				touch(keyOf(old))
				if _, err := h.app.Exec(`DELETE FROM customers WHERE id = ?`, key); err != nil {
					fail("app delete: %v", err)
				}
			}
		}
		return fmt.Sprintf("app update row %d (key %q) email %s", key, keyOf(old), show(newEmail)), func() {
			touch(keyOf(old), newKey)
			if _, err := h.app.Exec(`UPDATE customers SET email = ? WHERE id = ?`, newEmail, key); err != nil {
				fail("app update: %v", err)
			}
		}
	}
}

// arm hooks an action to a random request of syncd's; the returned func
// removes the hook and runs the action if its request never came.
func (mc *matchChaos) arm() func() {
	desc, do := mc.action()
	when, whenName := sfemu.HookBefore, "before"
	if mc.rng.IntN(2) == 0 {
		when, whenName = sfemu.HookAfter, "after"
	}
	path := []string{"/query", "/query", "/queryAll", "/composite", ""}[mc.rng.IntN(5)]
	nth := 1 + mc.rng.IntN(3)
	mc.log("  armed %s, %s request %d to %q", desc, whenName, nth, path)
	mc.stats.actions++
	var fired atomic.Bool
	var acting gosync.Mutex
	remove := mc.h.emu.AddHook(when, sfemu.Hook{Match: sfemu.MatchRequest("", path), Nth: nth, Action: func() {
		acting.Lock()
		defer acting.Unlock()
		if fired.CompareAndSwap(false, true) {
			mc.fired.Add(1)
			mc.log("  (inside a request) %s", desc)
			do()
		}
	}})
	return func() {
		remove()
		acting.Lock()
		defer acting.Unlock()
		if fired.CompareAndSwap(false, true) {
			mc.log("  (after, its request never came) %s", desc)
			do()
		}
	}
}

func (mc *matchChaos) hookedCycle() {
	mc.log("cycle with actions inside it")
	var settle []func()
	for range 1 + mc.rng.IntN(2) {
		settle = append(settle, mc.arm())
	}
	mc.cycle(false)
	for _, s := range settle {
		s()
	}
	mc.checkErrs()
}

func (mc *matchChaos) checkErrs() {
	mc.mu.Lock()
	errs := mc.errs
	mc.errs = nil
	mc.mu.Unlock()
	if len(errs) > 0 {
		mc.fatalf("an action failed: %s", strings.Join(errs, "; "))
	}
}

// killStep hands the database to a syncd process and kills it: after a
// random time, or at its Nth request to a path, before Salesforce handles
// it or after, with the answer going nowhere. Actions may be armed in its
// requests too.
func (mc *matchChaos) killStep() {
	h := mc.h
	var settle []func()
	if mc.rng.IntN(3) == 0 {
		settle = append(settle, mc.arm())
	}
	path := []string{"/query", "/queryAll", "/composite", "/composite/sobjects", ""}[mc.rng.IntN(5)]
	nth := 1 + mc.rng.IntN(6)
	when := sfemu.HookBefore
	if mc.rng.IntN(2) == 0 {
		when = sfemu.HookAfter
	}
	timed := mc.rng.IntN(3) == 0
	wait := time.Duration(mc.rng.IntN(150)) * time.Millisecond
	if timed {
		mc.log("kill -9 syncd %v after it starts", wait)
	} else {
		mc.log("kill -9 syncd at its request %d to %q (%v handling)", nth, path, map[sfemu.HookTime]string{sfemu.HookBefore: "before", sfemu.HookAfter: "after"}[when])
	}
	h.db.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosMatchChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), "SYNCD_MATCH_URL="+h.srv.URL, "SYNCD_MATCH_DIR="+h.dir, "SYNCD_MATCH_POLICY="+string(h.m.Conflict))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		mc.fatalf("child: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var fired atomic.Bool
	if !timed {
		remove := h.emu.AddHook(when, sfemu.Hook{Match: sfemu.MatchRequest("", path), Nth: nth, Action: func() {
			if fired.CompareAndSwap(false, true) {
				cmd.Process.Signal(syscall.SIGKILL)
				<-exited
			}
		}})
		defer remove()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			mc.log("  (its request never came: killed after 3s)")
		}
	} else {
		time.Sleep(wait)
	}
	if cmd.Process.Signal(syscall.SIGKILL) == nil || fired.Load() {
		mc.stats.kills++
	}
	<-exited
	for _, s := range settle {
		s()
	}
	mc.checkErrs()
	if strings.Contains(stderr.String(), "FAIL") {
		mc.fatalf("the syncd process failed:\n%s", stderr.String())
	}
	h.open()
}

func (mc *matchChaos) settle() {
	mc.log("settle")
	mc.h.emu.ClearFaults()
	mc.h.emu.ClearHooks()
	for range 6 {
		mc.h.emu.Advance(2 * time.Second)
		r := mc.cycle(false)
		if changedButHolds(r) {
			return
		}
	}
	mc.fatalf("still changing after 6 quiet cycles")
}

// changedButHolds reports a cycle whose only work is holding records and
// rejecting rows that were already (matching computes both anew each
// cycle, and reports them each time).
func changedButHolds(r syncd.ObjectReport) bool {
	r.Held, r.Failed = 0, 0
	return !changed(r)
}

// check asserts the end described on TestChaosMatch.
func (mc *matchChaos) check() {
	h := mc.h
	keyOf := func(v any) string {
		s, _ := v.(string)
		return strings.ToLower(strings.TrimSpace(s))
	}
	// The end state: live rows with their link and key, live Contacts.
	type row struct {
		key       int64
		email     string
		link      string
		ambiguous bool
	}
	rows := map[int64]*row{}
	q, err := h.app.Query(`SELECT c.id, c.email, coalesce(l.sf_id, '') FROM customers c
		LEFT JOIN _syncd_link_Contact l ON l.row_key = CAST(c.id AS TEXT) WHERE c.deleted_at IS NULL`)
	if err != nil {
		mc.fatalf("rows: %v", err)
	}
	for q.Next() {
		var r row
		var email any
		if err := q.Scan(&r.key, &email, &r.link); err != nil {
			mc.fatalf("rows: %v", err)
		}
		r.email = keyOf(email)
		rows[r.key] = &r
	}
	q.Close()
	q, err = h.app.Query(`SELECT row_key, code, message FROM _syncd_dead_letters`)
	if err != nil {
		mc.fatalf("dead letters: %v", err)
	}
	for q.Next() {
		var k, code, msg string
		q.Scan(&k, &code, &msg)
		n, _ := strconv.ParseInt(k, 10, 64)
		r, ok := rows[n]
		if code != syncd.CodeAmbiguousMatch || !ok {
			q.Close()
			mc.fatalf("row %s rejected (%s: %s); only live rows with an ambiguous match may be", k, code, msg)
		}
		r.ambiguous = true
	}
	q.Close()
	held := map[string]bool{}
	q, err = h.app.Query(`SELECT sf_id FROM _syncd_holds WHERE released = 0`)
	if err != nil {
		mc.fatalf("holds: %v", err)
	}
	for q.Next() {
		var id string
		q.Scan(&id)
		held[id] = true
	}
	q.Close()
	if n := h.count(`SELECT count(*) FROM _syncd_holds WHERE released = 1`); n != 0 {
		mc.fatalf("%d released records still to be read again after the sync settled", n)
	}
	contacts := map[string]string{} // live Id -> key
	candidates := map[string]int{}  // key -> live Contacts
	for _, c := range h.emu.All("Contact") {
		if c["IsDeleted"] != true {
			k := keyOf(c["Email"])
			contacts[c["Id"].(string)] = k
			candidates[k]++
		}
	}
	linkedTo := map[string]int64{}
	unlinkedRows := map[string]int{} // key -> live rows with no link
	for _, r := range rows {
		if r.link == "" {
			if !r.ambiguous {
				mc.fatalf("live row %d (key %q) is linked to no Contact and was not rejected", r.key, r.email)
			}
			unlinkedRows[r.email]++
			continue
		}
		if r.ambiguous {
			mc.fatalf("row %d is linked to %s and still rejected as ambiguous", r.key, r.link)
		}
		if other, dup := linkedTo[r.link]; dup {
			mc.fatalf("rows %d and %d are both linked to %s", other, r.key, r.link)
		}
		linkedTo[r.link] = r.key
		if _, ok := contacts[r.link]; !ok {
			mc.fatalf("row %d is linked to %s, which is not a live Contact", r.key, r.link)
		}
	}
	// A fixed point of matching: a rejected row's key has records and is
	// not one row and one unlinked record; a held record's key is a
	// rejected row's.
	for _, r := range rows {
		if r.link != "" {
			continue
		}
		unlinkedRecs := 0
		for id, k := range contacts {
			if k == r.email && linkedTo[id] == 0 {
				unlinkedRecs++
			}
		}
		if r.email == "" || candidates[r.email] == 0 || unlinkedRows[r.email] == 1 && candidates[r.email] == 1 && unlinkedRecs == 1 {
			mc.fatalf("row %d (key %q) is rejected as ambiguous, with %d rows and %d records (%d unlinked) of its key", r.key, r.email, unlinkedRows[r.email], candidates[r.email], unlinkedRecs)
		}
	}
	for id, k := range contacts {
		if _, ok := linkedTo[id]; ok {
			if held[id] {
				mc.fatalf("Contact %s is linked and held", id)
			}
			continue
		}
		if !held[id] {
			mc.fatalf("live Contact %s (key %q) is linked to no row and not held", id, k)
		}
		if unlinkedRows[k] == 0 {
			mc.fatalf("Contact %s is held for key %q, which no rejected row has", id, k)
		}
	}
	if n := h.count(`SELECT count(*) FROM _syncd_outbox WHERE done = 0 AND row_key NOT IN (SELECT row_key FROM _syncd_dead_letters)`); n != 0 {
		mc.fatalf("%d changes still waiting after the sync settled", n)
	}

	// Keys no action touched end as an undisturbed first sync ends them.
	var keys []string
	for k := range mc.rows {
		keys = append(keys, k)
	}
	for k := range mc.recs {
		if _, ok := mc.rows[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if mc.touch[k] {
			continue
		}
		rs, cs := mc.rows[k], mc.recs[k]
		switch {
		case k != "" && len(rs) == 1 && len(cs) == 1:
			if got := rows[rs[0]].link; got != cs[0] {
				mc.fatalf("key %q: row %d is linked to %q, want the record %s it matches", k, rs[0], got, cs[0])
			}
			if candidates[k] != 1 {
				mc.fatalf("key %q: %d Contacts, want the one it had (a duplicate)", k, candidates[k])
			}
			mc.stats.linked++
		case k == "" || len(rs) == 0 || len(cs) == 0:
			for _, n := range rs {
				if rows[n].link == "" {
					mc.fatalf("key %q: row %d has no Contact", k, n)
				}
			}
			for _, id := range cs {
				if _, ok := linkedTo[id]; !ok {
					mc.fatalf("key %q: record %s has no row", k, id)
				}
			}
			if k != "" && candidates[k] != len(rs)+len(cs) {
				mc.fatalf("key %q: %d Contacts, want %d", k, candidates[k], len(rs)+len(cs))
			}
			mc.stats.created += len(rs)
			mc.stats.pulled += len(cs)
		default:
			for _, n := range rs {
				if r := rows[n]; r.link != "" || !r.ambiguous {
					mc.fatalf("key %q of %d rows and %d records: row %d linked to %q, rejected %v; want rejected", k, len(rs), len(cs), n, r.link, r.ambiguous)
				}
			}
			for _, id := range cs {
				if !held[id] {
					mc.fatalf("key %q of %d rows and %d records: record %s not held", k, len(rs), len(cs), id)
				}
			}
			if candidates[k] != len(cs) {
				mc.fatalf("key %q: %d Contacts, want the %d it had (a row created although ambiguous)", k, candidates[k], len(cs))
			}
			mc.stats.ambiguous++
		}
	}
}
