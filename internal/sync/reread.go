package sync

import "time"

// stampCounts counts a pull's records per second of stamp, so that once
// the pull is complete it knows how many it read from where the next pull
// starts (Floor.Reread). Records arrive in stamp order and the next pull
// starts at most a lookback window (plus the safety lag) before the newest
// of them, so only that window's seconds are kept: a few hundred counts,
// whatever the pull's size.
type stampCounts struct {
	keep    time.Duration
	buckets []stampBucket // ascending seconds
}

type stampBucket struct {
	second time.Time
	n      int
}

func newStampCounts(m *Mapping) *stampCounts {
	return &stampCounts{keep: m.Lookback + m.SafetyLag + time.Second}
}

func (s *stampCounts) add(stamp time.Time) {
	sec := stamp.Truncate(time.Second)
	if k := len(s.buckets); k > 0 && !sec.After(s.buckets[k-1].second) {
		// The same second, or (never in a keyset pull) an older one:
		// counted with the newest, which only overstates the expectation.
		s.buckets[k-1].n++
		return
	}
	s.buckets = append(s.buckets, stampBucket{second: sec, n: 1})
	oldest := sec.Add(-s.keep)
	i := 0
	for i < len(s.buckets) && s.buckets[i].second.Before(oldest) {
		i++
	}
	s.buckets = s.buckets[i:]
}

// since counts the records stamped in from's second or later.
func (s *stampCounts) since(from time.Time) int {
	from = from.Truncate(time.Second)
	n := 0
	for i := len(s.buckets) - 1; i >= 0 && !s.buckets[i].second.Before(from); i-- {
		n += s.buckets[i].n
	}
	return n
}

// pageSize is the number of records a query page holds for m.
func (m *Mapping) pageSize() int {
	if m.BatchSize > 0 {
		return m.BatchSize
	}
	return applyBatch
}

// clockAtLeast is the engine's estimate of Salesforce's clock before a
// pull's first call: ours (or the Remote's, when it is a ServerClock),
// unless the cursor or the floor records a later Salesforce time (the last
// pull's query, the last getUpdated answer). It
// decides only whether getUpdated is worth asking in that call: too early
// an estimate leaves the question to the next cycle, too late a one asks
// in a minute whose answer cannot move the floor.
func (m *Mapping) clockAtLeast(c Cursor, f Floor, ours time.Time) time.Time {
	t := ours
	if !c.Time.IsZero() {
		if s := c.Time.Add(m.SafetyLag); s.After(t) {
			t = s
		}
	}
	if f.Asked.After(t) {
		t = f.Asked
	}
	return t
}
