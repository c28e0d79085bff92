package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// metrics are the Prometheus series syncd exposes on metrics_listen:
// counters fed by each cycle's report, gauges read from the database at
// scrape time (so they are right from the first scrape after a restart and
// move during a long cycle), and the Go runtime and process collectors.
type metrics struct {
	reg         *prometheus.Registry
	pulled      *prometheus.CounterVec
	pushed      *prometheus.CounterVec
	failed      *prometheus.CounterVec
	retried     *prometheus.CounterVec
	conflicts   *prometheus.CounterVec
	repaired    *prometheus.CounterVec
	apiCalls    *prometheus.CounterVec
	cycleErrors *prometheus.CounterVec
	duration    prometheus.Histogram
}

// stateSource is what the gauges read at scrape time.
type stateSource interface {
	snapshot(ctx context.Context) (*statusJSON, error)
	usage() syncd.Usage
}

func newMetrics(src stateSource) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		pulled: objectCounter("syncd_rows_pulled_total",
			"Records received from Salesforce."),
		pushed: objectCounter("syncd_rows_pushed_total",
			"Records created, updated or deleted in Salesforce."),
		failed: objectCounter("syncd_rows_failed_total",
			"Rows rejected (new rejected rows): records Salesforce refused permanently, and pulled records the table refused."),
		retried: objectCounter("syncd_rows_retried_total",
			"Rejected rows sent again by themselves because their next retry had come."),
		conflicts: objectCounter("syncd_conflicts_total",
			"Fields changed on both sides since the last sync."),
		repaired: objectCounter("syncd_rows_repaired_total",
			"Local rows a reconciliation changed: updates, creates and deletes the incremental sync had missed."),
		apiCalls: objectCounter("syncd_api_calls_total",
			"Salesforce API calls made by this process."),
		cycleErrors: objectCounter("syncd_object_errors_total",
			"Object cycles that stopped with an error."),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "syncd_cycle_duration_seconds",
			Help: "Duration of whole sync cycles.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
	}
	b := readBuildInfo()
	m.reg.MustRegister(m.pulled, m.pushed, m.failed, m.retried, m.conflicts, m.repaired, m.apiCalls, m.cycleErrors, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncd_build_info",
			Help:        "Always 1; the labels name the running build.",
			ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.Go}},
			func() float64 { return 1 }),
		newStateCollector(src))
	return m
}

// objectCounter is a counter with one series per object.
func objectCounter(name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"object"})
}

// observe records one cycle.
func (m *metrics) observe(rep syncd.Report, took time.Duration) {
	if m == nil {
		return
	}
	m.duration.Observe(took.Seconds())
	for _, o := range rep.Objects {
		m.pulled.WithLabelValues(o.Object).Add(float64(o.Pulled))
		m.pushed.WithLabelValues(o.Object).Add(float64(o.Created + o.Updated + o.Deleted))
		m.failed.WithLabelValues(o.Object).Add(float64(o.Failed))
		m.retried.WithLabelValues(o.Object).Add(float64(o.Retried))
		m.conflicts.WithLabelValues(o.Object).Add(float64(o.Conflicts))
		m.repaired.WithLabelValues(o.Object).Add(float64(o.Repaired))
		m.apiCalls.WithLabelValues(o.Object).Add(float64(o.APICalls))
		if o.Err != nil {
			m.cycleErrors.WithLabelValues(o.Object).Inc()
		}
	}
}

// stateCollector reads the gauges from the database at each scrape.
type stateCollector struct {
	src                                                      stateSource
	ready, outboxRows, outboxAge, rejected, conflicts, lag   *prometheus.Desc
	lastSuccess, lastCycleOK, apiUsed, apiLimit, stateReadOK *prometheus.Desc
}

func newStateCollector(src stateSource) *stateCollector {
	obj := []string{"object"}
	return &stateCollector{
		src: src,
		ready: prometheus.NewDesc("syncd_ready",
			"1 when /readyz answers 200: every object's last cycle succeeded, one succeeded within stale_after, no cycle is stalled.", nil, nil),
		outboxRows: prometheus.NewDesc("syncd_outbox_rows",
			"Local rows with changes waiting to be pushed to Salesforce.", obj, nil),
		outboxAge: prometheus.NewDesc("syncd_outbox_oldest_age_seconds",
			"Age of the oldest change waiting to be pushed (absent while the outbox is empty).", obj, nil),
		rejected: prometheus.NewDesc("syncd_rejected_rows",
			"Rows Salesforce refused (dead letters), waiting for a fix or `syncd retry`.", obj, nil),
		conflicts: prometheus.NewDesc("syncd_open_conflicts",
			"Fields parked by the manual conflict policy, waiting for `syncd conflicts resolve`.", obj, nil),
		lag: prometheus.NewDesc("syncd_watermark_lag_seconds",
			"How far the pull watermark is behind now; it moves with every committed page.", obj, nil),
		lastSuccess: prometheus.NewDesc("syncd_last_success_timestamp_seconds",
			"Unix time of the end of the object's last cycle that synced it completely.", obj, nil),
		lastCycleOK: prometheus.NewDesc("syncd_last_cycle_ok",
			"1 when the object's last cycle synced it completely, 0 when it failed.", obj, nil),
		apiUsed: prometheus.NewDesc("syncd_api_usage_calls",
			"The org's API calls used in the rolling day, from Sforce-Limit-Info.", nil, nil),
		apiLimit: prometheus.NewDesc("syncd_api_limit_calls",
			"The org's daily API allocation.", nil, nil),
		stateReadOK: prometheus.NewDesc("syncd_state_read_ok",
			"1 when the scrape could read syncd's state from the database.", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ready, c.outboxRows, c.outboxAge, c.rejected, c.conflicts, c.lag,
		c.lastSuccess, c.lastCycleOK, c.apiUsed, c.apiLimit, c.stateReadOK} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.src.snapshot(ctx)
	if err != nil {
		gauge(c.stateReadOK, 0)
		gauge(c.ready, 0)
		return
	}
	gauge(c.stateReadOK, 1)
	gauge(c.ready, boolGauge(st.OK))
	now := st.CheckedAt.Time()
	for _, o := range st.Objects {
		gauge(c.outboxRows, float64(o.OutboxRows), o.Object)
		if t := o.OutboxOldest.Time(); !t.IsZero() && o.OutboxEntries > 0 {
			gauge(c.outboxAge, now.Sub(t).Seconds(), o.Object)
		}
		gauge(c.rejected, float64(o.RejectedRows), o.Object)
		gauge(c.conflicts, float64(o.OpenConflicts), o.Object)
		if o.WatermarkLagS != nil {
			gauge(c.lag, *o.WatermarkLagS, o.Object)
		}
		if t := o.LastSuccess.Time(); !t.IsZero() {
			gauge(c.lastSuccess, float64(t.UnixMilli())/1000, o.Object)
		}
		if o.LastCycle != nil {
			gauge(c.lastCycleOK, boolGauge(o.LastCycle.OK), o.Object)
		}
	}
	used, limit := st.APIUsed, st.APILimit
	if u := c.src.usage(); u.Limit > 0 {
		used, limit = u.Used, u.Limit // this process's latest, fresher than the last stored run
	}
	if limit > 0 {
		gauge(c.apiUsed, float64(used))
		gauge(c.apiLimit, float64(limit))
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
