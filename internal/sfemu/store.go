package sfemu

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"
)

// record is one immutable version of a row. Writes replace the pointer (copy on write), so a
// query snapshot of pointers stays consistent while later writes happen.
type record struct {
	id      string
	deleted bool
	vals    []any // by Field.idx
	// deletedAt is when the record went to the recycle bin.
	deletedAt time.Time
	// visibleAt (unix seconds) > now means the writing transaction has not committed yet;
	// readers then see prev.
	visibleAt int64
	prev      *record
}

func (r *record) clone() *record {
	c := *r
	c.vals = append([]any(nil), r.vals...)
	c.prev = nil
	c.visibleAt = 0
	return &c
}

// deletion is one entry of an object's delete log: a record that left the recycle bin
// (EmptyRecycleBin) but is still reported by /deleted until the log's window passes.
type deletion struct {
	id string
	at time.Time // when the record was deleted (its deletedDate), not when it was purged
}

type objStore struct {
	t    *ObjectType
	rows []*record
	byID map[string]int
	ext  map[*Field]map[string][]string // lower-cased value -> ids, non-deleted rows only
	seq  uint64
	// earliestDateAvailable for /deleted: the last time a deleted record was physically removed.
	purgedAt time.Time
	holes    int
	// deleteLog keeps, for /deleted, the records emptied from the recycle bin (they are gone
	// from rows, so from queryAll). Salesforce writes deletions to a delete log that /deleted
	// reads, separate from the recycle bin, trimmed by its own purge and served for 15 days:
	// REST "sObject Get Deleted" and SOAP getDeleted() "Rules and Guidelines"
	// (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm,
	// developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted.htm).
	// The same pages add that the window can be shorter "if an administrator has purged the
	// Recycle Bin" (INVALID_REPLICATION_DATE); that shortening is not modelled. Records still
	// in the bin are reported from rows; entries older than the window are dropped. The log
	// is not part of Save/Load (persist.go).
	deleteLog []deletion
	// notReplicateable makes describe say replicateable: false and /updated and /deleted
	// refuse the object (SetReplicateable).
	notReplicateable bool
	// metaAt is when the object's metadata last changed (SetPicklist); zero means never,
	// that is metaTime.
	metaAt time.Time
}

// metaModified is when the object's metadata last changed, for If-Modified-Since on its
// describe. Caller holds s.mu.
func (o *objStore) metaModified() time.Time {
	if o.metaAt.IsZero() {
		return metaTime
	}
	return o.metaAt
}

// logDeleted adds records leaving the recycle bin to the delete log and drops entries that
// have left /deleted's window. Caller holds s.mu.
func (o *objStore) logDeleted(now time.Time, recs ...*record) {
	keep := o.deleteLog[:0]
	for _, d := range o.deleteLog {
		if !d.at.Before(now.Add(-deletedWindow)) {
			keep = append(keep, d)
		}
	}
	o.deleteLog = keep
	for _, r := range recs {
		o.deleteLog = append(o.deleteLog, deletion{id: r.id, at: r.deletedAt})
	}
}

func extKey(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", false
	}
	return strings.ToLower(s), true
}

// put replaces old by nw (either may be nil) and keeps the indexes right.
func (o *objStore) put(old, nw *record) {
	if old != nil && !old.deleted {
		for f, idx := range o.ext {
			if k, ok := extKey(old.vals[f.idx]); ok {
				ids := idx[k]
				for i, id := range ids {
					if id == old.id {
						ids = append(ids[:i:i], ids[i+1:]...)
						break
					}
				}
				if len(ids) == 0 {
					delete(idx, k)
				} else {
					idx[k] = ids
				}
			}
		}
	}
	if nw != nil && !nw.deleted {
		for f, idx := range o.ext {
			if k, ok := extKey(nw.vals[f.idx]); ok {
				idx[k] = append(idx[k], nw.id)
			}
		}
	}
	switch {
	case old == nil && nw != nil:
		o.byID[nw.id] = len(o.rows)
		o.rows = append(o.rows, nw)
	case old != nil && nw != nil:
		o.rows[o.byID[old.id]] = nw
	case old != nil && nw == nil:
		i := o.byID[old.id]
		o.rows[i] = nil
		delete(o.byID, old.id)
		o.holes++
		if o.holes > 1024 && o.holes > len(o.rows)/4 {
			o.compact()
		}
	}
}

