package generic

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// cacheCopy is an informer cache that lags: it holds the copy the test
// last delivered, whatever the API server stores.
type cacheCopy struct {
	client.Reader
	vm *v1alpha1.VirtualMachine
}

func (c *cacheCopy) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	c.vm.DeepCopyInto(obj.(*v1alpha1.VirtualMachine))
	return nil
}

// storedVM is a fake API server holding a VM named name, and the VM as it
// stores it.
func storedVM(t *testing.T, name string) (client.Client, *v1alpha1.VirtualMachine) {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	vm := vmNamed(name)
	api := fake.NewClientBuilder().WithScheme(s).WithObjects(vm).WithStatusSubresource(vm).Build()
	if err := api.Get(context.Background(), client.ObjectKeyFromObject(vm), vm); err != nil {
		t.Fatal(err)
	}
	return api, vm
}

// A write of the reconciler's client is awaited in the cache: the next
// reconcile of the resource is put off (no reconcile, a requeue within
// FreshWait) while the cache holds an older copy, woken as soon as the
// cache shows the write, and let through on any copy once FreshWait has
// passed. A write the cache already holds puts nothing off.
func TestReconcileWaitsForTheCacheToShowItsOwnWrite(t *testing.T) {
	api, vm := storedVM(t, "fresh")
	ctx := context.Background()
	cache := &cacheCopy{vm: vm.DeepCopy()}
	var woken []types.NamespacedName
	f := newFresh("fresh-test", func(k types.NamespacedName) { woken = append(woken, k) })
	clock := time.Now()
	f.now = func() time.Time { return clock }
	c := quietClient{Client: api, controller: "fresh-test", fresh: f}
	counted := &countingReconciler{n: map[string]int{}}
	gt := &gate{inner: counted, name: "fresh-test", kube: cache, newObj: func() resource.Managed { return &v1alpha1.VirtualMachine{} },
		guard: newGuard("fresh-test", Backoff{Base: time.Second, Max: time.Minute}, 0, event.NewNopRecorder()), fresh: f}
	reconcileOnce := func() reconcile.Result {
		t.Helper()
		res, err := gt.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(vm)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	deferred := func() float64 { return testutil.ToFloat64(reconcilesDeferred.WithLabelValues("fresh-test")) }

	// Nothing written yet: the reconcile runs.
	if res := reconcileOnce(); res.RequeueAfter != 0 || counted.n["fresh"] != 1 {
		t.Fatalf("a resource with no write awaited was put off %s", res.RequeueAfter)
	}
	// The reconcile writes its status; the cache still holds the copy before.
	vm.SetConditions(xpv2.Creating())
	if err := c.Status().Update(ctx, vm); err != nil {
		t.Fatal(err)
	}
	before := deferred()
	res := reconcileOnce()
	if counted.n["fresh"] != 1 || res.RequeueAfter <= 0 || res.RequeueAfter > FreshWait {
		t.Fatalf("a reconcile on a copy older than its own write ran (%d runs) or was put off %s, want within %s", counted.n["fresh"], res.RequeueAfter, FreshWait)
	}
	if deferred()-before != 1 {
		t.Errorf("microcloud_reconciles_deferred_total rose by %v, want 1", deferred()-before)
	}
	// The cache receives a copy that is not the write (an older event):
	// still put off, nobody woken.
	h := f.handler().(toolscache.ResourceEventHandlerFuncs)
	older := cache.vm.DeepCopy()
	h.UpdateFunc(nil, older)
	if len(woken) != 0 || reconcileOnce().RequeueAfter <= 0 {
		t.Fatalf("a copy other than the write ended the wait (woken %v)", woken)
	}
	// The watch delivers the write: the put-off reconcile is woken once and runs.
	cache.vm = vm.DeepCopy()
	h.UpdateFunc(older, cache.vm)
	if len(woken) != 1 || woken[0] != client.ObjectKeyFromObject(vm) {
		t.Fatalf("woken %v, want %v once", woken, client.ObjectKeyFromObject(vm))
	}
	if res := reconcileOnce(); res.RequeueAfter != 0 || counted.n["fresh"] != 2 {
		t.Fatalf("with its write in the cache the reconcile was put off %s", res.RequeueAfter)
	}

	// A write the cache never shows holds the reconcile back FreshWait at most.
	stale := cache.vm.DeepCopy()
	vm.SetConditions(xpv2.Available())
	if err := c.Status().Update(ctx, vm); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(FreshWait - time.Second)
	if res := reconcileOnce(); res.RequeueAfter <= 0 || res.RequeueAfter > time.Second {
		t.Fatalf("a second before FreshWait the reconcile was put off %s, want at most the second left", res.RequeueAfter)
	}
	clock = clock.Add(time.Second)
	cache.vm = stale
	if res := reconcileOnce(); res.RequeueAfter != 0 || counted.n["fresh"] != 3 {
		t.Fatalf("past FreshWait the reconcile was still put off %s", res.RequeueAfter)
	}
	if len(f.pending) != 0 {
		t.Errorf("a write given up on is still awaited: %v", f.pending)
	}

	// A write the cache already holds is no reason to wait.
	cache.vm = vm.DeepCopy()
	if err := c.Update(ctx, vm); err != nil {
		t.Fatal(err)
	}
	cache.vm = vm.DeepCopy()
	if res := reconcileOnce(); res.RequeueAfter != 0 || counted.n["fresh"] != 4 {
		t.Fatalf("a reconcile on the copy of its own last write was put off %s", res.RequeueAfter)
	}
	// A copy later than the write (another writer's, a relist's) ends the
	// wait too, and wakes the put-off reconcile.
	vm.SetConditions(xpv2.Creating())
	if err := c.Status().Update(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if reconcileOnce().RequeueAfter <= 0 {
		t.Fatal("a reconcile on a copy older than its own write ran")
	}
	later := &v1alpha1.VirtualMachine{}
	if err := api.Get(ctx, client.ObjectKeyFromObject(vm), later); err != nil {
		t.Fatal(err)
	}
	later.Labels = map[string]string{"by": "another writer"}
	if err := api.Update(ctx, later); err != nil {
		t.Fatal(err)
	}
	cache.vm = later
	woken = nil
	h.UpdateFunc(vm, later)
	if len(woken) != 1 || reconcileOnce().RequeueAfter != 0 {
		t.Fatalf("a copy later than the write did not end the wait (woken %v)", woken)
	}

	// A deleted resource is forgotten.
	if err := c.Update(ctx, later); err != nil {
		t.Fatal(err)
	}
	h.DeleteFunc(toolscache.DeletedFinalStateUnknown{Key: "ns/fresh", Obj: later})
	if len(f.pending) != 0 {
		t.Errorf("a deleted resource's write is still awaited: %v", f.pending)
	}
}

// Resource versions compare as the integers etcd issues; others only match
// exactly.
func TestAtLeast(t *testing.T) {
	for _, c := range []struct {
		rv, want string
		ok       bool
	}{
		{"10", "10", true}, {"11", "10", true}, {"9", "10", false}, {"100", "99", true},
		{"abc", "abc", true}, {"abd", "abc", false}, {"10", "abc", false}, {"", "10", false},
	} {
		if got := atLeast(c.rv, c.want); got != c.ok {
			t.Errorf("atLeast(%q, %q) = %v, want %v", c.rv, c.want, got, c.ok)
		}
	}
}

// A write refused for a conflict says the cached copy it started from is
// stale: the next reconcile waits for a later copy (woken when it
// arrives), instead of starting again from the same copy into the same
// conflict.
func TestReconcileAfterAConflictWaitsForALaterCopy(t *testing.T) {
	api, vm := storedVM(t, "refused")
	ctx := context.Background()
	stale := vm.DeepCopy()
	// Another write the cache has not shown yet (the watch was dropped).
	moved := vm.DeepCopy()
	moved.Labels = map[string]string{"moved": "yes"}
	if err := api.Update(ctx, moved); err != nil {
		t.Fatal(err)
	}
	cache := &cacheCopy{vm: stale.DeepCopy()}
	var woken []types.NamespacedName
	f := newFresh("refused-test", func(k types.NamespacedName) { woken = append(woken, k) })
	c := quietClient{Client: api, controller: "refused-test", fresh: f}
	counted := &countingReconciler{n: map[string]int{}}
	gt := &gate{inner: counted, name: "refused-test", kube: cache, newObj: func() resource.Managed { return &v1alpha1.VirtualMachine{} },
		guard: newGuard("refused-test", Backoff{Base: time.Second, Max: time.Minute}, 0, event.NewNopRecorder()), fresh: f}
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(vm)}

	// The reconcile's write from the stale copy is refused.
	stale.SetConditions(xpv2.Creating())
	if err := c.Status().Update(ctx, stale); err == nil {
		t.Fatal("a write from a stale copy was stored")
	}
	if res, err := gt.Reconcile(ctx, req); err != nil || res.RequeueAfter <= 0 || counted.n["refused"] != 0 {
		t.Fatalf("after the conflict a reconcile on the same copy ran (%d runs, put off %s, err %v)", counted.n["refused"], res.RequeueAfter, err)
	}
	// The watch delivers the later copy: the reconcile is woken and runs.
	h := f.handler().(toolscache.ResourceEventHandlerFuncs)
	if err := api.Get(ctx, client.ObjectKeyFromObject(vm), moved); err != nil {
		t.Fatal(err)
	}
	cache.vm = moved
	h.UpdateFunc(stale, moved)
	if len(woken) != 1 {
		t.Fatalf("woken %v, want the resource once", woken)
	}
	if res, err := gt.Reconcile(ctx, req); err != nil || res.RequeueAfter != 0 || counted.n["refused"] != 1 {
		t.Fatalf("with a later copy cached the reconcile was put off %s (%d runs, err %v)", res.RequeueAfter, counted.n["refused"], err)
	}
}
