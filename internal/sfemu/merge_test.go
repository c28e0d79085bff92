package sfemu

import (
	"net/url"
	"testing"
	"time"
)

// After a merge the losing records are deleted with MasterRecordId set to the winner: "When a
// record is deleted after losing a merge operation, its MasterRecordId field is set to the ID of
// the winning record" (Triggers and Merge Statements, Apex Developer Guide), and "Use queryAll()
// to view records that have been deleted during a merge" (merge(), SOAP API Developer Guide).
// The winner is updated (its timestamps move) and the losers' children are re-parented to it.
func TestMergeLosersShowInQueryAllAndDeleted(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.Freeze(true)
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	e.s.SetClock(t0)
	master, _ := e.s.Insert("Account", map[string]any{"Name": "Master"})
	l1, _ := e.s.Insert("Account", map[string]any{"Name": "Loser 1"})
	l2, _ := e.s.Insert("Account", map[string]any{"Name": "Loser 2"})
	child, _ := e.s.Insert("Contact", map[string]any{"LastName": "Child", "AccountId": l1})
	e.s.Advance(90 * time.Second)
	mergedAt := t0.Add(90 * time.Second)
	if err := e.s.Merge("Account", master, l1, l2); err != nil {
		t.Fatal(err)
	}

	soql := "SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE MasterRecordId != null ORDER BY Name"
	r := e.do("GET", v+"/queryAll?q="+url.QueryEscape(soql), nil)
	recs := r.obj(t)["records"].([]any)
	if len(recs) != 2 {
		t.Fatalf("queryAll: %s", r.body)
	}
	for i, want := range []string{l1, l2} {
		m := recs[i].(map[string]any)
		if m["Id"] != want || m["IsDeleted"] != true || m["MasterRecordId"] != master {
			t.Fatalf("loser %d: %v", i, m)
		}
	}
	if r := e.query(soql); r.obj(t)["totalSize"] != 0.0 {
		t.Fatalf("query (not queryAll) shows merged records: %s", r.body)
	}

	// the delete log (latestDateCovered is the current minute, so let the minute pass)
	e.s.Advance(time.Minute)
	r = e.do("GET", v+"/sobjects/Account/deleted/?start=2024-05-01T09:00:00Z&end=2024-05-01T11:00:00Z", nil)
	dels := r.obj(t)["deletedRecords"].([]any)
	if len(dels) != 2 || dels[0].(map[string]any)["deletedDate"] != "2024-05-01T10:01:30.000+0000" {
		t.Fatalf("/deleted: %s", r.body)
	}

	// the winner's timestamps moved; the child now points at it
	got, _ := e.s.Get("Account", master)
	if !got["LastModifiedDate"].(time.Time).Equal(mergedAt) || !got["SystemModstamp"].(time.Time).Equal(mergedAt) {
		t.Fatalf("master stamps %v / %v, want %v", got["LastModifiedDate"], got["SystemModstamp"], mergedAt)
	}
	if c, _ := e.s.Get("Contact", child); c["AccountId"] != master {
		t.Fatalf("child AccountId %v, want %v", c["AccountId"], master)
	}
}

// MasterRecordId is describable and queryable on Account and Contact.
func TestMasterRecordIdIsDescribedOnAccountAndContact(t *testing.T) {
	e := newEnv(t, Options{})
	for _, obj := range []string{"Account", "Contact"} {
		found := false
		for _, f := range e.do("GET", v+"/sobjects/"+obj+"/describe", nil).obj(t)["fields"].([]any) {
			fm := f.(map[string]any)
			if fm["name"] != "MasterRecordId" {
				continue
			}
			found = true
			if fm["type"] != "reference" || fm["referenceTo"].([]any)[0] != obj || fm["updateable"] != false || fm["createable"] != false {
				t.Errorf("%s.MasterRecordId: %v", obj, fm)
			}
		}
		if !found {
			t.Errorf("%s describe lacks MasterRecordId", obj)
		}
		if r := e.query("SELECT Id, MasterRecordId FROM " + obj); r.status != 200 {
			t.Errorf("%s: %d %s", obj, r.status, r.body)
		}
	}
}

func TestMergeContacts(t *testing.T) {
	e := newEnv(t, Options{})
	master, _ := e.s.Insert("Contact", map[string]any{"LastName": "Master"})
	loser, _ := e.s.Insert("Contact", map[string]any{"LastName": "Loser"})
	if err := e.s.Merge("Contact", master, loser); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", v+"/queryAll?q="+url.QueryEscape("SELECT Id, MasterRecordId FROM Contact WHERE IsDeleted = true"), nil)
	recs := r.obj(t)["records"].([]any)
	if len(recs) != 1 || recs[0].(map[string]any)["MasterRecordId"] != master {
		t.Fatalf("%s", r.body)
	}
}
