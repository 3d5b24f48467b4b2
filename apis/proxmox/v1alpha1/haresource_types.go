package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// HAResourceParameters put one guest under Proxmox VE's HA manager
// (/cluster/ha/resources). The guest is named by sid, or by a reference to
// the VirtualMachine or Container managing it (which fills sid once the
// guest has its id).
// +kubebuilder:validation:XValidation:rule="has(self.sid) || has(self.virtualMachineRef) || has(self.virtualMachineSelector) || has(self.containerRef) || has(self.containerSelector)",message="spec.forProvider.sid, virtualMachineRef, virtualMachineSelector, containerRef or containerSelector is required"
// +kubebuilder:validation:XValidation:rule="!((has(self.virtualMachineRef) || has(self.virtualMachineSelector)) && (has(self.containerRef) || has(self.containerSelector)))",message="spec.forProvider names either a VirtualMachine (virtualMachineRef/virtualMachineSelector) or a Container (containerRef/containerSelector), not both"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.sid) || (has(self.sid) && self.sid == oldSelf.sid)",message="spec.forProvider.sid cannot change once set: the guest under HA is fixed; create another HAResource for another guest"
type HAResourceParameters struct {
	// SID is the HA resource id of the guest: vm:<vmid> for a VM,
	// ct:<vmid> for a container. Filled from virtualMachineRef/Selector or
	// containerRef/Selector when those are set. It cannot change.
	// +optional
	// +kubebuilder:validation:Pattern=`^(vm|ct):[1-9][0-9]{2,8}$`
	SID *string `json:"sid,omitempty"`

	// VirtualMachineRef references the VirtualMachine (in this namespace)
	// whose guest is put under HA; sid becomes vm:<its vmid>.
	// +optional
	VirtualMachineRef *xpv2.NamespacedReference `json:"virtualMachineRef,omitempty"`
	// VirtualMachineSelector selects the VirtualMachine by label.
	// +optional
	VirtualMachineSelector *xpv2.NamespacedSelector `json:"virtualMachineSelector,omitempty"`

	// ContainerRef references the Container (in this namespace) whose guest
	// is put under HA; sid becomes ct:<its vmid>.
	// +optional
	ContainerRef *xpv2.NamespacedReference `json:"containerRef,omitempty"`
	// ContainerSelector selects the Container by label.
	// +optional
	ContainerSelector *xpv2.NamespacedSelector `json:"containerSelector,omitempty"`

	// State is the state HA keeps the guest in (PVE's state): started,
	// stopped, disabled (stopped and not recovered) or ignored (HA leaves
	// it alone). Leave the guest's own powerState unset while HA drives it.
	// +optional
	// +kubebuilder:default=started
	// +kubebuilder:validation:Enum=started;stopped;disabled;ignored
	State string `json:"state,omitempty"`

	// MaxRestart is how often HA restarts the guest on its node after a
	// failed start before relocating it (PVE's max_restart, default 1).
	// Left as it is in PVE when unset.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.maxRestart must be 0 or more (PVE's max_restart: 0 - N)"
	MaxRestart *int64 `json:"maxRestart,omitempty"`

	// MaxRelocate is how often HA relocates the guest to another node after
	// failed starts (PVE's max_relocate, default 1). Left as it is in PVE
	// when unset.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="spec.forProvider.maxRelocate must be 0 or more (PVE's max_relocate: 0 - N)"
	MaxRelocate *int64 `json:"maxRelocate,omitempty"`

	// Comment is the HA resource's description. Left as it is when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Comment *string `json:"comment,omitempty"`
}

// HAResourceObservation is the HA resource as Proxmox reports it.
type HAResourceObservation struct {
	// SID is the HA resource id (vm:<vmid> or ct:<vmid>).
	SID string `json:"sid,omitempty"`
	// Type is vm or ct.
	Type string `json:"type,omitempty"`
	// State is the requested state PVE holds.
	State string `json:"state,omitempty"`
	// MaxRestart is PVE's max_restart (its default 1 when PVE reports none).
	MaxRestart int64 `json:"maxRestart,omitempty"`
	// MaxRelocate is PVE's max_relocate (its default 1 when PVE reports none).
	MaxRelocate int64 `json:"maxRelocate,omitempty"`
	// Comment is the HA resource's description.
	Comment string `json:"comment,omitempty"`
}

// A HAResourceSpec defines the desired state of a HAResource.
type HAResourceSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              HAResourceParameters `json:"forProvider"`
}

// A HAResourceStatus represents the observed state of a HAResource.
type HAResourceStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 HAResourceObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A HAResource puts a guest under Proxmox VE's HA manager
// (/cluster/ha/resources): HA restarts it, and recovers it to another node
// when its node fails. The external name is the sid, set when the provider
// puts the guest under HA (or by hand, to manage a guest already under HA).
// Deleting a HAResource takes the guest out of HA (and, as PVE does, out
// of the HA rules naming it); the guest itself is never touched.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="SID",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="STATE",type="string",JSONPath=".status.atProvider.state"
// +kubebuilder:printcolumn:name="MAX-RESTART",type="integer",JSONPath=".status.atProvider.maxRestart",priority=1
// +kubebuilder:printcolumn:name="MAX-RELOCATE",type="integer",JSONPath=".status.atProvider.maxRelocate",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pveha
type HAResource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HAResourceSpec   `json:"spec"`
	Status HAResourceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// HAResourceList contains a list of HAResources.
type HAResourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HAResource `json:"items"`
}
