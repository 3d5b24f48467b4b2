package ceph

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// commandsTotal counts the commands the provider sends to Ceph, so the cost of observation can be
// watched: in steady state it grows with the number of sites and poll intervals, not with the
// number of managed pools, rules and buckets.
var commandsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_ceph_commands_total",
	Help: "Mon and mgr commands sent to Ceph, by command prefix and result.",
}, []string{"prefix", "result"})

func init() { metrics.Registry.MustRegister(commandsTotal) }

func observeCommand(prefix string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	commandsTotal.WithLabelValues(prefix, result).Inc()
}
