// Package cephclient reconciles CephClient managed resources with cephx clients whose caps are
// built from grants on pools and CephFS subvolumes.
package cephclient

import (
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the CephClient controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.CephClientGroupVersionKind,
		func() *v1alpha1.CephClient { return &v1alpha1.CephClient{} },
		func(d site.Deps) managed.TypedExternalClient[*v1alpha1.CephClient] {
			return &external{c: d.Ceph, d: d, monitors: strings.Join(d.Site.Ceph.Monitors, ",")}
		})
}
