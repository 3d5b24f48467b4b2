package proxmox

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_proxmox_api_requests_total",
	Help: "Proxmox VE API requests sent, by site (provider config), method and HTTP status class.",
}, []string{"site", "method", "code"})

var viewRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_proxmox_cluster_view_refreshes_total",
	Help: "GET /cluster/resources calls made to refresh a site's shared cluster view.",
}, []string{"site"})

func init() {
	metrics.Registry.MustRegister(apiRequests, viewRefreshes)
}

// requestCounter counts every request a client sends.
type requestCounter struct {
	site  string
	total atomic.Uint64
	next  http.RoundTripper
}

func (r *requestCounter) wrap(next http.RoundTripper) http.RoundTripper {
	r.next = next
	return r
}

func (r *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	r.total.Add(1)
	res, err := r.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = string(rune('0'+res.StatusCode/100)) + "xx"
	}
	apiRequests.WithLabelValues(r.site, req.Method, code).Inc()
	return res, err
}
