package generic

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var reconcilesDeferred = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_reconciles_deferred_total",
	Help: "Reconciles put off because the provider's cache had not yet seen the provider's own last write of the resource (they would have started from a stale copy: every write refused for a conflict, an external action repeated).",
}, []string{"controller"})

func init() { metrics.Registry.MustRegister(reconcilesDeferred) }

// FreshWait is how long a reconcile is put off at most for the cache to
// show the provider's own last write of its resource: past it (resource
// versions that are not numbers and a write the watch never delivered)
// the reconcile runs on what the cache holds, as it would without the
// wait. It is long because the wait is for the cache, not for a guess: an
// API server that closes a watch it finds slow to read ("Forcing watcher
// close due to unresponsiveness", the bench's 2-core control plane at a
// few hundred writes a second) leaves the provider's informer to relist
// after client-go's reflector backoff (0.8 s doubling up to 30 s): caches
// 10-17 s behind were measured, and a reconcile on such a copy only
// conflicts.
const FreshWait = 30 * time.Second

// fresh keeps, per resource, the resource version of the provider's own
// last write until the cache shows it, so that a reconcile does not start
// from a copy older than what this process already wrote.
//
// A reconcile ends with a write (its status, an annotation, a finalizer),
// and a wake-up (a task ended, the site's view changed) or the requeue the
// reconciler asks for after a create often comes before the watch has
// delivered that write to the cache. A reconcile started then reads the
// copy before the write: each of its own writes is refused for a conflict
// (409), which also grows its rate-limited delay (1 s, 2 s, 4 s... in a row),
// and it may repeat what the write recorded as done (a VM started twice:
// "VM already running"). Measured in the scale run (scenario 3, 100 sites
// × 30 VMs, 2 cores): 2,133 of 5,624 PUTs refused for a conflict in the
// second half, and the time from a create to Ready p50 54 s on an idle
// machine.
type fresh struct {
	mu      sync.Mutex
	pending map[types.UID]*written
	now     func() time.Time
	// wake reconciles a resource whose reconcile was put off once its
	// cache shows the write.
	wake func(types.NamespacedName)
	name string // the controller's, for metrics
}

type written struct {
	rv       string
	at       time.Time
	key      types.NamespacedName
	deferred bool // a reconcile was put off waiting for it
}

func newFresh(name string, wake func(types.NamespacedName)) *fresh {
	return &fresh{pending: map[types.UID]*written{}, now: time.Now, wake: wake, name: name}
}

// wrote records obj as the provider just wrote it (the API server's answer).
func (f *fresh) wrote(obj client.Object) {
	if f == nil || obj.GetUID() == "" || obj.GetResourceVersion() == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.pending[obj.GetUID()]
	if !ok {
		w = &written{}
		f.pending[obj.GetUID()] = w
	}
	w.rv, w.at, w.key = obj.GetResourceVersion(), f.now(), client.ObjectKeyFromObject(obj)
}

// after records the outcome of a write of obj: stored (wrote) or refused
// for a conflict (refused).
func (f *fresh) after(obj client.Object, err error) {
	switch {
	case err == nil:
		f.wrote(obj)
	case kerrors.IsConflict(err):
		f.refused(obj)
	}
}

// refused records obj as refused for a conflict: the API server holds a
// later version than the copy obj was read from, so the next reconcile
// waits for the cache to show one (at most FreshWait from now). Without
// it, a cache that fell behind by more than FreshWait (the API server
// dropped the watch and the relist waits out client-go's backoff) turned
// every reconcile into a conflict and its immediate requeue into another:
// 34,000 refused PUTs for 3,000 new VMs in a pre-applied scale run.
// Versions that are not integers cannot say "later" and are not recorded.
func (f *fresh) refused(obj client.Object) {
	if f == nil || obj.GetUID() == "" {
		return
	}
	rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	later := strconv.FormatUint(rv+1, 10)
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.pending[obj.GetUID()]
	if !ok {
		w = &written{rv: later}
		f.pending[obj.GetUID()] = w
	}
	if !atLeast(w.rv, later) {
		w.rv = later
	}
	w.at, w.key = f.now(), client.ObjectKeyFromObject(obj)
}

// seen is told of every copy the cache receives; the one carrying the
// awaited version ends the wait and wakes a reconcile put off for it.
func (f *fresh) seen(obj any) {
	o, ok := objectOf(obj)
	if !ok {
		return
	}
	f.mu.Lock()
	w, ok := f.pending[o.GetUID()]
	caught := ok && atLeast(o.GetResourceVersion(), w.rv)
	if !ok || (!caught && f.now().Sub(w.at) < FreshWait) {
		f.mu.Unlock()
		return
	}
	delete(f.pending, o.GetUID())
	f.mu.Unlock()
	if w.deferred && caught && f.wake != nil {
		f.wake(w.key)
	}
}

// gone forgets a deleted resource.
func (f *fresh) gone(obj any) {
	if o, ok := objectOf(obj); ok {
		f.mu.Lock()
		delete(f.pending, o.GetUID())
		f.mu.Unlock()
	}
}

// objectOf is the object an informer handler was given, unwrapped from a
// deletion the watch missed.
func objectOf(obj any) (client.Object, bool) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, ok := obj.(client.Object)
	return o, ok
}

// behind tells how long the reconcile of cached, the cache's copy, is put
// off: until the cache shows the provider's last write of it (it is woken
// then), at most FreshWait after the write. 0: the copy is current.
func (f *fresh) behind(cached client.Object) time.Duration {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.pending[cached.GetUID()]
	if !ok {
		return 0
	}
	left := FreshWait - f.now().Sub(w.at)
	if atLeast(cached.GetResourceVersion(), w.rv) || left <= 0 {
		delete(f.pending, cached.GetUID())
		return 0
	}
	w.deferred = true
	reconcilesDeferred.WithLabelValues(f.name).Inc()
	return left
}

// atLeast tells whether the resource version rv is want or later. Resource
// versions are opaque to clients, but every etcd-backed API server issues
// them as increasing integers: compared as such, a copy that already
// carries a later write (another writer's, or a relist's) ends the wait.
// Versions that are not integers only match exactly.
func atLeast(rv, want string) bool {
	if rv == want {
		return true
	}
	a, errA := strconv.ParseUint(rv, 10, 64)
	b, errB := strconv.ParseUint(want, 10, 64)
	return errA == nil && errB == nil && a >= b
}

// handler feeds f from the kind's informer.
func (f *fresh) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { f.seen(obj) },
		UpdateFunc: func(_, obj any) { f.seen(obj) },
		DeleteFunc: f.gone,
	}
}
