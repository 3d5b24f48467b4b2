package connector_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

func entry(t *testing.T, mg resource.Managed, op v1alpha1.OperationType, details map[string]string) *v1alpha1.ChangeLogEntry {
	t.Helper()
	snap, err := resource.AsProtobufStruct(mg)
	require.NoError(t, err)
	gvk := mg.GetObjectKind().GroupVersionKind()
	return &v1alpha1.ChangeLogEntry{Timestamp: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Provider: "provider-microcloud:v0.1.0", ApiVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Name: mg.GetName(), ExternalName: "pve/100", Operation: op, Snapshot: snap, AdditionalDetails: details}
}

func TestFromEntry(t *testing.T) {
	vm := provtest.NewResource("team-a", "vm1", "uid-1", 7, map[string]any{
		"providerConfigRef": map[string]any{"kind": "ClusterProviderConfig", "name": "lab"}, "cores": 2})
	vm.SetLabels(map[string]string{"crossplane.io/composite": "vps-x", "crossplane.io/claim-name": "my-vps",
		"crossplane.io/claim-namespace": "team-a"})
	r, err := connector.FromEntry(entry(t, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, map[string]string{"k": "v"}))
	require.NoError(t, err)
	spec, err := record.SpecHash(map[string]any{"providerConfigRef": map[string]any{"kind": "ClusterProviderConfig", "name": "lab"}, "cores": 2})
	require.NoError(t, err)
	assert.Equal(t, record.Record{
		ResourceKey: "Machine.test.provenance.microcloud.dev/team-a/vm1", UID: "uid-1", Generation: 7,
		APIVersion: "test.provenance.microcloud.dev/v1alpha1", Kind: "Machine", Namespace: "team-a", Name: "vm1",
		ExternalName: "pve/100", ProviderConfig: "ClusterProviderConfig/lab", Composite: "vps-x", ClaimName: "my-vps",
		ClaimNamespace: "team-a", Operation: record.OpUpdate, Outcome: record.OutcomeSuccess, SpecHash: spec,
		ProviderVersion: "provider-microcloud:v0.1.0", Details: map[string]string{"k": "v"}, Time: "2026-01-02T03:04:05Z",
		Write: "2026-01-02T03:04:05Z",
	}, r)

	// the provider's write nonce goes into Write, not into the details
	stamped, err := connector.FromEntry(entry(t, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE,
		map[string]string{"k": "v", record.DetailWrite: "n1"}))
	require.NoError(t, err)
	assert.Equal(t, "2026-01-02T03:04:05Z/n1", stamped.Write)
	assert.Equal(t, map[string]string{"k": "v"}, stamped.Details)
	assert.NotEqual(t, record.IDOf(r), record.IDOf(stamped))

	intent, err := connector.FromEntry(entry(t, vm, v1alpha1.OperationType_OPERATION_TYPE_DELETE,
		map[string]string{record.DetailPhase: record.PhaseIntent}))
	require.NoError(t, err)
	assert.Equal(t, record.OpIntentDelete, intent.Operation)
	assert.Equal(t, record.OutcomeIntent, intent.Outcome)
	assert.Nil(t, intent.Details)

	_, err = connector.FromEntry(entry(t, vm, v1alpha1.OperationType_OPERATION_TYPE_UNSPECIFIED, nil))
	assert.ErrorContains(t, err, "no known operation")
	noUID := provtest.NewResource("a", "b", "", 1, nil)
	_, err = connector.FromEntry(entry(t, noUID, v1alpha1.OperationType_OPERATION_TYPE_CREATE, nil))
	assert.ErrorContains(t, err, "no metadata.uid")
}

// TestBatcherRetriesUntilCommitted: failed submissions are retried, nothing is marked
// sent before it is committed, and an entry sent twice is stored once.
func TestBatcherRetriesUntilCommitted(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	ledger := provtest.NewMemLedger()
	ledger.FailNext(3)
	reg := prometheus.NewRegistry()
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), BatchSize: 7,
		Submitter: ledger, Registerer: reg, MinBackoff: 10 * time.Millisecond})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test

	conn, err := changelog.Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test
	cl := v1alpha1.NewChangeLogServiceClient(conn)
	ctx := context.Background()
	for gen := int64(1); gen <= 20; gen++ {
		vm := provtest.NewResource("ns", "vm", "uid-vm", gen, map[string]any{"gen": gen})
		e := entry(t, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil)
		for range 2 { // the second send is a retry of an acknowledged entry
			_, err := cl.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{Entry: e})
			require.NoError(t, err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, c.Batcher.Drain(dctx))

	rep, err := ledger.Verify("Machine.test.provenance.microcloud.dev/ns/vm")
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Breaks)
	assert.EqualValues(t, 20, rep.Records)
	assert.InDelta(t, 20, value(t, reg, "provenance_records_appended_total"), 0)
	assert.InDelta(t, 3, value(t, reg, "provenance_ledger_submit_failures_total"), 0)
	assert.InDelta(t, 0, value(t, reg, "provenance_wal_queue_depth"), 0)
	assert.GreaterOrEqual(t, value(t, reg, "provenance_ledger_commits_total"), 3.0)

	// an entry that is not a valid record is refused with InvalidArgument
	_, err = cl.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{})
	assert.ErrorContains(t, err, "InvalidArgument")
}

