package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// fullState is a stateSource with every gauge present.
type fullState struct{}

func (fullState) snapshot(context.Context) (*statusJSON, error) {
	now := time.Now()
	lag := 12.5
	return &statusJSON{OK: true, CheckedAt: jsonTime(now), APIUsed: 10, APILimit: 100, Objects: []objectStatus{{
		Object: "Contact", Table: "customers", LastCycle: &cycleJSON{OK: true},
		LastSuccess: jsonTime(now), Watermark: jsonTime(now), WatermarkLagS: &lag,
		OutboxRows: 1, OutboxEntries: 1, OutboxOldest: jsonTime(now.Add(-time.Minute)),
	}}}, nil
}

func (fullState) usage() syncd.Usage { return syncd.Usage{Used: 10, Limit: 100} }

// exposedMetrics are the names of the series syncd serves: each family,
// and for histograms their _bucket, _sum and _count.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := newMetrics(fullState{})
	m.observe(syncd.Report{Objects: []syncd.ObjectReport{{Object: "Contact"}, {Object: "Account", Err: errors.New("failed")}}}, time.Second)
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	return names
}

// Every syncd_* metric syncd exposes is in README's metrics table.
func TestREADMEListsEveryMetric(t *testing.T) {
	section := readmeSection(t, "## Health, metrics and the status page")
	var missing []string
	for name := range exposedMetrics(t) {
		if strings.HasPrefix(name, "syncd_") && !strings.Contains(section, "`"+name) &&
			!strings.Contains(section, "`"+strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")+"`") {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README's metrics table lacks %v", missing)
	}
	for _, m := range regexp.MustCompile("`(syncd_[a-z_]+)").FindAllStringSubmatch(section, -1) {
		if !exposedMetrics(t)[m[1]] {
			t.Errorf("README lists %s, which syncd does not expose", m[1])
		}
	}
}

var metricName = regexp.MustCompile(`\b((?:syncd|go|process)_[a-z_]+)\b`)

// The dashboard and the alert rules in contrib/ name only metrics that
// syncd exposes, and every alert says how severe it is and what to do.
func TestContribUsesOnlyExposedMetrics(t *testing.T) {
	exposed := exposedMetrics(t)
	check := func(where, expr string) {
		for _, m := range metricName.FindAllString(expr, -1) {
			if !exposed[m] {
				t.Errorf("%s uses %s, which syncd does not expose: %s", where, m, expr)
			}
		}
	}

	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "contrib/prometheus/syncd-alerts.yaml")), &rules); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			check("alert "+r.Alert, r.Expr)
			if _, err := time.ParseDuration(r.For); err != nil || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks for, severity, summary or description", r.Alert)
			}
		}
	}
	if n < 8 {
		t.Errorf("%d alert rules", n)
	}
	uses := strings.Join(func() []string {
		var all []string
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				all = append(all, r.Expr)
			}
		}
		return all
	}(), "\n")
	for _, m := range []string{"syncd_ready", "syncd_watermark_lag_seconds", "syncd_rejected_rows", "syncd_open_conflicts",
		"syncd_outbox_oldest_age_seconds", "syncd_last_success_timestamp_seconds", "syncd_api_usage_calls"} {
		if !strings.Contains(uses, m) {
			t.Errorf("no alert uses %s", m)
		}
	}

	var dash struct {
		Title  string
		Panels []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		}
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "contrib/grafana/syncd.json")), &dash); err != nil {
		t.Fatal(err)
	}
	graphs := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		graphs++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			check("panel "+p.Title, q.Expr)
		}
	}
	if graphs < 10 {
		t.Errorf("the dashboard has %d panels", graphs)
	}
}

// Rejected rows a cycle sent again because their next retry had come are
// counted per object, beside the rows it rejected.
func TestRetriedRowsAreCounted(t *testing.T) {
	m := newMetrics(fullState{})
	m.observe(syncd.Report{Objects: []syncd.ObjectReport{{Object: "Contact", Retried: 2, Failed: 1}}}, time.Second)
	m.observe(syncd.Report{Objects: []syncd.ObjectReport{{Object: "Contact", Retried: 1}, {Object: "Account"}}}, time.Second)
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "syncd_rows_retried_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
		}
	}
	if got["Contact"] != 3 || got["Account"] != 0 || len(got) != 2 {
		t.Errorf("syncd_rows_retried_total = %v, want Contact 3 and Account 0", got)
	}
}
