package options

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ForControllerRuntime is crossplane-runtime's controller options with the
// work queue every controller of the provider uses (NewQueue).
func (o Options) ForControllerRuntime() controller.Options {
	c := o.Options.ForControllerRuntime()
	c.NewQueue = NewQueue
	return c
}

// NewQueue is controller-runtime's priority queue (its default queue) made
// safe to shut down.
//
// controller-runtime v0.23's priority queue can deadlock when it shuts down
// (kubernetes-sigs/controller-runtime#3538, fixed upstream after v0.23.3,
// the newest v0.23 served): a worker parked in GetWithPriority leaves through
// the closed done channel still counted as a waiter, the queue's hand-out
// goroutine then sends it a ready item under the queue's lock, nobody
// receives, and every other worker blocks on that lock, so the controller,
// and the manager, never stop (a SIGTERM ends the process only after the
// manager's grace period). The guard never lets the inner queue shut down
// while a worker is parked in it: it first hands each parked worker an item
// of its own (a key no resource can have) and turns workers away, so the
// inner queue has no waiter left when its done channel closes.
func NewQueue(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return &safeQueue{PriorityQueue: priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) {
		o.RateLimiter = rl
	})}
}

// releaseWait bounds how long ShutDown waits for parked workers to take
// their release items before it shuts the inner queue down anyway.
const releaseWait = 10 * time.Second

type safeQueue struct {
	priorityqueue.PriorityQueue[reconcile.Request]

	mu       sync.Mutex
	stopping bool
	parked   int // workers inside the inner GetWithPriority
	released int // release items handed to the inner queue
	once     sync.Once
}

func (q *safeQueue) GetWithPriority() (reconcile.Request, int, bool) {
	q.mu.Lock()
	if q.stopping {
		q.mu.Unlock()
		return reconcile.Request{}, 0, true
	}
	q.parked++
	q.mu.Unlock()

	item, priority, shutdown := q.PriorityQueue.GetWithPriority()

	q.mu.Lock()
	q.parked--
	stopping := q.stopping
	q.mu.Unlock()
	if stopping && !shutdown {
		// A release item, or real work handed out as the queue stops: the
		// controller is stopping and takes no more.
		q.PriorityQueue.Done(item)
		return reconcile.Request{}, 0, true
	}
	return item, priority, shutdown
}

func (q *safeQueue) Get() (reconcile.Request, bool) {
	item, _, shutdown := q.GetWithPriority()
	return item, shutdown
}

func (q *safeQueue) ShutDown() {
	q.once.Do(func() {
		q.mu.Lock()
		q.stopping = true
		q.mu.Unlock()
		deadline := time.Now().Add(releaseWait)
		for n := q.parkedWorkers(); n > 0 && time.Now().Before(deadline); n = q.parkedWorkers() {
			for range n {
				q.release()
			}
			time.Sleep(time.Millisecond)
		}
		q.PriorityQueue.ShutDown()
	})
}

func (q *safeQueue) ShutDownWithDrain() { q.ShutDown() }

func (q *safeQueue) parkedWorkers() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.parked
}

// release adds an item no resource has (an API object's name cannot hold
// a NUL), for one parked worker to take.
func (q *safeQueue) release() {
	q.mu.Lock()
	q.released++
	n := q.released
	q.mu.Unlock()
	q.PriorityQueue.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: fmt.Sprintf("\x00release-%d", n)}})
}
