package provenance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goproxmox "github.com/luthermonson/go-proxmox"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	changelogs "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	proxmoxclient "github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/pool"
	cephsite "github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	pcconfig "github.com/microcloud-dev/provider-microcloud/internal/controller/config"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	proxmoxsite "github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/virtualmachine"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// pollInterval is short so the controllers notice finished PVE tasks and Ceph changes fast.
const pollInterval = time.Second

// world is one test's provider surroundings: a namespace with a ProviderConfig naming its
// own PVE simulator and (optionally) the Ceph cluster, a Fabric ledger client, and the
// unix socket where the provider expects the connector.
type world struct {
	t    *testing.T
	env  *envtest.Env
	ns   string
	sim  *pvesim.Server
	pve  *goproxmox.Client
	lc   *ledger.Client
	ceph *cephclient.Client // nil without Ceph
	dir  string
	sock string
}

func newWorld(t *testing.T, withCeph bool) *world {
	t.Helper()
	fabricEnv := envtest.RequireEnv(t, "FABRIC_ENV")
	cephConf := ""
	if withCeph {
		cephConf = envtest.RequireEnv(t, "CEPH_CONF")
	}
	env := envtest.Start(t)
	dir := t.TempDir()
	w := &world{t: t, env: env, ns: env.Namespace(t), dir: dir, sock: "unix://" + filepath.Join(dir, "changelogs.sock")}
	// runs last (cleanups are LIFO), after every manager stopped
	t.Cleanup(w.forgetMRs)

	cfg, _, err := ledger.LoadEnvFile(fabricEnv)
	if err != nil {
		t.Fatal(err)
	}
	if w.lc, err = ledger.Dial(cfg); err != nil {
		t.Fatalf("cannot connect to Fabric: %v", err)
	}
	t.Cleanup(func() { _ = w.lc.Close() })

	sim, err := pvesim.New(pvesim.Options{TaskDuration: 100 * time.Millisecond, CADir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if w.sim, err = sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.sim.Close() })
	w.pve = goproxmox.NewClient(w.sim.URL, goproxmox.WithHTTPClient(w.sim.HTTPClient()), goproxmox.WithAPIToken(sim.TokenID, sim.Secret))

	secret := map[string][]byte{"token": []byte(sim.TokenID + "=" + sim.Secret), "ca.crt": w.sim.CACertPEM}
	site := mcv1alpha1.SiteSpec{Proxmox: &mcv1alpha1.ProxmoxConfig{
		Endpoint:       "https://" + w.sim.Addr,
		TokenSecretRef: mcv1alpha1.SecretKeySelector{Name: "site", Key: "token"},
		CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Name: "site", Key: "ca.crt"}},
	}}
	if withCeph {
		cc, err := cephclient.ConfigFromConfFile(cephConf)
		if err != nil {
			t.Fatal(err)
		}
		if w.ceph, err = cephclient.Connect(cc, time.Millisecond); err != nil {
			t.Fatalf("cannot connect to Ceph: %v", err)
		}
		t.Cleanup(w.ceph.Close)
		secret["keyring"] = []byte(cc.Key)
		site.Ceph = &mcv1alpha1.CephConfig{Monitors: cc.Monitors, ClientName: "admin",
			KeyringSecretRef: mcv1alpha1.SecretKeySelector{Name: "site", Key: "keyring"}}
	}
	w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "site"}, Data: secret})
	w.create(&mcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "default"},
		Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: site}})
	return w
}

func (w *world) create(o client.Object) {
	w.t.Helper()
	if err := w.env.Client.Create(context.Background(), o); err != nil {
		w.t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
	}
}

// forgetMRs removes what is left of this test's MRs (a failed test, or a VM left on
// purpose) once their controllers have stopped, so no finalizer lingers in the shared
// API server; the test's simulator goes with it.
func (w *world) forgetMRs() {
	ctx := context.Background()
	for _, l := range []client.ObjectList{&pvev1alpha1.VirtualMachineList{}, &cephv1alpha1.PoolList{}} {
		if err := w.env.Client.List(ctx, l, client.InNamespace(w.ns)); err != nil {
			continue
		}
		objs, _ := metaItems(l)
		for _, o := range objs {
			o.SetFinalizers(nil)
			_ = w.env.Client.Update(ctx, o)
			_ = w.env.Client.Delete(ctx, o)
		}
	}
}

