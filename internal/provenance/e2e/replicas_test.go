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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestTwoConnectorReplicas: one provider-side logger (required mode) sends every intent
// and change record to two connectors, each with its own WAL and socket, both
// submitting to the ledger. While 6 resources stream changes, replica 0 is stopped
// abruptly and later restarted on its WAL, then replica 1 the same way. Afterwards every
// chain holds exactly the records sent (intent + update per generation, in order, none
// twice, none missing), verifies, and both WALs hold every record with heads equal to
// the ledger's: the two replicas chained identically and the chains did not fork.
func TestTwoConnectorReplicas(t *testing.T) {
	f := requireFabric(t)
	lc := f.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	dir := t.TempDir()
	type replica struct {
		sock, wal string
		c         *connector.Connector
	}
	reps := make([]*replica, 2)
	start := func(i int) {
		c, err := connector.Start(connector.Options{Listen: reps[i].sock, WALPath: reps[i].wal, BatchSize: 20, Lanes: 4,
			Submitter: f.dial(t)})
		require.NoError(t, err)
		reps[i].c = c
	}
	loggers := make([]*changelog.Logger, 2)
	for i := range reps {
		reps[i] = &replica{sock: "unix://" + filepath.Join(dir, fmt.Sprintf("c%d.sock", i)), wal: filepath.Join(dir, fmt.Sprintf("wal%d.db", i))}
		start(i)
		conn, err := changelog.Dial(reps[i].sock)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		loggers[i] = changelog.New(v1alpha1.NewChangeLogServiceClient(conn), changelog.ModeRequired, changelog.WithTimeout(2*time.Second))
	}
	t.Cleanup(func() {
		for _, r := range reps {
			_ = r.c.Stop()
		}
	})
	prov := changelog.NewReplicated(changelog.ModeRequired, loggers...)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go func() { _ = prov.Run(runCtx, 100*time.Millisecond) }()

	const resources, gens = 6, 20
	total := int64(resources * gens * 2)
	ns := "e2e-ha-" + nonce(t)
	keys := make([]string, resources)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for i := range resources {
		name := fmt.Sprintf("vm%d", i)
		keys[i] = record.ResourceKey(testAPIVersion, "Machine", ns, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gen := int64(1); gen <= gens; gen++ {
				vm := provtest.NewResource(ns, name, ns+"-"+name, gen, map[string]any{"gen": gen})
				// never both replicas down: every intent must be accepted
				if !assert.NoError(t, prov.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE)) {
					return
				}
				sent.Add(1)
				assert.NoError(t, prov.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
				sent.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	waitSent := func(n int64) {
		for sent.Load() < n {
			require.NoError(t, ctx.Err(), "stream stalled at %d entries", sent.Load())
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := range reps { // kill each in turn, mid-stream, and restart it on its WAL
		waitSent(total * int64(1+2*i) / 5)
		require.NoError(t, reps[i].c.Stop())
		t.Logf("replica %d stopped after %d entries", i, sent.Load())
		waitSent(total * int64(2+2*i) / 5)
		start(i)
		t.Logf("replica %d restarted after %d entries", i, sent.Load())
	}
	wg.Wait()
	require.False(t, t.Failed())
	t.Logf("%d entries sent", sent.Load())

	for prov.Queued() > 0 {
		require.NoError(t, ctx.Err(), "%d entries still queued", prov.Queued())
		_ = prov.Flush(ctx)
	}
	for _, r := range reps {
		require.NoError(t, r.c.Batcher.Drain(ctx))
	}
	t.Logf("both replicas drained")
	for _, k := range keys {
		hist := requireChain(ctx, t, lc, k, 2*gens)
		for j, r := range hist {
			want := record.OpUpdate
			if j%2 == 0 {
				want = "intent-" + record.OpUpdate
			}
			require.Equal(t, want, r.Operation, "%s: record %d", k, j)
			require.EqualValues(t, j/2+1, r.Generation, "%s: record %d out of order", k, j)
		}
		head, err := lc.Head(ctx, k)
		require.NoError(t, err)
		for i, rep := range reps {
			h, err := rep.c.WAL.Head(k)
			require.NoError(t, err)
			require.Equal(t, head.Hash, h, "replica %d's chain of %s differs from the ledger's", i, k)
			for _, r := range hist {
				got, unsent, err := rep.c.WAL.Get(r.ID)
				require.NoError(t, err, "replica %d lacks record %s", i, r.ID)
				require.False(t, unsent)
				require.Equal(t, r.Hash, got.Hash)
			}
		}
	}
}
