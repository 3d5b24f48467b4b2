package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// CrushBucketParameters place a bucket in the CRUSH hierarchy of the micro cloud design:
// root → datacenter → row → rack → host.
// +kubebuilder:validation:XValidation:rule="self.type == 'root' || has(self.parent) || has(self.parentRef) || has(self.parentSelector)",message="spec.forProvider.parent (or its reference or selector) is required unless spec.forProvider.type is root"
// +kubebuilder:validation:XValidation:rule="self.type != 'root' || (!has(self.parent) && !has(self.parentRef) && !has(self.parentSelector))",message="spec.forProvider.parent must not be set when spec.forProvider.type is root"
type CrushBucketParameters struct {
	// Type is the bucket's CRUSH type. It cannot change once the bucket exists.
	// +kubebuilder:validation:Enum=root;region;zone;datacenter;room;pod;pdu;row;rack;chassis;host
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.type is immutable"
	Type string `json:"type"`

	// Parent is the name of the bucket holding this one. Changing it moves the bucket, with
	// everything below it, under the new parent.
	// +crossplane:generate:reference:type=CrushBucket
	// +optional
	Parent *string `json:"parent,omitempty"`

	// ParentRef references the parent CrushBucket in the same namespace.
	// +optional
	ParentRef *xpv2.NamespacedReference `json:"parentRef,omitempty"`

	// ParentSelector selects the parent CrushBucket.
	// +optional
	ParentSelector *xpv2.NamespacedSelector `json:"parentSelector,omitempty"`
}

// CrushBucketObservation is the bucket as Ceph reports it.
type CrushBucketObservation struct {
	// ID is Ceph's (negative) bucket id.
	ID int32 `json:"id,omitempty"`
	// Type is the bucket's CRUSH type.
	Type string `json:"type,omitempty"`
	// Parents are the buckets holding this one (normally one; none for a root).
	Parents []string `json:"parents,omitempty"`
	// Items is the number of buckets and OSDs directly below this one.
	Items int32 `json:"items,omitempty"`
	// Weight is the bucket's CRUSH weight (sum of its OSDs' weights, in TiB by convention) as text.
	Weight string `json:"weight,omitempty"`
}

// CrushBucketSpec defines the desired state of a CrushBucket.
type CrushBucketSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              CrushBucketParameters `json:"forProvider"`
}

// CrushBucketStatus represents the observed state of a CrushBucket.
type CrushBucketStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 CrushBucketObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A CrushBucket is a node of the CRUSH hierarchy (root, datacenter, row, rack, host...). The
// external name is the bucket name. Ceph refuses to delete a bucket that still holds items.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="TYPE",type="string",JSONPath=".spec.forProvider.type"
// +kubebuilder:printcolumn:name="PARENT",type="string",JSONPath=".status.atProvider.parents[0]"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type CrushBucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CrushBucketSpec   `json:"spec"`
	Status CrushBucketStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CrushBucketList contains a list of CrushBuckets.
type CrushBucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CrushBucket `json:"items"`
}
