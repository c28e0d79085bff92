package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/syncd-dev/syncd/internal/store"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// The machine output of every command (--json), of /status.json and of the
// status page is built from the types in this file, so one thing (an
// object's cycle, a conflict, a rejected row) has one shape wherever it
// appears. Keys are snake_case; times are RFC 3339 in UTC, or null when
// there is none. README's "Machine output" section lists every key
// (TestREADMEDocumentsEveryJSONKey).

// rfc3339Millis is RFC 3339 with milliseconds, always in UTC.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// jsonTime is a time in machine output: null when zero, never 0001-01-01.
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(rfc3339Millis) + `"`), nil
}

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = jsonTime{}
		return nil
	}
	var tt time.Time
	if err := json.Unmarshal(b, &tt); err != nil {
		return err
	}
	*t = jsonTime(tt)
	return nil
}

// Time returns the time; zero when there is none.
func (t jsonTime) Time() time.Time { return time.Time(t) }

// cycleJSON is one object's cycle: in `sync --json`, and as last_cycle in
// `status --json`.
type cycleJSON struct {
	Object       string   `json:"object"`
	Started      jsonTime `json:"started"`
	Finished     jsonTime `json:"finished"`
	DurationMS   int64    `json:"duration_ms"`
	Pulled       int      `json:"pulled"`
	Unchanged    int      `json:"unchanged"`
	LocalInserts int      `json:"local_inserts"`
	LocalUpdates int      `json:"local_updates"`
	LocalDeletes int      `json:"local_deletes"`
	Created      int      `json:"created"`
	Updated      int      `json:"updated"`
	Deleted      int      `json:"deleted"`
	Skipped      int      `json:"skipped"`
	Conflicts    int      `json:"conflicts"`
	Failed       int      `json:"failed"`
	Retried      int      `json:"retried"`
	Retrying     int      `json:"retrying"`
	Rescanned    int      `json:"rescanned"`
	Matched      int      `json:"matched"`
	Held         int      `json:"held"`
	Relinked     int      `json:"relinked"`
	Reverted     int      `json:"reverted"`
	Unkeyed      int      `json:"unkeyed"`
	Reconciled   bool     `json:"reconciled"`
	Compared     int      `json:"compared"`
	Repaired     int      `json:"repaired"`
	APICalls     int64    `json:"api_calls"`
	Watermark    jsonTime `json:"watermark"`
	OK           bool     `json:"ok"`
	Error        string   `json:"error,omitempty"`
}

func toCycleJSON(o syncd.ObjectReport) cycleJSON {
	r := cycleJSON{
		Object: o.Object, Started: jsonTime(o.Started), Finished: jsonTime(o.Finished),
		DurationMS: o.Finished.Sub(o.Started).Milliseconds(),
		Pulled:     o.Pulled, Unchanged: o.Unchanged, LocalInserts: o.LocalInserts, LocalUpdates: o.LocalUpdates, LocalDeletes: o.LocalDeletes,
		Created: o.Created, Updated: o.Updated, Deleted: o.Deleted, Skipped: o.Skipped,
		Conflicts: o.Conflicts, Failed: o.Failed, Retried: o.Retried, Retrying: o.Retrying, APICalls: o.APICalls,
		Rescanned: o.Rescanned, Matched: o.Matched, Held: o.Held, Relinked: o.Relinked, Reverted: o.Reverted, Unkeyed: o.Unkeyed,
		Reconciled: o.Reconciled, Compared: o.Compared, Repaired: o.Repaired,
		Watermark: jsonTime(o.Watermark.Time), OK: o.Err == nil && o.ErrorText == "",
	}
	switch {
	case o.Err != nil:
		r.Error = o.Err.Error()
	case o.ErrorText != "":
		r.Error = o.ErrorText
	}
	return r
}

// reportJSON is `sync --json` and `resync --json`. rejected_rows counts
// the rows of its objects rejected after the cycle (this cycle's and
// earlier ones not yet retried or skipped).
type reportJSON struct {
	OK           bool        `json:"ok"`
	RejectedRows int         `json:"rejected_rows"`
	Objects      []cycleJSON `json:"objects"`
}

func toReportJSON(rep syncd.Report, rejected int) reportJSON {
	return reportJSON{OK: rep.OK(), RejectedRows: rejected, Objects: jsonList(rep.Objects, toCycleJSON)}
}

// conflictJSON is one field changed on both sides: in `conflicts list
// --json`, in a dry run's plan (id and found_at null: not stored yet) and
// on the status page.
type conflictJSON struct {
	ID           *int64      `json:"id"`
	Object       string      `json:"object"`
	Key          string      `json:"key"`
	SalesforceID string      `json:"salesforce_id"`
	Field        string      `json:"field"`
	Base         syncd.Value `json:"base"`
	Local        syncd.Value `json:"local"`
	Salesforce   syncd.Value `json:"salesforce"`
	Resolution   string      `json:"resolution"`
	FoundAt      jsonTime    `json:"found_at"`
	ResolvedAt   jsonTime    `json:"resolved_at"`
}

func toConflictJSON(c syncd.Conflict) conflictJSON {
	return conflictJSON{Object: c.Object, Key: c.Key, SalesforceID: c.ID, Field: c.Field,
		Base: c.Base, Local: c.Local, Salesforce: c.Remote, Resolution: c.Resolution}
}

