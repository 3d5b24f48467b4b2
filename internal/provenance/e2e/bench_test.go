package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkLedger compares one record per transaction with batched transactions on the
// real network. Run with -benchtime=1x: one iteration is the whole workload.
//
//	PROVENANCE_BENCH_RECORDS      records for the concurrent and batched cases (default 10000)
//	PROVENANCE_BENCH_SEQ_RECORDS  records for the sequential one-per-tx case (default 300;
//	                              it is bound by the orderer's 100 ms BatchTimeout per tx)
//	PROVENANCE_BENCH_COMPARE      "name=fabric.env ...": other networks (e.g. one brought up from
//	                              an older commit: today's design) that every batched case also
//	                              runs against, as "<name>:<case>" right before the same case on
//	                              FABRIC_ENV, so one run puts them side by side
func BenchmarkLedger(b *testing.B) {
	f := requireFabric(b)
	lc := f.dial(b)
	n := envInt("PROVENANCE_BENCH_RECORDS", 10000)
	seqN := envInt("PROVENANCE_BENCH_SEQ_RECORDS", 300)
	nets := append(compared(b), network{lc: lc})

	b.Run("one-per-tx/sequential", func(b *testing.B) {
		for range b.N {
			c := sealedChain(b, "Machine.bench.dev/seq-"+nonce(b)+"/vm", seqN)
			b.StartTimer()
			for _, r := range c {
				require.NoError(b, putRetrying(lc, []record.Record{r}))
			}
			b.StopTimer()
		}
		reportRate(b, seqN)
	})
	b.Run("one-per-tx/concurrent-64", func(b *testing.B) {
		for range b.N {
			onePerTxConcurrent(b, lc, n, 64)
		}
		reportRate(b, n)
	})
	for _, net := range nets {
		b.Run(net.prefix+"batched/direct-batch-100", func(b *testing.B) { directBatches(b, net.lc, n) })
	}
	// Batch 100 and 500 with 1, 4 and 16 lanes: 100/4 was the default until the
	// throughput work of issue 22, 100/16 is the default since. PROVENANCE_BENCH_CONNECTOR=
	// "size/lanes ..." picks other rows.
	for _, c := range connectorCases(b) {
		for _, net := range nets {
			b.Run(fmt.Sprintf("%sbatched/connector-batch-%d-lanes-%d", net.prefix, c.size, c.lanes), func(b *testing.B) {
				for range b.N {
					throughConnector(b, net.lc, n, c.size, c.lanes)
				}
				reportRate(b, n)
			})
		}
	}
}

// A network is one the batched cases run against; prefix names it in the rows ("" for
// FABRIC_ENV's).
type network struct {
	prefix string
	lc     *ledger.Client
}

func compared(b *testing.B) []network {
	var out []network
	for _, f := range strings.Fields(os.Getenv("PROVENANCE_BENCH_COMPARE")) {
		name, path, ok := strings.Cut(f, "=")
		require.True(b, ok, "PROVENANCE_BENCH_COMPARE: want name=fabric.env, got %q", f)
		out = append(out, network{prefix: name + ":", lc: loadFabric(b, path).dial(b)})
	}
	return out
}

// directBatches: 100 resources' chains interleaved, 100 records per PutBatch, sequential.
func directBatches(b *testing.B, lc *ledger.Client, n int) {
	for range b.N {
		b.StopTimer() // sealing the records is not the ledger's work
		id := nonce(b)
		var all []record.Record
		chains := make([][]record.Record, 100)
		for w := range chains {
			chains[w] = sealedChain(b, fmt.Sprintf("Machine.bench.dev/direct-%s/vm%d", id, w), n/100)
		}
		for i := range n / 100 {
			for w := range chains {
				all = append(all, chains[w][i])
			}
		}
		b.StartTimer()
		for i := 0; i < len(all); i += 100 {
			require.NoError(b, putRetrying(lc, all[i:min(i+100, len(all))]))
		}
		b.StopTimer()
	}
	reportRate(b, n)
}

