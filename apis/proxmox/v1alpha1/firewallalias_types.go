package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// FirewallAliasParameters are the settings of a Proxmox VE cluster firewall
// alias: a name that rules and IP sets use in place of an address.
type FirewallAliasParameters struct {
	// CIDR is the address or network the alias names: an IPv4 or IPv6
	// address, or a network with its prefix length (IPv4 /8 to /32, IPv6 /8
	// to /128, as PVE accepts).
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="isIP(self) || (isCIDR(self) && cidr(self).prefixLength() >= 8)",message="spec.forProvider.cidr must be an IP address or a CIDR network with a prefix of at least /8 (PVE's IPorCIDR), e.g. 192.0.2.0/24"
	CIDR string `json:"cidr"`

	// Comment is the alias's description in Proxmox. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`
}

// FirewallAliasObservation is the alias as Proxmox reports it.
type FirewallAliasObservation struct {
	// CIDR is the address or network the alias names.
	CIDR string `json:"cidr,omitempty"`
	// Comment is the alias's description.
	Comment string `json:"comment,omitempty"`
	// IPVersion is 4 or 6, as PVE derives it from the CIDR.
	IPVersion int `json:"ipversion,omitempty"`
	// Digest is PVE's digest of the cluster's alias list when last read.
	Digest string `json:"digest,omitempty"`
}

// A FirewallAliasSpec defines the desired state of a FirewallAlias.
type FirewallAliasSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              FirewallAliasParameters `json:"forProvider"`
}

// A FirewallAliasStatus represents the observed state of a FirewallAlias.
type FirewallAliasStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 FirewallAliasObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A FirewallAlias is a Proxmox VE cluster firewall alias
// (/cluster/firewall/aliases): a name for an address or network that rules
// use as source or dest. The alias name is metadata.name, or the
// crossplane.io/external-name annotation to manage an alias made by hand
// (an alias of the same name made outside this resource is never taken
// over otherwise). The provider refuses to delete an alias a firewall rule
// still uses: PVE would delete it and leave the rule dangling.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 64 && self.metadata.name.matches('^[A-Za-z][A-Za-z0-9_-]+$')",message="metadata.name is the Proxmox alias name: 2-64 characters, a letter first, then letters, digits, '-' or '_' (PVE's alias name); manage an alias of another name with the crossplane.io/external-name annotation"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="CIDR",type="string",JSONPath=".status.atProvider.cidr"
// +kubebuilder:printcolumn:name="COMMENT",type="string",JSONPath=".status.atProvider.comment",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvealias
type FirewallAlias struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FirewallAliasSpec   `json:"spec"`
	Status FirewallAliasStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FirewallAliasList contains a list of FirewallAliases.
type FirewallAliasList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FirewallAlias `json:"items"`
}
