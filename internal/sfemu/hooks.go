package sfemu

import (
	"net/http"
	"strings"
	"sync"
)

// Hooks let a test make something happen at an exact point of a client's conversation: a
// Salesforce user's edit that lands between a sync daemon's read and its write, or between two
// pages of its query. The action runs synchronously in the goroutine serving the matching
// request, so no sleep or polling is needed and the order is fixed:
//
//   - a Before action completes before the emulator looks at the request (authentication,
//     limits, the record's current state, If-Unmodified-Since);
//   - an After action completes after the emulator has handled the request but before the
//     client receives any byte of the response (the response is held back until then).
//
// Hooks see top-level HTTP requests only, not the subrequests inside a Composite request, and
// never the admin paths under /__sfemu/. Matching and counting happen under a lock, so with
// concurrent clients exactly the Nth matching request fires; actions run outside that lock and
// may call any method of the Server (Update, Delete, Merge, Advance, even Before/After).

// HookTime says when a hook's action runs relative to the request it matched.
type HookTime int

const (
	// HookBefore runs the action before the emulator handles the request.
	HookBefore HookTime = iota
	// HookAfter runs the action after the request was handled, before the response is sent.
	HookAfter
)

// Hook is a rule that runs Action on matching requests.
type Hook struct {
	// Match selects requests; nil matches every request. MatchRequest builds the common case.
	Match func(*http.Request) bool
	// Nth is the first matching request (1-based) whose handling runs Action; 0 means the next one.
	Nth int
	// Times is how many consecutive matching requests from the Nth on run Action: 0 means once,
	// a negative value every one.
	Times int
	// Action is what happens; it runs synchronously (see HookTime).
	Action func()
}

type hookEntry struct {
	id    int
	when  HookTime
	h     Hook
	seen  int
	fired int
	// label and lastErr describe hooks added over HTTP (admin.go) for GET /__sfemu/hooks.
	label   map[string]any
	lastErr string
}

type hookState struct {
	mu     sync.Mutex
	seq    int
	active []*hookEntry
}

// AddHook registers h to run at when. The returned function removes it (safe to call twice).
func (s *Server) AddHook(when HookTime, h Hook) (remove func()) {
	e := s.addHook(when, h, nil)
	return func() { s.removeHook(e.id) }
}

// Before runs action once, synchronously, before the emulator handles the next request for
// which match returns true (nil matches any). See AddHook for the general rule.
func (s *Server) Before(match func(*http.Request) bool, action func()) (remove func()) {
	return s.AddHook(HookBefore, Hook{Match: match, Action: action})
}

// After runs action once, synchronously, after the emulator has handled the next request for
// which match returns true and before the client receives the response.
func (s *Server) After(match func(*http.Request) bool, action func()) (remove func()) {
	return s.AddHook(HookAfter, Hook{Match: match, Action: action})
}

// ClearHooks removes every hook.
func (s *Server) ClearHooks() {
	s.hooks.mu.Lock()
	s.hooks.active = nil
	s.hooks.mu.Unlock()
}

// MatchRequest matches requests whose method equals method ("" = any, case-insensitive) and
// whose path contains pathPart ("" = any), e.g. MatchRequest("PATCH", "/sobjects/Contact/"+id)
// or MatchRequest("GET", "/query").
func MatchRequest(method, pathPart string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return (method == "" || strings.EqualFold(method, r.Method)) &&
			(pathPart == "" || strings.Contains(r.URL.Path, pathPart))
	}
}

func (s *Server) addHook(when HookTime, h Hook, label map[string]any) *hookEntry {
	return s.addHookFor(when, h, label, nil)
}

// addHookFor adds a hook whose action, if mkAction is set, is made from the entry itself (the
// admin hooks record their errors in it); the entry is complete before any request can see it.
func (s *Server) addHookFor(when HookTime, h Hook, label map[string]any, mkAction func(*hookEntry) func()) *hookEntry {
	if h.Nth <= 0 {
		h.Nth = 1
	}
	if h.Times == 0 {
		h.Times = 1
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.seq++
	e := &hookEntry{id: s.hooks.seq, when: when, h: h, label: label}
	if label != nil {
		label["id"] = e.id
	}
	if mkAction != nil {
		e.h.Action = mkAction(e)
	}
	s.hooks.active = append(s.hooks.active, e)
	return e
}

func (s *Server) removeHook(id int) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	for i, e := range s.hooks.active {
		if e.id == id {
			s.hooks.active = append(s.hooks.active[:i:i], s.hooks.active[i+1:]...)
			return
		}
	}
}

// matchHooks counts r against every hook and returns the actions that fire for it, in the order
// the hooks were added.
func (s *Server) matchHooks(r *http.Request) (before, after []func()) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	for _, e := range s.hooks.active {
		if e.h.Match != nil && !e.h.Match(r) {
			continue
		}
		e.seen++
		if e.seen < e.h.Nth || (e.h.Times > 0 && e.fired >= e.h.Times) {
			continue
		}
		e.fired++
		if e.h.Action == nil {
			continue
		}
		if e.when == HookBefore {
			before = append(before, e.h.Action)
		} else {
			after = append(after, e.h.Action)
		}
	}
	return before, after
}

func runAll(actions []func()) {
	for _, a := range actions {
		a()
	}
}

// serveHeld serves a request that has After hooks: the response is kept whole until they ran.
func (s *Server) serveHeld(w http.ResponseWriter, r *http.Request, after []func()) {
	bw := &bufWriter{h: http.Header{}}
	s.mux.ServeHTTP(bw, r)
	runAll(after)
	for k, v := range bw.h {
		w.Header()[k] = v
	}
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	w.WriteHeader(bw.status)
	_, _ = w.Write(bw.buf.Bytes())
}
