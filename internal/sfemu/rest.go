package sfemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func versionLabel(v int) string {
	k := v - 31
	season := []string{"Summer", "Winter", "Spring"}[k%3]
	return fmt.Sprintf("%s '%02d", season, 14+(k+2)/3)
}

// handleVersions serves GET /services/data/: no auth, not counted ("Versions", REST API
// Developer Guide; the Limit Info header page excludes it from the count).
func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) {
	type ver struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	out := []ver{}
	for v := minAPIVersion; v <= maxAPIVersion; v++ {
		n := strconv.Itoa(v) + ".0"
		out = append(out, ver{versionLabel(v), "/services/data/v" + n, n})
	}
	writeJSON(w, 200, out)
}

// parseVersion turns "v59.0" into "59.0" and 59.
func parseVersion(seg string) (string, int, bool) {
	if len(seg) < 4 || seg[0] != 'v' || !strings.HasSuffix(seg, ".0") {
		return "", 0, false
	}
	n, err := strconv.Atoi(seg[1 : len(seg)-2])
	if err != nil {
		return "", 0, false
	}
	return seg[1:], n, true
}

// dataPath splits a /services/data/... path into the version ("59.0"), its number and the
// unescaped segments after it. ok is false when the path names no supported version; gone is
// true for a retired one.
func dataPath(escaped string) (ver string, vnum int, segs []string, ok, gone bool) {
	esc := strings.TrimPrefix(escaped, "/services/data/")
	esc = strings.TrimSuffix(esc, "/")
	raw := strings.Split(esc, "/")
	segs = make([]string, len(raw))
	for i, x := range raw {
		u, err := url.PathUnescape(x)
		if err != nil {
			u = x
		}
		segs[i] = u
	}
	if segs[0] == "latest" {
		segs[0] = "v" + strconv.Itoa(maxAPIVersion) + ".0"
	}
	ver, vnum, ok = parseVersion(segs[0])
	if !ok || vnum > maxAPIVersion {
		return "", 0, nil, false, false
	}
	if vnum < minAPIVersion {
		return "", 0, nil, false, true
	}
	return ver, vnum, segs[1:], true, false
}

