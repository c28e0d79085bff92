package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// internal/sf's Pull decodes query pages with its own scanner (for speed;
// see bench/README.md). These tests hold it to encoding/json: the same
// pages, written with random whitespace, escapes, member order and case,
// the head before or after the records, must give exactly the records
// that encoding/json (UseNumber) plus the documented conversion give, and
// malformed pages must fail as encoding/json fails. They are quick and run
// with `go test ./...`.

// decodeFields is the mapping the pages are pulled with: every conversion
// kind, and a relationship path.
var decodeFields = map[string]string{
	"FirstName": "string", "HasOptedOutOfEmail": "boolean", "NumberOfEmployees": "int",
	"AnnualRevenue": "currency", "Birthdate": "date", "Last_Seen__c": "datetime", "Account.Name": "string",
}

// pageServer serves OAuth from the emulator and the query pages given.
type pageServer struct {
	*httptest.Server
	pages  [][]byte // page k answers the locator ...-LOC-k (the first page: the q= request)
	served atomic.Int64
}

func newPageServer(t *testing.T, pages [][]byte) *pageServer {
	emu := sfemu.New(sfemu.Options{})
	ps := &pageServer{pages: pages}
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/query") {
			emu.ServeHTTP(w, r)
			return
		}
		k := 0
		if i := strings.LastIndex(r.URL.Path, "-LOC-"); i >= 0 {
			fmt.Sscan(r.URL.Path[i+5:], &k)
		}
		if ps.served.Add(1) > int64(len(ps.pages)) {
			http.Error(w, "more requests than pages", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Write(ps.pages[k])
	}))
	t.Cleanup(ps.Close)
	return ps
}

