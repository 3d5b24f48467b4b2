// Package pool reconciles Pool managed resources with Proxmox VE resource
// pools; members are observed, not managed.
package pool

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const errNoProxmox = "the provider config has no proxmox section"

// Setup adds the Pool controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	// The process-wide registry: pools share each site's client with VMs.
	clients := proxmox.Shared(proxmox.Options{})
	return generic.Setup(mgr, o, v1alpha1.PoolGroupVersionKind,
		func() *v1alpha1.Pool { return &v1alpha1.Pool{} },
		func(_ context.Context, _ *v1alpha1.Pool, s *providerconfig.Site) (managed.TypedExternalClient[*v1alpha1.Pool], error) {
			if s.Proxmox == nil {
				return nil, errors.New(errNoProxmox)
			}
			c, err := clients.Client(s)
			if err != nil {
				return nil, err
			}
			return &external{c: c}, nil
		},
		// Creation is synchronous and Observe reads PVE directly, so a
		// resource just created is seen at once; a long grace period would
		// only delay noticing that it is gone (e.g. after a delete).
		managed.WithCreationGracePeriod(time.Second),
	)
}
