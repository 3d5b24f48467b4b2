// Package firewallipset reconciles FirewallIPSet managed resources with
// Proxmox VE cluster firewall IP sets (/cluster/firewall/ipset).
package firewallipset

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

// Setup adds the FirewallIPSet controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.FirewallIPSetGroupVersionKind,
		func() *v1alpha1.FirewallIPSet { return &v1alpha1.FirewallIPSet{} },
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[*v1alpha1.FirewallIPSet] {
			return &external{c: c}
		},
		// The external name is set by Create (or by hand, to manage a
		// set made elsewhere), so a set of the same name made by hand
		// is never taken for this resource's.
		managed.WithInitializers(),
		managed.WithDeterministicExternalName(true),
		managed.WithCreationGracePeriod(time.Second),
	)
}
