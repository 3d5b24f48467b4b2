package generic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	cerrors "github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/fault"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

// refusedError is what a client gets from an endpoint nobody listens on: a
// real dial failure, wrapped as the Proxmox client wraps transport errors.
func refusedError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = http.Get("http://" + addr + "/api2/json/cluster/resources") //nolint:noctx // a refused connection
	if err == nil {
		t.Fatal("a closed port answered")
	}
	return cerrors.Wrap(err, "cannot read the cluster view")
}

func vmNamed(name string) *v1alpha1.VirtualMachine {
	return &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), Generation: 1}}
}

func TestUnreachable(t *testing.T) {
	if err := refusedError(t); !fault.Unreachable(err) {
		t.Errorf("a refused connection is not taken for an unreachable site: %v", err)
	}
	for _, err := range []error{
		errors.New("500 Internal Server Error: got timeout"),
		&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
		fmt.Errorf("wrapped: %w", errors.New("dial tcp: lookup nowhere")), // words, not a dial error
	} {
		if fault.Unreachable(err) {
			t.Errorf("%v taken for an unreachable site", err)
		}
	}
}

// The resources of a site that does not answer are parked: one at a time
// is let through as the site's probe, on the probe backoff, and the first
// answer wakes them all. A failure of any other kind, or on another site,
// keeps each resource's own backoff.
func TestResourcesOfAnUnreachableSiteWaitForOneProbe(t *testing.T) {
	const probeMax = 400 * time.Millisecond
	var mu sync.Mutex
	woken := map[string]bool{}
	g := newGuard("test", Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}, probeMax, event.NewNopRecorder())
	g.wake = func(nn types.NamespacedName) { mu.Lock(); woken[nn.Name] = true; mu.Unlock() }
	down := refusedError(t)

	vms := make([]*v1alpha1.VirtualMachine, 10)
	for i := range vms {
		vms[i] = vmNamed(fmt.Sprintf("vm-%d", i))
		msg := g.failed(vms[i], "ClusterProviderConfig/dead", down).Error()
		if !strings.Contains(msg, "the site does not answer") || !strings.Contains(msg, "127.0.0.1:") {
			t.Fatalf("failure message %q does not say the site does not answer, or its endpoint", msg)
		}
	}
	other := vmNamed("other-error")
	_ = g.failed(other, "ClusterProviderConfig/dead", errors.New("500 Internal Server Error"))
	elsewhere := vmNamed("elsewhere")

	admitted := func() []string {
		var in []string
		for _, vm := range vms {
			if g.admit(vm) == 0 {
				in = append(in, vm.Name)
			}
		}
		return in
	}
	if in := admitted(); len(in) != 0 {
		t.Fatalf("before the first probe is due %v were let through", in)
	}
	for _, vm := range vms {
		if d := g.wait(vm); d <= 0 || d > 100*time.Millisecond+probeMax {
			t.Fatalf("%s parked for %s: want until the probe (100ms) plus at most half a probe interval", vm.Name, d)
		}
	}
	time.Sleep(150 * time.Millisecond)
	in := admitted()
	if len(in) != 1 {
		t.Fatalf("once the probe was due %d resources were let through (%v), want exactly one", len(in), in)
	}
	if in2 := admitted(); len(in2) != 0 {
		t.Fatalf("while the probe runs %v were let through too", in2)
	}
	// The probe fails: the next one is due after the doubled delay (200ms).
	probe := vmByName(vms, in[0])
	_ = g.failed(probe, "ClusterProviderConfig/dead", down)
	time.Sleep(120 * time.Millisecond)
	if in := admitted(); len(in) != 0 {
		t.Fatalf("120ms after a failed probe %v were let through, want none before 200ms", in)
	}
	time.Sleep(120 * time.Millisecond)
	if in := admitted(); len(in) != 1 {
		t.Fatalf("240ms after a failed probe %d were let through (%v), want one", len(in), in)
	}

	// Other resources are not held by the outage.
	if d := g.admit(elsewhere); d != 0 {
		t.Errorf("a resource that never failed waits %s", d)
	}
	time.Sleep(100 * time.Millisecond)
	if d := g.admit(other); d > time.Second {
		t.Errorf("a resource that failed for another reason waits %s, want its own backoff (100ms)", d)
	}

	// A success served from memory (the client's last answer predates the
	// outage) does not end it; an answer does, waking every parked resource.
	g.siteAnswered("ClusterProviderConfig/dead", time.Now().Add(-time.Minute))
	if in := admitted(); len(in) > 1 {
		t.Fatalf("a success without an answer from the site let %v through", in)
	}
	g.siteAnswered("ClusterProviderConfig/dead", time.Now())
	mu.Lock()
	n := len(woken)
	mu.Unlock()
	if n < len(vms)-1 {
		t.Errorf("%d parked resources woken when the site answered, want at least %d: %v", n, len(vms)-1, woken)
	}
	if in := admitted(); len(in) != len(vms) {
		t.Errorf("after the site answered only %d of %d resources were let through", len(in), len(vms))
	}
}

