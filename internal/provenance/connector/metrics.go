package connector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/wal"
)

// Metrics of the connector.
type Metrics struct {
	Appended       prometheus.Counter
	Transactions   prometheus.Counter
	Committed      prometheus.Counter
	SubmitFailures prometheus.Counter
}

// NewMetrics registers the connector's metrics (and gauges reading the WAL) with reg.
func NewMetrics(reg prometheus.Registerer, w *wal.WAL) *Metrics {
	m := &Metrics{
		Appended: prometheus.NewCounter(prometheus.CounterOpts{Name: "provenance_records_appended_total",
			Help: "Records appended to the write-ahead log (duplicates excluded)."}),
		Transactions: prometheus.NewCounter(prometheus.CounterOpts{Name: "provenance_ledger_commits_total",
			Help: "PutBatch transactions committed on the ledger."}),
		Committed: prometheus.NewCounter(prometheus.CounterOpts{Name: "provenance_ledger_records_committed_total",
			Help: "Records in committed PutBatch transactions (including ones the ledger already had)."}),
		SubmitFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "provenance_ledger_submit_failures_total",
			Help: "PutBatch submissions that failed and will be retried."}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "provenance_wal_queue_depth",
		Help: "Records in the write-ahead log not yet committed on the ledger."},
		func() float64 { return float64(w.Depth()) })
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "provenance_wal_oldest_unsent_age_seconds",
		Help: "Age of the oldest record not yet committed on the ledger (0 when none)."},
		func() float64 {
			t, err := w.OldestUnsent()
			if err != nil || t.IsZero() {
				return 0
			}
			return time.Since(t).Seconds()
		})
	if reg != nil {
		reg.MustRegister(m.Appended, m.Transactions, m.Committed, m.SubmitFailures, depth, age)
	}
	return m
}
