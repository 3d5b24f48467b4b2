// Package pool reconciles Pool managed resources with Proxmox VE resource
// pools; members are observed, not managed.
package pool

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

// Setup adds the Pool controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return site.Setup(mgr, o, v1alpha1.PoolGroupVersionKind,
		func() *v1alpha1.Pool { return &v1alpha1.Pool{} },
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[*v1alpha1.Pool] {
			return &external{c: c}
		},
		// Creation is synchronous and Observe reads PVE directly, so a
		// resource just created is seen at once; a long grace period would
		// only delay noticing that it is gone (e.g. after a delete).
		managed.WithCreationGracePeriod(time.Second),
	)
}
