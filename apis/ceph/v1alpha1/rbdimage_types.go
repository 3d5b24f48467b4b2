package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// RBDImageParameters are the settings of an RBD block image.
// +kubebuilder:validation:XValidation:rule="has(self.pool) || has(self.poolRef) || has(self.poolSelector)",message="spec.forProvider.pool (or its reference or selector) is required"
type RBDImageParameters struct {
	// Pool is the name of the pool holding the image. It cannot change once set.
	// +crossplane:generate:reference:type=Pool
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.pool is immutable"
	// +optional
	Pool *string `json:"pool,omitempty"`

	// PoolRef references the Pool in the same namespace.
	// +optional
	PoolRef *xpv2.NamespacedReference `json:"poolRef,omitempty"`

	// PoolSelector selects the Pool.
	// +optional
	PoolSelector *xpv2.NamespacedSelector `json:"poolSelector,omitempty"`

	// SizeMiB is the image size in MiB (2^20 bytes). It can only grow: shrinking destroys data.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.sizeMiB must be at least 1"
	// +kubebuilder:validation:XValidation:rule="self >= oldSelf",message="spec.forProvider.sizeMiB can only grow"
	SizeMiB int64 `json:"sizeMiB"`

	// Features are the RBD image features to enable; Ceph's defaults (layering, exclusive-lock,
	// object-map, fast-diff, deep-flatten) when unset. object-map needs exclusive-lock and
	// fast-diff needs object-map.
	// +listType=set
	// +kubebuilder:validation:items:Enum=layering;striping;exclusive-lock;object-map;fast-diff;deep-flatten;journaling;data-pool
	// +optional
	Features []string `json:"features,omitempty"`

	// DataPool is an (erasure-coded, allow_ec_overwrites) pool for the image's data while its
	// metadata stays in pool. It cannot change once the image exists.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.dataPool is immutable"
	// +optional
	DataPool *string `json:"dataPool,omitempty"`

	// AllowDeleteWithData lets the provider delete the image although it has snapshots (they are
	// removed first, unprotected if needed) or watchers. By default deleting the RBDImage is
	// refused (the resource stays, its Deletable condition and a Warning event say why) while a
	// client has the image open or mapped, or while it has snapshots. Ceph itself still refuses to
	// remove an image with watchers, and a snapshot with clones. To keep the image when the
	// resource goes, remove Delete from spec.managementPolicies instead.
	// +optional
	AllowDeleteWithData *bool `json:"allowDeleteWithData,omitempty"`
}

// RBDImageObservation is the image as Ceph reports it.
type RBDImageObservation struct {
	// ImageSpec is pool/image, as rbd map and Proxmox storage take it.
	ImageSpec string `json:"imageSpec,omitempty"`
	// SizeBytes is the image size.
	SizeBytes int64 `json:"sizeBytes,omitempty"`
	// Features are the enabled features.
	Features []string `json:"features,omitempty"`
	// DataPool is the data pool, empty when data lives in the image's pool.
	DataPool string `json:"dataPool,omitempty"`
}

// RBDImageSpec defines the desired state of an RBDImage.
type RBDImageSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              RBDImageParameters `json:"forProvider"`
}

// RBDImageStatus represents the observed state of an RBDImage.
type RBDImageStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 RBDImageObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// An RBDImage is a Ceph block device image. The external name is the image name; its connection
// details hold imageSpec (pool/image), pool, image and monitors.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="IMAGE",type="string",JSONPath=".status.atProvider.imageSpec"
// +kubebuilder:printcolumn:name="SIZE-MIB",type="integer",JSONPath=".spec.forProvider.sizeMiB"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type RBDImage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RBDImageSpec   `json:"spec"`
	Status RBDImageStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RBDImageList contains a list of RBDImages.
type RBDImageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RBDImage `json:"items"`
}
