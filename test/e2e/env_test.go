// Package e2e runs the platform as a platform team does: Crossplane core v2.4.0
// (--package-runtime=External) installs provider-microcloud and function-microcloud from their xpkgs in
// a loopback registry (cluster/crossplane-up.sh, cmd/package-runtime), and reconciles the catalogue's
// claims and XRs into VMs on a PVE simulator, pools and images on the real Ceph cluster, and records on
// the real Fabric network. Nothing is rendered here: Crossplane composes, the provider as installed
// from its package reconciles.
//
// Needs CEPH_CONF (cluster/ceph-up.sh) and FABRIC_ENV (cluster/fabric-up.sh); uses
// MICROCLOUD_PROVIDER_XPKG / MICROCLOUD_FUNCTION_XPKG when set (else cluster/package.sh builds them).
// Without CEPH_CONF or FABRIC_ENV the tests skip, unless MICROCLOUD_REQUIRE_INTEGRATION=1.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

var repoRoot = func() string {
	p, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return p
}()

// world is the running platform every test of the package shares.
type world struct {
	dir        string
	kubeconfig string
	kubectlBin string
	dyn        dynamic.Interface
	sim        *pvesim.Server
	ceph       *cephclient.Client
	cephCfg    cephclient.Config
	lc         *ledger.Client
	conn       *connector.Connector
	registry   string
	runtimeBin string
	tag        string
	stops      []func()
}

var (
	shared    *world
	sharedErr error
	once      sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// platform returns the shared world, starting it on first use (about a minute).
func platform(t *testing.T) *world {
	t.Helper()
	conf, fab := os.Getenv("CEPH_CONF"), os.Getenv("FABRIC_ENV")
	if conf == "" || fab == "" {
		if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("CEPH_CONF and FABRIC_ENV must be set (cluster/ceph-up.sh, cluster/fabric-up.sh)")
		}
		t.Skip("CEPH_CONF or FABRIC_ENV not set: no real Ceph or Fabric to run Crossplane end to end against")
	}
	once.Do(func() { shared, sharedErr = start(conf, fab) })
	if sharedErr != nil {
		t.Fatalf("cannot start the platform: %v", sharedErr)
	}
	return shared
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close() //nolint:errcheck // only to learn a free port
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns n distinct free loopback ports whose +10 is free too (etcd's peer port).
func freePorts(n int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if seen[p] || seen[p+10] || p+10 > 65535 {
			continue
		}
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10)); err == nil {
			_ = l.Close()
			seen[p], seen[p+10] = true, true
			out = append(out, p)
		}
	}
	return out, nil
}

