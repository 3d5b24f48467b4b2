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
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

// Setup adds the VirtualMachine controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.VirtualMachineGroupVersionKind,
		func() *v1alpha1.VirtualMachine { return &v1alpha1.VirtualMachine{} },
		func(c *proxmox.Client, kube client.Client) managed.TypedExternalClient[*v1alpha1.VirtualMachine] {
			return &external{c: c, kube: kube}
		},
		// Creation is safe to retry: the VM id is saved before the clone and
		// an owner tag marks the guest, so a lost response is adopted, not repeated.
		managed.WithDeterministicExternalName(true),
		managed.WithPollIntervalHook(pollSoonWhileBusy),
		// PVE writes a new guest's config (locked) as the create call
		// returns and the view is refreshed after every write, so a guest
		// not seen 1s after its create really is gone; the default 30s
		// would only delay deletes of fresh VMs.
		managed.WithCreationGracePeriod(time.Second),
	)
}

// taskPoll is how soon a VM with a running task or lock is looked at again.
const taskPoll = 2 * time.Second

// pollSoonWhileBusy checks a VM whose task is running (or that PVE has locked)
// again after a couple of seconds instead of a whole poll interval; the
// task is never waited for in a worker.
func pollSoonWhileBusy(mg resource.Managed, d time.Duration) time.Duration {
	vm, ok := mg.(*v1alpha1.VirtualMachine)
	if ok && (pendingTask(vm) != "" || vm.Status.AtProvider.Lock != "") && d > taskPoll {
		return taskPoll
	}
	return d
}
