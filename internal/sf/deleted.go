package sf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Limits of the delete log read by /sobjects/{O}/deleted: "Results
// are returned for no more than 15 days previous to the day the call is
// executed"; start must precede end "by more than one minute"; seconds are
// ignored (getDeleted() "Rules and Guidelines", SOAP API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted.htm;
// "sObject Get Deleted", REST API Developer Guide,
// developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm).
const (
	// deletedMaxAge keeps an hour's margin inside the 15 days for clock
	// skew and the "day the call is executed" wording.
	deletedMaxAge = 15*24*time.Hour - time.Hour
	// deletedMinSpan is the shortest window asked for: more than one
	// minute once both ends are whole minutes.
	deletedMinSpan = 2 * time.Minute
	// replicationDate is the layout sent for start and end: UTC with an
	// explicit +00:00 offset, which url.Values.Encode sends as %2B00%3A00
	// (a bare '+' would arrive as a space).
	replicationDate = "2006-01-02T15:04:05-07:00"
)

// Deleted reads the object's delete log:
// GET /services/data/vXX.X/sobjects/{O}/deleted/?start=…&end=… ("sObject
// Get Deleted", REST API Developer Guide). It
// returns the ids deleted in [start, end) with their deletedDate, and
// latestDateCovered, the time up to which the answer is complete (the next
// read should start there).
//
// Both ends are cut to whole minutes (Salesforce ignores seconds), and
// start is moved up to what the log serves (15 days before the later of end
// and the server's clock); a window that leaves less than two minutes asks
// nothing and returns start as covered. EXCEEDED_ID_LIMIT (more than
// 600,000 ids) splits the window in two and reads each half.
// INVALID_REPLICATION_DATE — a window Salesforce will not serve: before
// replication was enabled, beyond the log's days, or cut short by a purge
// of the recycle bin — is returned as an error matching both
// syncd.ErrDeleteLogWindow and syncd.ErrPermanent; asking again does not
// help, so it is not retried.
func (c *Client) Deleted(ctx context.Context, object string, start, end time.Time) ([]syncd.DeletedRecord, time.Time, error) {
	if _, err := Ident(object); err != nil {
		return nil, time.Time{}, newAPIError(0, "INVALID_TYPE", err.Error(), nil)
	}
	start, end = start.UTC().Truncate(time.Minute), end.UTC().Truncate(time.Minute)
	ref := end
	if st := c.ServerTime(); st.After(ref) {
		ref = st
	}
	if oldest := ref.Add(-deletedMaxAge).Truncate(time.Minute).Add(time.Minute); start.Before(oldest) {
		start = oldest
	}
	if end.Sub(start) < deletedMinSpan {
		return nil, start, nil
	}
	return c.deleted(ctx, object, start, end)
}

func (c *Client) deleted(ctx context.Context, object string, start, end time.Time) ([]syncd.DeletedRecord, time.Time, error) {
	recs, covered, err := c.deletedOnce(ctx, object, start, end)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "EXCEEDED_ID_LIMIT" {
		// "You can correct the error by choosing start and end dates that
		// are closer together" (sObject Get Deleted).
		mid := start.Add(end.Sub(start) / 2).Truncate(time.Minute)
		if mid.Sub(start) < deletedMinSpan || end.Sub(mid) < deletedMinSpan {
			return nil, time.Time{}, err
		}
		first, c1, err := c.deleted(ctx, object, start, mid)
		if err != nil {
			return nil, time.Time{}, err
		}
		second, c2, err := c.deleted(ctx, object, mid, end)
		if err != nil {
			return nil, time.Time{}, err
		}
		if c1.Before(mid) {
			c2 = c1 // the first half is not complete: nor is the whole
		}
		return append(first, second...), c2, nil
	}
	if errors.As(err, &ae) && (ae.Code == "INVALID_REPLICATION_DATE" || notReplicable(ae)) {
		return nil, time.Time{}, fmt.Errorf("window %s to %s: %w: %w",
			start.Format(time.RFC3339), end.Format(time.RFC3339), syncd.ErrDeleteLogWindow, err)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return recs, covered, nil
}

// notReplicable reports Salesforce's refusal of an object whose describe
// says replicateable: false: 400, "sObject type … is not replicable"
// (github.com/MinnPost/object-sync-for-salesforce/issues/109); its
// errorCode is not documented.
func notReplicable(ae *APIError) bool {
	return ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "not replicable")
}

// deletedWire is the response of /deleted (GetDeletedResult). Its
// earliestDateAvailable ("the last physically deleted object") is not used:
// a window the log cannot serve is refused with INVALID_REPLICATION_DATE,
// and the emulator moves it on every purge of the recycle bin.
type deletedWire struct {
	DeletedRecords []struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	} `json:"deletedRecords"`
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	LatestDateCovered     string `json:"latestDateCovered"`
}

func (c *Client) deletedOnce(ctx context.Context, object string, start, end time.Time) ([]syncd.DeletedRecord, time.Time, error) {
	r := request{method: http.MethodGet, path: "sobjects/" + object + "/deleted/",
		query:  url.Values{"start": {start.Format(replicationDate)}, "end": {end.Format(replicationDate)}},
		object: object, retry: true, count: true}
	var w deletedWire
	err := c.call(ctx, r, func(resp *http.Response) error {
		w = deletedWire{}
		return json.NewDecoder(resp.Body).Decode(&w)
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	out := make([]syncd.DeletedRecord, 0, len(w.DeletedRecords))
	for _, d := range w.DeletedRecords {
		at, err := syncd.ParseTime(d.DeletedDate)
		if err != nil || d.ID == "" {
			return nil, time.Time{}, newAPIError(0, CodeBadBody, fmt.Sprintf("deleted %s: record %q deletedDate %q", object, d.ID, d.DeletedDate), nil)
		}
		out = append(out, syncd.DeletedRecord{ID: d.ID, DeletedAt: at})
	}
	// latestDateCovered is at most end (GetDeletedResult); without one the
	// whole window is covered.
	covered := end
	if w.LatestDateCovered != "" {
		t, err := syncd.ParseTime(w.LatestDateCovered)
		if err != nil {
			return nil, time.Time{}, newAPIError(0, CodeBadBody, fmt.Sprintf("deleted %s: latestDateCovered %q", object, w.LatestDateCovered), nil)
		}
		if t.Before(covered) {
			covered = t
		}
	}
	return out, covered, nil
}
