// Package virtualmachine reconciles VirtualMachine managed resources with QEMU
// guests on a Proxmox VE cluster.
package virtualmachine

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

// Setup adds the VirtualMachine controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return guest.Setup(mgr, o, v1alpha1.VirtualMachineGroupVersionKind,
		func() *v1alpha1.VirtualMachine { return &v1alpha1.VirtualMachine{} }, kind{})
}
