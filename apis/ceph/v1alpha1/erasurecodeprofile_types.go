package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ErasureCodeProfileParameters are the settings of a Ceph erasure-code profile. Ceph never changes
// a profile that exists, so every field is immutable: make a new profile (and pool) instead.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider of an ErasureCodeProfile is immutable (k, m, plugin, technique, failureDomain, deviceClass, crushRoot): create a new profile instead"
type ErasureCodeProfileParameters struct {
	// K is the number of data chunks each object is split into.
	// +kubebuilder:validation:XValidation:rule="self >= 2",message="spec.forProvider.k must be at least 2"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.k is immutable"
	K int32 `json:"k"`

	// M is the number of coding chunks, i.e. how many chunks (failure domains) may be lost.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.m must be at least 1"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.m is immutable"
	M int32 `json:"m"`

	// Plugin is the erasure-code library (jerasure, isa, lrc, shec, clay).
	// +kubebuilder:default=jerasure
	// +kubebuilder:validation:MinLength=1
	// +optional
	Plugin string `json:"plugin,omitempty"`

	// Technique is the plugin's coding technique, e.g. reed_sol_van for jerasure. Plugin default when unset.
	// +optional
	Technique *string `json:"technique,omitempty"`

	// FailureDomain is the CRUSH bucket type no two chunks share (osd, host, rack, ...); Ceph's
	// `crush-failure-domain`, host when unset.
	// +optional
	FailureDomain *string `json:"failureDomain,omitempty"`

	// DeviceClass restricts chunks to OSDs of one class (hdd, ssd, nvme); Ceph's `crush-device-class`.
	// +optional
	DeviceClass *string `json:"deviceClass,omitempty"`

	// CrushRoot is the CRUSH root rules made from this profile start at; Ceph's `crush-root`,
	// default when unset.
	// +optional
	CrushRoot *string `json:"crushRoot,omitempty"`
}

// ErasureCodeProfileObservation is the profile as Ceph reports it.
type ErasureCodeProfileObservation struct {
	// Profile is every key=value pair Ceph holds for the profile, including its defaults.
	Profile map[string]string `json:"profile,omitempty"`
}

// ErasureCodeProfileSpec defines the desired state of an ErasureCodeProfile.
type ErasureCodeProfileSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ErasureCodeProfileParameters `json:"forProvider"`
}

// ErasureCodeProfileStatus represents the observed state of an ErasureCodeProfile.
type ErasureCodeProfileStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 ErasureCodeProfileObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// An ErasureCodeProfile is a Ceph erasure-code profile (k data + m coding chunks) that
// erasure-coded pools and CRUSH rules are made from. The external name is the profile name.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="K",type="integer",JSONPath=".spec.forProvider.k"
// +kubebuilder:printcolumn:name="M",type="integer",JSONPath=".spec.forProvider.m"
// +kubebuilder:printcolumn:name="FAILURE-DOMAIN",type="string",JSONPath=".status.atProvider.profile.crush-failure-domain"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type ErasureCodeProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ErasureCodeProfileSpec   `json:"spec"`
	Status ErasureCodeProfileStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ErasureCodeProfileList contains a list of ErasureCodeProfiles.
type ErasureCodeProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ErasureCodeProfile `json:"items"`
}