// handleData serves everything under /services/data/vXX.X/.
func (s *Server) handleData(w http.ResponseWriter, r *http.Request) {
	if strings.Trim(strings.TrimPrefix(r.URL.EscapedPath(), "/services/data/"), "/") == "" {
		s.handleVersions(w, r)
		return
	}
	ver, vnum, segs, ok, gone := dataPath(r.URL.EscapedPath())
	if gone {
		// Retired versions answer 410 ("410 Gone" row of "Status Codes and Error Responses",
		// REST API Developer Guide); the body's wording is not documented.
		writeErrors(w, apiErr(410, "API_DISABLED_FOR_ORG", "The requested API version is no longer supported"))
		return
	}
	if !ok {
		writeErrors(w, errNotFound())
		return
	}
	if e := s.checkSession(r); e != nil {
		writeErrors(w, e)
		return
	}
	// Each authenticated data request is one call against the daily allocation, and once it is
	// used up every call answers 403 REQUEST_LIMIT_EXCEEDED ("API Request Limits and
	// Allocations", Salesforce Developer Limits and Allocations Quick Reference). A Composite
	// request is one call however many subrequests it holds; its subrequests never come here.
	limit := s.dailyLimit.Load()
	used := s.apiUsed.Load()
	if used >= limit {
		w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.FormatInt(used, 10)+"/"+strconv.FormatInt(limit, 10))
		writeErrors(w, apiErr(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
		return
	}
	used = s.apiUsed.Add(1)
	recOf(r).apiCall = true
	w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.FormatInt(used, 10)+"/"+strconv.FormatInt(limit, 10))
	s.route(w, r, ver, vnum, segs)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	w.Header().Set("Allow", allowed)
	writeErrors(w, apiErr(405, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are "+allowed))
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, ver string, vnum int, segs []string) {
	if len(segs) == 0 {
		s.writeResources(w, r, ver)
		return
	}
	switch segs[0] {
	case "limits":
		if len(segs) == 2 && segs[1] == "recordCount" {
			s.writeRecordCount(w, r)
			return
		}
		if len(segs) == 1 {
			s.writeLimits(w)
			return
		}
	case "query", "queryAll":
		if len(segs) == 1 {
			s.handleQuery(w, r, ver, segs[0] == "queryAll", "")
			return
		}
		if len(segs) == 2 {
			s.handleQuery(w, r, ver, segs[0] == "queryAll", segs[1])
			return
		}
	case "sobjects":
		s.routeSObjects(w, r, ver, vnum, segs[1:])
		return
	case "composite":
		if len(segs) >= 2 && segs[1] == "sobjects" {
			s.routeCollections(w, r, ver, segs[2:])
			return
		}
		if len(segs) == 1 {
			s.handleComposite(w, r, ver, vnum)
			return
		}
	case "jobs":
		s.routeBulk(w, r, ver, vnum, segs[1:])
		return
	}
	writeErrors(w, errNotFound())
}

func (s *Server) writeResources(w http.ResponseWriter, r *http.Request, ver string) {
	p := "/services/data/v" + ver + "/"
	m := map[string]string{"identity": s.identityURL(r)}
	for _, k := range []string{"sobjects", "query", "queryAll", "limits", "composite", "search", "recent",
		"tooling", "jobs", "analytics", "connect", "chatter", "tabs", "theme", "appMenu", "actions",
		"serverInfo", "parameterizedSearch", "process", "quickActions", "ui-api", "async-queries"} {
		m[k] = p + k
	}
	writeJSON(w, 200, m)
}

func (s *Server) writeLimits(w http.ResponseWriter) {
	used, limit := s.APIUsage()
	mr := func(max, rem int) map[string]any { return map[string]any{"Max": max, "Remaining": rem} }
	daily := mr(limit, max(limit-used, 0))
	// Since Spring '17 limits may nest per-connected-app entries
	// (github.com/mike4aday/SwiftlySalesforce/issues/37).
	daily["sfemu"] = mr(0, 0)
	writeJSON(w, 200, map[string]any{
		"ActiveScratchOrgs":                 mr(3, 3),
		"ConcurrentAsyncGetReportInstances": mr(200, 200),
		"DailyApiRequests":                  daily,
		"DailyAsyncApexExecutions":          mr(250000, 250000),
		"DailyBulkApiBatches":               mr(15000, 15000),
		"DailyBulkV2QueryFileStorageMB":     mr(976562, 976562),
		"DailyBulkV2QueryJobs":              mr(10000, 10000),
		"DailyStreamingApiEvents":           mr(1000000, 1000000),
		"DataStorageMB":                     mr(1024, 1000),
		"FileStorageMB":                     mr(1024, 1024),
		"HourlyODataCallout":                mr(20000, 20000),
		"SingleEmail":                       mr(5000, 5000),
	})
}

func (s *Server) writeRecordCount(w http.ResponseWriter, r *http.Request) {
	type rc struct {
		Count int    `json:"count"`
		Name  string `json:"name"`
	}
	out := []rc{}
	names := strings.Split(r.URL.Query().Get("sObjects"), ",")
	for _, o := range s.order {
		want := r.URL.Query().Get("sObjects") == ""
		for _, n := range names {
			want = want || strings.EqualFold(n, o.t.Name)
		}
		if want {
			out = append(out, rc{s.Count(o.t.Name), o.t.Name})
		}
	}
	writeJSON(w, 200, map[string]any{"sObjects": out})
}

// ---- describe ---------------------------------------------------------------------------------

func objURLs(ver, name string) map[string]string {
	p := "/services/data/v" + ver + "/sobjects/" + name
	return map[string]string{"sobject": p, "describe": p + "/describe", "rowTemplate": p + "/{ID}",
		"compactLayouts": p + "/describe/compactLayouts", "layouts": p + "/describe/layouts",
		"defaultValues": p + "/defaultValues?recordTypeId&fields", "quickActions": p + "/quickActions"}
}

func (s *Server) objSummary(o *objStore, ver string) map[string]any {
	t := o.t
	return map[string]any{
		"activateable": false, "associateEntityType": nil, "associateParentEntity": nil,
		"createable": t.Createable, "custom": t.Custom, "customSetting": false, "deepCloneable": false,
		"deletable": t.Deletable, "deprecatedAndHidden": false, "feedEnabled": t.Name != "User",
		"hasSubtypes": false, "isInterface": false, "isSubtype": false, "keyPrefix": t.KeyPrefix,
		"label": t.Label, "labelPlural": t.LabelPlural, "layoutable": true, "mergeable": t.Deletable,
		"mruEnabled": true, "name": t.Name, "queryable": true, "replicateable": !o.notReplicateable, "retrieveable": true,
		"searchable": true, "triggerable": true, "undeletable": t.Deletable, "updateable": t.Updateable,
		"urls": objURLs(ver, t.Name),
	}
}

// metaTime is when the seeded metadata last changed: before the emulator's first release. An
// object's moves on when SetPicklist changes it (objStore.metaAt).
var metaTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// notModified answers 304 when If-Modified-Since is not before t ("Conditional Request
// Headers", REST API Developer Guide).
func notModified(w http.ResponseWriter, r *http.Request, t time.Time) bool {
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	if !t.Truncate(time.Second).After(since) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

// writeGlobalDescribe answers 304 only when no object's metadata changed since If-Modified-Since
// ("Get a List of Objects If Metadata Has Changed", REST API Developer Guide).
func (s *Server) writeGlobalDescribe(w http.ResponseWriter, r *http.Request, ver string) {
	s.mu.RLock()
	changed := metaTime
	for _, o := range s.order {
		if t := o.metaModified(); t.After(changed) {
			changed = t
		}
	}
	if notModified(w, r, changed) {
		s.mu.RUnlock()
		return
	}
	objs := []any{}
	for _, o := range s.order {
		objs = append(objs, s.objSummary(o, ver))
	}
	s.mu.RUnlock()
	writeJSON(w, 200, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objs})
}

func fieldDescribe(f *Field) map[string]any {
	pick := []any{}
	for i, p := range f.Picklist {
		_ = i
		pick = append(pick, map[string]any{"active": true, "defaultValue": false, "label": p, "validFor": nil, "value": p})
	}
	refTo := f.ReferenceTo
	if refTo == nil {
		refTo = []string{}
	}
	var rel any
	if f.RelationshipName != "" {
		rel = f.RelationshipName
	}
	var formula any
	if f.Formula != "" {
		formula = f.Formula
	}
	length := f.Length
	byteLen := length * 3
	switch f.Type {
	case "boolean", "date", "datetime", "double", "currency", "int", "percent":
		length, byteLen = 0, 0
	}
	filterable := f.Type != "textarea"
	return map[string]any{
		"aggregatable": f.Type != "textarea", "aiPredictionField": false, "autoNumber": false,
		"byteLength": byteLen, "calculated": f.Calculated, "calculatedFormula": formula,
		"cascadeDelete": false, "caseSensitive": f.CaseSensitive, "compoundFieldName": nil,
		"controllerName": nil, "createable": f.Createable, "custom": f.Custom, "defaultValue": nil,
		"defaultValueFormula": nil, "defaultedOnCreate": f.DefaultedOnCreate, "dependentPicklist": false,
		"deprecatedAndHidden": false, "digits": f.Digits, "displayLocationInDecimal": false,
		"encrypted": false, "externalId": f.ExternalID, "extraTypeInfo": nil, "filterable": filterable,
		"filteredLookupInfo": nil, "formulaTreatNullNumberAsZero": false, "groupable": filterable && f.Type != "datetime" && f.Type != "double" && f.Type != "currency",
		"highScaleNumber": false, "htmlFormatted": false, "idLookup": f.IDLookup, "inlineHelpText": nil,
		"label": f.Label, "length": length, "mask": nil, "maskType": nil, "name": f.Name,
		"nameField": f.NameField, "namePointing": len(f.ReferenceTo) > 1, "nillable": f.Nillable,
		"permissionable": f.Nillable && !f.Calculated && f.Createable, "picklistValues": pick,
		"polymorphicForeignKey": false, "precision": f.Precision, "queryByDistance": false,
		"referenceTargetField": nil, "referenceTo": refTo, "relationshipName": rel,
		"relationshipOrder": nil, "restrictedDelete": false, "restrictedPicklist": f.Restricted,
		"scale": f.Scale, "searchPrefilterable": false, "soapType": soapType(f.Type),
		"sortable": filterable, "type": f.Type, "unique": f.Unique, "updateable": f.Updateable,
		"writeRequiresMasterRead": false,
	}
}

// writeDescribe answers 304 when the object's metadata has not changed since If-Modified-Since
// ("Get Object Metadata Changes", REST API Developer Guide). It reads the fields under s.mu:
// SetPicklist changes them while the org runs.
func (s *Server) writeDescribe(w http.ResponseWriter, r *http.Request, o *objStore, ver string) {
	s.mu.RLock()
	if notModified(w, r, o.metaModified()) {
		s.mu.RUnlock()
		return
	}
	m := s.objSummary(o, ver)
	fields := []any{}
	for _, f := range o.t.Fields {
		fields = append(fields, fieldDescribe(f))
	}
	m["fields"] = fields
	children := []any{}
	for _, co := range s.order {
		for _, f := range co.t.Fields {
			if f.RelationshipName == "" || f.Name == "MasterRecordId" || f.Type != "reference" {
				continue
			}
			for _, to := range f.ReferenceTo {
				if to == o.t.Name && f.DefaultedOnCreate == false {
					children = append(children, map[string]any{"cascadeDelete": false, "childSObject": co.t.Name,
						"deprecatedAndHidden": false, "field": f.Name, "junctionIdListNames": []string{},
						"junctionReferenceTo": []string{}, "relationshipName": co.t.LabelPlural, "restrictedDelete": false})
				}
			}
		}
	}
	m["childRelationships"] = children
	m["recordTypeInfos"] = []any{map[string]any{"active": true, "available": true, "defaultRecordTypeMapping": true,
		"developerName": "Master", "master": true, "name": "Master", "recordTypeId": "012000000000000AAA",
		"urls": map[string]string{"layout": "/services/data/v" + ver + "/sobjects/" + o.t.Name + "/describe/layouts/012000000000000AAA"}}}
	m["actionOverrides"] = []any{}
	m["compactLayoutable"] = true
	m["listviewable"] = nil
	m["lookupLayoutable"] = nil
	m["namedLayoutInfos"] = []any{}
	m["networkScopeFieldName"] = nil
	m["searchLayoutable"] = true
	m["supportedScopes"] = []any{map[string]string{"label": "All " + o.t.LabelPlural, "name": "everything"}}
	m["sobjectDescribeOption"] = "FULL"
	s.mu.RUnlock()
	writeJSON(w, 200, m)
}

// ---- sObject rows ------------------------------------------------------------------------------------

const maxBody = 50 << 20

func readJSONObject(r *http.Request) (map[string]any, *APIError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, apiErr(400, "JSON_PARSER_ERROR", "Unable to read request body")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		msg := "Unexpected end-of-input: expected close marker for OBJECT at [line:1, column:1]"
		if err != nil && len(b) > 0 {
			msg = "Unexpected character: " + err.Error() + " at [line:1, column:1]"
		}
		return nil, apiErr(400, "JSON_PARSER_ERROR", msg)
	}
	return m, nil
}

func (s *Server) routeSObjects(w http.ResponseWriter, r *http.Request, ver string, vnum int, segs []string) {
	if len(segs) == 0 {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r, "GET,HEAD")
			return
		}
		s.writeGlobalDescribe(w, r, ver)
		return
	}
	o := s.obj(segs[0])
	if o == nil {
		writeErrors(w, apiErr(404, "NOT_FOUND", "The requested resource does not exist"))
		return
	}
	switch len(segs) {
	case 1:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(w, 200, map[string]any{"objectDescribe": s.objSummary(o, ver), "recentItems": []any{}})
		case http.MethodPost:
			s.createOne(w, r, o, ver)
		default:
			methodNotAllowed(w, r, "GET,HEAD,POST")
		}
		return
	case 2:
		switch segs[1] {
		case "describe":
			s.writeDescribe(w, r, o, ver)
			return
		case "updated", "deleted":
			s.handleReplication(w, r, o, segs[1] == "deleted")
			return
		}
		s.rowByID(w, r, o, ver, segs[1])
		return
	case 3:
		s.rowByExtID(w, r, o, ver, vnum, segs[1], segs[2])
		return
	}
	writeErrors(w, errNotFound())
}