func (o *objStore) compact() {
	rows := o.rows[:0:0]
	for _, r := range o.rows {
		if r != nil {
			o.byID[r.id] = len(rows)
			rows = append(rows, r)
		}
	}
	o.rows = rows
	o.holes = 0
}

func (o *objStore) get(id string) *record {
	i, ok := o.byID[id]
	if !ok {
		return nil
	}
	return o.rows[i]
}

// visible returns the version of r a reader sees at time now (nil if the row does not exist yet).
func visible(r *record, now int64) *record {
	for r != nil && r.visibleAt > now {
		r = r.prev
	}
	return r
}

// view is a record seen through its type, with access to its parents. It implements the
// record interface the SOQL evaluator needs.
type view struct {
	s   *Server
	o   *objStore
	r   *record
	now int64
}

func (v *view) getName(name string) any {
	f := v.o.t.Field(name)
	if f == nil {
		return nil
	}
	return v.value(f)
}

func (v *view) value(f *Field) any {
	if f.calc != nil {
		return f.calc(v)
	}
	return v.r.vals[f.idx]
}

// parent follows a relationship (e.g. "Account", "Owner") to the parent record, or nil.
func (v *view) parent(rel string) *view {
	f := v.o.t.rels[strings.ToLower(rel)]
	if f == nil {
		return nil
	}
	id, _ := v.r.vals[f.idx].(string)
	if id == "" {
		return nil
	}
	for _, to := range f.ReferenceTo {
		po := v.s.objs[strings.ToLower(to)]
		if po == nil || !strings.HasPrefix(id, po.t.KeyPrefix) {
			continue
		}
		pr := visible(po.get(id), v.now)
		if pr == nil {
			return nil
		}
		return &view{s: v.s, o: po, r: pr, now: v.now}
	}
	return nil
}

// lookup resolves a path such as "Email" or "Account.Name" (case-insensitive).
func (v *view) lookup(path string) (any, bool) {
	cur := v
	for {
		dot := strings.IndexByte(path, '.')
		if dot < 0 {
			f := cur.o.t.Field(path)
			if f == nil {
				return nil, false
			}
			return cur.value(f), true
		}
		rel := path[:dot]
		if cur.o.t.rels[strings.ToLower(rel)] == nil {
			return nil, false
		}
		cur = cur.parent(rel)
		if cur == nil {
			return nil, true
		}
		path = path[dot+1:]
	}
}

// ---- errors -------------------------------------------------------------------------------------

// APIError is a Salesforce error: Status is the HTTP status of a single-resource call; Code is
// the errorCode (statusCode in collection results).
type APIError struct {
	Status  int
	Code    string
	Message string
	Fields  []string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, msg string, fields ...string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg, Fields: fields}
}

func errNotFound() *APIError {
	return apiErr(404, "NOT_FOUND", "The requested resource does not exist")
}

// errNoExtField is the 404 for /sobjects/{O}/{x} when x is not an id (Salesforce then reads it
// as an external-id field name) and for /sobjects/{O}/{F}/{v} when F is not an external id:
// "Provided external ID field does not exist or is not accessible: x" (github.com/restforce/restforce/issues/376
// and #182, observed responses).
func errNoExtField(name string) *APIError {
	return apiErr(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+name)
}

// dmlErr is an error whose body carries "fields":[] even when no field is named.
func dmlErr(status int, code, msg string, fields ...string) *APIError {
	if fields == nil {
		fields = []string{}
	}
	return &APIError{Status: status, Code: code, Message: msg, Fields: fields}
}

func errEntityDeleted() *APIError { return dmlErr(404, "ENTITY_IS_DELETED", "entity is deleted") }

// ---- values ---------------------------------------------------------------------------------------

const dtLayout = "2006-01-02T15:04:05.000-0700"

// formatDateTime renders a datetime as Salesforce does: 2024-01-02T03:04:05.000+0000 (the record
// examples of "Limit Info Header", REST API Developer Guide).
func formatDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// parseDateTime accepts the REST datetime input forms ("Valid Date Formats in Records", REST API
// Developer Guide, developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm).
func parseDateTime(s string) (time.Time, bool) {
	for _, l := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z07:00",
		"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05Z", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Truncate(time.Second), true
		}
	}
	return time.Time{}, false
}