func metaItems(l client.ObjectList) ([]client.Object, error) {
	var out []client.Object
	switch x := l.(type) {
	case *pvev1alpha1.VirtualMachineList:
		for i := range x.Items {
			out = append(out, &x.Items[i])
		}
	case *cephv1alpha1.PoolList:
		for i := range x.Items {
			out = append(out, &x.Items[i])
		}
	default:
		return nil, fmt.Errorf("unknown list %T", l)
	}
	return out, nil
}

// runningConnector is an in-process provenance connector committing to the real ledger.
type runningConnector struct {
	*connector.Connector
	reg  *prometheus.Registry
	once sync.Once
}

// startConnector starts the connector on the world's socket with its WAL at walPath.
func (w *world) startConnector(walPath string) *runningConnector {
	w.t.Helper()
	reg := prometheus.NewRegistry()
	c, err := connector.Start(connector.Options{Listen: w.sock, WALPath: walPath, Submitter: w.lc, Registerer: reg, Log: testLogger()})
	if err != nil {
		w.t.Fatalf("cannot start the connector: %v", err)
	}
	rc := &runningConnector{Connector: c, reg: reg}
	w.t.Cleanup(rc.stop)
	return rc
}

func (rc *runningConnector) stop() { rc.once.Do(func() { _ = rc.Stop() }) }