func createdBody(id string) []byte {
	return []byte(`{"id":"` + id + `","success":true,"errors":[]}`)
}

func (s *Server) createOne(w http.ResponseWriter, r *http.Request, o *objStore, ver string) {
	// A create has no current record to compare with, but an invalid If-Unmodified-Since on a
	// POST is still refused with 400 ("Conditional Request Headers", REST API Developer Guide).
	if _, e := unmodifiedSince(r); e != nil {
		writeErrors(w, e)
		return
	}
	in, e := readJSONObject(r)
	if e != nil {
		writeErrors(w, e)
		return
	}
	s.lockWrite(r)
	rec, e := s.insertLocked(o, in)
	s.unlockWrite()
	if e != nil {
		writeErrors(w, e)
		return
	}
	// The Composite guide's example of a create subrequest carries this header
	// ("Composite Response Body", REST API Developer Guide).
	w.Header().Set("Location", "/services/data/v"+ver+"/sobjects/"+o.t.Name+"/"+rec.id)
	writeRaw(w, 201, createdBody(rec.id))
}

// fieldsParam parses ?fields=A,B for retrieve.
func (s *Server) retrievePlan(o *objStore, r *http.Request) (*plan, *APIError) {
	fs := r.URL.Query().Get("fields")
	if fs == "" {
		return planAll(o), nil
	}
	var paths []string
	for _, f := range strings.Split(fs, ",") {
		if f = strings.TrimSpace(f); f != "" {
			paths = append(paths, f)
		}
	}
	if !containsFold(paths, "Id") {
		paths = append([]string{"Id"}, paths...)
	}
	p, bad, ok := s.planFields(o, paths)
	if !ok {
		return nil, apiErr(400, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", bad, o.t.Name))
	}
	return p, nil
}

func containsFold(xs []string, x string) bool {
	for _, y := range xs {
		if strings.EqualFold(x, y) {
			return true
		}
	}
	return false
}

func lastModified(o *objStore, rec *record) time.Time {
	if f := o.t.Field("LastModifiedDate"); f != nil {
		if t, ok := rec.vals[f.idx].(time.Time); ok {
			return t
		}
	}
	return time.Time{}
}

func (s *Server) writeOneRecord(w http.ResponseWriter, r *http.Request, o *objStore, ver string, rec *record) {
	p, e := s.retrievePlan(o, r)
	if e != nil {
		writeErrors(w, e)
		return
	}
	s.mu.RLock()
	v := &view{s: s, o: o, r: rec, now: s.now().Unix()}
	b := appendRecord(nil, v, p.cols, ver)
	s.mu.RUnlock()
	w.Header().Set("Last-Modified", lastModified(o, rec).Format(http.TimeFormat))
	writeRaw(w, 200, b)
}

// rowByID handles GET/PATCH/DELETE /sobjects/{O}/{id} ("sObject Rows", REST API Developer Guide).
func (s *Server) rowByID(w http.ResponseWriter, r *http.Request, o *objStore, ver, rawID string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id, ok := normalizeID(rawID)
		if !looksLikeID(rawID) {
			writeErrors(w, errNoExtField(rawID))
			return
		}
		if !ok || !strings.HasPrefix(id, o.t.KeyPrefix) {
			writeErrors(w, errNotFound())
			return
		}
		s.mu.RLock()
		rec := visible(o.get(id), s.now().Unix())
		s.mu.RUnlock()
		if rec == nil || rec.deleted {
			writeErrors(w, errNotFound())
			return
		}
		if notModified(w, r, lastModified(o, rec)) {
			return
		}
		s.writeOneRecord(w, r, o, ver, rec)
	case http.MethodPatch:
		since, e := unmodifiedSince(r)
		if e != nil {
			writeErrors(w, e)
			return
		}
		in, e := readJSONObject(r)
		if e != nil {
			writeErrors(w, e)
			return
		}
		s.lockWrite(r)
		old, e := s.lookupForWrite(o, rawID)
		if e == nil {
			e = since.check(o, old)
		}
		if e == nil {
			_, e = s.updateLocked(o, old, in)
		}
		s.unlockWrite()
		if e != nil {
			writeErrors(w, e)
			return
		}
		w.WriteHeader(204)
	case http.MethodDelete:
		// If-Unmodified-Since is not evaluated: "DELETE requests aren't supported" with the
		// conditional headers ("Conditional Request Headers", REST API Developer Guide,
		// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conditional_requests.htm).
		s.lockWrite(r)
		old, e := s.lookupForWrite(o, rawID)
		if e == nil {
			s.deleteLocked(o, old)
		}
		s.unlockWrite()
		if e != nil {
			writeErrors(w, e)
			return
		}
		w.WriteHeader(204)
	default:
		methodNotAllowed(w, r, "GET,HEAD,PATCH,DELETE")
	}
}

