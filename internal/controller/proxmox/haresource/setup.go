// Package haresource reconciles HAResource managed resources with guests
// under Proxmox VE's HA manager (/cluster/ha/resources); the guests
// themselves are never touched.
package haresource

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

// Setup adds the HAResource controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	refs := site.NewRefs(resolver{kube: mgr.GetClient()})
	return site.Setup(mgr, o, v1alpha1.HAResourceGroupVersionKind,
		func() *v1alpha1.HAResource { return &v1alpha1.HAResource{} },
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[*v1alpha1.HAResource] {
			return &external{c: c, refs: refs}
		},
		// The external name is the sid, set by Create (or by hand to manage a
		// guest already under HA), never defaulted to metadata.name.
		managed.WithInitializers(),
		managed.WithDeterministicExternalName(true),
		managed.WithReferenceResolver(refs),
		managed.WithCreationGracePeriod(time.Second),
	)
}
