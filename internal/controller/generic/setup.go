// Package generic is the one controller path every managed resource kind
// shares: config resolution, usage tracking, intent records, metrics, events
// and the crossplane-runtime managed reconciler. A kind supplies only how to
// build its external client from a resolved site.
package generic

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const (
	errResolve  = "cannot resolve the provider config"
	errListKind = "no managed resource list kind for %s"
	errInformer = "cannot watch %s resources for the provider's own writes"
)

// ConnectFn builds the external client of one kind for a resolved site.
// kube is the API server client the reconciler itself writes with: a write
// the kind makes of the managed resource through it is awaited in the cache
// before the resource's next reconcile, like the reconciler's own.
type ConnectFn[T resource.ModernManaged] func(ctx context.Context, mg T, site *providerconfig.Site, kube client.Client) (managed.TypedExternalClient[T], error)

// Setup registers a managed reconciler for the kind gvk with mgr.
// section is the part of a ProviderConfig the kind's backend needs (only
// that part is resolved, and a config without it is an error).
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, section providerconfig.Section, newFn func() T, connect ConnectFn[T], extra ...managed.ReconcilerOption) error {
	name := managed.ControllerName(gvk.GroupKind().String())
	rec := event.NewAPIRecorder(mgr.GetEventRecorderFor(name)) //nolint:staticcheck // crossplane-runtime's recorder takes the legacy interface.
	g := newGuard(name, Backoff{Base: o.RetryBase, Max: o.RetryMax}, o.PollInterval, rec)
	if o.Waker == nil {
		o.Waker = &options.Waker{} // parked resources are woken when their site answers
	}
	g.wake = o.Waker.WakeUrgently

	ropts := []managed.ReconcilerOption{
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithRecorder(rec),
		managed.WithPollInterval(o.PollInterval),
		managed.WithManagementPolicies(),
		managed.WithReferenceResolver(newRefResolver(mgr.GetClient())),
	}
	if o.MetricOptions != nil {
		ropts = append(ropts, managed.WithMetricRecorder(o.MetricOptions.MRMetrics))
		if err := addStateMetrics(mgr, o, gvk); err != nil {
			return err
		}
	}
	if o.ChangeLogOptions != nil {
		ropts = append(ropts, managed.WithChangeLogger(o.ChangeLogOptions.ChangeLogger))
	}
	ropts = append(ropts, extra...)

	// The reconciler's writes are awaited in the cache before its next
	// start (fresh): the watch's copy of them wakes it.
	f := newFresh(name, o.Waker.Wake)
	inf, err := mgr.GetCache().GetInformer(context.Background(), newFn())
	if err != nil {
		return errors.Wrapf(err, errInformer, gvk.Kind)
	}
	if _, err := inf.AddEventHandler(f.handler()); err != nil {
		return errors.Wrapf(err, errInformer, gvk.Kind)
	}
	qm := quiet(mgr, name, g.unsaved, f)
	c := &connector[T]{resolve: providerconfig.NewResolver(mgr.GetClient()), need: section, connect: connect, kube: qm.GetClient(), intent: o.Intent, guard: g}
	ropts = append([]managed.ReconcilerOption{managed.WithTypedExternalConnector[T](c)}, ropts...)
	r := managed.NewReconciler(qm, resource.ManagedKind(gvk), ropts...)
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		WithEventFilter(resource.DesiredStateChanged()).
		For(newFn())
	b = b.WatchesRawSource(o.Waker.Source())
	// The gate comes before the global rate limiter: a resource held back
	// (backing off, or parked while its site does not answer) spends none
	// of the reconcile budget every site shares, nor does one let through
	// while its site does not answer (see gate).
	direct := &timed{inner: errors.WithSilentRequeueOnConflict(r), name: name, guard: g}
	return b.Complete(&gate{
		inner:  ratelimiter.NewReconciler(name, direct, o.GlobalRateLimiter),
		direct: direct,
		name:   name,
		kube:   mgr.GetClient(),
		newObj: func() resource.Managed { return newFn() },
		guard:  g,
		fresh:  f,
	})
}

// connector resolves the site and hands it to the kind's ConnectFn; the
// returned client is wrapped so intents are recorded before external writes.
type connector[T resource.ModernManaged] struct {
	resolve *providerconfig.Resolver
	need    providerconfig.Section
	connect ConnectFn[T]
	kube    client.Client // the reconciler's own (recording) client
	intent  options.IntentRecorder
	guard   *guard
}

func (c *connector[T]) Connect(ctx context.Context, mg T) (managed.TypedExternalClient[T], error) {
	site, err := c.resolve.Resolve(ctx, mg, c.need)
	if err != nil {
		return nil, c.guard.failed(mg, "", errors.Wrap(err, errResolve))
	}
	ext, err := c.connect(ctx, mg, site, c.kube)
	if err != nil {
		return nil, c.guard.failed(mg, site.Ref, err)
	}
	ans, _ := ext.(Answerer)
	if c.intent != nil {
		ext = &intentClient[T]{TypedExternalClient: ext, intent: c.intent}
	}
	return &guardedClient[T]{TypedExternalClient: ext, guard: c.guard, site: site.Ref, answers: ans}, nil
}

// addStateMetrics runs crossplane-runtime's recorder of how many resources of
// the kind exist, are ready and are synced (crossplane_managed_resource_*).
func addStateMetrics(mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind) error {
	if o.MetricOptions.MRStateMetrics == nil {
		return nil
	}
	obj, err := mgr.GetScheme().New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return errors.Wrapf(err, errListKind, gvk.Kind)
	}
	list, ok := obj.(resource.ManagedList)
	if !ok {
		return errors.Errorf(errListKind, gvk.Kind)
	}
	return mgr.Add(statemetrics.NewMRStateRecorder(noCopyLister{mgr.GetClient()}, o.Logger, o.MetricOptions.MRStateMetrics, list, o.MetricOptions.PollStateMetricInterval))
}

// noCopyLister lists straight from the informer cache without deep copies.
// The state recorder only counts conditions, and at 10,000 resources a deep
// copy of every one each count was most of the provider's garbage at idle
// (600 MB a minute with a 5s count, heap profile of scenario 2).
type noCopyLister struct{ client.Client }

func (c noCopyLister) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.Client.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...)
}
