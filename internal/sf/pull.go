package sf

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// PullQuery builds the SOQL of a pull:
//
//	SELECT <fields>, Id, <wm>, LastModifiedDate[, IsDeleted] FROM <Object>
//	[WHERE (<wm> > t OR (<wm> = t AND Id > 'id'))]  -- or <wm> >= t without an Id
//	ORDER BY <wm> ASC, Id ASC
//
// The (watermark, Id) keyset neither skips nor re-reads records that share
// a second: a bare ">" on the timestamp loses the rest of a second
// (github.com/supaglue-labs/supaglue/issues/532), and ORDER BY ts LIMIT n
// loops once more than n records share one
// (github.com/airbytehq/airbyte/issues/17148). Every name goes through Ident and every value
// through the literal builder.
func PullQuery(req syncd.PullRequest) (string, error) {
	obj, err := Ident(req.Object)
	if err != nil {
		return "", err
	}
	wm := watermark(req)
	if wm, err = Ident(wm); err != nil {
		return "", err
	}
	seen := map[string]bool{}
	var cols []string
	add := func(f string) error {
		f, err := Ident(f)
		if err != nil {
			return err
		}
		if k := strings.ToLower(f); !seen[k] {
			seen[k] = true
			cols = append(cols, f)
		}
		return nil
	}
	for _, f := range req.Fields {
		if err := add(f.Name); err != nil {
			return "", err
		}
	}
	extra := []string{"Id", wm, "LastModifiedDate"}
	if req.IncludeDeleted {
		extra = append(extra, "IsDeleted")
		if req.Merges {
			extra = append(extra, "MasterRecordId")
		}
	}
	for _, f := range extra {
		if err := add(f); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(" FROM ")
	b.WriteString(obj)
	switch {
	case len(req.IDs) > 0:
		ids := make([]string, len(req.IDs))
		for i, id := range req.IDs {
			ids[i] = String(id)
		}
		fmt.Fprintf(&b, " WHERE Id IN (%s)", strings.Join(ids, ", "))
	case req.Match != nil && len(req.Match.Values) > 0:
		f, err := Ident(req.Match.Field)
		if err != nil {
			return "", err
		}
		vals := make([]string, len(req.Match.Values))
		for i, v := range req.Match.Values {
			vals[i] = String(v)
		}
		fmt.Fprintf(&b, " WHERE %s IN (%s)", f, strings.Join(vals, ", "))
	case req.Match != nil:
		f, err := Ident(req.Match.Field)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, " WHERE %s != null", f)
	case !req.After.Time.IsZero():
		t := DateTime(req.After.Time)
		if req.After.ID == "" {
			fmt.Fprintf(&b, " WHERE %s >= %s", wm, t)
		} else {
			fmt.Fprintf(&b, " WHERE (%s > %s OR (%s = %s AND Id > %s))", wm, t, wm, t, String(req.After.ID))
		}
	}
	fmt.Fprintf(&b, " ORDER BY %s ASC, Id ASC", wm)
	return b.String(), nil
}

// pullAhead is how many pages one pull holds at most: the page being
// applied and the one fetched, or being fetched, ahead of it. More would
// not hide more latency (a page is requested as soon as the previous one's
// head has arrived, and applying a page takes less than a round trip), but
// would cost calls when the caller stops early, e.g. to switch to Bulk.
const pullAhead = 2

// watermark is the request's watermark field, the domain's default when
// it names none.
func watermark(req syncd.PullRequest) string {
	if req.WatermarkField != "" {
		return req.WatermarkField
	}
	return syncd.DefaultWatermark
}

// errSwitchToBulk stops the REST pull after its first page.
var errSwitchToBulk = errors.New("switching to Bulk API 2.0")

