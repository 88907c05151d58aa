package functions

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmfaas/wasmfaas/host"
)

// metrics are the call path's Prometheus collectors.
type metrics struct {
	calls    *prometheus.CounterVec
	redeliv  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	pools    *poolCollector
}

func newMetrics(c *Catalog) *metrics {
	return &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmfaas_calls_total", Help: "Calls by function and status.",
		}, []string{"function", "status"}),
		redeliv: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmfaas_redeliveries_total",
			Help: "Calls on an event delivered before (a retry after a failure, or a redelivery after a crash or a lost ack), by function.",
		}, []string{"function"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wasmfaas_call_duration_seconds", Help: "Call duration by function.",
			Buckets: []float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10},
		}, []string{"function"}),
		pools: &poolCollector{c: c},
	}
}

func (m *metrics) observe(info host.ExecutionInfo) {
	m.calls.WithLabelValues(info.Function, string(info.Status)).Inc()
	if info.Redelivered {
		m.redeliv.WithLabelValues(info.Function).Inc()
	}
	m.duration.WithLabelValues(info.Function).Observe(info.Duration().Seconds())
}

// Collectors returns the catalog's metrics: calls by function and status,
// redelivered calls by function, call durations, and the instance pools' counters.
func (c *Catalog) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.metrics.calls, c.metrics.redeliv, c.metrics.duration, c.metrics.pools}
}

// poolCollector reads the pools' counters at scrape time.
type poolCollector struct{ c *Catalog }

var (
	descWarm  = prometheus.NewDesc("wasmfaas_instances_warm", "Idle instances ready for a call.", []string{"function"}, nil)
	descBusy  = prometheus.NewDesc("wasmfaas_instances_busy", "Calls holding an instance.", []string{"function"}, nil)
	descWaits = prometheus.NewDesc("wasmfaas_pool_waits_total", "Calls that waited for a free instance.", []string{"function"}, nil)
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWarm
	ch <- descBusy
	ch <- descWaits
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range p.c.List() {
		st := f.Stats
		ch <- prometheus.MustNewConstMetric(descWarm, prometheus.GaugeValue, float64(max(st.Instances-st.Busy, 0)), f.Name)
		ch <- prometheus.MustNewConstMetric(descBusy, prometheus.GaugeValue, float64(st.Busy), f.Name)
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(st.Waits), f.Name)
	}
}
