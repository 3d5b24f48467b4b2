// Package subvolume reconciles Subvolume managed resources with CephFS subvolumes.
package subvolume

import (
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the Subvolume controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.SubvolumeGroupVersionKind,
		func() *v1alpha1.Subvolume { return &v1alpha1.Subvolume{} },
		func(d site.Deps) managed.TypedExternalClient[*v1alpha1.Subvolume] {
			return &external{c: d.Ceph, d: d, monitors: strings.Join(d.Site.Ceph.Monitors, ",")}
		})
}
