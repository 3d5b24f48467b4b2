package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// fabric is the network under test.
type fabric struct {
	envFile string
	cfg     ledger.Config
	vars    map[string]string
}

func requireFabric(t testing.TB) fabric {
	t.Helper()
	return loadFabric(t, provtest.RequireEnv(t, "FABRIC_ENV"))
}

// loadFabric is the network whose fabric.env is at path.
func loadFabric(t testing.TB, path string) fabric {
	t.Helper()
	cfg, vars, err := ledger.LoadEnvFile(path)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	return fabric{envFile: path, cfg: cfg, vars: vars}
}

func (f fabric) dial(t testing.TB) *ledger.Client {
	t.Helper()
	c, err := ledger.Dial(f.cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// peerPID is the running peer's PID from the lab dir, checked against /proc so a
// recycled PID is never signalled.
func (f fabric) peerPID(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(f.vars["FABRIC_PEER_PID_FILE"])
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err, "peer (pid %d) is not running", pid)
	require.Contains(t, string(cmd), "/peer", "pid %d is not the peer", pid)
	return pid
}

// stopPeer stops the peer by PID and waits until it is gone.
func (f fabric) stopPeer(t testing.TB) {
	t.Helper()
	pid := f.peerPID(t)
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			t.Logf("peer (pid %d) stopped", pid)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("peer (pid %d) did not stop", pid)
}

// up runs fabric-up.sh on the lab dir, which restarts whatever is not running.
func (f fabric) up(t testing.TB) {
	t.Helper()
	cmd := exec.Command(f.vars["FABRIC_UP"]) //nolint:gosec // the lab's own script
	cmd.Env = append(os.Environ(), "FABRIC_LAB_DIR="+f.vars["FABRIC_LAB_DIR"])
	if c := f.vars["FABRIC_CACHE"]; c != "" {
		cmd.Env = append(cmd.Env, "FABRIC_CACHE="+c)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "fabric-up.sh: %s", out)
}

// nonce makes resource names unique per run: the ledger outlives test runs.
func nonce(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// sealedChain is n records of one resource, linked from "" as the WAL would link them.
func sealedChain(t testing.TB, key string, n int) []record.Record {
	t.Helper()
	out := make([]record.Record, 0, n)
	prev := ""
	for i := 0; i < n; i++ {
		r := record.Record{ResourceKey: key, UID: "uid-" + key, Generation: int64(i + 1), APIVersion: "test.dev/v1",
			Kind: "Machine", Name: filepath.Base(key), Operation: record.OpUpdate, Outcome: record.OutcomeSuccess,
			SpecHash: fmt.Sprintf("spec-%d", i), Time: time.Now().UTC().Format(time.RFC3339Nano)}
		require.NoError(t, r.Seal(prev))
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

func entryFor(t testing.TB, mg resource.Managed, op v1alpha1.OperationType) *v1alpha1.ChangeLogEntry {
	t.Helper()
	snap, err := resource.AsProtobufStruct(mg)
	require.NoError(t, err)
	gvk := mg.GetObjectKind().GroupVersionKind()
	return &v1alpha1.ChangeLogEntry{Timestamp: timestamppb.Now(), Provider: "e2e", ApiVersion: gvk.GroupVersion().String(),
		Kind: gvk.Kind, Name: mg.GetName(), Operation: op, Snapshot: snap}
}

// requireChain checks that a resource's chain on the ledger holds exactly want records,
// each id once, that it verifies both here and in the chaincode, and returns it.
func requireChain(ctx context.Context, t testing.TB, lc *ledger.Client, key string, want int) []record.Record {
	t.Helper()
	rep, err := lc.Verify(ctx, key)
	require.NoError(t, err)
	require.True(t, rep.OK, "chain of %s broken: %+v", key, rep.Breaks)
	require.EqualValues(t, want, rep.Records, "records of %s", key)
	onPeer, err := lc.VerifyOnPeer(ctx, key)
	require.NoError(t, err)
	require.True(t, onPeer.OK, "chaincode Verify of %s: %+v", key, onPeer.Breaks)
	hist, err := lc.History(ctx, key)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, r := range hist {
		require.False(t, seen[r.ID], "record %s of %s stored twice", r.ID, key)
		seen[r.ID] = true
	}
	return hist
}

// waitForCount polls the ledger until every key's head counts want records.
func waitForCount(ctx context.Context, t testing.TB, lc *ledger.Client, keys []string, want int64) {
	t.Helper()
	for _, k := range keys {
		for {
			h, err := lc.Head(ctx, k)
			if err == nil && h.Count >= want {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("ledger head of %s counts %d records, want %d (last error %v)", k, h.Count, want, err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}
