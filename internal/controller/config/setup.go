// Package config runs crossplane-runtime's ProviderConfig reconciler for both
// config kinds: it counts usages and blocks deletion of a config in use.
package config

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Recount is how often at most a config's usages are counted: each new
// managed resource records a usage, and each usage event asked for a count
// and a status write of its config (3,000 writes for 3,000 new VMs on 100
// sites); a burst's events are now counted together. A deleted config
// waits for its last usage to go at most this much longer.
const Recount = 5 * time.Second

// Setup adds the ProviderConfig and ClusterProviderConfig controllers.
func Setup(mgr ctrl.Manager, o options.Options) error {
	if err := setup(mgr, o, v1alpha1.ProviderConfigGroupVersionKind, &v1alpha1.ProviderConfig{}); err != nil {
		return err
	}
	return setup(mgr, o, v1alpha1.ClusterProviderConfigGroupVersionKind, &v1alpha1.ClusterProviderConfig{})
}

func setup(mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, of resource.ProviderConfig) error {
	name := providerconfig.ControllerName(gvk.GroupKind().String())
	r := providerconfig.NewReconciler(generic.QuietConfigs(mgr, name), resource.ProviderConfigKinds{
		Config:    gvk,
		Usage:     v1alpha1.ProviderConfigUsageGroupVersionKind,
		UsageList: v1alpha1.ProviderConfigUsageListGroupVersionKind,
	},
		providerconfig.WithLogger(o.Logger.WithValues("controller", name)),
		providerconfig.WithRecorder(event.NewAPIRecorder(mgr.GetEventRecorderFor(name))), //nolint:staticcheck // crossplane-runtime's recorder takes the legacy interface.
	)
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(of).
		Watches(&v1alpha1.ProviderConfigUsage{}, &resource.EnqueueRequestForProviderConfig{Kind: gvk.Kind}).
		Complete(&spaced{inner: ratelimiter.NewReconciler(name, r, o.GlobalRateLimiter), every: Recount, last: map[reconcile.Request]time.Time{}, now: time.Now})
}

// spaced runs inner for one object at most once per every: a request that
// comes sooner is put off until every has passed since the last run (the
// work queue merges the requests that come meanwhile).
type spaced struct {
	inner reconcile.Reconciler
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	last map[reconcile.Request]time.Time
}

func (s *spaced) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	s.mu.Lock()
	now := s.now()
	if wait := s.every - now.Sub(s.last[req]); wait > 0 {
		s.mu.Unlock()
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	s.last[req] = now
	for r, at := range s.last {
		if now.Sub(at) > s.every {
			delete(s.last, r)
		}
	}
	s.mu.Unlock()
	return s.inner.Reconcile(ctx, req)
}
