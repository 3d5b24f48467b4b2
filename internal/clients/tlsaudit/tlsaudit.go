// Package tlsaudit makes a backend connection without certificate
// verification (a config's insecureSkipTLSVerify) visible: every such TLS
// connection is logged as a warning and counted in
// microcloud_insecure_tls_connections_total, so a site left insecure after a
// lab set-up shows up on a dashboard, not only in its config.
package tlsaudit

import (
	"crypto/tls"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var insecureConnections = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_insecure_tls_connections_total",
	Help: "TLS connections made with certificate verification off (insecureSkipTLSVerify), by backend and endpoint.",
}, []string{"backend", "endpoint"})

func init() { metrics.Registry.MustRegister(insecureConnections) }

// Insecure turns certificate verification off in c for endpoint and hooks
// every connection's handshake to warn and count (tls calls
// VerifyConnection even when InsecureSkipVerify is set).
func Insecure(c *tls.Config, backend, endpoint string) {
	c.InsecureSkipVerify = true // only when the config says so explicitly; warned and counted below
	log := logf.Log.WithName("tls")
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		insecureConnections.WithLabelValues(backend, endpoint).Inc()
		log.Info("WARNING: connected without verifying the server's certificate (insecureSkipTLSVerify is set): anyone on the path can read and change this traffic",
			"backend", backend, "endpoint", endpoint, "serverName", cs.ServerName, "peerCertificates", len(cs.PeerCertificates))
		return nil
	}
}

// Count is how many insecure connections were made to endpoint (tests).
func Count(backend, endpoint string) float64 {
	var m dto.Metric
	if err := insecureConnections.WithLabelValues(backend, endpoint).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
