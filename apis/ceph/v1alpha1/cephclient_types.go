package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// CephClientGrant is one thing the client may reach: a pool (pool, poolRef or poolSelector) or a
// CephFS subvolume (subvolumeRef), never both.
// +kubebuilder:validation:XValidation:rule="(has(self.pool) || has(self.poolRef) || has(self.poolSelector) ? 1 : 0) + (has(self.subvolumeRef) ? 1 : 0) == 1",message="each of spec.forProvider.grants must name exactly one target: a pool (pool, poolRef or poolSelector) or a subvolume (subvolumeRef)"
// +kubebuilder:validation:XValidation:rule="!has(self.subvolumeRef) || (!has(self.profile) && !has(self.namespace))",message="spec.forProvider.grants[].profile and namespace apply to pool grants only"
type CephClientGrant struct {
	// Pool is a RADOS pool the client may read (readOnly) or read and write.
	// +crossplane:generate:reference:type=Pool
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	// +kubebuilder:validation:MaxLength=100
	// +optional
	Pool *string `json:"pool,omitempty"`

	// PoolRef references a Pool in the same namespace to set pool.
	// +optional
	PoolRef *xpv2.NamespacedReference `json:"poolRef,omitempty"`

	// PoolSelector selects a Pool to set pool.
	// +optional
	PoolSelector *xpv2.NamespacedSelector `json:"poolSelector,omitempty"`

	// Profile is a Ceph cap profile for the pool: "rbd" grants what an RBD client needs
	// (`profile rbd pool=<pool>`, `profile rbd-read-only` when readOnly, and mon `profile rbd`).
	// Plain RADOS access (`allow rw pool=<pool>`) when unset.
	// +kubebuilder:validation:Enum=rbd
	// +optional
	Profile *string `json:"profile,omitempty"`

	// Namespace limits a pool grant to one RADOS namespace of the pool.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	// +kubebuilder:validation:MaxLength=100
	// +optional
	Namespace *string `json:"namespace,omitempty"`

	// SubvolumeRef names a Subvolume in the same namespace: the client may mount its path only
	// (caps as `ceph fs authorize <filesystem> client.<name> <path> rw` makes them: mds `allow rw
	// fsname=<fs> path=<path>`, mon `allow r fsname=<fs>`, osd `allow rw tag cephfs data=<fs>`).
	// The grant waits until the Subvolume reports its path.
	// +optional
	SubvolumeRef *SubvolumeReference `json:"subvolumeRef,omitempty"`

	// ReadOnly grants read access only (`allow r`, `profile rbd-read-only`).
	// +optional
	ReadOnly *bool `json:"readOnly,omitempty"`
}

// SubvolumeReference names a Subvolume in the CephClient's namespace.
type SubvolumeReference struct {
	// Name of the Subvolume.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// CephClientParameters are the grants of a cephx client. The caps Ceph holds for it are exactly
// the ones built from the grants: caps changed by hand are set back.
type CephClientParameters struct {
	// Grants are what the client may reach; at least one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Grants []CephClientGrant `json:"grants"`
}

// CephClientObservation is the client as Ceph reports it (`auth get`). The key is never shown
// here: it is only in the connection Secret.
type CephClientObservation struct {
	// Entity is the client's cephx name, client.<name>.
	Entity string `json:"entity,omitempty"`
	// Caps are the client's caps per service (mon, osd, mds, mgr).
	Caps map[string]string `json:"caps,omitempty"`
}

// CephClientSpec defines the desired state of a CephClient.
type CephClientSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              CephClientParameters `json:"forProvider"`
}

// CephClientStatus represents the observed state of a CephClient.
type CephClientStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 CephClientObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A CephClient is a cephx client (client.<name>) whose caps are built from grants on pools and
// CephFS subvolumes. The external name is the client id without the "client." prefix (what
// --id, rados.NewConnWithUser and libcephfs take). Its connection details hold key, clientName,
// entity, monitors and keyring (a keyring file for client.<name>).
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 100",message="metadata.name (the client id) must be at most 100 characters"
// +kubebuilder:validation:XValidation:rule="!self.metadata.name.startsWith('client.')",message="metadata.name is the client id without the 'client.' prefix (client.<name> is made from it)"
// +kubebuilder:validation:XValidation:rule="self.metadata.name != 'admin'",message="metadata.name must not be admin: client.admin is not managed by a CephClient"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="ENTITY",type="string",JSONPath=".status.atProvider.entity",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,ceph}
type CephClient struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CephClientSpec   `json:"spec"`
	Status CephClientStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CephClientList contains a list of CephClients.
type CephClientList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CephClient `json:"items"`
}