// precondition is a request's If-Unmodified-Since. Facts from "Conditional Request Headers"
// (REST API Developer Guide, developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conditional_requests.htm):
// it is weak validation that compares the date with the record's last modified date; a record
// modified after it answers 412 Precondition Failed and is not written; an invalid header value
// on a PATCH or POST answers 400; DELETE does not support the conditional headers.
//
// Both sides have one-second resolution: HTTP dates carry whole seconds (RFC 9110, section
// 5.6.7) and Salesforce stores LastModifiedDate in whole seconds. A record changed in the same
// second as the date therefore passes ("modified after" is strictly later), so a client that
// sends the LastModifiedDate it read cannot see an edit made within that second.
//
// The guide gives no body for the 412 or the 400. The 412 uses the REST error envelope with
// errorCode PRECONDITION_FAILED, the code Salesforce's Agent API answers its 412s with in client
// fixtures (unconfirmed for sObject Rows); the 400 uses INVALID_HEADER_TYPE (unconfirmed).
// LastModifiedDate is compared, not SystemModstamp: automation that moves only SystemModstamp
// does not fail the precondition.
type precondition struct {
	set bool
	raw string
	t   time.Time
}

func unmodifiedSince(r *http.Request) (precondition, *APIError) {
	h := r.Header.Get("If-Unmodified-Since")
	if h == "" {
		return precondition{}, nil
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return precondition{}, apiErr(400, "INVALID_HEADER_TYPE", "Invalid If-Unmodified-Since header: "+h)
	}
	return precondition{set: true, raw: h, t: t}, nil
}

