package options

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Workers that add and take work while the queue shuts down all stop: the
// sequence that deadlocks controller-runtime v0.23's priority queue
// (kubernetes-sigs/controller-runtime#3538, usually within a few rounds).
func TestQueueShutsDownWhileWorkersWait(t *testing.T) {
	for round := range 200 {
		q := NewQueue("test", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]()).(priorityqueue.PriorityQueue[reconcile.Request])
		var wg sync.WaitGroup
		for w := range 20 {
			wg.Go(func() {
				for i := w; ; i += 7 {
					q.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(i % 10)},
						reconcile.Request{NamespacedName: types.NamespacedName{Name: fmt.Sprint(i % 50)}})
					item, _, shutdown := q.GetWithPriority()
					if shutdown {
						return
					}
					q.Done(item)
				}
			})
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		stopped := make(chan struct{})
		go func() {
			q.ShutDown()
			wg.Wait()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: workers still waiting 20s after the queue shut down", round)
		}
	}
}

// A worker that asks after the shutdown is turned away at once, and the
// queue is still the priority queue the wakers look for.
func TestQueueAfterShutDown(t *testing.T) {
	q := NewQueue("test", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	if _, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); !ok {
		t.Fatalf("NewQueue is a %T, not a priority queue", q)
	}
	q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "a"}})
	got, shutdown := q.Get()
	if shutdown || got.Name != "a" {
		t.Fatalf("Get = %v, %v; want ns/a", got, shutdown)
	}
	q.Done(got)
	q.ShutDown()
	q.ShutDown() // a second call is harmless
	if _, shutdown := q.Get(); !shutdown {
		t.Errorf("Get after ShutDown did not say shut down")
	}
}

// Every controller set up from Options gets the guarded queue.
func TestControllerOptionsUseTheGuardedQueue(t *testing.T) {
	o := Options{}
	c := o.ForControllerRuntime()
	if c.NewQueue == nil {
		t.Fatal("ForControllerRuntime sets no NewQueue")
	}
	if q := c.NewQueue("test", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]()); !isSafe(q) {
		t.Errorf("NewQueue made a %T, not the guarded queue", q)
	}
	if c.RateLimiter == nil || c.RecoverPanic == nil || !*c.RecoverPanic {
		t.Errorf("crossplane-runtime's options were not kept: %+v", c)
	}
}

func isSafe(q workqueue.TypedRateLimitingInterface[reconcile.Request]) bool {
	_, ok := q.(*safeQueue)
	return ok
}
