package sf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// updatedWire is the part of the response of /updated syncd reads
// (GetUpdatedResult). The ids are not needed: the pull reads the records by
// SOQL, and a minute's window keeps them few.
type updatedWire struct {
	LatestDateCovered string `json:"latestDateCovered"`
}

// Covered asks getUpdated for latestDateCovered of the last whole minute
// before Salesforce's clock (the Date of the last response plus the time
// elapsed since; ours before any): GET /services/data/vXX.X/sobjects/{O}/updated/?start=…&end=…
// ("sObject Get Updated", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm).
// One minute is the shortest window Salesforce serves, as it ignores
// seconds and start must precede end. It returns latestDateCovered (at
// most end: "GetUpdatedResult", SOAP API Developer Guide), zero when that
// is start or earlier, and the Date header of the answer.
//
// A window or object Salesforce will not serve is returned as an error
// matching syncd.ErrCoverRefused and syncd.ErrPermanent:
// INVALID_REPLICATION_DATE (before the org's replication date, beyond 30
// days), and any other 400 but EXCEEDED_ID_LIMIT, which a quieter minute
// avoids, so it does not refuse the object (an object that is not
// replicateable is answered "sObject type … is not replicable" with 400:
// github.com/MinnPost/object-sync-for-salesforce/issues/109).
func (c *Client) Covered(ctx context.Context, object string) (time.Time, time.Time, error) {
	w, err := c.coverWindow(object)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	r := request{method: http.MethodGet, path: w.path(), query: w.query(), object: object, retry: true, count: true}
	var body []byte
	var server time.Time
	err = c.call(ctx, r, func(resp *http.Response) error {
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			server = d.UTC()
		}
		var rerr error
		body, rerr = io.ReadAll(resp.Body)
		return rerr
	})
	return w.answer(object, body, server, err)
}

// coverWindow is a getUpdated question: the last whole minute before
// Salesforce's clock (ServerNow).
type coverWindow struct {
	object     string
	start, end time.Time
}

func (c *Client) coverWindow(object string) (coverWindow, error) {
	if _, err := Ident(object); err != nil {
		return coverWindow{}, newAPIError(0, "INVALID_TYPE", err.Error(), nil)
	}
	end := c.ServerNow().UTC().Truncate(time.Minute)
	return coverWindow{object: object, start: end.Add(-time.Minute), end: end}, nil
}

func (w coverWindow) path() string { return "sobjects/" + w.object + "/updated/" }

func (w coverWindow) query() url.Values {
	return url.Values{"start": {w.start.Format(replicationDate)}, "end": {w.end.Format(replicationDate)}}
}

// answer reads getUpdated's answer: its body, the Date of the response
// that carried it, or the error it failed with.
func (w coverWindow) answer(object string, body []byte, server time.Time, err error) (time.Time, time.Time, error) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Code != "EXCEEDED_ID_LIMIT" {
		return time.Time{}, time.Time{}, fmt.Errorf("getUpdated window %s to %s: %w: %w",
			w.start.Format(time.RFC3339), w.end.Format(time.RFC3339), syncd.ErrCoverRefused, err)
	}
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("getUpdated: %w", err)
	}
	var u updatedWire
	if err := json.Unmarshal(body, &u); err != nil {
		return time.Time{}, time.Time{}, newAPIError(0, CodeBadBody, fmt.Sprintf("updated %s: %v", object, err), nil)
	}
	covered, err := syncd.ParseTime(u.LatestDateCovered)
	if err != nil || u.LatestDateCovered == "" || server.IsZero() {
		return time.Time{}, time.Time{}, newAPIError(0, CodeBadBody,
			fmt.Sprintf("updated %s: latestDateCovered %q, Date %s", object, u.LatestDateCovered, server), nil)
	}
	switch {
	case !covered.After(w.start):
		covered = time.Time{} // held at the start, or before it: no news
	case covered.After(w.end):
		covered = w.end // "less than or equal to endDate" (GetUpdatedResult)
	}
	return covered, server, nil
}