// check answers 412 when rec was modified after the precondition's date.
func (p precondition) check(o *objStore, rec *record) *APIError {
	if !p.set || !lastModified(o, rec).After(p.t) {
		return nil
	}
	return apiErr(412, "PRECONDITION_FAILED", "The requested resource has been modified since "+p.raw)
}

// extMatches returns live records whose external-id field equals v (case-insensitive).
func (s *Server) extMatches(o *objStore, f *Field, v string) []*record {
	var out []*record
	if f.Name == "Id" {
		if id, ok := normalizeID(v); ok {
			if rec := o.get(id); rec != nil && !rec.deleted {
				out = append(out, rec)
			}
		}
		return out
	}
	idx := o.ext[f]
	for _, id := range idx[strings.ToLower(v)] {
		if rec := o.get(id); rec != nil && !rec.deleted {
			out = append(out, rec)
		}
	}
	return out
}

func (s *Server) multipleChoices(w http.ResponseWriter, o *objStore, ver string, recs []*record) {
	urls := make([]string, len(recs))
	for i, rec := range recs {
		urls[i] = "/services/data/v" + ver + "/sobjects/" + o.t.Name + "/" + rec.id
	}
	writeJSON(w, 300, urls)
}

// rowByExtID handles /sobjects/{O}/{ExtField}/{value}: GET, upsert PATCH, DELETE ("sObject Rows
// by External ID", REST API Developer Guide).
func (s *Server) rowByExtID(w http.ResponseWriter, r *http.Request, o *objStore, ver string, vnum int, fname, value string) {
	f := o.t.Field(fname)
	if f == nil || !(f.ExternalID || f.Name == "Id") {
		// An unknown or non-external-id field → 404 NOT_FOUND ("Insert or Update (Upsert) a Record
		// Using an External ID": "Incorrect external ID field").
		writeErrors(w, errNoExtField(fname))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.RLock()
		recs := s.extMatches(o, f, value)
		s.mu.RUnlock()
		switch len(recs) {
		case 0:
			writeErrors(w, errNotFound())
		case 1:
			s.writeOneRecord(w, r, o, ver, recs[0])
		default:
			s.multipleChoices(w, o, ver, recs)
		}
	case http.MethodPatch, http.MethodPost:
		cond, e := upsertConditions(r, vnum)
		if e != nil {
			writeErrors(w, e)
			return
		}
		in, e := readJSONObject(r)
		if e != nil {
			writeErrors(w, e)
			return
		}
		s.lockWrite(r)
		res, recs, e := s.upsertLocked(o, f, value, in, cond)
		s.unlockWrite()
		if e != nil {
			writeErrors(w, e)
			return
		}
		if len(recs) > 1 {
			s.multipleChoices(w, o, ver, recs)
			return
		}
		// Status and body depend on the version: v<46 201 / 204 empty; v>=46 201 created:true /
		// 200 created:false ("Insert or Update (Upsert) a Record Using an External ID";
		// github.com/wadewegner/Force.com-Toolkit-for-NET/issues/407).
		switch {
		case res.created && vnum >= 46:
			writeRaw(w, 201, []byte(`{"id":"`+res.id+`","success":true,"errors":[],"created":true}`))
		case res.created:
			writeRaw(w, 201, createdBody(res.id))
		case vnum >= 46:
			writeRaw(w, 200, []byte(`{"id":"`+res.id+`","success":true,"errors":[],"created":false}`))
		default:
			w.WriteHeader(204)
		}
	case http.MethodDelete:
		s.lockWrite(r)
		recs := s.extMatches(o, f, value)
		if len(recs) == 1 {
			s.deleteLocked(o, recs[0])
		}
		s.unlockWrite()
		switch len(recs) {
		case 0:
			writeErrors(w, errNotFound())
		case 1:
			w.WriteHeader(204)
		default:
			s.multipleChoices(w, o, ver, recs)
		}
	default:
		methodNotAllowed(w, r, "GET,HEAD,PATCH,DELETE")
	}
}

