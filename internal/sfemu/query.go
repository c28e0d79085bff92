package sfemu

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syncd-dev/syncd/internal/sfemu/soql"
)

// schemaAdapter exposes the emulator's types to the SOQL validator.
type schemaAdapter struct{ s *Server }

func (a schemaAdapter) Object(name string) (string, bool) {
	o := a.s.obj(name)
	if o == nil {
		return "", false
	}
	return o.t.Name, true
}

func (a schemaAdapter) Field(object, name string) (string, string, bool) {
	o := a.s.obj(object)
	if o == nil {
		return "", "", false
	}
	f := o.t.Field(name)
	if f == nil {
		return "", "", false
	}
	return f.Name, f.Type, true
}

func (a schemaAdapter) Relationship(object, name string) (string, string, bool) {
	o := a.s.obj(object)
	if o == nil {
		return "", "", false
	}
	f := o.t.rels[strings.ToLower(name)]
	if f == nil {
		return "", "", false
	}
	return f.RelationshipName, f.ReferenceTo[0], true
}

// Get implements soql.Record. Date fields are stored as "YYYY-MM-DD" and handed over as soql.Date.
func (v *view) Get(path string) (any, bool) {
	val, ok := v.lookup(path)
	if s, isStr := val.(string); isStr && len(s) == 10 && s[4] == '-' && s[7] == '-' {
		if f := v.fieldAt(path); f != nil && f.Type == "date" {
			if d, err := soql.ParseDate(s); err == nil {
				return d, true
			}
		}
	}
	return val, ok
}

// fieldAt returns the field a path ends on.
func (v *view) fieldAt(path string) *Field {
	o := v.o
	for {
		rel, rest, nested := strings.Cut(path, ".")
		if !nested {
			return o.t.Field(path)
		}
		rf := o.t.rels[strings.ToLower(rel)]
		if rf == nil {
			return nil
		}
		o = v.s.obj(rf.ReferenceTo[0])
		if o == nil {
			return nil
		}
		path = rest
	}
}

// cursor is an open query locator: a snapshot of the matching record versions.
type cursor struct {
	id       string
	o        *objStore
	plan     *plan
	rows     []*record
	total    int
	created  time.Time
	lastUsed time.Time
	now      int64
}

func queryErr(err error) *APIError {
	var se *soql.Error
	if errors.As(err, &se) {
		return apiErr(400, se.Code, se.Message)
	}
	return apiErr(400, "MALFORMED_QUERY", err.Error())
}

// batchSize reads Sforce-Query-Options: batchSize=N (200..2000, default 2000; §5.2).
func (s *Server) batchSize(r *http.Request) int {
	n := 2000
	for _, part := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			if x, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				n = min(max(x, 200), 2000)
			}
		}
	}
	if c := int(s.pageCap.Load()); c > 0 && c < n {
		n = c
	}
	return n
}

// handleQuery serves /query and /queryAll (§5.1); locator is the "<id>-<offset>" segment of a
// nextRecordsUrl (the same /query/ path serves queryAll cursors).
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request, ver string, all bool, locator string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeErrors(w, apiErr(405, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are GET,HEAD"))
		return
	}
	if locator != "" {
		s.nextPage(w, r, ver, locator)
		return
	}
	// Real form decoding: an unencoded '+' is a space (§5.4, pitfall 6).
	vals := r.URL.Query()
	text := vals.Get("q")
	recOf(r).soql = text
	if strings.TrimSpace(text) == "" {
		writeErrors(w, apiErr(400, "MALFORMED_QUERY", "A query string has to be specified"))
		return
	}
	q, err := soql.Parse(text)
	if err == nil {
		err = q.Validate(schemaAdapter{s})
	}
	if err != nil {
		writeErrors(w, queryErr(err))
		return
	}
	q.Now = s.now
	o := s.obj(q.Object)
	if vals.Get("columns") == "true" {
		s.writeColumns(w, o, q)
		return
	}
	var p *plan
	if !q.Count && q.CountField == "" {
		var bad string
		var ok bool
		p, bad, ok = s.planFields(o, q.Resolved)
		if !ok {
			writeErrors(w, apiErr(400, "INVALID_FIELD", "No such column '"+bad+"' on entity '"+o.t.Name+"'."))
			return
		}
	}
	now := s.now()
	nowUnix := now.Unix()
	s.mu.RLock()
	views := make([]view, 0, 1024)
	for _, rec := range o.rows {
		rec = visible(rec, nowUnix)
		if rec == nil || (rec.deleted && !all) {
			continue
		}
		v := view{s: s, o: o, r: rec, now: nowUnix}
		ok, err := q.Match(&v)
		if err != nil {
			s.mu.RUnlock()
			writeErrors(w, queryErr(err))
			return
		}
		if ok {
			views = append(views, v)
		}
	}
	if len(q.OrderBy()) > 0 {
		sort.SliceStable(views, func(i, j int) bool { return q.Compare(&views[i], &views[j]) < 0 })
	}
	s.mu.RUnlock()
	if q.Offset > 0 {
		views = views[min(q.Offset, len(views)):]
	}
	if q.Limit >= 0 && len(views) > q.Limit {
		views = views[:q.Limit]
	}
	if q.Count {
		writeRaw(w, 200, []byte(`{"totalSize":`+strconv.Itoa(len(views))+`,"done":true,"records":[]}`))
		return
	}
	if q.CountField != "" {
		n := 0
		for i := range views {
			if v, _ := views[i].Get(q.CountField); v != nil {
				n++
			}
		}
		writeRaw(w, 200, []byte(`{"totalSize":1,"done":true,"records":[{"attributes":{"type":"AggregateResult"},"expr0":`+strconv.Itoa(n)+`}]}`))
		return
	}
	rows := make([]*record, len(views))
	for i := range views {
		rows[i] = views[i].r
	}
	c := &cursor{o: o, plan: p, rows: rows, total: len(rows), created: now, lastUsed: now, now: nowUnix}
	s.writePage(w, r, ver, c, 0)
}

