package crashloop

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	goproxmox "github.com/luthermonson/go-proxmox"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
	"github.com/microcloud-dev/provider-microcloud/test/providerproc"
)

const (
	numVMs          = 30
	numChurn        = 10 // VMs per churn round, created at once
	churnRounds     = 6
	defaultKills    = 8 // per phase: 24 kills in all
	convergeTimeout = 100 * time.Second
	settleTimeout   = 20 * time.Second
	sampleEvery     = 150 * time.Millisecond
	seedEnv         = "MICROCLOUD_CRASHLOOP_SEED"
	killsEnv        = "MICROCLOUD_CRASHLOOP_KILLS"   // kills per phase; 0 is the control run
	logDirEnv       = "MICROCLOUD_CRASHLOOP_LOG_DIR" // keep the provider's log there
)

// world is the test's cluster: API server namespace, simulator, provider.
type world struct {
	t     *testing.T
	ctx   context.Context
	kube  client.Client
	ns    string
	sim   *pvesim.Server
	pve   *goproxmox.Client
	p     *providerproc.Process
	nodes []string

	mu    sync.Mutex
	known map[string]res // by resource name, once created

	template     pvesim.GuestInfo
	templateVols []string
	results      []phaseResult
	seed         uint64
	kills        int // per phase
}

