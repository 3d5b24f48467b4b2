package changelog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// spoolLogger opens a logger on the spool at path, sending to sock.
func spoolLogger(t *testing.T, sock, path string, mode Mode) *Logger {
	t.Helper()
	conn, err := Dial(sock)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	sp, err := OpenSpool(path)
	require.NoError(t, err)
	return New(v1alpha1.NewChangeLogServiceClient(conn), mode, WithSpool(sp), WithTimeout(300*time.Millisecond))
}

// waitEmpty polls until the logger's queue is empty.
func waitEmpty(t *testing.T, l *Logger, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for l.Queued() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still queued after %s", l.Queued(), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSpoolSurvivesRestart: entries logged while the connector is down are on disk when
// the logger is closed; a new logger on the same file sends them all, oldest first, and
// a replay of an already-acknowledged spool (a crash between the connector's ack and the
// delete) adds nothing: the connector stores each record once.
func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	path := filepath.Join(dir, "spool.db")
	ctx := context.Background()

	l := spoolLogger(t, sock, path, ModeBestEffort)
	const resources, gens = 3, 4
	for g := int64(1); g <= gens; g++ {
		for i := 0; i < resources; i++ {
			mg := provtest.NewResource("ns", fmt.Sprintf("vm%d", i), fmt.Sprintf("uid-%d", i), g, map[string]any{"cores": g})
			require.NoError(t, l.RecordIntent(ctx, mg, v1alpha1.OperationType_OPERATION_TYPE_UPDATE))
			require.NoError(t, l.Log(ctx, mg, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
		}
	}
	const n = resources * gens * 2
	require.Equal(t, n, l.Queued())
	require.Error(t, l.Flush(ctx), "the connector is down")
	require.Equal(t, n, l.Queued(), "an entry leaves the spool only once the connector acknowledged it")
	require.NoError(t, l.Close())
	require.Error(t, l.Log(ctx, provtest.NewResource("ns", "late", "uid-late", 1, nil), v1alpha1.OperationType_OPERATION_TYPE_CREATE, nil, nil),
		"a closed spool cannot take entries")

	// the file as a crash right after the connector's acks would leave it
	replay := filepath.Join(dir, "replay.db")
	copyFile(t, path, replay)

	ledger := provtest.NewMemLedger()
	reg := prometheus.NewRegistry()
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), Submitter: ledger, Registerer: reg})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test
	appended := func() int {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "provenance_records_appended_total" {
				return int(mf.GetMetric()[0].GetCounter().GetValue())
			}
		}
		return -1
	}

	for _, p := range []string{path, replay} {
		l := spoolLogger(t, sock, p, ModeBestEffort)
		require.Equal(t, n, l.Queued(), "entries in %s after the restart", filepath.Base(p))
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- l.Run(runCtx, time.Hour) }() // only the start-up flush can send
		waitEmpty(t, l, 20*time.Second)
		stop()
		require.NoError(t, <-done)
		require.NoError(t, l.Close())
		assert.Equal(t, n, appended(), "records appended to the WAL after draining %s", filepath.Base(p))
	}

	drain, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, c.Batcher.Drain(drain))
	for i := 0; i < resources; i++ {
		key := record.ResourceKey(provtest.NewResource("", "", "", 0, nil).APIVersion, "Machine", "ns", fmt.Sprintf("vm%d", i))
		hist, err := ledger.History(key)
		require.NoError(t, err)
		require.Len(t, hist, gens*2, key)
		for j, r := range hist {
			assert.EqualValues(t, j/2+1, r.Generation, "%s record %d: spooled in order", key, j)
			want := record.OpIntentUpdate
			if j%2 == 1 {
				want = record.OpUpdate
			}
			assert.Equal(t, want, r.Operation, "%s record %d", key, j)
		}
		rep, err := ledger.Verify(key)
		require.NoError(t, err)
		assert.True(t, rep.OK, "%+v", rep.Breaks)
	}
}