func (s *Server) nextPage(w http.ResponseWriter, r *http.Request, ver, locator string) {
	id, offStr, ok := strings.Cut(locator, "-")
	off, err := strconv.Atoi(offStr)
	invalid := apiErr(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
	if !ok || err != nil || off < 0 {
		writeErrors(w, invalid)
		return
	}
	now := s.now()
	s.qmu.Lock()
	c := s.cursors[id]
	if c != nil && now.Sub(c.lastUsed) > s.opts.QueryLocatorTTL {
		delete(s.cursors, id)
		c = nil
	}
	if c != nil {
		c.lastUsed = now
	}
	s.qmu.Unlock()
	if c == nil || off > c.total {
		writeErrors(w, invalid)
		return
	}
	s.writePage(w, r, ver, c, off)
}

var pagePool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

// writePage renders records [off, off+batch) of the cursor; it registers the cursor when more
// pages follow and releases it after the last page.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, ver string, c *cursor, off int) {
	n := s.batchSize(r)
	end := min(off+n, c.total)
	done := end >= c.total
	if !done && c.id == "" {
		s.registerCursor(c)
	}
	if done && c.id != "" {
		s.qmu.Lock()
		delete(s.cursors, c.id)
		s.qmu.Unlock()
	}
	bp := pagePool.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"totalSize":`...)
	b = strconv.AppendInt(b, int64(c.total), 10)
	if done {
		b = append(b, `,"done":true,"records":[`...)
	} else {
		b = append(b, `,"done":false,"nextRecordsUrl":"/services/data/v`...)
		b = append(b, ver...)
		b = append(b, "/query/"...)
		b = append(b, c.id...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(end), 10)
		b = append(b, `","records":[`...)
	}
	s.mu.RLock()
	v := view{s: s, o: c.o, now: c.now}
	for i := off; i < end; i++ {
		if i > off {
			b = append(b, ',')
		}
		v.r = c.rows[i]
		b = appendRecord(b, &v, c.plan.cols, ver)
	}
	s.mu.RUnlock()
	b = append(b, "]}"...)
	writeRaw(w, 200, b)
	*bp = b
	if cap(b) <= 8<<20 {
		pagePool.Put(bp)
	}
}

func (s *Server) registerCursor(c *cursor) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.curSeq++
	c.id = makeID("01g", s.curSeq)
	if max := s.opts.MaxCursors; max > 0 {
		for len(s.cursors) >= max { // opening one more releases the oldest (§5.6)
			var oldest *cursor
			for _, o := range s.cursors {
				if oldest == nil || o.created.Before(oldest.created) || (o.created.Equal(oldest.created) && o.id < oldest.id) {
					oldest = o
				}
			}
			delete(s.cursors, oldest.id)
		}
	}
	s.cursors[c.id] = c
}

// ExpireQueryLocators invalidates every open query cursor.
func (s *Server) ExpireQueryLocators() {
	s.qmu.Lock()
	s.cursors = map[string]*cursor{}
	s.qmu.Unlock()
}

// writeColumns answers ?columns=true (used by `sf data query`, real-clients.md §5.1).
func (s *Server) writeColumns(w http.ResponseWriter, o *objStore, q *soql.Query) {
	type col struct {
		Aggregate      bool   `json:"aggregate"`
		ApexType       string `json:"apexType"`
		BooleanType    bool   `json:"booleanType"`
		ColumnName     string `json:"columnName"`
		Custom         bool   `json:"custom"`
		DisplayName    string `json:"displayName"`
		ForeignKeyName any    `json:"foreignKeyName"`
		Insertable     bool   `json:"insertable"`
		JoinColumns    []any  `json:"joinColumns"`
		NumberType     bool   `json:"numberType"`
		TextType       bool   `json:"textType"`
		Updatable      bool   `json:"updatable"`
	}
	cols := []col{}
	for _, p := range q.Resolved {
		v := &view{s: s, o: o}
		f := v.fieldAt(p)
		if f == nil {
			continue
		}
		num := f.Type == "double" || f.Type == "int" || f.Type == "currency" || f.Type == "percent"
		cols = append(cols, col{ColumnName: p, DisplayName: p, Custom: f.Custom, BooleanType: f.Type == "boolean",
			NumberType: num, TextType: !num && f.Type != "boolean" && f.Type != "date" && f.Type != "datetime",
			Insertable: f.Createable, Updatable: f.Updateable, JoinColumns: []any{}, ApexType: "String"})
	}
	writeJSON(w, 200, map[string]any{"columnMetadata": cols, "entityName": o.t.Name, "groupBy": false,
		"idSelected": true, "keyPrefix": o.t.KeyPrefix})
}
