package firewallsecuritygroup

import (
	"context"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

const (
	errListGuests = "cannot list %s to check whether security group %q is still linked"
	errLinked     = "security group %q is still linked by %s; unlink it there first (PVE deletes a linked group and leaves the guests' group rules dangling)"
)

// linkedBy refuses the deletion of group n while a VirtualMachine or
// Container of the same site links it, the way a cloud refuses to delete a
// security group in use. PVE itself only refuses non-empty groups. Guests
// linked by hand, outside this provider, are not seen.
func linkedBy(ctx context.Context, kube client.Reader, mg *v1alpha1.FirewallSecurityGroup, n string) error {
	vms := &v1alpha1.VirtualMachineList{}
	if err := kube.List(ctx, vms); err != nil {
		return errors.Wrapf(err, errListGuests, "VirtualMachines", n)
	}
	cts := &v1alpha1.ContainerList{}
	if err := kube.List(ctx, cts); err != nil {
		return errors.Wrapf(err, errListGuests, "Containers", n)
	}
	var users []string
	for i := range vms.Items {
		vm := &vms.Items[i]
		if fw := vm.Spec.ForProvider.Firewall; fw != nil && slices.Contains(fw.SecurityGroups, n) && sameSite(mg, vm) {
			users = append(users, "VirtualMachine "+vm.GetNamespace()+"/"+vm.GetName())
		}
	}
	for i := range cts.Items {
		ct := &cts.Items[i]
		if fw := ct.Spec.ForProvider.Firewall; fw != nil && slices.Contains(fw.SecurityGroups, n) && sameSite(mg, ct) {
			users = append(users, "Container "+ct.GetNamespace()+"/"+ct.GetName())
		}
	}
	if len(users) == 0 {
		return nil
	}
	sort.Strings(users)
	return errors.Errorf(errLinked, n, strings.Join(users, ", "))
}

// sameSite tells whether two resources use the same provider config: the
// same ClusterProviderConfig, or the same ProviderConfig in one namespace.
func sameSite(a, b interface {
	GetNamespace() string
	GetProviderConfigReference() *xpv2.ProviderConfigReference
}) bool {
	ra, rb := a.GetProviderConfigReference(), b.GetProviderConfigReference()
	if ra == nil || rb == nil {
		return ra == rb
	}
	if ra.Kind != rb.Kind || ra.Name != rb.Name {
		return false
	}
	return ra.Kind != "ProviderConfig" || a.GetNamespace() == b.GetNamespace()
}
