package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// FirewallLogRateLimit is PVE's log_ratelimit: how many firewall log lines
// a node writes.
type FirewallLogRateLimit struct {
	// Enabled switches rate limiting of the firewall log on (PVE's default).
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// Rate is the average number of log lines allowed, e.g. 1/second
	// (PVE's default), 30/minute.
	// +optional
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]*/(second|minute|hour|day)$`
	// +kubebuilder:validation:MaxLength=32
	Rate *string `json:"rate,omitempty"`

	// Burst is the number of lines logged before the rate applies (PVE's
	// default 5).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	Burst *int32 `json:"burst,omitempty"`
}

// ClusterFirewallParameters are the datacenter firewall's settings
// (cluster.fw): its options and its rules. Options left unset are left as
// they are in Proxmox.
type ClusterFirewallParameters struct {
	// Enabled switches the firewall of the whole cluster on or off: no
	// node, VM or container rule filters anything while it is off (PVE's
	// default). Left as it is when unset.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// PolicyIn is what happens to traffic into the nodes that no rule
	// matches (PVE's default DROP).
	// +optional
	// +kubebuilder:validation:Enum=ACCEPT;DROP;REJECT
	PolicyIn *string `json:"policyIn,omitempty"`

	// PolicyOut is what happens to traffic from the nodes that no rule
	// matches (PVE's default ACCEPT).
	// +optional
	// +kubebuilder:validation:Enum=ACCEPT;DROP;REJECT
	PolicyOut *string `json:"policyOut,omitempty"`

	// PolicyForward is what happens to routed traffic no rule matches
	// (PVE's default ACCEPT; forward rules cannot REJECT).
	// +optional
	// +kubebuilder:validation:Enum=ACCEPT;DROP
	PolicyForward *string `json:"policyForward,omitempty"`

	// Ebtables switches ebtables rules cluster-wide (PVE's default on).
	// +optional
	Ebtables *bool `json:"ebtables,omitempty"`

	// LogRateLimit limits the firewall log of every node.
	// +optional
	LogRateLimit *FirewallLogRateLimit `json:"logRateLimit,omitempty"`

	// Rules are the datacenter's rules in evaluation order; they apply to
	// every node. When set (even to an empty list) the datacenter's rule
	// list is exactly these and rules added by hand are removed; when unset
	// the rules are left alone. Rules may link security groups (type
	// group) and name IP sets (+name) and aliases in source and dest.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	Rules *[]FirewallRule `json:"rules,omitempty"`
}

// NodeFirewallParameters are a node's host firewall settings (host.fw).
// Options left unset are left as they are in Proxmox.
type NodeFirewallParameters struct {
	// Node is the Proxmox node whose firewall this is.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.node is immutable: make another NodeFirewall for another node"
	Node string `json:"node"`

	// Enabled switches the node's firewall on (PVE's default) or off; it
	// filters only while the datacenter firewall is on too.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// LogLevelIn is the log level of incoming traffic no rule matches.
	// +optional
	// +kubebuilder:validation:Enum=emerg;alert;crit;err;warning;notice;info;debug;nolog
	LogLevelIn *string `json:"logLevelIn,omitempty"`

	// LogLevelOut is the log level of outgoing traffic no rule matches.
	// +optional
	// +kubebuilder:validation:Enum=emerg;alert;crit;err;warning;notice;info;debug;nolog
	LogLevelOut *string `json:"logLevelOut,omitempty"`

	// LogLevelForward is the log level of routed traffic no rule matches.
	// +optional
	// +kubebuilder:validation:Enum=emerg;alert;crit;err;warning;notice;info;debug;nolog
	LogLevelForward *string `json:"logLevelForward,omitempty"`

	// NoSmurfs filters smurf (broadcast-source) packets (PVE's default on).
	// +optional
	NoSmurfs *bool `json:"noSmurfs,omitempty"`

	// TCPFlags filters illegal TCP flag combinations (PVE's default off).
	// +optional
	TCPFlags *bool `json:"tcpFlags,omitempty"`

	// NDP allows IPv6 neighbour discovery (PVE's default on).
	// +optional
	NDP *bool `json:"ndp,omitempty"`

	// NFTables uses the nftables firewall (proxmox-firewall) rather than
	// iptables on this node (PVE's default off).
	// +optional
	NFTables *bool `json:"nftables,omitempty"`

	// ProtectionSynflood limits SYN floods per source (PVE's default off).
	// +optional
	ProtectionSynflood *bool `json:"protectionSynflood,omitempty"`

	// Rules are the node's rules in evaluation order. When set (even to an
	// empty list) the node's rule list is exactly these; when unset it is
	// left alone.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	Rules *[]FirewallRule `json:"rules,omitempty"`
}

// HostFirewallObservation is a datacenter or node firewall as Proxmox
// reports it.
type HostFirewallObservation struct {
	// Enabled is whether the firewall is on.
	Enabled bool `json:"enabled,omitempty"`
	// Options are the firewall's options as PVE stores them.
	Options map[string]string `json:"options,omitempty"`
	// OptionsDigest is PVE's digest of the options when last read.
	OptionsDigest string `json:"optionsDigest,omitempty"`
	// RuleCount is how many rules the firewall holds.
	RuleCount int `json:"ruleCount,omitempty"`
	// Rules are the firewall's rules in order, as PVE stores them.
	Rules []FirewallRuleObservation `json:"rules,omitempty"`
	// RulesDigest is PVE's digest of the rule list when last read.
	RulesDigest string `json:"rulesDigest,omitempty"`
}

// A ClusterFirewallSpec defines the desired state of a ClusterFirewall.
type ClusterFirewallSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ClusterFirewallParameters `json:"forProvider"`
}

// A ClusterFirewallStatus represents the observed state of a ClusterFirewall.
type ClusterFirewallStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 HostFirewallObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A ClusterFirewall is the datacenter firewall of a Proxmox VE cluster
// (/cluster/firewall/options and /cluster/firewall/rules): whether the
// cluster filters at all, its default policies, and the rules every node
// applies. A site has one: make one ClusterFirewall per ProviderConfig.
// Deleting it removes the rules it manages and leaves the options (the
// firewall stays on or off as it is).
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="ENABLED",type="boolean",JSONPath=".status.atProvider.enabled"
// +kubebuilder:printcolumn:name="POLICY-IN",type="string",JSONPath=".status.atProvider.options.policy_in"
// +kubebuilder:printcolumn:name="RULES",type="integer",JSONPath=".status.atProvider.ruleCount"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvedcfw
type ClusterFirewall struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterFirewallSpec   `json:"spec"`
	Status ClusterFirewallStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterFirewallList contains a list of ClusterFirewalls.
type ClusterFirewallList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterFirewall `json:"items"`
}

// A NodeFirewallSpec defines the desired state of a NodeFirewall.
type NodeFirewallSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              NodeFirewallParameters `json:"forProvider"`
}

// A NodeFirewallStatus represents the observed state of a NodeFirewall.
type NodeFirewallStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 HostFirewallObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A NodeFirewall is the host firewall of one Proxmox VE node
// (/nodes/{node}/firewall/options and /nodes/{node}/firewall/rules): rules
// and protections for the node itself, applied while the datacenter
// firewall is on. Deleting it removes the rules it manages and leaves the
// options.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="NODE",type="string",JSONPath=".spec.forProvider.node"
// +kubebuilder:printcolumn:name="ENABLED",type="boolean",JSONPath=".status.atProvider.enabled"
// +kubebuilder:printcolumn:name="RULES",type="integer",JSONPath=".status.atProvider.ruleCount"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvenodefw
type NodeFirewall struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NodeFirewallSpec   `json:"spec"`
	Status NodeFirewallStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// NodeFirewallList contains a list of NodeFirewalls.
type NodeFirewallList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodeFirewall `json:"items"`
}
