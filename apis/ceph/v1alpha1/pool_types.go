package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// PoolParameters are the settings of a Ceph pool. Unset optional fields are left to Ceph and are
// not corrected when they drift.
// +kubebuilder:validation:XValidation:rule="!has(self.size) || !has(self.minSize) || self.minSize <= self.size",message="spec.forProvider.minSize must be less than or equal to spec.forProvider.size"
// +kubebuilder:validation:XValidation:rule="self.type != 'erasure' || !has(self.size)",message="spec.forProvider.size must not be set for an erasure-coded pool: its size is k+m of the profile"
// +kubebuilder:validation:XValidation:rule="self.type != 'erasure' || has(self.erasureCodeProfile) || has(self.erasureCodeProfileRef) || has(self.erasureCodeProfileSelector)",message="spec.forProvider.erasureCodeProfile (or its reference or selector) is required when spec.forProvider.type is erasure"
// +kubebuilder:validation:XValidation:rule="self.type == 'erasure' || (!has(self.erasureCodeProfile) && !has(self.erasureCodeProfileRef) && !has(self.erasureCodeProfileSelector))",message="spec.forProvider.erasureCodeProfile is only allowed when spec.forProvider.type is erasure"
type PoolParameters struct {
	// Type is replicated (copies of every object) or erasure (data and coding chunks from an
	// erasure-code profile). It cannot change once the pool exists.
	// +kubebuilder:validation:Enum=replicated;erasure
	// +kubebuilder:default=replicated
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.type is immutable"
	// +optional
	Type string `json:"type,omitempty"`

	// Size is the number of copies of each object (replicated pools only, Ceph's `size`).
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 10",message="spec.forProvider.size must be between 1 and 10"
	// +optional
	Size *int32 `json:"size,omitempty"`

	// MinSize is the number of copies that must be available for I/O to proceed (Ceph's `min_size`).
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.minSize must be at least 1"
	// +optional
	MinSize *int32 `json:"minSize,omitempty"`

	// PGNum is the number of placement groups (Ceph's `pg_num`), a power of two. With
	// autoscaleMode "on" it is only the starting value and the autoscaler owns it afterwards.
	// +kubebuilder:validation:XValidation:rule="self in [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]",message="spec.forProvider.pgNum must be a power of two between 1 and 65536"
	// +optional
	PGNum *int32 `json:"pgNum,omitempty"`

	// AutoscaleMode is the PG autoscaler mode for the pool (Ceph's `pg_autoscale_mode`).
	// +kubebuilder:validation:Enum=on;off;warn
	// +optional
	AutoscaleMode *string `json:"autoscaleMode,omitempty"`

	// TargetSizeRatio tells the autoscaler the share of the cluster this pool is expected to use,
	// as a decimal number such as "0.2" (Ceph's `target_size_ratio`).
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	// +optional
	TargetSizeRatio *string `json:"targetSizeRatio,omitempty"`

	// CrushRule is the name of the CRUSH rule placing the pool's data. Ceph's default rule (or, for
	// an erasure-coded pool, a rule made from the profile) when unset.
	// +crossplane:generate:reference:type=CrushRule
	// +optional
	CrushRule *string `json:"crushRule,omitempty"`

	// CrushRuleRef references a CrushRule in the same namespace to set crushRule.
	// +optional
	CrushRuleRef *xpv2.NamespacedReference `json:"crushRuleRef,omitempty"`

	// CrushRuleSelector selects a CrushRule to set crushRule.
	// +optional
	CrushRuleSelector *xpv2.NamespacedSelector `json:"crushRuleSelector,omitempty"`

	// ErasureCodeProfile is the name of the erasure-code profile of an erasure-coded pool.
	// It cannot change once the pool exists.
	// +crossplane:generate:reference:type=ErasureCodeProfile
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.erasureCodeProfile is immutable"
	// +optional
	ErasureCodeProfile *string `json:"erasureCodeProfile,omitempty"`

	// ErasureCodeProfileRef references an ErasureCodeProfile in the same namespace.
	// +optional
	ErasureCodeProfileRef *xpv2.NamespacedReference `json:"erasureCodeProfileRef,omitempty"`

	// ErasureCodeProfileSelector selects an ErasureCodeProfile.
	// +optional
	ErasureCodeProfileSelector *xpv2.NamespacedSelector `json:"erasureCodeProfileSelector,omitempty"`

	// Application tags the pool for its user: rbd (block images), cephfs or rgw (object gateway).
	// +kubebuilder:validation:Enum=rbd;cephfs;rgw
	// +optional
	Application *string `json:"application,omitempty"`

	// QuotaMaxBytes caps the pool's stored bytes; 0 removes the quota.
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.quotaMaxBytes must not be negative"
	// +optional
	QuotaMaxBytes *int64 `json:"quotaMaxBytes,omitempty"`

	// QuotaMaxObjects caps the pool's object count; 0 removes the quota.
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.quotaMaxObjects must not be negative"
	// +optional
	QuotaMaxObjects *int64 `json:"quotaMaxObjects,omitempty"`

	// CompressionMode is BlueStore inline compression for the pool (Ceph's `compression_mode`).
	// +kubebuilder:validation:Enum=none;passive;aggressive;force
	// +optional
	CompressionMode *string `json:"compressionMode,omitempty"`

	// AllowECOverwrites lets RBD and CephFS write partial stripes into an erasure-coded pool
	// (Ceph's `allow_ec_overwrites`; cannot be switched off once on).
	// +optional
	AllowECOverwrites *bool `json:"allowECOverwrites,omitempty"`

	// AllowDeleteWithData lets the provider delete the pool although it still holds data. By
	// default deleting the Pool is refused (the resource stays, its Deletable condition and a
	// Warning event say why) while the pool holds any RBD image, managed or not, any RADOS object
	// other than librbd's bookkeeping, or while an RBDImage of the same site names it as its pool
	// or data pool. Set it to true only to destroy the data with the pool; to keep the pool when
	// the resource goes, remove Delete from spec.managementPolicies instead.
	// +optional
	AllowDeleteWithData *bool `json:"allowDeleteWithData,omitempty"`
}