// Pull streams the records changed after req.After to fn, page by page, in
// (watermark, Id) order, and chooses the transport: the REST query's first
// page carries totalSize, a free count of the whole pull; above
// req.BulkThreshold, with more pages to come, the REST pull stops after
// that page and a Bulk API 2.0 query job reads the rest, from the last
// record delivered (the keyset continues exactly there). If Salesforce
// refuses the Bulk job itself (a permanent error: an object the Bulk API
// does not support, the feature turned off), the pull goes on over REST.
func (c *Client) Pull(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	if len(req.IDs) > 0 {
		return c.pullIDs(ctx, req, fn)
	}
	if req.Match != nil {
		return c.pullMatch(ctx, req, fn)
	}
	if req.BulkThreshold <= 0 {
		return c.pullREST(ctx, req, fn)
	}
	var last *syncd.RemoteRecord // the last record fn accepted
	deliver := func(p syncd.Page) error {
		if err := fn(p); err != nil {
			return err
		}
		if n := len(p.Records); n > 0 {
			last = &p.Records[n-1]
		}
		return nil
	}
	first, total := true, 0
	err := c.pullREST(ctx, req, func(p syncd.Page) error {
		if err := deliver(p); err != nil {
			return err
		}
		if first {
			first = false
			if p.TotalSize > req.BulkThreshold && p.TotalSize > len(p.Records) {
				total = p.TotalSize
				return errSwitchToBulk
			}
		}
		return nil
	})
	if !errors.Is(err, errSwitchToBulk) {
		return err
	}
	rest := func() syncd.PullRequest {
		r := req
		r.Cover, r.Expect = false, 0 // asked, and read, by the first call
		if last != nil {
			r.After = syncd.Cursor{Time: last.Stamp, ID: last.ID}
		}
		return r
	}
	c.log.Info("pulling through Bulk API 2.0", "object", req.Object, "records", total, "threshold", req.BulkThreshold)
	err = c.bulkPull(ctx, rest(), deliver)
	if err != nil && errors.Is(err, syncd.ErrPermanent) && ctx.Err() == nil {
		c.log.Warn("Bulk API 2.0 refused the query job; pulling over REST", "object", req.Object, "err", err)
		return c.pullREST(ctx, rest(), deliver)
	}
	return err
}

// maxQueryIDs bounds the Ids of one "Id IN (...)" query: each takes about
// 27 bytes of the URL once quoted and escaped, and Salesforce allows 16,384
// bytes for the URI and headers of a REST call together (Salesforce Help,
// "Maximum number of rows returned by SOQL queries over the REST API",
// help.salesforce.com/s/articleView?id=000386264).
const maxQueryIDs = 200

// pullIDs reads the records req.IDs names, maxQueryIDs a query.
func (c *Client) pullIDs(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	all := req.IDs
	for start := 0; start < len(all); start += maxQueryIDs {
		r := req
		r.IDs = all[start:min(start+maxQueryIDs, len(all))]
		if err := c.pullREST(ctx, r, fn); err != nil {
			return err
		}
	}
	return nil
}

// pullMatch reads the records whose req.Match.Field is one of its values:
// "Field IN (...)" queries of maxQueryIDs values each, or, when there are
// more values than req.BulkThreshold (in the whole matching, when these
// are a part of it), one Bulk API 2.0 query job for every record with the
// field set, filtered here as SOQL would (case-insensitive equality). The
// parts of one matching share that job (Match.Share): its result is
// downloaded once, and each part reads it from disk.
func (c *Client) pullMatch(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	all := req.Match.Values
	if req.BulkThreshold > 0 && max(len(all), req.Match.Total) > req.BulkThreshold {
		want := make(map[string]bool, len(all))
		for _, v := range all {
			want[strings.ToLower(v)] = true
		}
		r := req
		r.Match = &syncd.MatchFilter{Field: req.Match.Field}
		c.log.Info("matching through Bulk API 2.0", "object", req.Object, "values", len(all), "threshold", req.BulkThreshold)
		// Rows are kept before they are converted: each part of a large
		// matching reads every record with the field set.
		keep := rowFilter{column: req.Match.Field, keep: func(cell string) bool { return cell != "" && want[strings.ToLower(cell)] }}
		err := c.bulkPullFiltered(ctx, r, keep, req.Match.Share, fn)
		if err == nil || !errors.Is(err, syncd.ErrPermanent) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("Bulk API 2.0 refused the query job; matching over REST", "object", req.Object, "err", err)
	}
	for start := 0; start < len(all); start += maxQueryIDs {
		r := req
		r.Match = &syncd.MatchFilter{Field: req.Match.Field, Values: all[start:min(start+maxQueryIDs, len(all))]}
		if err := c.pullREST(ctx, r, fn); err != nil {
			return err
		}
	}
	return nil
}

