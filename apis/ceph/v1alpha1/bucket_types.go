package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// BucketParameters are the settings of an RGW bucket. Unset optional fields are left to Ceph and
// are not corrected when they drift.
// +kubebuilder:validation:XValidation:rule="has(self.owner) || has(self.ownerRef) || has(self.ownerSelector)",message="spec.forProvider.owner (or its reference or selector) is required"
// +kubebuilder:validation:XValidation:rule="!(has(self.objectLockEnabled) && self.objectLockEnabled) || (has(self.versioning) && self.versioning == 'Enabled')",message="spec.forProvider.versioning must be Enabled when spec.forProvider.objectLockEnabled is true"
// +kubebuilder:validation:XValidation:rule="!has(self.objectLock) || (has(self.objectLockEnabled) && self.objectLockEnabled)",message="spec.forProvider.objectLock needs spec.forProvider.objectLockEnabled: true (RGW turns object lock on only when it creates a bucket)"
// +kubebuilder:validation:XValidation:rule="has(self.objectLockEnabled) == has(oldSelf.objectLockEnabled) && (!has(self.objectLockEnabled) || self.objectLockEnabled == oldSelf.objectLockEnabled)",message="spec.forProvider.objectLockEnabled is immutable: S3 object lock can only be chosen when the bucket is created"
type BucketParameters struct {
	// Owner is the RGW uid of the user that owns the bucket; the bucket is created with that
	// user's keys. It cannot change once set.
	// +crossplane:generate:reference:type=ObjectStoreUser
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.owner is immutable"
	// +optional
	Owner *string `json:"owner,omitempty"`

	// OwnerRef references an ObjectStoreUser in the same namespace to set owner.
	// +optional
	OwnerRef *xpv2.NamespacedReference `json:"ownerRef,omitempty"`

	// OwnerSelector selects an ObjectStoreUser to set owner.
	// +optional
	OwnerSelector *xpv2.NamespacedSelector `json:"ownerSelector,omitempty"`

	// Versioning is the bucket's S3 versioning state: Enabled or Suspended (a bucket that was
	// never versioned cannot go back to unversioned).
	// +kubebuilder:validation:Enum=Enabled;Suspended
	// +optional
	Versioning *string `json:"versioning,omitempty"`

	// ObjectLockEnabled creates the bucket with S3 object lock (WORM retention; Ceph 16 supports
	// it, with versioning Enabled). It can only be chosen at creation.
	// +optional
	ObjectLockEnabled *bool `json:"objectLockEnabled,omitempty"`

	// ObjectLock is the object lock configuration of a bucket created with objectLockEnabled
	// (S3 PutObjectLockConfiguration). Unset, the bucket's configuration is left as it is.
	// +optional
	ObjectLock *BucketObjectLock `json:"objectLock,omitempty"`

	// Quota limits what the bucket holds (`radosgw-admin quota set --quota-scope=bucket`).
	// +optional
	Quota *ObjectStoreQuota `json:"quota,omitempty"`

	// LifecycleExpirationDays expires (deletes) every object this many days after its creation,
	// through one S3 lifecycle rule the provider owns (id "microcloud-expiration"), which replaces
	// the bucket's whole lifecycle configuration.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.lifecycleExpirationDays must be at least 1"
	// +optional
	LifecycleExpirationDays *int32 `json:"lifecycleExpirationDays,omitempty"`

	// AllowDeleteWithData lets the provider delete the bucket with the objects (and object
	// versions) in it. By default deleting the Bucket is refused (the resource stays, its
	// Deletable condition and a Warning event say why) while it holds any. To keep the bucket
	// when the resource goes, remove Delete from spec.managementPolicies instead.
	// +optional
	AllowDeleteWithData *bool `json:"allowDeleteWithData,omitempty"`
}

// BucketObjectLock is a bucket's S3 object lock configuration.
type BucketObjectLock struct {
	// DefaultRetention protects every object version put without a retention of its own from
	// being deleted or overwritten until the retention ends. Unset, the bucket has no default
	// retention (one set by hand is removed).
	// +optional
	DefaultRetention *BucketDefaultRetention `json:"defaultRetention,omitempty"`
}

// BucketDefaultRetention is an S3 default retention rule: a mode and a period in days or years.
// +kubebuilder:validation:XValidation:rule="has(self.days) != has(self.years)",message="spec.forProvider.objectLock.defaultRetention: set exactly one of days and years"
type BucketDefaultRetention struct {
	// Mode is GOVERNANCE (a user with the s3:BypassGovernanceRetention permission, e.g. the
	// bucket's owner, may still delete a version by saying so) or COMPLIANCE (nobody may delete
	// a version until its retention ends, and it cannot be shortened).
	// +kubebuilder:validation:Enum=GOVERNANCE;COMPLIANCE
	Mode string `json:"mode"`
	// Days is the retention period in days.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.objectLock.defaultRetention.days must be at least 1"
	// +optional
	Days *int32 `json:"days,omitempty"`
	// Years is the retention period in years.
	// +kubebuilder:validation:XValidation:rule="self >= 1",message="spec.forProvider.objectLock.defaultRetention.years must be at least 1"
	// +optional
	Years *int32 `json:"years,omitempty"`
}

// BucketObservation is the bucket as RGW reports it.
type BucketObservation struct {
	// Owner is the uid of the owning user.
	Owner string `json:"owner,omitempty"`
	// Versioning is Enabled, Suspended or empty (never versioned).
	Versioning string `json:"versioning,omitempty"`
	// ObjectLockEnabled says whether the bucket was created with object lock.
	ObjectLockEnabled bool `json:"objectLockEnabled,omitempty"`
	// DefaultRetention is the bucket's default object lock retention, if any.
	DefaultRetention *BucketDefaultRetention `json:"defaultRetention,omitempty"`
	// Quota is the bucket quota.
	Quota ObjectStoreQuotaObservation `json:"quota,omitempty"`
	// LifecycleExpirationDays is the expiration of the provider's lifecycle rule, 0 if none.
	LifecycleExpirationDays int32 `json:"lifecycleExpirationDays,omitempty"`
	// Objects is how many objects the bucket holds (RGW's bucket stats).
	Objects int64 `json:"objects,omitempty"`
	// SizeBytes is what the objects hold.
	SizeBytes int64 `json:"sizeBytes,omitempty"`
}

// BucketSpec defines the desired state of a Bucket.
type BucketSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              BucketParameters `json:"forProvider"`
}

// BucketStatus represents the observed state of a Bucket.
type BucketStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 BucketObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Bucket is an S3 bucket in the RADOS Gateway, owned by an ObjectStoreUser. The external name
// is the bucket name, which must be DNS-compatible. Its connection details hold bucket and
// endpoint.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$') && !self.metadata.name.matches('^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$')",message="metadata.name (the bucket name) must be DNS-compatible: 3-63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit, not an IP address"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="OWNER",type="string",JSONPath=".spec.forProvider.owner"
// +kubebuilder:printcolumn:name="OBJECTS",type="integer",JSONPath=".status.atProvider.objects"
// +kubebuilder:printcolumn:name="VERSIONING",type="string",JSONPath=".status.atProvider.versioning",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BucketSpec   `json:"spec"`
	Status BucketStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// BucketList contains a list of Buckets.
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bucket `json:"items"`
}