// appended is the connector's count of records appended to its WAL (duplicates excluded).
func (rc *runningConnector) appended(t *testing.T) int {
	t.Helper()
	mfs, err := rc.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "provenance_records_appended_total" {
			return int(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	t.Fatal("the connector has no provenance_records_appended_total metric")
	return 0
}

// provider is the provider side: a changelog.Logger (with its Run loop) and, once
// started, a manager whose controllers use it as change logger and intent recorder.
type provider struct {
	w       *world
	l       *changelog.Logger
	stopRun func()
	stopMgr func()
	once    sync.Once
}

// newProvider builds the logger, dialling the world's socket (the connector need not be
// up), and runs its retry loop.
func (w *world) newProvider(mode changelog.Mode, opts ...changelog.Option) *provider {
	w.t.Helper()
	conn, err := changelog.Dial(w.sock)
	if err != nil {
		w.t.Fatal(err)
	}
	opts = append([]changelog.Option{changelog.WithScheme(w.env.Scheme), changelog.WithProviderVersion("test-provenance"),
		changelog.WithTimeout(2 * time.Second), changelog.WithLogger(testLogger())}, opts...)
	p := &provider{w: w, l: changelog.New(changelogs.NewChangeLogServiceClient(conn), mode, opts...), stopMgr: func() {}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.l.Run(ctx, time.Second)
	}()
	p.stopRun = func() {
		cancel()
		<-done
		_ = conn.Close()
	}
	w.t.Cleanup(p.stop)
	return p
}

// startManager runs the ProviderConfig, VirtualMachine and (with Ceph) Pool controllers.
func (p *provider) startManager() {
	t := p.w.t
	t.Helper()
	mgr, err := ctrl.NewManager(p.w.env.Config, ctrl.Options{
		Scheme: p.w.env.Scheme,
		// only this test's namespace: the tests run in parallel, each with its own connector
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{p.w.ns: {}}},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("cannot create a manager: %v", err)
	}
	o := options.Options{Options: controller.Options{
		Logger:                  testLogger(),
		GlobalRateLimiter:       ratelimiter.NewGlobal(100),
		PollInterval:            pollInterval,
		MaxConcurrentReconciles: 4,
		Features:                &feature.Flags{},
		ChangeLogOptions:        &controller.ChangeLogOptions{ChangeLogger: p.l},
	}, Intent: p.l}
	// one registry per backend and manager, as cmd/provider builds one per process
	o.Proxmox = proxmoxclient.NewRegistry(proxmoxsite.RegistryOptions(o))
	o.Ceph = cephclient.NewClients(cephsite.SnapshotAge(o.PollInterval))
	setups := []func(ctrl.Manager, options.Options) error{pcconfig.Setup, virtualmachine.Setup}
	if p.w.ceph != nil {
		setups = append(setups, pool.Setup)
	}
	for _, s := range setups {
		if err := s(mgr, o); err != nil {
			t.Fatalf("cannot set up controllers: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	p.stopMgr = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager stopped with an error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop within 30s")
		}
	}
}

// stop stops the manager, then the logger's loop, and closes the logger (its spool):
// what a provider restart does.
func (p *provider) stop() {
	p.once.Do(func() {
		p.stopMgr()
		p.stopRun()
		if err := p.l.Close(); err != nil {
			p.w.t.Errorf("cannot close the logger: %v", err)
		}
	})
}

// testLogger is silent unless MICROCLOUD_TEST_DEBUG=1.
func testLogger() logging.Logger {
	if os.Getenv("MICROCLOUD_TEST_DEBUG") != "1" {
		return logging.NewNopLogger()
	}
	return logging.NewLogrLogger(zap.New(zap.UseDevMode(true)))
}

// eventually polls cond until it returns "" or timeout passes; cond says what is still wrong.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		if last = cond(); last == "" {
			t.Logf("%5.1fs  %s", time.Since(start).Seconds(), what)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s: %s", what, timeout, last)
}

// conditioned is any MR.
type conditioned interface {
	client.Object
	GetCondition(xpv2.ConditionType) xpv2.Condition
}

func conditions(o conditioned) string {
	var b strings.Builder
	for _, ct := range []xpv2.ConditionType{xpv2.TypeReady, xpv2.TypeSynced} {
		c := o.GetCondition(ct)
		fmt.Fprintf(&b, "%s=%s (%s: %s) ", ct, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

func (w *world) get(o client.Object) error {
	return w.env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o)
}

// waitReady waits until o is Ready and Synced.
func (w *world) waitReady(o conditioned, timeout time.Duration) {
	w.t.Helper()
	eventually(w.t, timeout, o.GetName()+" Ready and Synced", func() string {
		if err := w.get(o); err != nil {
			return err.Error()
		}
		if o.GetCondition(xpv2.TypeReady).Status != corev1.ConditionTrue || o.GetCondition(xpv2.TypeSynced).Status != corev1.ConditionTrue {
			return conditions(o)
		}
		return ""
	})
}

// update applies mutate to the newest version of o, retrying on conflicts.
func (w *world) update(o client.Object, mutate func()) {
	w.t.Helper()
	for i := 0; i < 20; i++ {
		if err := w.get(o); err != nil {
			w.t.Fatal(err)
		}
		mutate()
		err := w.env.Client.Update(context.Background(), o)
		if err == nil {
			return
		}
		if !kerrors.IsConflict(err) {
			w.t.Fatalf("cannot update %s: %v", o.GetName(), err)
		}
	}
	w.t.Fatalf("cannot update %s: conflicts", o.GetName())
}

// deleteAndWait deletes o and waits until its finalizer ran.
func (w *world) deleteAndWait(o conditioned, timeout time.Duration) {
	w.t.Helper()
	if err := w.env.Client.Delete(context.Background(), o); err != nil && !kerrors.IsNotFound(err) {
		w.t.Fatal(err)
	}
	eventually(w.t, timeout, o.GetName()+" deleted", func() string {
		if err := w.get(o); kerrors.IsNotFound(err) {
			return ""
		} else if err != nil {
			return err.Error()
		}
		return conditions(o)
	})
}

func (w *world) vm(name string, cores int64) *pvev1alpha1.VirtualMachine {
	vm := &pvev1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name}}
	vm.Spec.ForProvider = pvev1alpha1.VirtualMachineParameters{Node: "pve1", Clone: &pvev1alpha1.CloneSource{SourceVMID: pvesim.DefaultTemplateID}, Cores: cores}
	vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return vm
}

type guestRow struct {
	VMID int    `json:"vmid"`
	Name string `json:"name"`
}

// guestsNamed lists the simulator's guests called name.
func (w *world) guestsNamed(name string) []guestRow {
	w.t.Helper()
	var rs, out []guestRow
	if err := w.pve.Get(context.Background(), "/cluster/resources?type=vm", &rs); err != nil {
		w.t.Fatalf("cannot list guests: %v", err)
	}
	for _, g := range rs {
		if g.Name == name {
			out = append(out, g)
		}
	}
	return out
}

// guestCores reads a guest's cores straight from the simulator.
func (w *world) guestCores(vmid int64) string {
	w.t.Helper()
	cfg := map[string]any{}
	if err := w.pve.Get(context.Background(), fmt.Sprintf("/nodes/pve1/qemu/%d/config", vmid), &cfg); err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(cfg["cores"])
}

// waitSent waits until the logger has nothing queued and the connector has committed
// everything in its WAL to the ledger.
func waitSent(t *testing.T, p *provider, c *runningConnector, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "every record committed on the ledger", func() string {
		if q, d := p.l.Queued(), c.WAL.Depth(); q != 0 || d != 0 {
			return fmt.Sprintf("%d queued in the provider, %d unsent in the connector's WAL", q, d)
		}
		return ""
	})
}

