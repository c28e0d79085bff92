package sf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

func TestParseLimitInfo(t *testing.T) {
	cases := []struct {
		h           string
		used, limit int
		ok          bool
	}{
		{"api-usage=18/5000", 18, 5000, true},
		{"api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", 25, 5000, true},
		{"api-usage=110018/100000; api-bursts=1/750", 110018, 100000, true},
		{"per-app-api-usage=17/250(appName=x); api-usage=3/15000", 3, 15000, true},
		{"per-app-api-usage=17/250(appName=x)", 0, 0, false},
		{"", 0, 0, false},
		{"api-usage=x/y", 0, 0, false},
	}
	for _, c := range cases {
		u, l, ok := parseLimitInfo(c.h)
		if u != c.used || l != c.limit || ok != c.ok {
			t.Errorf("%q: got %d/%d %v", c.h, u, l, ok)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		status int
		ct     string
		body   string
		class  error
		code   string
		retry  bool
	}{
		{503, "text/html", "<html><head><title>Maintenance</title></head></html>", syncd.ErrTransient, CodeHTML, true},
		{200, "text/html", "<html>", syncd.ErrTransient, CodeHTML, true},
		{500, "application/json", `[{"message":"boom","errorCode":"UNKNOWN_EXCEPTION"}]`, syncd.ErrTransient, "UNKNOWN_EXCEPTION", true},
		{406, "", "", syncd.ErrTransient, CodeEmptyBody, true},
		{420, "", "", syncd.ErrTransient, CodeEmptyBody, true},
		{400, "application/json", `[{"errorCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access to this record"}]`, syncd.ErrTransient, "UNABLE_TO_LOCK_ROW", true},
		{403, "application/json", `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, syncd.ErrLimit, "REQUEST_LIMIT_EXCEEDED", false},
		{403, "application/json", `[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, syncd.ErrTransient, "REQUEST_LIMIT_EXCEEDED", true},
		{401, "application/json", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, syncd.ErrSession, "INVALID_SESSION_ID", false},
		{400, "application/json", `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`, syncd.ErrPermanent, "REQUIRED_FIELD_MISSING", false},
		{400, "application/json", `[{"fields":null,"errorCode":"DUPLICATE_VALUE","message":"duplicate value found"}]`, syncd.ErrPermanent, "DUPLICATE_VALUE", false},
		{400, "application/json", `[{"message":"No such column","errorCode":"INVALID_FIELD"}]`, syncd.ErrPermanent, "INVALID_FIELD", false},
		{400, "application/json", `[{"message":"x","errorCode":"INVALID_FIELD_FOR_INSERT_UPDATE"}]`, syncd.ErrPermanent, "INVALID_FIELD_FOR_INSERT_UPDATE", false},
		{400, "application/json", `[{"message":"rule","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION"}]`, syncd.ErrPermanent, "FIELD_CUSTOM_VALIDATION_EXCEPTION", false},
		{400, "application/json", `[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`, syncd.ErrTransient, "INVALID_QUERY_LOCATOR", false},
		{400, "application/json", `{"message":"single object","errorCode":"MALFORMED_QUERY"}`, syncd.ErrPermanent, "MALFORMED_QUERY", false},
	}
	for _, c := range cases {
		e := parseErrorBody(c.status, c.ct, []byte(c.body))
		if !errors.Is(e, c.class) || e.Code != c.code || e.retry != c.retry {
			t.Errorf("%d %s: got %s class %v retry %v", c.status, c.body, e.Code, e.class, e.retry)
		}
		wrapped := fmt.Errorf("outer: %w", e)
		if !errors.Is(wrapped, c.class) {
			t.Errorf("wrapped %s lost its class", c.code)
		}
	}
	e := parseErrorBody(400, "application/json", []byte(`[{"message":"a","errorCode":"X","fields":["F"]},{"message":"b","errorCode":"Y"}]`))
	if e.Code != "X" || !strings.Contains(e.Message, "Y: b") || e.Fields[0] != "F" {
		t.Errorf("multiple errors: %+v", e)
	}
}

func TestTokenStoreAtomic0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	st := tokenStore{dir: dir}
	if _, err := st.load(); !errors.Is(err, errNoToken) {
		t.Fatalf("empty store: %v", err)
	}
	tok := &Token{AccessToken: "00Dxx!secretAT", RefreshToken: "5Aepsecret", InstanceURL: "https://x.my.salesforce.com",
		ID: "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA", IssuedAt: time.UnixMilli(1708058728442).UTC()}
	// An old, world-readable file is replaced by a 0600 one.
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, TokenFile), []byte("{}"), 0o644)
	for i := 0; i < 3; i++ {
		tok.AccessToken = fmt.Sprintf("00Dxx!secretAT%d", i)
		if err := st.save(tok); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(st.path())
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode().Perm())
		}
		got, err := st.load()
		if err != nil || got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken || !got.IssuedAt.Equal(tok.IssuedAt) {
			t.Fatalf("round trip: %v %v", got, err)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != TokenFile {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if tok.OrgID() != "00D000000000001AAA" || tok.UserID() != "005000000000001AAA" {
		t.Errorf("ids %q %q", tok.OrgID(), tok.UserID())
	}
	// Printing or logging a token never shows the secrets.
	var sb syncBuffer
	slog.New(slog.NewTextHandler(&sb, nil)).Info("tok", "token", *tok, "ptr", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", *tok, *tok, *tok, tok), sb.String()} {
		if strings.Contains(s, "secret") {
			t.Errorf("secret printed: %s", s)
		}
	}
	// A failed write leaves the old file intact.
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 {
		if err := st.save(&Token{AccessToken: "new"}); err == nil {
			t.Fatal("save into read-only dir succeeded")
		}
		if got, _ := st.load(); got == nil || got.AccessToken != tok.AccessToken {
			t.Fatal("old token lost")
		}
	}
	os.Chmod(dir, 0o700)
	if err := st.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.path()); !os.IsNotExist(err) {
		t.Fatal("not removed")
	}
}

