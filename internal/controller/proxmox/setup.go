// Package proxmox registers the controllers of every Proxmox VE managed
// resource kind.
package proxmox

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/container"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/containertemplate"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/firewallsecuritygroup"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/pool"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/virtualmachine"
)

// Setup adds the VirtualMachine, FirewallSecurityGroup, Pool,
// ContainerTemplate and Container controllers to mgr. The VM controller goes
// first: it creates the process-wide Proxmox client registry with the view
// settings derived from the poll interval.
func Setup(mgr ctrl.Manager, o options.Options) error {
	for _, setup := range []func(ctrl.Manager, options.Options) error{
		virtualmachine.Setup,
		firewallsecuritygroup.Setup,
		pool.Setup,
		containertemplate.Setup,
		container.Setup,
	} {
		if err := setup(mgr, o); err != nil {
			return err
		}
	}
	return nil
}
