package site

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

// Setup registers a Ceph kind's controller: the kind supplies only how to
// build its external client from the site's shared Ceph client.
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, newFn func() T,
	external func(c *ceph.Client, s *providerconfig.Site) managed.TypedExternalClient[T]) error {
	clients := Clients(o.PollInterval)
	return generic.Setup(mgr, o, gvk, newFn,
		func(ctx context.Context, _ T, s *providerconfig.Site) (managed.TypedExternalClient[T], error) {
			c, err := Connect(ctx, clients, s)
			if err != nil {
				return nil, err
			}
			return external(c, s), nil
		}, ReconcilerOptions()...)
}
