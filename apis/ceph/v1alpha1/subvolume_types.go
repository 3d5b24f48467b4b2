package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// SubvolumeParameters are the settings of a CephFS subvolume. Unset optional fields are left to
// Ceph and are not corrected when they drift.
type SubvolumeParameters struct {
	// Filesystem is the CephFS volume holding the subvolume (a name `ceph fs volume ls` lists). It
	// cannot change once set.
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_.-]{1,100}$')",message="spec.forProvider.filesystem must be 1-100 letters, digits, '.', '_' or '-'"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.filesystem is immutable"
	Filesystem string `json:"filesystem"`

	// Group is the subvolume group holding the subvolume; Ceph's default group (_nogroup) when
	// unset. It cannot change once set.
	// +crossplane:generate:reference:type=SubvolumeGroup
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_.-]{1,100}$')",message="spec.forProvider.group must be 1-100 letters, digits, '.', '_' or '-'"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.group is immutable"
	// +optional
	Group *string `json:"group,omitempty"`

	// GroupRef references a SubvolumeGroup in the same namespace to set group.
	// +optional
	GroupRef *xpv2.NamespacedReference `json:"groupRef,omitempty"`

	// GroupSelector selects a SubvolumeGroup to set group.
	// +optional
	GroupSelector *xpv2.NamespacedSelector `json:"groupSelector,omitempty"`

	// QuotaMiB is the subvolume's size quota in MiB (2^20 bytes; Ceph's ceph.quota.max_bytes):
	// writes beyond it fail with EDQUOT. It can grow and shrink, but Ceph refuses to shrink it below
	// what the subvolume already holds. No quota when unset.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.quotaMiB must be a positive number of MiB (leave it unset for no quota)"
	// +optional
	QuotaMiB *int64 `json:"quotaMiB,omitempty"`

	// Mode is the subvolume directory's permission bits in octal, e.g. "755" or "2770". Ceph makes
	// it 755 when unset.
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-7]{3,4}$')",message="spec.forProvider.mode must be octal permission bits such as 755 or 2770"
	// +optional
	Mode *string `json:"mode,omitempty"`

	// UID owns the subvolume directory (the group's owner when unset).
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.uid must not be negative"
	// +optional
	UID *int64 `json:"uid,omitempty"`

	// GID is the subvolume directory's group (the group's when unset).
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.gid must not be negative"
	// +optional
	GID *int64 `json:"gid,omitempty"`

	// PoolLayout is the data pool new files are written to (Ceph's pool layout). It must be one of
	// the filesystem's data pools (`ceph fs add_data_pool`); the group's when unset.
	// +crossplane:generate:reference:type=Pool
	// +optional
	PoolLayout *string `json:"poolLayout,omitempty"`

	// PoolLayoutRef references a Pool in the same namespace to set poolLayout.
	// +optional
	PoolLayoutRef *xpv2.NamespacedReference `json:"poolLayoutRef,omitempty"`

	// PoolLayoutSelector selects a Pool to set poolLayout.
	// +optional
	PoolLayoutSelector *xpv2.NamespacedSelector `json:"poolLayoutSelector,omitempty"`

	// NamespaceIsolated stores the subvolume's files in a RADOS namespace of their own
	// (fsvolumens_<name>), so a cephx key limited to that namespace reaches no other subvolume's
	// objects. It cannot change once the subvolume exists.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.namespaceIsolated is immutable"
	// +optional
	NamespaceIsolated *bool `json:"namespaceIsolated,omitempty"`

	// AllowDeleteWithData lets the provider delete the subvolume although it holds files,
	// directories or snapshots (snapshots are removed first). By default deleting the Subvolume is
	// refused (the resource stays, its Deletable condition and a Warning event say why) while
	// anything is in it. To keep the subvolume when the resource goes, remove Delete from
	// spec.managementPolicies instead.
	// +optional
	AllowDeleteWithData *bool `json:"allowDeleteWithData,omitempty"`
}

// SubvolumeObservation is the subvolume as Ceph reports it (`fs subvolume info`).
type SubvolumeObservation struct {
	// Path is the directory a client mounts, from the filesystem's root
	// (/volumes/<group>/<name>/<uuid>).
	Path string `json:"path,omitempty"`
	// QuotaBytes is the size quota; 0 means none.
	QuotaBytes int64 `json:"quotaBytes,omitempty"`
	// BytesUsed is what the subvolume holds, as the MDS last propagated it.
	BytesUsed int64 `json:"bytesUsed,omitempty"`
	// Mode is the permission bits in octal.
	Mode string `json:"mode,omitempty"`
	// UID owns the directory.
	UID int64 `json:"uid,omitempty"`
	// GID is the directory's group.
	GID int64 `json:"gid,omitempty"`
	// DataPool is the pool layout.
	DataPool string `json:"dataPool,omitempty"`
	// PoolNamespace is the RADOS namespace of an isolated subvolume.
	PoolNamespace string `json:"poolNamespace,omitempty"`
	// State is Ceph's state of the subvolume, "complete" once usable.
	State string `json:"state,omitempty"`
}

// SubvolumeSpec defines the desired state of a Subvolume.
type SubvolumeSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              SubvolumeParameters `json:"forProvider"`
}

// SubvolumeStatus represents the observed state of a Subvolume.
type SubvolumeStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 SubvolumeObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Subvolume is a CephFS subvolume: a directory with its own quota, mode, pool layout and
// optionally its own RADOS namespace, which a workload mounts. The external name is the subvolume
// name. Its connection details hold path (what to mount), filesystem, monitors and group.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 100",message="metadata.name (the subvolume name) must be at most 100 characters"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="QUOTA-MIB",type="integer",JSONPath=".spec.forProvider.quotaMiB"
// +kubebuilder:printcolumn:name="PATH",type="string",JSONPath=".status.atProvider.path",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type Subvolume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SubvolumeSpec   `json:"spec"`
	Status SubvolumeStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SubvolumeList contains a list of Subvolumes.
type SubvolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Subvolume `json:"items"`
}
