package changelog

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	pkgerrors "github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

func TestParseMode(t *testing.T) {
	for _, s := range []string{"off", "best-effort", "required"} {
		m, err := ParseMode(s)
		require.NoError(t, err)
		assert.Equal(t, Mode(s), m)
	}
	_, err := ParseMode("sometimes")
	assert.ErrorContains(t, err, "unknown provenance mode")
}

// TestRequiredModeWithConnectorDown: required refuses, best-effort queues; once the
// connector is up, both go through and the records are on the connector's disk.
func TestRequiredModeWithConnectorDown(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "connector.sock")
	conn, err := Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test
	client := v1alpha1.NewChangeLogServiceClient(conn)
	required := New(client, ModeRequired, WithTimeout(2500*time.Millisecond), WithProviderVersion("v0.0.1-test"))
	bestEffort := New(client, ModeBestEffort, WithTimeout(2500*time.Millisecond))
	ctx := context.Background()

	vm := provtest.NewResource("team-a", "vm1", "uid-vm1", 1, map[string]any{"cores": 2})
	err = required.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_CREATE)
	require.Error(t, err, "required mode must refuse while the connector is down")
	assert.True(t, IsIntentNotAccepted(err))
	assert.True(t, IsIntentNotAccepted(errors.Join(errors.New("wrapped"), err)))
	assert.Contains(t, err.Error(), "provenance intent was not durably accepted by the connector")
	assert.Equal(t, 0, required.Queued(), "a refused intent is not queued: the change is not made")
	// the reconciler then logs the failed create with that error: nothing to record
	require.NoError(t, required.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_CREATE, pkgerrors.Wrap(err, "cannot create VM"), nil))
	assert.Equal(t, 0, required.Queued(), "a change that was never attempted is not recorded")

	pool := provtest.NewResource("", "pool1", "uid-pool1", 4, map[string]any{"size": 3})
	require.NoError(t, bestEffort.RecordIntent(ctx, pool, v1alpha1.OperationType_OPERATION_TYPE_UPDATE))
	require.NoError(t, bestEffort.Log(ctx, pool, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
	assert.Equal(t, 2, bestEffort.Queued())

	ledger := provtest.NewMemLedger()
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), Submitter: ledger})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test

	require.NoError(t, required.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_CREATE))
	require.NoError(t, required.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_CREATE, errors.New("PVE said no"), nil))
	require.NoError(t, bestEffort.Flush(ctx))
	assert.Equal(t, 0, bestEffort.Queued())

	drain, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, c.Batcher.Drain(drain))

	vmKey := record.ResourceKey("test.provenance.microcloud.dev/v1alpha1", "Machine", "team-a", "vm1")
	hist, err := ledger.History(vmKey)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, record.OpIntentCreate, hist[0].Operation)
	assert.Equal(t, record.OutcomeIntent, hist[0].Outcome)
	assert.Equal(t, "team-a", hist[0].Namespace)
	assert.Equal(t, "v0.0.1-test", hist[0].ProviderVersion)
	assert.Equal(t, record.OpCreate, hist[1].Operation)
	assert.Equal(t, record.OutcomeFailure, hist[1].Outcome)
	assert.Equal(t, "PVE said no", hist[1].Message)
	assert.Equal(t, hist[0].Hash, hist[1].PrevHash)

	poolKey := record.ResourceKey("test.provenance.microcloud.dev/v1alpha1", "Machine", "", "pool1")
	rep, err := ledger.Verify(poolKey)
	require.NoError(t, err)
	assert.True(t, rep.OK)
	assert.EqualValues(t, 2, rep.Records, "the queued intent and change both arrived")
}

func TestModeOffSendsNothing(t *testing.T) {
	l := New(nil, ModeOff) // a nil client would panic if used
	vm := provtest.NewResource("ns", "x", "u", 1, nil)
	require.NoError(t, l.RecordIntent(context.Background(), vm, v1alpha1.OperationType_OPERATION_TYPE_DELETE))
	require.NoError(t, l.Log(context.Background(), vm, v1alpha1.OperationType_OPERATION_TYPE_DELETE, nil, nil))
}
