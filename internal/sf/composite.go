package sf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The first call of a pull can be one Composite request (POST
// /services/data/vXX.X/composite): getUpdated, then the query, then the
// next pages, each "Query More" subrequest taking its url from the page
// before it (@{q1.nextRecordsUrl}). "The entire series of requests counts
// as a single call toward your API limits"; a request holds up to 25
// subrequests, of which up to 5 query operations ("Query, QueryAll, and
// 'Query More' requests to obtain the next batch of query results"); all
// sObject resources are supported, /updated included; subrequests run in
// order, a later one referring to an earlier one's answer with
// @{referenceId.field} in its url or body; with allOrNone false a failed
// subrequest stops only those that refer to it ("Send Multiple Requests
// Using Composite" and "Composite Request Body", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm,
// …/requests_composite.htm). The guide shows no Query More subrequest;
// syncd writes its url as one reference to the page before's
// nextRecordsUrl, which is the Query More resource's path. No public
// source found so far confirms that a real org takes a url that starts
// with a reference: should it refuse the Composite request as a whole
// (HTTP 400), the client says so once and pulls with ordinary calls for
// the rest of its life (errCompositeRefused).
//
// The last page has done true and no nextRecordsUrl, so a subrequest that
// refers to it fails ("Invalid reference specified. No value for
// q1.nextRecordsUrl found in q1", PROCESSING_HALTED): once a page is the
// last, what the subrequests after it answered is not read at all.

// maxCompositeQueries is how many query operations a Composite request
// may hold.
const maxCompositeQueries = 5

// compositeSub is one subrequest of a Composite request.
type compositeSub struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	HTTPHeaders map[string]string `json:"httpHeaders,omitempty"`
}

// subAnswer is one subrequest's answer; body is a slice of the Composite
// response.
type subAnswer struct {
	ref    string
	status int
	body   []byte
}

// firstCall is what a pull's first call brought as a Composite request.
type firstCall struct {
	pages   [][]byte // query page bodies, in order, up to the last page or the first that failed
	fetched int      // their records
	next    string   // the nextRecordsUrl to go on from; empty when the last page is in
	cover   *syncd.CoverAnswer
	server  time.Time // the response's Date
}

// firstCallPages is how many query pages a pull by cursor asks for in its
// first call: those its expected records fill, plus one for records
// changed since, at most what a Composite request holds.
func firstCallPages(req syncd.PullRequest, batch int) int {
	return min(req.Expect/batch+1, maxCompositeQueries)
}

// pullFirstCall runs a pull's first call as one Composite request:
// getUpdated when req.Cover asks for it, the query, and pages-1 pages
// after it.
func (c *Client) pullFirstCall(ctx context.Context, req syncd.PullRequest, endpoint, soql string, hdr http.Header, pages int) (*firstCall, error) {
	base := c.base()
	subHdr := map[string]string{}
	for k, v := range hdr {
		subHdr[k] = v[0]
	}
	var subs []compositeSub
	var win coverWindow
	if req.Cover {
		var err error
		if win, err = c.coverWindow(req.Object); err != nil {
			return nil, err
		}
		subs = append(subs, compositeSub{Method: http.MethodGet, URL: base + win.path() + "?" + win.query().Encode(), ReferenceID: "covered"})
	}
	subs = append(subs, compositeSub{Method: http.MethodGet, URL: base + endpoint + "?" + url.Values{"q": {soql}}.Encode(),
		ReferenceID: "q1", HTTPHeaders: subHdr})
	for i := 2; i <= pages; i++ {
		subs = append(subs, compositeSub{Method: http.MethodGet, URL: "@{q" + strconv.Itoa(i-1) + ".nextRecordsUrl}",
			ReferenceID: "q" + strconv.Itoa(i), HTTPHeaders: subHdr})
	}
	r := request{method: http.MethodPost, path: "composite", object: req.Object, retry: true, count: true,
		body: map[string]any{"allOrNone": false, "compositeRequest": subs}}
	f := &firstCall{}
	var raw []byte
	err := c.call(ctx, r, func(resp *http.Response) error {
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			f.server = d.UTC()
		}
		var err error
		raw, err = io.ReadAll(resp.Body)
		return err
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		return nil, &compositeRefused{err: ae}
	}
	if err != nil {
		return nil, err
	}
	answers, err := parseComposite(raw)
	if err != nil {
		return nil, newAPIError(0, CodeBadBody, "composite response: "+err.Error(), nil)
	}
	byRef := make(map[string]subAnswer, len(answers))
	for _, a := range answers {
		byRef[a.ref] = a
	}
	if req.Cover {
		a, ok := byRef["covered"]
		var aerr error
		switch {
		case !ok:
			aerr = newAPIError(0, CodeBadBody, "composite response without getUpdated's answer", nil)
		case a.status >= 300:
			aerr = parseErrorBody(a.status, "application/json", a.body)
		}
		covered, server, err := win.answer(req.Object, a.body, f.server, aerr)
		f.cover = &syncd.CoverAnswer{Covered: covered, Server: server, Window: win.end, Err: err}
	}
	for i := 1; i <= pages; i++ {
		a, ok := byRef["q"+strconv.Itoa(i)]
		if i == 1 && !ok {
			return nil, newAPIError(0, CodeBadBody, "composite response without the query's answer", nil)
		}
		if i == 1 && a.status >= 300 {
			return nil, parseErrorBody(a.status, "application/json", a.body)
		}
		if !ok || a.status >= 300 {
			// A page after one that was not the last failed: the pages
			// go on from its nextRecordsUrl with ordinary calls, which
			// retry, or report what keeps failing.
			break
		}
		h, n, err := headOf(a.body)
		if err != nil {
			return nil, err
		}
		f.pages = append(f.pages, a.body)
		f.fetched += n
		if h.done || h.next == "" {
			f.next = ""
			break
		}
		f.next = h.next
	}
	return f, nil
}

