package generic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/fault"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

// TypeExternalDrift is the condition that tells what the provider last found
// changed behind its back: a drift it repaired, one it cannot repair, or an
// external object that vanished and was created again.
const TypeExternalDrift xpv2.ConditionType = "ExternalDrift"

// Reasons of the ExternalDrift condition and of its Warning events.
const (
	ReasonDriftRepaired        xpv2.ConditionReason = "DriftRepaired"
	ReasonDriftUnrepairable    xpv2.ConditionReason = "DriftUnrepairable"
	ReasonExternalResourceLost xpv2.ConditionReason = "ExternalResourceLost"
	ReasonInSync               xpv2.ConditionReason = "InSync"
	reasonRetryBackoff                              = "RetryBackoff"
)

// DriftCondition says the external object differs from the spec for reason.
func DriftCondition(reason xpv2.ConditionReason, msg string) xpv2.Condition {
	return xpv2.Condition{Type: TypeExternalDrift, Status: corev1.ConditionTrue, Reason: reason,
		Message: msg, LastTransitionTime: metaNow()}
}

func metaNow() metav1.Time { return metav1.Now() }

// Backoff is the retry schedule of failing resources: Base after the first
// failure, doubling up to Max.
type Backoff struct {
	Base, Max time.Duration
}

// delay is the wait after the n-th failure in a row, with ±10% jitter so
// resources that failed together do not retry together.
func (b Backoff) delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// guard keeps, per resource, its run of failed reconciles (for backoff) and
// the drift its last Observe found (to report it once Update repaired it).
type guard struct {
	backoff Backoff
	record  event.Recorder

	mu      sync.Mutex
	streaks map[types.UID]*streak
	drift   map[types.UID]string
	// lost holds the ExternalDrift condition of a loss until the object is
	// seen again: the reconciler's Create path re-reads the resource before
	// it writes status, dropping conditions set during that Observe.
	lost map[types.UID]xpv2.Condition
	// ready remembers the resources seen Ready since they were last
	// (re)created, so an object stopped and then deleted by hand (Ready
	// went False first) still counts as lost; after a restart the
	// persisted Ready condition is all there is.
	ready map[types.UID]bool

	// Sites that do not answer, by config Ref, and the probe schedule of
	// each (Base doubling up to at most the poll interval).
	name   string // the controller's, for metrics
	probes Backoff
	down   map[string]*siteDown
	// downN is len(down), read without the mutex: every successful
	// external call asks whether its site was down, and nearly always
	// none is.
	downN atomic.Int32
	wake  func(types.NamespacedName) // nil: parked resources wake on their own
}

type streak struct {
	n          int
	until      time.Time
	generation int64
	deleting   bool
	// site is the config (providerconfig.Site.Ref) whose site did not
	// answer at the last failure: the resource is parked while it is down.
	site string
	// unsavedAt: when the status write of the last failure was refused (a
	// conflict: the cache was behind), so the resource does not show it;
	// it is then held back only until the retry (backoff Base) after that,
	// not for its parking or backoff. Zero: the failure shows.
	unsavedAt time.Time
}

// newGuard returns the guard of controller name: failing resources back
// off on b, the resources of a site that does not answer wait for its probe,
// sent on b's schedule capped at probeMax (the poll interval; 0: b.Max).
func newGuard(name string, b Backoff, probeMax time.Duration, rec event.Recorder) *guard {
	if b.Base <= 0 {
		b.Base = time.Second
	}
	if b.Max < b.Base {
		b.Max = max(b.Base, 2*time.Minute)
	}
	p := Backoff{Base: b.Base, Max: b.Max}
	if probeMax > 0 && probeMax < p.Max {
		p.Max = max(probeMax, p.Base)
	}
	return &guard{backoff: b, record: rec, streaks: map[types.UID]*streak{}, drift: map[types.UID]string{}, lost: map[types.UID]xpv2.Condition{}, ready: map[types.UID]bool{},
		name: name, probes: p, down: map[string]*siteDown{}}
}

// failed records a failure of mg and returns err with the retry schedule,
// which the reconciler shows in the Synced condition.
// site is the Ref of the config mg was resolved to ("" when it was not):
// a failure because that site does not answer parks mg (see siteDown).
func (g *guard) failed(mg resource.Managed, site string, err error) error {
	if err == nil {
		return nil
	}
	g.mu.Lock()
	s := g.streaks[mg.GetUID()]
	if s == nil || s.generation != mg.GetGeneration() || s.deleting != meta.WasDeleted(mg) {
		s = &streak{generation: mg.GetGeneration(), deleting: meta.WasDeleted(mg)}
		g.streaks[mg.GetUID()] = s
	}
	s.n++
	d := g.backoff.delay(s.n)
	s.until = time.Now().Add(d)
	n := s.n
	s.site, s.unsavedAt = "", time.Time{}
	if site != "" && fault.Unreachable(err) {
		s.site = site
		probe := g.siteUnreachable(site, mg.GetUID())
		g.mu.Unlock()
		return fmt.Errorf("%w [failure %d in a row; the site does not answer: its resources wait until it does, one of them retrying every %s at most]",
			err, n, probe.Round(100*time.Millisecond))
	}
	g.mu.Unlock()
	return fmt.Errorf("%w [failure %d in a row; next try in %s]", err, n, d.Round(100*time.Millisecond))
}