// pullREST streams the records changed after req.After to fn, page by page,
// following nextRecordsUrl, with the requests pipelined: a page's
// head (totalSize, done, nextRecordsUrl), which Salesforce sends before its
// records, is read first, and the next page is requested at once, while
// this one is still being received, decoded and then applied. So a pull of
// N pages costs little more than N round trips, and at most pullAhead pages
// are held at any time, whatever N. A session that expires mid-paging is
// refreshed and the same nextRecordsUrl continues; INVALID_QUERY_LOCATOR
// (cursor expired) is returned as a transient error and the caller
// restarts from its committed cursor.
func (c *Client) pullREST(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	soql, err := PullQuery(req)
	if err != nil {
		return newAPIError(0, "INVALID_FIELD", err.Error(), nil)
	}
	wm := watermark(req)
	batch := req.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	batch = max(200, min(batch, 2000)) // the range Sforce-Query-Options batchSize accepts
	endpoint := "query"
	if req.IncludeDeleted {
		endpoint = "queryAll"
	}
	p := &pullPipe{
		c:      c,
		dec:    newPageDecoder(newConverter(req, wm), batch),
		hdr:    http.Header{"Sforce-Query-Options": {fmt.Sprintf("batchSize=%d", batch)}},
		object: req.Object,
	}
	first := &request{method: http.MethodGet, path: endpoint, query: url.Values{"q": {soql}},
		header: p.hdr, object: req.Object, retry: true, count: true}
	byCursor := len(req.IDs) == 0 && req.Match == nil
	pages := firstCallPages(req, batch)
	if !byCursor || (!req.Cover && pages < 2) || c.compositeRefused.Load() {
		return p.run(ctx, nil, first, fn)
	}
	// A pull expected to be more than a page, or asking getUpdated: its
	// first call is one Composite request (composite.go).
	f, err := c.pullFirstCall(ctx, req, endpoint, soql, p.hdr, pages)
	var refused *compositeRefused
	if errors.As(err, &refused) {
		c.compositeRefused.Store(true)
		c.log.Warn("Salesforce refused a pull's Composite request; pulling with a call per page (and getUpdated on its own)",
			"object", req.Object, "err", refused.err)
		return p.run(ctx, nil, first, fn)
	}
	if err != nil {
		return err
	}
	first = nil
	if f.next != "" {
		if !strings.HasPrefix(f.next, "/services/") {
			return newAPIError(0, CodeBadBody, "unexpected nextRecordsUrl "+f.next, nil)
		}
		first = &request{method: http.MethodGet, path: f.next, header: p.hdr, object: req.Object, retry: true, count: true}
	}
	held := make([]func() (syncd.Page, error), len(f.pages))
	for i, body := range f.pages {
		held[i] = func() (syncd.Page, error) {
			h, recs, err := p.dec.decode(body)
			page := syncd.Page{Records: recs, ServerTime: f.server, TotalSize: h.totalSize}
			if i == 0 {
				page.Fetched, page.Cover = f.fetched, f.cover
			}
			return page, err
		}
	}
	return p.run(ctx, held, first, fn)
}

// pageResult is one fetched and decoded page, or why there is none.
type pageResult struct {
	page syncd.Page
	err  error
}

// pullPipe runs the requests of one pull. Each page is fetched by its own
// goroutine, which starts the next page's goroutine as soon as it has read
// the nextRecordsUrl; results reach the caller in page order through order.
type pullPipe struct {
	c      *Client
	dec    *pageDecoder
	hdr    http.Header
	object string

	slots chan struct{}        // one token per page held, from its request until fn returns
	order chan chan pageResult // each page's result channel, in page order; closed after the last
	wg    sync.WaitGroup
}

// run delivers the held pages (those a Composite first call brought,
// decoded one at a time), then the pages from first on, each fetched
// ahead as pullPipe says. first goes out once the first held page is
// applied, so that a caller that stops there (to pull again, or to switch
// to Bulk) has not paid for it; nil when there is nothing more to fetch.
func (p *pullPipe) run(ctx context.Context, held []func() (syncd.Page, error), first *request, fn func(syncd.Page) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		p.wg.Wait() // no request outlives the pull
	}()
	p.slots = make(chan struct{}, pullAhead)
	// At most one channel per slot holder plus the first is ever queued,
	// so sends never block.
	p.order = make(chan chan pageResult, pullAhead+1)
	start := func() {
		if first == nil {
			close(p.order)
			return
		}
		out := make(chan pageResult, 1)
		p.order <- out
		p.fetch(ctx, *first, out)
	}
	if len(held) == 0 {
		start()
	}
	for i, next := range held {
		page, err := next()
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if i == 0 {
			start()
		}
	}
	for ch := range p.order {
		res := <-ch
		if res.err != nil {
			return res.err
		}
		err := fn(res.page)
		<-p.slots // this page is applied and let go
		if err != nil {
			return err
		}
	}
	return nil
}

