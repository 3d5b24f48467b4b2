package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// SubvolumeGroupParameters are the settings of a CephFS subvolume group. Unset optional fields are
// left to Ceph and are not corrected when they drift.
type SubvolumeGroupParameters struct {
	// Filesystem is the CephFS volume holding the group (a name `ceph fs volume ls` lists). It
	// cannot change once set.
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_.-]{1,100}$')",message="spec.forProvider.filesystem must be 1-100 letters, digits, '.', '_' or '-'"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.filesystem is immutable"
	Filesystem string `json:"filesystem"`

	// QuotaMiB is the group's size quota in MiB (2^20 bytes; Ceph's ceph.quota.max_bytes), shared by
	// its subvolumes. It can grow and shrink, but Ceph refuses to shrink it below what the group
	// already holds. No quota when unset.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.quotaMiB must be a positive number of MiB (leave it unset for no quota)"
	// +optional
	QuotaMiB *int64 `json:"quotaMiB,omitempty"`

	// Mode is the group directory's permission bits in octal, e.g. "755" or "2770". Ceph makes it
	// 755 when unset.
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-7]{3,4}$')",message="spec.forProvider.mode must be octal permission bits such as 755 or 2770"
	// +optional
	Mode *string `json:"mode,omitempty"`

	// UID owns the group directory (0 when unset).
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.uid must not be negative"
	// +optional
	UID *int64 `json:"uid,omitempty"`

	// GID is the group directory's group (0 when unset).
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.gid must not be negative"
	// +optional
	GID *int64 `json:"gid,omitempty"`

	// PoolLayout is the data pool new files in the group are written to (Ceph's pool layout). It
	// must be one of the filesystem's data pools (`ceph fs add_data_pool`); the filesystem's first
	// data pool when unset.
	// +crossplane:generate:reference:type=Pool
	// +optional
	PoolLayout *string `json:"poolLayout,omitempty"`

	// PoolLayoutRef references a Pool in the same namespace to set poolLayout.
	// +optional
	PoolLayoutRef *xpv2.NamespacedReference `json:"poolLayoutRef,omitempty"`

	// PoolLayoutSelector selects a Pool to set poolLayout.
	// +optional
	PoolLayoutSelector *xpv2.NamespacedSelector `json:"poolLayoutSelector,omitempty"`
}

// SubvolumeGroupObservation is the group as Ceph reports it (`fs subvolumegroup info`).
type SubvolumeGroupObservation struct {
	// Path is the group's directory from the filesystem's root, e.g. /volumes/tenant-a.
	Path string `json:"path,omitempty"`
	// QuotaBytes is the size quota; 0 means none.
	QuotaBytes int64 `json:"quotaBytes,omitempty"`
	// BytesUsed is what the group's subvolumes hold, as the MDS last propagated it.
	BytesUsed int64 `json:"bytesUsed,omitempty"`
	// Mode is the permission bits in octal.
	Mode string `json:"mode,omitempty"`
	// UID owns the directory.
	UID int64 `json:"uid,omitempty"`
	// GID is the directory's group.
	GID int64 `json:"gid,omitempty"`
	// DataPool is the pool layout.
	DataPool string `json:"dataPool,omitempty"`
}

// SubvolumeGroupSpec defines the desired state of a SubvolumeGroup.
type SubvolumeGroupSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              SubvolumeGroupParameters `json:"forProvider"`
}

// SubvolumeGroupStatus represents the observed state of a SubvolumeGroup.
type SubvolumeGroupStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 SubvolumeGroupObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A SubvolumeGroup is a CephFS subvolume group: a directory under /volumes that holds subvolumes
// and can set their quota, pool layout and ownership. The external name is the group name. Ceph
// refuses to delete a group while it holds subvolumes, and so does the provider, naming them.
// Its connection details hold path, filesystem and monitors.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 100",message="metadata.name (the group name) must be at most 100 characters"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="FILESYSTEM",type="string",JSONPath=".spec.forProvider.filesystem"
// +kubebuilder:printcolumn:name="PATH",type="string",JSONPath=".status.atProvider.path"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type SubvolumeGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SubvolumeGroupSpec   `json:"spec"`
	Status SubvolumeGroupStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SubvolumeGroupList contains a list of SubvolumeGroups.
type SubvolumeGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SubvolumeGroup `json:"items"`
}