func (w *world) resources() []res {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]res, 0, len(w.known))
	for _, r := range w.known {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func vmName(i int) string { return fmt.Sprintf("crash-%02d", i) }

// TestProviderSurvivesSIGKILL creates, updates and deletes 30 VMs, then
// creates 6 bursts of 10 more and deletes half of them at once, while the provider process is
// SIGKILLed at random moments, and checks the simulator after each phase and
// at every sample during it.
func TestProviderSurvivesSIGKILL(t *testing.T) {
	env := envtest.Start(t)
	ctx := context.Background()

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(seedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", seedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with %s=%d)", seed, seedEnv, seed)
	kills := defaultKills
	if s := os.Getenv(killsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("%s=%q: want a number of kills per phase", killsEnv, s)
		}
		kills = v
	}
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	chaosRNG := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	taskDuration := 200*time.Millisecond + time.Duration(rng.Int64N(int64(300*time.Millisecond)))

	sim, err := pvesim.New(pvesim.Options{
		CADir:              t.TempDir(),
		TaskDuration:       taskDuration,
		StorageLockHold:    100 * time.Millisecond,
		StorageLockTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Logf("simulator %s, task duration %s", srv.URL, taskDuration)

	w := &world{t: t, ctx: ctx, seed: seed, kills: kills, kube: env.Client, ns: env.Namespace(t), sim: srv, known: map[string]res{},
		nodes: sim.Options().Nodes,
		pve:   goproxmox.NewClient(srv.URL, goproxmox.WithHTTPClient(srv.HTTPClient()), goproxmox.WithAPIToken(sim.TokenID, sim.Secret))}
	for _, o := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "pve"}, Data: map[string][]byte{
			"token": []byte(sim.TokenID + "=" + sim.Secret), "ca.crt": srv.CACertPEM}},
		&mcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "default"}, Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{
			Proxmox: &mcv1alpha1.ProxmoxConfig{
				Endpoint:       "https://" + srv.Addr,
				TokenSecretRef: mcv1alpha1.SecretKeySelector{Name: "pve", Key: "token"},
				CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Name: "pve", Key: "ca.crt"}},
			}}}},
	} {
		if err := w.kube.Create(ctx, o); err != nil {
			t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
		}
	}

	tmpl, ok := sim.Guest(pvesim.DefaultTemplateID)
	if !ok {
		t.Fatalf("the simulator has no template %d", pvesim.DefaultTemplateID)
	}
	st, err := storages(ctx, w.pve, w.nodes)
	if err != nil {
		t.Fatal(err)
	}
	w.template, w.templateVols = tmpl, st.volumesOf(pvesim.DefaultTemplateID)
	if len(w.templateVols) == 0 {
		t.Fatalf("the storages report no volume of template %d", pvesim.DefaultTemplateID)
	}
	if leaks := st.leaks(takeSnapshot(srv)); len(leaks) > 0 {
		t.Fatalf("volumes no guest references before the test: %v", leaks)
	}

	dir := t.TempDir()
	bin := providerproc.Build(t, dir)
	kubeconfig := dir + "/kubeconfig"
	providerproc.WriteKubeconfig(t, env.Config, kubeconfig)
	logDir := dir
	if d := os.Getenv(logDirEnv); d != "" {
		logDir = d
	}
	w.p = providerproc.New(t, bin, kubeconfig, filepath.Join(logDir, "provider.log"))
	defer w.report()

	// Phase 1: create, cloned from the template, spread over the chaos.
	w.phase("create", chaosRNG, func() {
		for i := range numVMs {
			vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: vmName(i)}}
			vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
			vm.Spec.ForProvider = v1alpha1.VirtualMachineParameters{
				Node: "pve1", Clone: &v1alpha1.CloneSource{SourceVMID: pvesim.DefaultTemplateID},
				Cores: 2, MemoryMiB: 1536, Tags: []string{"crash"},
			}
			if err := w.kube.Create(ctx, vm); err != nil {
				t.Fatalf("cannot create VM %s: %v", vm.Name, err)
			}
			w.mu.Lock()
			w.known[vm.Name] = res{name: vm.Name, uid: string(vm.UID), tag: guest.OwnerTag(string(vm.UID))}
			w.mu.Unlock()
			time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(200*time.Millisecond))))
		}
	}, w.syncedAndMatching, w.exactlyOurs)

	// Phase 2: update cores, memory and tags of every VM.
	w.phase("update", chaosRNG, func() {
		for i := range numVMs {
			cores, mem := 3+rng.Int64N(3), []int64{2048, 3072, 4096}[rng.IntN(3)]
			tags := []string{"crash", fmt.Sprintf("batch-%d", rng.IntN(3)), "updated"}
			vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: vmName(i)}}
			if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := w.kube.Get(ctx, client.ObjectKeyFromObject(vm), vm); err != nil {
					return err
				}
				vm.Spec.ForProvider.Cores, vm.Spec.ForProvider.MemoryMiB, vm.Spec.ForProvider.Tags = cores, mem, tags
				return w.kube.Update(ctx, vm)
			}); err != nil {
				t.Fatalf("cannot update VM %s: %v", vm.Name, err)
			}
			time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(200*time.Millisecond))))
		}
	}, w.syncedAndMatching, w.exactlyOurs)

	// Phase 3: delete every VM.
	w.phase("delete", chaosRNG, func() {
		for i := range numVMs {
			vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: vmName(i)}}
			if err := w.kube.Delete(ctx, vm); err != nil {
				t.Fatalf("cannot delete VM %s: %v", vm.Name, err)
			}
			time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(200*time.Millisecond))))
		}
	}, w.allGone, w.noneLeft)

	// Phase 4: churn. Bursts of VMs created at once (their clones race for
	// the ids /cluster/nextid hands out), half of them deleted 0.3-3 s
	// later while clones may still run, the other half at the end: a delete
	// must never touch another VM's guest (the sampler's "vanished" check).
	w.phase("churn", chaosRNG, func() {
		var wg sync.WaitGroup
		var survivors []*v1alpha1.VirtualMachine
		for round := range churnRounds {
			for i := range numChurn {
				vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: fmt.Sprintf("churn-%d-%02d", round, i)}}
				vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
				vm.Spec.ForProvider = v1alpha1.VirtualMachineParameters{
					Node: "pve1", Clone: &v1alpha1.CloneSource{SourceVMID: pvesim.DefaultTemplateID}, Cores: 1, MemoryMiB: 1024,
				}
				if err := w.kube.Create(ctx, vm); err != nil {
					t.Fatalf("cannot create VM %s: %v", vm.Name, err)
				}
				w.mu.Lock()
				w.known[vm.Name] = res{name: vm.Name, uid: string(vm.UID), tag: guest.OwnerTag(string(vm.UID))}
				w.mu.Unlock()
				if i%2 == 1 {
					survivors = append(survivors, vm)
					continue
				}
				after := 300*time.Millisecond + time.Duration(rng.Int64N(int64(2700*time.Millisecond)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(after)
					if err := w.kube.Delete(ctx, vm); err != nil {
						t.Errorf("cannot delete VM %s: %v", vm.Name, err)
					}
				}()
			}
			time.Sleep(4 * time.Second)
		}
		wg.Wait()
		// The survivors' guests must have outlived their neighbours' deletes.
		time.Sleep(3 * time.Second)
		for _, vm := range survivors {
			if err := w.kube.Delete(ctx, vm); err != nil {
				t.Fatalf("cannot delete VM %s: %v", vm.Name, err)
			}
		}
	}, w.allGone, w.noneLeft)
}

