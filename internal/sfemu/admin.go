package sfemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Admin HTTP API under /__sfemu/ (a prefix Salesforce never uses), JSON in and out, no auth.
// It mirrors the Go control API for tests that cannot call Go (the jsforce conformance suite).
//
//	GET    /__sfemu/state                          org/user ids, clock, API usage, record counts
//	POST   /__sfemu/session            {scope?}    mint an access token (+ refresh token when scope is empty)
//	POST   /__sfemu/expire-sessions                every access token becomes invalid
//	POST   /__sfemu/revoke-refresh-token {token}
//	POST   /__sfemu/expire-query-locators
//	POST   /__sfemu/clock  {set?: RFC3339, advance?: "90s", freeze?: bool}
//	POST   /__sfemu/limits {daily_limit?: N, reset?: bool}
//	POST   /__sfemu/latency {latency: "250ms"}
//	POST   /__sfemu/page-size {max: N}             serve pages smaller than asked (0 = off)
//	POST   /__sfemu/commit-delay {delay: "2m"}     late-visible commits (0 = off)
//	POST   /__sfemu/fail  FailRule (+ hang_for: "5s")
//	DELETE /__sfemu/fail                            clear fault rules
//	GET    /__sfemu/requests   DELETE /__sfemu/requests
//	GET    /__sfemu/records/{O}[/{id}]              All / Get
//	POST   /__sfemu/records/{O} {fields}            Insert as the user → {id}
//	PATCH  /__sfemu/records/{O}/{id} {fields}       Update as the user
//	DELETE /__sfemu/records/{O}/{id}[?hard=true]    Delete (recycle bin) / HardDelete
//	POST   /__sfemu/records/{O}/{id}/touch          TouchSystemModstamp
//	POST   /__sfemu/records/{O}/{id}/lock {locked} writes fail with UNABLE_TO_LOCK_ROW while locked
//	POST   /__sfemu/merge/{O} {master, losers:[]}
//	POST   /__sfemu/picklist/{O}/{field} {values:[], restricted?} SetPicklist (restricted: false when absent)
//	POST   /__sfemu/seed {contacts: N}
//	POST   /__sfemu/bulk BulkConfig (processing_delay: "50ms", batch_size, lock_every, fail_after_batches, default_max_records)
//	POST   /__sfemu/hooks {when: "before"|"after", method?, path?, nth?, times?, action} → {id}
//	       action: {kind: "update", sobject, id, fields} | {kind: "delete", sobject, id}
//	             | {kind: "merge", sobject, master, losers: []} | {kind: "advance", by: "2s"}
//	       a Salesforce user's change made synchronously before (after) the matching request is
//	       handled (see Hook); action errors are kept and shown by GET
//	GET    /__sfemu/hooks   DELETE /__sfemu/hooks
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/__sfemu/"), "/")
	segs := strings.Split(path, "/")
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				adminErr(w, err)
				return
			}
		}
	}
	if body == nil {
		body = map[string]any{}
	}
	str := func(k string) string { v, _ := body[k].(string); return v }
	num := func(k string) (int, bool) { v, ok := body[k].(float64); return int(v), ok }
	dur := func(k string) (time.Duration, error) {
		switch v := body[k].(type) {
		case string:
			return time.ParseDuration(v)
		case float64:
			return time.Duration(v * float64(time.Millisecond)), nil
		}
		return 0, nil
	}
	ok := func() { writeJSON(w, 200, map[string]any{"ok": true}) }
	switch {
	case segs[0] == "state":
		used, limit := s.APIUsage()
		counts := map[string]int{}
		for _, o := range s.order {
			counts[o.t.Name] = s.Count(o.t.Name)
		}
		writeJSON(w, 200, map[string]any{"org_id": s.orgID, "user_id": s.userID, "now": formatDateTime(s.now()),
			"api_used": used, "api_limit": limit, "counts": counts, "client_id": s.opts.ClientID,
			"client_secret": s.opts.ClientSecret, "username": s.opts.Username, "password": s.opts.Password})
	case segs[0] == "session":
		if sc := str("scope"); sc != "" {
			writeJSON(w, 200, map[string]any{"access_token": s.MintSessionScope(sc), "instance_url": baseURL(r)})
			return
		}
		at, rt := s.MintSession()
		writeJSON(w, 200, map[string]any{"access_token": at, "refresh_token": rt, "instance_url": baseURL(r)})
	case segs[0] == "expire-sessions":
		s.ExpireSessions()
		ok()
	case segs[0] == "revoke-refresh-token":
		writeJSON(w, 200, map[string]any{"ok": s.RevokeRefreshToken(str("token"))})
	case segs[0] == "expire-query-locators":
		s.ExpireQueryLocators()
		ok()
	case segs[0] == "clock":
		if r.Method == http.MethodPost {
			if v := str("set"); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					adminErr(w, err)
					return
				}
				s.SetClock(t)
			}
			d, err := dur("advance")
			if err != nil {
				adminErr(w, err)
				return
			}
			s.Advance(d)
			if f, has := body["freeze"].(bool); has {
				s.Freeze(f)
			}
		}
		writeJSON(w, 200, map[string]any{"now": formatDateTime(s.now())})
	case segs[0] == "limits":
		if n, has := num("daily_limit"); has {
			s.SetDailyLimit(n)
		}
		if b, _ := body["reset"].(bool); b {
			s.ResetAPIUsage()
		}
		used, limit := s.APIUsage()
		writeJSON(w, 200, map[string]any{"api_used": used, "api_limit": limit})
	case segs[0] == "latency":
		d, err := dur("latency")
		if err != nil {
			adminErr(w, err)
			return
		}
		s.SetLatency(d)
		ok()
	case segs[0] == "bulk":
		s.adminBulk(w, body)
	case segs[0] == "page-size":
		n, _ := num("max")
		s.SetMaxPageSize(n)
		ok()
	case segs[0] == "commit-delay":
		d, err := dur("delay")
		if err != nil {
			adminErr(w, err)
			return
		}
		s.SetCommitDelay(d)
		ok()
	case segs[0] == "fail" && r.Method == http.MethodDelete:
		s.ClearFaults()
		ok()
	case segs[0] == "fail":
		raw, _ := json.Marshal(body)
		var rule FailRule
		hang := body["hang_for"]
		delete(body, "hang_for")
		raw, _ = json.Marshal(body)
		if err := json.Unmarshal(raw, &rule); err != nil {
			adminErr(w, err)
			return
		}
		body["hang_for"] = hang
		d, err := dur("hang_for")
		if err != nil {
			adminErr(w, err)
			return
		}
		rule.HangFor = d
		s.Fail(rule)
		ok()
	case segs[0] == "requests":
		if r.Method == http.MethodDelete {
			s.ResetRequests()
			ok()
			return
		}
		writeJSON(w, 200, s.Requests())
	case segs[0] == "seed":
		n, _ := num("contacts")
		s.SeedContacts(n)
		ok()
	case segs[0] == "merge" && len(segs) == 2:
		var losers []string
		if l, _ := body["losers"].([]any); l != nil {
			for _, x := range l {
				if xs, _ := x.(string); xs != "" {
					losers = append(losers, xs)
				}
			}
		}
		if err := s.Merge(segs[1], str("master"), losers...); err != nil {
			adminErr(w, err)
			return
		}
		ok()
	case segs[0] == "picklist" && len(segs) == 3 && r.Method == http.MethodPost:
		var values []string
		if l, _ := body["values"].([]any); l != nil {
			for _, x := range l {
				if xs, _ := x.(string); xs != "" {
					values = append(values, xs)
				}
			}
		}
		restricted, _ := body["restricted"].(bool)
		if err := s.SetPicklist(segs[1], segs[2], values, restricted); err != nil {
			adminErr(w, err)
			return
		}
		ok()
	case segs[0] == "hooks":
		s.adminHooks(w, r, body)
	case segs[0] == "records" && len(segs) >= 2:
		s.adminRecords(w, r, segs[1:], body)
	case len(segs) == 3 && segs[2] == "lock" && r.Method == http.MethodPost:
		locked, has := body["locked"].(bool)
		s.SetRecordLocked(segs[1], locked || !has)
		writeJSON(w, 200, map[string]any{"ok": true})
	default:
		writeJSON(w, 404, map[string]any{"error": "unknown admin path " + r.URL.Path})
	}
}

