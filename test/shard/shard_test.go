// Package shard runs the provider's real binary as two shards of two
// replicas each (--shard, leader election per shard) against a real API
// server and two simulated sites, and checks that each shard reconciles only
// its own sites, that a standby does nothing until its leader is killed and
// then takes over without creating a guest twice, and that a config moved to
// another shard takes its resources with it.
package shard

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/shard"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
	"github.com/microcloud-dev/provider-microcloud/test/providerproc"
)

func TestMain(m *testing.M) { envtest.Main(m) }

const (
	lease   = 6 * time.Second
	timeout = 3 * time.Minute
)

// site is one simulated Proxmox cluster and the config pointing at it.
type site struct {
	name  string // config name
	value string // shard label value
	kind  string // ProviderConfig or ClusterProviderConfig
	sim   *pvesim.Server
}

type world struct {
	t    *testing.T
	ctx  context.Context
	kube client.Client
	ns   string
}

func startSite(t *testing.T) *pvesim.Server {
	t.Helper()
	sim, err := pvesim.New(pvesim.Options{CADir: t.TempDir(), TaskDuration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// TestShardsWithStandbys: shards a and b, two replicas each; site A's config
// is a namespaced ProviderConfig labeled a, site B's a ClusterProviderConfig
// labeled b.
func TestShardsWithStandbys(t *testing.T) {
	env := envtest.Start(t)
	w := &world{t: t, ctx: context.Background(), kube: env.Client, ns: env.Namespace(t)}
	a := &site{name: "site-a", value: "a", kind: mcv1alpha1.ProviderConfigKind, sim: startSite(t)}
	b := &site{name: "site-b-" + w.ns, value: "b", kind: mcv1alpha1.ClusterProviderConfigKind, sim: startSite(t)}
	w.configure(a)
	w.configure(b)

	dir := t.TempDir()
	bin := providerproc.Build(t, dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	providerproc.WriteKubeconfig(t, env.Config, kubeconfig)
	replica := func(value string, i int) *providerproc.Process {
		return providerproc.New(t, bin, kubeconfig, filepath.Join(dir, fmt.Sprintf("provider-%s%d.log", value, i)),
			"--namespace="+w.ns, "--leader-election=true", "--leader-election-namespace="+w.ns,
			"--leader-election-lease="+lease.String(), "--shard="+shard.DefaultKey+"="+value)
	}
	shardA := []*providerproc.Process{replica("a", 1), replica("a", 2)}
	shardB := []*providerproc.Process{replica("b", 1), replica("b", 2)}
	defer func() {
		if t.Failed() {
			for _, p := range append(shardA, shardB...) {
				t.Logf("--- %s:\n%s", filepath.Base(p.LogFile()), strings.Join(p.LogLines(25, "rror", "=== providerproc", "leader"), "\n"))
			}
		}
	}()

	// Phase 1: only shard a runs. Site A's VMs become Ready; site B's get
	// their shard label (any shard's labeler copies it) but no reconcile,
	// and site B sees not one request.
	for _, p := range shardA {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	vmsA := w.createVMs(a, "a", 3)
	vmsB := w.createVMs(b, "b", 3)
	w.waitReady(vmsA...)
	w.waitLabeled(b.value, vmsB...)
	time.Sleep(3 * time.Second) // a few polls of shard a
	if n := total(b.sim.RequestCounts()); n != 0 {
		t.Fatalf("site B (shard b, not running) got %v requests from shard a: %v", n, b.sim.RequestCounts())
	}
	for _, name := range vmsB {
		vm := w.getVM(name)
		if len(vm.Status.Conditions) != 0 || len(vm.GetFinalizers()) != 0 {
			t.Fatalf("VM %s of shard b was reconciled while only shard a ran: conditions %v, finalizers %v", name, vm.Status.Conditions, vm.GetFinalizers())
		}
	}
	leaderA, standbyA := w.leader(shardA)
	if n := w.reconciles(standbyA); n != 0 {
		t.Fatalf("shard a's standby (%s) reconciled %v times", filepath.Base(standbyA.LogFile()), n)
	}

	// Phase 2: shard b starts; its VMs become Ready. Each leader's Proxmox
	// requests went to one site only, the standbys' to none.
	for _, p := range shardB {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	w.waitReady(vmsB...)
	leaderB, standbyB := w.leader(shardB)
	sitesA, sitesB := w.sitesUsed(leaderA), w.sitesUsed(leaderB)
	if len(sitesA) != 1 || len(sitesB) != 1 || sitesA[0] == sitesB[0] {
		t.Fatalf("each shard's leader should talk to one site of its own: shard a %v, shard b %v", sitesA, sitesB)
	}
	for _, p := range []*providerproc.Process{standbyA, standbyB} {
		if s := w.sitesUsed(p); len(s) != 0 || w.reconciles(p) != 0 {
			t.Fatalf("standby %s reconciled or sent Proxmox requests: sites %v", filepath.Base(p.LogFile()), s)
		}
	}
	t.Logf("shard a leader %s talks to %v, shard b leader %s to %v", filepath.Base(leaderA.LogFile()), sitesA, filepath.Base(leaderB.LogFile()), sitesB)

	// Phase 3: three more VMs on site A, and shard a's leader SIGKILLed
	// while they are being cloned: the standby takes over within the lease
	// and finishes them, each exactly once.
	more := w.createVMs(a, "a", 3, 3)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && w.clonesStarted(a, more) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	killed := time.Now()
	leaderA.Kill()
	vmsA = append(vmsA, more...)
	w.waitReady(vmsA...)
	if l, _ := w.leader(shardA); l != standbyA {
		t.Fatalf("after the kill the leader of shard a is %s, want the standby %s", filepath.Base(l.LogFile()), filepath.Base(standbyA.LogFile()))
	}
	t.Logf("shard a's leader killed; the standby finished the clones, all Ready %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	w.exactlyOnce(a, vmsA)
	w.exactlyOnce(b, vmsB)

	// Phase 4: site B's config moves to shard a: its resources follow
	// (relabeled by shard b's labeler as the config leaves its cache), shard
	// a reconciles them, and deleting them through shard a removes their
	// guests from site B.
	w.relabel(b, "a")
	w.waitLabeled("a", vmsB...)
	requestsBefore := total(b.sim.RequestCounts())
	for _, name := range vmsB {
		if err := w.kube.Delete(w.ctx, &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	w.waitGone(vmsB...)
	if n := total(b.sim.RequestCounts()); n <= requestsBefore {
		t.Fatalf("no request reached site B after its config moved to shard a (%v before, %v after)", requestsBefore, n)
	}
	for _, g := range b.sim.GuestIDs() {
		if g != pvesim.DefaultTemplateID {
			info, _ := b.sim.Guest(g)
			t.Errorf("site B still has guest %d (%s) after its VMs were deleted through shard a", g, info.Config["name"])
		}
	}
	if s := w.sitesUsed(standbyA); len(s) != 2 {
		t.Errorf("shard a's leader (the former standby) should now reach both sites, reached %v", s)
	}
}

func (w *world) configure(s *site) {
	w.t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: s.name}, Data: map[string][]byte{
		"token": []byte(pvesimToken(s.sim)), "ca.crt": s.sim.CACertPEM}}
	pve := &mcv1alpha1.ProxmoxConfig{
		Endpoint:       "https://" + s.sim.Addr,
		TokenSecretRef: mcv1alpha1.SecretKeySelector{Name: s.name, Key: "token"},
		CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Name: s.name, Key: "ca.crt"}},
	}
	meta := metav1.ObjectMeta{Name: s.name, Labels: map[string]string{shard.DefaultKey: s.value}}
	var cfg client.Object
	if s.kind == mcv1alpha1.ProviderConfigKind {
		meta.Namespace = w.ns
		cfg = &mcv1alpha1.ProviderConfig{ObjectMeta: meta, Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{Proxmox: pve}}}
	} else {
		pve.TokenSecretRef.Namespace, pve.CABundle.SecretKeyRef.Namespace = w.ns, w.ns
		cfg = &mcv1alpha1.ClusterProviderConfig{ObjectMeta: meta, Spec: mcv1alpha1.ClusterProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{Proxmox: pve}}}
		w.t.Cleanup(func() { _ = w.kube.Delete(context.Background(), cfg) })
	}
	for _, o := range []client.Object{secret, cfg} {
		if err := w.kube.Create(w.ctx, o); err != nil {
			w.t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func pvesimToken(s *pvesim.Server) string { return s.TokenID + "=" + s.Secret }

// createVMs creates n VMs on site s named <prefix>-<i>, i from first.
func (w *world) createVMs(s *site, prefix string, n int, first ...int) []string {
	w.t.Helper()
	start := 0
	if len(first) > 0 {
		start = first[0]
	}
	var names []string
	for i := start; i < start+n; i++ {
		vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: fmt.Sprintf("%s-%d", prefix, i)}}
		vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: s.kind, Name: s.name}
		vm.Spec.ForProvider = v1alpha1.VirtualMachineParameters{
			Node: "pve1", Clone: &v1alpha1.CloneSource{SourceVMID: pvesim.DefaultTemplateID}, Cores: 2, MemoryMiB: 1024,
		}
		if err := w.kube.Create(w.ctx, vm); err != nil {
			w.t.Fatalf("cannot create VM %s: %v", vm.Name, err)
		}
		names = append(names, vm.Name)
	}
	return names
}

func (w *world) getVM(name string) *v1alpha1.VirtualMachine {
	w.t.Helper()
	vm := &v1alpha1.VirtualMachine{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, vm); err != nil {
		w.t.Fatalf("cannot get VM %s: %v", name, err)
	}
	return vm
}

// eventually polls cond until it returns "" or the timeout passes.
func (w *world) eventually(what string, cond func() string) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	w.t.Fatalf("%s: not after %s: %s", what, timeout, last)
}

func (w *world) waitReady(names ...string) {
	w.t.Helper()
	w.eventually("VMs Ready", func() string {
		for _, n := range names {
			vm := w.getVM(n)
			if vm.GetCondition(xpv2.TypeReady).Status != corev1.ConditionTrue {
				return fmt.Sprintf("%s: Ready=%s %s; Synced: %s", n, vm.GetCondition(xpv2.TypeReady).Status, vm.GetCondition(xpv2.TypeReady).Message, vm.GetCondition(xpv2.TypeSynced).Message)
			}
		}
		return ""
	})
}

func (w *world) waitLabeled(value string, names ...string) {
	w.t.Helper()
	w.eventually("VMs labeled "+value, func() string {
		for _, n := range names {
			if got := w.getVM(n).GetLabels()[shard.DefaultKey]; got != value {
				return fmt.Sprintf("%s has %s=%q", n, shard.DefaultKey, got)
			}
		}
		return ""
	})
}

func (w *world) waitGone(names ...string) {
	w.t.Helper()
	w.eventually("VMs deleted", func() string {
		for _, n := range names {
			err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: n}, &v1alpha1.VirtualMachine{})
			if err == nil {
				return n + " still exists"
			}
			if client.IgnoreNotFound(err) != nil {
				return err.Error()
			}
		}
		return ""
	})
}

