package wal

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkAppend: `senders` concurrent appenders (as many reconciles sending at once),
// each extending its own resource's chain; every Append returns only after its commit's
// fsync. "group" is the WAL's group commit, "bbolt-batch" the same append through bbolt's
// own Batch (what the WAL used before: a group is cut every MaxBatchDelay, 10 ms).
// Reports appended records/s and, for "group", records per commit.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name    string
		senders int
	}{{"group", 1}, {"bbolt-batch", 1}, {"group", 10}, {"bbolt-batch", 10}, {"group", 50}, {"bbolt-batch", 50}} {
		senders := c.senders
		b.Run(fmt.Sprintf("%s/senders-%d", c.name, senders), func(b *testing.B) {
			w, err := Open(filepath.Join(b.TempDir(), "wal.db"))
			require.NoError(b, err)
			defer w.Close() //nolint:errcheck // benchmark
			per := max(b.N/senders, 1)
			b.ResetTimer()
			var wg sync.WaitGroup
			for s := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for g := range per {
						r := rec(fmt.Sprintf("r%d", s), int64(g+1))
						var err error
						if c.name == "group" {
							_, _, err = w.Append(r)
						} else {
							err = w.db.Batch((&op{rec: &r}).apply)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(per*senders)/b.Elapsed().Seconds(), "records/s")
			if n := w.commits.Load(); n > 0 {
				b.ReportMetric(float64(per*senders)/float64(n), "records/commit")
			}
		})
	}
}
