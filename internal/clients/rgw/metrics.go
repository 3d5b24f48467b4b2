package rgw

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// requestsTotal counts the requests the provider sends to radosgw, like
// microcloud_ceph_commands_total does for mon and mgr commands.
var requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_rgw_requests_total",
	Help: "Requests sent to the RADOS Gateway, by API (admin or s3), HTTP method and result.",
}, []string{"api", "method", "result"})

func init() { metrics.Registry.MustRegister(requestsTotal) }

func observe(req *http.Request, resp *http.Response, err error) {
	api := "s3"
	if strings.HasPrefix(req.URL.Path, "/admin/") {
		api = "admin"
	}
	result := "ok"
	switch {
	case err != nil:
		result = "error"
	case resp.StatusCode == http.StatusNotFound:
		result = "not-found"
	case resp.StatusCode >= 400:
		result = "error"
	}
	requestsTotal.WithLabelValues(api, req.Method, result).Inc()
}
