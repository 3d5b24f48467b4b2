// Package containertemplate reconciles ContainerTemplate managed resources
// with LXC template files in a Proxmox VE storage's vztmpl content.
package containertemplate

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

// Setup adds the ContainerTemplate controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.ContainerTemplateGroupVersionKind,
		func() *v1alpha1.ContainerTemplate { return &v1alpha1.ContainerTemplate{} },
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[*v1alpha1.ContainerTemplate] {
			return &external{c: c}
		},
		// The external name (the volid) follows from the spec and a second
		// download of the same file replaces it with itself, so a create
		// whose answer was lost is safe to repeat.
		managed.WithDeterministicExternalName(true),
		managed.WithPollIntervalHook(guest.PollSoonWhileBusy(busy)),
		// A download is a task; Observe reports a template whose task runs
		// as existing, so no grace period is needed to avoid a second one.
		managed.WithCreationGracePeriod(time.Second),
	)
}

// busy tells whether a template download or delete task is running.
func busy(mg resource.Managed) bool {
	x, ok := mg.(*v1alpha1.ContainerTemplate)
	return ok && (pendingTask(x) != "")
}
