package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ProviderConfigSpec configures one site for managed resources in the
// ProviderConfig's namespace.
// +kubebuilder:validation:XValidation:rule="has(self.proxmox) || has(self.ceph)",message="spec must set spec.proxmox, spec.ceph or both"
// +kubebuilder:validation:XValidation:rule="!(has(self.proxmox)) || !has(self.proxmox.tokenSecretRef.namespace)",message="spec.proxmox.tokenSecretRef.namespace must not be set in a namespaced ProviderConfig: the object is read from the ProviderConfig's own namespace"
// +kubebuilder:validation:XValidation:rule="!(has(self.proxmox) && has(self.proxmox.caBundle) && has(self.proxmox.caBundle.secretKeyRef)) || !has(self.proxmox.caBundle.secretKeyRef.namespace)",message="spec.proxmox.caBundle.secretKeyRef.namespace must not be set in a namespaced ProviderConfig: the object is read from the ProviderConfig's own namespace"
// +kubebuilder:validation:XValidation:rule="!(has(self.proxmox) && has(self.proxmox.caBundle) && has(self.proxmox.caBundle.configMapKeyRef)) || !has(self.proxmox.caBundle.configMapKeyRef.namespace)",message="spec.proxmox.caBundle.configMapKeyRef.namespace must not be set in a namespaced ProviderConfig: the object is read from the ProviderConfig's own namespace"
// +kubebuilder:validation:XValidation:rule="!(has(self.ceph)) || !has(self.ceph.keyringSecretRef.namespace)",message="spec.ceph.keyringSecretRef.namespace must not be set in a namespaced ProviderConfig: the object is read from the ProviderConfig's own namespace"
// +kubebuilder:validation:XValidation:rule="!(has(self.ceph) && has(self.ceph.objectStore)) || (!has(self.ceph.objectStore.accessKeySecretRef.namespace) && !has(self.ceph.objectStore.secretKeySecretRef.namespace))",message="spec.ceph.objectStore.accessKeySecretRef.namespace and spec.ceph.objectStore.secretKeySecretRef.namespace must not be set in a namespaced ProviderConfig: the objects are read from the ProviderConfig's own namespace"
// +kubebuilder:validation:XValidation:rule="!(has(self.ceph) && has(self.ceph.objectStore) && has(self.ceph.objectStore.caBundle)) || (!(has(self.ceph.objectStore.caBundle.secretKeyRef) && has(self.ceph.objectStore.caBundle.secretKeyRef.namespace)) && !(has(self.ceph.objectStore.caBundle.configMapKeyRef) && has(self.ceph.objectStore.caBundle.configMapKeyRef.namespace)))",message="spec.ceph.objectStore.caBundle namespaces must not be set in a namespaced ProviderConfig: the object is read from the ProviderConfig's own namespace"
type ProviderConfigSpec struct {
	SiteSpec `json:",inline"`
}

// ClusterProviderConfigSpec configures one site for managed resources in any
// namespace.
// +kubebuilder:validation:XValidation:rule="has(self.proxmox) || has(self.ceph)",message="spec must set spec.proxmox, spec.ceph or both"
// +kubebuilder:validation:XValidation:rule="!(has(self.proxmox)) || (has(self.proxmox.tokenSecretRef.namespace) && size(self.proxmox.tokenSecretRef.namespace) > 0)",message="spec.proxmox.tokenSecretRef.namespace is required in a ClusterProviderConfig"
// +kubebuilder:validation:XValidation:rule="!(has(self.proxmox) && has(self.proxmox.caBundle) && has(self.proxmox.caBundle.secretKeyRef)) || (has(self.proxmox.caBundle.secretKeyRef.namespace) && size(self.proxmox.caBundle.secretKeyRef.namespace) > 0)",message="spec.proxmox.caBundle.secretKeyRef.namespace is required in a ClusterProviderConfig"
// +kubebuilder:validation:XValidation:rule="!(has(self.proxmox) && has(self.proxmox.caBundle) && has(self.proxmox.caBundle.configMapKeyRef)) || (has(self.proxmox.caBundle.configMapKeyRef.namespace) && size(self.proxmox.caBundle.configMapKeyRef.namespace) > 0)",message="spec.proxmox.caBundle.configMapKeyRef.namespace is required in a ClusterProviderConfig"
// +kubebuilder:validation:XValidation:rule="!(has(self.ceph)) || (has(self.ceph.keyringSecretRef.namespace) && size(self.ceph.keyringSecretRef.namespace) > 0)",message="spec.ceph.keyringSecretRef.namespace is required in a ClusterProviderConfig"
// +kubebuilder:validation:XValidation:rule="!(has(self.ceph) && has(self.ceph.objectStore)) || (has(self.ceph.objectStore.accessKeySecretRef.namespace) && size(self.ceph.objectStore.accessKeySecretRef.namespace) > 0 && has(self.ceph.objectStore.secretKeySecretRef.namespace) && size(self.ceph.objectStore.secretKeySecretRef.namespace) > 0)",message="spec.ceph.objectStore.accessKeySecretRef.namespace and spec.ceph.objectStore.secretKeySecretRef.namespace are required in a ClusterProviderConfig"
// +kubebuilder:validation:XValidation:rule="!(has(self.ceph) && has(self.ceph.objectStore) && has(self.ceph.objectStore.caBundle)) || (has(self.ceph.objectStore.caBundle.secretKeyRef) && has(self.ceph.objectStore.caBundle.secretKeyRef.namespace)) || (has(self.ceph.objectStore.caBundle.configMapKeyRef) && has(self.ceph.objectStore.caBundle.configMapKeyRef.namespace))",message="spec.ceph.objectStore.caBundle's secretKeyRef or configMapKeyRef namespace is required in a ClusterProviderConfig"
type ClusterProviderConfigSpec struct {
	SiteSpec `json:",inline"`
}

// ProviderConfigStatus is the observed state of a (Cluster)ProviderConfig.
type ProviderConfigStatus struct {
	xpv2.ProviderConfigStatus `json:",inline"`
}

// +kubebuilder:object:root=true

// A ProviderConfig configures how managed resources in its namespace reach one
// micro cloud site (Proxmox VE and/or Ceph).
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,microcloud}
// +kubebuilder:printcolumn:name="PROXMOX",type="string",JSONPath=".spec.proxmox.endpoint"
// +kubebuilder:printcolumn:name="CEPH",type="string",JSONPath=".spec.ceph.monitors[0]"
// +kubebuilder:printcolumn:name="USERS",type="integer",JSONPath=".status.users"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
type ProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProviderConfigSpec   `json:"spec"`
	Status ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderConfigList contains a list of ProviderConfigs.
type ProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfig `json:"items"`
}

// +kubebuilder:object:root=true

// A ClusterProviderConfig configures how managed resources in any namespace
// reach one micro cloud site (Proxmox VE and/or Ceph).
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={crossplane,provider,microcloud}
// +kubebuilder:printcolumn:name="PROXMOX",type="string",JSONPath=".spec.proxmox.endpoint"
// +kubebuilder:printcolumn:name="CEPH",type="string",JSONPath=".spec.ceph.monitors[0]"
// +kubebuilder:printcolumn:name="USERS",type="integer",JSONPath=".status.users"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
type ClusterProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterProviderConfigSpec `json:"spec"`
	Status ProviderConfigStatus      `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterProviderConfigList contains a list of ClusterProviderConfigs.
type ClusterProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProviderConfig `json:"items"`
}
