package sf

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// DefaultWatermark is used when a PullRequest names none.
const DefaultWatermark = "SystemModstamp"

// PullQuery builds the SOQL of a pull:
//
//	SELECT <fields>, Id, <wm>, LastModifiedDate[, IsDeleted] FROM <Object>
//	[WHERE (<wm> > t OR (<wm> = t AND Id > 'id'))]  -- or <wm> >= t without an Id
//	ORDER BY <wm> ASC, Id ASC
//
// The (watermark, Id) keyset neither skips nor re-reads records that share
// a second (pitfalls 1 and 4). Every name goes through Ident and every value
// through the literal builder.
func PullQuery(req syncd.PullRequest) (string, error) {
	obj, err := Ident(req.Object)
	if err != nil {
		return "", err
	}
	wm := req.WatermarkField
	if wm == "" {
		wm = DefaultWatermark
	}
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
		if err := add(f); err != nil {
			return "", err
		}
	}
	extra := []string{"Id", wm, "LastModifiedDate"}
	if req.IncludeDeleted {
		extra = append(extra, "IsDeleted")
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
	if !req.After.Time.IsZero() {
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

// queryPage is one decoded page of a query.
type queryPage struct {
	page syncd.Page
	next string
	err  error
}

// Pull streams the records changed after req.After to fn, page by page,
// following nextRecordsUrl (§5.1). While fn applies a page the next one is
// fetched in the background, so at most two pages are held. A session that
// expires mid-paging is refreshed and the same nextRecordsUrl continues;
// INVALID_QUERY_LOCATOR (cursor expired) is returned as a transient error
// and the caller restarts from its committed cursor.
func (c *Client) Pull(ctx context.Context, req syncd.PullRequest, fn func(syncd.Page) error) error {
	soql, err := PullQuery(req)
	if err != nil {
		return fmt.Errorf("pull %s: %w", req.Object, newAPIError(0, "INVALID_FIELD", err.Error(), nil))
	}
	wm := req.WatermarkField
	if wm == "" {
		wm = DefaultWatermark
	}
	batch := req.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	batch = max(200, min(batch, 2000)) // §5.2
	endpoint := "query"
	if req.IncludeDeleted {
		endpoint = "queryAll"
	}
	hdr := http.Header{"Sforce-Query-Options": {fmt.Sprintf("batchSize=%d", batch)}}
	conv := &converter{req: req, wm: wm}

	fetch := func(ctx context.Context, r request) queryPage {
		var qp queryPage
		err := c.call(ctx, r, func(resp *http.Response) error {
			qp = queryPage{}
			dec := json.NewDecoder(resp.Body)
			dec.UseNumber()
			var w struct {
				TotalSize      int              `json:"totalSize"`
				Done           bool             `json:"done"`
				NextRecordsURL string           `json:"nextRecordsUrl"`
				Records        []map[string]any `json:"records"`
			}
			if err := dec.Decode(&w); err != nil {
				return err
			}
			qp.page.TotalSize = w.TotalSize
			recs := make([]syncd.RemoteRecord, 0, len(w.Records))
			for i, raw := range w.Records {
				rec, err := conv.record(raw)
				if err != nil {
					return err
				}
				recs = append(recs, rec)
				w.Records[i] = nil
			}
			qp.page.Records = recs
			if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
				qp.page.ServerTime = d.UTC()
			}
			if !w.Done {
				qp.next = w.NextRecordsURL
			}
			return nil
		})
		qp.err = err
		return qp
	}

	first := request{method: http.MethodGet, path: endpoint, query: url.Values{"q": {soql}},
		header: hdr, object: req.Object, retry: true, count: true}
	cur := fetch(ctx, first)
	for {
		if cur.err != nil {
			return fmt.Errorf("pull %s: %w", req.Object, cur.err)
		}
		var (
			nextCh chan queryPage
			cancel context.CancelFunc = func() {}
		)
		if cur.next != "" {
			if !strings.HasPrefix(cur.next, "/services/") {
				return fmt.Errorf("pull %s: %w", req.Object,
					newAPIError(0, CodeBadBody, "unexpected nextRecordsUrl "+cur.next, nil))
			}
			var pctx context.Context
			pctx, cancel = context.WithCancel(ctx)
			nextCh = make(chan queryPage, 1)
			r := request{method: http.MethodGet, path: cur.next, header: hdr, object: req.Object, retry: true, count: true}
			go func() { nextCh <- fetch(pctx, r) }()
		}
		err := fn(cur.page)
		cur.page = syncd.Page{} // let the applied page go
		if err != nil {
			cancel()
			if nextCh != nil {
				<-nextCh
			}
			return err
		}
		if nextCh == nil {
			cancel()
			return nil
		}
		cur = <-nextCh
		cancel()
	}
}

// converter turns a query record into a RemoteRecord.
type converter struct {
	req syncd.PullRequest
	wm  string
}

func (cv *converter) record(raw map[string]any) (syncd.RemoteRecord, error) {
	var rec syncd.RemoteRecord
	id, _ := lookup(raw, "Id").(string)
	if id == "" {
		return rec, newAPIError(0, CodeBadBody, "query record without Id", nil)
	}
	rec.ID = id
	if b, ok := lookup(raw, "IsDeleted").(bool); ok {
		rec.Deleted = b
	}
	var err error
	if rec.Stamp, err = wireTime(lookup(raw, cv.wm)); err != nil {
		return rec, badValue(cv.req.Object, id, cv.wm, err)
	}
	if rec.LastModified, err = wireTime(lookup(raw, "LastModifiedDate")); err != nil {
		return rec, badValue(cv.req.Object, id, "LastModifiedDate", err)
	}
	rec.Values = make(map[string]syncd.Value, len(cv.req.Fields))
	for _, f := range cv.req.Fields {
		v, err := syncd.FromWire(cv.req.Types[f], lookup(raw, f))
		if err != nil {
			return rec, badValue(cv.req.Object, id, f, err)
		}
		rec.Values[f] = v
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

// lookup finds a field in a query record by API name, case-insensitively
// (SOQL names are case-insensitive), following "Parent.Field" paths through
// nested relationship objects (§5.3; a null parent gives nil).
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
			return fmt.Errorf("query %s: %w", object, err)
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
