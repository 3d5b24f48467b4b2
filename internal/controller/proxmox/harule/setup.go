// Package harule reconciles HARule managed resources with Proxmox VE 9 HA
// rules (/cluster/ha/rules): node-affinity and resource-affinity.
package harule

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

// Setup adds the HARule controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	refs := site.NewRefs(managed.NewAPISimpleReferenceResolver(mgr.GetClient()))
	return site.Setup(mgr, o, v1alpha1.HARuleGroupVersionKind,
		func() *v1alpha1.HARule { return &v1alpha1.HARule{} },
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[*v1alpha1.HARule] {
			return &external{c: c, refs: refs}
		},
		// The external name is set by Create (or by hand, to manage a rule
		// made elsewhere), so a rule of the same id made by hand is never
		// taken for this resource's.
		managed.WithInitializers(),
		managed.WithReferenceResolver(refs),
		managed.WithDeterministicExternalName(true),
		managed.WithCreationGracePeriod(time.Second),
	)
}
