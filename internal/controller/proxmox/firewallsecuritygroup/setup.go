// Package firewallsecuritygroup reconciles FirewallSecurityGroup managed
// resources with Proxmox VE cluster firewall security groups and their rules.
package firewallsecuritygroup

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

// Setup adds the FirewallSecurityGroup controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	// The registry is the process-wide one the VM controller made first, so
	// groups and VMs of a site share one client; the options only apply if
	// this controller happens to be set up first.
	clients := proxmox.Shared(proxmox.Options{})
	kube := mgr.GetClient()
	return generic.Setup(mgr, o, v1alpha1.FirewallSecurityGroupGroupVersionKind,
		func() *v1alpha1.FirewallSecurityGroup { return &v1alpha1.FirewallSecurityGroup{} },
		func(_ context.Context, _ *v1alpha1.FirewallSecurityGroup, s *providerconfig.Site) (managed.TypedExternalClient[*v1alpha1.FirewallSecurityGroup], error) {
			if s.Proxmox == nil {
				return nil, errors.New(errNoProxmox)
			}
			c, err := clients.Client(s)
			if err != nil {
				return nil, err
			}
			return &external{c: c, kube: kube}, nil
		},
		// Creation is synchronous and Observe reads PVE directly, so a
		// resource just created is seen at once; a long grace period would
		// only delay noticing that it is gone (e.g. after a delete).
		managed.WithCreationGracePeriod(time.Second),
	)
}
