package sf

import (
	"fmt"
	"strings"
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// BenchmarkDecodePage decodes a query page of 2,000 Contacts with 10
// mapped fields, as Salesforce writes it (members in one order, each
// record's attributes first): the decoder alone, without HTTP.
//
//	go test ./internal/sf -run '^$' -bench DecodePage
func BenchmarkDecodePage(b *testing.B) {
	names := []string{"FirstName", "LastName", "Email", "Phone", "Title", "Department", "MailingCity", "MailingCountry", "Birthdate", "HasOptedOutOfEmail", "Syncd_Id__c"}
	req := syncd.PullRequest{Object: "Contact", WatermarkField: "SystemModstamp"}
	for _, n := range names {
		k := syncd.KindText
		switch n {
		case "Birthdate":
			k = syncd.KindDate
		case "HasOptedOutOfEmail":
			k = syncd.KindBool
		}
		req.Fields = append(req.Fields, syncd.Field{Name: n, Kind: k})
	}
	var body strings.Builder
	body.WriteString(`{"totalSize":100000,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gxx-2000","records":[`)
	for i := range 2000 {
		if i > 0 {
			body.WriteByte(',')
		}
		id := fmt.Sprintf("003%015d", i)
		fmt.Fprintf(&body, `{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/%s"},"Id":"%s","IsDeleted":false,"MasterRecordId":null,`+
			`"SystemModstamp":"2024-05-01T10:00:00.000+0000","LastModifiedDate":"2024-05-01T10:00:00.000+0000",`+
			`"FirstName":"First%d","LastName":"Last%d","Email":"contact%d@example.com","Phone":"+1 555 %04d","Title":"Engineer",`+
			`"Department":"R&D","MailingCity":"Lyon","MailingCountry":"France","Birthdate":"1990-01-02","HasOptedOutOfEmail":false,"Syncd_Id__c":null}`,
			id, id, i, i, i, i)
	}
	body.WriteString(`]}`)
	page := []byte(body.String())
	d := newPageDecoder(newConverter(req, "SystemModstamp"), 2000)
	if _, recs, err := d.decode(page); err != nil || len(recs) != 2000 || recs[1999].Values.Get("Email") != "contact1999@example.com" {
		b.Fatalf("decode: %d records, %v", len(recs), err)
	}
	b.SetBytes(int64(len(page)))
	b.ResetTimer()
	for range b.N {
		if _, _, err := d.decode(page); err != nil {
			b.Fatal(err)
		}
	}
}
