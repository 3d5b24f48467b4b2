package firewallsecuritygroup

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

const (
	errListGuests  = "cannot list %s to check whether security group %q is still linked"
	errLinked      = "security group %q is still linked by %s; unlink it there first (PVE deletes a linked group and leaves the guests' group rules dangling)"
	errLinkedInPVE = "security group %q is still linked in PVE by the firewall rules of %s; unlink it there first (PVE deletes a linked group and leaves the group rules dangling)"
	errScanGuests  = "cannot check the datacenter's, every node's and every guest's firewall for links to security group %q, so it is kept"
)

// linkedBy refuses the deletion of group n while a managed guest of any
// kind (every kind that registers as a SecurityGroupLinker: VMs,
// containers, ...) of the same site links it, the way a cloud refuses to
// delete a security group in use. PVE itself only refuses non-empty groups;
// links made outside the provider are found by linkedInPVE.
func linkedBy(ctx context.Context, kube client.Reader, mg *v1alpha1.FirewallSecurityGroup, n string) error {
	var users []string
	for _, list := range v1alpha1.SecurityGroupLinkerLists() {
		if err := kube.List(ctx, list); err != nil {
			return errors.Wrapf(err, errListGuests, fmt.Sprintf("%T", list), n)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return errors.Wrapf(err, errListGuests, fmt.Sprintf("%T", list), n)
		}
		for _, o := range items {
			g, ok := o.(linker)
			if ok && slices.Contains(g.SecurityGroupNames(), n) && sameSite(mg, g) {
				users = append(users, kindOf(g)+" "+g.GetNamespace()+"/"+g.GetName())
			}
		}
	}
	if len(users) == 0 {
		return nil
	}
	sort.Strings(users)
	return errors.Errorf(errLinked, n, strings.Join(users, ", "))
}

// A linker is a managed guest whose spec links security groups.
type linker interface {
	client.Object
	SecurityGroupNames() []string
	GetProviderConfigReference() *xpv2.ProviderConfigReference
}

// kindOf names an object's kind ("VirtualMachine") from its Go type.
func kindOf(o any) string {
	t := fmt.Sprintf("%T", o)
	return t[strings.LastIndex(t, ".")+1:]
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

// linkedInPVE refuses the deletion of group n while the datacenter, a node
// or any guest of the site links it in PVE itself, whoever made the link (a managed spec, an admin,
// another tool): PVE would delete the group and leave the guests' group
// rules dangling. It reads every guest's firewall rules (one request per
// guest, only when a group is deleted); a guest whose rules cannot be read
// blocks the deletion, since the link cannot be ruled out.
func linkedInPVE(ctx context.Context, c *proxmox.Client, n string) error {
	var users []string
	scan := func(what string, rules []proxmox.Rule) {
		for _, r := range rules {
			if r["type"] == "group" && r["action"] == n {
				users = append(users, what)
				return
			}
		}
	}
	err := c.EachHostRules(ctx, scan)
	if err == nil {
		err = c.EachGuestRules(ctx, func(g *proxmox.Guest, rules []proxmox.Rule) {
			scan(fmt.Sprintf("%s %d (%s)", g.Type, int(g.VMID), g.Name), rules)
		})
	}
	if len(users) > 0 {
		sort.Strings(users)
		return errors.Errorf(errLinkedInPVE, n, strings.Join(users, ", "))
	}
	return errors.Wrapf(err, errScanGuests, n)
}
