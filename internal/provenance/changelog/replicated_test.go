package changelog

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestReplicatedQueuesForTheReplicaThatIsDown: with replica A down, B alone acknowledges
// (required intents are accepted) and A's copies queue; with both down an intent is
// refused and kept nowhere; once both are back the queues drain, both WALs hold the same
// chain and the ledger (shared by both) stores every record once.
func TestReplicatedQueuesForTheReplicaThatIsDown(t *testing.T) {
	dir := t.TempDir()
	ledger := provtest.NewMemLedger()
	socks, wals := make([]string, 2), make([]string, 2)
	loggers := make([]*Logger, 2)
	for i := range loggers {
		socks[i], wals[i] = "unix://"+filepath.Join(dir, fmt.Sprintf("c%d.sock", i)), filepath.Join(dir, fmt.Sprintf("wal%d.db", i))
		conn, err := Dial(socks[i])
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		loggers[i] = New(v1alpha1.NewChangeLogServiceClient(conn), ModeRequired, WithTimeout(300*time.Millisecond))
	}
	start := func(i int) *connector.Connector {
		c, err := connector.Start(connector.Options{Listen: socks[i], WALPath: wals[i], Submitter: ledger})
		require.NoError(t, err)
		return c
	}
	prov := NewReplicated(ModeRequired, loggers...)
	ctx := context.Background()
	change := func(gen int64) error {
		vm := provtest.NewResource("team-a", "vm1", "uid-vm1", gen, map[string]any{"gen": gen})
		if err := prov.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE); err != nil {
			return err
		}
		return prov.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil)
	}

	b := start(1) // A (0) is down
	for gen := int64(1); gen <= 3; gen++ {
		require.NoError(t, change(gen))
	}
	assert.Equal(t, 6, loggers[0].Queued(), "A's copies wait for it")
	assert.Equal(t, 0, loggers[1].Queued())

	require.NoError(t, b.Stop()) // both down
	err := change(4)
	require.Error(t, err)
	assert.True(t, IsIntentNotAccepted(err))
	assert.Equal(t, 6, loggers[0].Queued(), "a refused intent is kept nowhere")
	assert.Equal(t, 0, loggers[1].Queued())

	cs := []*connector.Connector{start(0), start(1)}
	t.Cleanup(func() {
		for _, c := range cs {
			_ = c.Stop()
		}
	})
	require.NoError(t, change(4))
	// a replica whose client is still in its reconnect backoff gets its copies through
	// the queue
	require.Eventually(t, func() bool { return prov.Flush(ctx) == nil && prov.Queued() == 0 }, 20*time.Second, 100*time.Millisecond)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, c := range cs {
		require.NoError(t, c.Batcher.Drain(dctx))
	}

	key := record.ResourceKey("test.provenance.microcloud.dev/v1alpha1", "Machine", "team-a", "vm1")
	hist, err := ledger.History(key)
	require.NoError(t, err)
	require.Len(t, hist, 8, "4 intents and 4 updates, each once")
	for j, r := range hist {
		assert.EqualValues(t, j/2+1, r.Generation, "record %d", j)
	}
	for i, c := range cs {
		h, err := c.WAL.Head(key)
		require.NoError(t, err)
		assert.Equal(t, hist[7].Hash, h, "replica %d's chain", i)
	}
}
