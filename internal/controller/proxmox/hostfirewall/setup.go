package hostfirewall

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

func setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, newFn func() T, k kind[T]) error {
	return site.Setup(mgr, o, gvk, newFn,
		func(c *proxmox.Client, _ client.Client) managed.TypedExternalClient[T] {
			return &external[T]{c: c, k: k}
		},
		// Observe reads PVE directly: nothing is created, so no grace period.
		managed.WithCreationGracePeriod(time.Second),
	)
}

// SetupCluster adds the ClusterFirewall controller to mgr.
func SetupCluster(mgr ctrl.Manager, o options.Options) error {
	return setup(mgr, o, v1alpha1.ClusterFirewallGroupVersionKind,
		func() *v1alpha1.ClusterFirewall { return &v1alpha1.ClusterFirewall{} }, clusterKind)
}

// SetupNode adds the NodeFirewall controller to mgr.
func SetupNode(mgr ctrl.Manager, o options.Options) error {
	return setup(mgr, o, v1alpha1.NodeFirewallGroupVersionKind,
		func() *v1alpha1.NodeFirewall { return &v1alpha1.NodeFirewall{} }, nodeKind)
}