func vmByName(vms []*v1alpha1.VirtualMachine, name string) *v1alpha1.VirtualMachine {
	for _, vm := range vms {
		if vm.Name == name {
			return vm
		}
	}
	return nil
}

// A parked resource whose failure could not be written to its status (a
// conflict: the cache was behind) does not show that its site is down, and
// would not until its turn as the probe: it is let through after the
// backoff's Base, not as the probe, and parked again once its next failure
// is recorded.
func TestParkedResourceWhoseFailureWasNotSavedIsLetThrough(t *testing.T) {
	const base = 200 * time.Millisecond
	g := newGuard("test", Backoff{Base: base, Max: time.Minute}, 30*time.Second, event.NewNopRecorder())
	g.probes = Backoff{Base: 10 * time.Second, Max: 30 * time.Second} // no probe falls due during the test
	down := refusedError(t)
	probe, vm := vmNamed("probe"), vmNamed("unsaved")
	_ = g.failed(probe, "ClusterProviderConfig/dead", down)
	_ = g.failed(vm, "ClusterProviderConfig/dead", down)
	if d := g.wait(vm); d <= 0 {
		t.Fatalf("a resource of a site that does not answer waits %s, want parked", d)
	}
	g.unsaved(vm.GetUID())
	if d := g.wait(vm); d <= 0 || d > base {
		t.Fatalf("right after its failure's status write was refused it waits %s, want up to the backoff's base (%s), not its parking", d, base)
	}
	time.Sleep(base + 50*time.Millisecond)
	if d, a := g.wait(vm), g.admit(vm); d != 0 || a != 0 {
		t.Fatalf("a base after its failure's status write was refused it waits %s (admit %s), want 0", d, a)
	}
	g.mu.Lock()
	prober := g.down["ClusterProviderConfig/dead"].prober
	g.mu.Unlock()
	if prober == vm.GetUID() {
		t.Fatal("the resource let through to show its failure was taken for the site's probe")
	}
	_ = g.failed(vm, "ClusterProviderConfig/dead", down)
	if d := g.wait(vm); d <= 0 {
		t.Fatalf("once its next failure is recorded it waits %s, want parked again", d)
	}
	g.unsaved(vmNamed("never-failed").GetUID()) // no streak: nothing to do, no panic
}

// vmOnSite is a VM of the ClusterProviderConfig site.
func vmOnSite(name, site string) *v1alpha1.VirtualMachine {
	vm := vmNamed(name)
	vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: site}
	return vm
}

// fakeKube is a fake API client holding objs.
func fakeKube(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

// countingReconciler counts the requests that reach it.
type countingReconciler struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingReconciler) Reconcile(_ context.Context, req reconcile.Request) (reconcile.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[req.Name]++
	return reconcile.Result{}, nil
}

