package sfemu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Save writes the org's data, clock offset, API usage and live tokens to path (JSON lines),
// atomically (temp file + rename), so that a restarted emulator can Load it.
func (s *Server) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sfemu-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	s.cmu.Lock()
	hdr := map[string]any{"format": "sfemu-state/1", "clock_offset_ns": int64(s.clkOffset), "frozen": s.frozen,
		"frozen_at": s.frozenAt, "api_used": s.apiUsed.Load(), "daily_limit": s.dailyLimit.Load()}
	s.cmu.Unlock()
	s.auth.mu.Lock()
	var rts []map[string]any
	for _, rt := range s.auth.refresh {
		if !rt.revoked && !rt.rotated {
			rts = append(rts, map[string]any{"token": rt.token, "scope": rt.scope})
		}
	}
	var sess []map[string]any
	for _, se := range s.auth.sessions {
		sess = append(sess, map[string]any{"token": se.token, "scope": se.scope, "rt": se.rt, "expires": se.expires})
	}
	s.auth.mu.Unlock()
	hdr["refresh_tokens"], hdr["sessions"] = rts, sess
	s.mu.RLock()
	seqs := map[string]any{}
	for _, o := range s.order {
		seqs[o.t.Name] = map[string]any{"seq": o.seq, "purged_at": o.purgedAt}
	}
	hdr["objects"] = seqs
	hb, _ := json.Marshal(hdr)
	w.Write(hb)
	w.WriteByte('\n')
	var b []byte
	for _, o := range s.order {
		if o.t.Name == "User" {
			continue
		}
		for _, r := range o.rows {
			if r == nil {
				continue
			}
			b = append(b[:0], `{"o":"`...)
			b = append(b, o.t.Name...)
			b = append(b, `","d":`...)
			if r.deleted {
				b = append(b, `true,"da":"`...)
				b = append(b, formatDateTime(r.deletedAt)...)
				b = append(b, '"')
			} else {
				b = append(b, "false"...)
			}
			b = append(b, `,"f":{`...)
			first := true
			for _, f := range o.t.Fields {
				if f.idx < 0 || r.vals[f.idx] == nil {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendJSONString(b, f.Name)
				b = append(b, ':')
				if fl, ok := r.vals[f.idx].(float64); ok {
					b = fmt.Appendf(b, "%v", fl)
				} else {
					b = appendValue(b, f, r.vals[f.idx])
				}
			}
			b = append(b, "}}\n"...)
			w.Write(b)
		}
	}
	s.mu.RUnlock()
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load replaces the org's data with the state saved at path.
func (s *Server) Load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	if !sc.Scan() {
		return fmt.Errorf("sfemu: %s: empty state file", path)
	}
	var hdr struct {
		Format        string `json:"format"`
		ClockOffsetNS int64  `json:"clock_offset_ns"`
		Frozen        bool   `json:"frozen"`
		FrozenAt      time.Time
		APIUsed       int64                           `json:"api_used"`
		DailyLimit    int64                           `json:"daily_limit"`
		RefreshTokens []struct{ Token, Scope string } `json:"refresh_tokens"`
		Sessions      []struct {
			Token, Scope, RT string
			Expires          time.Time
		} `json:"sessions"`
		Objects map[string]struct {
			Seq      uint64    `json:"seq"`
			PurgedAt time.Time `json:"purged_at"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(sc.Bytes(), &hdr); err != nil || hdr.Format != "sfemu-state/1" {
		return fmt.Errorf("sfemu: %s: not an sfemu state file", path)
	}
	s.cmu.Lock()
	s.clkOffset, s.frozen, s.frozenAt = time.Duration(hdr.ClockOffsetNS), hdr.Frozen, hdr.FrozenAt
	s.cmu.Unlock()
	s.apiUsed.Store(hdr.APIUsed)
	if hdr.DailyLimit > 0 {
		s.dailyLimit.Store(hdr.DailyLimit)
	}
	s.auth.mu.Lock()
	for _, rt := range hdr.RefreshTokens {
		t := &refreshToken{token: rt.Token, scope: rt.Scope, chain: &rtChain{}}
		t.chain.tokens = []*refreshToken{t}
		s.auth.refresh[t.token] = t
	}
	for _, se := range hdr.Sessions {
		s.auth.sessions[se.Token] = &session{token: se.Token, scope: se.Scope, rt: se.RT, expires: se.Expires,
			restOK: scopeHas(se.Scope, "api") || scopeHas(se.Scope, "full")}
	}
	s.auth.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.order {
		if o.t.Name == "User" {
			continue
		}
		o.rows, o.byID, o.holes = nil, map[string]int{}, 0
		for f := range o.ext {
			o.ext[f] = map[string][]string{}
		}
		if h, ok := hdr.Objects[o.t.Name]; ok {
			o.seq, o.purgedAt = h.Seq, h.PurgedAt
		}
	}
	for sc.Scan() {
		var line struct {
			O  string         `json:"o"`
			D  bool           `json:"d"`
			DA string         `json:"da"`
			F  map[string]any `json:"f"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("sfemu: %s: %v", path, err)
		}
		o := s.obj(line.O)
		if o == nil {
			continue
		}
		r := &record{vals: make([]any, o.t.nstored), deleted: line.D}
		if line.D {
			r.deletedAt, _ = parseDateTime(line.DA)
		}
		for k, v := range line.F {
			fd := o.t.Field(k)
			if fd == nil || fd.idx < 0 {
				continue
			}
			if fd.Type == "datetime" {
				if sv, ok := v.(string); ok {
					v, _ = parseDateTime(sv)
				}
			}
			r.vals[fd.idx] = v
		}
		r.id, _ = line.F["Id"].(string)
		if r.id == "" || !strings.HasPrefix(r.id, o.t.KeyPrefix) {
			continue
		}
		o.put(nil, r)
	}
	return sc.Err()
}
