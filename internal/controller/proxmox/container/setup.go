// Package container reconciles Container managed resources with LXC
// containers on a Proxmox VE cluster.
package container

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

// Setup adds the Container controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.ContainerGroupVersionKind,
		func() *v1alpha1.Container { return &v1alpha1.Container{} },
		func(c *proxmox.Client, kube client.Client) managed.TypedExternalClient[*v1alpha1.Container] {
			return guest.NewExternal[*v1alpha1.Container](c, kube, kind{})
		},
		// Creation is safe to retry: the id is saved before the create and
		// an owner tag marks the container, so a lost response is adopted.
		managed.WithDeterministicExternalName(true),
		managed.WithPollIntervalHook(guest.PollSoonWhileBusy(busy)),
		// PVE writes a new container's config (locked) as the create call
		// returns, and the view is refreshed after every write.
		managed.WithCreationGracePeriod(time.Second),
	)
}

// busy tells whether a container has a task running or is locked by PVE.
func busy(mg resource.Managed) bool {
	x, ok := mg.(*v1alpha1.Container)
	return ok && guest.Busy(guest.PendingTask(x, x.Status.AtProvider.PendingTask), x.Status.AtProvider.Lock)
}
