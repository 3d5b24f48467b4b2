package proxmox

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Creates in flight and waiting, per site: what the create gate shows.
var (
	createsInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "microcloud_proxmox_creates_in_flight",
		Help: "Guest creates and clones the provider has admitted on a site and not yet seen end (at most spec.proxmox.maxParallelCreates).",
	}, []string{"site"})
	createsWaiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "microcloud_proxmox_creates_waiting",
		Help: "Guest resources waiting for a create slot on a site.",
	}, []string{"site"})
)

func init() { metrics.Registry.MustRegister(createsInFlight, createsWaiting) }

// How long a create slot is held without news: an admitted resource that
// never started its create (its reconcile failed before it), or a create
// task whose end was never seen (its status route kept failing). Past it
// the slot goes to the next in line, so a lost holder delays the queue but
// never stops it.
const (
	admittedHold = 2 * time.Minute
	startedHold  = 30 * time.Minute
)

// createGate paces guest creates on one site. PVE allocates every new disk
// under the storage's cluster-wide lock, which a waiting worker gives up
// after 10 s (PVE::Cluster cfs_lock), so a hundred clones started together
// fail from about the fiftieth on. The gate admits at most limit creates at
// once; the rest queue in arrival order and are woken, one per slot, as
// earlier creates end. It only paces this provider's own creates: other
// writers still race for the lock and lose as they would anyway.
type createGate struct {
	site  string
	mu    sync.Mutex
	limit int
	held  map[string]*slot  // by holder: a resource's UID
	tasks map[string]string // create task UPID -> holder
	queue []waiter          // arrival order
	now   func() time.Time  // for tests
}

type slot struct {
	since time.Time
	upid  string // the create task, once started
}

type waiter struct {
	key  string
	wake Wake
}

// A Wake puts a resource waiting on the site back in its controller's
// queue: urgent ahead of the work already queued, for a site that stopped
// or resumed answering (see options.Waker.WakeUrgently), else in turn.
type Wake func(urgent bool)

// soon is w's call in turn; nil for a nil w.
func (w Wake) soon() func() {
	if w == nil {
		return nil
	}
	return func() { w(false) }
}

// urgent is w's urgent call; nil for a nil w.
func (w Wake) urgent() func() {
	if w == nil {
		return nil
	}
	return func() { w(true) }
}

func newCreateGate(site string, limit int) *createGate {
	return &createGate{site: site, limit: limit, held: map[string]*slot{}, tasks: map[string]string{}, now: time.Now}
}

// setLimit changes the limit (the provider config changed); a lower limit
// lets the creates already running finish.
func (g *createGate) setLimit(limit int) {
	if limit < 1 {
		return
	}
	g.mu.Lock()
	g.limit = limit
	wake := g.dispatch()
	g.mu.Unlock()
	run(wake)
}

// Admit tells whether the resource key may start its create now. When it
// may not, key is queued (once; a later call only refreshes wake) and wake
// is called when a slot has been set aside for it; ahead is how many wait
// before it.
func (g *createGate) Admit(key string, wake Wake) (ok bool, ahead int) {
	g.mu.Lock()
	wakes := g.expire()
	wakes = append(wakes, g.dispatch()...)
	defer func() { g.show(); g.mu.Unlock(); run(wakes) }()
	if _, ok := g.held[key]; ok {
		return true, 0
	}
	if len(g.held) < g.limit && len(g.queue) == 0 {
		g.held[key] = &slot{since: g.now()}
		return true, 0
	}
	for i, w := range g.queue {
		if w.key == key {
			g.queue[i].wake = wake
			return false, i
		}
	}
	g.queue = append(g.queue, waiter{key: key, wake: wake})
	return false, len(g.queue) - 1
}

// waiting returns the urgent wake calls of every create waiting for a
// slot (the site stopped answering: each must say so).
func (g *createGate) waiting() []func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	var wakes []func()
	for _, w := range g.queue {
		if w.wake != nil {
			wakes = append(wakes, w.wake.urgent())
		}
	}
	return wakes
}

// Started ties key's slot to its create task: the slot is freed when the
// task is seen to end (TaskEnded). A create started without a slot (the
// gate was bypassed by a restart) takes one, possibly over the limit.
func (g *createGate) Started(key, upid string) {
	g.mu.Lock()
	defer func() { g.show(); g.mu.Unlock() }()
	s, ok := g.held[key]
	if !ok {
		s = &slot{}
		g.held[key] = s
	}
	s.since, s.upid = g.now(), upid
	g.tasks[upid] = key
}

// Release frees key's slot if its create never started (the create call
// failed, the guest turned up, the resource is being deleted) and takes
// key out of the queue.
func (g *createGate) Release(key string) {
	g.mu.Lock()
	if s, ok := g.held[key]; ok && s.upid == "" {
		delete(g.held, key)
	}
	for i, w := range g.queue {
		if w.key == key {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	wakes := g.dispatch()
	g.show()
	g.mu.Unlock()
	run(wakes)
}

// TaskEnded frees the slot of the create task upid, if it had one.
func (g *createGate) TaskEnded(upid string) {
	g.mu.Lock()
	key, ok := g.tasks[upid]
	if !ok {
		g.mu.Unlock()
		return
	}
	delete(g.tasks, upid)
	if s := g.held[key]; s != nil && s.upid == upid {
		delete(g.held, key)
	}
	wakes := g.dispatch()
	g.show()
	g.mu.Unlock()
	run(wakes)
}

// expire frees slots held too long without news; the caller holds mu.
func (g *createGate) expire() []func() {
	now := g.now()
	for k, s := range g.held {
		hold := admittedHold
		if s.upid != "" {
			hold = startedHold
		}
		if now.Sub(s.since) > hold {
			delete(g.held, k)
			delete(g.tasks, s.upid)
		}
	}
	return g.dispatch()
}

// dispatch sets free slots aside for the first in the queue and returns
// their wake calls, to be run once mu is released.
func (g *createGate) dispatch() []func() {
	var wakes []func()
	for len(g.held) < g.limit && len(g.queue) > 0 {
		w := g.queue[0]
		g.queue = g.queue[1:]
		g.held[w.key] = &slot{since: g.now()}
		if w.wake != nil {
			wakes = append(wakes, w.wake.soon())
		}
	}
	return wakes
}

// show updates the gauges; the caller holds mu.
func (g *createGate) show() {
	createsInFlight.WithLabelValues(g.site).Set(float64(len(g.held)))
	createsWaiting.WithLabelValues(g.site).Set(float64(len(g.queue)))
}

func run(fns []func()) {
	for _, f := range fns {
		f()
	}
}
