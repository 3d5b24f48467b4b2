package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// FirewallIPSetParameters are the settings of a Proxmox VE cluster firewall
// IP set. The set is owned whole: its entries are exactly the spec's, and
// entries added behind the provider's back are removed.
type FirewallIPSetParameters struct {
	// Comment is the set's description in Proxmox. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`

	// Entries are the set's addresses and networks. An empty list makes an
	// empty set. Each cidr appears once (PVE keys entries by cidr).
	// +optional
	// +listType=map
	// +listMapKey=cidr
	// +kubebuilder:validation:MaxItems=1024
	Entries []FirewallIPSetEntry `json:"entries,omitempty"`
}

// A FirewallIPSetEntry is one address or network of an IP set.
type FirewallIPSetEntry struct {
	// CIDR is an IPv4 or IPv6 address, or a network with its prefix length
	// (IPv4 /8 to /32, IPv6 /8 to /128, as PVE accepts in an IP set).
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="isIP(self) || (isCIDR(self) && cidr(self).prefixLength() >= 8)",message="spec.forProvider.entries[].cidr must be an IP address or a CIDR network with a prefix of at least /8 (PVE's IPorCIDR), e.g. 198.51.100.0/24"
	CIDR string `json:"cidr"`

	// NoMatch excludes the address or network from the set (PVE's nomatch).
	// +optional
	NoMatch bool `json:"nomatch,omitempty"`

	// Comment describes the entry.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment *string `json:"comment,omitempty"`
}

// FirewallIPSetObservation is the set as Proxmox reports it.
type FirewallIPSetObservation struct {
	// Comment is the set's description.
	Comment string `json:"comment,omitempty"`
	// EntryCount is how many entries the set holds.
	EntryCount int `json:"entryCount,omitempty"`
	// Entries are the set's entries as PVE stores them.
	Entries []FirewallIPSetEntryObservation `json:"entries,omitempty"`
	// Digest is PVE's digest of the set's entries when last read.
	Digest string `json:"digest,omitempty"`
}

// A FirewallIPSetEntryObservation is one entry as PVE reports it.
type FirewallIPSetEntryObservation struct {
	// CIDR is the address or network.
	CIDR string `json:"cidr"`
	// NoMatch is whether the entry is excluded from the set.
	NoMatch bool `json:"nomatch,omitempty"`
	// Comment describes the entry.
	Comment string `json:"comment,omitempty"`
}

// A FirewallIPSetSpec defines the desired state of a FirewallIPSet.
type FirewallIPSetSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              FirewallIPSetParameters `json:"forProvider"`
}

// A FirewallIPSetStatus represents the observed state of a FirewallIPSet.
type FirewallIPSetStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 FirewallIPSetObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A FirewallIPSet is a Proxmox VE cluster firewall IP set
// (/cluster/firewall/ipset): a named list of addresses and networks that
// rules use as source or dest (+name). The set name is metadata.name, or
// the crossplane.io/external-name annotation to manage a set made by hand
// (a set of the same name made outside this resource is never taken over
// otherwise). The provider refuses to delete a set a firewall rule still
// uses: PVE would delete it and leave the rule dangling.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 64 && self.metadata.name.matches('^[A-Za-z][A-Za-z0-9_-]+$')",message="metadata.name is the Proxmox IP set name: 2-64 characters, a letter first, then letters, digits, '-' or '_' (PVE's ipset name); manage a set of another name with the crossplane.io/external-name annotation"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="ENTRIES",type="integer",JSONPath=".status.atProvider.entryCount"
// +kubebuilder:printcolumn:name="COMMENT",type="string",JSONPath=".status.atProvider.comment",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pveipset
type FirewallIPSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FirewallIPSetSpec   `json:"spec"`
	Status FirewallIPSetStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FirewallIPSetList contains a list of FirewallIPSets.
type FirewallIPSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FirewallIPSet `json:"items"`
}