// script runs a cluster/ script with env added and returns the last line of its stdout.
func script(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot, "cluster", name)}, args...)...) //nolint:gosec // our scripts
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", name, err, tail(errb.String(), 40))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func start(cephConf, fabricEnv string) (_ *world, err error) {
	t0 := time.Now()
	dir, err := os.MkdirTemp("", "microcloud-e2e-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir}
	defer func() {
		if err != nil {
			w.stop()
		}
	}()
	ports, err := freePorts(7)
	if err != nil {
		return nil, err
	}
	apiPort, etcdPort, regPort, xpMetrics, xpHealth, pMetrics, pHealth := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]

	// control plane with a garbage collector (Crossplane deletes composed resources through it)
	cpDir := filepath.Join(dir, "cp")
	w.stops = append(w.stops, func() { _, _ = script(nil, "controlplane-down.sh", cpDir, "--wipe") })
	if w.kubeconfig, err = script([]string{fmt.Sprintf("MICROCLOUD_CP_PORT=%d", apiPort), fmt.Sprintf("MICROCLOUD_ETCD_PORT=%d", etcdPort)},
		"controlplane-up.sh", cpDir); err != nil {
		return nil, err
	}
	w.kubectlBin = filepath.Join(cpDir, "kubectl")
	cfg, err := clientcmd.BuildConfigFromFlags("", w.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	if w.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}

	// the site: a PVE 9.1 simulator with five nodes
	sim, err := pvesim.New(pvesim.Options{Nodes: []string{"pve1", "pve2", "pve3", "pve4", "pve5"}, TaskDuration: 200 * time.Millisecond,
		CADir: filepath.Join(dir, "pvesim"), TokenName: "crossplane"})
	if err != nil {
		return nil, err
	}
	if w.sim, err = sim.Start(); err != nil {
		return nil, err
	}
	w.stops = append(w.stops, func() { _ = w.sim.Close() })

	// Ceph (for assertions) and the ledger with an in-process connector on a unix socket
	if w.cephCfg, err = cephclient.ConfigFromConfFile(cephConf); err != nil {
		return nil, err
	}
	if w.ceph, err = cephclient.Connect(w.cephCfg, time.Millisecond); err != nil {
		return nil, err
	}
	w.stops = append(w.stops, w.ceph.Close)
	lcfg, _, err := ledger.LoadEnvFile(fabricEnv)
	if err != nil {
		return nil, err
	}
	if w.lc, err = ledger.Dial(lcfg); err != nil {
		return nil, err
	}
	w.stops = append(w.stops, func() { _ = w.lc.Close() })
	sock := filepath.Join(dir, "connector.sock")
	if w.conn, err = connector.Start(connector.Options{Listen: "unix://" + sock, WALPath: filepath.Join(dir, "connector.wal"),
		Submitter: w.lc, Registerer: prometheus.NewRegistry()}); err != nil {
		return nil, err
	}
	w.stops = append(w.stops, func() { _ = w.conn.Stop() })

	// Crossplane core, registry, package runtime
	xpDir := filepath.Join(dir, "xp")
	w.stops = append(w.stops, func() { _, _ = script(nil, "crossplane-down.sh", xpDir) })
	envFile, err := script([]string{"KUBECONFIG=" + w.kubeconfig, fmt.Sprintf("XP_REGISTRY_PORT=%d", regPort),
		fmt.Sprintf("XP_METRICS_PORT=%d", xpMetrics), fmt.Sprintf("XP_HEALTH_PORT=%d", xpHealth)}, "crossplane-up.sh", xpDir)
	if err != nil {
		return nil, err
	}
	vars, err := readEnv(envFile)
	if err != nil {
		return nil, err
	}
	w.registry, w.runtimeBin, w.tag = vars["XP_REGISTRY"], vars["XP_RUNTIME"], vars["XP_TAG"]

	// the site's credentials and the provider's runtime config, then the packages as examples/ has them
	keyring, err := os.ReadFile(filepath.Join(filepath.Dir(cephConf), "client.admin.keyring")) //nolint:gosec // the test Ceph cluster's own keyring, named by CEPH_CONF
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(w.sim.TokenID+"="+w.sim.Secret), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "keyring"), keyring, 0o600); err != nil { //nolint:gosec // into the test's own temp dir
		return nil, err
	}
	for _, args := range [][]string{
		{"-n", "crossplane-system", "create", "secret", "generic", "microcloud-pve", "--from-file=token=" + filepath.Join(dir, "token"), "--from-file=ca.crt=" + w.sim.CAPath},
		{"-n", "crossplane-system", "create", "secret", "generic", "microcloud-ceph", "--from-file=keyring=" + filepath.Join(dir, "keyring")},
	} {
		if _, err := w.kubectl(args...); err != nil {
			return nil, err
		}
	}
	if _, err := w.apply(fmt.Sprintf(runtimeConfig, pMetrics, pHealth, sock)); err != nil {
		return nil, err
	}
	for _, f := range []string{"examples/packages/provider.yaml", "examples/packages/function-microcloud.yaml"} {
		if _, err := w.kubectl("apply", "-f", filepath.Join(repoRoot, f)); err != nil {
			return nil, err
		}
	}
	if _, err := w.kubectl("wait", "--for=condition=Healthy", "--timeout=240s", "providers.pkg.crossplane.io/provider-microcloud",
		"functions.pkg.crossplane.io/function-microcloud"); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, w.diagnose())
	}
	// the site, with the CRD Crossplane installed from the package
	if _, err := w.apply(fmt.Sprintf(clusterProviderConfig, w.sim.URL[:strings.Index(w.sim.URL, "/api2")], strings.Join(w.cephCfg.Monitors, `", "`))); err != nil {
		return nil, err
	}
	// the catalogue's API: XRDs and Compositions straight from examples/catalog
	for _, d := range []string{"definitions", "compositions"} {
		if _, err := w.kubectl("apply", "-f", filepath.Join(repoRoot, "examples", "catalog", d)); err != nil {
			return nil, err
		}
	}
	if _, err := w.kubectl("wait", "--for=condition=Established", "--timeout=120s", "xrd", "--all"); err != nil {
		return nil, err
	}
	if _, err := w.kubectl("wait", "--for=condition=Offered", "--timeout=120s", "xrd/xvpses.platform.microcloud.dev"); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: platform up in %s (control plane, simulator, connector, Crossplane core, packages Healthy, catalogue Established)\n", time.Since(t0).Round(time.Second))
	return w, nil
}

