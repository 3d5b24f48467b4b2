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
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

// Setup adds the Container controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.ContainerGroupVersionKind,
		func() *v1alpha1.Container { return &v1alpha1.Container{} },
		func(c *proxmox.Client, kube client.Client) managed.TypedExternalClient[*v1alpha1.Container] {
			return &external{c: c, kube: kube}
		},
		// Creation is safe to retry: the id is saved before the create and
		// an owner tag marks the container, so a lost response is adopted.
		managed.WithDeterministicExternalName(true),
		managed.WithPollIntervalHook(pollSoonWhileBusy),
		// PVE writes a new container's config (locked) as the create call
		// returns, and the view is refreshed after every write.
		managed.WithCreationGracePeriod(time.Second),
	)
}

// taskPoll is how soon a container with a running task or lock is looked at again.
const taskPoll = 2 * time.Second

// pollSoonWhileBusy checks a container whose task runs (or that PVE has
// locked) again after a couple of seconds; the task is never waited for.
func pollSoonWhileBusy(mg resource.Managed, d time.Duration) time.Duration {
	ct, ok := mg.(*v1alpha1.Container)
	if ok && (pendingTask(ct) != "" || ct.Status.AtProvider.Lock != "") && d > taskPoll {
		return taskPoll
	}
	return d
}