// fetch requests one page in a new goroutine and sends its result to out.
// It either starts the next page (queueing that page's channel in order)
// or, on the last page or an error, closes order.
func (p *pullPipe) fetch(ctx context.Context, r request, out chan<- pageResult) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			close(p.order)
			out <- pageResult{err: ctx.Err()}
			return
		}
		chained := false
		next := func(h pageHead) error {
			if chained || h.done || h.next == "" {
				return nil
			}
			if !strings.HasPrefix(h.next, "/services/") {
				return newAPIError(0, CodeBadBody, "unexpected nextRecordsUrl "+h.next, nil)
			}
			ch := make(chan pageResult, 1)
			select {
			case p.order <- ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			chained = true
			p.fetch(ctx, request{method: http.MethodGet, path: h.next, header: p.hdr, object: p.object, retry: true, count: true}, ch)
			return nil
		}
		var res pageResult
		res.err = p.c.call(ctx, r, func(resp *http.Response) error {
			res.page = syncd.Page{}
			if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
				res.page.ServerTime = d.UTC()
			}
			buf := getPageBuf()
			defer putPageBuf(buf)
			var headErr error
			body, err := readPage(resp.Body, (*buf)[:0], func(h pageHead) { headErr = next(h) })
			*buf = body
			if err != nil {
				return err
			}
			if headErr != nil {
				return headErr
			}
			h, recs, err := p.dec.decode(body)
			if err != nil {
				return err
			}
			res.page.Records, res.page.TotalSize = recs, h.totalSize
			return next(h) // a head that came after the records
		})
		if !chained {
			close(p.order)
		}
		out <- res
	}()
}

// converter turns a query record into a RemoteRecord.
type converter struct {
	req syncd.PullRequest
	wm  string
	// lay is the layout of the records' Values, the request's fields in
	// order: field i is at index i unless a name repeats (byName).
	lay    *syncd.Layout
	byName bool
}

func newConverter(req syncd.PullRequest, wm string) *converter {
	lay := req.Layout()
	return &converter{req: req, wm: wm, lay: lay, byName: lay.Len() != len(req.Fields)}
}

// The members build reads, by index into converter.names: the system
// fields, then the request's fields from fieldsAt on.
const (
	atID = iota
	atIsDeleted
	atMasterRecordID
	atStamp
	atLastModified
	fieldsAt
)

// names are the members build asks for, by index: a decoder resolves each
// to where its records hold it once, not per record.
func (cv *converter) names() []string {
	return append([]string{"Id", "IsDeleted", "MasterRecordId", cv.wm, "LastModifiedDate"}, fieldNames(cv.req.Fields)...)
}

func (cv *converter) record(raw map[string]any) (syncd.RemoteRecord, error) {
	names := cv.names()
	return cv.build(func(i int) any { return lookup(raw, names[i]) }, nil)
}

// build makes a RemoteRecord from a record's wire values: get(i) returns
// the value of names()[i] as encoding/json (UseNumber) would decode it.
// Its Values come from fa (nil: allocated on their own).
func (cv *converter) build(get func(i int) any, fa *syncd.FieldsAlloc) (syncd.RemoteRecord, error) {
	var rec syncd.RemoteRecord
	id, _ := get(atID).(string)
	if id == "" {
		return rec, newAPIError(0, CodeBadBody, "query record without Id", nil)
	}
	rec.ID = id
	if b, ok := get(atIsDeleted).(bool); ok {
		rec.Deleted = b
	}
	if s, ok := get(atMasterRecordID).(string); ok && rec.Deleted {
		rec.MergedInto = s
	}
	var err error
	if rec.Stamp, err = wireTime(get(atStamp)); err != nil {
		return rec, badValue(cv.req.Object, id, cv.wm, err)
	}
	if cv.wm == "LastModifiedDate" {
		rec.LastModified = rec.Stamp // the same member: parsed once
	} else if rec.LastModified, err = wireTime(get(atLastModified)); err != nil {
		return rec, badValue(cv.req.Object, id, "LastModifiedDate", err)
	}
	if fa != nil {
		rec.Values = fa.New()
	} else {
		rec.Values = syncd.NewFields(cv.lay)
	}
	for i, f := range cv.req.Fields {
		v, err := FromWire(f.Kind, get(fieldsAt+i))
		if err != nil {
			return rec, badValue(cv.req.Object, id, f.Name, err)
		}
		if cv.byName {
			rec.Values.Set(f.Name, v)
		} else {
			rec.Values.SetAt(i, v)
		}
	}
	return rec, nil
}