// A resource whose site does not answer is let past the reconcile budget
// every site shares; the resources of a site that answers wait their turn
// in it. The budget here is crossplane-runtime's global limiter at 1/s (a
// burst of 10), spent before the test starts.
func TestResourcesOfAnUnansweringSiteSpendNoReconcileBudget(t *testing.T) {
	dead1, dead2, live := vmOnSite("dead-1", "dead"), vmOnSite("dead-2", "dead"), vmOnSite("live", "live")
	kube := fakeKube(t, dead1, dead2, live)
	g := newGuard("budget-test", Backoff{Base: 10 * time.Millisecond, Max: time.Second}, 0, event.NewNopRecorder())
	limiter := ratelimiter.NewGlobal(1)
	for range 10 {
		_ = limiter.When("spent") // the burst
	}
	counted := &countingReconciler{n: map[string]int{}}
	gt := &gate{inner: ratelimiter.NewReconciler("vm", counted, limiter), direct: counted, name: "budget-test",
		kube: kube, newObj: func() resource.Managed { return &v1alpha1.VirtualMachine{} }, guard: g}
	ctx := context.Background()
	reconcileOnce := func(name string) reconcile.Result {
		t.Helper()
		res, err := gt.Reconcile(ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	unbudgeted := func() float64 { return testutil.ToFloat64(reconcilesUnbudgeted.WithLabelValues("budget-test")) }

	// Before the outage every resource waits for the budget.
	if res := reconcileOnce("dead-2"); res.RequeueAfter <= 0 || counted.n["dead-2"] != 0 {
		t.Fatalf("with the budget spent, a resource of a site not yet known down ran (requeue %s)", res.RequeueAfter)
	}
	// dead-1 fails on a refused connection: the site is down.
	_ = g.failed(dead1, providerconfig.RefOf(dead1), refusedError(t))
	if !g.unanswered("ClusterProviderConfig/dead") {
		t.Fatal("the site of a refused connection is not known down")
	}
	// dead-2 (woken to show the outage) runs at once, without a token.
	counted.n["dead-2"] = 0
	if res := reconcileOnce("dead-2"); res.RequeueAfter != 0 || counted.n["dead-2"] != 1 {
		t.Errorf("a resource of the unanswering site waited %s for the budget (ran %d times)", res.RequeueAfter, counted.n["dead-2"])
	}
	if got := unbudgeted(); got != 1 {
		t.Errorf("microcloud_reconciles_unbudgeted_total = %v, want 1", got)
	}
	// The resource of the answering site still waits for a token.
	if res := reconcileOnce("live"); res.RequeueAfter <= 0 || counted.n["live"] != 0 {
		t.Errorf("a resource of an answering site ran past the spent budget (requeue %s)", res.RequeueAfter)
	}
	// Once the site answers, its resources wait for the budget again.
	g.siteAnswered("ClusterProviderConfig/dead", time.Now())
	g.succeeded(dead1)
	if res := reconcileOnce("dead-1"); res.RequeueAfter <= 0 || counted.n["dead-1"] != 0 {
		t.Errorf("after the site answered, its resource ran past the spent budget (requeue %s)", res.RequeueAfter)
	}
}

// reconcilerFunc is a reconcile.Reconciler made of a function.
type reconcilerFunc func(context.Context, reconcile.Request) (reconcile.Result, error)

func (f reconcilerFunc) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	return f(ctx, req)
}

// microcloud_reconcile_seconds tells the reconciles of a site that answers
// from those of one that does not, including the reconcile that found the
// site down; reconciles the budget holds back are not observed.
func TestReconcileSecondsBySite(t *testing.T) {
	dead, live, held := vmOnSite("dead", "dead"), vmOnSite("live", "live"), vmOnSite("held", "live")
	kube := fakeKube(t, dead, live, held)
	const name = "timed-test"
	g := newGuard(name, Backoff{Base: 10 * time.Millisecond, Max: time.Second}, 0, event.NewNopRecorder())
	refused := refusedError(t)
	work := reconcilerFunc(func(_ context.Context, req reconcile.Request) (reconcile.Result, error) {
		switch req.Name {
		case "dead":
			time.Sleep(time.Millisecond)
			_ = g.failed(dead, providerconfig.RefOf(dead), refused)
		case "live":
			time.Sleep(300 * time.Millisecond)
		default:
			t.Errorf("%s reached the managed reconciler", req.Name)
		}
		return reconcile.Result{}, nil
	})
	direct := &timed{inner: work, name: name, guard: g}
	limiter := ratelimiter.NewGlobal(1)
	gt := &gate{inner: ratelimiter.NewReconciler(name, direct, limiter), direct: direct, name: name,
		kube: kube, newObj: func() resource.Managed { return &v1alpha1.VirtualMachine{} }, guard: g}
	run := func(name string) {
		t.Helper()
		if _, err := gt.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	run("live")
	run("dead") // finds its site down: counted as the site's
	for range 10 {
		_ = limiter.When("spent") // the rest of the burst
	}
	run("held") // answering site, budget spent: held back, not timed
	run("dead") // parked until its site's probe is due: held back, not timed

	want := map[string]struct {
		n        uint64
		min, max float64
	}{siteAnswering: {1, 0.3, 60}, siteUnanswering: {1, 0, 0.25}}
	for label, w := range want {
		h, ok := reconcileSeconds.WithLabelValues(name, label).(prometheus.Histogram)
		if !ok {
			t.Fatal("microcloud_reconcile_seconds is not a histogram")
		}
		var m dto.Metric
		if err := h.Write(&m); err != nil {
			t.Fatal(err)
		}
		n, sum := m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		if n != w.n || sum < w.min || sum > w.max {
			t.Errorf(`microcloud_reconcile_seconds{site=%q}: %d reconciles, %.3f s in all; want %d, %.2f-%.2f s`, label, n, sum, w.n, w.min, w.max)
		}
	}
}
