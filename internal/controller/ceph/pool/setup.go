// Package pool reconciles Pool managed resources with Ceph pools.
package pool

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the Pool controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.PoolGroupVersionKind,
		func() *v1alpha1.Pool { return &v1alpha1.Pool{} },
		func(d site.Deps) managed.TypedExternalClient[*v1alpha1.Pool] {
			return &external{c: d.Ceph, d: d}
		})
}