// PoolObservation is the pool as Ceph reports it.
type PoolObservation struct {
	// ID is Ceph's pool id.
	ID int64 `json:"id,omitempty"`
	// Type is replicated or erasure.
	Type string `json:"type,omitempty"`
	// Size is the number of copies (k+m for erasure-coded pools).
	Size int32 `json:"size,omitempty"`
	// MinSize is Ceph's min_size.
	MinSize int32 `json:"minSize,omitempty"`
	// PGNum is the current number of placement groups; it moves towards PGNumTarget over time.
	PGNum int32 `json:"pgNum,omitempty"`
	// PGNumTarget is the number of placement groups Ceph is working towards.
	PGNumTarget int32 `json:"pgNumTarget,omitempty"`
	// AutoscaleMode is the PG autoscaler mode.
	AutoscaleMode string `json:"autoscaleMode,omitempty"`
	// CrushRule is the name of the pool's CRUSH rule.
	CrushRule string `json:"crushRule,omitempty"`
	// ErasureCodeProfile is the profile of an erasure-coded pool.
	ErasureCodeProfile string `json:"erasureCodeProfile,omitempty"`
	// Applications are the enabled applications.
	Applications []string `json:"applications,omitempty"`
	// QuotaMaxBytes is the byte quota, 0 when none.
	QuotaMaxBytes int64 `json:"quotaMaxBytes,omitempty"`
	// QuotaMaxObjects is the object quota, 0 when none.
	QuotaMaxObjects int64 `json:"quotaMaxObjects,omitempty"`
	// CompressionMode is the pool's compression mode, empty when the cluster default applies.
	CompressionMode string `json:"compressionMode,omitempty"`
	// TargetSizeRatio is the autoscaler hint, empty when unset.
	TargetSizeRatio string `json:"targetSizeRatio,omitempty"`
	// Flags are Ceph's pool flags, e.g. hashpspool,full_quota.
	Flags string `json:"flags,omitempty"`
	// PlaceableCopies is how many distinct failure domains the pool's CRUSH rule finds, i.e. the
	// most copies Ceph can place apart; below size the pool's PGs stay undersized.
	PlaceableCopies int32 `json:"placeableCopies,omitempty"`
	// PGStates summarises the states of the pool's placement groups as Ceph reports them,
	// e.g. "8 active+undersized".
	PGStates string `json:"pgStates,omitempty"`
}

// PoolSpec defines the desired state of a Pool.
type PoolSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              PoolParameters `json:"forProvider"`
}

// PoolStatus represents the observed state of a Pool.
type PoolStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 PoolObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Pool is a Ceph RADOS pool, replicated or erasure-coded. The external name is the pool name
// (metadata.name unless crossplane.io/external-name says otherwise).
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="TYPE",type="string",JSONPath=".status.atProvider.type"
// +kubebuilder:printcolumn:name="SIZE",type="integer",JSONPath=".status.atProvider.size"
// +kubebuilder:printcolumn:name="PGS",type="integer",JSONPath=".status.atProvider.pgNum"
// +kubebuilder:printcolumn:name="RULE",type="string",JSONPath=".status.atProvider.crushRule",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type Pool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PoolSpec   `json:"spec"`
	Status PoolStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PoolList contains a list of Pools.
type PoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Pool `json:"items"`
}
