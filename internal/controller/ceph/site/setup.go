package site

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const errNoRegistry = "no Ceph client registry in the controller options"

// Deps is what a Ceph kind's external client is built from.
type Deps struct {
	// Ceph is the site's shared client.
	Ceph *ceph.Client
	// Site is the resolved provider config of the MR.
	Site *providerconfig.Site
	// Kube reads other managed resources (deletion checks look for RBDImages naming a pool).
	Kube client.Reader
	// Resolve resolves another MR's provider config, to tell whether it manages the same cluster.
	Resolve func(ctx context.Context, mg resource.ModernManaged) (*providerconfig.Site, error)
	// Record emits kind-specific events (refused deletions, drift the provider cannot repair).
	Record event.Recorder
}

// Setup registers a Ceph kind's controller: the kind supplies only how to
// build its external client from the site's shared Ceph client.
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, newFn func() T,
	external func(d Deps) managed.TypedExternalClient[T]) error {
	clients := o.Ceph
	if clients == nil {
		return errors.New(errNoRegistry)
	}
	resolver := providerconfig.NewResolver(mgr.GetClient())
	name := managed.ControllerName(gvk.GroupKind().String())
	rec := event.NewAPIRecorder(mgr.GetEventRecorderFor(name)) //nolint:staticcheck // crossplane-runtime's recorder takes the legacy interface.
	resolve := func(ctx context.Context, mg resource.ModernManaged) (*providerconfig.Site, error) {
		return resolver.Resolve(ctx, mg, providerconfig.SectionCeph)
	}
	return generic.Setup(mgr, o, gvk, providerconfig.SectionCeph, newFn,
		func(ctx context.Context, _ T, s *providerconfig.Site, kube client.Client) (managed.TypedExternalClient[T], error) {
			c, err := Connect(ctx, clients, s)
			if err != nil {
				return nil, err
			}
			return external(Deps{Ceph: c, Site: s, Kube: kube, Resolve: resolve, Record: rec}), nil
		}, ReconcilerOptions()...)
}