// phaseResult is one phase's figures for the report.
type phaseResult struct {
	name      string
	kills     int
	midTask   int // kills while a simulator task ran
	chaos     time.Duration
	converged time.Duration // after the last kill; -1 when not reached
	samples   int
}

func (w *world) report() {
	starts, kills, crashes := w.p.Counts()
	w.t.Logf("crash loop: %d provider starts, %d SIGKILLs, %d exits by itself", starts, kills, len(crashes))
	for _, r := range w.results {
		conv := "NOT REACHED"
		if r.converged >= 0 {
			conv = r.converged.Round(100 * time.Millisecond).String()
		}
		w.t.Logf("  phase %-6s: %d kills (%d while a PVE task ran) over %s, converged %s after the last kill, %d samples",
			r.name, r.kills, r.midTask, r.chaos.Round(100*time.Millisecond), conv, r.samples)
	}
	w.t.Logf("  PVE writes the provider made: %s", strings.Join(w.writeCounts(), ", "))
	w.t.Logf("  PVE tasks by type and exit status: %s", strings.Join(w.taskCounts(), ", "))
	for _, e := range w.warnings() {
		w.t.Logf("  warning event: %s", e)
	}
	if w.t.Failed() {
		keep := filepath.Join(os.TempDir(), fmt.Sprintf("crashloop-%d-provider.log", w.seed))
		if b, err := os.ReadFile(w.p.LogFile()); err == nil && os.WriteFile(keep, b, 0o644) == nil {
			w.t.Logf("  the provider's log (all runs) is kept in %s", keep)
		}
	}
	for _, c := range crashes {
		w.t.Errorf("the provider exited without being killed: %s; its log:\n%s", c,
			strings.Join(w.p.LogLines(30, "error", "panic", "Error", "=== providerproc"), "\n"))
	}
}

