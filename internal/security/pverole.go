// Package security holds the provider's least-privilege access definitions:
// the Proxmox VE role it needs, per managed kind and in total. The tests
// run the provider with exactly this role, and docs/security.md's table is
// checked against it.
package security

import "sort"

// ProxmoxRoleName is the role docs/security.md tells the admin to create.
const ProxmoxRoleName = "MicrocloudProvider"

// ProxmoxKindPrivileges are the PVE privileges each managed kind needs,
// from the schema permissions (and the handlers' own checks) of the API
// calls its controller makes.
var ProxmoxKindPrivileges = map[string][]string{
	// Clone from a template (VM.Clone on the template, VM.Allocate on the
	// new id, Datastore.AllocateSpace on the disks' storage, SDN.Use on the
	// bridge), configure (cores/sockets, memory, name/tags/agent/onboot,
	// NICs, disks), power, guest agent, NIC firewall, delete. Cloud-init
	// options need VM.Config.Cloudinit or VM.Config.Network: the latter,
	// needed for NICs anyway, covers them.
	"VirtualMachine": {"Datastore.AllocateSpace", "SDN.Use", "VM.Allocate", "VM.Audit",
		"VM.Clone", "VM.Config.CPU", "VM.Config.Disk", "VM.Config.Memory",
		"VM.Config.Network", "VM.Config.Options", "VM.GuestAgent.Audit", "VM.PowerMgmt"},
	// Create from a template volume (PVE's check_volume_access asks
	// Datastore.AllocateSpace or Datastore.Audit on its storage: the first,
	// needed for the root disk anyway, passes it), configure, power,
	// delete; unprivileged containers only (privileged ones need Sys.Modify
	// on /, which the provider does not ask for). The kind never clones.
	"Container": {"Datastore.AllocateSpace", "SDN.Use", "VM.Allocate", "VM.Audit",
		"VM.Config.CPU", "VM.Config.Disk", "VM.Config.Memory", "VM.Config.Network",
		"VM.Config.Options", "VM.PowerMgmt"},
	// Download an appliance from the node's aplinfo catalogue into a
	// storage (Datastore.AllocateTemplate) and delete it again; no
	// download-url, so no Sys.AccessNetwork.
	"ContainerTemplate": {"Datastore.Allocate", "Datastore.AllocateTemplate", "Datastore.Audit"},
	// Create, comment, delete pools (a guest joins its pool with its
	// clone, under the VirtualMachine privileges).
	"Pool": {"Pool.Allocate", "Pool.Audit"},
	// Cluster-wide firewall objects live under / (Sys.Modify there).
	// Before deleting one the provider reads every guest's firewall rules
	// for uses of it: VM.Audit on /vms/{vmid}, without which PVE hides the
	// guests from /cluster/resources and the object is deleted while used
	// (TestLeastPrivilegeOtherKinds).
	"FirewallSecurityGroup": {"Sys.Audit", "Sys.Modify", "VM.Audit"},
	"FirewallIPSet":         {"Sys.Audit", "Sys.Modify", "VM.Audit"},
	"FirewallAlias":         {"Sys.Audit", "Sys.Modify", "VM.Audit"},
	// The datacenter firewall (/) and node firewalls (/nodes/{node}).
	"HostFirewall": {"Sys.Audit", "Sys.Modify"},
	// HA resources and rules: Sys.Console on /.
	"HAResource": {"Sys.Audit", "Sys.Console"},
	"HARule":     {"Sys.Audit", "Sys.Console"},
}

// ProxmoxKinds lists the kinds of ProxmoxKindPrivileges, sorted.
func ProxmoxKinds() []string {
	out := make([]string, 0, len(ProxmoxKindPrivileges))
	for k := range ProxmoxKindPrivileges {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ProxmoxRole is the union of the kinds' privileges, sorted: the role for
// a provider that manages every kind.
func ProxmoxRole(kinds ...string) []string {
	if len(kinds) == 0 {
		kinds = ProxmoxKinds()
	}
	set := map[string]bool{}
	for _, k := range kinds {
		for _, p := range ProxmoxKindPrivileges[k] {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
