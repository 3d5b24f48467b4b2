// Package firewallalias reconciles FirewallAlias managed resources with
// Proxmox VE cluster firewall aliases (/cluster/firewall/aliases).
package firewallalias

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

// Setup adds the FirewallAlias controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.FirewallAliasGroupVersionKind,
		func() *v1alpha1.FirewallAlias { return &v1alpha1.FirewallAlias{} },
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[*v1alpha1.FirewallAlias] {
			return &external{c: c}
		},
		// The external name is set by Create (or by hand, to manage an
		// alias made elsewhere), so an alias of the same name made by hand
		// is never taken for this resource's.
		managed.WithInitializers(),
		managed.WithDeterministicExternalName(true),
		managed.WithCreationGracePeriod(time.Second),
	)
}
