package crashloop

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

// buildProvider compiles cmd/provider once into dir.
func buildProvider(t *testing.T, dir string) string {
	t.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "provider")
	start := time.Now()
	cmd := exec.Command("go", "build", "-tags=pacific", "-o", bin, "./cmd/provider")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the provider: %v\n%s", err, out)
	}
	t.Logf("provider built in %s", time.Since(start).Round(100*time.Millisecond))
	return bin
}

// writeKubeconfig writes a kubeconfig for the test API server.
func writeKubeconfig(t *testing.T, cfg *rest.Config, path string) {
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

// freeAddr returns a loopback address no one listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// provider is the provider binary run as a child process that the test
// starts, SIGKILLs and restarts. Its output goes to one log file across
// restarts, with a marker line per start and kill.
type provider struct {
	t          *testing.T
	bin        string
	kubeconfig string
	log        *os.File

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	killing bool
	starts  int
	kills   int
	crashes []string // exits the test did not cause
}

func newProvider(t *testing.T, bin, kubeconfig, dir string) *provider {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, "provider.log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{t: t, bin: bin, kubeconfig: kubeconfig, log: log}
	t.Cleanup(func() {
		p.stop()
		_ = log.Close()
	})
	return p
}

// start runs a new provider process; it must not be running. It may be
// called from any goroutine.
func (p *provider) start() error {
	metrics, err := freeAddr()
	if err != nil {
		return err
	}
	health, err := freeAddr()
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
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+p.kubeconfig)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	// Dies with the test process, so an aborted run leaves no provider behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the provider: %w", err)
	}
	p.starts++
	fmt.Fprintf(p.log, "=== crashloop %s: start #%d pid %d\n", time.Now().Format("15:04:05.000"), p.starts, cmd.Process.Pid)
	exited := make(chan struct{})
	p.cmd, p.exited, p.killing = cmd, exited, false
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.killing {
			msg := fmt.Sprintf("provider pid %d exited by itself at %s: %v", cmd.Process.Pid, time.Now().Format("15:04:05.000"), err)
			p.crashes = append(p.crashes, msg)
			fmt.Fprintln(p.log, "=== crashloop: "+msg)
		}
		if p.cmd == cmd {
			p.cmd = nil
		}
		close(exited)
	}()
	return nil
}

// kill sends SIGKILL to the running provider and waits until it is gone.
func (p *provider) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.killing = true
	_ = cmd.Process.Signal(syscall.SIGKILL)
	p.kills++
	fmt.Fprintf(p.log, "=== crashloop %s: SIGKILL #%d pid %d\n", time.Now().Format("15:04:05.000"), p.kills, cmd.Process.Pid)
	p.mu.Unlock()
	<-exited
}

// stop kills the provider if it runs (test cleanup; not counted as a kill).
func (p *provider) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.killing = true
	_ = cmd.Process.Signal(syscall.SIGKILL)
	p.mu.Unlock()
	<-exited
}

// ensureRunning restarts the provider when it is not running (e.g. it
// exited by itself, which is recorded as a crash).
func (p *provider) ensureRunning() error {
	p.mu.Lock()
	running := p.cmd != nil
	p.mu.Unlock()
	if !running {
		return p.start()
	}
	return nil
}

func (p *provider) counts() (starts, kills int, crashes []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.kills, append([]string(nil), p.crashes...)
}

// chaos kills and restarts the provider kills times, each after it ran a
// random 0.5-4 s, and leaves it running. beforeKill runs just before each
// SIGKILL (to see what the kill interrupts).
func (p *provider) chaos(rng *rand.Rand, kills int, beforeKill func()) error {
	for range kills {
		if err := p.ensureRunning(); err != nil {
			return err
		}
		time.Sleep(500*time.Millisecond + time.Duration(rng.Int64N(int64(3500*time.Millisecond))))
		beforeKill()
		p.kill()
	}
	return p.ensureRunning()
}

// logLines returns the provider log lines (across all restarts) that
// contain any of the needles, at most limit of them, the last ones.
func (p *provider) logLines(limit int, needles ...string) []string {
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
