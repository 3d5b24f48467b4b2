package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// CrushRuleParameters are the settings of a CRUSH rule. Ceph cannot edit a rule in place: when it
// drifts the provider removes and recreates it, which Ceph refuses while a pool uses the rule.
// +kubebuilder:validation:XValidation:rule="self.type != 'erasure' || has(self.erasureCodeProfile) || has(self.erasureCodeProfileRef) || has(self.erasureCodeProfileSelector)",message="spec.forProvider.erasureCodeProfile (or its reference or selector) is required when spec.forProvider.type is erasure"
// +kubebuilder:validation:XValidation:rule="self.type != 'erasure' || (!has(self.root) && !has(self.failureDomain) && !has(self.deviceClass))",message="spec.forProvider.root, failureDomain and deviceClass come from the erasure-code profile when spec.forProvider.type is erasure"
type CrushRuleParameters struct {
	// Type is replicated (root, failure domain, device class given here) or erasure (all taken
	// from an erasure-code profile).
	// +kubebuilder:validation:Enum=replicated;erasure
	// +kubebuilder:default=replicated
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.type is immutable"
	// +optional
	Type string `json:"type,omitempty"`

	// Root is the CRUSH bucket the rule starts from (replicated rules; "default" when unset).
	// +kubebuilder:validation:MinLength=1
	// +optional
	Root *string `json:"root,omitempty"`

	// FailureDomain is the bucket type copies are spread across: no two copies share one
	// (replicated rules; "host" when unset).
	// +kubebuilder:validation:Enum=osd;host;chassis;rack;row;pdu;pod;room;datacenter;zone;region;root
	// +optional
	FailureDomain *string `json:"failureDomain,omitempty"`

	// DeviceClass restricts the rule to OSDs of one class such as hdd or ssd (replicated rules).
	// +optional
	DeviceClass *string `json:"deviceClass,omitempty"`

	// ErasureCodeProfile is the profile an erasure rule is made from.
	// +crossplane:generate:reference:type=ErasureCodeProfile
	// +optional
	ErasureCodeProfile *string `json:"erasureCodeProfile,omitempty"`

	// ErasureCodeProfileRef references an ErasureCodeProfile in the same namespace.
	// +optional
	ErasureCodeProfileRef *xpv2.NamespacedReference `json:"erasureCodeProfileRef,omitempty"`

	// ErasureCodeProfileSelector selects an ErasureCodeProfile.
	// +optional
	ErasureCodeProfileSelector *xpv2.NamespacedSelector `json:"erasureCodeProfileSelector,omitempty"`
}

// CrushRuleObservation is the rule as Ceph reports it.
type CrushRuleObservation struct {
	// ID is Ceph's rule id (pools refer to rules by it).
	ID int32 `json:"id,omitempty"`
	// Type is replicated or erasure.
	Type string `json:"type,omitempty"`
	// Root is the bucket the rule takes.
	Root string `json:"root,omitempty"`
	// FailureDomain is the bucket type the rule spreads copies across.
	FailureDomain string `json:"failureDomain,omitempty"`
	// DeviceClass is the device class the rule is restricted to, empty when none.
	DeviceClass string `json:"deviceClass,omitempty"`
	// FailureDomains counts the buckets of the failure-domain type under the root that hold an
	// OSD: the most copies (or EC chunks) the rule can place apart.
	FailureDomains int32 `json:"failureDomains,omitempty"`
}

// CrushRuleSpec defines the desired state of a CrushRule.
type CrushRuleSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              CrushRuleParameters `json:"forProvider"`
}

// CrushRuleStatus represents the observed state of a CrushRule.
type CrushRuleStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 CrushRuleObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A CrushRule tells Ceph where to place a pool's copies or chunks. The external name is the rule name.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="TYPE",type="string",JSONPath=".status.atProvider.type"
// +kubebuilder:printcolumn:name="ROOT",type="string",JSONPath=".status.atProvider.root"
// +kubebuilder:printcolumn:name="FAILURE-DOMAIN",type="string",JSONPath=".status.atProvider.failureDomain"
// +kubebuilder:printcolumn:name="DOMAINS",type="integer",JSONPath=".status.atProvider.failureDomains"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type CrushRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CrushRuleSpec   `json:"spec"`
	Status CrushRuleStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CrushRuleList contains a list of CrushRules.
type CrushRuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CrushRule `json:"items"`
}