// The provider's runtime config: fast polls for tests, loopback probes, change logs to the connector
// and intent records required before every external write.
const runtimeConfig = `
apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata:
  name: provider-microcloud
spec:
  deploymentTemplate:
    spec:
      selector: {}
      template:
        spec:
          containers:
          - name: package-runtime
            args:
            - --poll=2s
            - --drift-interval=10s
            - --retry-backoff-max=10s
            - --metrics-bind-address=127.0.0.1:%d
            - --health-probe-bind-address=127.0.0.1:%d
            - --enable-changelogs
            - --changelogs-socket-path=%s
            - --provenance=required
`

const clusterProviderConfig = `
apiVersion: microcloud.dev/v1alpha1
kind: ClusterProviderConfig
metadata:
  name: default
spec:
  proxmox:
    endpoint: %s
    tokenSecretRef: {namespace: crossplane-system, name: microcloud-pve, key: token}
    caBundle:
      secretKeyRef: {namespace: crossplane-system, name: microcloud-pve, key: ca.crt}
  ceph:
    monitors: ["%s"]
    clientName: admin
    keyringSecretRef: {namespace: crossplane-system, name: microcloud-ceph, key: keyring}
`

func readEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path) //nolint:gosec // written by crossplane-up.sh
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m, nil
}

func (w *world) stop() {
	for i := len(w.stops) - 1; i >= 0; i-- {
		w.stops[i]()
	}
	if os.Getenv("MICROCLOUD_E2E_KEEP") != "1" {
		_ = os.RemoveAll(w.dir)
	}
}

// kubectl runs kubectl against the platform's API server.
func (w *world) kubectl(args ...string) (string, error) {
	return w.kubectlIn("", args...)
}

func (w *world) kubectlIn(stdin string, args ...string) (string, error) {
	cmd := exec.Command(w.kubectlBin, append([]string{"--kubeconfig", w.kubeconfig}, args...)...) //nolint:gosec // test
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (w *world) apply(yaml string) (string, error) { return w.kubectlIn(yaml, "apply", "-f", "-") }

// diagnose is what to look at when the packages do not become healthy.
func (w *world) diagnose() string {
	out, _ := w.kubectl("get", "providers.pkg.crossplane.io,functions.pkg.crossplane.io,providerrevisions,functionrevisions", "-o", "yaml")
	logs, _ := os.ReadFile(filepath.Join(w.dir, "xp", "runtime.log"))
	return tail(out, 60) + "\n--- runtime.log\n" + tail(string(logs), 30)
}

var (
	gvrVPS          = schema.GroupVersionResource{Group: "platform.microcloud.dev", Version: "v1alpha1", Resource: "vpses"}
	gvrVPSClaim     = schema.GroupVersionResource{Group: "platform.microcloud.dev", Version: "v1alpha1", Resource: "vpsclaims"}
	gvrXVPS         = schema.GroupVersionResource{Group: "platform.microcloud.dev", Version: "v1alpha1", Resource: "xvpses"}
	gvrTenant       = schema.GroupVersionResource{Group: "platform.microcloud.dev", Version: "v1alpha1", Resource: "tenants"}
	gvrValidatorSet = schema.GroupVersionResource{Group: "platform.microcloud.dev", Version: "v1alpha1", Resource: "validatorsets"}
	gvrVM           = schema.GroupVersionResource{Group: "proxmox.microcloud.dev", Version: "v1alpha1", Resource: "virtualmachines"}
	gvrPVEPool      = schema.GroupVersionResource{Group: "proxmox.microcloud.dev", Version: "v1alpha1", Resource: "pools"}
	gvrCephPool     = schema.GroupVersionResource{Group: "ceph.microcloud.dev", Version: "v1alpha1", Resource: "pools"}
	gvrRBDImage     = schema.GroupVersionResource{Group: "ceph.microcloud.dev", Version: "v1alpha1", Resource: "rbdimages"}
	gvrSG           = schema.GroupVersionResource{Group: "proxmox.microcloud.dev", Version: "v1alpha1", Resource: "firewallsecuritygroups"}
	gvrProviderRev  = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providerrevisions"}
	gvrCRD          = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

func (w *world) get(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	if ns == "" {
		return w.dyn.Resource(gvr).Get(ctx, name, metav1GetOptions)
	}
	return w.dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1GetOptions)
}

func (w *world) list(ctx context.Context, gvr schema.GroupVersionResource, ns string) ([]unstructured.Unstructured, error) {
	var l *unstructured.UnstructuredList
	var err error
	if ns == "" {
		l, err = w.dyn.Resource(gvr).List(ctx, metav1ListOptions)
	} else {
		l, err = w.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1ListOptions)
	}
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}
