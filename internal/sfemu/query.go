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

// restSchema is the REST query's schema: schemaAdapter plus parent-to-child relationships, so
// child relationship subqueries validate here (the Bulk API path keeps plain schemaAdapter, where
// soql refuses them).
type restSchema struct{ schemaAdapter }

// ChildRelationship implements soql.ChildSchema with the relationships describe lists as
// childRelationships (rest.go writeDescribe: named by the child's LabelPlural, "Contacts").
func (a restSchema) ChildRelationship(parent, name string) (string, string, string, bool) {
	p := a.s.obj(parent)
	if p == nil {
		return "", "", "", false
	}
	if co, f := a.s.childRel(p, name); co != nil {
		return co.t.LabelPlural, co.t.Name, f.Name, true
	}
	return "", "", "", false
}

// childRel finds the child type and its reference field for a child relationship name of p, by
// the same rule as the describe childRelationships list.
func (s *Server) childRel(p *objStore, name string) (*objStore, *Field) {
	for _, co := range s.order {
		if !strings.EqualFold(co.t.LabelPlural, name) {
			continue
		}
		for _, f := range co.t.Fields {
			if f.RelationshipName == "" || f.Name == "MasterRecordId" || f.Type != "reference" || f.DefaultedOnCreate {
				continue
			}
			for _, to := range f.ReferenceTo {
				if to == p.t.Name {
					return co, f
				}
			}
		}
	}
	return nil, nil
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
	subs     []*childSet // child relationship subqueries, nested into each row
	child    bool        // the rest of one nested child result
}

// childSet is one child relationship subquery's result: the matching child record versions of
// every parent row, ordered, LIMIT/OFFSET applied per parent.
type childSet struct {
	key  string // relationship name: the JSON key
	at   int    // number of parent columns before it (SELECT-list position)
	o    *objStore
	plan *plan
	rows map[string][]*record // parent id -> children
}

// childChunk is how many children a nested result carries before it pages with its own
// nextRecordsUrl (github.com/simple-salesforce/simple-salesforce/issues/311 and github.com/jsforce/jsforce/issues/1752 show nested {done:false,
// nextRecordsUrl} results; the ~200 size is what github.com/jsforce/jsforce/issues/1752 observed, approximate).
const childChunk = 200

func queryErr(err error) *APIError {
	var se *soql.Error
	if errors.As(err, &se) {
		return apiErr(400, se.Code, se.Message)
	}
	return apiErr(400, "MALFORMED_QUERY", err.Error())
}

// batchSize reads Sforce-Query-Options: batchSize=N (200..2000, default 2000;
// "Query Options Header", developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm).
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