func badValue(object, id, field string, err error) error {
	return newAPIError(0, "BAD_VALUE", fmt.Sprintf("%s %s field %s: %v", object, id, field, err), []string{field})
}

func wireTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok || s == "" {
		if v == nil {
			return time.Time{}, nil
		}
		return time.Time{}, fmt.Errorf("not a datetime: %v", v)
	}
	return syncd.ParseTime(s)
}

func fieldNames(fields []syncd.Field) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out
}

// lookup finds a field in a query record by API name, case-insensitively
// (SOQL names are case-insensitive), following "Parent.Field" paths through
// nested relationship objects (an empty lookup arrives as a null parent
// and gives nil).
func lookup(rec map[string]any, name string) any {
	head, rest, nested := strings.Cut(name, ".")
	v, ok := rec[head]
	if !ok {
		for k, x := range rec {
			if strings.EqualFold(k, head) {
				v, ok = x, true
				break
			}
		}
	}
	if !ok || !nested {
		return v
	}
	m, _ := v.(map[string]any)
	if m == nil {
		return nil
	}
	return lookup(m, rest)
}

// ---- query pages ----------------------------------------------------------

// pageHead is what a query response says besides its records.
type pageHead struct {
	totalSize int
	done      bool
	next      string // nextRecordsUrl
}

// pageBufs recycles the buffers query responses are read into (a page of
// 2,000 records is about a megabyte).
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}

func getPageBuf() *[]byte  { return pageBufs.Get().(*[]byte) }
func putPageBuf(b *[]byte) { pageBufs.Put(b) }