// TestEveryWriteIsARecord: three writes of one generation with the same spec (drift
// repaired three times) made through changelog.Logger are three records, linked; each
// entry re-sent (a lost acknowledgement, a provider restart re-sending its spool) is
// still stored once, because the entry carries its write stamp unchanged.
func TestEveryWriteIsARecord(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	ledger := provtest.NewMemLedger()
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"),
		Submitter: ledger, MinBackoff: 10 * time.Millisecond})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test
	conn, err := changelog.Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test

	// capture what the provider's logger sends, to re-send it as is afterwards
	cl := &capturing{ChangeLogServiceClient: v1alpha1.NewChangeLogServiceClient(conn)}
	l := changelog.New(cl, changelog.ModeRequired)
	vm := provtest.NewResource("ns", "vm", "uid-vm", 4, map[string]any{"cores": 2})
	ctx := context.Background()
	for range 3 {
		require.NoError(t, l.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
	}
	require.Len(t, cl.sent, 3)
	for _, e := range cl.sent { // re-sent after a lost acknowledgement
		_, err := cl.ChangeLogServiceClient.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{Entry: e})
		require.NoError(t, err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, c.Batcher.Drain(dctx))

	key := "Machine.test.provenance.microcloud.dev/ns/vm"
	hist, err := ledger.History(key)
	require.NoError(t, err)
	require.Len(t, hist, 3, "three writes, each sent twice")
	for i, r := range hist {
		assert.Equal(t, record.OpUpdate, r.Operation)
		assert.EqualValues(t, 4, r.Generation)
		assert.Equal(t, hist[0].SpecHash, r.SpecHash)
		assert.NotEmpty(t, r.Write)
		if i > 0 {
			assert.Equal(t, hist[i-1].Hash, r.PrevHash, "record %d links to %d", i, i-1)
			assert.NotEqual(t, hist[i-1].ID, r.ID)
		}
	}
	rep, err := ledger.Verify(key)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Breaks)
}

// capturing records every entry a client sends.
type capturing struct {
	v1alpha1.ChangeLogServiceClient
	sent []*v1alpha1.ChangeLogEntry
}

func (c *capturing) SendChangeLog(ctx context.Context, in *v1alpha1.SendChangeLogRequest, o ...grpc.CallOption) (*v1alpha1.SendChangeLogResponse, error) {
	c.sent = append(c.sent, in.GetEntry())
	return c.ChangeLogServiceClient.SendChangeLog(ctx, in, o...)
}

// value reads a gauge's or counter's current value from the registry.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestLanesKeepEachChainInOrder: many resources over 4 lanes with failing submissions;
// every chain still arrives complete and in order.
func TestLanesKeepEachChainInOrder(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	ledger := provtest.NewMemLedger()
	ledger.FailNext(5)
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), BatchSize: 5,
		Lanes: 4, Submitter: ledger, MinBackoff: 5 * time.Millisecond})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test

	conn, err := changelog.Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test
	cl := v1alpha1.NewChangeLogServiceClient(conn)
	ctx := context.Background()
	const resources, gens = 8, 30
	errs := make(chan error, resources)
	for i := range resources {
		go func() {
			name := fmt.Sprintf("vm%d", i)
			for gen := int64(1); gen <= gens; gen++ {
				vm := provtest.NewResource("ns", name, "uid-"+name, gen, map[string]any{"gen": gen})
				if _, err := cl.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{Entry: entry(t, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil)}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range resources {
		require.NoError(t, <-errs)
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, c.Batcher.Drain(dctx))
	for i := range resources {
		key := fmt.Sprintf("Machine.test.provenance.microcloud.dev/ns/vm%d", i)
		rep, err := ledger.Verify(key)
		require.NoError(t, err)
		assert.True(t, rep.OK, "%s: %+v", key, rep.Breaks)
		hist, err := ledger.History(key)
		require.NoError(t, err)
		require.Len(t, hist, gens)
		for j, r := range hist {
			assert.EqualValues(t, j+1, r.Generation)
		}
	}
}
