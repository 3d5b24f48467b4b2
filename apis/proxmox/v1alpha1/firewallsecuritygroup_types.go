package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// FirewallSecurityGroupParameters are the settings of a Proxmox VE cluster
// firewall security group. The group is owned whole: its rule list is exactly
// the spec's, and rules added behind the provider's back are removed.
type FirewallSecurityGroupParameters struct {
	// Comment is the group's description in Proxmox. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`

	// Rules are the group's rules in evaluation order (the first match wins).
	// An empty list makes an empty group. A group's rules are in, out or
	// forward and name no interface (PVE's rule_env group).
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:XValidation:rule="self.all(r, r.type != 'group')",message="spec.forProvider.rules[].type: a security group cannot link another security group (rules of type group belong to guests, the datacenter and nodes)"
	// +kubebuilder:validation:XValidation:rule="self.all(r, !has(r.iface))",message="spec.forProvider.rules[].iface: a security group's rules name no interface (PVE: parameter -i not allowed for this rule type)"
	Rules []FirewallRule `json:"rules,omitempty"`
}

// A FirewallRule is one firewall rule in PVE's vocabulary: of a security
// group, of the datacenter or of a node.
// +kubebuilder:validation:XValidation:rule="self.type == 'group' || self.action in ['ACCEPT','DROP','REJECT']",message="spec.forProvider.rules[].action must be ACCEPT, DROP or REJECT (a security group's name only in a rule of type group)",fieldPath=".action"
// +kubebuilder:validation:XValidation:rule="!(self.type == 'forward' && self.action == 'REJECT')",message="spec.forProvider.rules[].action: a forward rule cannot REJECT (PVE: cannot define REJECT rules on forward chain)",fieldPath=".action"
// +kubebuilder:validation:XValidation:rule="self.type != 'group' || !(has(self.macro) || has(self.proto) || has(self.dport) || has(self.sport) || has(self.source) || has(self.dest))",message="spec.forProvider.rules[]: a rule of type group links the security group named by action and matches nothing itself (no macro, proto, ports, source or dest)"
// +kubebuilder:validation:XValidation:rule="!has(self.dport) || has(self.proto)",message="spec.forProvider.rules[].dport needs spec.forProvider.rules[].proto (PVE: 'dport' requires proto)"
// +kubebuilder:validation:XValidation:rule="!has(self.sport) || has(self.proto)",message="spec.forProvider.rules[].sport needs spec.forProvider.rules[].proto (PVE: 'sport' requires proto)"
// +kubebuilder:validation:XValidation:rule="!(has(self.dport) || has(self.sport)) || !has(self.proto) || self.proto in ['tcp','udp','udplite','sctp','dccp','6','17','136','132','33']",message="spec.forProvider.rules[].proto must be tcp, udp, udplite, sctp or dccp when dport or sport is set: other protocols have no ports"
type FirewallRule struct {
	// Type is the traffic direction: in (to the guest or node), out (from
	// it) or forward (routed through a node); or group, a link to the
	// security group named by action (datacenter and node rules only).
	// +kubebuilder:validation:Enum=in;out;forward;group
	Type string `json:"type"`

	// Action is what happens to matching packets: ACCEPT, DROP or REJECT
	// (forward rules: ACCEPT or DROP). In a rule of type group it is the
	// security group's name.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_-]+$`
	// +kubebuilder:validation:MaxLength=20
	Action string `json:"action"`

	// Iface restricts the rule to a network interface of the node, e.g.
	// vmbr0 (datacenter and node rules only).
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	// +kubebuilder:validation:MaxLength=20
	Iface *string `json:"iface,omitempty"`

	// Macro is a predefined PVE rule macro, e.g. SSH, HTTP, Ping.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_-]*$`
	// +kubebuilder:validation:MaxLength=128
	Macro *string `json:"macro,omitempty"`

	// Proto is the IP protocol, a name from /etc/protocols (tcp, udp, icmp,
	// ...) or its number.
	// +optional
	// +kubebuilder:validation:Pattern=`^([a-z][a-z0-9._+-]*|[0-9]{1,3})$`
	// +kubebuilder:validation:MaxLength=32
	Proto *string `json:"proto,omitempty"`

	// DPort is the destination port: a number, a service name, a range
	// like 8000:8080, or a comma-separated list of them. Needs proto.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(:[0-9]{1,5})?|[a-z][a-z0-9._-]*)(,([0-9]{1,5}(:[0-9]{1,5})?|[a-z][a-z0-9._-]*))*$`
	// +kubebuilder:validation:MaxLength=256
	DPort *string `json:"dport,omitempty"`

	// SPort is the source port, in the same form as dport. Needs proto.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(:[0-9]{1,5})?|[a-z][a-z0-9._-]*)(,([0-9]{1,5}(:[0-9]{1,5})?|[a-z][a-z0-9._-]*))*$`
	// +kubebuilder:validation:MaxLength=256
	SPort *string `json:"sport,omitempty"`

	// Source restricts the packet source: an address, CIDR, range
	// (a-b), +ipset, alias, or a comma-separated list of them.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9+/.:,_-]+$`
	// +kubebuilder:validation:MaxLength=512
	Source *string `json:"source,omitempty"`

	// SourceRef names a FirewallAlias or FirewallIPSet in this resource's
	// namespace to use as source (an IP set as +name): the rule waits until
	// it is Ready, and follows its Proxmox name. It sets source.
	// +optional
	SourceRef *FirewallAddressReference `json:"sourceRef,omitempty"`

	// DestRef names a FirewallAlias or FirewallIPSet to use as dest, like
	// sourceRef. It sets dest.
	// +optional
	DestRef *FirewallAddressReference `json:"destRef,omitempty"`

	// Dest restricts the packet destination, in the same form as source.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9+/.:,_-]+$`
	// +kubebuilder:validation:MaxLength=512
	Dest *string `json:"dest,omitempty"`

	// Enable switches the rule on (the default) or keeps it but off.
	// +optional
	// +kubebuilder:default=true
	Enable *bool `json:"enable,omitempty"`

	// Comment describes the rule.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment *string `json:"comment,omitempty"`

	// Log is the log level of matching packets; nolog (the default) logs nothing.
	// +optional
	// +kubebuilder:validation:Enum=emerg;alert;crit;err;warning;notice;info;debug;nolog
	Log *string `json:"log,omitempty"`
}