// handleQuery serves /query and /queryAll ("Query" and "QueryAll", REST API Developer Guide); locator is the "<id>-<offset>" segment of a
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
	// Real form decoding: an unencoded '+' is a space, so "+00:00" breaks a datetime literal
	// as in production (github.com/egen/spark-salesforce/issues/49).
	vals := r.URL.Query()
	text := vals.Get("q")
	recOf(r).soql = text
	if strings.TrimSpace(text) == "" {
		writeErrors(w, apiErr(400, "MALFORMED_QUERY", "A query string has to be specified"))
		return
	}
	q, err := soql.Parse(text)
	if err == nil {
		err = q.Validate(restSchema{schemaAdapter{s}})
	}
	if err != nil {
		writeErrors(w, queryErr(err))
		return
	}
	q.Now = s.now
	for _, sq := range q.Subqueries {
		sq.Now = s.now
	}
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
	if q.Offset > 0 {
		views = views[min(q.Offset, len(views)):]
	}
	if q.Limit >= 0 && len(views) > q.Limit {
		views = views[:q.Limit]
	}
	var subs []*childSet
	if p != nil && len(q.Subqueries) > 0 {
		var e *APIError
		if subs, e = s.childSets(o, q, views, all, nowUnix); e != nil {
			s.mu.RUnlock()
			writeErrors(w, e)
			return
		}
	}
	s.mu.RUnlock()
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
	c := &cursor{o: o, plan: p, rows: rows, total: len(rows), created: now, lastUsed: now, now: nowUnix, subs: subs}
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
	if len(c.subs) > 0 {
		end = c.pageEnd(off, n)
	}
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
		if len(c.subs) > 0 {
			b = s.appendWithChildren(b, &v, c, ver)
			continue
		}
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
	if c.child {
		// Nested child result locators do not count against MaxCursors (so a page of parents with
		// many big child sets cannot release the parent query's own locator; how production
		// counts them is unknown); idle ones are dropped after QueryLocatorTTL.
		for id, o := range s.cursors {
			if o.child && c.created.Sub(o.lastUsed) > s.opts.QueryLocatorTTL {
				delete(s.cursors, id)
			}
		}
		s.cursors[c.id] = c
		return
	}
	if max := s.opts.MaxCursors; max > 0 {
		for { // opening one more releases the oldest (QueryLocator, SOAP API Developer Guide)
			var oldest *cursor
			n := 0
			for _, o := range s.cursors {
				if o.child {
					continue
				}
				n++
				if oldest == nil || o.created.Before(oldest.created) || (o.created.Equal(oldest.created) && o.id < oldest.id) {
					oldest = o
				}
			}
			if n < max {
				break
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

// writeColumns answers ?columns=true (sent by `sf data query`, sf CLI 2.146.3).
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

// childSets evaluates the child relationship subqueries for the parent rows of one query (under
// s.mu read lock). queryAll includes deleted children as it does deleted parents (unconfirmed).
func (s *Server) childSets(o *objStore, q *soql.Query, parents []view, all bool, now int64) ([]*childSet, *APIError) {
	want := make(map[string]bool, len(parents))
	for i := range parents {
		want[parents[i].r.id] = true
	}
	var out []*childSet
	for _, sq := range q.Subqueries {
		co, ref := s.childRel(o, sq.Relationship)
		if co == nil {
			return nil, apiErr(400, "INVALID_TYPE", "Didn't understand relationship '"+sq.Relationship+"' in FROM clause of subquery.")
		}
		cp, bad, ok := s.planFields(co, sq.Resolved)
		if !ok {
			return nil, apiErr(400, "INVALID_FIELD", "No such column '"+bad+"' on entity '"+co.t.Name+"'.")
		}
		at, _, _ := s.planFields(o, q.Resolved[:sq.Index])
		byParent := map[string][]view{}
		for _, rec := range co.rows {
			rec = visible(rec, now)
			if rec == nil || (rec.deleted && !all) {
				continue
			}
			pid, _ := rec.vals[ref.idx].(string)
			if !want[pid] {
				continue
			}
			v := view{s: s, o: co, r: rec, now: now}
			ok, err := sq.Match(&v)
			if err != nil {
				return nil, queryErr(err)
			}
			if ok {
				byParent[pid] = append(byParent[pid], v)
			}
		}
		set := &childSet{key: sq.Relationship, at: len(at.cols), o: co, plan: cp, rows: make(map[string][]*record, len(byParent))}
		for pid, vs := range byParent {
			if len(sq.OrderBy()) > 0 {
				sort.SliceStable(vs, func(i, j int) bool { return sq.Compare(&vs[i], &vs[j]) < 0 })
			}
			if sq.Offset > 0 {
				vs = vs[min(sq.Offset, len(vs)):]
			}
			if sq.Limit >= 0 && len(vs) > sq.Limit {
				vs = vs[:sq.Limit]
			}
			if len(vs) == 0 {
				continue
			}
			recs := make([]*record, len(vs))
			for i := range vs {
				recs[i] = vs[i].r
			}
			set.rows[pid] = recs
		}
		out = append(out, set)
	}
	return out, nil
}

// pageEnd returns the end of the page that starts at parent row off: "Child objects count toward
// the number of records for the batch size" (Sforce-Query-Options header docs), at least one
// parent per page.
func (c *cursor) pageEnd(off, n int) int {
	end, used := off, 0
	for end < c.total {
		cost := 1
		for _, cs := range c.subs {
			cost += min(len(cs.rows[c.rows[end].id]), childChunk)
		}
		if end > off && used+cost > n {
			break
		}
		used += cost
		end++
	}
	return end
}

// appendWithChildren renders a parent row like appendRecord, with each child relationship
// subquery at its SELECT-list position as a nested query result, or null when it has no rows
// ("Understanding Query Results", SOQL and SOSL Reference; github.com/simple-salesforce/simple-salesforce/issues/311).
func (s *Server) appendWithChildren(b []byte, v *view, c *cursor, ver string) []byte {
	b = appendAttributes(b, v.o.t.Name, ver, v.r.id)
	cols := c.plan.cols
	next := 0
	for i := 0; i <= len(cols); i++ {
		for next < len(c.subs) && c.subs[next].at == i {
			b = s.appendChildResult(b, v.r.id, c.subs[next], v.now, ver)
			next++
		}
		if i == len(cols) {
			break
		}
		// As in appendRecord (encode.go).
		col := &cols[i]
		b = append(b, ',', '"')
		b = append(b, col.key...)
		b = append(b, '"', ':')
		if col.rel != nil {
			if pv := v.parent(col.rel.RelationshipName); pv != nil {
				b = appendRecord(b, pv, col.sub, ver)
			} else {
				b = append(b, "null"...)
			}
			continue
		}
		b = appendValue(b, col.f, v.value(col.f))
	}
	return append(b, '}')
}

func (s *Server) appendChildResult(b []byte, parentID string, cs *childSet, now int64, ver string) []byte {
	b = append(b, ',', '"')
	b = append(b, cs.key...)
	b = append(b, '"', ':')
	rows := cs.rows[parentID]
	if len(rows) == 0 {
		return append(b, "null"...)
	}
	first := rows
	b = append(b, `{"totalSize":`...)
	b = strconv.AppendInt(b, int64(len(rows)), 10)
	if len(rows) > childChunk {
		first = rows[:childChunk]
		t := s.now()
		cc := &cursor{o: cs.o, plan: cs.plan, rows: rows, total: len(rows), created: t, lastUsed: t, now: now, child: true}
		s.registerCursor(cc)
		b = append(b, `,"done":false,"nextRecordsUrl":"/services/data/v`...)
		b = append(b, ver...)
		b = append(b, "/query/"...)
		b = append(b, cc.id...)
		b = append(b, '-')
		b = strconv.AppendInt(b, childChunk, 10)
		b = append(b, `","records":[`...)
	} else {
		b = append(b, `,"done":true,"records":[`...)
	}
	cv := view{s: s, o: cs.o, now: now}
	for i, r := range first {
		if i > 0 {
			b = append(b, ',')
		}
		cv.r = r
		b = appendRecord(b, &cv, cs.plan.cols, ver)
	}
	return append(b, "]}"...)
}
