package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

const testAPIVersion = "test.provenance.microcloud.dev/v1alpha1"

// TestChangeLogsReachTheLedger: the provider-side logger sends intents and changes
// through the connector; the ledger then holds exactly what the WAL chained, in order,
// with correct links, and both verifications pass.
func TestChangeLogsReachTheLedger(t *testing.T) {
	f := requireFabric(t)
	lc := f.dial(t)
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), Submitter: lc})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test
	conn, err := changelog.Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test
	logger := changelog.New(v1alpha1.NewChangeLogServiceClient(conn), changelog.ModeRequired, changelog.WithProviderVersion("e2e"))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := "e2e-" + nonce(t)
	var keys []string
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("vm%d", i)
		keys = append(keys, record.ResourceKey(testAPIVersion, "Machine", ns, name))
		vm := provtest.NewResource(ns, name, ns+"-"+name, 1, map[string]any{"cores": 1})
		vm.SetLabels(map[string]string{"crossplane.io/composite": "vps-" + name})
		// the reconcile sequence: intent, create, then an update of generation 2, then a failed delete
		require.NoError(t, logger.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_CREATE))
		require.NoError(t, logger.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_CREATE, nil, nil))
		vm.Generation, vm.Spec = 2, map[string]any{"cores": 2}
		require.NoError(t, logger.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE))
		require.NoError(t, logger.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
		require.NoError(t, logger.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_DELETE))
		require.NoError(t, logger.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_DELETE, fmt.Errorf("VM %s is locked", name), nil))
	}
	require.NoError(t, c.Batcher.Drain(ctx))
	t.Logf("resources: %v", keys)

	wantOps := []string{record.OpIntentCreate, record.OpCreate, record.OpIntentUpdate, record.OpUpdate, record.OpIntentDelete, record.OpDelete}
	for i, key := range keys {
		hist := requireChain(ctx, t, lc, key, len(wantOps))
		for j, r := range hist {
			assert.Equal(t, wantOps[j], r.Operation, "%s record %d", key, j)
			inWAL, unsent, err := c.WAL.Get(r.ID)
			require.NoError(t, err)
			assert.False(t, unsent)
			assert.Equal(t, inWAL, r, "the ledger holds the record the WAL chained")
			assert.Equal(t, ns, r.Namespace)
			assert.Equal(t, fmt.Sprintf("vps-vm%d", i), r.Composite)
		}
		assert.Equal(t, hist[4].Hash, hist[5].PrevHash)
		assert.Equal(t, record.OutcomeFailure, hist[5].Outcome)
		assert.Equal(t, fmt.Sprintf("VM vm%d is locked", i), hist[5].Message)
	}
}

// TestPeerStoppedWhile5000RecordsAreSent: the peer is stopped (by PID) while 5,000
// change logs stream in; the connector keeps acknowledging (the WAL holds them), the
// batcher retries, and after the peer is restarted the ledger holds every record exactly
// once, in chain order, and every chain verifies.
func TestPeerStoppedWhile5000RecordsAreSent(t *testing.T) {
	f := requireFabric(t)
	t.Cleanup(func() { f.up(t) }) // never leave the shared network without its peer
	lc := f.dial(t)
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	reg := prometheus.NewRegistry()
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), BatchSize: 250,
		Submitter: lc, Registerer: reg})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test
	conn, err := changelog.Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test
	client := v1alpha1.NewChangeLogServiceClient(conn)

	const resources, perResource = 50, 100
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := "e2e-peer-" + nonce(t)
	keys := make([]string, resources)
	var acked atomic.Int64
	peerStopped := make(chan struct{})
	var wg sync.WaitGroup
	for i := range resources {
		name := fmt.Sprintf("vm%02d", i)
		keys[i] = record.ResourceKey(testAPIVersion, "Machine", ns, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gen := int64(1); gen <= perResource; gen++ {
				if gen == perResource/2+1 {
					<-peerStopped // the second half of the stream goes out while the peer is down
				}
				vm := provtest.NewResource(ns, name, ns+"-"+name, gen, map[string]any{"gen": gen})
				e := entryFor(t, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE)
				for {
					_, err := client.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{Entry: e})
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				acked.Add(1)
			}
		}()
	}
	// stop the peer once some records are committed and more are streaming in
	for value(t, reg, "provenance_ledger_commits_total") < 1 {
		time.Sleep(20 * time.Millisecond)
	}
	f.stopPeer(t)
	stoppedAt := acked.Load()
	close(peerStopped)
	wg.Wait()
	require.EqualValues(t, resources*perResource, acked.Load())
	t.Logf("acknowledged %d records before the peer stopped, %d while it was down; WAL queue %d",
		stoppedAt, acked.Load()-stoppedAt, c.WAL.Depth())
	assert.Positive(t, c.WAL.Depth(), "records must wait in the WAL while the peer is down")

	// let the batcher fail against the stopped peer, then bring the peer back
	for value(t, reg, "provenance_ledger_submit_failures_total") < 2 {
		time.Sleep(100 * time.Millisecond)
	}
	f.up(t)
	require.NoError(t, c.Batcher.Drain(ctx))
	t.Logf("drained: %v transactions committed, %v failed submissions",
		value(t, reg, "provenance_ledger_commits_total"), value(t, reg, "provenance_ledger_submit_failures_total"))
	for _, k := range keys {
		hist := requireChain(ctx, t, lc, k, perResource)
		for j, r := range hist {
			require.EqualValues(t, j+1, r.Generation, "%s: record %d out of order", k, j)
		}
	}
}

func value(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
