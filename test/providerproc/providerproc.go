// Package providerproc runs the provider's real binary as child processes
// of a test, against the test's API server: built once, started, SIGKILLed
// and restarted, each process's output in one log file across restarts.
package providerproc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// Build compiles cmd/provider once into dir.
func Build(t *testing.T, dir string) string {
	t.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "provider")
	start := time.Now()
	cmd := exec.Command("go", "build", "-tags=pacific", "-o", bin, "./cmd/provider") //nolint:gosec // the test's own build into its temp dir
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the provider: %v\n%s", err, out)
	}
	t.Logf("provider built in %s", time.Since(start).Round(100*time.Millisecond))
	return bin
}

// WriteKubeconfig writes a kubeconfig for the test API server.
func WriteKubeconfig(t *testing.T, cfg *rest.Config, path string) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

// FreeAddr returns a loopback address no one listens on right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// A Process is the provider binary run as a child process that the test
// starts, SIGKILLs and restarts. Its output goes to one log file across
// restarts, with a marker line per start and kill.
type Process struct {
	t          *testing.T
	bin        string
	kubeconfig string
	args       []string
	log        *os.File
	metrics    string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	killing bool
	starts  int
	kills   int
	crashes []string // exits the test did not cause
}

// New returns a provider process (not started) logging to logFile; args
// come after the defaults (a 2 s poll, 20 reconciles/s, no leader election,
// debug logs, free metrics and health addresses) and override them.
func New(t *testing.T, bin, kubeconfig, logFile string, args ...string) *Process {
	t.Helper()
	log, err := os.Create(logFile) //nolint:gosec // a path the test chose
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, bin: bin, kubeconfig: kubeconfig, log: log, args: args}
	t.Cleanup(func() {
		p.Stop()
		_ = log.Close()
	})
	return p
}

// LogFile is the path of the process's log.
func (p *Process) LogFile() string { return p.log.Name() }

// MetricsAddr is the metrics address of the running (or last) process.
func (p *Process) MetricsAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.metrics
}

// Running tells whether the process runs.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Start runs a new provider process; it must not be running. It may be
// called from any goroutine.
func (p *Process) Start() error {
	metrics, err := FreeAddr()
	if err != nil {
		return err
	}
	health, err := FreeAddr()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("provider already running (pid %d)", p.cmd.Process.Pid)
	}
	args := []string{
		"--poll=2s",
		"--max-reconcile-rate=20",
		"--leader-election=false",
		"--metrics-bind-address=" + metrics,
		"--health-probe-bind-address=" + health,
		"--debug", // every reconcile in the log, the evidence of a failure
	}
	args = append(args, p.args...)
	p.metrics = metrics
	cmd := exec.Command(p.bin, args...) //nolint:gosec // the binary Build made, with the test's args
	cmd.Env = append(os.Environ(), "KUBECONFIG="+p.kubeconfig)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	// Dies with the test process, so an aborted run leaves no provider behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the provider: %w", err)
	}
	p.starts++
	fmt.Fprintf(p.log, "=== providerproc %s: start #%d pid %d\n", time.Now().Format("15:04:05.000"), p.starts, cmd.Process.Pid)
	exited := make(chan struct{})
	p.cmd, p.exited, p.killing = cmd, exited, false
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.killing {
			msg := fmt.Sprintf("provider pid %d exited by itself at %s: %v", cmd.Process.Pid, time.Now().Format("15:04:05.000"), err)
			p.crashes = append(p.crashes, msg)
			fmt.Fprintln(p.log, "=== providerproc: "+msg)
		}
		if p.cmd == cmd {
			p.cmd = nil
		}
		close(exited)
	}()
	return nil
}

// Kill sends SIGKILL to the running provider and waits until it is gone.
func (p *Process) Kill() { p.sigkill(true) }

// Stop kills the provider if it runs (test cleanup; not counted as a kill).
func (p *Process) Stop() { p.sigkill(false) }

// sigkill sends SIGKILL to the running provider, if any, and waits until it
// is gone; counted, it is a kill of the test's and marked in the log.
func (p *Process) sigkill(counted bool) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.killing = true
	_ = cmd.Process.Signal(syscall.SIGKILL)
	if counted {
		p.kills++
		fmt.Fprintf(p.log, "=== providerproc %s: SIGKILL #%d pid %d\n", time.Now().Format("15:04:05.000"), p.kills, cmd.Process.Pid)
	}
	p.mu.Unlock()
	<-exited
}

// EnsureRunning restarts the provider when it is not running (e.g. it
// exited by itself, which is recorded as a crash).
func (p *Process) EnsureRunning() error {
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if !running {
		return p.Start()
	}
	return nil
}

// Counts are the starts, the kills and the exits the test did not cause.
func (p *Process) Counts() (starts, kills int, crashes []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.kills, append([]string(nil), p.crashes...)
}

// Chaos kills and restarts the provider kills times, each after it ran a
// random 0.5-4 s, and leaves it running. beforeKill runs just before each
// SIGKILL (to see what the kill interrupts).
func (p *Process) Chaos(rng *rand.Rand, kills int, beforeKill func()) error {
	for range kills {
		if err := p.EnsureRunning(); err != nil {
			return err
		}
		time.Sleep(500*time.Millisecond + time.Duration(rng.Int64N(int64(3500*time.Millisecond))))
		beforeKill()
		p.Kill()
	}
	return p.EnsureRunning()
}

// LogLines returns the provider log lines (across all restarts) that
// contain any of the needles, at most limit of them, the last ones.
func (p *Process) LogLines(limit int, needles ...string) []string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, l := range bytes.Split(b, []byte("\n")) {
		s := string(l)
		for _, n := range needles {
			if strings.Contains(s, n) {
				out = append(out, s)
				break
			}
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}