// phase runs write while the provider is killed w.kills times, samples
// the simulator throughout, then lets the provider run until converged
// returns no problem and checks final once.
func (w *world) phase(name string, chaosRNG *rand.Rand, write func(), converged, final func(snapshot) []string) {
	t := w.t
	_, killsBefore, _ := w.p.Counts()
	smp := w.sample(name)
	start := time.Now()
	chaosErr := make(chan error, 1)
	midTask := 0
	go func() {
		chaosErr <- w.p.Chaos(chaosRNG, w.kills, func() {
			if w.runningTasks() > 0 {
				midTask++
			}
		})
	}()
	write()
	if err := <-chaosErr; err != nil {
		smp.stop()
		t.Fatalf("phase %s: %v", name, err)
	}
	lastKill := time.Now()
	_, killsAfter, _ := w.p.Counts()
	r := phaseResult{name: name, kills: killsAfter - killsBefore, midTask: midTask, chaos: lastKill.Sub(start), converged: -1}

	var problems []string
	deadline := lastKill.Add(convergeTimeout)
	for {
		if problems = converged(takeSnapshot(w.sim)); len(problems) == 0 {
			r.converged = time.Since(lastKill)
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.samples = smp.stop()
	w.results = append(w.results, r)
	for _, v := range smp.violations() {
		t.Errorf("phase %s: %s", name, v)
	}
	if len(problems) > 0 {
		t.Fatalf("phase %s: not converged %s after the last kill (%d problems):\n%s", name, convergeTimeout, len(problems), strings.Join(problems, "\n"))
	}
	// Settled: every task the provider started has ended. Then the
	// simulator's state must be exactly what the spec says, nothing more.
	if !w.settle() {
		t.Errorf("phase %s: simulator tasks still running %s after convergence", name, settleTimeout)
	}
	for _, p := range final(takeSnapshot(w.sim)) {
		t.Errorf("phase %s: %s", name, p)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// writeCounts are the simulator's answers to the provider's VM writes, per
// route and status code (0: connection dropped).
func (w *world) writeCounts() []string {
	var out []string
	mfs, err := w.sim.Registry().Gather()
	if err != nil {
		return []string{err.Error()}
	}
	for _, mf := range mfs {
		if mf.GetName() != "pvesim_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["method"] != "GET" && strings.Contains(l["route"], "/qemu") {
				out = append(out, fmt.Sprintf("%s %s %s x%d", l["method"], l["route"], l["code"], int(m.GetCounter().GetValue())))
			}
		}
	}
	sort.Strings(out)
	return out
}

// taskCounts are the simulator's tasks per type and exit status.
func (w *world) taskCounts() []string {
	var tasks []struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	if err := w.pve.Get(w.ctx, "/cluster/tasks", &tasks); err != nil {
		return []string{err.Error()}
	}
	n := map[string]int{}
	for _, t := range tasks {
		if t.Status == "" {
			t.Status = "running"
		}
		n[t.Type+" "+digits.ReplaceAllString(t.Status, "N")]++
	}
	out := make([]string, 0, len(n))
	for k, c := range n {
		out = append(out, fmt.Sprintf("%s x%d", k, c))
	}
	sort.Strings(out)
	return out
}

// warnings are the provider's Warning events in the namespace, by reason
// and message with VM ids and names blanked, most frequent first.
func (w *world) warnings() []string {
	evs := &corev1.EventList{}
	if err := w.kube.List(w.ctx, evs, client.InNamespace(w.ns)); err != nil {
		return []string{err.Error()}
	}
	n, normal := map[string]int{}, map[string]int{}
	for _, e := range evs.Items {
		if e.Type == corev1.EventTypeWarning {
			msg := digits.ReplaceAllString(e.Message, "N")
			n[e.Reason+": "+msg] += int(max(e.Count, 1))
		} else {
			normal[e.Reason] += int(max(e.Count, 1))
		}
	}
	w.t.Logf("  events: %d objects; Normal by reason %v; Warning: %d kinds", len(evs.Items), normal, len(n))
	out := make([]string, 0, len(n))
	for k := range n {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return n[out[i]] > n[out[j]] || n[out[i]] == n[out[j]] && out[i] < out[j] })
	if len(out) > 12 {
		out = out[:12]
	}
	for i, k := range out {
		out[i] = fmt.Sprintf("x%d %.500s", n[k], k)
	}
	return out
}

var digits = regexp.MustCompile(`[0-9]+`)

// runningTasks counts the simulator's running worker tasks on all nodes.
func (w *world) runningTasks() int {
	n := 0
	for _, node := range w.nodes {
		var tasks []map[string]any
		if err := w.pve.Get(w.ctx, "/nodes/"+node+"/tasks?source=active&limit=500", &tasks); err == nil {
			n += len(tasks)
		}
	}
	return n
}

// settle waits for the simulator's running tasks to end.
func (w *world) settle() bool {
	done := make(chan struct{})
	go func() { w.sim.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(settleTimeout):
		return false
	}
}

// sampler checks, every sampleEvery while a phase runs, the invariants that
// must hold at every moment: no resource has two guests, and no resource is
// gone from the API server while a guest of it remains.
type sampler struct {
	w    *world
	name string
	quit chan struct{}
	done chan struct{}

	mu    sync.Mutex
	seen  map[string]string // first message per violation key
	order []string
	n     int
	// settled are, per live resource, the guests seen its own and unlocked
	// (done being created), as last seen: they may only vanish once it is
	// being deleted.
	settled map[string]map[int]string
}

func (w *world) sample(name string) *sampler {
	s := &sampler{w: w, name: name, quit: make(chan struct{}), done: make(chan struct{}), seen: map[string]string{},
		settled: map[string]map[int]string{}}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			s.once()
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) record(key, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[key]; !ok {
		s.seen[key] = msg
		s.order = append(s.order, key)
	}
}

func (s *sampler) once() {
	w := s.w
	// The resources the test had created before the first list, then the
	// API server, then the simulator: a resource absent from the list was
	// gone before the snapshot, so a guest of it in the snapshot outlived
	// it. (A resource created after the list may already have its guest in
	// the snapshot: it is checked from the next sample on.)
	known := w.resources()
	list := &v1alpha1.VirtualMachineList{}
	if err := w.kube.List(w.ctx, list, client.InNamespace(w.ns)); err != nil {
		s.record("list", "cannot list VMs: "+err.Error())
		return
	}
	snap := takeSnapshot(w.sim)
	// And the API server again: a resource is live (its guest must not
	// vanish) only if it was not being deleted before the snapshot nor
	// after it. Under load the snapshot may come seconds after the first
	// list, time enough for a resource to be deleted and its guest
	// destroyed, rightly.
	after := &v1alpha1.VirtualMachineList{}
	if err := w.kube.List(w.ctx, after, client.InNamespace(w.ns)); err != nil {
		s.record("list", "cannot list VMs: "+err.Error())
		return
	}
	liveAfter := map[string]bool{}
	for _, vm := range after.Items {
		liveAfter[vm.Name] = vm.DeletionTimestamp == nil
	}
	present, live, claims := map[string]bool{}, map[string]bool{}, map[string][]string{}
	for _, vm := range list.Items {
		present[vm.Name] = true
		live[vm.Name] = vm.DeletionTimestamp == nil && liveAfter[vm.Name]
		state := "live"
		if !live[vm.Name] {
			state = "deleting"
		}
		en := meta.GetExternalName(&vm)
		claims[en] = append(claims[en], vm.Name+" ("+state+")")
	}
	for _, r := range known {
		ids := snap.owned(r)
		if !live[r.name] {
			delete(s.settled, r.name)
		} else {
			if s.settled[r.name] == nil {
				s.settled[r.name] = map[int]string{}
			}
			for id, last := range s.settled[r.name] {
				if _, ok := snap.guests[id]; !ok {
					en := strconv.Itoa(id)
					s.record(fmt.Sprintf("vanished/%s/%d", r.name, id), fmt.Sprintf(
						"at %s guest %d of VM %s vanished from the simulator while %s is not being deleted; last seen:%s\n"+
							"  VMs whose external name is %d now: %v; the provider's deletions of guest %d:\n    %s",
						snap.at.Format("15:04:05.000"), id, r.name, r.name, last, id, claims[en], id,
						strings.Join(w.p.LogLines(5, `"external-name":"`+en+`","deletion-timestamp"`), "\n    ")))
					delete(s.settled[r.name], id)
				}
			}
			for _, id := range ids {
				if snap.guests[id].Config["lock"] == "" {
					s.settled[r.name][id] = fmt.Sprintf("%s (at %s)", snap.describe(id), snap.at.Format("15:04:05.000"))
				}
			}
		}
		if len(ids) > 1 {
			s.record("dup/"+r.name, fmt.Sprintf("at %s VM %s (owner tag %s) has %d guests in the simulator, want at most one:%s",
				snap.at.Format("15:04:05.000"), r.name, r.tag, len(ids), snap.describe(ids...)))
		}
		if !present[r.name] && len(ids) > 0 {
			s.record("gone/"+r.name, fmt.Sprintf("at %s VM %s is gone from the API server (finalizer removed) but its guest is still in the simulator:%s",
				snap.at.Format("15:04:05.000"), r.name, snap.describe(ids...)))
		}
	}
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

// stop ends sampling and returns the number of samples taken.
func (s *sampler) stop() int {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *sampler) violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.seen[k])
	}
	return out
}

