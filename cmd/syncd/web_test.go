package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/sf"
	"github.com/syncd-dev/syncd/internal/sfemu"
)

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// get fetches a URL and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// metricValue is the value of the sample whose name and labels are given
// exactly as exposed (`name{label="v"}`), or NaN's stand-in -1 if absent.
func metricValue(body, sample string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// /healthz, /readyz, /status.json and the gauges, read from the database
// at scrape time, apply the rules of `syncd status`, which agrees with
// them at each step.
func TestDaemon_HealthReadinessAndGauges(t *testing.T) {
	f := newFixture(t)
	addr := freeAddr(t)
	f.writeConfig("", "metrics_listen: "+addr)
	f.makeConflictAndRejectedRow()
	base := "http://" + addr

	d := f.startDaemon()
	d.waitLog("object.synced", 1, 20*time.Second) // the cycle at start-up
	// A row written after it waits in the outbox: the gauges hold what the
	// database says at scrape time (they are not fed by cycle reports).
	f.exec(`INSERT INTO customers (first_name, last_name) VALUES ('Grace', 'Hopper')`)
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz after a good cycle = %d %q", code, body)
	}
	_, metrics := get(t, base+"/metrics")
	for sample, want := range map[string]float64{
		`syncd_ready`:                            1,
		`syncd_rejected_rows{object="Contact"}`:  1,
		`syncd_open_conflicts{object="Contact"}`: 1,
		`syncd_outbox_rows{object="Contact"}`:    1,
		`syncd_last_cycle_ok{object="Contact"}`:  1,
		`syncd_state_read_ok`:                    1,
		`syncd_api_limit_calls`:                  sfemu.DefaultDailyLimit,
	} {
		if got := metricValue(metrics, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
	for _, sample := range []string{`syncd_watermark_lag_seconds{object="Contact"}`, `syncd_last_success_timestamp_seconds{object="Contact"}`,
		`syncd_outbox_oldest_age_seconds{object="Contact"}`, `syncd_api_usage_calls`, `go_goroutines`, `process_resident_memory_bytes`} {
		if metricValue(metrics, sample) < 0 {
			t.Errorf("/metrics lacks %s", sample)
		}
	}
	if !regexp.MustCompile(`syncd_build_info\{commit="[^"]*",goversion="go[^"]+",version="[^"]+"\} 1`).MatchString(metrics) {
		t.Error("/metrics lacks syncd_build_info")
	}
	var st statusJSON
	if _, body := get(t, base+"/status.json"); json.Unmarshal([]byte(body), &st) != nil || !st.OK || st.Objects[0].RejectedRows != 1 {
		t.Errorf("/status.json = %s", body)
	}
	// Rejected rows make the state degraded, not failed: still ready.
	if st.State != stateDegraded {
		t.Errorf("/status.json state = %q, want %q", st.State, stateDegraded)
	}
	if _, _, code := f.syncd("status", "-c", f.cfgPath); code != exitRejected {
		t.Errorf("syncd status exits %d while /readyz says ready with a rejected row, want %d (degraded)", code, exitRejected)
	}

	// A failed cycle: not ready, with the reason, by every measure.
	f.emu.SetDailyLimit(0)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.failed", 1, 20*time.Second)
	code, body := get(t, base+"/readyz")
	if code != 503 || !strings.Contains(body, "Contact: last cycle failed") {
		t.Errorf("/readyz after a failed cycle = %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz after a failed (not stalled) cycle = %d, want 200: the process is alive", code)
	}
	_, metrics = get(t, base+"/metrics")
	if metricValue(metrics, `syncd_ready`) != 0 || metricValue(metrics, `syncd_last_cycle_ok{object="Contact"}`) != 0 {
		t.Errorf("after a failed cycle: syncd_ready %v, syncd_last_cycle_ok %v, want 0 and 0",
			metricValue(metrics, `syncd_ready`), metricValue(metrics, `syncd_last_cycle_ok{object="Contact"}`))
	}
	if out, _, code := f.syncd("status", "-c", f.cfgPath); code != exitFail || !strings.Contains(out, "PROBLEM: Contact: last cycle failed") {
		t.Errorf("syncd status exits %d while /readyz says not ready:\n%s", code, out)
	}

	// It recovers: ready again, and the pushed row left the outbox.
	f.emu.SetDailyLimit(sfemu.DefaultDailyLimit)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.synced", 2, 20*time.Second)
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz after recovery = %d %q", code, body)
	}
	_, metrics = get(t, base+"/metrics")
	if got := metricValue(metrics, `syncd_outbox_rows{object="Contact"}`); got != 0 {
		t.Errorf("syncd_outbox_rows after the push = %v, want 0", got)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

// When syncd's own tables cannot be read (here the application dropped
// one of them), the endpoints that report the data's state answer 503 and
// say why, the gauges say the read failed, and /healthz still answers
// that the process is alive.
func TestDaemon_StateThatCannotBeReadIs503(t *testing.T) {
	f := newFixture(t)
	addr := freeAddr(t)
	f.writeConfig("", "metrics_listen: "+addr)
	base := "http://" + addr
	d := f.startDaemon()
	d.waitLog("object.synced", 1, 20*time.Second)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz after a good cycle = %d", code)
	}

	f.exec(`DROP TABLE _syncd_runs`)
	for _, path := range []string{"/readyz", "/status.json", "/"} {
		code, body := get(t, base+path)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot read syncd's state") || !strings.Contains(body, "_syncd_runs") {
			t.Errorf("%s with a table of syncd's dropped = %d %q, want 503 naming the table", path, code, body)
		}
	}
	if code, body := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d %q, want 200: the process is alive", code, body)
	}
	_, metrics := get(t, base+"/metrics")
	if got := metricValue(metrics, `syncd_state_read_ok`); got != 0 {
		t.Errorf("syncd_state_read_ok = %v, want 0", got)
	}
	if _, _, code := f.syncd("status", "-c", f.cfgPath); code == 0 {
		t.Error("syncd status exits 0 while syncd's state cannot be read")
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

// metrics_listen on an address other hosts can reach is logged as a
// warning that names what it exposes.
func TestDaemon_MetricsOnANonLoopbackAddressWarns(t *testing.T) {
	f := newFixture(t)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	f.writeConfig("", "metrics_listen: 0.0.0.0:"+port)
	d := f.startDaemon()
	d.waitLog("metrics.exposed", 1, 10*time.Second)
	logs := d.logs.String()
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"metrics.exposed"`) {
			line = l
		}
	}
	for _, want := range []string{`"level":"WARN"`, "0.0.0.0:" + port, "/metrics", "/status.json", "status page", "rejected rows"} {
		if !strings.Contains(line, want) {
			t.Errorf("the warning lacks %q: %s", want, line)
		}
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)

	// On loopback: no warning.
	f.writeConfig("", "metrics_listen: "+freeAddr(t))
	d = f.startDaemon()
	d.waitLog("metrics.listening", 1, 10*time.Second)
	if strings.Contains(d.logs.String(), "metrics.exposed") {
		t.Error("a loopback listener was warned about")
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}

const chromiumPath = "/usr/bin/chromium"

// headless runs Debian's chromium, headless, on url with extra flags and
// returns its standard output.
func headless(t *testing.T, url string, flags ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-background-networking", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, chromiumPath, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", flags, err, errb.String())
	}
	return out.Bytes()
}

// screenshot renders url in chromium at 1280×1000 and returns the image.
func screenshot(t *testing.T, url, save string) image.Image {
	t.Helper()
	headless(t, url, "--window-size=1280,1000", "--screenshot="+save)
	fh, err := os.Open(save)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// countColor counts the pixels within a small distance of rgb.
func countColor(img image.Image, r, g, b int) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			dr, dg, db := int(pr>>8)-r, int(pg>>8)-g, int(pb>>8)-b
			if dr*dr+dg*dg+db*db < 100 {
				n++
			}
		}
	}
	return n
}

// The status page at / in a real browser: what a person sees (objects,
// last cycle, rejected rows with Salesforce's reason, open conflicts, a
// green or red banner), and what they must not (secrets, row values).
func TestStatusPageInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing; .ci/run installs it (apt-get install -y chromium)")
		}
		t.Skip("chromium not installed (apt-get install -y chromium)")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	f := newFixture(t)
	addr := freeAddr(t)
	f.writeConfig("", "metrics_listen: "+addr)
	f.makeConflictAndRejectedRow()
	d := f.startDaemon()
	url := "http://" + addr + "/"
	shots := os.Getenv("SYNCD_SCREENSHOTS") // where to keep the screenshots to look at; a temp dir by default
	if shots == "" {
		shots = t.TempDir()
	}

	dom := string(headless(t, url, "--dump-dom"))
	for _, want := range []string{
		"Ready: every object's last cycle succeeded", "Contact", "customers",
		"REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", // the rejected row and Salesforce's reason
		"Email", // the conflicting field
		`<table id="objects">`, `<table id="rejected">`, `<table id="conflicts">`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	tok, err := sf.StoredToken(filepath.Join(f.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range map[string]string{
		"client secret": sfemu.ClientSecret, "access token": tok.AccessToken, "client id": sfemu.ClientID,
		"a conflicting value": "ada@local.example", "a row's value": "Nameless",
	} {
		if strings.Contains(dom, secret) {
			t.Errorf("the page shows %s", what)
		}
	}
	green, red := [3]int{0x1a, 0x7f, 0x37}, [3]int{0xcf, 0x22, 0x2e}
	img := screenshot(t, url, filepath.Join(shots, "status-ready.png"))
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1000 {
		t.Errorf("screenshot is %v", b)
	}
	if n := countColor(img, green[0], green[1], green[2]); n < 5000 {
		t.Errorf("the ready page shows %d green pixels; want the green banner", n)
	}
	if n := countColor(img, red[0], red[1], red[2]); n > 500 {
		t.Errorf("the ready page shows %d red pixels", n)
	}

	// A failed cycle turns the banner red and says why.
	f.emu.SetDailyLimit(0)
	d.signal(syscall.SIGUSR1)
	d.waitLog("object.failed", 1, 20*time.Second)
	dom = string(headless(t, url, "--dump-dom"))
	if !strings.Contains(dom, "Not ready") || !strings.Contains(dom, "Contact: last cycle failed") {
		t.Errorf("the page after a failed cycle does not say so:\n%s", dom)
	}
	img = screenshot(t, url, filepath.Join(shots, "status-failed.png"))
	if n := countColor(img, red[0], red[1], red[2]); n < 5000 {
		t.Errorf("the failed page shows %d red pixels; want the red banner", n)
	}
	if n := countColor(img, green[0], green[1], green[2]); n > 3000 {
		t.Errorf("the failed page still shows %d green pixels", n)
	}
	d.signal(syscall.SIGTERM)
	d.wait(10 * time.Second)
}
