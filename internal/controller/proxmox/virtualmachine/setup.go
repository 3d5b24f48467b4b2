// Package virtualmachine reconciles VirtualMachine managed resources with QEMU
// guests on a Proxmox VE cluster.
package virtualmachine

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

// Setup adds the VirtualMachine controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.VirtualMachineGroupVersionKind,
		func() *v1alpha1.VirtualMachine { return &v1alpha1.VirtualMachine{} },
		func(c *proxmox.Client, kube client.Client) managed.TypedExternalClient[*v1alpha1.VirtualMachine] {
			return guest.NewExternal[*v1alpha1.VirtualMachine](c, kube, kind{})
		},
		// Creation is safe to retry: the VM id is saved before the clone and
		// an owner tag marks the guest, so a lost response is adopted, not repeated.
		managed.WithDeterministicExternalName(true),
		managed.WithPollIntervalHook(guest.PollSoonWhileBusy(busy)),
		// PVE writes a new guest's config (locked) as the create call
		// returns and the view is refreshed after every write, so a guest
		// not seen 1s after its create really is gone; the default 30s
		// would only delay deletes of fresh VMs.
		managed.WithCreationGracePeriod(time.Second),
	)
}

// busy tells whether a VM has a task running or is locked by PVE.
func busy(mg resource.Managed) bool {
	vm, ok := mg.(*v1alpha1.VirtualMachine)
	return ok && guest.Busy(guest.PendingTask(vm, vm.Status.AtProvider.PendingTask), vm.Status.AtProvider.Lock)
}
