package options

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// A Waker puts resources of one controller back in its work queue when
// something they wait for outside Kubernetes happened (a PVE task ended, a
// create slot was set aside for them), so they need no polling meanwhile.
// A wake before the controller started is dropped: the resource's own poll
// still comes.
type Waker struct {
	mu   sync.Mutex
	q    workqueue.TypedRateLimitingInterface[reconcile.Request]
	done <-chan struct{}
}

// Source is the controller's source of wake-ups (WatchesRawSource).
func (w *Waker) Source() source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.q = q
		w.done = ctx.Done()
		return nil
	})
}

// Done is closed once the controller stops (nil before it started): a
// watch that wakes through w ends with it.
func (w *Waker) Done() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done
}

// Wake queues a reconcile of the resource key.
func (w *Waker) Wake(key types.NamespacedName) {
	w.mu.Lock()
	q := w.q
	w.mu.Unlock()
	if q != nil {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// UrgentPriority is the work-queue priority of an urgent wake: above every
// event and poll (0) and controller-runtime's low priority (-100).
const UrgentPriority = 10

// WakeUrgently queues a reconcile of key ahead of the work already queued
// (the controller's priority queue, on by default; a plain queue takes it
// in turn). It is for a site that stopped or resumed answering: each of its
// resources must say so, or carry on, without waiting behind thousands of
// healthy sites' reconciles, and there is one such wake per resource per
// outage, so they cannot starve the rest.
func (w *Waker) WakeUrgently(key types.NamespacedName) {
	w.mu.Lock()
	q := w.q
	w.mu.Unlock()
	req := reconcile.Request{NamespacedName: key}
	switch pq := q.(type) {
	case nil:
	case priorityqueue.PriorityQueue[reconcile.Request]:
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(UrgentPriority)}, req)
	default:
		q.Add(req)
	}
}