func adminErr(w http.ResponseWriter, err error) {
	var ae *APIError
	if errors.As(err, &ae) {
		writeJSON(w, 400, map[string]any{"error": ae.Message, "errorCode": ae.Code, "fields": ae.Fields})
		return
	}
	writeJSON(w, 400, map[string]any{"error": err.Error()})
}

func (s *Server) adminRecords(w http.ResponseWriter, r *http.Request, segs []string, body map[string]any) {
	obj := segs[0]
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		writeJSON(w, 200, s.All(obj))
	case len(segs) == 1 && r.Method == http.MethodPost:
		id, err := s.Insert(obj, body)
		if err != nil {
			adminErr(w, err)
			return
		}
		writeJSON(w, 201, map[string]any{"id": id})
	case len(segs) == 2 && r.Method == http.MethodGet:
		m, ok := s.Get(obj, segs[1])
		if !ok {
			writeJSON(w, 404, map[string]any{"error": "not found"})
			return
		}
		writeJSON(w, 200, m)
	case len(segs) == 2 && r.Method == http.MethodPatch:
		if err := s.Update(obj, segs[1], body); err != nil {
			adminErr(w, err)
			return
		}
		writeJSON(w, 200, map[string]any{"ok": true})
	case len(segs) == 2 && r.Method == http.MethodDelete:
		var err error
		if r.URL.Query().Get("hard") == "true" {
			err = s.HardDelete(obj, segs[1])
		} else {
			err = s.Delete(obj, segs[1])
		}
		if err != nil {
			adminErr(w, err)
			return
		}
		writeJSON(w, 200, map[string]any{"ok": true})
	case len(segs) == 3 && segs[2] == "touch" && r.Method == http.MethodPost:
		if err := s.TouchSystemModstamp(obj, segs[1]); err != nil {
			adminErr(w, err)
			return
		}
		writeJSON(w, 200, map[string]any{"ok": true})
	default:
		writeJSON(w, 404, map[string]any{"error": "unknown admin path " + r.URL.Path})
	}
}