// reportRate reports records/s (n records per iteration) and logs the load average when
// the case ended: figures taken on a shared machine mean little without it.
func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	la, err := os.ReadFile("/proc/loadavg")
	if err == nil {
		b.Logf("load average (1, 5, 15 min) at the end: %s", strings.Join(strings.Fields(string(la))[:3], " "))
	}
}

// putRetrying submits rs, retrying a failed submission (as the connector's batcher does)
// up to 50 times, 20 ms apart. Each transaction waits for its commit on the operator's
// peer only; the auditor's peer may not have committed that block yet when the next
// transaction of the same chain asks it to endorse, and then refuses it as out of order.
func putRetrying(lc *ledger.Client, rs []record.Record) error {
	var err error
	for range 50 {
		if _, err = lc.PutBatch(context.Background(), rs); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

type connectorCase struct{ size, lanes int }

func connectorCases(b *testing.B) []connectorCase {
	cs := []connectorCase{{100, 1}, {100, 4}, {500, 1}, {500, 4}, {100, 16}, {500, 16}}
	if v := os.Getenv("PROVENANCE_BENCH_CONNECTOR"); v != "" {
		cs = nil
		for _, f := range strings.Fields(v) {
			var c connectorCase
			_, err := fmt.Sscanf(f, "%d/%d", &c.size, &c.lanes)
			require.NoError(b, err, "PROVENANCE_BENCH_CONNECTOR: want size/lanes, got %q", f)
			cs = append(cs, c)
		}
	}
	return cs
}

// onePerTxConcurrent: `workers` submitters, each extending its own resource's chain one
// record per transaction (one chain cannot take concurrent transactions: each links to
// the head the previous one wrote).
func onePerTxConcurrent(b *testing.B, lc *ledger.Client, n, workers int) {
	b.StopTimer()
	chains := make([][]record.Record, workers)
	id := nonce(b)
	for w := range workers {
		chains[w] = sealedChain(b, fmt.Sprintf("Machine.bench.dev/conc-%s/vm%d", id, w), n/workers)
	}
	b.StartTimer()
	var wg sync.WaitGroup
	for _, c := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range c {
				if err := putRetrying(lc, []record.Record{r}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
}

// throughConnector: the production path. 50 providers' worth of change logs go to the
// connector over gRPC (WAL append + fsync each), the batcher commits them in batches of
// `size`, `lanes` batches in flight; timed until the last record is committed.
func throughConnector(b *testing.B, lc *ledger.Client, n, size, lanes int) {
	b.StopTimer()
	dir := b.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), BatchSize: size, Lanes: lanes, Submitter: lc})
	require.NoError(b, err)
	defer c.Stop() //nolint:errcheck // benchmark
	conn, err := changelog.Dial(sock)
	require.NoError(b, err)
	defer conn.Close() //nolint:errcheck // benchmark
	client := v1alpha1.NewChangeLogServiceClient(conn)
	const senders = 50
	ns := "bench-" + nonce(b)
	entries := make([][]*v1alpha1.ChangeLogEntry, senders)
	for s := range senders {
		name := fmt.Sprintf("vm%02d", s)
		for gen := int64(1); gen <= int64(n/senders); gen++ {
			vm := provtest.NewResource(ns, name, ns+"-"+name, gen, map[string]any{"gen": gen})
			entries[s] = append(entries[s], entryFor(b, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reendorsed := lc.Reendorsed()
	b.StartTimer()
	var wg sync.WaitGroup
	for _, es := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range es {
				if _, err := client.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{Entry: e}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	appended := b.Elapsed()
	require.NoError(b, c.Batcher.Drain(ctx))
	b.StopTimer()
	// A failed submission, and an endorsement repeated because the peers disagreed, is work
	// the peers did for nothing: usually the auditor's peer a block behind the operator's.
	m := c.Batcher.Metrics
	b.Logf("%d records acknowledged (in the WAL) after %v, on the ledger after %v; %.0f transactions, %.0f failed submissions, %d endorsements repeated",
		n, appended.Round(time.Millisecond), b.Elapsed().Round(time.Millisecond), testutil.ToFloat64(m.Transactions),
		testutil.ToFloat64(m.SubmitFailures), lc.Reendorsed()-reendorsed)
}