// unsaved records that the status write of uid's last failure was refused
// for a conflict: the failure does not show on the resource (a parked one
// would not say its site is down until its turn as the probe), so it is
// tried again after the backoff's Base (the cache has caught up by then;
// retrying at once could repeat the conflict), whatever its parking or
// backoff says, and not as the site's probe.
func (g *guard) unsaved(uid types.UID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.streaks[uid]; s != nil {
		s.unsavedAt = time.Now()
	}
}

// succeeded ends mg's run of failures.
func (g *guard) succeeded(mg resource.Managed) {
	g.mu.Lock()
	delete(g.streaks, mg.GetUID())
	g.mu.Unlock()
}

// wait is how long mg must still wait before its next try: zero unless its
// last reconcile failed at the same generation and deletion state (a spec
// change or a delete request retries at once), or, when that failure was
// its site not answering, until the site's next probe is due (zero once
// the site answered again).
func (g *guard) wait(mg resource.Managed) time.Duration {
	return g.hold(mg, false)
}

// admit is wait at the start of a reconcile: when mg's site is down and
// its probe is due, mg is let through as that probe and every other
// resource of the site waits for the next one.
func (g *guard) admit(mg resource.Managed) time.Duration {
	return g.hold(mg, true)
}

func (g *guard) hold(mg resource.Managed, probe bool) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.streaks[mg.GetUID()]
	if s == nil || s.generation != mg.GetGeneration() || s.deleting != meta.WasDeleted(mg) {
		return 0
	}
	if !s.unsavedAt.IsZero() {
		return max(0, time.Until(s.unsavedAt.Add(g.backoff.Base)))
	}
	if s.site != "" {
		return g.parked(s.site, mg, probe)
	}
	return time.Until(s.until)
}

// gate is a reconciler that holds back a resource during its backoff. Events
// that do not change the spec (the crossplane reconciler's own annotation
// updates after a failed create, status churn) would otherwise retry it at
// once, whatever the rate limiter says.
//
// A resource whose site is known not to answer is let through (as the site's
// probe, or to show the outage in its conditions once, when its site's watch
// wakes it) past the global rate limiter: its reconcile cannot reach PVE
// beyond a refused connection and writes its status once per outage, and
// were it to take its turn from the budget every site shares, an outage of a
// site with hundreds of resources would hold back the healthy sites' work
// for as many turns (500 resources at the default 10/s: 50 s).
type gate struct {
	inner  reconcile.Reconciler // through the global rate limiter
	direct reconcile.Reconciler // the same, without it
	name   string               // the controller's, for metrics
	kube   client.Reader
	newObj func() resource.Managed
	guard  *guard
	fresh  *fresh // nil: no wait for the provider's own writes
}

func (r *gate) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	mg := r.newObj()
	inner := r.inner
	if err := r.kube.Get(ctx, req.NamespacedName, mg); err == nil {
		if d := r.fresh.behind(mg); d > 0 {
			return reconcile.Result{RequeueAfter: d}, nil
		}
		if d := r.guard.admit(mg); d > 0 {
			return reconcile.Result{RequeueAfter: d}, nil
		}
		if m, ok := mg.(resource.ModernManaged); ok {
			site := providerconfig.RefOf(m)
			ctx = withSite(ctx, site)
			if r.direct != nil && r.guard.unanswered(site) {
				inner = r.direct
				reconcilesUnbudgeted.WithLabelValues(r.name).Inc()
			}
		}
	}
	res, err := inner.Reconcile(ctx, req)
	if err == nil {
		// After a failure the managed reconciler asks for an immediate,
		// rate-limited requeue; the backoff decides instead.
		if d := r.guard.wait(mg); d > 0 && mg.GetUID() != "" {
			return reconcile.Result{RequeueAfter: d}, nil
		}
	}
	return res, err
}

// guardedClient reports every failure and success to the guard, and turns
// what Observe finds into events and the ExternalDrift condition: an object
// that was Ready and is gone (lost, about to be created again), and a drift
// found while the resource was Ready at its current generation (so not a
// spec change, nor a first configuration after create), reported once Update
// repaired it.
type guardedClient[T resource.ModernManaged] struct {
	managed.TypedExternalClient[T]
	guard   *guard
	site    string   // the Ref of the resource's config
	answers Answerer // nil: every success counts as the site answering
}