type upsertResult struct {
	id      string
	created bool
}

// upsertCond are the request-level conditions of an upsert through sObject Rows by External ID.
type upsertCond struct {
	// updateOnly: no match answers 404 instead of creating a record.
	updateOnly bool
	// since is If-Unmodified-Since, checked against the matched record.
	since precondition
}

// minUpdateOnlyVersion is the first API version with updateOnly: the parameter appears in the
// Summer '24 (v61.0) edition of "Upsert Records Using sObject Rows by External ID" (REST API
// Developer Guide, developer.salesforce.com/docs/atlas.en-us.250.0.api_rest.meta/api_rest/resources_sobject_upsert_patch.htm:
// "prevents a new record from being created. Forces the upsert to behave like an update") and is
// absent from the v60.0 edition. Earlier versions do not know the parameter, so it is ignored and
// the upsert may create (inferred: Salesforce ignores query parameters a resource does not define).
const minUpdateOnlyVersion = 61

func upsertConditions(r *http.Request, vnum int) (upsertCond, *APIError) {
	since, e := unmodifiedSince(r)
	if e != nil {
		return upsertCond{}, e
	}
	return upsertCond{
		updateOnly: vnum >= minUpdateOnlyVersion && strings.EqualFold(r.URL.Query().Get("updateOnly"), "true"),
		since:      since,
	}, nil
}

