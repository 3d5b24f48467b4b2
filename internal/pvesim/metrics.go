package pvesim

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics counts requests per route template, method and status code on a
// registry of the simulator's own, so several simulators can run in one
// process.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvesim_requests_total",
			Help: "API requests by route template, method and HTTP status (0 = response dropped).",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pvesim_request_duration_seconds",
			Help:    "Time to answer API requests by route template and method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"route", "method"}),
	}
	m.reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *metrics) observe(route, method string, code int, start time.Time) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry exposes the simulator's metrics registry (for tests and for
// embedding in another /metrics endpoint).
func (s *Simulator) Registry() *prometheus.Registry { return s.metrics.reg }

// RequestCounts sums pvesim_requests_total per "METHOD /route/template"
// over all status codes, for tests that count a client's calls.
func (s *Simulator) RequestCounts() map[string]float64 {
	out := map[string]float64{}
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != "pvesim_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var route, method string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					route = l.GetValue()
				case "method":
					method = l.GetValue()
				}
			}
			out[method+" "+route] += m.GetCounter().GetValue()
		}
	}
	return out
}
