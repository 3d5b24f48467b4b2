// Package bucket reconciles Bucket managed resources with RADOS Gateway (S3) buckets.
package bucket

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/objectstore"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the Bucket controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return objectstore.Setup(mgr, o, v1alpha1.BucketGroupVersionKind,
		func() *v1alpha1.Bucket { return &v1alpha1.Bucket{} },
		func(d objectstore.Deps) managed.TypedExternalClient[*v1alpha1.Bucket] {
			return &external{c: d.RGW, d: d}
		})
}