func storedConflictJSON(c store.ConflictRecord) conflictJSON {
	j := toConflictJSON(c.Conflict)
	id := c.ConflictID
	j.ID, j.FoundAt, j.ResolvedAt = &id, jsonTime(c.FoundAt), jsonTime(c.ResolvedAt)
	return j
}

// rejectedJSON is a row Salesforce refused (a dead letter), with the reason
// it gave. The row's values are left out: they are the application's data.
type rejectedJSON struct {
	Object string `json:"object"`
	Key    string `json:"key"`
	// SalesforceID is the record of a pulled record the table refused;
	// "" for a row Salesforce rejected.
	SalesforceID string   `json:"salesforce_id"`
	Code         string   `json:"code"`
	Message      string   `json:"message"`
	Attempts     int      `json:"attempts"`
	FirstSeen    jsonTime `json:"first_seen"`
	LastSeen     jsonTime `json:"last_seen"`
	NextRetry    jsonTime `json:"next_retry"`
}

func toRejectedJSON(d store.DeadLetterRecord) rejectedJSON {
	return rejectedJSON{Object: d.Object, Key: d.Key, Code: d.Code, Message: d.Message, Attempts: d.Attempts,
		FirstSeen: jsonTime(d.FirstSeen), LastSeen: jsonTime(d.LastSeen), NextRetry: jsonTime(d.NextRetry)}
}

// name names the rejected row for people: its key, or the record whose
// row the table refused.
func (r rejectedJSON) name() string {
	switch {
	case r.SalesforceID == "":
		return r.Key
	case r.Key == "":
		return "new row for " + r.SalesforceID
	}
	return r.Key + " (pulled from " + r.SalesforceID + ")"
}

// refusedJSON is a pulled record the table refused, as a rejected row:
// its code is syncd.RefusedCode, and next_retry is null (it is read again
// when it changes in Salesforce, or on `syncd failed retry`).
func refusedJSON(r store.RefusedRecord) rejectedJSON {
	return rejectedJSON{Object: r.Object, Key: r.Key, SalesforceID: r.ID, Code: syncd.RefusedCode, Message: r.Message,
		Attempts: r.Attempts, FirstSeen: jsonTime(r.FirstSeen), LastSeen: jsonTime(r.LastSeen)}
}

// planJSON is one object of `sync --dry-run --json`.
type planJSON struct {
	Object     string         `json:"object"`
	Pulled     int            `json:"pulled"`
	Retried    int            `json:"retried"`
	Local      []syncd.Action `json:"local"`
	Salesforce []syncd.Action `json:"salesforce"`
	Conflicts  []conflictJSON `json:"conflicts"`
	Refused    []refusalJSON  `json:"refused"`
}

// refusalJSON is a pulled record the table refused, in a dry run's plan.
type refusalJSON struct {
	Key          string `json:"key"`
	SalesforceID string `json:"salesforce_id"`
	Message      string `json:"message"`
}

func toPlanJSON(p syncd.ObjectPlan) planJSON {
	out := planJSON{Object: p.Object, Pulled: p.Pulled, Retried: p.Retried, Local: p.Local, Salesforce: p.Salesforce, Conflicts: jsonList(p.Conflicts, toConflictJSON),
		Refused: jsonList(p.Refused, func(r syncd.Refusal) refusalJSON {
			return refusalJSON{Key: r.Key, SalesforceID: r.ID, Message: r.Message}
		})}
	if out.Local == nil {
		out.Local = []syncd.Action{}
	}
	if out.Salesforce == nil {
		out.Salesforce = []syncd.Action{}
	}
	return out
}

// driftJSON is one object of `verify --json`.
type driftJSON struct {
	Object              string             `json:"object"`
	Compared            int                `json:"compared"`
	OK                  bool               `json:"ok"`
	MissingInSalesforce []string           `json:"missing_in_salesforce"`
	MissingLocally      []string           `json:"missing_locally"`
	Differ              []syncd.FieldDrift `json:"differ"`
	Unkeyed             int                `json:"unkeyed"`
	// Refused are the records of MissingLocally that the table refused,
	// with SQLite's reason: why they have no row.
	Refused []refusedRecordJSON `json:"refused"`
}

// refusedRecordJSON is a record without a row because the table refused it.
type refusedRecordJSON struct {
	SalesforceID string `json:"salesforce_id"`
	Message      string `json:"message"`
}

// toDriftJSON is d's machine-output shape; refused gives SQLite's reason
// by Salesforce Id for the records the table refused.
func toDriftJSON(d syncd.Drift, refused map[string]string) driftJSON {
	out := driftJSON{Object: d.Object, Compared: d.Compared, OK: d.OK(),
		MissingInSalesforce: d.MissingInSalesforce, MissingLocally: d.MissingLocally, Differ: d.Differ, Unkeyed: d.Unkeyed,
		Refused: []refusedRecordJSON{}}
	for _, id := range d.MissingLocally {
		if why, ok := refused[id]; ok {
			out.Refused = append(out.Refused, refusedRecordJSON{SalesforceID: id, Message: why})
		}
	}
	if out.MissingInSalesforce == nil {
		out.MissingInSalesforce = []string{}
	}
	if out.MissingLocally == nil {
		out.MissingLocally = []string{}
	}
	if out.Differ == nil {
		out.Differ = []syncd.FieldDrift{}
	}
	return out
}

// jsonList converts every item of list to its machine-output shape; an
// empty list is [], never null.
func jsonList[T, J any](list []T, conv func(T) J) []J {
	out := make([]J, 0, len(list))
	for _, x := range list {
		out = append(out, conv(x))
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
