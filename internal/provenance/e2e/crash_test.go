package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// connectorBinary builds cmd/provenance-connector (or takes PROVENANCE_CONNECTOR_BIN).
func connectorBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("PROVENANCE_CONNECTOR_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "provenance-connector")
	out, err := exec.Command("go", "build", "-tags", "pacific", "-o", bin, //nolint:gosec // builds our own connector
		"github.com/microcloud-dev/provider-microcloud/cmd/provenance-connector").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

type process struct {
	cmd *exec.Cmd
	log *os.File
}

func startConnector(t *testing.T, bin, envFile, sock, walPath, logPath string) *process {
	t.Helper()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) //nolint:gosec // test file
	require.NoError(t, err)
	cmd := exec.Command(bin, "serve", "--fabric-env", envFile, "--listen", sock, "--wal", walPath, //nolint:gosec // test binary
		"--batch-size", "50", "--metrics-addr", "")
	cmd.Stdout, cmd.Stderr = lf, lf
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, log: lf}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		_ = lf.Close()
	})
	return p
}

// TestConnectorKilledMidStream: the connector process is SIGKILLed while providers are
// sending, then restarted on the same WAL. Providers (best-effort loggers) queue and
// resend what was not acknowledged; the ledger then holds every record exactly once, in
// order, and `provenance-connector verify` passes.
func TestConnectorKilledMidStream(t *testing.T) {
	f := requireFabric(t)
	lc := f.dial(t)
	bin := connectorBinary(t)
	dir := t.TempDir()
	sock, walPath, logPath := "unix://"+filepath.Join(dir, "c.sock"), filepath.Join(dir, "wal.db"), filepath.Join(dir, "connector.log")
	proc := startConnector(t, bin, f.envFile, sock, walPath, logPath)

	conn, err := changelog.Dial(sock)
	require.NoError(t, err)
	defer conn.Close() //nolint:errcheck // test
	client := v1alpha1.NewChangeLogServiceClient(conn)

	const resources, perResource = 10, 60
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ns := "e2e-kill-" + nonce(t)
	keys := make([]string, resources)
	loggers := make([]*changelog.Logger, resources)
	var calls atomic.Int64
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for i := range resources {
		name := fmt.Sprintf("vm%02d", i)
		keys[i] = record.ResourceKey(testAPIVersion, "Machine", ns, name)
		loggers[i] = changelog.New(client, changelog.ModeBestEffort, changelog.WithTimeout(3*time.Second))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gen := int64(1); gen <= perResource; gen++ {
				if gen == perResource/3 {
					<-killed // a third before the kill, the rest across it and after the restart
				}
				vm := provtest.NewResource(ns, name, ns+"-"+name, gen, map[string]any{"gen": gen})
				assert.NoError(t, loggers[i].Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
				calls.Add(1)
			}
		}()
	}
	for calls.Load() < int64(resources*(perResource/3-1)) {
		time.Sleep(10 * time.Millisecond)
	}
	close(killed)
	time.Sleep(50 * time.Millisecond) // mid-stream: sends are in flight
	require.NoError(t, proc.cmd.Process.Signal(syscall.SIGKILL))
	_ = proc.cmd.Wait()
	t.Logf("connector killed after %d change logs", calls.Load())
	time.Sleep(500 * time.Millisecond) // sends fail and queue meanwhile
	startConnector(t, bin, f.envFile, sock, walPath, logPath)
	wg.Wait()

	for i, l := range loggers {
		for l.Queued() > 0 {
			require.NoError(t, ctx.Err(), "logger %d still has %d queued", i, l.Queued())
			_ = l.Flush(ctx)
		}
	}
	waitForCount(ctx, t, lc, keys, perResource)
	for _, k := range keys {
		hist := requireChain(ctx, t, lc, k, perResource)
		for j, r := range hist {
			require.EqualValues(t, j+1, r.Generation, "%s: record %d out of order", k, j)
		}
	}

	out, err := exec.Command(bin, "verify", "--fabric-env", f.envFile, "--resource", keys[0]).CombinedOutput() //nolint:gosec // test binary
	require.NoError(t, err, "verify: %s", out)
	assert.Contains(t, string(out), fmt.Sprintf("OK: %d records", perResource))
	logs, _ := os.ReadFile(logPath) //nolint:gosec // test file
	assert.Equal(t, 2, strings.Count(string(logs), "Serving ChangeLogService"), "the connector ran twice")
}
