package sync

import gosync "sync"

// ReadShare carries what a Remote set up for one read to the reads that
// follow it in the same matching (MatchFilter.Share), so that reading in
// parts does not set the same thing up once a part: a Bulk query job
// and its downloaded result, which every part reads, rather than a job
// and a download per part. What
// is kept is the Remote's, under a key it chooses (its query), and
// released by the close it gave when the share is closed or something
// else is kept.
type ReadShare struct {
	mu    gosync.Mutex
	key   string
	value any
	close func()
}

// Kept returns what was kept under key, if anything. A nil share keeps
// nothing.
func (s *ReadShare) Kept(key string) (any, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value == nil || s.key != key {
		return nil, false
	}
	return s.value, true
}

// Keep keeps v under key until the share is closed, releasing what was
// kept before; close releases v.
func (s *ReadShare) Keep(key string, v any, close func()) {
	s.mu.Lock()
	prev := s.close
	s.key, s.value, s.close = key, v, close
	s.mu.Unlock()
	if prev != nil {
		prev()
	}
}

// Close releases what is kept. A nil share has nothing to release.
func (s *ReadShare) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	prev := s.close
	s.key, s.value, s.close = "", nil, nil
	s.mu.Unlock()
	if prev != nil {
		prev()
	}
}
