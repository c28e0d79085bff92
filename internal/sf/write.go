package sf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// saveResult is one element of an sObject Collections response. Errors
// inside use statusCode, not errorCode as REST error bodies do ("Create
// Records Using sObject Collections", REST API Developer Guide).
type saveResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Created *bool       `json:"created"`
	Errors  []wireError `json:"errors"`
}

func (r saveResult) result(created bool) syncd.WriteResult {
	if r.Success {
		if r.Created != nil {
			created = *r.Created
		}
		return syncd.WriteResult{ID: r.ID, Created: created}
	}
	if len(r.Errors) == 0 {
		return syncd.WriteResult{ID: r.ID, Err: recordError("UNKNOWN_ERROR", "record failed without an error", nil)}
	}
	e := r.Errors[0]
	code := e.StatusCode
	if code == "" {
		code = e.ErrorCode
	}
	msg := e.Message
	for _, more := range r.Errors[1:] {
		msg += "; " + more.StatusCode + more.ErrorCode + ": " + more.Message
	}
	return syncd.WriteResult{ID: r.ID, Err: recordError(code, msg, e.Fields)}
}

// wireRecord builds one record's JSON object: attributes.type, then the
// fields converted with toWire. A nil value stays nil, sent as JSON null,
// which clears the field.
func wireRecord(object string, fields map[string]syncd.Value, kinds map[string]syncd.Kind) map[string]any {
	m := make(map[string]any, len(fields)+2)
	m["attributes"] = map[string]string{"type": object}
	for k, v := range fields {
		if strings.EqualFold(k, "Id") || k == "attributes" {
			continue
		}
		m[k] = toWire(kinds[k], v)
	}
	return m
}

// WriteBatch is how many records a write call takes for a push of w's
// size: an sObject Collections request (200), or a Bulk API 2.0 ingest job
// when the push is larger than w.BulkThreshold.
func (c *Client) WriteBatch(w syncd.WriteRequest) int {
	if c.bulkFor(w) {
		return c.bulkOptions().JobRecords
	}
	return MaxCollection
}

// bulkFor reports whether a push goes through Bulk API 2.0.
func (c *Client) bulkFor(w syncd.WriteRequest) bool {
	if w.BulkThreshold <= 0 || w.Backlog <= w.BulkThreshold {
		return false
	}
	_, refused := c.bulkRefused.Load(w.Object)
	return !refused
}

// viaBulk runs a write through Bulk API 2.0 and, if Salesforce refuses the
// job itself (a permanent error: an object the Bulk API does not support,
// the feature turned off), sends the records the job did not take over REST
// instead, and every later write of the object for this client's life.
func (c *Client) viaBulk(ctx context.Context, object string, n int, bulk, rest func(idx []int) ([]syncd.WriteResult, error)) ([]syncd.WriteResult, error) {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	res, err := bulk(all)
	if err == nil || !errors.Is(err, syncd.ErrPermanent) || ctx.Err() != nil {
		return res, err
	}
	c.log.Warn("Bulk API 2.0 refused the ingest job; writing over REST", "object", object, "err", err)
	c.bulkRefused.Store(object, true)
	var left []int
	for i, r := range res {
		if r.Err != nil && errors.Is(err, r.Err) {
			left = append(left, i)
		}
	}
	more, err := rest(left)
	for k, i := range left {
		res[i] = more[k]
	}
	return res, err
}

// pick returns the records at idx.
func pick[T any](all []T, idx []int) []T {
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = all[i]
	}
	return out
}

// Upsert writes records by external id, through Bulk API 2.0 when w is a
// large push (WriteBatch), else through sObject Collections.
func (c *Client) Upsert(ctx context.Context, w syncd.WriteRequest, recs []syncd.Outgoing) ([]syncd.WriteResult, error) {
	kinds := kinds(w.Fields)
	rest := func(idx []int) ([]syncd.WriteResult, error) {
		return c.upsertREST(ctx, w.Object, w.ExternalIDField, pick(recs, idx), kinds)
	}
	if !c.bulkFor(w) {
		return c.upsertREST(ctx, w.Object, w.ExternalIDField, recs, kinds)
	}
	return c.viaBulk(ctx, w.Object, len(recs), func(idx []int) ([]syncd.WriteResult, error) {
		return c.bulkUpsert(ctx, w.Object, w.ExternalIDField, pick(recs, idx), kinds)
	}, rest)
}