func TestIssuedAt(t *testing.T) {
	if got := parseIssuedAt("1278448832702"); !got.Equal(time.UnixMilli(1278448832702)) {
		t.Fatal(got)
	}
	if got := parseIssuedAt("1278448832"); !got.Equal(time.Unix(1278448832, 0)) {
		t.Fatal(got)
	}
	if !parseIssuedAt("junk").IsZero() || !parseIssuedAt(nil).IsZero() {
		t.Fatal("junk")
	}
}

// A token file that its group or others can read is made 0600 again when
// it is loaded, with a warning naming the file.
func TestTokenStoreRepairsAnOpenMode(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	st := tokenStore{dir: dir, log: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := st.save(&Token{AccessToken: "00Dxx!secretAT", InstanceURL: "https://x.my.salesforce.com"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(st.path(), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := st.load()
	if err != nil || tok.AccessToken != "00Dxx!secretAT" {
		t.Fatalf("load: %v %v", tok, err)
	}
	fi, err := os.Stat(st.path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after load = %04o, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "level=WARN msg=token.mode_repaired path="+st.path()) || !strings.Contains(logs.String(), "mode_was=0644") {
		t.Errorf("no warning naming the file and its old mode:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "secretAT") {
		t.Error("the warning carries the token")
	}
	logs.Reset()
	if _, err := st.load(); err != nil || logs.Len() != 0 {
		t.Errorf("a 0600 file: err %v, log %q", err, logs.String())
	}
}

// stops8 finds, of eight bytes, the first that rawStr must look at, as
// testing each byte would: every byte value at every position, among
// plain bytes and behind another stop, and random words.
func TestStops8FindsTheFirstByteAsAByteByByteTest(t *testing.T) {
	stop := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	first := func(w [8]byte) int {
		for i, c := range w {
			if stop(c) {
				return i
			}
		}
		return 8
	}
	check := func(w [8]byte) {
		t.Helper()
		want := first(w)
		m := stops8(binary.LittleEndian.Uint64(w[:]))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if got != want {
			t.Fatalf("%q: first stop at %d, want %d", w[:], got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{'a', ' ', '~', 0x1f, 0x21, '"' + 1, '\\' + 1, 0x7f} {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				check(w)
				if pos < 7 { // a stop after this byte must not hide it, nor show before it
					w[7] = '"'
					check(w)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64()&0x7f7f7f7f7f7f7f7f|r.Uint64()&r.Uint64()&r.Uint64()&0x8080808080808080)
		check(w)
	}
}