// ledgerChain reads a resource's chain from the ledger and checks it: the client-side
// walk and the chaincode's Verify pass, the first record starts the chain, each record's
// prevHash is the previous record's hash, no id appears twice, and each record is the
// one the connector's WAL chained.
func (w *world) ledgerChain(c *runningConnector, key string) []record.Record {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hist, err := w.lc.History(ctx, key)
	if err != nil {
		t.Fatalf("cannot read the history of %s: %v", key, err)
	}
	if len(hist) == 0 {
		t.Fatalf("no records of %s on the ledger", key)
	}
	rep, err := w.lc.Verify(ctx, key)
	if err != nil || !rep.OK || rep.Records != int64(len(hist)) {
		t.Fatalf("verify %s: %+v, %v (history has %d records)", key, rep, err, len(hist))
	}
	onPeer, err := w.lc.VerifyOnPeer(ctx, key)
	if err != nil || !onPeer.OK || onPeer.Records != int64(len(hist)) {
		t.Fatalf("chaincode Verify of %s: %+v, %v", key, onPeer, err)
	}
	seen := map[string]bool{}
	for i, r := range hist {
		if seen[r.ID] {
			t.Errorf("%s: record %s stored twice", key, r.ID)
		}
		seen[r.ID] = true
		prev := ""
		if i > 0 {
			prev = hist[i-1].Hash
		}
		if r.PrevHash != prev {
			t.Errorf("%s record %d: prevHash %q, previous record's hash %q", key, i, r.PrevHash, prev)
		}
		if c != nil {
			inWAL, unsent, err := c.WAL.Get(r.ID)
			if err != nil || unsent || inWAL.Hash != r.Hash {
				t.Errorf("%s record %d is not the committed WAL record: unsent=%v err=%v", key, i, unsent, err)
			}
		}
	}
	t.Logf("%s: %s", key, opsOf(hist))
	return hist
}

// opsOf is a chain's operations, "op/outcome@generation", for messages.
func opsOf(hist []record.Record) string {
	s := make([]string, len(hist))
	for i, r := range hist {
		s[i] = fmt.Sprintf("%s/%s@%d", r.Operation, r.Outcome, r.Generation)
	}
	return strings.Join(s, " ")
}

func vmKey(ns, name string) string {
	return record.ResourceKey(pvev1alpha1.VirtualMachineGroupVersionKind.GroupVersion().String(), pvev1alpha1.VirtualMachineKind, ns, name)
}

func poolKey(ns, name string) string {
	return record.ResourceKey(cephv1alpha1.PoolGroupVersionKind.GroupVersion().String(), cephv1alpha1.PoolKind, ns, name)
}
