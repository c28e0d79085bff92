package sfemu

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkQueryPaging100k serves 100,000 Contacts in pages of 2,000 over loopback HTTP
// (query + 49 nextRecordsUrl pages) and reports records/s. Target: >= 50,000 records/s on 2 cores.
func BenchmarkQueryPaging100k(b *testing.B) {
	s := New(Options{DailyLimit: 1 << 40})
	s.SeedContacts(100000)
	ts := httptest.NewServer(s)
	defer ts.Close()
	at, _ := s.MintSession()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(path string) []byte {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+at)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%d %s", res.StatusCode, body)
		}
		return body
	}
	soqlText := "SELECT Id, FirstName, LastName, Email, Phone, MobilePhone, Title, Department, MailingStreet, " +
		"MailingCity, MailingPostalCode, MailingCountry, Birthdate, HasOptedOutOfEmail, AccountId, Syncd_Id__c, " +
		"IsDeleted, CreatedDate, LastModifiedDate, SystemModstamp FROM Contact " +
		"WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
	marker := []byte(`"nextRecordsUrl":"`)
	total := 0
	var bytesRead int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := get("/services/data/v59.0/query?q=" + url.QueryEscape(soqlText))
		pages := 1
		for {
			bytesRead += int64(len(body))
			total += bytes.Count(body, []byte(`{"attributes"`))
			j := bytes.Index(body, marker)
			if j < 0 {
				break
			}
			rest := body[j+len(marker):]
			next := string(rest[:bytes.IndexByte(rest, '"')])
			body = get(next)
			pages++
		}
		if pages != 50 {
			b.Fatalf("pages = %d, want 50", pages)
		}
	}
	b.StopTimer()
	if total != 100000*b.N {
		b.Fatalf("records = %d, want %d", total, 100000*b.N)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(bytesRead)/float64(total), "bytes/record")
}
