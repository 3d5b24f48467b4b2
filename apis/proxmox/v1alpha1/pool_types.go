package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// PoolParameters are the settings of a Proxmox VE resource pool. Members are
// not managed here: VMs join a pool through spec.forProvider.pool when they
// are created, and the pool reports its members in status.
type PoolParameters struct {
	// Comment is the pool's description in Proxmox. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`
}

// PoolObservation is the pool as Proxmox reports it.
type PoolObservation struct {
	// Comment is the pool's description in Proxmox.
	Comment string `json:"comment,omitempty"`
	// VMIDs are the guests (VMs and containers) in the pool.
	VMIDs []int64 `json:"vmids,omitempty"`
	// Storages are the storage ids in the pool.
	Storages []string `json:"storages,omitempty"`
	// MemberCount is the number of guests and storages in the pool.
	MemberCount int `json:"memberCount,omitempty"`
}

// A PoolSpec defines the desired state of a Pool.
type PoolSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              PoolParameters `json:"forProvider"`
}

// A PoolStatus represents the observed state of a Pool.
type PoolStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 PoolObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Pool is a Proxmox VE resource pool (/pools): a named set of guests and
// storages that permissions are granted on, which separates tenants. The
// external name is the pool id (metadata.name unless the
// crossplane.io/external-name annotation says otherwise). A pool that still
// holds guests or storages cannot be deleted; PVE's refusal shows in the
// Synced condition.
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z][a-z0-9.-]*$')",message="metadata.name is the Proxmox pool id: a letter first, then letters, digits, '.' or '-' (PVE's pve-poolid); import a pool of another name with the crossplane.io/external-name annotation"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="MEMBERS",type="integer",JSONPath=".status.atProvider.memberCount"
// +kubebuilder:printcolumn:name="COMMENT",type="string",JSONPath=".status.atProvider.comment",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvepool
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
