package v1alpha1

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// GuestFirewall is a guest's own firewall (a VM's or a container's): its
// options and its linked security groups.
type GuestFirewall struct {
	// Enabled switches the guest's firewall on (the default) or off.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// PolicyIn is what happens to incoming traffic no rule matches.
	// Left as it is when unset (PVE's default is DROP).
	// +optional
	// +kubebuilder:validation:Enum=ACCEPT;DROP;REJECT
	PolicyIn *string `json:"policyIn,omitempty"`

	// PolicyOut is what happens to outgoing traffic no rule matches.
	// Left as it is when unset (PVE's default is ACCEPT).
	// +optional
	// +kubebuilder:validation:Enum=ACCEPT;DROP;REJECT
	PolicyOut *string `json:"policyOut,omitempty"`

	// SecurityGroups are the names of the cluster security groups the guest
	// links, in evaluation order. The guest's rules of type group are exactly
	// these; its other rules are left alone. Filled from
	// securityGroupRefs or securityGroupSelector when those are set.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z][A-Za-z0-9_-]+$`
	// +kubebuilder:validation:items:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="self.all(g, self.exists_one(h, h == g))",message="spec.forProvider.firewall.securityGroups must not name a group twice"
	// +crossplane:generate:reference:type=FirewallSecurityGroup
	// +crossplane:generate:reference:refFieldName=SecurityGroupRefs
	// +crossplane:generate:reference:selectorFieldName=SecurityGroupSelector
	SecurityGroups []string `json:"securityGroups,omitempty"`

	// SecurityGroupRefs reference FirewallSecurityGroups in the guest's
	// namespace; their order is the evaluation order. Crossplane keeps the
	// names it resolved first: give a reference policy.resolve Always so
	// that editing the references relinks the guest.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	SecurityGroupRefs []xpv2.NamespacedReference `json:"securityGroupRefs,omitempty"`

	// Rules are the guest's own rules (type in or out, on the guest's
	// NICs: iface net0, net1, ...), evaluated after its security group
	// links. When set (even to an empty list) the guest's whole rule list
	// is owned: exactly the linked groups, in order, then these rules; a
	// rule added by hand is removed. When unset only the group links are
	// managed and the guest's other rules are left alone.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:XValidation:rule="self.all(r, r.type in ['in','out'])",message="spec.forProvider.firewall.rules[].type must be in or out: a guest links security groups with securityGroups, and forward rules belong to the datacenter, nodes and groups (PVE rule_env vm/ct)"
	// +kubebuilder:validation:XValidation:rule="self.all(r, !has(r.iface) || r.iface.matches('^net[0-9]+$'))",message="spec.forProvider.firewall.rules[].iface must name a NIC of the guest: net0, net1, ... (PVE rule_env vm/ct)"
	Rules *[]FirewallRule `json:"rules,omitempty"`

	// IPSets are the guest's own IP sets, e.g. ipfilter-net0 (the addresses
	// NIC net0 may send from when its ipfilter is on) or a set its own rules
	// name as +name. When set (even to an empty list) the guest's IP sets
	// are exactly these and a set made by hand is removed; when unset they
	// are left alone.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	IPSets *[]GuestIPSet `json:"ipSets,omitempty"`

	// SecurityGroupSelector selects FirewallSecurityGroups by label; the
	// selected groups are linked in the order of their names (with
	// policy.resolve Always, groups labelled later are linked too).
	// +optional
	SecurityGroupSelector *xpv2.NamespacedSelector `json:"securityGroupSelector,omitempty"`
}

// A GuestIPSet is one of a guest's own IP sets.
type GuestIPSet struct {
	// Name is the set's name in the guest's firewall.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_-]+$`
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`

	// Comment is the set's description. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`

	// Entries are the set's addresses and networks; order carries no meaning.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=cidr
	Entries []FirewallIPSetEntry `json:"entries,omitempty"`
}

// SecurityGroupNames are the security groups a VM's spec links.
func (mg *VirtualMachine) SecurityGroupNames() []string {
	if fw := mg.Spec.ForProvider.Firewall; fw != nil {
		return fw.SecurityGroups
	}
	return nil
}

// SecurityGroupNames are the security groups a container's spec links.
func (mg *Container) SecurityGroupNames() []string {
	if fw := mg.Spec.ForProvider.Firewall; fw != nil {
		return fw.SecurityGroups
	}
	return nil
}

// linkerLists are the list types of the kinds that link security groups;
// a guest kind adds its own where it registers with the scheme.
var linkerLists []func() client.ObjectList

// SecurityGroupLinkerLists returns a new empty list of each kind whose
// items link security groups (they have SecurityGroupNames): what a
// security group's in-use check lists.
func SecurityGroupLinkerLists() []client.ObjectList {
	out := make([]client.ObjectList, 0, len(linkerLists))
	for _, l := range linkerLists {
		out = append(out, l())
	}
	return out
}
