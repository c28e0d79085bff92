package sf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// before Salesforce's clock (the Date of the last response; ours before
// any): GET /services/data/vXX.X/sobjects/{O}/updated/?start=…&end=…
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
	if _, err := Ident(object); err != nil {
		return time.Time{}, time.Time{}, newAPIError(0, "INVALID_TYPE", err.Error(), nil)
	}
	end := c.ServerTime()
	if end.IsZero() {
		end = time.Now()
	}
	end = end.UTC().Truncate(time.Minute)
	start := end.Add(-time.Minute)
	r := request{method: http.MethodGet, path: "sobjects/" + object + "/updated/",
		query:  url.Values{"start": {start.Format(replicationDate)}, "end": {end.Format(replicationDate)}},
		object: object, retry: true, count: true}
	var w updatedWire
	var server time.Time
	err := c.call(ctx, r, func(resp *http.Response) error {
		w = updatedWire{}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			server = d.UTC()
		}
		return json.NewDecoder(resp.Body).Decode(&w)
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Code != "EXCEEDED_ID_LIMIT" {
		return time.Time{}, time.Time{}, fmt.Errorf("getUpdated window %s to %s: %w: %w",
			start.Format(time.RFC3339), end.Format(time.RFC3339), syncd.ErrCoverRefused, err)
	}
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("getUpdated: %w", err)
	}
	covered, err := syncd.ParseTime(w.LatestDateCovered)
	if err != nil || w.LatestDateCovered == "" || server.IsZero() {
		return time.Time{}, time.Time{}, newAPIError(0, CodeBadBody,
			fmt.Sprintf("updated %s: latestDateCovered %q, Date %s", object, w.LatestDateCovered, server), nil)
	}
	switch {
	case !covered.After(start):
		covered = time.Time{} // held at the start, or before it: no news
	case covered.After(end):
		covered = end // "less than or equal to endDate" (GetUpdatedResult)
	}
	return covered, server, nil
}