func (w *world) relabel(s *site, value string) {
	w.t.Helper()
	var cfg client.Object = &mcv1alpha1.ClusterProviderConfig{}
	key := client.ObjectKey{Name: s.name}
	if s.kind == mcv1alpha1.ProviderConfigKind {
		cfg, key.Namespace = &mcv1alpha1.ProviderConfig{}, w.ns
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := w.kube.Get(w.ctx, key, cfg); err != nil {
			return err
		}
		l := cfg.GetLabels()
		l[shard.DefaultKey] = value
		cfg.SetLabels(l)
		return w.kube.Update(w.ctx, cfg)
	}); err != nil {
		w.t.Fatal(err)
	}
}

// clonesStarted counts the guests of site s that belong to the named VMs.
func (w *world) clonesStarted(s *site, names []string) int {
	n := 0
	for _, name := range names {
		n += len(w.guestsOf(s, name))
	}
	return n
}

// guestsOf lists the guest ids on site s that are the VM's: its owner tag,
// or no owner tag yet and its name (a clone not tagged yet).
func (w *world) guestsOf(s *site, name string) []int {
	vm := &v1alpha1.VirtualMachine{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, vm); err != nil {
		return nil
	}
	tag := guest.OwnerTag(string(vm.UID))
	var ids []int
	for _, id := range s.sim.GuestIDs() {
		g, ok := s.sim.Guest(id)
		if !ok {
			continue
		}
		conf := g.Config
		tags := strings.FieldsFunc(conf["tags"]+";"+g.Pending["tags"], func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
		tagged := slices.ContainsFunc(tags, func(t string) bool { return strings.HasPrefix(t, "mc-") })
		if slices.Contains(tags, tag) || !tagged && conf["name"] == name {
			ids = append(ids, id)
		}
	}
	return ids
}

// exactlyOnce checks each VM has exactly one guest on its site, the one its
// external name says.
func (w *world) exactlyOnce(s *site, names []string) {
	w.t.Helper()
	for _, name := range names {
		ids := w.guestsOf(s, name)
		en := w.getVM(name).GetAnnotations()["crossplane.io/external-name"]
		if len(ids) != 1 || strconv.Itoa(ids[0]) != en {
			w.t.Errorf("VM %s: guests %v on %s, external name %q: want exactly one, the external name's", name, ids, s.name, en)
		}
	}
}

// scrape reads a replica's Prometheus metrics: sample line -> value.
func (w *world) scrape(p *providerproc.Process) map[string]float64 {
	w.t.Helper()
	out := map[string]float64{}
	res, err := http.Get("http://" + p.MetricsAddr() + "/metrics")
	if err != nil {
		return out // not running (killed)
	}
	defer func() { _ = res.Body.Close() }()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// leader waits until exactly one of the replicas says it leads and returns
// it and the other.
func (w *world) leader(replicas []*providerproc.Process) (leader, standby *providerproc.Process) {
	w.t.Helper()
	w.eventually("one leader", func() string {
		leader, standby = nil, nil
		var leaders []string
		for _, p := range replicas {
			led := false
			for k, v := range w.scrape(p) {
				if strings.HasPrefix(k, "leader_election_master_status{") && v == 1 {
					led = true
				}
			}
			if led {
				leader = p
				leaders = append(leaders, filepath.Base(p.LogFile()))
			} else {
				standby = p
			}
		}
		if len(leaders) != 1 {
			return fmt.Sprintf("leaders: %v", leaders)
		}
		return ""
	})
	return leader, standby
}

// reconciles sums a replica's managed reconciles.
func (w *world) reconciles(p *providerproc.Process) float64 {
	n := 0.0
	for k, v := range w.scrape(p) {
		if strings.HasPrefix(k, "controller_runtime_reconcile_total{") && strings.Contains(k, `controller="managed/`) {
			n += v
		}
	}
	return n
}

// sitesUsed lists the sites a replica sent Proxmox requests to.
func (w *world) sitesUsed(p *providerproc.Process) []string {
	var sites []string
	for k, v := range w.scrape(p) {
		if !strings.HasPrefix(k, "microcloud_proxmox_api_requests_total{") || v == 0 {
			continue
		}
		_, rest, _ := strings.Cut(k, `site="`)
		site, _, _ := strings.Cut(rest, `"`)
		if !slices.Contains(sites, site) {
			sites = append(sites, site)
		}
	}
	slices.Sort(sites)
	return sites
}

func total(m map[string]float64) float64 {
	n := 0.0
	for _, v := range m {
		n += v
	}
	return n
}
