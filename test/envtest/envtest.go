// Package envtest starts a real Kubernetes API server (kube-apiserver built
// from the k8s.io/kubernetes module, etcd from Debian; see
// cluster/envtest-assets.sh) with the provider's CRDs installed, for
// integration tests.
package envtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/microcloud-dev/provider-microcloud/apis"
)

// RequireEnv returns the value of an environment variable an integration test
// needs. When it is unset the test is skipped, unless
// MICROCLOUD_REQUIRE_INTEGRATION=1 (as in CI), where it fails instead so
// nothing silently skips.
func RequireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%s is not set but MICROCLOUD_REQUIRE_INTEGRATION=1; run the tests with `make test`", name)
		}
		t.Skipf("%s is not set; run with `make test` to start the real parts", name)
	}
	return v
}

// Env is a running API server with the provider's CRDs.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	env    *crenvtest.Environment
}

var (
	shared    *Env
	sharedErr error
	once      sync.Once
)

// Start returns the process-wide test API server, starting it on first use.
// Use Main in TestMain so it is stopped when the tests end.
func Start(t testing.TB) *Env {
	t.Helper()
	RequireEnv(t, "KUBEBUILDER_ASSETS")
	once.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("cannot start the test API server: %v", sharedErr)
	}
	return shared
}

// Main runs the tests of a package and stops the shared API server after them.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot stop the test API server: %v\n", err)
		}
	}
	os.Exit(code)
}

func start() (*Env, error) {
	// Controller logs go to stderr with MICROCLOUD_TEST_LOG=1, else nowhere.
	if os.Getenv("MICROCLOUD_TEST_LOG") == "1" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		ctrl.SetLogger(logr.Discard())
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := apis.AddToScheme(s); err != nil {
		return nil, err
	}
	env := &crenvtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "package", "crds")},
		ErrorIfCRDPathMissing: true,
		Scheme:                s,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, Scheme: s, env: env}, nil
}

// RepoRoot finds the module root by walking up from the working directory.
func RepoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "apis")); err == nil {
				return d, nil
			}
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("no repository root above the working directory")
		}
		d = p
	}
}

// Namespace creates a fresh namespace for one test. envtest runs no namespace
// controller, so it is not deleted afterwards; names are unique per test.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("cannot create a namespace: %v", err)
	}
	return ns.GetName()
}

// StartManager runs a controller-runtime manager, set up by setup, until the
// test ends.
func (e *Env) StartManager(t testing.TB, setup func(ctrl.Manager) error) ctrl.Manager {
	t.Helper()
	mgr, _ := e.StartStoppableManager(t, setup)
	return mgr
}

// StartStoppableManager is StartManager plus a function that stops the manager
// early (e.g. to restart the provider in the middle of an operation); it
// waits until the manager has stopped and may be called more than once.
func (e *Env) StartStoppableManager(t testing.TB, setup func(ctrl.Manager) error) (ctrl.Manager, func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:                 e.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Several tests in one process register controllers of the same name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("cannot create a manager: %v", err)
	}
	if err := setup(mgr); err != nil {
		t.Fatalf("cannot set up controllers: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("manager stopped with an error: %v", err)
				}
			case <-time.After(30 * time.Second):
				// Say what is still running: the goroutines of the whole test
				// binary, filtered to the provider's and controller-runtime's.
				t.Errorf("manager did not stop within 30s; goroutines still in the provider or controller-runtime:\n%s", busyGoroutines())
			}
		})
	}
	t.Cleanup(stop)
	return mgr, stop
}

// busyGoroutines is the stacks of the goroutines that are in this module's
// code or in controller-runtime, from a full goroutine dump.
func busyGoroutines() string {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	var out []string
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "provider-microcloud/internal") || strings.Contains(g, "controller-runtime/pkg/internal/controller") || strings.Contains(g, "controller-runtime/pkg/controller/priorityqueue") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
