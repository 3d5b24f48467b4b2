// Package proxmox registers the controllers of every Proxmox VE managed
// resource kind.
package proxmox

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/container"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/containertemplate"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/firewallalias"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/firewallipset"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/firewallsecuritygroup"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/haresource"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/harule"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/hostfirewall"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/pool"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/virtualmachine"
)

// Setup adds the VirtualMachine, FirewallSecurityGroup, Pool,
// ContainerTemplate, Container, HAResource, HARule, FirewallAlias,
// FirewallIPSet, ClusterFirewall and NodeFirewall controllers to mgr; they share o.Proxmox,
// the site clients (built here, once, when the caller did not).
func Setup(mgr ctrl.Manager, o options.Options) error {
	if o.Proxmox == nil {
		o.Proxmox = proxmox.NewRegistry(site.RegistryOptions(o))
	}
	for _, setup := range []func(ctrl.Manager, options.Options) error{
		virtualmachine.Setup,
		firewallsecuritygroup.Setup,
		pool.Setup,
		containertemplate.Setup,
		container.Setup,
		haresource.Setup,
		harule.Setup,
		firewallalias.Setup,
		firewallipset.Setup,
		hostfirewall.SetupCluster,
		hostfirewall.SetupNode,
	} {
		if err := setup(mgr, o); err != nil {
			return err
		}
	}
	return nil
}