// Update writes records by Salesforce Id. Through Bulk API 2.0 it is an
// upsert keyed on Id, which only ever updates.
//
// A record that is gone (deleted or merged away, or never existed) fails
// with syncd.ErrRecordGone. With w.Conditional each update is a Composite
// subrequest carrying If-Unmodified-Since, and a record modified after it
// fails with syncd.ErrRecordChanged; a push larger than w.BulkThreshold
// goes through Bulk API 2.0 instead, which has no conditional writes.
func (c *Client) Update(ctx context.Context, w syncd.WriteRequest, recs []syncd.Outgoing) ([]syncd.WriteResult, error) {
	kinds := kinds(w.Fields)
	rest := func(idx []int) ([]syncd.WriteResult, error) {
		return c.updateREST(ctx, w.Object, pick(recs, idx), kinds)
	}
	var res []syncd.WriteResult
	var err error
	switch {
	case w.Conditional && !c.bulkFor(w):
		res, err = c.updateConditional(ctx, w.Object, recs, kinds)
	case !c.bulkFor(w):
		res, err = c.updateREST(ctx, w.Object, recs, kinds)
	default:
		res, err = c.viaBulk(ctx, w.Object, len(recs), func(idx []int) ([]syncd.WriteResult, error) {
			byID := pick(recs, idx)
			for i := range byID {
				byID[i].ExternalID = byID[i].ID
			}
			return c.bulkUpsert(ctx, w.Object, "Id", byID, kinds)
		}, rest)
	}
	for i := range res {
		res[i].Err = goneOrChanged(res[i].Err)
	}
	return res, err
}

// goneOrChanged reclassifies the per-record errors of an update by Id that
// say the record is not there to update: ENTITY_IS_DELETED (deleted or
// merged away; in the recycle bin), NOT_FOUND and, in sObject
// Collections, INVALID_CROSS_REFERENCE_KEY without a field (an Id that
// names no record) - and the 412 of a conditional write.
func goneOrChanged(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Status == http.StatusPreconditionFailed || ae.Code == "PRECONDITION_FAILED":
		c := *ae
		c.class = syncd.ErrRecordChanged
		return &c
	case len(ae.Fields) == 0 && (ae.Code == "ENTITY_IS_DELETED" || ae.Code == "NOT_FOUND" || ae.Code == "INVALID_CROSS_REFERENCE_KEY"):
		c := *ae
		c.class = syncd.ErrRecordGone
		return &c
	}
	return err
}

// maxComposite is the number of subrequests one Composite request takes
// ("Composite", REST API Developer Guide: "You can have up to 25
// subrequests in a single call").
const maxComposite = 25

// compositeResult is one element of a Composite response's
// compositeResponse.
type compositeResult struct {
	Body           json.RawMessage `json:"body"`
	HTTPStatusCode int             `json:"httpStatusCode"`
	ReferenceID    string          `json:"referenceId"`
}

