package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// metrics are the Prometheus series syncd exposes on metrics_listen.
type metrics struct {
	reg         *prometheus.Registry
	pulled      *prometheus.CounterVec
	pushed      *prometheus.CounterVec
	failed      *prometheus.CounterVec
	conflicts   *prometheus.CounterVec
	apiCalls    *prometheus.CounterVec
	apiUsed     prometheus.Gauge
	apiLimit    prometheus.Gauge
	lastSuccess *prometheus.GaugeVec
	lag         *prometheus.GaugeVec
	cycleErrors *prometheus.CounterVec
	duration    prometheus.Histogram
}

func newMetrics() *metrics {
	byObject := []string{"object"}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		pulled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_rows_pulled_total",
			Help: "Records received from Salesforce."}, byObject),
		pushed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_rows_pushed_total",
			Help: "Records created, updated or deleted in Salesforce."}, byObject),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_rows_failed_total",
			Help: "Records Salesforce refused permanently (dead letters)."}, byObject),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_conflicts_total",
			Help: "Fields changed on both sides since the last sync."}, byObject),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_api_calls_total",
			Help: "Salesforce API calls made by this process."}, byObject),
		apiUsed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_api_usage_calls",
			Help: "The org's API calls used in the rolling day, from Sforce-Limit-Info."}),
		apiLimit: prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncd_api_limit_calls",
			Help: "The org's daily API allocation."}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "syncd_last_success_timestamp_seconds",
			Help: "Unix time of the last cycle that synced the object completely."}, byObject),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "syncd_watermark_lag_seconds",
			Help: "How far the pull watermark is behind now."}, byObject),
		cycleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncd_object_errors_total",
			Help: "Object cycles that stopped with an error."}, byObject),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "syncd_cycle_duration_seconds",
			Help: "Duration of whole sync cycles.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
	}
	m.reg.MustRegister(m.pulled, m.pushed, m.failed, m.conflicts, m.apiCalls, m.apiUsed, m.apiLimit,
		m.lastSuccess, m.lag, m.cycleErrors, m.duration)
	return m
}

// observe records one cycle.
func (m *metrics) observe(rep syncd.Report, took time.Duration, now time.Time) {
	if m == nil {
		return
	}
	m.duration.Observe(took.Seconds())
	for _, o := range rep.Objects {
		m.pulled.WithLabelValues(o.Object).Add(float64(o.Pulled))
		m.pushed.WithLabelValues(o.Object).Add(float64(o.Created + o.Updated + o.Deleted))
		m.failed.WithLabelValues(o.Object).Add(float64(o.Failed))
		m.conflicts.WithLabelValues(o.Object).Add(float64(o.Conflicts))
		m.apiCalls.WithLabelValues(o.Object).Add(float64(o.APICalls))
		if o.APILimit > 0 {
			m.apiUsed.Set(float64(o.APIUsed))
			m.apiLimit.Set(float64(o.APILimit))
		}
		if !o.Watermark.Time.IsZero() {
			m.lag.WithLabelValues(o.Object).Set(now.Sub(o.Watermark.Time).Seconds())
		}
		if o.Err != nil {
			m.cycleErrors.WithLabelValues(o.Object).Inc()
		} else {
			m.lastSuccess.WithLabelValues(o.Object).Set(float64(o.Finished.Unix()))
		}
	}
}

// serve exposes /metrics on addr until ctx ends.
func (m *metrics) serve(ctx context.Context, addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics.failed", "err", err)
		}
	}()
	logger.Info("metrics.listening", "addr", ln.Addr().String())
	return nil
}
