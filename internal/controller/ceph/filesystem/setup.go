// Package filesystem reconciles Filesystem managed resources with CephFS volumes.
package filesystem

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the Filesystem controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.FilesystemGroupVersionKind,
		func() *v1alpha1.Filesystem { return &v1alpha1.Filesystem{} },
		func(d site.Deps) managed.TypedExternalClient[*v1alpha1.Filesystem] {
			return &external{c: d.Ceph, d: d}
		})
}
