package virtualmachine

import (
	"context"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guestfw"
)

// fwSpec is the VM's firewall spec in the form guestfw manages (nil when
// the spec leaves the firewall alone).
func fwSpec(mg *v1alpha1.VirtualMachine) *guestfw.Spec {
	fw := mg.Spec.ForProvider.Firewall
	if fw == nil {
		return nil
	}
	return &guestfw.Spec{Enabled: fw.Enabled, PolicyIn: fw.PolicyIn, PolicyOut: fw.PolicyOut, SecurityGroups: fw.SecurityGroups}
}

// firewallDiff names how the VM's firewall differs from the spec; the
// firewall is read only when the config was (fresh), see guestfw.
func (e *external) firewallDiff(ctx context.Context, mg *v1alpha1.VirtualMachine, g *proxmox.Guest, fresh bool) (string, error) {
	return guestfw.Diff(ctx, e.c, fwSpec(mg), g, fresh)
}

// updateFirewall sets the VM's firewall options and group links from the spec.
func (e *external) updateFirewall(ctx context.Context, mg *v1alpha1.VirtualMachine, g *proxmox.Guest) error {
	return guestfw.Apply(ctx, e.c, fwSpec(mg), g)
}

// joinDiff adds the firewall's differences to the config's.
func joinDiff(config, firewall string) string { return guestfw.JoinDiff(config, firewall) }