// syncedAndMatching is the convergence of creates and updates: every VM Ready
// and Synced for its current generation, and its guest (the one under its
// external name) tagged as its own, named after it, running, with the
// spec's cores, memory and tags.
func (w *world) syncedAndMatching(snap snapshot) []string {
	list := &v1alpha1.VirtualMachineList{}
	if err := w.kube.List(w.ctx, list, client.InNamespace(w.ns)); err != nil {
		return []string{err.Error()}
	}
	byName := map[string]*v1alpha1.VirtualMachine{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	var problems []string
	for _, r := range w.resources() {
		vm := byName[r.name]
		if vm == nil {
			problems = append(problems, fmt.Sprintf("VM %s: not in the API server", r.name))
			continue
		}
		if p := w.vmProblem(vm, r, snap); p != "" {
			problems = append(problems, w.evidence(vm, r, snap, p))
		}
	}
	return problems
}

func (w *world) vmProblem(vm *v1alpha1.VirtualMachine, r res, snap snapshot) string {
	ready, synced := vm.GetCondition(xpv2.TypeReady), vm.GetCondition(xpv2.TypeSynced)
	if ready.Status != corev1.ConditionTrue || synced.Status != corev1.ConditionTrue {
		return fmt.Sprintf("not Ready and Synced: ready=%s synced=%s", ready.Status, synced.Status)
	}
	if g := synced.ObservedGeneration; g != 0 && g != vm.Generation {
		return fmt.Sprintf("Synced for generation %d, spec is generation %d", g, vm.Generation)
	}
	en := meta.GetExternalName(vm)
	id, err := strconv.Atoi(en)
	if err != nil {
		return fmt.Sprintf("external name %q is not a VM id", en)
	}
	g, ok := snap.guests[id]
	if !ok {
		return fmt.Sprintf("Ready, but the simulator has no guest %d (its external name)", id)
	}
	c := effective(g)
	want := append(slices.Clone(vm.Spec.ForProvider.Tags), r.tag)
	sort.Strings(want)
	got := slices.Clone(tagsOf(g))
	sort.Strings(got)
	switch {
	case !slices.Contains(got, r.tag):
		return fmt.Sprintf("guest %d does not carry the owner tag %s", id, r.tag)
	case c["name"] != r.name:
		return fmt.Sprintf("guest %d is named %q", id, c["name"])
	case !g.Running:
		return fmt.Sprintf("guest %d is not running", id)
	case c["cores"] != strconv.FormatInt(vm.Spec.ForProvider.Cores, 10):
		return fmt.Sprintf("guest %d has cores=%s, spec %d", id, c["cores"], vm.Spec.ForProvider.Cores)
	case c["memory"] != strconv.FormatInt(vm.Spec.ForProvider.MemoryMiB, 10):
		return fmt.Sprintf("guest %d has memory=%s, spec %d", id, c["memory"], vm.Spec.ForProvider.MemoryMiB)
	case !slices.Equal(got, want):
		return fmt.Sprintf("guest %d has tags %v, spec plus owner tag %v", id, got, want)
	}
	return ""
}

// exactlyOurs is the final state after creates and updates: one guest per
// VM, carrying its owner tag, under its external name; no other guest but
// the template; no volume without a guest; the template untouched.
func (w *world) exactlyOurs(snap snapshot) []string {
	list := &v1alpha1.VirtualMachineList{}
	if err := w.kube.List(w.ctx, list, client.InNamespace(w.ns)); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	ext := map[int]string{}
	for _, vm := range list.Items {
		id, _ := strconv.Atoi(meta.GetExternalName(&vm))
		ext[id] = vm.Name
	}
	for _, r := range w.resources() {
		ids := snap.owned(r)
		if len(ids) != 1 || ext[ids[0]] != r.name {
			problems = append(problems, fmt.Sprintf("VM %s: guests %v are its own, want exactly its external-name guest:%s", r.name, ids, snap.describe(ids...)))
		}
	}
	tagged := 0
	for id, g := range snap.guests {
		if hasOwnerTag(g) {
			tagged++
		}
		if id != pvesim.DefaultTemplateID && ext[id] == "" {
			problems = append(problems, "a guest no VM has as its external name:"+snap.describe(id))
		}
	}
	if tagged != numVMs {
		problems = append(problems, fmt.Sprintf("%d guests carry an owner tag, want %d", tagged, numVMs))
	}
	return append(problems, w.storageAndTemplate(snap)...)
}

// allGone is the convergence of deletes: no VM left in the API server.
func (w *world) allGone(snapshot) []string {
	list := &v1alpha1.VirtualMachineList{}
	if err := w.kube.List(w.ctx, list, client.InNamespace(w.ns)); err != nil {
		return []string{err.Error()}
	}
	snap := takeSnapshot(w.sim)
	var problems []string
	for i := range list.Items {
		vm := &list.Items[i]
		w.mu.Lock()
		r := w.known[vm.Name]
		w.mu.Unlock()
		problems = append(problems, w.evidence(vm, r, snap, "still in the API server"))
	}
	return problems
}

// noneLeft is the final state after deletes: only the template, intact, and
// its volumes.
func (w *world) noneLeft(snap snapshot) []string {
	var problems []string
	for id := range snap.guests {
		if id != pvesim.DefaultTemplateID {
			problems = append(problems, "a guest is left after every VM was deleted:"+snap.describe(id))
		}
	}
	return append(problems, w.storageAndTemplate(snap)...)
}

func (w *world) storageAndTemplate(snap snapshot) []string {
	var problems []string
	st, err := storages(w.ctx, w.pve, w.nodes)
	if err != nil {
		return []string{err.Error()}
	}
	for _, l := range st.leaks(snap) {
		problems = append(problems, "volume leaked (no guest references it): "+l)
	}
	if got := st.volumesOf(pvesim.DefaultTemplateID); !slices.Equal(got, w.templateVols) {
		problems = append(problems, fmt.Sprintf("template %d volumes are %v, were %v", pvesim.DefaultTemplateID, got, w.templateVols))
	}
	tmpl, ok := snap.guests[pvesim.DefaultTemplateID]
	switch {
	case !ok:
		problems = append(problems, fmt.Sprintf("template %d is gone", pvesim.DefaultTemplateID))
	case !mapsEqual(tmpl.Config, w.template.Config) || len(tmpl.Pending) > 0 || tmpl.Node != w.template.Node:
		problems = append(problems, fmt.Sprintf("template %d changed: config %v pending %v on %s, was %v on %s",
			pvesim.DefaultTemplateID, tmpl.Config, tmpl.Pending, tmpl.Node, w.template.Config, w.template.Node))
	}
	return problems
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// evidence is a problem with what the API server, the provider's events
// and log, and the simulator say about the VM.
func (w *world) evidence(vm *v1alpha1.VirtualMachine, r res, snap snapshot, problem string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "VM %s: %s\n  generation %d, finalizers %v, deleting %t, annotations external-name=%q pending-task=%q\n  atProvider %+v",
		vm.Name, problem, vm.Generation, vm.Finalizers, vm.DeletionTimestamp != nil, meta.GetExternalName(vm),
		vm.GetAnnotations()[guest.AnnotationPendingTask], vm.Status.AtProvider)
	for _, c := range vm.Status.Conditions {
		fmt.Fprintf(&b, "\n  condition %s=%s (%s, generation %d): %s", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message)
	}
	evs := &corev1.EventList{}
	if err := w.kube.List(w.ctx, evs, client.InNamespace(w.ns)); err == nil {
		var lines []string
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == vm.Name {
				lines = append(lines, fmt.Sprintf("\n  event %s %s x%d: %s", e.Type, e.Reason, e.Count, e.Message))
			}
		}
		if len(lines) > 6 {
			lines = lines[len(lines)-6:]
		}
		b.WriteString(strings.Join(lines, ""))
	}
	if r.tag != "" {
		ids := snap.owned(r)
		fmt.Fprintf(&b, "\n  simulator guests owned by %s (tag %s): %v%s", vm.Name, r.tag, ids, snap.describe(ids...))
	}
	if id, err := strconv.Atoi(meta.GetExternalName(vm)); err == nil {
		if _, ok := snap.guests[id]; !ok {
			fmt.Fprintf(&b, "\n  guest %d (external name): absent", id)
		}
	}
	for _, l := range w.p.LogLines(4, `"`+vm.Name+`"`) {
		fmt.Fprintf(&b, "\n  log: %.400s", l)
	}
	return b.String()
}
