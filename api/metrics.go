package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	webhooks *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, st *store.Store, log *slog.Logger) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		if err := reg.Register(collectors.NewGoCollector()); err != nil {
			return nil, err
		}
		if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, err
		}
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vkyc_http_request_duration_seconds",
			Help:    "HTTP requests by method, route template and status, with their duration.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vkyc_webhooks_received_total",
			Help: "100ms webhook deliveries by result (accepted, duplicate, conflict, unauthorized, malformed, too_large, store_failed).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.webhooks, newStoreCollector(st, log)} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every result shows from the start, so rate() works before the first event.
	for _, r := range []string{webhookAccepted, webhookDuplicate, webhookConflict, webhookUnauthorized, webhookMalformed, webhookTooLarge, webhookStoreFailed} {
		m.webhooks.WithLabelValues(r)
	}
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 10 * time.Second})
}

func (m *metrics) observeHTTP(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Observe(d.Seconds())
}

func (m *metrics) webhook(result string) { m.webhooks.WithLabelValues(result).Inc() }

// storeCollector reports gauges read from the database at scrape time. The
// answer is cached for storeScrapeTTL so that several Prometheus servers, or
// a scrape storm, cost the database one query each period.
type storeCollector struct {
	st  *store.Store
	log *slog.Logger

	inbox *prometheus.Desc
	cases *prometheus.Desc
	up    *prometheus.Desc

	mu      sync.Mutex
	at      time.Time
	inboxN  map[store.InboxState]int64
	casesN  map[kyc.Status]int64
	lastErr error
}

const (
	storeScrapeTTL     = 10 * time.Second
	storeScrapeTimeout = 5 * time.Second
)

func newStoreCollector(st *store.Store, log *slog.Logger) *storeCollector {
	return &storeCollector{
		st:  st,
		log: log,
		inbox: prometheus.NewDesc("vkyc_webhook_inbox_rows",
			"Webhook inbox rows by state; state=\"pending\" is what the dispatcher still has to deliver.", []string{"state"}, nil),
		cases: prometheus.NewDesc("vkyc_cases",
			"Cases by status, from the database projections.", []string{"status"}, nil),
		up: prometheus.NewDesc("vkyc_store_metrics_up",
			"1 when the last read of the database gauges succeeded.", nil, nil),
	}
}

func (sc *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sc.inbox
	ch <- sc.cases
	ch <- sc.up
}

func (sc *storeCollector) Collect(ch chan<- prometheus.Metric) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if time.Since(sc.at) >= storeScrapeTTL {
		sc.refresh()
	}
	up := 1.0
	if sc.lastErr != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(sc.up, prometheus.GaugeValue, up)
	for st, n := range sc.inboxN {
		ch <- prometheus.MustNewConstMetric(sc.inbox, prometheus.GaugeValue, float64(n), string(st))
	}
	for st, n := range sc.casesN {
		ch <- prometheus.MustNewConstMetric(sc.cases, prometheus.GaugeValue, float64(n), string(st))
	}
}

func (sc *storeCollector) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), storeScrapeTimeout)
	defer cancel()
	sc.at = time.Now()
	inbox, err := sc.st.InboxStats(ctx)
	if err == nil {
		sc.inboxN = inbox
		var cases map[kyc.Status]int64
		cases, err = sc.st.CountCasesByStatus(ctx)
		if err == nil {
			sc.casesN = cases
		}
	}
	if err != nil && (sc.lastErr == nil || !errors.Is(err, sc.lastErr)) {
		sc.log.Warn("metrics: could not read the database gauges", "error", err)
	}
	sc.lastErr = err
}
