package outbound

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// statsTTL: the outbox gauges are read from the database at most this
// often, however many Prometheus servers scrape.
const statsTTL = 5 * time.Second

// statsCollector reports the outbox from the database at scrape time.
type statsCollector struct {
	st  *store.Store
	log *slog.Logger

	deliveries *prometheus.Desc
	oldest     *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	counts map[store.DeliveryState]int64
	age    float64
}

func newStatsCollector(st *store.Store, log *slog.Logger) *statsCollector {
	return &statsCollector{
		st: st, log: log,
		deliveries: prometheus.NewDesc("vkyc_bank_webhook_deliveries",
			"Webhook deliveries to the bank in the outbox by status (pending, delivered, failed).", []string{"status"}, nil),
		oldest: prometheus.NewDesc("vkyc_bank_webhook_oldest_pending_seconds",
			"Age of the oldest pending webhook delivery's retry window (0 when none is pending): how far behind the bank is.", nil, nil),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deliveries
	ch <- c.oldest
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > statsTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		counts, oldest, err := c.st.DeliveryStats(ctx)
		cancel()
		if err != nil {
			c.log.Warn("reading the webhook outbox for metrics failed", "error", err)
			return
		}
		c.counts, c.at, c.age = counts, time.Now(), 0
		if !oldest.IsZero() {
			c.age = time.Since(oldest).Seconds()
		}
	}
	for _, s := range store.AllDeliveryStates {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(c.counts[s]), string(s))
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, c.age)
}