// readPage reads a query response body into buf. As soon as the page's
// head has arrived it calls onHead, once: Salesforce writes totalSize, done
// and nextRecordsUrl before the records, so the next request can go out
// while this body is still arriving. A head that follows the records is
// not reported here (decode finds it).
func readPage(body io.Reader, buf []byte, onHead func(pageHead)) ([]byte, error) {
	scanning := true
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if scanning && n > 0 {
			if h, state := scanHead(buf); state != headIncomplete {
				scanning = false
				if state == headKnown {
					onHead(h)
				}
			}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

const (
	headIncomplete = iota // more of the body is needed
	headKnown             // the head came before the records
	headLate              // the records come first: the head is known only at the end
)

// scanHead reads the members of a (possibly partial) query response that
// precede "records".
func scanHead(b []byte) (pageHead, int) {
	var h pageHead
	s := jsonScanner{b: b}
	if s.expect('{') != nil {
		return h, headLate // not a page: decode reports it
	}
	seenDone := false
	for {
		if !s.more() {
			return h, headIncomplete
		}
		if s.b[s.i] == '}' {
			return h, headLate
		}
		key, err := s.str()
		if err == nil {
			err = s.expect(':')
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				return h, headIncomplete
			}
			return h, headLate
		}
		if key == "records" {
			if seenDone && (h.done || h.next != "") {
				return h, headKnown
			}
			return h, headLate
		}
		if err := h.member(&s, key); err != nil {
			if err == io.ErrUnexpectedEOF {
				return h, headIncomplete
			}
			return h, headLate
		}
		seenDone = seenDone || key == "done"
		if err := s.next('}'); err != nil {
			if err == io.ErrUnexpectedEOF {
				return h, headIncomplete
			}
			return h, headLate
		}
	}
}

// member reads the value of a top-level member other than records, as
// encoding/json would into {totalSize int; done bool; nextRecordsUrl string}.
func (h *pageHead) member(s *jsonScanner, key string) error {
	switch key {
	case "totalSize", "done", "nextRecordsUrl":
	default:
		return s.skip()
	}
	v, err := s.value()
	if err != nil || v == nil {
		return err
	}
	bad := func() error { return fmt.Errorf("query response: %s is %v (%T)", key, v, v) }
	switch key {
	case "totalSize":
		n, ok := v.(json.Number)
		if !ok {
			return bad()
		}
		i, err := strconv.Atoi(string(n))
		if err != nil {
			return bad()
		}
		h.totalSize = i
	case "done":
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		h.done = b
	case "nextRecordsUrl":
		u, ok := v.(string)
		if !ok {
			return bad()
		}
		h.next = u
	}
	return nil
}

// pageDecoder decodes query response bodies straight into RemoteRecords.
// It reads each record's members once, keeping only the values the
// converter asks for, instead of building a map per record first; the
// values it keeps are exactly what encoding/json (UseNumber) would produce,
// so the conversion is the converter's, as for Bulk results.
type pageDecoder struct {
	conv  *converter
	hint  int            // records per page expected
	slots map[string]int // member name -> slot
	heads []string       // slot -> member name, for case-insensitive matches
	refs  []fieldRef     // by index into conv.names()
}

// fieldRef locates a field the converter asks for: the record member that
// holds it and, for "Parent.Field", the path inside that member.
type fieldRef struct {
	slot int
	rest string
}

func newPageDecoder(conv *converter, hint int) *pageDecoder {
	d := &pageDecoder{conv: conv, hint: hint, slots: map[string]int{}}
	for _, name := range conv.names() {
		head, rest, _ := strings.Cut(name, ".")
		slot, ok := d.slots[head]
		if !ok {
			slot = len(d.heads)
			d.slots[head] = slot
			d.heads = append(d.heads, head)
		}
		d.refs = append(d.refs, fieldRef{slot: slot, rest: rest})
	}
	return d
}

// decode parses a whole query response.
func (d *pageDecoder) decode(b []byte) (pageHead, []syncd.RemoteRecord, error) {
	var h pageHead
	var recs []syncd.RemoteRecord
	s := jsonScanner{b: b}
	if err := s.expect('{'); err != nil {
		return h, nil, err
	}
	if s.ws(); s.more() && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			key, err := s.str()
			if err == nil {
				err = s.expect(':')
			}
			if err == nil {
				if key == "records" {
					recs, err = d.records(&s)
				} else {
					err = h.member(&s, key)
				}
			}
			if err == nil {
				err = s.next('}')
			}
			if err == errEnd {
				break
			}
			if err != nil {
				return h, nil, err
			}
		}
	}
	if s.ws(); s.more() {
		return h, nil, s.syntax("after the response")
	}
	return h, recs, nil
}

func (d *pageDecoder) records(s *jsonScanner) ([]syncd.RemoteRecord, error) {
	// A record takes well over 128 bytes: no more room than that is made.
	size := min(d.hint, (len(s.b)-s.i)/128+1)
	if s.ws(); s.more() && s.b[s.i] == 'n' {
		_, err := s.value() // null: no records
		return nil, err
	}
	if err := s.expect('['); err != nil {
		return nil, err
	}
	recs := make([]syncd.RemoteRecord, 0, size)
	if s.ws(); s.more() && s.b[s.i] == ']' {
		s.i++
		return recs, nil
	}
	vals := make([]any, len(d.heads))
	exact := make([]bool, len(d.heads))
	// The records' Values, a few dozen to an allocation: not more, as the
	// page's size is only guessed.
	fa := syncd.MakeFieldsAlloc(d.conv.lay, min(size, 64))
	var guess []memberSlot // this page's: pages may be decoded at once
	get := func(i int) any {
		ref := d.refs[i]
		v := vals[ref.slot]
		if ref.rest == "" {
			return v
		}
		m, _ := v.(map[string]any)
		if m == nil {
			return nil
		}
		return lookup(m, ref.rest)
	}
	for {
		clear(vals)
		clear(exact)
		if err := d.record(s, vals, exact, &guess); err != nil {
			return nil, err
		}
		rec, err := d.conv.build(get, &fa)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
		if err := s.next(']'); err == errEnd {
			return recs, nil
		} else if err != nil {
			return nil, err
		}
	}
}

var attributesKey = []byte("attributes")

// memberSlot is the slot of the member a record had at some position.
type memberSlot struct {
	name  string
	slot  int
	exact bool
}

