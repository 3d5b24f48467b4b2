package generic

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
)

var parkedResources = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "microcloud_site_unreachable_parked_resources",
	Help: "Resources of a site that does not answer (its endpoint refuses or drops connections) held back until it does; one of them probes the site. Absent while the site answers.",
}, []string{"controller", "site"})

var reconcilesUnbudgeted = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "microcloud_reconciles_unbudgeted_total",
	Help: "Reconciles of resources whose site does not answer, let past the reconcile rate limit every site shares (--max-reconcile-rate): each is its site's probe or shows the outage on its resource once.",
}, []string{"controller"})

// Values of reconcileSeconds' site label.
const (
	siteAnswering   = "answering"
	siteUnanswering = "unanswering"
)

var reconcileSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "microcloud_reconcile_seconds",
	Help:    "How long the reconciles that ran took (not those the backoff, the wait for the cache or the shared reconcile budget held back), by their site: unanswering when it was known not to answer once the reconcile ended, else answering. controller_runtime_reconcile_time_seconds counts the held back ones too, and every site together.",
	Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
}, []string{"controller", "site"})

func init() {
	metrics.Registry.MustRegister(parkedResources, reconcilesUnbudgeted, reconcileSeconds)
}

type siteKey struct{}

// withSite tells timed which site (config Ref) the reconcile is for.
func withSite(ctx context.Context, site string) context.Context {
	return context.WithValue(ctx, siteKey{}, site)
}

// timed observes microcloud_reconcile_seconds around the managed reconciler,
// so the answering sites' reconcile latency can be told from that of the
// sites that do not answer (whose reconciles end on a refused connection).
type timed struct {
	inner reconcile.Reconciler
	name  string
	guard *guard
}

func (t *timed) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	start := time.Now()
	res, err := t.inner.Reconcile(ctx, req)
	state := siteAnswering
	if site, _ := ctx.Value(siteKey{}).(string); t.guard.unanswered(site) {
		state = siteUnanswering
	}
	reconcileSeconds.WithLabelValues(t.name, state).Observe(time.Since(start).Seconds())
	return res, err
}

// unanswered tells whether site is known not to answer.
func (g *guard) unanswered(site string) bool {
	if site == "" || g.downN.Load() == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.down[site] != nil
}

// siteDown is a site that did not answer: a resource's external call could
// not even connect to its endpoint. Its resources are parked: instead of
// each retrying on its own backoff (hundreds of resources of a dead site
// retrying every few seconds would spend the reconcile budget every healthy
// site shares), one resource at a time is let through as the site's probe,
// on the probe backoff, and the others wait. The first answer from the site
// (any external call of any of its resources that succeeds) ends the
// outage and wakes every parked resource.
type siteDown struct {
	since   time.Time
	n       int       // failed probes
	probeAt time.Time // when the next probe may go
	prober  types.UID // the resource let through as the current probe
	parked  map[types.UID]types.NamespacedName
}

// siteUnreachable records that uid failed because site did not answer and
// returns the longest wait between two probes. g.mu is held.
func (g *guard) siteUnreachable(site string, uid types.UID) time.Duration {
	d := g.down[site]
	now := time.Now()
	if d == nil {
		d = &siteDown{since: now, parked: map[types.UID]types.NamespacedName{}}
		g.down[site] = d
		g.downN.Add(1)
	}
	if d.n == 0 || d.prober == uid {
		d.n++
		d.prober = ""
		d.probeAt = now.Add(g.probes.delay(d.n))
	}
	return g.probes.Max
}

// parked is how long mg, whose last failure was site not answering, must
// still wait: zero once the site answered, zero when the site's probe is
// due and probe is set (mg is then the probe), else until the probe is due,
// spread by up to half a probe interval. g.mu is held.
func (g *guard) parked(site string, mg resource.Managed, probe bool) time.Duration {
	d := g.down[site]
	if d == nil {
		return 0
	}
	uid := mg.GetUID()
	now := time.Now()
	if probe && !now.Before(d.probeAt) {
		d.prober = uid
		// Others wait while the probe runs; its failure sets the next
		// probe (siteUnreachable), its success ends the outage.
		d.probeAt = now.Add(g.probes.Max)
		delete(d.parked, uid)
		parkedResources.WithLabelValues(g.name, site).Set(float64(len(d.parked)))
		return 0
	}
	if _, ok := d.parked[uid]; !ok {
		d.parked[uid] = types.NamespacedName{Namespace: mg.GetNamespace(), Name: mg.GetName()}
		parkedResources.WithLabelValues(g.name, site).Set(float64(len(d.parked)))
	}
	return time.Until(d.probeAt) + time.Duration(rand.Float64()*float64(g.probes.Max)/2) //nolint:gosec // jitter, not a secret
}

// An Answerer is an external client that can tell when its site last
// answered one of its requests (any status), so that only an answer, not a
// call served from memory, ends the site's outage.
type Answerer interface {
	LastAnswer() time.Time
}

// siteAnswered ends site's outage, if it had one and at (when the site last
// answered) is after it began, and wakes its parked resources.
func (g *guard) siteAnswered(site string, at time.Time) {
	if site == "" || g.downN.Load() == 0 {
		return
	}
	g.mu.Lock()
	d := g.down[site]
	if d == nil || !at.After(d.since) {
		g.mu.Unlock()
		return
	}
	delete(g.down, site)
	g.downN.Add(-1)
	g.mu.Unlock()
	parkedResources.DeleteLabelValues(g.name, site)
	if g.wake == nil {
		return
	}
	for _, nn := range d.parked {
		g.wake(nn)
	}
}