// upsertLocked inserts or updates by external id. More than one match returns the matches.
//
// Records in the recycle bin never match: the upsert creates a new record beside them. The guide
// does not say so in words; it follows from upsert matching "existing" records and from deleted
// records being invisible to everything but queryAll, and it is what a sync tool must expect
// after a Salesforce user deleted a linked record.
//
// With cond.updateOnly and no match the answer is 404 NOT_FOUND "The requested resource does not
// exist" (the guide names no response for this case; NOT_FOUND is what the same resource answers
// for other missing records). If-Unmodified-Since applies to the matched record; with no match
// there is no modification date to compare and the header is ignored (RFC 9110, section 13.1.4).
func (s *Server) upsertLocked(o *objStore, f *Field, value string, in map[string]any, cond upsertCond) (upsertResult, []*record, *APIError) {
	for k, v := range in {
		if strings.EqualFold(k, f.Name) {
			if sv, ok := v.(string); !ok || !strings.EqualFold(sv, value) {
				// (unconfirmed wording) the key travels in the URL; a different body value is refused.
				return upsertResult{}, nil, dmlErr(400, "INVALID_FIELD", fmt.Sprintf("The value in the URL (%s) does not match the value of %s in the body", value, f.Name), f.Name)
			}
			delete(in, k)
		}
	}
	recs := s.extMatches(o, f, value)
	switch len(recs) {
	case 0:
		if f.Name == "Id" || cond.updateOnly {
			return upsertResult{}, nil, errNotFound()
		}
		in[f.Name] = value
		rec, e := s.insertLocked(o, in)
		if e != nil {
			return upsertResult{}, nil, e
		}
		return upsertResult{id: rec.id, created: true}, nil, nil
	case 1:
		if s.locked[recs[0].id] {
			return upsertResult{}, nil, dmlErr(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
		}
		if e := cond.since.check(o, recs[0]); e != nil {
			return upsertResult{}, nil, e
		}
		rec, e := s.updateLocked(o, recs[0], in)
		if e != nil {
			return upsertResult{}, nil, e
		}
		return upsertResult{id: rec.id}, nil, nil
	}
	return upsertResult{}, recs, nil
}