// updateConditional updates records by Id, each as a PATCH subrequest of
// POST /composite with its If-Unmodified-Since header, 25 a call,
// allOrNone false ("Conditional Request Headers" and "Composite", REST API
// Developer Guide). A subrequest answers 204, 412 when the record was
// modified after the date (whole seconds), or the error body of a failed
// update.
func (c *Client) updateConditional(ctx context.Context, object string, recs []syncd.Outgoing, kinds map[string]syncd.Kind) ([]syncd.WriteResult, error) {
	if err := checkIdents(object); err != nil {
		return nil, err
	}
	out := make([]syncd.WriteResult, len(recs))
	for lo := 0; lo < len(recs); lo += maxComposite {
		hi := min(lo+maxComposite, len(recs))
		subs := make([]map[string]any, 0, hi-lo)
		for i := lo; i < hi; i++ {
			body := wireRecord(object, recs[i].Fields, kinds)
			delete(body, "attributes")
			sub := map[string]any{"method": http.MethodPatch, "referenceId": fmt.Sprintf("r%d", i-lo),
				"url": c.base() + "sobjects/" + object + "/" + url.PathEscape(recs[i].ID), "body": body}
			if t := recs[i].IfUnmodifiedSince; !t.IsZero() {
				sub["httpHeaders"] = map[string]string{"If-Unmodified-Since": t.UTC().Format(http.TimeFormat)}
			}
			subs = append(subs, sub)
		}
		var resp struct {
			CompositeResponse []compositeResult `json:"compositeResponse"`
		}
		err := c.withinBudget()
		if err == nil {
			// A repeated PATCH by Id is idempotent, so the call may be retried.
			err = c.call(ctx, request{method: http.MethodPost, path: "composite", object: object, retry: true, count: true,
				body: map[string]any{"allOrNone": false, "compositeRequest": subs}},
				func(r *http.Response) error { return json.NewDecoder(r.Body).Decode(&resp) })
		}
		if err == nil && len(resp.CompositeResponse) != hi-lo {
			err = newAPIError(0, CodeBadBody, fmt.Sprintf("%d composite results for %d subrequests", len(resp.CompositeResponse), hi-lo), nil)
		}
		if err != nil {
			for i := lo; i < len(recs); i++ {
				out[i] = syncd.WriteResult{Err: err}
			}
			return out, fmt.Errorf("update %d records: %w", len(recs), err)
		}
		for k, r := range resp.CompositeResponse {
			i := lo + k
			switch {
			case r.HTTPStatusCode >= 200 && r.HTTPStatusCode < 300:
				out[i] = syncd.WriteResult{ID: recs[i].ID}
			case r.HTTPStatusCode == http.StatusPreconditionFailed:
				out[i] = syncd.WriteResult{ID: recs[i].ID, Err: newAPIError(r.HTTPStatusCode, "PRECONDITION_FAILED",
					"the record changed in Salesforce since syncd read it", nil)}
			default:
				e := parseErrorBody(r.HTTPStatusCode, "application/json", r.Body)
				out[i] = syncd.WriteResult{ID: recs[i].ID, Err: e}
			}
		}
	}
	return out, nil
}

// upsertREST writes records by external id: PATCH
// /composite/sobjects/{O}/{ExtField} with allOrNone=false (API v46.0 and
// later), in chunks of 200. Results are in input order; Created comes from
// the created flag, never from the presence of an id: updates carry an id
// too, and a create retried after a lost response comes back as an update
// (github.com/forcedotcom/SalesforceMobileSDK-iOS/issues/3093).
func (c *Client) upsertREST(ctx context.Context, object, externalIDField string, recs []syncd.Outgoing, kinds map[string]syncd.Kind) ([]syncd.WriteResult, error) {
	if err := checkIdents(object); err != nil {
		return nil, err
	}
	if err := checkIdents(externalIDField); err != nil {
		return nil, err
	}
	return c.saveRecords(ctx, object, "composite/sobjects/"+object+"/"+externalIDField, false, recs, kinds,
		func(m map[string]any, r syncd.Outgoing) {
			if r.ExternalID != "" {
				m[externalIDField] = r.ExternalID
			}
		})
}

// updateREST writes records by Salesforce Id: PATCH /composite/sobjects.
func (c *Client) updateREST(ctx context.Context, object string, recs []syncd.Outgoing, kinds map[string]syncd.Kind) ([]syncd.WriteResult, error) {
	if err := checkIdents(object); err != nil {
		return nil, err
	}
	return c.saveRecords(ctx, object, "composite/sobjects", false, recs, kinds,
		func(m map[string]any, r syncd.Outgoing) { m["id"] = r.ID })
}

// Create inserts records: POST /composite/sobjects. A create is not
// idempotent, so a request that may have reached Salesforce is never
// repeated; only records Salesforce reports as not saved for a transient
// reason (UNABLE_TO_LOCK_ROW) are sent again.
func (c *Client) Create(ctx context.Context, object string, recs []syncd.Outgoing, kinds map[string]syncd.Kind) ([]syncd.WriteResult, error) {
	if err := checkIdents(object); err != nil {
		return nil, err
	}
	return c.saveRecords(ctx, object, "composite/sobjects", true, recs, kinds, nil)
}