// A FirewallAddressReference names a FirewallAlias or a FirewallIPSet in
// the referring resource's namespace.
type FirewallAddressReference struct {
	// Kind is FirewallAlias or FirewallIPSet.
	// +kubebuilder:validation:Enum=FirewallAlias;FirewallIPSet
	Kind string `json:"kind"`

	// Name is the referenced resource's metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// FirewallSecurityGroupObservation is the group as Proxmox reports it.
type FirewallSecurityGroupObservation struct {
	// Comment is the group's description in Proxmox.
	Comment string `json:"comment,omitempty"`
	// RuleCount is how many rules the group holds.
	RuleCount int `json:"ruleCount,omitempty"`
	// Rules are the group's rules in order, as PVE stores them.
	Rules []FirewallRuleObservation `json:"rules,omitempty"`
	// Digest is PVE's digest of the rule list when it was last read.
	Digest string `json:"digest,omitempty"`
}

// A FirewallRuleObservation is one rule as PVE reports it, without the
// spec's validation so that any rule made by hand can be shown.
type FirewallRuleObservation struct {
	// Pos is the rule's position in the group, from 0.
	Pos int `json:"pos"`
	// Type is in, out, forward or group.
	Type string `json:"type,omitempty"`
	// Iface is the interface the rule is restricted to.
	Iface string `json:"iface,omitempty"`
	// Action is ACCEPT, DROP, REJECT or, for a group link, the group's name.
	Action string `json:"action,omitempty"`
	// Macro is the rule's PVE macro.
	Macro string `json:"macro,omitempty"`
	// Proto is the IP protocol.
	Proto string `json:"proto,omitempty"`
	// DPort is the destination port.
	DPort string `json:"dport,omitempty"`
	// SPort is the source port.
	SPort string `json:"sport,omitempty"`
	// Source is the source restriction.
	Source string `json:"source,omitempty"`
	// Dest is the destination restriction.
	Dest string `json:"dest,omitempty"`
	// Enable is whether the rule is on.
	Enable bool `json:"enable,omitempty"`
	// Comment describes the rule.
	Comment string `json:"comment,omitempty"`
	// Log is the rule's log level.
	Log string `json:"log,omitempty"`
}

// A FirewallSecurityGroupSpec defines the desired state of a FirewallSecurityGroup.
type FirewallSecurityGroupSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              FirewallSecurityGroupParameters `json:"forProvider"`
}

// A FirewallSecurityGroupStatus represents the observed state of a FirewallSecurityGroup.
type FirewallSecurityGroupStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 FirewallSecurityGroupObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A FirewallSecurityGroup is a Proxmox VE cluster firewall security group
// (/cluster/firewall/groups): a named, ordered rule list that VMs link to,
// like a cloud security group. The external name is the group name
// (metadata.name unless the crossplane.io/external-name annotation says
// otherwise); PVE allows 2-18 characters, a letter first, then letters,
// digits, '-' and '_'.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 18 && self.metadata.name.matches('^[a-z][a-z0-9-]+$')",message="metadata.name is the Proxmox security group name: 2-18 characters, a letter first, then letters, digits or '-' (PVE's pve-security-group-name); import a group of another name with a short metadata.name and the crossplane.io/external-name annotation"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="RULES",type="integer",JSONPath=".status.atProvider.ruleCount"
// +kubebuilder:printcolumn:name="COMMENT",type="string",JSONPath=".status.atProvider.comment",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvesg
type FirewallSecurityGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FirewallSecurityGroupSpec   `json:"spec"`
	Status FirewallSecurityGroupStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FirewallSecurityGroupList contains a list of FirewallSecurityGroups.
type FirewallSecurityGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FirewallSecurityGroup `json:"items"`
}
