package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// HARuleNode is one node of a node-affinity rule.
type HARuleNode struct {
	// Node is the cluster node's name.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Node string `json:"node"`
	// Priority is the node's priority: HA prefers the nodes of the highest
	// priority that are online. Unset is PVE's default, 0.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.nodes[].priority must be 0 or more (PVE's <node>:<pri>)"
	Priority *int64 `json:"priority,omitempty"`
}

// HARuleParameters are a PVE 9 HA rule (/cluster/ha/rules): node-affinity
// keeps HA resources on some nodes, resource-affinity keeps HA resources
// together (positive) or apart (negative).
// +kubebuilder:validation:XValidation:rule="self.type != 'node-affinity' || (has(self.nodes) && size(self.nodes) > 0)",message="spec.forProvider.nodes: a node-affinity rule needs at least one node"
// +kubebuilder:validation:XValidation:rule="self.type != 'node-affinity' || !has(self.affinity)",message="spec.forProvider.affinity is for resource-affinity rules; a node-affinity rule takes nodes and strict"
// +kubebuilder:validation:XValidation:rule="self.type != 'resource-affinity' || has(self.affinity)",message="spec.forProvider.affinity (positive or negative) is required for a resource-affinity rule"
// +kubebuilder:validation:XValidation:rule="self.type != 'resource-affinity' || (!has(self.nodes) && !has(self.strict))",message="spec.forProvider.nodes and strict are for node-affinity rules; a resource-affinity rule takes affinity"
// +kubebuilder:validation:XValidation:rule="has(self.resourceSelector) || (has(self.resources) && size(self.resources) >= 1) || (has(self.resourceRefs) && size(self.resourceRefs) >= 1)",message="spec.forProvider.resources: a rule needs at least one resource (resources, resourceRefs or resourceSelector)"
// +kubebuilder:validation:XValidation:rule="self.type != 'resource-affinity' || has(self.resourceSelector) || (has(self.resources) && size(self.resources) >= 2) || (has(self.resourceRefs) && size(self.resourceRefs) >= 2)",message="spec.forProvider.resources: a resource-affinity rule needs at least two resources"
// +kubebuilder:validation:XValidation:rule="self.type == oldSelf.type",message="spec.forProvider.type cannot change (PVE keeps a rule's type)"
type HARuleParameters struct {
	// Type is node-affinity or resource-affinity. It cannot change.
	// +kubebuilder:validation:Enum=node-affinity;resource-affinity
	Type string `json:"type"`

	// Resources are the HA resource ids the rule applies to (vm:<vmid>,
	// ct:<vmid>); each must be under HA. Filled from resourceRefs or
	// resourceSelector when those are set (which then replace it).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^(vm|ct):[1-9][0-9]{2,8}$`
	// +crossplane:generate:reference:type=HAResource
	// +crossplane:generate:reference:refFieldName=ResourceRefs
	// +crossplane:generate:reference:selectorFieldName=ResourceSelector
	Resources []string `json:"resources,omitempty"`

	// ResourceRefs reference HAResources in the rule's namespace; the rule
	// waits until each has put its guest under HA. Give a reference
	// policy.resolve Always so that editing the references edits the rule.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	ResourceRefs []xpv2.NamespacedReference `json:"resourceRefs,omitempty"`

	// ResourceSelector selects HAResources by label.
	// +optional
	ResourceSelector *xpv2.NamespacedSelector `json:"resourceSelector,omitempty"`

	// Nodes are a node-affinity rule's nodes, each with an optional
	// priority.
	// +optional
	// +listType=map
	// +listMapKey=node
	// +kubebuilder:validation:MaxItems=64
	Nodes []HARuleNode `json:"nodes,omitempty"`

	// Strict makes a node-affinity rule binding: the resources run only on
	// its nodes, never elsewhere (PVE's default is false: other nodes are
	// used when none of the rule's is available).
	// +optional
	Strict *bool `json:"strict,omitempty"`

	// Affinity of a resource-affinity rule: positive keeps the resources on
	// one node, negative keeps each on a different node.
	// +optional
	// +kubebuilder:validation:Enum=positive;negative
	Affinity *string `json:"affinity,omitempty"`

	// Disable keeps the rule in PVE without HA applying it.
	// +optional
	Disable bool `json:"disable,omitempty"`

	// Comment is the rule's description. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`
}

// HARuleObservation is the rule as Proxmox reports it.
type HARuleObservation struct {
	// Type is node-affinity or resource-affinity.
	Type string `json:"type,omitempty"`
	// Resources are the rule's HA resource ids, sorted.
	Resources []string `json:"resources,omitempty"`
	// Nodes is PVE's node list (node[:priority],...).
	Nodes string `json:"nodes,omitempty"`
	// Strict tells whether a node-affinity rule is strict.
	Strict bool `json:"strict,omitempty"`
	// Affinity is a resource-affinity rule's positive or negative.
	Affinity string `json:"affinity,omitempty"`
	// Disabled tells whether the rule is disabled.
	Disabled bool `json:"disabled,omitempty"`
	// Comment is the rule's description.
	Comment string `json:"comment,omitempty"`
	// Order is the rule's position in PVE's rules.cfg.
	Order int64 `json:"order,omitempty"`
}

// A HARuleSpec defines the desired state of a HARule.
type HARuleSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              HARuleParameters `json:"forProvider"`
}

// A HARuleStatus represents the observed state of a HARule.
type HARuleStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 HARuleObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A HARule is a Proxmox VE 9 HA rule (/cluster/ha/rules). The external name
// is the rule id: metadata.name, set when the provider creates the rule
// (set it by hand to manage a rule made outside Crossplane). A cluster of
// an earlier release has no HA rules: the resource then reports Synced=False
// saying so, and nothing is written.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z][a-z0-9-]+$')",message="metadata.name is the Proxmox HA rule id (pve-configid): a letter first, then at least one letter, digit or '-'; manage a rule of another id with the crossplane.io/external-name annotation"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="TYPE",type="string",JSONPath=".spec.forProvider.type"
// +kubebuilder:printcolumn:name="RESOURCES",type="string",JSONPath=".status.atProvider.resources"
// +kubebuilder:printcolumn:name="DISABLED",type="boolean",JSONPath=".status.atProvider.disabled",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pveharule
type HARule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HARuleSpec   `json:"spec"`
	Status HARuleStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// HARuleList contains a list of HARules.
type HARuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HARule `json:"items"`
}