// saveRecords sends recs through sObject Collections at path with
// allOrNone=false: each record's mapped fields, plus what identify adds
// (its Id or external id; nil for none). A create is a POST whose request
// is never repeated, since one that reached Salesforce would create the
// records twice; an update or upsert is an idempotent PATCH, repeated on a
// transient failure. Either way collection sends again the records
// Salesforce reports unsaved for a transient reason.
func (c *Client) saveRecords(ctx context.Context, object, path string, create bool, recs []syncd.Outgoing,
	kinds map[string]syncd.Kind, identify func(m map[string]any, r syncd.Outgoing)) ([]syncd.WriteResult, error) {
	method := http.MethodPatch
	if create {
		method = http.MethodPost
	}
	return c.collection(ctx, object, len(recs), func(idx []int) request {
		records := make([]map[string]any, len(idx))
		for i, j := range idx {
			m := wireRecord(object, recs[j].Fields, kinds)
			if identify != nil {
				identify(m, recs[j])
			}
			records[i] = m
		}
		return request{method: method, path: path, object: object, retry: !create, count: true,
			body: map[string]any{"allOrNone": false, "records": records}}
	}, create)
}

// Delete deletes records by Id: DELETE /composite/sobjects?ids=…&allOrNone=false.
// A record that is already deleted (ENTITY_IS_DELETED, e.g. when a
// retried request had in fact gone through) counts as deleted: the result
// has its ID and no error. So does one that is gone for good (hard-deleted
// or emptied from the recycle bin), which Collections answer with
// INVALID_CROSS_REFERENCE_KEY without a field, as for an update
// (goneOrChanged): the delete wanted it gone, and it is.
func (c *Client) Delete(ctx context.Context, w syncd.WriteRequest, ids []string) ([]syncd.WriteResult, error) {
	object := w.Object
	if err := checkIdents(object); err != nil {
		return nil, err
	}
	res, err := c.collection(ctx, object, len(ids), func(idx []int) request {
		sel := make([]string, len(idx))
		for i, j := range idx {
			sel[i] = ids[j]
		}
		return request{method: http.MethodDelete, path: "composite/sobjects", object: object, retry: true, count: true,
			query: url.Values{"ids": {strings.Join(sel, ",")}, "allOrNone": {"false"}}}
	}, false)
	for i := range res {
		if errors.Is(goneOrChanged(res[i].Err), syncd.ErrRecordGone) {
			res[i] = syncd.WriteResult{ID: ids[i]}
		}
	}
	return res, err
}

// collection sends n records in chunks of MaxCollection and maps the
// per-record results back in input order. Records that failed for a
// transient, retryable reason (UNABLE_TO_LOCK_ROW) are sent again, alone,
// with backoff, up to MaxAttempts. With allOrNone=false a failed record was
// not saved, so this is safe even for creates.
//
// On a request-level error the returned slice still has one entry per
// input: records not written carry that error, and it is returned too.
func (c *Client) collection(ctx context.Context, object string, n int, build func(idx []int) request, created bool) ([]syncd.WriteResult, error) {
	out := make([]syncd.WriteResult, n)
	for lo := 0; lo < n; lo += MaxCollection {
		hi := min(lo+MaxCollection, n)
		idx := make([]int, 0, hi-lo)
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		for attempt := 1; len(idx) > 0; attempt++ {
			err := c.withinBudget()
			var res []syncd.WriteResult
			if err == nil {
				res, err = c.sendCollection(ctx, build(idx), len(idx), created)
			}
			if err != nil {
				for _, j := range idx {
					out[j] = syncd.WriteResult{Err: err}
				}
				for i := hi; i < n; i++ {
					out[i] = syncd.WriteResult{Err: err}
				}
				return out, fmt.Errorf("write %d records: %w", n, err)
			}
			var again []int
			for k, j := range idx {
				out[j] = res[k]
				if res[k].Err != nil && isRetryable(res[k].Err) && attempt < c.cfg.MaxAttempts {
					again = append(again, j)
				}
			}
			idx = again
			if len(idx) > 0 {
				wait := c.backoff(attempt, &APIError{})
				c.log.Debug("salesforce records locked; retrying them", "object", object, "records", len(idx), "wait", wait)
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return out, ctx.Err()
				}
			}
		}
	}
	return out, nil
}

