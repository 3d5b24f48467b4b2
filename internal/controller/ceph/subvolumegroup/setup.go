// Package subvolumegroup reconciles SubvolumeGroup managed resources with CephFS subvolume groups.
package subvolumegroup

import (
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the SubvolumeGroup controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.SubvolumeGroupGroupVersionKind,
		func() *v1alpha1.SubvolumeGroup { return &v1alpha1.SubvolumeGroup{} },
		func(d site.Deps) managed.TypedExternalClient[*v1alpha1.SubvolumeGroup] {
			return &external{c: d.Ceph, d: d, monitors: strings.Join(d.Site.Ceph.Monitors, ",")}
		})
}
