package options

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
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