// compositeRefused is Salesforce's refusal of a whole Composite request.
type compositeRefused struct{ err error }

func (e *compositeRefused) Error() string { return "composite request refused: " + e.err.Error() }
func (e *compositeRefused) Unwrap() error { return e.err }

// parseComposite reads a Composite response's subrequest answers without
// copying their bodies.
func parseComposite(b []byte) ([]subAnswer, error) {
	s := jsonScanner{b: b}
	if err := s.expect('{'); err != nil {
		return nil, err
	}
	var out []subAnswer
	seen := false
	err := members(&s, func(key string) error {
		if key != "compositeResponse" {
			return s.skip()
		}
		seen = true
		if err := s.expect('['); err != nil {
			return err
		}
		return elements(&s, func() error {
			var a subAnswer
			if err := s.expect('{'); err != nil {
				return err
			}
			err := members(&s, func(key string) error {
				switch key {
				case "body":
					s.ws()
					start := s.i
					if err := s.skip(); err != nil {
						return err
					}
					a.body = s.b[start:s.i]
				case "httpStatusCode":
					v, err := s.value()
					if err != nil {
						return err
					}
					n, ok := v.(json.Number)
					if !ok {
						return fmt.Errorf("httpStatusCode is %v", v)
					}
					i, err := strconv.Atoi(string(n))
					if err != nil {
						return err
					}
					a.status = i
				case "referenceId":
					ref, err := s.str()
					if err != nil {
						return err
					}
					a.ref = ref
				default:
					return s.skip()
				}
				return nil
			})
			out = append(out, a)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("no compositeResponse")
	}
	return out, nil
}

// headOf reads a query page's head (wherever its members are) and counts
// its records, without decoding them.
func headOf(b []byte) (pageHead, int, error) {
	var h pageHead
	n := 0
	s := jsonScanner{b: b}
	if err := s.expect('{'); err != nil {
		return h, 0, err
	}
	err := members(&s, func(key string) error {
		if key != "records" {
			return h.member(&s, key)
		}
		if s.ws(); s.more() && s.b[s.i] == 'n' {
			_, err := s.value()
			return err
		}
		if err := s.expect('['); err != nil {
			return err
		}
		return elements(&s, func() error { n++; return s.skip() })
	})
	return h, n, err
}

// members calls fn for each member of the object whose '{' s has just
// read, with s before the member's value; fn reads the value.
func members(s *jsonScanner, fn func(key string) error) error {
	if s.ws(); s.more() && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err == nil {
			err = s.expect(':')
		}
		if err == nil {
			err = fn(key)
		}
		if err == nil {
			err = s.next('}')
		}
		if err == errEnd {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// elements calls fn for each element of the array whose '[' s has just
// read; fn reads the element.
func elements(s *jsonScanner, fn func() error) error {
	if s.ws(); s.more() && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		err := fn()
		if err == nil {
			err = s.next(']')
		}
		if err == errEnd {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