// TestSpoolSkipsWhatCanNeverBeSent: an entry the connector refuses as invalid, or one
// that does not decode, is dropped instead of holding up the entries behind it.
func TestSpoolSkipsWhatCanNeverBeSent(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	path := filepath.Join(dir, "spool.db")
	ctx := context.Background()

	l := spoolLogger(t, sock, path, ModeRequired)
	noUID := provtest.NewResource("ns", "broken", "", 1, nil) // the connector needs metadata.uid
	require.NoError(t, l.Log(ctx, noUID, v1alpha1.OperationType_OPERATION_TYPE_CREATE, nil, nil))
	good := provtest.NewResource("ns", "good", "uid-good", 1, nil)
	require.NoError(t, l.Log(ctx, good, v1alpha1.OperationType_OPERATION_TYPE_CREATE, nil, nil))
	require.NoError(t, l.Close())
	// a torn entry before them, as a damaged file could hold
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSpool).Put(itob(0), []byte{0xff, 0xff}) }))
	require.NoError(t, db.Close())

	ledger := provtest.NewMemLedger()
	c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), Submitter: ledger})
	require.NoError(t, err)
	defer c.Stop() //nolint:errcheck // test

	l = spoolLogger(t, sock, path, ModeRequired)
	defer l.Close() //nolint:errcheck // test
	require.NoError(t, l.Flush(ctx))
	assert.Equal(t, 0, l.Queued())
	// the intent of the next change goes through behind them
	require.NoError(t, l.RecordIntent(ctx, good, v1alpha1.OperationType_OPERATION_TYPE_DELETE))

	drain, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, c.Batcher.Drain(drain))
	hist, err := ledger.History(record.ResourceKey(good.APIVersion, "Machine", "ns", "good"))
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, record.OpCreate, hist[0].Operation)
	assert.Equal(t, record.OpIntentDelete, hist[1].Operation)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// TestConcurrentResourcesKeepTheirOrder: reconciles of several resources log at once
// while the connector comes up part way; every record arrives, each resource's in order.
func TestConcurrentResourcesKeepTheirOrder(t *testing.T) {
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "c.sock")
	l := spoolLogger(t, sock, filepath.Join(dir, "spool.db"), ModeBestEffort)
	defer l.Close() //nolint:errcheck // test
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx, 100*time.Millisecond) }()

	const resources, gens = 8, 10
	ledger := provtest.NewMemLedger()
	started := make(chan *connector.Connector, 1)
	errs := make(chan error, resources)
	for i := 0; i < resources; i++ {
		go func() {
			for g := int64(1); g <= gens; g++ {
				if i == 0 && g == gens/2 { // one reconcile brings the connector up meanwhile
					c, err := connector.Start(connector.Options{Listen: sock, WALPath: filepath.Join(dir, "wal.db"), Submitter: ledger})
					if err != nil {
						errs <- err
						return
					}
					started <- c
				}
				mg := provtest.NewResource("ns", fmt.Sprintf("r%d", i), fmt.Sprintf("uid-%d", i), g, map[string]any{"g": g})
				if err := l.RecordIntent(ctx, mg, v1alpha1.OperationType_OPERATION_TYPE_UPDATE); err != nil {
					errs <- err
					return
				}
				if err := l.Log(ctx, mg, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < resources; i++ {
		require.NoError(t, <-errs)
	}
	c := <-started
	defer c.Stop() //nolint:errcheck // test
	waitEmpty(t, l, 20*time.Second)
	drain, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	require.NoError(t, c.Batcher.Drain(drain))
	for i := 0; i < resources; i++ {
		key := record.ResourceKey("test.provenance.microcloud.dev/v1alpha1", "Machine", "ns", fmt.Sprintf("r%d", i))
		hist, err := ledger.History(key)
		require.NoError(t, err)
		require.Len(t, hist, gens*2, key)
		for j, r := range hist {
			require.EqualValues(t, j/2+1, r.Generation, "%s record %d", key, j)
		}
	}
}
