// Package controller registers every controller of the provider with a manager.
package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/config"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox"
)

// Setup adds all of the provider's controllers to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	for _, setup := range []func(ctrl.Manager, options.Options) error{
		config.Setup,
		ceph.Setup,
		proxmox.Setup,
	} {
		if err := setup(mgr, o); err != nil {
			return err
		}
	}
	return nil
}