// record reads one record object, keeping the members d has slots for.
// An exact name wins over a case-insensitive match (lookup's rule). The
// records of a query hold their members in one order: guess holds the
// previous record's, by position, so that a member is found by comparing
// its name with the one guessed rather than by hashing it (a map lookup
// per member was 3% of a pull of updates' CPU).
func (d *pageDecoder) record(s *jsonScanner, vals []any, exact []bool, guess *[]memberSlot) error {
	if s.ws(); s.more() && s.b[s.i] != '{' {
		return newAPIError(0, CodeBadBody, "query record is not an object", nil)
	}
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.ws(); s.more() && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for k := 0; ; k++ {
		raw, escaped, err := s.rawStr()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		slot, isExact := -1, false
		name := raw[1 : len(raw)-1]
		switch {
		case !escaped && k < len(*guess) && (*guess)[k].name == string(name):
			slot, isExact = (*guess)[k].slot, (*guess)[k].exact
		case escaped:
			var key string
			if err := json.Unmarshal(raw, &key); err != nil {
				return err
			}
			slot, isExact = d.match(key)
		case bytes.Equal(name, attributesKey):
		default:
			if i, ok := d.slots[string(name)]; ok {
				slot, isExact = i, true
			} else {
				slot, isExact = d.match(string(name))
			}
		}
		if !escaped && (k >= len(*guess) || (*guess)[k].name != string(name)) {
			g := memberSlot{name: string(name), slot: slot, exact: isExact}
			if k < len(*guess) {
				(*guess)[k] = g
			} else {
				*guess = append(*guess, g)
			}
		}
		if slot >= 0 && (isExact || !exact[slot]) {
			v, err := s.value()
			if err != nil {
				return err
			}
			vals[slot], exact[slot] = v, isExact
		} else if err := s.skip(); err != nil {
			return err
		}
		if err := s.next('}'); err == errEnd {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// match finds the slot of a member name, exactly or else ignoring case.
func (d *pageDecoder) match(key string) (int, bool) {
	if i, ok := d.slots[key]; ok {
		return i, true
	}
	for i, h := range d.heads {
		if strings.EqualFold(h, key) {
			return i, false
		}
	}
	return -1, false
}

// jsonScanner reads JSON from a byte slice, one token at a time.
type jsonScanner struct {
	b     []byte
	i     int
	stack []byte
}

// errEnd is returned by next at the closing bracket.
var errEnd = errors.New("end")

func (s *jsonScanner) more() bool { return s.i < len(s.b) }

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) syntax(where string) error {
	return fmt.Errorf("query response: invalid JSON at offset %d (%s)", s.i, where)
}

func (s *jsonScanner) expect(c byte) error {
	if s.ws(); !s.more() {
		return io.ErrUnexpectedEOF
	}
	if s.b[s.i] != c {
		return s.syntax("expected " + string(c))
	}
	s.i++
	return nil
}

// next consumes the ',' between members or elements, or the closing
// bracket (then errEnd).
func (s *jsonScanner) next(closing byte) error {
	if s.ws(); !s.more() {
		return io.ErrUnexpectedEOF
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return nil
	case closing:
		s.i++
		return errEnd
	}
	return s.syntax("expected , or " + string(closing))
}

// rawStr reads a string token and returns it with its quotes; escaped
// says whether it has escapes or bytes that are not valid UTF-8 (then
// only encoding/json may decode it).
func (s *jsonScanner) rawStr() (raw []byte, escaped bool, err error) {
	if s.ws(); !s.more() {
		return nil, false, io.ErrUnexpectedEOF
	}
	if s.b[s.i] != '"' {
		return nil, false, s.syntax("expected a string")
	}
	start, high := s.i, false
	for j := start + 1; j < len(s.b); j++ {
		for j+8 <= len(s.b) {
			if m := stops8(binary.LittleEndian.Uint64(s.b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) / 8
				break
			}
			j += 8
		}
		if j == len(s.b) {
			break
		}
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			if high && !escaped && !utf8.Valid(s.b[start+1:j]) {
				escaped = true
			}
			return s.b[start : j+1], escaped, nil
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			s.i = j
			return nil, false, s.syntax("control character in a string")
		case c >= 0x80:
			high = true
		}
	}
	return nil, false, io.ErrUnexpectedEOF
}

// stops8 finds, in eight bytes of a string (little-endian in x), those
// rawStr stops at: a quote, a backslash, a control character or a byte of
// multi-byte UTF-8. The lowest set bit of the result is the high bit of
// the first such byte (bits above it may be set wrongly by borrows); 0 for
// none. rawStr passes over the rest eight bytes at a time, not one: the
// strings are most of a page, and their scan byte by byte was a twentieth
// of a pull of updates' instructions.
func stops8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs } // a zero byte's high bit set
	return (x-0x20*ones)&^x&highs | x&highs | zero(x^'"'*ones) | zero(x^'\\'*ones)
}

