// Package objectstoreuser reconciles ObjectStoreUser managed resources with RADOS Gateway users.
package objectstoreuser

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/objectstore"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the ObjectStoreUser controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return objectstore.Setup(mgr, o, v1alpha1.ObjectStoreUserGroupVersionKind,
		func() *v1alpha1.ObjectStoreUser { return &v1alpha1.ObjectStoreUser{} },
		func(d objectstore.Deps) managed.TypedExternalClient[*v1alpha1.ObjectStoreUser] {
			return &external{c: d.RGW, d: d}
		})
}