// adminHooks serves /__sfemu/hooks: the HTTP form of AddHook with a small set of actions.
func (s *Server) adminHooks(w http.ResponseWriter, r *http.Request, body map[string]any) {
	switch r.Method {
	case http.MethodDelete:
		s.ClearHooks()
		writeJSON(w, 200, map[string]any{"ok": true})
		return
	case http.MethodGet:
		s.hooks.mu.Lock()
		out := []map[string]any{}
		for _, e := range s.hooks.active {
			if e.label == nil {
				continue
			}
			m := map[string]any{"seen": e.seen, "fired": e.fired, "last_error": e.lastErr}
			for k, v := range e.label {
				m[k] = v
			}
			out = append(out, m)
		}
		s.hooks.mu.Unlock()
		writeJSON(w, 200, out)
		return
	case http.MethodPost:
	default:
		writeJSON(w, 405, map[string]any{"error": "use GET, POST or DELETE"})
		return
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	num := func(k string) int { v, _ := body[k].(float64); return int(v) }
	when := HookBefore
	switch str(body, "when") {
	case "", "before":
	case "after":
		when = HookAfter
	default:
		adminErr(w, errors.New(`when must be "before" or "after"`))
		return
	}
	act, _ := body["action"].(map[string]any)
	if act == nil {
		adminErr(w, errors.New("action is required"))
		return
	}
	var run func() error
	switch kind := str(act, "kind"); kind {
	case "update":
		fields, _ := act["fields"].(map[string]any)
		obj, id := str(act, "sobject"), str(act, "id")
		run = func() error { return s.Update(obj, id, fields) }
	case "delete":
		obj, id := str(act, "sobject"), str(act, "id")
		run = func() error { return s.Delete(obj, id) }
	case "merge":
		var losers []string
		if l, _ := act["losers"].([]any); l != nil {
			for _, x := range l {
				if xs, _ := x.(string); xs != "" {
					losers = append(losers, xs)
				}
			}
		}
		obj, master := str(act, "sobject"), str(act, "master")
		run = func() error { return s.Merge(obj, master, losers...) }
	case "advance":
		d, err := time.ParseDuration(str(act, "by"))
		if err != nil {
			adminErr(w, fmt.Errorf("action.by: %w", err))
			return
		}
		run = func() error { s.Advance(d); return nil }
	default:
		adminErr(w, fmt.Errorf("action.kind %q: want update, delete, merge or advance", kind))
		return
	}
	method, path := str(body, "method"), str(body, "path")
	label := map[string]any{"when": map[HookTime]string{HookBefore: "before", HookAfter: "after"}[when],
		"method": method, "path": path, "nth": num("nth"), "times": num("times"), "action": act}
	e := s.addHookFor(when, Hook{Match: MatchRequest(method, path), Nth: num("nth"), Times: num("times")}, label,
		func(e *hookEntry) func() {
			return func() {
				err := run()
				s.hooks.mu.Lock()
				e.lastErr = ""
				if err != nil {
					e.lastErr = err.Error()
				}
				s.hooks.mu.Unlock()
			}
		})
	writeJSON(w, 201, map[string]any{"id": e.id})
}