func (s *jsonScanner) str() (string, error) {
	raw, escaped, err := s.rawStr()
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var out string
	err = json.Unmarshal(raw, &out)
	return out, err
}

// value reads any value as encoding/json with UseNumber decodes it into
// an any: string, json.Number, bool, nil, map[string]any or []any.
func (s *jsonScanner) value() (any, error) {
	if s.ws(); !s.more() {
		return nil, io.ErrUnexpectedEOF
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.str()
	case '{', '[':
		start := s.i
		if err := s.skip(); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(s.b[start:s.i]))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	case 't', 'f', 'n':
		for _, lit := range [...]struct {
			text string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if lit.text[0] != c {
				continue
			}
			if len(s.b)-s.i < len(lit.text) {
				if string(s.b[s.i:]) == lit.text[:len(s.b)-s.i] {
					return nil, io.ErrUnexpectedEOF
				}
			} else if string(s.b[s.i:s.i+len(lit.text)]) == lit.text {
				s.i += len(lit.text)
				return lit.v, nil
			}
		}
		return nil, s.syntax("bad literal")
	}
	start := s.i
	for s.i < len(s.b) && strings.IndexByte("0123456789+-.eE", s.b[s.i]) >= 0 {
		s.i++
	}
	if s.i == len(s.b) {
		return nil, io.ErrUnexpectedEOF
	}
	if !validNumber(s.b[start:s.i]) {
		return nil, s.syntax("bad number")
	}
	return json.Number(s.b[start:s.i]), nil
}

// skip reads past one value of any kind. Nested objects and arrays are
// checked for balance and string syntax only; what is kept goes through
// value, which checks it all.
func (s *jsonScanner) skip() error {
	if s.ws(); !s.more() {
		return io.ErrUnexpectedEOF
	}
	switch s.b[s.i] {
	case '{', '[':
	default:
		_, err := s.value()
		return err
	}
	s.stack = s.stack[:0]
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '"':
			if _, _, err := s.rawStr(); err != nil {
				return err
			}
			continue
		case '{':
			s.stack = append(s.stack, '}')
		case '[':
			s.stack = append(s.stack, ']')
		case '}', ']':
			if len(s.stack) == 0 || s.stack[len(s.stack)-1] != c {
				return s.syntax("unbalanced " + string(c))
			}
			s.stack = s.stack[:len(s.stack)-1]
			if len(s.stack) == 0 {
				s.i++
				return nil
			}
		}
		s.i++
	}
	return io.ErrUnexpectedEOF
}

// validNumber checks the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// Query runs a SOQL query (built with this package's literal builder) and
// streams the raw records of each page to fn, following nextRecordsUrl.
// Numbers arrive as json.Number. object attributes the calls.
func (c *Client) Query(ctx context.Context, object, soql string, all bool, fn func(records []map[string]any) error) error {
	endpoint := "query"
	if all {
		endpoint = "queryAll"
	}
	r := request{method: http.MethodGet, path: endpoint, query: url.Values{"q": {soql}}, object: object, retry: true, count: true}
	for {
		var (
			recs []map[string]any
			next string
		)
		err := c.call(ctx, r, func(resp *http.Response) error {
			dec := json.NewDecoder(resp.Body)
			dec.UseNumber()
			var w struct {
				Done           bool             `json:"done"`
				NextRecordsURL string           `json:"nextRecordsUrl"`
				Records        []map[string]any `json:"records"`
			}
			if err := dec.Decode(&w); err != nil {
				return err
			}
			recs, next = w.Records, ""
			if !w.Done {
				next = w.NextRecordsURL
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		if err := fn(recs); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		r = request{method: http.MethodGet, path: next, object: object, retry: true, count: true}
	}
}
