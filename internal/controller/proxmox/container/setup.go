// Package container reconciles Container managed resources with LXC
// containers on a Proxmox VE cluster.
package container

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

// Setup adds the Container controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	return guest.Setup(mgr, o, v1alpha1.ContainerGroupVersionKind,
		func() *v1alpha1.Container { return &v1alpha1.Container{} }, kind{})
}
