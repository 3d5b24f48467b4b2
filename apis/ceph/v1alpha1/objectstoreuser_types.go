package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ObjectStoreQuota is an RGW quota (`radosgw-admin quota set`), of a user (all its buckets
// together) or of one bucket. Unset limits are left as Ceph has them.
type ObjectStoreQuota struct {
	// Enabled turns the quota on (true, the default) or off; a disabled quota keeps its limits
	// but RGW does not enforce them.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// MaxSizeMiB limits the bytes stored, in MiB (2^20 bytes); 0 means no limit.
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.quota.maxSizeMiB must not be negative (0 means no limit)"
	// +optional
	MaxSizeMiB *int64 `json:"maxSizeMiB,omitempty"`

	// MaxObjects limits the number of objects; 0 means no limit.
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.quota.maxObjects must not be negative (0 means no limit)"
	// +optional
	MaxObjects *int64 `json:"maxObjects,omitempty"`
}

// ObjectStoreQuotaObservation is a quota as RGW reports it; -1 or 0 mean no limit.
type ObjectStoreQuotaObservation struct {
	// Enabled says whether RGW enforces the quota.
	Enabled bool `json:"enabled"`
	// MaxSizeBytes is the size limit in bytes.
	MaxSizeBytes int64 `json:"maxSizeBytes"`
	// MaxObjects is the object limit.
	MaxObjects int64 `json:"maxObjects"`
}

// ObjectStoreUserParameters are the settings of an RGW user. Unset optional fields are left to
// Ceph and are not corrected when they drift.
type ObjectStoreUserParameters struct {
	// DisplayName is the user's display name (RGW requires one).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName"`

	// Email is the user's e-mail address; RGW refuses one another user already has.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Email *string `json:"email,omitempty"`

	// MaxBuckets is how many buckets the user may own; 0 means no limit (Ceph 16). RGW's default
	// is 1000.
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.maxBuckets must not be negative (0 means no limit)"
	// +optional
	MaxBuckets *int64 `json:"maxBuckets,omitempty"`

	// Quota limits what all the user's buckets hold together.
	// +optional
	Quota *ObjectStoreQuota `json:"quota,omitempty"`

	// KeyGeneration rotates the user's S3 key: raise it and the provider makes a new key, writes it
	// to the connection Secret and removes every older key of the user.
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.keyGeneration must not be negative"
	// +optional
	KeyGeneration int64 `json:"keyGeneration,omitempty"`

	// AllowDeleteWithData lets the provider delete the user together with the buckets it owns and
	// their objects (RGW's purge-data). By default deleting the ObjectStoreUser is refused (the
	// resource stays, its Deletable condition and a Warning event say why) while the user owns
	// buckets. To keep the user when the resource goes, remove Delete from
	// spec.managementPolicies instead.
	// +optional
	AllowDeleteWithData *bool `json:"allowDeleteWithData,omitempty"`
}

// ObjectStoreUserObservation is the user as RGW reports it (`radosgw-admin user info`); its keys
// are only in the connection Secret.
type ObjectStoreUserObservation struct {
	// UserID is RGW's uid.
	UserID string `json:"userID,omitempty"`
	// DisplayName is the user's display name.
	DisplayName string `json:"displayName,omitempty"`
	// Email is the user's e-mail address.
	Email string `json:"email,omitempty"`
	// MaxBuckets is how many buckets the user may own (0: no limit).
	MaxBuckets int64 `json:"maxBuckets,omitempty"`
	// Suspended says whether RGW refuses the user's requests.
	Suspended bool `json:"suspended,omitempty"`
	// Quota is the user quota.
	Quota ObjectStoreQuotaObservation `json:"quota,omitempty"`
	// Keys is how many S3 keys the user has.
	Keys int `json:"keys,omitempty"`
	// KeyGeneration is the spec.forProvider.keyGeneration the connection Secret's key was made for.
	KeyGeneration int64 `json:"keyGeneration,omitempty"`
	// AccessKeyID names the S3 key the connection Secret holds (an access key ID is not a secret).
	AccessKeyID string `json:"accessKeyID,omitempty"`
	// RetiringAccessKeyIDs are the keys a rotation replaced and has not removed from RGW yet.
	RetiringAccessKeyIDs []string `json:"retiringAccessKeyIDs,omitempty"`
}

// ObjectStoreUserSpec defines the desired state of an ObjectStoreUser.
type ObjectStoreUserSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ObjectStoreUserParameters `json:"forProvider"`
}

// ObjectStoreUserStatus represents the observed state of an ObjectStoreUser.
type ObjectStoreUserStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 ObjectStoreUserObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// An ObjectStoreUser is a RADOS Gateway (S3) user with its display name, bucket limit and quota.
// The external name is the RGW uid. Its connection details hold accessKey, secretKey and endpoint
// (the gateway's URL); raise spec.forProvider.keyGeneration to rotate the key.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 100",message="metadata.name (the RGW uid) must be at most 100 characters"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="MAX-BUCKETS",type="integer",JSONPath=".status.atProvider.maxBuckets"
// +kubebuilder:printcolumn:name="KEY-GEN",type="integer",JSONPath=".status.atProvider.keyGeneration",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type ObjectStoreUser struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ObjectStoreUserSpec   `json:"spec"`
	Status ObjectStoreUserStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ObjectStoreUserList contains a list of ObjectStoreUsers.
type ObjectStoreUserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ObjectStoreUser `json:"items"`
}