func (c *Client) sendCollection(ctx context.Context, r request, n int, created bool) ([]syncd.WriteResult, error) {
	var results []saveResult
	err := c.call(ctx, r, func(resp *http.Response) error {
		results = nil
		return json.NewDecoder(resp.Body).Decode(&results)
	})
	if err != nil {
		return nil, err
	}
	if len(results) != n {
		return nil, newAPIError(0, CodeBadBody, fmt.Sprintf("%d results for %d records", len(results), n), nil)
	}
	out := make([]syncd.WriteResult, n)
	for i, r := range results {
		out[i] = r.result(created)
	}
	return out, nil
}

// UpsertOne upserts a single record by external id: PATCH
// /sobjects/{O}/{ExtField}/{value}. 201 is created; 200 (v46+, with a
// body) and 204 (older versions, no body, so no id) are updates
// (developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html;
// the v46 change: github.com/wadewegner/Force.com-Toolkit-for-NET/issues/407); 300
// (several records match) is a permanent error listing the matches.
func (c *Client) UpsertOne(ctx context.Context, object, externalIDField, externalID string, fields map[string]syncd.Value, kinds map[string]syncd.Kind) (syncd.WriteResult, error) {
	if err := checkIdents(object, externalIDField); err != nil {
		return syncd.WriteResult{}, err
	}
	body := wireRecord(object, fields, kinds)
	delete(body, "attributes")
	for k := range body {
		if strings.EqualFold(k, externalIDField) {
			delete(body, k) // the key travels in the URL (jsforce _upsertParallel)
		}
	}
	r := request{method: http.MethodPatch, object: object, retry: true, count: true, body: body,
		path: "sobjects/" + object + "/" + externalIDField + "/" + url.PathEscape(externalID)}
	var res syncd.WriteResult
	err := c.call(ctx, r, func(resp *http.Response) error {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return err
		}
		switch resp.StatusCode {
		case http.StatusMultipleChoices:
			var urls []string
			_ = json.Unmarshal(b, &urls)
			return newAPIError(300, CodeMultiple,
				fmt.Sprintf("%d %s records have %s = %q: %s", len(urls), object, externalIDField, externalID, strings.Join(urls, ", ")),
				[]string{externalIDField})
		case http.StatusNoContent:
			res = syncd.WriteResult{Created: false}
			return nil
		}
		var sr saveResult
		if len(b) > 0 {
			if err := json.Unmarshal(b, &sr); err != nil {
				return newAPIError(resp.StatusCode, CodeBadBody, snippet(b), nil)
			}
		}
		created := resp.StatusCode == http.StatusCreated
		if sr.Created != nil {
			created = *sr.Created
		}
		res = syncd.WriteResult{ID: sr.ID, Created: created}
		return nil
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return syncd.WriteResult{Err: ae}, fmt.Errorf("upsert %s=%s: %w", externalIDField, externalID, err)
		}
		return syncd.WriteResult{Err: err}, err
	}
	return res, nil
}

// withinBudget refuses a write once the org's API usage (Sforce-Limit-Info)
// has reached Config.APIBudget, so that syncd leaves the rest of the daily
// allocation to the org's other integrations.
func (c *Client) withinBudget() error {
	if c.cfg.APIBudget == nil {
		return nil
	}
	u := c.Usage()
	if u.Limit <= 0 {
		return nil // not known yet
	}
	if stop := c.cfg.APIBudget(u.Limit); u.Used >= stop {
		return &APIError{Code: "API_BUDGET", class: syncd.ErrLimit,
			Message: fmt.Sprintf("API budget reached: %d of %d daily calls used; writes stop at %d", u.Used, u.Limit, stop)}
	}
	return nil
}

// checkIdents validates API names; a bad one is a configuration error,
// classified permanent.
func checkIdents(names ...string) error {
	for _, n := range names {
		if _, err := Ident(n); err != nil {
			return newAPIError(0, "INVALID_FIELD", err.Error(), nil)
		}
	}
	return nil
}