func (ps *pageServer) pull(t *testing.T) ([]syncd.Page, error) {
	c, err := sf.New(context.Background(), sf.Config{
		LoginURL: ps.URL, Auth: sf.AuthClientCredentials, ClientID: sfemu.ClientID, ClientSecret: sfemu.ClientSecret,
		StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var req syncd.PullRequest
	req.Object, req.WatermarkField, req.IncludeDeleted = "Contact", "LastModifiedDate", true
	for f, typ := range decodeFields {
		req.Fields = append(req.Fields, syncd.Field{Name: f, Type: typ, Kind: sf.KindOf(typ)})
	}
	var pages []syncd.Page
	err = c.Pull(context.Background(), req, func(p syncd.Page) error {
		p.ServerTime = time.Time{}
		for i := range p.Records {
			// The reference's Values are in no layout: compared by content.
			p.Records[i].Values = syncd.FieldsOf(p.Records[i].Values.Map())
		}
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// reference decodes a page the way encoding/json would, then converts
// each record as the converter documents it.
func reference(body []byte) (syncd.Page, string, error) {
	var w struct {
		TotalSize      int              `json:"totalSize"`
		Done           bool             `json:"done"`
		NextRecordsURL string           `json:"nextRecordsUrl"`
		Records        []map[string]any `json:"records"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return syncd.Page{}, "", err
	}
	if dec.More() {
		return syncd.Page{}, "", fmt.Errorf("trailing data")
	}
	p := syncd.Page{TotalSize: w.TotalSize, Records: []syncd.RemoteRecord{}}
	for _, raw := range w.Records {
		var rec syncd.RemoteRecord
		rec.ID, _ = refLookup(raw, "Id").(string)
		rec.Deleted, _ = refLookup(raw, "IsDeleted").(bool)
		if s, _ := refLookup(raw, "LastModifiedDate").(string); s != "" {
			t, err := syncd.ParseTime(s)
			if err != nil {
				return p, "", err
			}
			rec.Stamp, rec.LastModified = t, t
		}
		rec.Values = syncd.FieldsOf(map[string]syncd.Value{})
		for f, typ := range decodeFields {
			v, err := sf.FromWire(sf.KindOf(typ), refLookup(raw, f))
			if err != nil {
				return p, "", err
			}
			rec.Values.Set(f, v)
		}
		p.Records = append(p.Records, rec)
	}
	next := ""
	if !w.Done {
		next = w.NextRecordsURL
	}
	return p, next, nil
}

func refLookup(rec map[string]any, name string) any {
	head, rest, nested := strings.Cut(name, ".")
	v, ok := rec[head]
	if !ok {
		for k, x := range rec {
			if strings.EqualFold(k, head) {
				v, ok = x, true
			}
		}
	}
	if !ok || !nested {
		return v
	}
	m, _ := v.(map[string]any)
	if m == nil {
		return nil
	}
	return refLookup(m, rest)
}

// writer writes JSON with random formatting.
type writer struct {
	b   bytes.Buffer
	rng *rand.Rand
}

func (w *writer) ws() {
	for range w.rng.IntN(3) {
		w.b.WriteByte(" \t\n\r"[w.rng.IntN(4)])
	}
}

func (w *writer) str(s string) {
	w.b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			w.b.WriteString(`\` + string(r))
		case r < 0x20:
			fmt.Fprintf(&w.b, `\u%04x`, r)
		case r == '/' && w.rng.IntN(2) == 0:
			w.b.WriteString(`\/`)
		case w.rng.IntN(8) == 0 && r < 0x10000:
			fmt.Fprintf(&w.b, `\u%04X`, r)
		default:
			w.b.WriteRune(r)
		}
	}
	w.b.WriteByte('"')
}

// value writes a scalar, map or slice.
func (w *writer) value(v any) {
	w.ws()
	switch x := v.(type) {
	case nil:
		w.b.WriteString("null")
	case bool:
		fmt.Fprint(&w.b, x)
	case json.Number:
		w.b.WriteString(string(x))
	case string:
		w.str(x)
	case []any:
		w.b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.value(e)
		}
		w.ws()
		w.b.WriteByte(']')
	case [][2]any: // an object, members in this order
		w.b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.ws()
			w.str(m[0].(string))
			w.ws()
			w.b.WriteByte(':')
			w.value(m[1])
		}
		w.ws()
		w.b.WriteByte('}')
	default:
		panic(fmt.Sprintf("%T", v))
	}
	w.ws()
}

var texts = []string{"", "Ada", "O'Brien", "Zoë", "Łukasz", "東京", "emoji 😀", `quote " back \ slash`, "a/b", "tab\tnew\nline", "\u2028", "nul\x00byte"}

func (w *writer) record(i int) [][2]any {
	r := w.rng
	pick := func(vs ...any) any { return vs[r.IntN(len(vs))] }
	name := func(s string) string { // SOQL names are case-insensitive
		if r.IntN(10) == 0 {
			return strings.ToLower(s)
		}
		return s
	}
	m := [][2]any{
		{"attributes", [][2]any{{"type", "Contact"}, {"url", fmt.Sprintf("/services/data/v62.0/sobjects/Contact/003%015d", i)}}},
		{name("Id"), fmt.Sprintf("003%015d", i)},
		{"IsDeleted", pick(true, false)},
		{"LastModifiedDate", pick("2024-01-02T03:04:05.000+0000", "2024-06-30T23:59:59.123+0000", "2023-12-31T00:00:00.000Z")},
		{name("FirstName"), pick(nil, texts[r.IntN(len(texts))])},
		{"HasOptedOutOfEmail", pick(true, false, nil)},
		{"NumberOfEmployees", pick(nil, json.Number("0"), json.Number("-12"), json.Number("1e3"), json.Number("42"))},
		{"AnnualRevenue", pick(nil, json.Number("1.50"), json.Number("-0.001"), json.Number("2E+2"), json.Number("1200000"))},
		{"Birthdate", pick(nil, "1990-02-28", "2000-01-01")},
		{"Last_Seen__c", pick(nil, "2024-03-04T05:06:07.000+0000", "2024-03-04T05:06:07.890+0200")},
		{"Account", pick(nil, [][2]any{{"attributes", [][2]any{{"type", "Account"}}}, {"Name", texts[r.IntN(len(texts))]}})},
		{"Unmapped__c", pick(nil, []any{json.Number("1"), "x", []any{}, [][2]any{}}, [][2]any{{"a", []any{true, nil}}}, "skip { ] me")},
	}
	r.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
	return m
}

// page writes one page; headFirst puts totalSize, done and
// nextRecordsUrl before the records, as Salesforce does.
func (w *writer) page(recs [][][2]any, total int, next string, headFirst bool) []byte {
	w.b.Reset()
	head := [][2]any{{"totalSize", json.Number(fmt.Sprint(total))}, {"done", next == ""}}
	if next != "" {
		head = append(head, [2]any{"nextRecordsUrl", next})
	}
	records := make([]any, len(recs))
	for i, r := range recs {
		records[i] = r
	}
	members := append(head, [2]any{"records", records})
	if !headFirst {
		members = append([][2]any{{"records", records}}, head...)
	}
	w.value(members)
	return bytes.Clone(w.b.Bytes())
}

func TestPullDecodeMatchesEncodingJSON(t *testing.T) {
	for seed := range uint64(40) {
		w := &writer{rng: rand.New(rand.NewPCG(seed, 7))}
		const npages = 3
		var pages [][]byte
		n := 0
		for k := range npages {
			var recs [][][2]any
			for range w.rng.IntN(40) {
				recs = append(recs, w.record(n))
				n++
			}
			next := ""
			if k < npages-1 {
				next = fmt.Sprintf("/services/data/v62.0/query/01gSEED%d-LOC-%d", seed, k+1)
			}
			pages = append(pages, w.page(recs, 1000, next, w.rng.IntN(4) > 0))
		}
		got, err := newPageServer(t, pages).pull(t)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(got) != npages {
			t.Fatalf("seed %d: %d pages", seed, len(got))
		}
		for k, body := range pages {
			want, _, err := reference(body)
			if err != nil {
				t.Fatalf("seed %d page %d: reference: %v", seed, k, err)
			}
			if got[k].Records == nil {
				got[k].Records = []syncd.RemoteRecord{}
			}
			if !reflect.DeepEqual(got[k], want) {
				for i := range min(len(got[k].Records), len(want.Records)) {
					if !reflect.DeepEqual(got[k].Records[i], want.Records[i]) {
						t.Errorf("seed %d page %d record %d:\n got %+v\nwant %+v", seed, k, i, got[k].Records[i], want.Records[i])
					}
				}
				t.Fatalf("seed %d page %d: %d records, want %d; body:\n%s", seed, k, len(got[k].Records), len(want.Records), body)
			}
		}
	}
}

func TestPullDecodeRefusesWhatEncodingJSONRefuses(t *testing.T) {
	good := `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Contact"},"Id":"003000000000000001","LastModifiedDate":"2024-01-02T03:04:05.000+0000","FirstName":"Ada","NumberOfEmployees":5}]}`
	if _, _, err := reference([]byte(good)); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"truncated":         good[:len(good)-3],
		"truncated in head": `{"totalSize":1,"do`,
		"unterminated":      strings.Replace(good, `"Ada"`, `"Ada`, 1),
		"bad literal":       strings.Replace(good, `"done":true`, `"done":tru`, 1),
		"leading zero":      strings.Replace(good, `:5}`, `:05}`, 1),
		"bare minus":        strings.Replace(good, `:5}`, `:-}`, 1),
		"trailing garbage":  good + `x`,
		"control char":      strings.Replace(good, `"Ada"`, "\"A\x01da\"", 1),
		"unbalanced":        strings.Replace(good, `{"type":"Contact"}`, `{"type":"Contact"]`, 1),
		"done not bool":     strings.Replace(good, `"done":true`, `"done":"yes"`, 1),
		"total not int":     strings.Replace(good, `"totalSize":1`, `"totalSize":1.5`, 1),
		"record not object": `{"totalSize":1,"done":true,"records":[3]}`,
		"not an object":     `[]`,
	}
	for name, body := range bad {
		if _, _, err := reference([]byte(body)); err == nil && name != "unbalanced" {
			t.Fatalf("%s: encoding/json accepts it; fix the case", name)
		}
		if _, err := newPageServer(t, [][]byte{[]byte(body)}).pull(t); err == nil {
			t.Errorf("%s: Pull accepted %q", name, body)
		}
	}
	// Invalid UTF-8 becomes U+FFFD, as with encoding/json.
	body := strings.Replace(good, `"Ada"`, "\"A\xffda\"", 1)
	want, _, _ := reference([]byte(body))
	got, err := newPageServer(t, [][]byte{[]byte(body)}).pull(t)
	if err != nil || !reflect.DeepEqual(got[0].Records, want.Records) || !utf8.ValidString(got[0].Records[0].Values.Get("FirstName").(string)) {
		t.Fatalf("invalid UTF-8: %v %+v", err, got)
	}
}
