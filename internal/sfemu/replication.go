package sfemu

import (
	"net/http"
	"strings"
	"time"
)

// /sobjects/{O}/updated and /deleted ("sObject Get Updated" and "sObject Get Deleted", REST API
// Developer Guide, developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm): seconds are ignored, start must precede end,
// windows are limited (30 days for updated, 15 for deleted), at most 600,000 ids, and
// latestDateCovered is held at the start of any transaction still in flight (GetUpdatedResult,
// developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_getupdated_getupdatedresult.htm).
// /deleted reads the delete log: records in the recycle bin and records emptied from it
// (objStore.deleteLog), not records removed by HardDelete.
//
// Not documented, so modelled the simplest way: latestDateCovered is whole minutes and never
// before start (a transaction open since before start holds it at start); the ids are those
// stamped in [start, latestDateCovered) ("Polling for Changes" says the minutes are inclusive);
// the "built in controls" against polling more often than every five minutes ("Polling for
// Changes", SOAP API Developer Guide) are not enforced. An object whose describe says
// replicateable: false is refused (SetReplicateable).

const (
	updatedWindow = 30 * 24 * time.Hour
	deletedWindow = 15 * 24 * time.Hour
	maxReplIDs    = 600000
)

func parseReplDate(v string) (time.Time, bool) {
	t, ok := parseDateTime(strings.TrimSpace(v))
	return t, ok
}

func (s *Server) handleReplication(w http.ResponseWriter, r *http.Request, o *objStore, deleted bool) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r, "GET,HEAD")
		return
	}
	if o.notReplicateable {
		// The errorCode is not documented; the message is what Salesforce answered a client
		// (github.com/MinnPost/object-sync-for-salesforce/issues/109).
		writeErrors(w, apiErr(400, "INVALID_TYPE", "sObject type "+o.t.Name+" is not replicable"))
		return
	}
	q := r.URL.Query()
	if q.Get("start") == "" || q.Get("end") == "" {
		writeErrors(w, apiErr(400, "MISSING_ARGUMENT", "start and end are required"))
		return
	}
	start, ok1 := parseReplDate(q.Get("start"))
	end, ok2 := parseReplDate(q.Get("end"))
	if !ok1 || !ok2 {
		// an unencoded '+' in the offset arrives as a space and fails here too
		writeErrors(w, apiErr(400, "INVALID_REPLICATION_DATE", "Invalid date format for start or end: "+q.Get("start")+", "+q.Get("end")))
		return
	}
	start, end = start.Truncate(time.Minute), end.Truncate(time.Minute)
	if !start.Before(end) {
		writeErrors(w, apiErr(400, "INVALID_REPLICATION_DATE", "EndDate must chronologically follow the StartDate"))
		return
	}
	now := s.now()
	window := updatedWindow
	if deleted {
		window = deletedWindow
	}
	if start.Before(now.Add(-window)) {
		writeErrors(w, apiErr(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than "+
			map[bool]string{false: "30", true: "15"}[deleted]+" days ago"))
		return
	}
	covered := end
	if nowMin := now.Truncate(time.Minute); nowMin.Before(covered) {
		covered = nowMin
	}
	nowUnix := now.Unix()
	stampF := o.t.Field("SystemModstamp")
	s.mu.RLock()
	// In-flight transactions hold latestDateCovered at their start.
	for _, rec := range o.rows {
		if rec != nil && rec.visibleAt > nowUnix {
			if t, ok := rec.vals[stampF.idx].(time.Time); ok && t.Before(covered) {
				covered = t.Truncate(time.Minute)
			}
		}
	}
	if covered.Before(start) {
		covered = start
	}
	var ids []string
	type delRec struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	}
	dels := []delRec{}
	for _, rec := range o.rows {
		rec = visible(rec, nowUnix)
		if rec == nil {
			continue
		}
		if deleted {
			if rec.deleted && !rec.deletedAt.Before(start) && rec.deletedAt.Before(covered) {
				dels = append(dels, delRec{rec.id, formatDateTime(rec.deletedAt)})
			}
			continue
		}
		if rec.deleted {
			continue
		}
		if t, ok := rec.vals[stampF.idx].(time.Time); ok && !t.Before(start) && t.Before(covered) {
			ids = append(ids, rec.id)
		}
	}
	if deleted {
		// Records emptied from the recycle bin are gone from rows but still in the delete log.
		for _, d := range o.deleteLog {
			if !d.at.Before(start) && d.at.Before(covered) {
				dels = append(dels, delRec{d.id, formatDateTime(d.at)})
			}
		}
	}
	purged := o.purgedAt
	s.mu.RUnlock()
	if len(ids) > maxReplIDs || len(dels) > maxReplIDs {
		writeErrors(w, apiErr(400, "EXCEEDED_ID_LIMIT", "too many results; narrow the date range"))
		return
	}
	if deleted {
		if purged.IsZero() {
			purged = metaTime
		}
		writeJSON(w, 200, map[string]any{"deletedRecords": dels,
			"earliestDateAvailable": formatDateTime(purged.Truncate(time.Minute)),
			"latestDateCovered":     formatDateTime(covered)})
		return
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, 200, map[string]any{"ids": ids, "latestDateCovered": formatDateTime(covered)})
}