func parseDate(s string) (string, bool) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Format("2006-01-02"), true
	}
	if t, ok := parseDateTime(s); ok {
		return t.Format("2006-01-02"), true
	}
	return "", false
}

func jsonParserErr(f *Field, v any) *APIError {
	kind := "VALUE_STRING"
	switch v.(type) {
	case bool:
		kind = "VALUE_" + strings.ToUpper(fmt.Sprint(v))
	case float64, json.Number, int, int64:
		kind = "VALUE_NUMBER_INT"
	case map[string]any:
		kind = "START_OBJECT"
	case []any:
		kind = "START_ARRAY"
	}
	goType := map[string]string{"boolean": "boolean", "int": "int", "double": "double", "currency": "double",
		"percent": "double", "date": "date", "datetime": "datetime"}[f.Type]
	if goType == "" {
		goType = "string"
	}
	return apiErr(400, "JSON_PARSER_ERROR",
		fmt.Sprintf("Cannot deserialize instance of %s from %s value %v or request may be missing a required field", goType, kind, v))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// coerce converts a client value (JSON-decoded or Go) to the stored form for field f.
func (s *Server) coerce(f *Field, v any) (any, *APIError) {
	if v == nil {
		if f.Type == "boolean" {
			return false, nil
		}
		return nil, nil
	}
	switch f.Type {
	case "string", "textarea", "email", "phone", "url", "picklist":
		var str string
		switch x := v.(type) {
		case string:
			str = x
		case bool:
			str = strconv.FormatBool(x)
		case float64, int, int64, json.Number:
			fl, _ := toFloat(x)
			str = strconv.FormatFloat(fl, 'f', -1, 64)
		default:
			return nil, jsonParserErr(f, v)
		}
		if str == "" { // Salesforce stores empty text as null
			return nil, nil
		}
		if f.Length > 0 && len([]rune(str)) > f.Length {
			return nil, apiErr(400, "STRING_TOO_LONG",
				fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, str, f.Length), f.Name)
		}
		if f.Type == "email" {
			if a, err := mail.ParseAddress(str); err != nil || a.Address != str || !strings.Contains(str[strings.IndexByte(str, '@'):], ".") {
				return nil, apiErr(400, "INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Label, str), f.Name)
			}
		}
		if f.Type == "picklist" && f.Restricted {
			ok := false
			for _, p := range f.Picklist {
				if p == str {
					ok = true
				}
			}
			if !ok {
				return nil, apiErr(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
					fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, str), f.Name)
			}
		}
		return str, nil
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, jsonParserErr(f, v)
	case "int", "double", "currency", "percent":
		fl, ok := toFloat(v)
		if _, isStr := v.(string); !ok || (isStr && f.Type == "int") || math.IsNaN(fl) || math.IsInf(fl, 0) {
			return nil, jsonParserErr(f, v)
		}
		if f.Type == "int" {
			fl = math.Trunc(fl)
		}
		return fl, nil
	case "date":
		switch x := v.(type) {
		case string:
			if d, ok := parseDate(x); ok {
				return d, nil
			}
		case time.Time:
			return x.Format("2006-01-02"), nil
		}
		return nil, jsonParserErr(f, v)
	case "datetime":
		switch x := v.(type) {
		case string:
			if t, ok := parseDateTime(x); ok {
				return t, nil
			}
		case time.Time:
			return x.UTC().Truncate(time.Second), nil
		}
		return nil, jsonParserErr(f, v)
	case "reference", "id":
		str, ok := v.(string)
		if !ok {
			return nil, jsonParserErr(f, v)
		}
		if str == "" {
			return nil, nil
		}
		id, ok := normalizeID(str)
		var target *objStore
		if ok {
			for _, to := range f.ReferenceTo {
				if po := s.objs[strings.ToLower(to)]; po != nil && strings.HasPrefix(id, po.t.KeyPrefix) {
					target = po
				}
			}
		}
		if target == nil {
			return nil, apiErr(400, "MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, str), f.Name)
		}
		if r := target.get(id); r == nil || r.deleted {
			return nil, dmlErr(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", f.Name)
		}
		return id, nil
	}
	return v, nil
}

// ---- writes --------------------------------------------------------------------------------------

func (s *Server) obj(name string) *objStore {
	return s.objs[strings.ToLower(name)]
}

func (s *Server) objOrErr(name string) (*objStore, *APIError) {
	o := s.obj(name)
	if o == nil {
		return nil, apiErr(404, "NOT_FOUND", "The requested resource does not exist")
	}
	return o, nil
}

func isMeta(k string) bool { return k == "attributes" }

// applyInput validates input against the type's rules and writes it into r.
// Check order follows what Salesforce reports first: unknown field, read-only field, value
// errors, then required fields (the order real responses show).
func (s *Server) applyInput(o *objStore, r *record, input map[string]any, insert bool) *APIError {
	keys := make([]string, 0, len(input))
	for k := range input {
		if !isMeta(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var readonly []string
	for _, k := range keys {
		f := o.t.Field(k)
		if f == nil {
			return dmlErr(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.t.Name))
		}
		if f.Name == "Id" {
			if insert {
				return apiErr(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Record ID: cannot specify Id in an insert call", "Id")
			}
			if id, ok := input[k].(string); ok {
				if n, ok := normalizeID(id); ok && n == r.id {
					continue
				}
			}
		}
		if (insert && !f.Createable) || (!insert && !f.Updateable) {
			readonly = append(readonly, f.Name)
		}
	}
	if len(readonly) > 0 {
		return apiErr(400, "INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", strings.Join(readonly, ", ")), readonly...)
	}
	for _, k := range keys {
		f := o.t.Field(k)
		if f.Name == "Id" {
			continue
		}
		v, err := s.coerce(f, input[k])
		if err != nil {
			return err
		}
		r.vals[f.idx] = v
	}
	var missing []string
	for _, f := range o.t.Fields {
		if f.Required && f.idx >= 0 && r.vals[f.idx] == nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return apiErr(400, "REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)
	}
	for f, idx := range o.ext {
		if !f.Unique {
			continue
		}
		if k, ok := extKey(r.vals[f.idx]); ok {
			for _, other := range idx[k] {
				if other != r.id {
					return dmlErr(400, "DUPLICATE_VALUE", fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", f.Name, other[:15]))
				}
			}
		}
	}
	return nil
}

func (s *Server) setSys(o *objStore, r *record, name string, v any) {
	if f := o.t.Field(name); f != nil && f.idx >= 0 {
		r.vals[f.idx] = v
	}
}

// commit stores nw in place of old, applying the commit delay (late-visible transactions).
// Caller holds s.mu.
func (s *Server) commit(o *objStore, old, nw *record) {
	if s.commitDelay > 0 && nw != nil {
		nw.visibleAt = s.nowSec().Add(s.commitDelay).Unix()
		nw.prev = old
		if old != nil && old.visibleAt > 0 && old.visibleAt <= s.now().Unix() {
			old.prev = nil
		}
	}
	o.put(old, nw)
	if s.journal != nil && nw != nil {
		s.journal.entries = append(s.journal.entries, undo{o, old, nw})
	}
}

// insertLocked creates a record as the integration user. Caller holds s.mu.
func (s *Server) insertLocked(o *objStore, input map[string]any) (*record, *APIError) {
	if !o.t.Createable {
		return nil, apiErr(400, "INVALID_TYPE", fmt.Sprintf("entity type %s does not support insert", o.t.Name))
	}
	r := &record{vals: make([]any, o.t.nstored)}
	r.id = makeID(o.t.KeyPrefix, o.seq+1)
	for _, f := range o.t.Fields {
		if f.Type == "boolean" && f.idx >= 0 {
			r.vals[f.idx] = false
		}
	}
	if err := s.applyInput(o, r, input, true); err != nil {
		return nil, err
	}
	o.seq++
	now := s.nowSec()
	s.setSys(o, r, "Id", r.id)
	if f := o.t.Field("OwnerId"); f != nil && r.vals[f.idx] == nil {
		r.vals[f.idx] = s.userID
	}
	for _, n := range []string{"CreatedDate", "LastModifiedDate", "SystemModstamp"} {
		s.setSys(o, r, n, now)
	}
	s.setSys(o, r, "CreatedById", s.userID)
	s.setSys(o, r, "LastModifiedById", s.userID)
	s.commit(o, nil, r)
	return r, nil
}

// lookupForWrite finds a live record by id for update/delete.
func (s *Server) lookupForWrite(o *objStore, rawID string) (*record, *APIError) {
	id, ok := normalizeID(rawID)
	if !ok || !strings.HasPrefix(id, o.t.KeyPrefix) {
		if looksLikeID(rawID) {
			return nil, apiErr(400, "MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", o.t.Name, rawID), "Id")
		}
		return nil, errNoExtField(rawID)
	}
	r := o.get(id)
	if r == nil {
		return nil, errNotFound()
	}
	if r.deleted {
		return nil, errEntityDeleted()
	}
	if s.locked[r.id] {
		return nil, dmlErr(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
	}
	return r, nil
}

func (s *Server) updateLocked(o *objStore, old *record, input map[string]any) (*record, *APIError) {
	if !o.t.Updateable {
		return nil, apiErr(400, "INVALID_TYPE", fmt.Sprintf("entity type %s does not support update", o.t.Name))
	}
	r := old.clone()
	if err := s.applyInput(o, r, input, false); err != nil {
		return nil, err
	}
	now := s.nowSec()
	s.setSys(o, r, "LastModifiedDate", now)
	s.setSys(o, r, "SystemModstamp", now)
	s.setSys(o, r, "LastModifiedById", s.userID)
	s.commit(o, old, r)
	return r, nil
}

func (s *Server) deleteLocked(o *objStore, old *record) *record {
	r := old.clone()
	now := s.nowSec()
	r.deleted = true
	r.deletedAt = now
	s.setSys(o, r, "IsDeleted", true)
	s.setSys(o, r, "LastModifiedDate", now)
	s.setSys(o, r, "SystemModstamp", now)
	s.setSys(o, r, "LastModifiedById", s.userID)
	s.commit(o, old, r)
	return r
}

// ---- Go control API ------------------------------------------------------------------------------

func errOrNil(e *APIError) error {
	if e == nil {
		return nil
	}
	return e
}

// Insert creates a record as the integration user would through the API: it checks the same
// rules (required, read-only, unique, types) and stamps CreatedDate/LastModifiedDate/SystemModstamp.
// The error, if any, is an *APIError.
func (s *Server) Insert(sobject string, fields map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return "", e
	}
	r, e := s.insertLocked(o, fields)
	if e != nil {
		return "", e
	}
	return r.id, nil
}

// Update changes fields of a record as a user would; it moves LastModifiedDate and SystemModstamp.
func (s *Server) Update(sobject, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	old, e := s.lookupForWrite(o, id)
	if e != nil {
		return e
	}
	_, e = s.updateLocked(o, old, fields)
	return errOrNil(e)
}

// Delete moves a record to the recycle bin (IsDeleted=true, visible through queryAll and /deleted).
func (s *Server) Delete(sobject, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	old, e := s.lookupForWrite(o, id)
	if e != nil {
		return e
	}
	s.deleteLocked(o, old)
	return nil
}

// HardDelete removes a record physically (also from the recycle bin); it disappears from
// queryAll and /deleted, and /deleted's earliestDateAvailable moves to now.
func (s *Server) HardDelete(sobject, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	nid, ok := normalizeID(id)
	r := o.get(nid)
	if !ok || r == nil {
		return errNotFound()
	}
	o.put(r, nil)
	o.purgedAt = s.nowSec()
	return nil
}

// EmptyRecycleBin physically removes every soft-deleted record of the type: they disappear
// from queryAll, but stay in the delete log, so /deleted still reports them for its 15-day
// window (see objStore.deleteLog); /deleted's earliestDateAvailable moves to now (the last
// physical deletion, GetDeletedResult in the SOAP API guide).
func (s *Server) EmptyRecycleBin(sobject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	var purged []*record
	for _, r := range append([]*record(nil), o.rows...) {
		if r != nil && r.deleted {
			o.put(r, nil)
			purged = append(purged, r)
		}
	}
	o.purgedAt = s.nowSec()
	o.logDeleted(o.purgedAt, purged...)
	return nil
}

// Merge merges losers into master as Salesforce's merge does: master is updated (timestamps
// move), each loser is soft-deleted with MasterRecordId = master, and the losers' children
// (Contacts of a merged Account) are re-parented to master.
func (s *Server) Merge(sobject, masterID string, loserIDs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	if len(loserIDs) == 0 || len(loserIDs) > 2 {
		return apiErr(400, "INVALID_OPERATION", "A merge request requires a master record and one or two records to merge")
	}
	master, e := s.lookupForWrite(o, masterID)
	if e != nil {
		return e
	}
	var losers []*record
	for _, id := range loserIDs {
		l, e := s.lookupForWrite(o, id)
		if e != nil {
			return e
		}
		if l.id == master.id {
			return apiErr(400, "INVALID_OPERATION", "Cannot merge a record with itself")
		}
		losers = append(losers, l)
	}
	if _, e := s.updateLocked(o, master, nil); e != nil {
		return e
	}
	for _, l := range losers {
		d := s.deleteLocked(o, l)
		s.setSys(o, d, "MasterRecordId", master.id)
		// re-parent children
		for _, co := range s.order {
			for _, f := range co.t.Fields {
				if f.Type != "reference" || f.idx < 0 || f.Name == "MasterRecordId" {
					continue
				}
				refs := false
				for _, to := range f.ReferenceTo {
					refs = refs || strings.EqualFold(to, o.t.Name)
				}
				if !refs {
					continue
				}
				for _, cr := range co.rows {
					if cr != nil && !cr.deleted && cr.vals[f.idx] == l.id {
						_, _ = s.updateLocked(co, cr, map[string]any{f.Name: master.id})
					}
				}
			}
		}
	}
	return nil
}

// TouchSystemModstamp simulates automation (roll-up recalculation, email bounce, ...): it moves
// SystemModstamp to now without touching LastModifiedDate (help.salesforce.com/s/articleView?id=000387261).
func (s *Server) TouchSystemModstamp(sobject, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	old, e := s.lookupForWrite(o, id)
	if e != nil {
		return e
	}
	r := old.clone()
	s.setSys(o, r, "SystemModstamp", s.nowSec())
	s.commit(o, old, r)
	return nil
}

// SetSystemFields overwrites audit fields (CreatedDate, LastModifiedDate, SystemModstamp,
// IsDeleted, ...) without any rule: a test back door for back-dated data. Avoid unless needed.
func (s *Server) SetSystemFields(sobject, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.objOrErr(sobject)
	if e != nil {
		return e
	}
	nid, _ := normalizeID(id)
	old := o.get(nid)
	if old == nil {
		return errNotFound()
	}
	r := old.clone()
	for k, v := range fields {
		f := o.t.Field(k)
		if f == nil || f.idx < 0 {
			return apiErr(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.t.Name))
		}
		if f.Type == "datetime" {
			switch x := v.(type) {
			case time.Time:
				v = x.UTC().Truncate(time.Second)
			case string:
				t, ok := parseDateTime(x)
				if !ok {
					return apiErr(400, "JSON_PARSER_ERROR", "bad datetime "+x)
				}
				v = t
			}
		}
		r.vals[f.idx] = v
	}
	o.put(old, r)
	return nil
}

// Get returns a record's fields (including formula fields), or false if it does not exist
// (soft-deleted records are returned, with IsDeleted true).
func (s *Server) Get(sobject, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.obj(sobject)
	if o == nil {
		return nil, false
	}
	nid, ok := normalizeID(id)
	if !ok {
		return nil, false
	}
	r := o.get(nid)
	if r == nil {
		return nil, false
	}
	return s.toMap(o, r), true
}

func (s *Server) toMap(o *objStore, r *record) map[string]any {
	v := &view{s: s, o: o, r: r, now: 1 << 62}
	m := make(map[string]any, len(o.t.Fields))
	for _, f := range o.t.Fields {
		m[f.Name] = v.value(f)
	}
	return m
}

// All returns every record of the type in insertion order, including soft-deleted ones
// (IsDeleted true) and rows of not-yet-committed transactions.
func (s *Server) All(sobject string) []map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.obj(sobject)
	if o == nil {
		return nil
	}
	out := make([]map[string]any, 0, len(o.rows))
	for _, r := range o.rows {
		if r != nil {
			out = append(out, s.toMap(o, r))
		}
	}
	return out
}

// Count returns the number of live (not deleted) records of the type.
func (s *Server) Count(sobject string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.obj(sobject)
	if o == nil {
		return 0
	}
	n := 0
	for _, r := range o.rows {
		if r != nil && !r.deleted {
			n++
		}
	}
	return n
}
