package proxmox

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	backend "github.com/microcloud-dev/provider-microcloud/internal/clients/fault"
)

var apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_proxmox_api_requests_total",
	Help: "Proxmox VE API requests sent, by site (provider config), method and HTTP status class.",
}, []string{"site", "method", "code"})

var viewRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_proxmox_cluster_view_refreshes_total",
	Help: "GET /cluster/resources calls made to refresh a site's shared cluster view.",
}, []string{"site"})

var viewWakes = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_proxmox_view_wakes_total",
	Help: "Settled guest resources reconciled because the site's cluster view showed their guest change, leave the view, or the site stop or start answering.",
}, []string{"site"})

var watchedGuests = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "microcloud_proxmox_watched_guests",
	Help: "Settled guests of a site whose resources are reconciled only on a change in the cluster view (and at their drift re-read), not every poll.",
}, []string{"site"})

func init() {
	metrics.Registry.MustRegister(apiRequests, viewRefreshes, viewWakes, watchedGuests)
}

// requestCounter counts every request a client sends.
type requestCounter struct {
	site     string
	total    atomic.Uint64
	answered atomic.Int64 // unix nanoseconds of the last answer (any status)
	down     atomic.Bool  // the last request could not connect
	onDown   func()       // called when a request cannot connect after one that could
	next     http.RoundTripper
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
		r.answered.Store(time.Now().UnixNano())
		r.down.Store(false)
	} else if backend.Unreachable(err) && !r.down.Swap(true) && r.onDown != nil {
		r.onDown()
	}
	apiRequests.WithLabelValues(r.site, req.Method, code).Inc()
	return res, err
}
