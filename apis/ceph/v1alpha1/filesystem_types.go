package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// FilesystemParameters are the settings of a CephFS volume. Unset optional fields are left to
// Ceph and are not corrected when they drift.
type FilesystemParameters struct {
	// MetadataCrushRule is the CRUSH rule of the volume's metadata pool (cephfs.<name>.meta), e.g.
	// one whose failure domain is host or rack. Changing it moves the pool's data. Ceph's default
	// rule when unset.
	// +crossplane:generate:reference:type=CrushRule
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	// +kubebuilder:validation:MaxLength=100
	// +optional
	MetadataCrushRule *string `json:"metadataCrushRule,omitempty"`

	// MetadataCrushRuleRef references a CrushRule in the same namespace to set metadataCrushRule.
	// +optional
	MetadataCrushRuleRef *xpv2.NamespacedReference `json:"metadataCrushRuleRef,omitempty"`

	// MetadataCrushRuleSelector selects a CrushRule to set metadataCrushRule.
	// +optional
	MetadataCrushRuleSelector *xpv2.NamespacedSelector `json:"metadataCrushRuleSelector,omitempty"`

	// DataCrushRule is the CRUSH rule of the volume's default data pool (cephfs.<name>.data).
	// Changing it moves the pool's data. Ceph's default rule when unset.
	// +crossplane:generate:reference:type=CrushRule
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	// +kubebuilder:validation:MaxLength=100
	// +optional
	DataCrushRule *string `json:"dataCrushRule,omitempty"`

	// DataCrushRuleRef references a CrushRule in the same namespace to set dataCrushRule.
	// +optional
	DataCrushRuleRef *xpv2.NamespacedReference `json:"dataCrushRuleRef,omitempty"`

	// DataCrushRuleSelector selects a CrushRule to set dataCrushRule.
	// +optional
	DataCrushRuleSelector *xpv2.NamespacedSelector `json:"dataCrushRuleSelector,omitempty"`
}

// FilesystemObservation is the volume as Ceph reports it (`fs ls`, `fs dump`).
type FilesystemObservation struct {
	// ID is the filesystem's id in the FSMap.
	ID int64 `json:"id,omitempty"`
	// MetadataPool is the metadata pool.
	MetadataPool string `json:"metadataPool,omitempty"`
	// DataPools are the data pools, the default one first.
	DataPools []string `json:"dataPools,omitempty"`
	// MetadataCrushRule and DataCrushRule are the CRUSH rules of the metadata and default data pool.
	MetadataCrushRule string `json:"metadataCrushRule,omitempty"`
	DataCrushRule     string `json:"dataCrushRule,omitempty"`
	// ActiveMDS are the MDS daemons active for the filesystem (up:active), by name.
	ActiveMDS []string `json:"activeMDS,omitempty"`
	// StandbyMDS is how many standby MDS daemons the cluster has (any filesystem may take them).
	StandbyMDS int `json:"standbyMDS,omitempty"`
}

// FilesystemSpec defines the desired state of a Filesystem.
type FilesystemSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              FilesystemParameters `json:"forProvider"`
}

// FilesystemStatus represents the observed state of a Filesystem.
type FilesystemStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 FilesystemObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Filesystem is a CephFS volume (`ceph fs volume create`: a filesystem with the pools
// cephfs.<name>.meta and cephfs.<name>.data). The external name is the volume name. It is Ready
// once an MDS daemon is active for it. Deleting it is refused while it holds subvolume groups,
// subvolumes or file data; deleting it removes its pools, so Ceph must allow pool deletion.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 100",message="metadata.name (the filesystem name) must be at most 100 characters"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="MDS",type="string",JSONPath=".status.atProvider.activeMDS",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type Filesystem struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FilesystemSpec   `json:"spec"`
	Status FilesystemStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FilesystemList contains a list of Filesystems.
type FilesystemList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Filesystem `json:"items"`
}