// siteAnswered tells the guard the call that just succeeded reached the site
// when the kind's client can tell (a success served from memory does not
// end an outage).
func (c *guardedClient[T]) siteAnswered() {
	at := time.Now()
	if c.answers != nil {
		at = c.answers.LastAnswer()
	}
	c.guard.siteAnswered(c.site, at)
}

func (c *guardedClient[T]) Observe(ctx context.Context, mg T) (managed.ExternalObservation, error) {
	ready := mg.GetCondition(xpv2.TypeReady)
	wasReady := ready.Status == corev1.ConditionTrue
	inSyncBefore := wasReady && mg.GetCondition(xpv2.TypeSynced).ObservedGeneration == mg.GetGeneration()
	obs, err := c.TypedExternalClient.Observe(ctx, mg)
	if err != nil {
		return obs, c.guard.failed(mg, c.site, err)
	}
	c.siteAnswered()
	deleting := meta.WasDeleted(mg)
	uid := mg.GetUID()
	c.guard.mu.Lock()
	lost, wasLost := c.guard.lost[uid]
	if wasLost && obs.ResourceExists {
		delete(c.guard.lost, uid)
	}
	if obs.ResourceExists && mg.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
		c.guard.ready[uid] = true
	}
	wasReady = wasReady || c.guard.ready[uid]
	if !obs.ResourceExists {
		delete(c.guard.ready, uid)
	}
	c.guard.mu.Unlock()
	switch {
	case wasLost:
		mg.SetConditions(lost)
	case !obs.ResourceExists && wasReady && !deleting && !meta.GetExternalCreateSucceeded(mg).IsZero():
		msg := fmt.Sprintf("the external resource was Ready and is gone (removed outside Crossplane?): it is created again from the spec; data it held is not restored (external name was %q)", meta.GetExternalName(mg))
		c.guard.record.Event(mg, event.Warning(event.Reason(ReasonExternalResourceLost), fmt.Errorf("%s", msg)))
		cond := DriftCondition(ReasonExternalResourceLost, msg)
		mg.SetConditions(cond)
		c.guard.mu.Lock()
		c.guard.lost[mg.GetUID()] = cond
		c.guard.mu.Unlock()
	case obs.ResourceExists && !obs.ResourceUpToDate && inSyncBefore && !deleting && obs.Diff != "":
		c.guard.mu.Lock()
		c.guard.drift[mg.GetUID()] = obs.Diff
		c.guard.mu.Unlock()
	case obs.ResourceExists && obs.ResourceUpToDate:
		c.guard.succeeded(mg)
		if d := mg.GetCondition(TypeExternalDrift); d.Status == corev1.ConditionTrue && d.Reason != ReasonDriftUnrepairable {
			mg.SetConditions(xpv2.Condition{Type: TypeExternalDrift, Status: corev1.ConditionFalse, Reason: ReasonInSync,
				Message: "in sync with the spec; last: " + d.Message, LastTransitionTime: metaNow()})
		}
	}
	return obs, nil
}

func (c *guardedClient[T]) Create(ctx context.Context, mg T) (managed.ExternalCreation, error) {
	cr, err := c.TypedExternalClient.Create(ctx, mg)
	if err != nil {
		return cr, c.guard.failed(mg, c.site, err)
	}
	c.siteAnswered()
	c.guard.succeeded(mg)
	return cr, nil
}

func (c *guardedClient[T]) Update(ctx context.Context, mg T) (managed.ExternalUpdate, error) {
	up, err := c.TypedExternalClient.Update(ctx, mg)
	if err != nil {
		return up, c.guard.failed(mg, c.site, err)
	}
	c.siteAnswered()
	c.guard.succeeded(mg)
	c.guard.mu.Lock()
	diff, drifted := c.guard.drift[mg.GetUID()]
	delete(c.guard.drift, mg.GetUID())
	c.guard.mu.Unlock()
	if drifted {
		msg := "changed outside Crossplane and set back to the spec: " + diff
		c.guard.record.Event(mg, event.Warning(event.Reason(ReasonDriftRepaired), fmt.Errorf("%s", msg)))
		mg.SetConditions(DriftCondition(ReasonDriftRepaired, msg))
	}
	return up, nil
}

func (c *guardedClient[T]) Delete(ctx context.Context, mg T) (managed.ExternalDelete, error) {
	del, err := c.TypedExternalClient.Delete(ctx, mg)
	if err != nil {
		return del, c.guard.failed(mg, c.site, err)
	}
	c.siteAnswered()
	c.guard.succeeded(mg)
	return del, nil
}
